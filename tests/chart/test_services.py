"""templates/service-triton.yaml and service-orchestrator.yaml"""

from __future__ import annotations

from tests.chart.conftest import Manifest


def services(objects: list[Manifest]) -> dict[str, Manifest]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}


def test_triton_services_and_per_request_balancing(by_values: dict[str, list[Manifest]]):
    found = services(by_values["default"])
    plain, headless = found["snapclip-triton"], found["snapclip-triton-headless"]
    assert headless["spec"]["clusterIP"] == "None" and "clusterIP" not in plain["spec"]
    for service in (plain, headless):
        ports = {p["name"]: p for p in service["spec"]["ports"]}
        assert set(ports) == {"http", "grpc", "metrics"}
        assert ports["grpc"]["appProtocol"] == "kubernetes.io/h2c"
    assert "per-request" in headless["metadata"]["annotations"]["snapclip.dev/purpose"]


def test_orchestrator_service_ports(by_values: dict[str, list[Manifest]]):
    service = services(by_values["default"])["snapclip-orchestrator"]
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    assert ports == {"grpc": 50051, "http": 8080, "metrics": 9464}
