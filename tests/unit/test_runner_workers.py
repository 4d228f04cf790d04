"""A job worker that dies anyway (not a store error: those it survives) is started again by
the heartbeat, and counted."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.exc import OperationalError

from orchestrator.service.runner import JobRunner, RunnerConfig


class Store:
    """Claims fail: first as the database would (survived), then with a bug (fatal)."""

    def __init__(self) -> None:
        self.claims = 0

    def recover(self, **_: object) -> tuple[list, list]:
        return [], []

    def claim(self, owner: str) -> None:
        self.claims += 1
        if self.claims == 1:
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        if self.claims == 2:
            raise RuntimeError("a bug in the claim")
        return None

    def heartbeat(self, leases: dict) -> dict:
        return {}


def test_a_dead_worker_is_started_again_and_counted(tmp_path: Path):
    async def scenario() -> tuple:
        store = Store()
        runner = JobRunner(store, RunnerConfig(  # type: ignore[arg-type]
            triton_url="127.0.0.1:9", jobs_dir=tmp_path, concurrency=1, heartbeat_s=0.05,
            poll_s=0.05))
        await runner.start()
        for _ in range(200):
            await asyncio.sleep(0.05)
            if runner.workers().restarted and store.claims > 3:
                break
        state = runner.workers()
        await runner.stop()
        return state, store.claims

    state, claims = asyncio.run(scenario())
    assert state.restarted == 1 and state.alive == state.started == 2, state
    assert claims > 3  # the restarted worker claims again
