"""templates/servicemonitor-*.yaml: each scrapes a port its Service really has."""

from __future__ import annotations

from tests.chart.conftest import Manifest


def test_service_monitors_point_at_metrics_ports(by_values: dict[str, list[Manifest]]):
    objects = by_values["gpu"]
    monitors = [o for o in objects if o["kind"] == "ServiceMonitor"]
    assert len(monitors) == 2
    services = [o for o in objects if o["kind"] == "Service"]
    for monitor in monitors:
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        wanted = monitor["spec"]["selector"]["matchLabels"]
        chosen = [s for s in services if wanted.items() <= s["metadata"]["labels"].items()
                  and "snapclip.dev/headless" not in s["metadata"]["labels"]]
        assert len(chosen) == 1, monitor["metadata"]["name"]
        ports = {p["name"] for p in chosen[0]["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports


def test_cpu_install_has_no_operator_objects(by_values: dict[str, list[Manifest]]):
    assert not [o for o in by_values["cpu"] if o["kind"] == "ServiceMonitor"]
