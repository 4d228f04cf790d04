"""The whole chart: lints clean and every object is valid Kubernetes 1.30."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from tests.chart.conftest import CHART, VALUES, Manifest, render, values_of

CRD_KINDS = {"ServiceMonitor"}  # Prometheus Operator CRDs: checked in their own tests


@pytest.mark.parametrize("name", list(VALUES))
def test_lints_clean(name: str):
    import helm_python as helm

    report = helm.lint(CHART, values_of(name), strict=True, kube_version="v1.30.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], (problems, report["errors"])


def test_every_object_validates_against_kubernetes_1_30(rendered: tuple[str, list[Manifest]]):
    name, objects = rendered
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "NetworkPolicy", "Secret", "Pod"} <= kinds
    for o in objects:
        if o["kind"] in CRD_KINDS:
            continue
        document = {k: v for k, v in o.items() if k != "_template"}
        try:
            kubernetes_validate.validate(document, "1.30.0", strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {o['_template']} {o['kind']}: {exc.message} at "
                        f"{list(exc.path)}")


def test_default_install_renders_every_component(by_values: dict[str, list[Manifest]]):
    components = {o["metadata"]["labels"].get("app.kubernetes.io/component")
                  for o in by_values["default"]}
    assert {"triton", "orchestrator", "postgresql", "database", "test"} <= components


def test_the_job_store_needs_a_source():
    import helm_python as helm

    with pytest.raises(helm.HelmError, match="job store needs"):
        render({"postgresql": {"enabled": False}})
    urls = [o for o in render({"postgresql": {"enabled": False},
                               "database": {"url": "postgresql+psycopg://u:p@db/snapclip"}})
            if o["kind"] == "StatefulSet"]
    assert not urls  # an external URL: no built-in PostgreSQL


def test_dashboard_is_valid_grafana_json(by_values: dict[str, list[Manifest]]):
    (config,) = [o for o in by_values["default"] if o["kind"] == "ConfigMap"]
    dashboard = json.loads(config["data"]["snapclip.json"])
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in ("nv_inference_queue_duration_us", "nv_inference_compute_infer_duration_us",
                   "nv_inference_count", "nv_gpu_utilization",
                   "vllm:time_to_first_token_seconds_bucket", "snapclip_jobs"):
        assert metric in exprs, metric
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
