"""``snapclip serve`` put together: one job runner behind gRPC, HTTP and a metrics port.

gRPC and HTTP run in one process and one event loop, so a job submitted on either API is
the same job, watched the same way, counted in the same metrics; there is no second process
to keep in step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from orchestrator.errors import SnapclipError
from orchestrator.service.grpc_api import serve as serve_grpc
from orchestrator.service.health import ServiceHealth
from orchestrator.service.http_api import create_app
from orchestrator.service.jobs_api import JobsApi
from orchestrator.service.metrics import ServiceMetrics
from orchestrator.service.runner import JobRunner, RunnerConfig
from orchestrator.store import JobStore

log = logging.getLogger("snapclip.service")


class ListenError(SnapclipError):
    """A port the service should listen on is taken or not allowed."""


@dataclass(frozen=True)
class ServiceConfig:
    runner: RunnerConfig
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_port: int | None = 8080  # None: no HTTP API
    metrics_port: int | None = 9464  # None: no metrics endpoint
    token: str | None = None
    max_upload_bytes: int = 2 << 30
    # Addresses (IPs or CIDRs, comma-separated) of the reverse proxies whose X-Forwarded-For
    # and X-Forwarded-Proto are believed; "" believes nobody's.
    trusted_proxies: str = ""
    # Folders whose files a job's source may name; none: only URLs and uploads.
    source_roots: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Endpoints:
    grpc: str
    http: str | None
    metrics: str | None


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: ``snapclip serve`` owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def run_service(config: ServiceConfig, store: JobStore, stop: asyncio.Event,
                      on_ready: Callable[[Endpoints], None]) -> None:
    """Serve until ``stop`` is set, then stop taking calls, stop the jobs and return."""
    metrics = ServiceMetrics(store)
    runner = JobRunner(store, config.runner, metrics)
    api = JobsApi(store, runner, source_roots=config.source_roots,
                  jobs_dir=config.runner.jobs_dir)
    health = ServiceHealth(config.runner.triton_url, store.ping, runner.workers)
    await runner.start()
    watcher = asyncio.create_task(health.watch())
    try:
        grpc_server, grpc_port = await serve_grpc(api, health, host=config.host,
                                                  port=config.grpc_port, token=config.token)
    except RuntimeError as exc:  # grpc's "Failed to bind"
        watcher.cancel()
        await runner.stop()
        raise ListenError(f"gRPC cannot listen on {config.host}:{config.grpc_port} ({exc})"
                          ) from None
    http_server, http_task, http_url = None, None, None
    metrics_server, metrics_url = None, None
    try:
        if config.http_port is not None:
            assert config.runner.uploads_dir is not None
            app = create_app(api, health, uploads_dir=config.runner.uploads_dir,
                             token=config.token, max_upload_bytes=config.max_upload_bytes)
            # Bound here, not by uvicorn: a port in use is then an OSError for the CLI to
            # report, not uvicorn's sys.exit inside a task.
            sock = _listen(config.host, config.http_port)
            http_server = _Uvicorn(uvicorn.Config(
                app, log_config=None, lifespan="off", timeout_graceful_shutdown=5,
                proxy_headers=bool(config.trusted_proxies),
                forwarded_allow_ips=config.trusted_proxies or None))
            http_task = asyncio.create_task(http_server.serve(sockets=[sock]))
            while not http_server.started and not http_task.done():
                await asyncio.sleep(0.05)
            http_url = f"http://{config.host}:{sock.getsockname()[1]}"
        if config.metrics_port is not None:
            try:
                metrics_server = metrics.serve(config.host, config.metrics_port)
            except OSError as exc:
                raise ListenError(f"metrics cannot listen on {config.host}:"
                                  f"{config.metrics_port} ({exc.strerror or exc})") from None
            metrics_url = f"http://{config.host}:{metrics_server.server_port}/metrics"
        on_ready(Endpoints(f"{config.host}:{grpc_port}", http_url, metrics_url))
        await stop.wait()
    finally:
        watcher.cancel()
        if http_server is not None and http_task is not None:
            http_server.should_exit = True
            with contextlib.suppress(Exception):
                await http_task
        await grpc_server.stop(grace=5)
        await runner.stop()
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        log.info("stopped")


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ListenError(f"HTTP cannot listen on {host}:{port} ({exc.strerror or exc})"
                          ) from None
    return sock


def uploads_dir(jobs_dir: Path) -> Path:
    """Where uploads wait for their job (job ids are hex, so no job folder collides)."""
    return jobs_dir / ".uploads"
