"""Prometheus metrics of ``snapclip serve``, on their own port (``--metrics-port``).

Jobs by state are read from the job store when Prometheus scrapes, so they stay right across
restarts and when several service replicas share one PostgreSQL store. Stage durations and
Triton request latency/errors are measured in this process. Each service builds its own
``CollectorRegistry`` (no module-level metrics), so tests can run several side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from orchestrator.store import JobStore

log = logging.getLogger("snapclip.metrics")

# Stages take seconds to many minutes; Triton requests milliseconds to minutes (llm streams).
STAGE_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300, 600, 1200, 3600)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class _JobsByState(Collector):
    def __init__(self, store: JobStore) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("snapclip_jobs", "Jobs in the store by state.",
                                   labels=["state"])
        try:
            counts = self._store.count_by_state()
        except SQLAlchemyError as exc:  # a scrape must not fail because the database blinked
            log.warning("cannot count jobs for metrics: %s", exc)
            return
        for state, count in counts.items():
            family.add_metric([state.value], count)
        yield family


class ServiceMetrics:
    """The service's metrics, registered on a registry of their own."""

    def __init__(self, store: JobStore) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_JobsByState(store))
        self.stage_seconds = Histogram(
            "snapclip_stage_duration_seconds", "Wall time of a job's pipeline stage.",
            ["stage"], buckets=STAGE_BUCKETS, registry=self.registry)
        self.job_seconds = Histogram(
            "snapclip_job_duration_seconds", "Wall time of a job from start to its end state.",
            ["state"], buckets=STAGE_BUCKETS, registry=self.registry)
        self.triton_seconds = Histogram(
            "snapclip_triton_request_duration_seconds",
            "Latency of Triton requests as the orchestrator sees it (llm: the whole stream).",
            ["model"], buckets=REQUEST_BUCKETS, registry=self.registry)
        self.worker_restarts = Counter(
            "snapclip_worker_restarts", "Job worker tasks that ended unexpectedly and were "
            "started again.", registry=self.registry)
        self.store_errors = Counter(
            "snapclip_store_errors", "Job store operations that failed (and were retried), by "
            "where.", ["where"], registry=self.registry)
        self.triton_errors = Counter(
            "snapclip_triton_request_errors", "Triton requests that failed, by model and kind.",
            ["model", "kind"], registry=self.registry)

    def observe_request(self, model: str, seconds: float, error: str | None) -> None:
        """``TritonModels`` observer: one finished request."""
        self.triton_seconds.labels(model).observe(seconds)
        if error:
            self.triton_errors.labels(model, error).inc()

    def serve(self, host: str, port: int) -> WSGIServer:
        """Expose ``/metrics`` on ``host:port`` (0 = any free port) in a daemon thread."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server
