"""templates/statefulset-postgresql.yaml, service-postgresql.yaml, networkpolicy-postgresql.yaml"""

from __future__ import annotations

from tests.chart.conftest import Manifest, find


def test_built_in_postgresql_is_private_to_the_orchestrator(
        by_values: dict[str, list[Manifest]]):
    objects = by_values["default"]
    database = find(objects, "StatefulSet", "postgresql")
    spec = database["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "snapclip-database", "key": "password"}
    assert database["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"][
        "storage"] == "10Gi"
    policy = find(objects, "NetworkPolicy", "postgresql")
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "orchestrator"
    assert [p["port"] for p in rule["ports"]] == [5432]
    service = find(objects, "Service", "postgresql")
    assert service["spec"]["selector"].items() <= database["spec"]["template"]["metadata"][
        "labels"].items()
