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


def test_egress_reaches_dns_triton_postgres_and_public_web_only(
        by_values: dict[str, list[Manifest]]):
    policy = find(by_values["default"], "NetworkPolicy", "orchestrator")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    dns, triton, postgres, web = policy["spec"]["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert triton["to"][0]["podSelector"]["matchLabels"][
        "app.kubernetes.io/component"] == "triton"
    assert postgres["ports"] == [{"port": 5432, "protocol": "TCP"}]
    v4, v6 = (block["ipBlock"] for block in web["to"])
    assert v4["cidr"] == "0.0.0.0/0" and v6["cidr"] == "::/0"
    for private in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
                    "127.0.0.0/8", "100.64.0.0/10"):
        assert private in v4["except"], private  # 169.254.169.254: cloud metadata
    assert {"fc00::/7", "fe80::/10", "::1/128"} <= set(v6["except"])
    assert {p["port"] for p in web["ports"]} == {80, 443}


def test_egress_can_be_opened_for_an_external_database_or_turned_off():
    rule = {"to": [{"ipBlock": {"cidr": "10.20.0.5/32"}}], "ports": [{"port": 5432}]}
    policy = find(render({"orchestrator": {"egress": {"extraRules": [rule]}},
                          "postgresql": {"enabled": False},
                          "database": {"url": "postgresql+psycopg://u@10.20.0.5/db"}}),
                  "NetworkPolicy", "orchestrator")
    assert policy["spec"]["egress"][-1] == rule
    assert len(policy["spec"]["egress"]) == 4  # dns, triton, web, the extra rule
    off = find(render({"orchestrator": {"egress": {"enabled": False}}}), "NetworkPolicy",
               "orchestrator")
    assert off["spec"]["policyTypes"] == ["Ingress"] and "egress" not in off["spec"]
