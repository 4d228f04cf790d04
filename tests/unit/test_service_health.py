"""The service's readiness is its own (job store, workers); Triton's state is only shown."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import OperationalError

from orchestrator.errors import ModelServerError
from orchestrator.service.health import ServiceHealth


class Triton:
    def __init__(self, up: bool) -> None:
        self.up = up

    async def require_ready(self, model: str) -> None:
        if not self.up:
            raise ModelServerError(f"Triton at 127.0.0.1:1 is unreachable ({model})")


def check(*, store_up: bool = True, workers: tuple[int, int, int] = (3, 3, 0),
          triton_up: bool = True) -> dict[str, str]:
    def ping() -> None:
        if not store_up:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    health = ServiceHealth("127.0.0.1:1", ping, lambda: workers)
    state = asyncio.run(health.check(Triton(triton_up)))  # type: ignore[arg-type]
    return {**state.to_dict(), "ready": state.ready, "triton_serving": state.triton_serving}


def test_ready_when_store_and_workers_are():
    state = check()
    assert state["ready"] and state["status"] == "ok" and state["workers"] == "3/3 alive"


def test_a_triton_that_drains_does_not_take_the_service_offline():
    state = check(triton_up=False)
    assert state["ready"] and not state["triton_serving"]
    assert "unreachable" in state["triton"]


def test_an_unreachable_store_or_a_dead_worker_does():
    assert not check(store_up=False)["ready"]
    assert "job store unreachable" in check(store_up=False)["store"]
    assert not check(workers=(2, 3, 0))["ready"]
    assert not check(workers=(0, 0, 0))["ready"]  # not started (or stopped): nothing takes work


def test_restarted_workers_are_shown():
    state = check(workers=(3, 3, 2))
    assert state["ready"] and state["workers"] == "3/3 alive, 2 restarted"
