"""``snapclip.v1.Highlights`` over ``grpc.aio``, with grpc.health.v1 and server reflection.

The servicer only adapts ``JobsApi`` to gRPC status codes. Health ("" and the API's name)
reports SERVING while this service can take work - its job store answers and its workers are
alive (``ServiceHealth``) - so a Triton that drains during a node upgrade does not take the
API offline; Triton's own state is the health service ``triton``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from orchestrator.errors import InputError
from orchestrator.proto import load
from orchestrator.service.auth import TokenInterceptor
from orchestrator.service.health import HealthState, ServiceHealth
from orchestrator.service.jobs_api import JobsApi, JobStateError
from orchestrator.store.jobs import UnknownJobError

pb, pb_grpc = load()
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Highlights"].full_name
T = TypeVar("T")


async def _answer(context: grpc.aio.ServicerContext, call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except UnknownJobError as exc:
        await context.abort(grpc.StatusCode.NOT_FOUND, f"no job {exc.args[0]!r}")
    except JobStateError as exc:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
    except InputError as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    raise AssertionError("unreachable: abort raises")


class HighlightsService(pb_grpc.HighlightsServicer):
    def __init__(self, api: JobsApi) -> None:
        self._api = api

    async def Submit(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        job, _created = await _answer(context, lambda: self._api.submit(request))
        return job

    async def Get(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, lambda: self._api.get(request.job_id))

    async def Cancel(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, lambda: self._api.cancel(request.job_id))

    async def List(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, lambda: self._api.list(request.page_size,
                                                             request.page_token))

    async def RenderClip(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _answer(context, lambda: self._api.render_clip(request))

    async def Watch(self, request: Any, context: grpc.aio.ServicerContext
                    ) -> AsyncIterator[Any]:
        await _answer(context, lambda: self._api.job(request.job_id))
        async for event in self._api.watch(request.job_id, request.after_event):
            if event is not None:
                yield event


# The gRPC health service name under which Triton's state is reported.
TRITON_HEALTH = "triton"


async def serve(api: JobsApi, health_state: ServiceHealth, *, host: str, port: int,
                token: str | None = None) -> tuple[grpc.aio.Server, int]:
    """Start the gRPC server; returns it and its port.

    With ``token``, Highlights calls need ``authorization: Bearer <token>`` (``auth``).
    """
    interceptors = [TokenInterceptor(token, f"/{SERVICE_NAME}/")] if token else []
    server = grpc.aio.server(interceptors=interceptors)
    pb_grpc.add_HighlightsServicer_to_server(HighlightsService(api), server)
    health_servicer = health.aio.HealthServicer()

    def status(up: bool) -> int:
        return (health_pb2.HealthCheckResponse.SERVING if up
                else health_pb2.HealthCheckResponse.NOT_SERVING)

    async def follow(state: HealthState) -> None:
        # "" and the API: this service's own health (the readiness probe's question);
        # "triton": the model server's, for operators - it does not take the API offline.
        for name in ("", SERVICE_NAME):
            await health_servicer.set(name, status(state.ready))
        await health_servicer.set(TRITON_HEALTH, status(state.triton_serving))

    await follow(health_state.state)
    health_state.subscribe(follow)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    return server, bound
