"""templates/ingress-orchestrator.yaml"""

from __future__ import annotations

import kubernetes_validate

from tests.chart.conftest import Manifest, render


def test_ingress_publishes_the_http_port_only_when_asked(by_values: dict[str, list[Manifest]]):
    assert not [o for o in by_values["default"] if o["kind"] == "Ingress"]
    objects = render({"orchestrator": {"ingress": {
        "enabled": True, "className": "nginx", "host": "clips.example.org",
        "tlsSecret": "clips-tls",
        "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "2048m"}}}})
    (ingress,) = [o for o in objects if o["kind"] == "Ingress"]
    kubernetes_validate.validate({k: v for k, v in ingress.items() if k != "_template"},
                                 "1.30.0", strict=True)
    (rule,) = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert rule["host"] == "clips.example.org"
    assert backend == {"name": "snapclip-orchestrator", "port": {"name": "http"}}
    assert ingress["spec"]["tls"] == [{"hosts": ["clips.example.org"], "secretName": "clips-tls"}]
