"""templates/networkpolicy-orchestrator.yaml"""

from __future__ import annotations

from tests.chart.conftest import Manifest, find, render


def test_apis_open_metrics_from_monitoring_only(by_values: dict[str, list[Manifest]]):
    policy = find(by_values["default"], "NetworkPolicy", "orchestrator")
    apis, metrics = policy["spec"]["ingress"]
    assert {p["port"] for p in apis["ports"]} == {50051, 8080} and "from" not in apis
    assert [p["port"] for p in metrics["ports"]] == [9464]
    assert metrics["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"}


def test_allowed_clients_restrict_the_apis():
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "web"}}}
    policy = find(render({"orchestrator": {"allowedClients": [peer]}}), "NetworkPolicy",
                  "orchestrator")
    assert policy["spec"]["ingress"][0]["from"] == [peer]
