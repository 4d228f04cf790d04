"""templates/hpa-triton.yaml: scales on metrics the adapter rule in k8s/ really produces."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.chart.conftest import CHART, Manifest, find

ADAPTER = CHART.parents[1] / "k8s" / "prometheus-adapter" / "values.yaml"


def adapter_metrics() -> dict[str, str]:
    """Custom metric name -> the series it comes from, per the prometheus-adapter rules."""
    rules = yaml.safe_load(Path(ADAPTER).read_text())["rules"]["custom"]
    return {r["name"]["as"]: r["seriesQuery"] for r in rules}


def test_hpa_metrics_are_the_adapters(by_values: dict[str, list[Manifest]]):
    hpa = find(by_values["gpu"], "HorizontalPodAutoscaler", "triton")
    names = [m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"]]
    produced = adapter_metrics()
    assert names and set(names) <= set(produced), (names, produced)
    assert "nv_inference_queue_duration_us" in produced[names[0]]
    # The llm signal is one the vLLM backend exports (REPORT_CUSTOM_METRICS): its time to
    # first token (it exports no queue-length gauge; test_metric_names.py).
    assert any("vllm:time_to_first_token_seconds" in produced[n] for n in names)
    config = (CHART.parents[1] / "model_repository" / "llm" / "config.pbtxt").read_text()
    assert 'key: "REPORT_CUSTOM_METRICS"' in config
    assert hpa["spec"]["scaleTargetRef"]["name"] == find(
        by_values["gpu"], "Deployment", "triton")["metadata"]["name"]


def test_hpa_owns_the_replica_count(by_values: dict[str, list[Manifest]]):
    assert "replicas" not in find(by_values["gpu"], "Deployment", "triton")["spec"]
    cpu = by_values["cpu"]
    assert find(cpu, "Deployment", "triton")["spec"]["replicas"] == 1
    assert not [o for o in cpu if o["kind"] == "HorizontalPodAutoscaler"]
