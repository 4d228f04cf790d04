"""templates/networkpolicy-triton.yaml: only the orchestrator reaches inference; metrics only
from the monitoring namespace."""

from __future__ import annotations

from tests.chart.conftest import Manifest, find


def test_policy_selects_triton_and_admits_the_orchestrator(rendered: tuple[str, list[Manifest]]):
    _, objects = rendered
    policy = find(objects, "NetworkPolicy", "triton")
    pods = find(objects, "Deployment", "triton")["spec"]["template"]["metadata"]["labels"]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= pods.items()  # it applies to the Triton pods
    orchestrator = find(objects, "Deployment", "orchestrator")["spec"]["template"]["metadata"][
        "labels"]
    inference, metrics = policy["spec"]["ingress"]
    peers = [p["podSelector"]["matchLabels"] for p in inference["from"]]
    assert any(peer.items() <= orchestrator.items() for peer in peers)
    ports = {p["port"] for p in inference["ports"]}
    assert ports == {8000, 8001} and 8002 not in ports
    assert metrics["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]
    assert [p["port"] for p in metrics["ports"]] == [8002]
    # Nothing else: no peer admits every pod.
    assert all("podSelector" in p or "namespaceSelector" in p
               for rule in policy["spec"]["ingress"] for p in rule["from"])
