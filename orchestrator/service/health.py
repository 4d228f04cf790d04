"""Whether the Triton server the jobs need is up, checked every few seconds.

The gRPC health service and the HTTP ``/readyz`` both follow it: a load balancer then stops
sending work to a service whose model server is gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from orchestrator.errors import SnapclipError
from orchestrator.serving.client import TritonModels

log = logging.getLogger("snapclip.health")

Listener = Callable[[bool], Awaitable[None]]


class TritonHealth:
    """``serving`` is True while Triton is live and ``model`` is ready."""

    def __init__(self, triton_url: str, *, model: str = "whisper", poll_s: float = 2.0) -> None:
        self.triton_url = triton_url
        self.serving = False
        self.reason = "not checked yet"
        self._model = model
        self._poll_s = poll_s
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def watch(self) -> None:
        """Poll until cancelled, telling the listeners of every change."""
        async with TritonModels(self.triton_url) as models:
            first = True
            while True:
                try:
                    await models.require_ready(self._model)
                    serving, reason = True, "ok"
                except SnapclipError as exc:
                    serving, reason = False, str(exc)
                changed = first or serving != self.serving
                self.serving, self.reason, first = serving, reason, False
                if changed:
                    log.log(logging.INFO if serving else logging.WARNING,
                            "triton %s", "serving" if serving else f"not serving: {reason}")
                    for listener in self._listeners:
                        await listener(serving)
                await asyncio.sleep(self._poll_s)
