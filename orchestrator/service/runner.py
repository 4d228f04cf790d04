"""The job runner: a bounded pool of workers that run queued jobs through the pipeline.

Jobs live in the ``JobStore``, so the queue survives the process: at start the runner recovers
jobs that were running when the service stopped (a job that had not finished a stage yet runs
again; one that had is marked failed with the reason, never silently dropped) and queues every
job still waiting. Each job reports its stages and progress as events in the store, which is
what ``Watch`` streams. Cancelling a running job cancels its task: its Triton requests are
cancelled with their client, and the staged output folder is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.download import UrlPolicy
from orchestrator.errors import SnapclipError
from orchestrator.ingest import open_source
from orchestrator.pipeline import RunOptions, run
from orchestrator.store import Job, JobState, JobStore
from orchestrator.triton_client import TritonModels

log = logging.getLogger("snapclip.service")

# Each stage's share of a job's progress, in the order the stages finish.
STAGE_WEIGHTS = {"ingest": 0.05, "asr": 0.35, "moments": 0.2, "select": 0.05, "render": 0.35}
STAGES = tuple(STAGE_WEIGHTS)


def overall_progress(stage: str, fraction: float) -> float:
    """Progress of the job 0..1 when ``stage`` is ``fraction`` done."""
    if stage not in STAGE_WEIGHTS:
        return -1.0
    before = sum(STAGE_WEIGHTS[s] for s in STAGES[:STAGES.index(stage)])
    return round(before + STAGE_WEIGHTS[stage] * min(max(fraction, 0.0), 1.0), 4)


@dataclass(frozen=True)
class RunnerConfig:
    triton_url: str
    jobs_dir: Path
    concurrency: int = 2
    model_repository: Path | None = None
    url_policy: UrlPolicy = field(default_factory=UrlPolicy)


class _StoreReporter:
    """Pipeline reporter that turns stages and progress into job events (throttled)."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self._store = store
        self._job_id = job_id
        self._stage = ""
        self._last = -1.0

    def stage(self, name: str, message: str) -> None:
        if name in STAGE_WEIGHTS and name != self._stage:
            if self._stage in STAGE_WEIGHTS:  # the stage before has finished
                self._store.checkpoint(self._job_id, self._stage, {})
            self._stage = name
        progress = max(self._last, overall_progress(self._stage or name, 0.0))
        self._emit(name, progress, message)

    def progress(self, name: str, done: int, total: int) -> None:
        progress = overall_progress(name, done / total if total else 1.0)
        if progress >= 0 and progress - self._last >= 0.01:
            self._emit(name, progress, f"{name} {done}/{total}")

    def finish(self) -> None:
        if self._stage in STAGE_WEIGHTS:
            self._store.checkpoint(self._job_id, self._stage, {})

    def _emit(self, stage: str, progress: float, message: str) -> None:
        self._last = max(self._last, progress)
        self._store.add_event(self._job_id, stage, max(progress, 0.0), message)


OPTION_FIELDS = ("clips", "min_len_s", "max_len_s", "aspect", "captions", "language")


def run_options(options: dict[str, Any], out: Path, model_repository: Path | None = None
                ) -> RunOptions:
    """Pipeline options from a job's stored options (unset ones take the CLI's defaults).

    Raises ``InputError`` for values the pipeline refuses (the Submit call checks them first).
    """
    values = {k: v for k, v in options.items() if k in OPTION_FIELDS}
    return RunOptions(out=out, model_repository=model_repository, **values)


class JobRunner:
    def __init__(self, store: JobStore, config: RunnerConfig) -> None:
        self._store = store
        self._config = config
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self.on_change: Callable[[str], None] | None = None

    async def start(self) -> None:
        requeued, failed = await asyncio.to_thread(
            self._store.recover, resumable=frozenset(),
            reason="the service stopped while this job was running; submit it again")
        for job in failed:
            log.warning("job %s interrupted after %s: marked failed", job.id, job.stage)
        for job in requeued:
            log.info("job %s interrupted before any stage finished: queued again", job.id)
        queued, token = [], ""
        while True:
            page, token = await asyncio.to_thread(
                self._store.list, page_size=100, page_token=token,
                states=frozenset({JobState.QUEUED}))
            queued.extend(page)
            if not token:
                break
        for job in sorted(queued, key=lambda j: j.created_at):
            self._queue.put_nowait(job.id)
        self._workers = [asyncio.create_task(self._work(n))
                         for n in range(self._config.concurrency)]

    async def stop(self) -> None:
        for task in [*self._workers, *self._running.values()]:
            task.cancel()
        await asyncio.gather(*self._workers, *self._running.values(), return_exceptions=True)

    def enqueue(self, job_id: str) -> None:
        self._queue.put_nowait(job_id)

    async def cancel(self, job_id: str) -> Job:
        await asyncio.to_thread(
            self._store.set_state, job_id, JobState.CANCELLED, message="cancelled",
            expect=frozenset({JobState.QUEUED, JobState.RUNNING}))
        task = self._running.get(job_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        return await asyncio.to_thread(self._store.get, job_id)

    async def _work(self, worker: int) -> None:
        while True:
            job_id = await self._queue.get()
            claimed = await asyncio.to_thread(
                self._store.set_state, job_id, JobState.RUNNING, message="started",
                expect=frozenset({JobState.QUEUED}))
            if claimed.state is not JobState.RUNNING:
                continue  # cancelled while it waited
            task = asyncio.create_task(self._run(claimed))
            self._running[job_id] = task
            try:
                await task
            except asyncio.CancelledError:
                if not task.cancelled():  # the worker itself is being stopped
                    raise
            finally:
                self._running.pop(job_id, None)

    async def _run(self, job: Job) -> None:
        out = self._config.jobs_dir / job.id
        reporter = _StoreReporter(self._store, job.id)
        log.info("job %s: %s", job.id, job.source)
        try:
            options = run_options(job.options, out, self._config.model_repository)
            with contextlib.ExitStack() as stack:
                source = await asyncio.to_thread(stack.enter_context, open_source(
                    job.source, min_duration_s=options.min_len_s, policy=self._config.url_policy))
                async with TritonModels(self._config.triton_url) as models:
                    await run(options, models, reporter, source)
            reporter.finish()
            await asyncio.to_thread(self._store.set_state, job.id, JobState.SUCCEEDED,
                                    message="done", out_dir=str(out),
                                    expect=frozenset({JobState.RUNNING}))
        except asyncio.CancelledError:
            shutil.rmtree(out, ignore_errors=True)
            raise
        except SnapclipError as exc:
            await self._fail(job.id, str(exc).splitlines()[0] if str(exc) else repr(exc))
        except Exception as exc:
            log.exception("job %s failed", job.id)
            await self._fail(job.id, f"unexpected {type(exc).__name__}: {exc}")

    async def _fail(self, job_id: str, reason: str) -> None:
        await asyncio.to_thread(self._store.set_state, job_id, JobState.FAILED, error=reason,
                                message=reason, expect=frozenset({JobState.RUNNING}))
