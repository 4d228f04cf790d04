"""The service's health: its own parts decide readiness; Triton's state is reported beside it.

Readiness (``/readyz``, and the gRPC health service that the chart's readiness probe asks)
follows what this process needs to take work: the job store answers and the workers are alive.
Triton is watched too and shown (``/readyz``'s body, the gRPC health service ``triton``, the
log), but it does not take the service out of its load balancer: while Triton drains during a
node upgrade the web page, the API and the job queue stay up, and queued jobs wait for it (a
job that meets an unavailable Triton fails or resumes by its attempts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from orchestrator.errors import SnapclipError
from orchestrator.serving.client import TritonModels

log = logging.getLogger("snapclip.health")


@dataclass(frozen=True)
class HealthState:
    ready: bool  # the store answers and every worker is alive
    store: str  # "ok" or why not
    workers: str  # "alive/started alive[, N restarted]"
    triton: str  # "serving" or why not (shown, not deciding)
    triton_serving: bool

    def to_dict(self) -> dict[str, str]:
        return {"status": "ok" if self.ready else "unavailable", "store": self.store,
                "workers": self.workers, "triton": self.triton}


Listener = Callable[[HealthState], Awaitable[None]]


class ServiceHealth:
    """Polls the store, the workers and Triton; ``state`` is the latest picture."""

    def __init__(self, triton_url: str, ping_store: Callable[[], None],
                 workers: Callable[[], tuple[int, int, int]], *, model: str = "whisper",
                 poll_s: float = 2.0) -> None:
        self.triton_url = triton_url
        self._ping_store = ping_store
        self._workers = workers
        self._model = model
        self._poll_s = poll_s
        self._listeners: list[Listener] = []
        self.state = HealthState(False, "not checked yet", "not checked yet", "not checked yet",
                                 False)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def check(self, models: TritonModels) -> HealthState:
        try:
            await asyncio.to_thread(self._ping_store)
            store = "ok"
        except SQLAlchemyError as exc:
            store = f"job store unreachable: {str(exc).splitlines()[0]}"
        alive, started, restarted = self._workers()
        try:
            await models.require_ready(self._model)
            triton, serving = "serving", True
        except SnapclipError as exc:
            triton, serving = str(exc), False
        ready = store == "ok" and started > 0 and alive == started
        workers = f"{alive}/{started} alive" + (f", {restarted} restarted" if restarted else "")
        return HealthState(ready, store, workers, triton, serving)

    async def watch(self) -> None:
        """Poll until cancelled, telling the listeners of every change."""
        async with TritonModels(self.triton_url) as models:
            first = True
            while True:
                state = await self.check(models)
                previous, self.state = self.state, state
                if first or state != previous:
                    if first or state.ready != previous.ready:
                        log.log(logging.INFO if state.ready else logging.WARNING,
                                "service %s", "ready" if state.ready else
                                f"not ready: store {state.store}, workers {state.workers}")
                    if first or state.triton_serving != previous.triton_serving:
                        log.log(logging.INFO if state.triton_serving else logging.WARNING,
                                "triton %s", "serving" if state.triton_serving
                                else f"not serving: {state.triton}")
                    for listener in self._listeners:
                        await listener(state)
                first = False
                await asyncio.sleep(self._poll_s)
