"""Every metric the HPA, the prometheus-adapter rules, the ServiceMonitors and the dashboard
name is one that really exists: Triton 25.11's and its vllm backend's (the checked-in list
orchestrator/contracts/upstream/triton-metrics.json, each family with its upstream source) or
the orchestrator's own (its registry). An HPA whose metric never has a value does not scale
down, and a dashboard panel on a missing series stays empty."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml

from orchestrator.service.metrics import ServiceMetrics
from tests.chart.conftest import CHART, Manifest

ADAPTER = CHART.parents[1] / "k8s" / "prometheus-adapter" / "values.yaml"
DASHBOARD = CHART / "dashboards" / "snapclip.json"
SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "and", "or", "unless", "inf", "nan"}


def exported() -> dict[str, str]:
    """Metric family -> where it is defined."""
    recorded = json.loads(resources.files("orchestrator.contracts").joinpath(
        "upstream/triton-metrics.json").read_text())
    families = {name: part["source"] for part in (recorded["server"], recorded["vllm_backend"])
                for name in part["families"]}
    registry = ServiceMetrics(mock.Mock(count_by_state=dict)).registry
    families.update({m.name: "orchestrator/service/metrics.py"
                     for m in registry.collect()})
    return families


def is_exported(name: str, families: dict[str, str]) -> bool:
    return name in families or any(name.endswith(s) and name[:-len(s)] in families
                                   for s in SUFFIXES)


def metric_names(promql: str) -> set[str]:
    """The series names a PromQL expression (or a Prometheus series selector) reads."""
    names = set(re.findall(r'__name__\s*=~?\s*"([^"]+)"', promql))
    text = re.sub(r'"[^"]*"', '""', promql)
    text = re.sub(r"\{[^}]*\}", "{}", text)  # label matchers (and <<.LabelMatchers>>)
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    for match in re.finditer(r"(?<![\w:$.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", text):
        token = match.group(1)
        if token not in KEYWORDS and not token.startswith("$"):
            names.add(token)
    return names


def dashboard_names() -> set[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {n for p in panels for t in p.get("targets", []) for n in metric_names(t["expr"])}


def adapter_names() -> set[str]:
    rules = yaml.safe_load(ADAPTER.read_text())["rules"]["custom"]
    names = set()
    for rule in rules:
        names |= metric_names(rule["seriesQuery"]) | metric_names(rule["metricsQuery"])
        names.add(rule["name"]["matches"].strip("^$"))
    return names


def relabel_names(objects: list[Manifest]) -> set[str]:
    names: set[str] = set()
    for monitor in (o for o in objects if o["kind"] == "ServiceMonitor"):
        for endpoint in monitor["spec"]["endpoints"]:
            for rule in [*endpoint.get("metricRelabelings", []),
                         *endpoint.get("relabelings", [])]:
                if "__name__" in rule.get("sourceLabels", []):
                    names |= set(re.findall(r"[a-zA-Z_:][\w:]*", rule.get("regex", "")))
    return names


def test_the_parser_finds_the_series():
    assert metric_names('sum by (le) (rate(vllm:x_bucket{ns="$ns"}[5m])) / '
                        'clamp_min(sum(rate(nv_y{a=~"b|c"}[1m])) by (pod), 0.001)') == {
        "vllm:x_bucket", "nv_y"}
    assert metric_names('{__name__="vllm:z_count",pod!=""}') == {"vllm:z_count"}


def test_every_family_has_its_source():
    families = exported()
    assert {"nv_inference_queue_duration_us", "vllm:time_to_first_token_seconds",
            "snapclip_jobs"} <= set(families)
    assert "vllm:num_requests_waiting" not in families  # vLLM's own, not the backend's
    assert all("r25.11" in source or source.endswith(".py") for source in families.values())


@pytest.mark.parametrize("where", ["dashboard", "adapter"])
def test_every_name_is_exported(where: str):
    names = dashboard_names() if where == "dashboard" else adapter_names()
    families = exported()
    assert names
    missing = sorted(n for n in names if not is_exported(n, families))
    assert not missing, f"the {where} reads series nothing exports: {missing}"


def test_the_hpa_reads_only_what_the_adapter_derives_from_exported_series(
        by_values: dict[str, list[Any]]):
    rules = yaml.safe_load(ADAPTER.read_text())["rules"]["custom"]
    derived = {r["name"]["as"] for r in rules}
    for objects in by_values.values():
        for hpa in (o for o in objects if o["kind"] == "HorizontalPodAutoscaler"):
            for metric in hpa["spec"]["metrics"]:
                if metric["type"] == "Pods":
                    assert metric["pods"]["metric"]["name"] in derived
        families = exported()
        assert all(is_exported(n, families) for n in relabel_names(objects))


def test_a_missing_series_is_caught(tmp_path: Path):
    families = exported()
    assert not is_exported("vllm:num_requests_waiting", families)
    assert not is_exported("triton_queue_time_per_request_us", families)
    assert is_exported("vllm:time_to_first_token_seconds_bucket", families)
    assert is_exported("snapclip_triton_request_errors_total", families)
