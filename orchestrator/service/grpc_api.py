"""``snapclip.v1.Highlights`` over ``grpc.aio``, with grpc.health.v1 and server reflection.

Health reports SERVING only while the Triton server the jobs need is live, and NOT_SERVING
when it is not (checked every few seconds), so a load balancer stops sending work to a service
whose model server is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from orchestrator.errors import SnapclipError
from orchestrator.proto import load
from orchestrator.service.auth import TokenInterceptor
from orchestrator.service.runner import OPTION_FIELDS, JobRunner, run_options
from orchestrator.store import Job, JobState, JobStore
from orchestrator.store.jobs import UnknownJobError
from orchestrator.triton_client import TritonModels

pb, pb_grpc = load()
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Highlights"].full_name
WATCH_POLL_S = 0.25
HEALTH_POLL_S = 2.0


def _timestamp(value: Any) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def job_message(job: Job) -> Any:
    manifest = ""
    if job.state is JobState.SUCCEEDED and job.out_dir:
        path = Path(job.out_dir) / "manifest.json"
        manifest = path.read_text(encoding="utf-8") if path.is_file() else ""
    return pb.Job(id=job.id, request_id=job.request_id or "", source=job.source,
                  options=pb.RunOptions(**job.options), state=job.state.name,
                  stage=job.stage or "", progress=job.progress, message=job.message,
                  error=job.error or "", manifest_json=manifest,
                  created_at=_timestamp(job.created_at), updated_at=_timestamp(job.updated_at))


class HighlightsService(pb_grpc.HighlightsServicer):
    def __init__(self, store: JobStore, runner: JobRunner) -> None:
        self._store = store
        self._runner = runner

    async def _get(self, job_id: str, context: grpc.aio.ServicerContext) -> Job:
        try:
            return await asyncio.to_thread(self._store.get, job_id)
        except UnknownJobError:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no job {job_id!r}")
            raise  # unreachable: abort raises

    async def Submit(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if not request.source.strip():
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "source is empty")
        options = {f: getattr(request.options, f) for f in OPTION_FIELDS
                   if request.options.HasField(f)}
        try:
            run_options(options, Path())
        except SnapclipError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        job, created = await asyncio.to_thread(self._store.submit, request.source, options,
                                                request_id=request.request_id or None)
        if created:
            self._runner.enqueue(job.id)
        return job_message(job)

    async def Get(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return job_message(await self._get(request.job_id, context))

    async def Cancel(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await self._get(request.job_id, context)
        return job_message(await self._runner.cancel(request.job_id))

    async def List(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        size = min(100, request.page_size or 20)
        try:
            jobs, token = await asyncio.to_thread(self._store.list, page_size=size,
                                                  page_token=request.page_token)
        except UnknownJobError:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad page_token")
        return pb.ListResponse(jobs=[job_message(j) for j in jobs], next_page_token=token)

    async def Watch(self, request: Any, context: grpc.aio.ServicerContext
                    ) -> AsyncIterator[Any]:
        job = await self._get(request.job_id, context)
        after = request.after_event
        while True:
            events = await asyncio.to_thread(self._store.events, job.id, after=after)
            for e in events:
                after = e.id
                yield pb.JobEvent(id=e.id, job_id=e.job_id, stage=e.stage, progress=e.progress,
                                  message=e.message, at=_timestamp(e.at))
            job = await asyncio.to_thread(self._store.get, job.id)
            if job.state.finished and not events:
                yield pb.JobEvent(id=after, job_id=job.id, stage=job.state.value,
                                  progress=job.progress, message=job.message,
                                  at=_timestamp(job.updated_at), result=job_message(job))
                return
            await asyncio.sleep(WATCH_POLL_S)


async def watch_triton_health(servicer: health.aio.HealthServicer, triton_url: str) -> None:
    """Keep the health status in step with the Triton server's liveness."""
    serving, not_serving = (health_pb2.HealthCheckResponse.SERVING,
                            health_pb2.HealthCheckResponse.NOT_SERVING)
    async with TritonModels(triton_url) as models:
        while True:
            try:
                await models.require_ready("whisper")
                status = serving
            except SnapclipError:
                status = not_serving
            for name in ("", SERVICE_NAME):
                await servicer.set(name, status)
            await asyncio.sleep(HEALTH_POLL_S)


async def serve(store: JobStore, runner: JobRunner, triton_url: str, *, host: str, port: int,
                token: str | None = None) -> tuple[grpc.aio.Server, int, asyncio.Task[None]]:
    """Start the gRPC server; returns it, its port, and the health watcher task.

    With ``token``, Highlights calls need ``authorization: Bearer <token>`` (``auth``).
    """
    interceptors = [TokenInterceptor(token, f"/{SERVICE_NAME}/")] if token else []
    server = grpc.aio.server(interceptors=interceptors)
    pb_grpc.add_HighlightsServicer_to_server(HighlightsService(store, runner), server)
    health_servicer = health.aio.HealthServicer()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    watcher = asyncio.create_task(watch_triton_health(health_servicer, triton_url))
    return server, bound, watcher
