"""templates/hpa-orchestrator.yaml"""

from __future__ import annotations

from tests.chart.conftest import Manifest, find


def test_orchestrator_scales_on_cpu(by_values: dict[str, list[Manifest]]):
    objects = by_values["default"]
    hpa = find(objects, "HorizontalPodAutoscaler", "orchestrator")
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["averageUtilization"] == 70
    assert hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 8
    assert "replicas" not in find(objects, "Deployment", "orchestrator")["spec"]
