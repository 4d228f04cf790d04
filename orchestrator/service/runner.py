"""The job runner: a bounded pool of workers that run queued jobs through the pipeline.

The queue is the ``JobStore``: a worker claims the oldest queued job (atomically, so several
service replicas can share one PostgreSQL store) and holds a lease on it that a heartbeat
renews. At start, and on every heartbeat, the runner recovers running jobs that nobody runs
any more - its own from before a restart, and those of a replica whose lease ran out - and
queues them again: each resumes from its last finished stage (the transcript and the llm's
moments are kept in the store as stage checkpoints), or ends failed with the reason after too
many attempts; never silently lost. Each job reports its stages and progress as events in the
store, which is what ``Watch`` streams. Cancelling a running job cancels its task (also when
the cancel came through another replica: the heartbeat sees it): its Triton requests are
cancelled with their client, and the staged output folder is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from orchestrator.errors import SnapclipError
from orchestrator.pipeline.ingest import UrlPolicy, open_source
from orchestrator.pipeline.run import Resume, RunOptions, run
from orchestrator.service.logs import job_id_var
from orchestrator.service.metrics import ServiceMetrics
from orchestrator.serving.client import TritonModels
from orchestrator.store import Job, JobState, JobStore

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


def default_worker_id() -> str:
    """This service's name in job leases: the host (a pod's name in Kubernetes).

    Stable across restarts of the same pod or machine, so a restarted service takes its own
    interrupted jobs back at once instead of waiting for their leases to run out.
    """
    return os.environ.get("SNAPCLIP_WORKER_ID") or socket.gethostname()


@dataclass(frozen=True)
class RunnerConfig:
    triton_url: str
    jobs_dir: Path
    concurrency: int = 2
    model_repository: Path | None = None
    llm_version: str = ""  # the llm version jobs use ("" = the newest served)
    url_policy: UrlPolicy = field(default_factory=UrlPolicy)
    # Uploaded sources live here; a job's upload is removed when the job ends.
    uploads_dir: Path | None = None
    worker_id: str = field(default_factory=default_worker_id)
    heartbeat_s: float = 10.0
    lease_s: float = 60.0  # a running job not heard of for this long is taken over
    max_attempts: int = 3  # starts of one job before an interruption fails it
    poll_s: float = 2.0  # idle workers look for jobs queued through other replicas


class _StoreReporter:
    """Pipeline reporter: stages and progress become job events (throttled), finished stages
    checkpoints, and stage durations metrics."""

    def __init__(self, store: JobStore, job: Job, metrics: ServiceMetrics | None,
                 resumed: frozenset[str]) -> None:
        self._store = store
        self._job_id = job.id
        self._metrics = metrics
        self._resumed = resumed  # stages taken from an earlier attempt's checkpoints
        self._saved: set[str] = set()  # stages checkpointed with their data in this attempt
        self._stage = ""
        self._since = time.perf_counter()
        self._last = job.progress if job.attempts > 1 else -1.0  # never going back

    def stage(self, name: str, message: str) -> None:
        if name in STAGE_WEIGHTS and name != self._stage:
            self._finish_stage()
            self._stage = name
            log.info("stage %s: %s", name, message, extra={"stage": name})
        progress = max(self._last, overall_progress(self._stage or name, 0.0))
        self._emit(name, progress, message)

    def progress(self, name: str, done: int, total: int) -> None:
        progress = overall_progress(name, done / total if total else 1.0)
        if progress >= 0 and progress - self._last >= 0.01:
            self._emit(name, progress, f"{name} {done}/{total}")

    def checkpoint(self, stage: str, data: dict[str, Any]) -> None:
        self._store.checkpoint(self._job_id, stage, data)
        self._saved.add(stage)

    def finish(self) -> None:
        self._finish_stage()
        self._stage = ""

    def _finish_stage(self) -> None:
        stage, seconds = self._stage, time.perf_counter() - self._since
        self._since = time.perf_counter()
        if stage not in STAGE_WEIGHTS or stage in self._resumed:
            return  # nothing ran (a resumed stage keeps its checkpoint and data)
        if stage not in self._saved:
            self._store.checkpoint(self._job_id, stage, {})
        if self._metrics is not None:
            self._metrics.stage_seconds.labels(stage).observe(seconds)
        log.info("stage %s finished in %.1f s", stage, seconds,
                 extra={"stage": stage, "seconds": round(seconds, 3)})

    def _emit(self, stage: str, progress: float, message: str) -> None:
        self._last = max(self._last, progress)
        self._store.add_event(self._job_id, stage, max(progress, 0.0), message)


OPTION_FIELDS = ("clips", "min_len_s", "max_len_s", "aspect", "captions", "language")


def run_options(options: dict[str, Any], out: Path, model_repository: Path | None = None,
                llm_version: str = "") -> RunOptions:
    """Pipeline options from a job's stored options (unset ones take the CLI's defaults).

    Raises ``InputError`` for values the pipeline refuses (the Submit call checks them first).
    """
    values = {k: v for k, v in options.items() if k in OPTION_FIELDS}
    return RunOptions(out=out, model_repository=model_repository, llm_version=llm_version,
                      **values)


class JobRunner:
    def __init__(self, store: JobStore, config: RunnerConfig,
                 metrics: ServiceMetrics | None = None) -> None:
        self._store = store
        self._config = config
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        await self._recover(restarted=True)
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._config.concurrency)]
        self._tasks.append(asyncio.create_task(self._heartbeat()))

    async def stop(self) -> None:
        """Stop taking jobs, interrupt the running ones and hand them back to the queue, so
        another replica (or this service, restarted) resumes them at once from their last
        finished stage - a rolling update costs no job and no attempt."""
        self._stopping = True
        running = list(self._running)
        for task in [*self._tasks, *self._running.values()]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._running.values(), return_exceptions=True)
        for job_id in running:
            job = await asyncio.to_thread(
                self._store.release, job_id, self._config.worker_id,
                "the service stopped while it ran; it resumes from its last finished stage")
            if job.state is JobState.QUEUED:
                await asyncio.to_thread(self._store.add_event, job.id, "restart", job.progress,
                                        job.message)
                log.info("job %s handed back to the queue", job.id, extra={"job": job.id})

    def workers(self) -> tuple[int, int]:
        """(alive, started) of the worker and heartbeat tasks; a task that ended while the
        service runs has died."""
        return sum(1 for task in self._tasks if not task.done()), len(self._tasks)

    def enqueue(self, job_id: str) -> None:
        """A job was queued: wake the idle workers (the job itself is in the store)."""
        self._wake.set()

    async def cancel(self, job_id: str) -> Job:
        await asyncio.to_thread(
            self._store.set_state, job_id, JobState.CANCELLED, message="cancelled",
            expect=frozenset({JobState.QUEUED, JobState.RUNNING}))
        task = self._running.get(job_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        job = await asyncio.to_thread(self._store.get, job_id)
        self._release_upload(job)
        return job

    async def _recover(self, *, restarted: bool = False) -> None:
        """Queue again the running jobs nobody runs: those whose lease ran out and, just after
        a restart, this service's own from before."""
        requeued, failed = await asyncio.to_thread(
            self._store.recover, lease_s=self._config.lease_s,
            max_attempts=self._config.max_attempts,
            owner=self._config.worker_id if restarted else None)
        for job in failed:
            log.warning("job %s: %s", job.id, job.error, extra={"job": job.id})
            self._release_upload(job)
        for job in requeued:
            log.info("job %s: %s", job.id, job.message, extra={"job": job.id})
            await asyncio.to_thread(self._store.add_event, job.id, "restart", job.progress,
                                    job.message)
        if requeued:
            self._wake.set()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._config.heartbeat_s)
            try:
                states = await asyncio.to_thread(self._store.heartbeat, self._config.worker_id,
                                                 list(self._running))
                for job_id, state in states.items():
                    task = self._running.get(job_id)
                    if state is JobState.CANCELLED and task is not None:
                        log.info("job %s cancelled through another replica", job_id)
                        task.cancel()
                await self._recover()  # replicas that died
            except SQLAlchemyError:  # the store blinked: try again at the next beat
                log.exception("heartbeat failed")

    async def _work(self) -> None:
        while True:
            job = await asyncio.to_thread(self._store.claim, self._config.worker_id)
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._config.poll_s)
                continue
            task = asyncio.create_task(self._run(job))
            self._running[job.id] = task
            try:
                await task
            except asyncio.CancelledError:
                # Cancelling the worker cancels the job it awaits too; only a job cancelled
                # on its own (the Cancel API) lets the worker go on to the next one.
                if self._stopping or not task.cancelled():
                    raise
            finally:
                self._running.pop(job.id, None)

    async def _run(self, job: Job) -> None:
        job_id_var.set(job.id)  # every log line of this task names the job
        out = self._config.jobs_dir / job.id
        for stale in self._config.jobs_dir.glob(f".{job.id}.partial-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a process that died
        checkpoints = await asyncio.to_thread(self._store.checkpoints, job.id)
        resume = Resume.from_checkpoints(checkpoints)
        kept = resume.stages
        reporter = _StoreReporter(self._store, job, self._metrics, kept)
        observer = self._metrics.observe_request if self._metrics else None
        start, state = time.perf_counter(), JobState.CANCELLED
        log.info("job started (attempt %d): %s", job.attempts, job.source,
                 extra={"resumes_after": sorted(kept)})
        try:
            options = run_options(job.options, out, self._config.model_repository,
                                  self._config.llm_version)
            with contextlib.ExitStack() as stack:
                source = await asyncio.to_thread(stack.enter_context, open_source(
                    job.source, min_duration_s=options.min_len_s, policy=self._config.url_policy))
                async with TritonModels(self._config.triton_url, observer=observer) as models:
                    await run(options, models, reporter, source, resume)
            reporter.finish()
            state = JobState.SUCCEEDED
            await asyncio.to_thread(self._store.set_state, job.id, JobState.SUCCEEDED,
                                    message="done", out_dir=str(out),
                                    expect=frozenset({JobState.RUNNING}))
        except asyncio.CancelledError:
            shutil.rmtree(out, ignore_errors=True)
            raise
        except SnapclipError as exc:
            state = JobState.FAILED
            await self._fail(job.id, str(exc).splitlines()[0] if str(exc) else repr(exc))
        except Exception as exc:
            state = JobState.FAILED
            log.exception("job failed unexpectedly")
            await self._fail(job.id, f"unexpected {type(exc).__name__}: {exc}")
        finally:
            seconds = time.perf_counter() - start
            ended = "interrupted" if self._stopping and state is JobState.CANCELLED \
                else state.value
            if self._metrics is not None:
                self._metrics.job_seconds.labels(ended).observe(seconds)
            log.info("job %s in %.1f s", ended, seconds,
                     extra={"state": ended, "seconds": round(seconds, 3)})
            with contextlib.suppress(Exception):
                self._release_upload(await asyncio.to_thread(self._store.get, job.id))

    async def _fail(self, job_id: str, reason: str) -> None:
        log.warning("job failed: %s", reason)
        await asyncio.to_thread(self._store.set_state, job_id, JobState.FAILED, error=reason,
                                message=reason, expect=frozenset({JobState.RUNNING}))

    def _release_upload(self, job: Job) -> None:
        """Remove the uploaded source of a finished job (uploads are kept until then)."""
        uploads = self._config.uploads_dir
        if uploads is None or not job.state.finished:
            return
        folder = Path(job.source).parent
        if folder.parent == uploads and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
