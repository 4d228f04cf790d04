"""templates/tests/*.yaml: the `helm test` hooks."""

from __future__ import annotations

from tests.chart.conftest import Manifest


def test_hooks_check_grpc_health_and_run_perf_analyzer(by_values: dict[str, list[Manifest]]):
    pods = {o["metadata"]["name"]: o for o in by_values["default"] if o["kind"] == "Pod"}
    health = pods["snapclip-test-health"]["spec"]["containers"][0]
    assert "-service=snapclip.v1.Highlights" in health["args"]
    assert "-addr=snapclip-orchestrator:50051" in health["args"]
    perf = pods["snapclip-test-perf"]["spec"]["containers"][0]
    assert perf["command"] == ["perf_analyzer"] and "snapclip-triton:8001" in perf["args"]
    # The operators' smoke check: the same `snapclip smoke` as scripts/gpu_smoke.sh.
    smoke = pods["snapclip-test-smoke"]["spec"]["containers"][0]
    assert smoke["command"] == ["snapclip", "smoke"]
    assert "--triton=snapclip-triton:8001" in smoke["args"]
    assert "--clip-weights=real" in smoke["args"]  # the GPU profile exports real weights
    cpu = {o["metadata"]["name"]: o for o in by_values["cpu"] if o["kind"] == "Pod"}
    assert "--clip-weights=random" in cpu["snapclip-test-smoke"]["spec"]["containers"][0]["args"]
    for pod in pods.values():
        assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
        # Test pods carry the component label the Triton NetworkPolicy admits.
        assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "test"
