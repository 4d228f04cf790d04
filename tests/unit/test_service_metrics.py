"""The service's Prometheus metrics: jobs by state from the store, requests, stages."""

from __future__ import annotations

from pathlib import Path

import httpx

from orchestrator.service.metrics import ServiceMetrics
from orchestrator.store import JobState, JobStore
from tests.support import metric_value


def test_metrics_are_served_and_count_what_happened(tmp_path: Path):
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    store.migrate()
    try:
        first, _ = store.submit("a.mp4", {})
        store.submit("b.mp4", {})
        store.set_state(first.id, JobState.FAILED, error="no audio")
        metrics = ServiceMetrics(store)
        metrics.observe_request("whisper", 0.2, None)
        metrics.observe_request("whisper", 0.1, "unavailable")
        metrics.stage_seconds.labels("asr").observe(12.0)
        server = metrics.serve("127.0.0.1", 0)
        try:
            text = httpx.get(f"http://127.0.0.1:{server.server_port}/metrics").text
        finally:
            server.shutdown()
            server.server_close()
        assert metric_value(text, "snapclip_jobs", state="queued") == 1
        assert metric_value(text, "snapclip_jobs", state="failed") == 1
        assert metric_value(text, "snapclip_jobs", state="succeeded") == 0
        assert metric_value(text, "snapclip_triton_request_duration_seconds_count",
                            model="whisper") == 2
        assert metric_value(text, "snapclip_triton_request_errors_total", model="whisper",
                            kind="unavailable") == 1
        assert metric_value(text, "snapclip_stage_duration_seconds_bucket", stage="asr",
                            le="20.0") == 1
        # Each service has its own registry: a second one starts from zero.
        fresh = ServiceMetrics(store)
        assert fresh.registry.get_sample_value(
            "snapclip_triton_request_duration_seconds_count", {"model": "whisper"}) is None
    finally:
        store.close()
