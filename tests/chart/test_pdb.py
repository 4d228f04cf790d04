"""templates/pdb-*.yaml"""

from __future__ import annotations

from tests.chart.conftest import Manifest, find


def test_disruption_budgets_select_their_pods(by_values: dict[str, list[Manifest]]):
    objects = by_values["gpu"]
    for component in ("triton", "orchestrator"):
        pdb = find(objects, "PodDisruptionBudget", component)
        labels = find(objects, "Deployment", component)["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert find(objects, "PodDisruptionBudget", "triton")["spec"]["maxUnavailable"] == 1
