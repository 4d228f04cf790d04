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

One job, one writer: every write of a run names the lease token of its claim (see
``orchestrator.store.jobs``). A run whose lease another replica took over - this process was
paused or cut off from the database past the lease - learns it from its heartbeat or its next
write (``LeaseLostError``) and stops without writing anything more: no event, no end state, no
output folder (it publishes only after its last write has proved the lease).

Workers outlive the store: a database error while claiming is retried with backoff, the end
of a run is retried until the store answers or the lease is gone, and a worker task that ends
anyway is started again by the heartbeat and counted (``/healthz``, and the
``snapclip_worker_restarts_total`` metric).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy.exc import SQLAlchemyError

from orchestrator.errors import SnapclipError
from orchestrator.pipeline.ingest import UrlPolicy, open_source_async
from orchestrator.pipeline.manifest import Clip
from orchestrator.pipeline.run import Resume, RunOptions, run
from orchestrator.proto import load
from orchestrator.service.logs import job_id_var
from orchestrator.service.metrics import ServiceMetrics
from orchestrator.serving.client import TritonModels
from orchestrator.store import Job, JobState, JobStore, LeaseLostError

log = logging.getLogger("snapclip.service")

# Each stage's share of a job's progress, in the order the stages finish.
STAGE_WEIGHTS = {"ingest": 0.05, "asr": 0.35, "moments": 0.2, "select": 0.05, "render": 0.35}
STAGES = tuple(STAGE_WEIGHTS)


def _before(stage: str, other: str) -> bool:
    """Whether ``stage`` comes before ``other`` in the pipeline (both in ``STAGES``)."""
    return (stage in STAGE_WEIGHTS and other in STAGE_WEIGHTS
            and STAGES.index(stage) < STAGES.index(other))


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
    # Uploaded sources live here; a job's upload is removed when the job fails or is
    # cancelled, and kept while it has succeeded (its clips can be rendered again).
    uploads_dir: Path | None = None
    worker_id: str = field(default_factory=default_worker_id)
    heartbeat_s: float = 10.0
    lease_s: float = 60.0  # a running job not heard of for this long is taken over
    max_attempts: int = 3  # starts of one job before an interruption fails it
    poll_s: float = 2.0  # idle workers look for jobs queued through other replicas


class _StoreReporter:
    """Pipeline reporter: stages and progress become job events (throttled), finished stages
    checkpoints, and stage durations metrics.

    Every write names the run's lease: once another replica holds the job, the next one raises
    ``LeaseLostError`` and the run stops. A store error on the way is logged and the run goes
    on - events and checkpoints only inform and shorten a resume; the run's end is what must
    land, and that is retried (``JobRunner._finish``).
    """

    def __init__(self, store: JobStore, job: Job, metrics: ServiceMetrics | None,
                 resumed: frozenset[str]) -> None:
        self._store = store
        self._job_id = job.id
        self._lease = job.lease
        self._metrics = metrics
        self._resumed = resumed  # stages taken from an earlier attempt's checkpoints
        self._saved: set[str] = set()  # stages checkpointed with their data in this attempt
        self._stage = ""
        # The last stage that finished (the job's ``stage``): it never goes back, though the
        # stages overlap - clip 1 renders while the choice of the others goes on, and the
        # llm's descriptions (the moments checkpoint) arrive during the render.
        self._finished = max(resumed, key=STAGES.index, default="")
        self._since = time.perf_counter()
        self._last = job.progress if job.attempts > 1 else -1.0  # never going back

    def stage(self, name: str, message: str) -> None:
        if name in STAGE_WEIGHTS and name != self._stage:
            if _before(name, self._stage):
                # A stage that ran alongside a later one reports its end late (the choice
                # of the clips after the first is reported while they render): it finishes,
                # and the later stage goes on.
                self._finish(name, None)
            else:
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
        advance = not _before(stage, self._finished)
        try:
            self._store.checkpoint(self._job_id, stage, data, lease=self._lease,
                                   advance=advance)
        except SQLAlchemyError as exc:
            log.warning("checkpoint %s not kept (the job store failed): %s", stage,
                        str(exc).splitlines()[0])
            return
        self._saved.add(stage)
        if advance:
            self._finished = stage

    def clip_ready(self, clip: Clip, folder: Path) -> None:
        """A ``clip_ready`` event: the clip's files and the (staging) folder that holds them,
        so the API can serve them before the job ends (``JobsApi.ready_file``)."""
        self._emit("clip_ready", self._last, json.dumps({
            "rank": clip.rank, "file": clip.file, "start_s": clip.start_s,
            "end_s": clip.end_s, "title": clip.title, "renditions": clip.renditions,
            "captions": clip.captions, "folder": str(folder)}))

    def finish(self) -> None:
        self._finish_stage()
        self._stage = ""

    def _finish_stage(self) -> None:
        seconds = time.perf_counter() - self._since
        self._since = time.perf_counter()
        self._finish(self._stage, seconds)

    def _finish(self, stage: str, seconds: float | None) -> None:
        """``stage`` finished (after ``seconds``, when it ran as the current stage)."""
        if stage not in STAGE_WEIGHTS or stage in self._resumed:
            return  # nothing ran (a resumed stage keeps its checkpoint and data)
        first = stage not in self._saved  # (else finished already: a late note of it)
        if first:
            self.checkpoint(stage, {})
        if seconds is None:  # it ran alongside a later stage: its own time is not known here
            if first:
                log.info("stage %s finished", stage, extra={"stage": stage})
            return
        if self._metrics is not None:
            self._metrics.stage_seconds.labels(stage).observe(seconds)
        log.info("stage %s finished in %.1f s", stage, seconds,
                 extra={"stage": stage, "seconds": round(seconds, 3)})

    def _emit(self, stage: str, progress: float, message: str) -> None:
        self._last = max(self._last, progress)
        try:
            self._store.add_event(self._job_id, stage, max(progress, 0.0), message,
                                  lease=self._lease)
        except SQLAlchemyError as exc:
            log.warning("progress not recorded (the job store failed): %s",
                        str(exc).splitlines()[0])


# The options a job may set: the proto's RunOptions fields (the APIs' contract), each the name
# of a pipeline option.
OPTION_FIELDS = tuple(f.name for f in load()[0].RunOptions.DESCRIPTOR.fields)


def run_options(options: dict[str, Any], out: Path, model_repository: Path | None = None,
                llm_version: str = "") -> RunOptions:
    """Pipeline options from a job's stored options (unset ones take the CLI's defaults).

    Raises ``InputError`` for values the pipeline refuses (the Submit call checks them first).
    """
    values = {k: v for k, v in options.items() if k in OPTION_FIELDS}
    return RunOptions(out=out, model_repository=model_repository, llm_version=llm_version,
                      **values)


@dataclass
class _Run:
    """A job this process runs: its task and the lease of its claim."""

    task: asyncio.Task[None]
    lease: str
    lost: bool = False  # another replica holds the job now: touch nothing of it


class WorkerState(NamedTuple):
    alive: int  # worker and heartbeat tasks running now
    started: int  # those that should be
    restarted: int  # worker tasks that ended unexpectedly and were started again


class JobRunner:
    def __init__(self, store: JobStore, config: RunnerConfig,
                 metrics: ServiceMetrics | None = None) -> None:
        self._store = store
        self._config = config
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._running: dict[str, _Run] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._restarted = 0
        self._stopping = False

    @property
    def config(self) -> RunnerConfig:
        return self._config

    async def start(self) -> None:
        await self._recover(restarted=True)
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._config.concurrency)]
        self._tasks.append(asyncio.create_task(self._heartbeat()))

    async def stop(self) -> None:
        """Stop taking jobs, interrupt the running ones and hand them back to the queue, so
        another replica (or this service, restarted) resumes them at once from their last
        finished stage - a rolling update costs no job and no attempt."""
        self._stopping = True
        running = {job_id: run.lease for job_id, run in self._running.items() if not run.lost}
        tasks = [run.task for run in self._running.values()]
        for task in [*self._tasks, *tasks]:
            task.cancel()
        await asyncio.gather(*self._tasks, *tasks, return_exceptions=True)
        for job_id, lease in running.items():
            try:
                job = await asyncio.to_thread(
                    self._store.release, job_id, lease,
                    "the service stopped while it ran; it resumes from its last finished stage")
            except SQLAlchemyError as exc:  # its lease runs out and another replica takes it
                log.warning("job %s not handed back (the job store failed): %s", job_id, exc)
                continue
            if job.state is JobState.QUEUED:
                await asyncio.to_thread(self._store.add_event, job.id, "restart", job.progress,
                                        job.message)
                log.info("job %s handed back to the queue", job.id, extra={"job": job.id})

    def workers(self) -> WorkerState:
        """The worker and heartbeat tasks; one that ended while the service runs has died
        (the heartbeat starts dead workers again, and counts them)."""
        alive = sum(1 for task in self._tasks if not task.done())
        return WorkerState(alive, len(self._tasks), self._restarted)

    def enqueue(self, job_id: str) -> None:
        """A job was queued: wake the idle workers (the job itself is in the store)."""
        self._wake.set()

    async def cancel(self, job_id: str) -> Job:
        await asyncio.to_thread(
            self._store.set_state, job_id, JobState.CANCELLED, message="cancelled",
            expect=frozenset({JobState.QUEUED, JobState.RUNNING}))
        run = self._running.get(job_id)
        if run is not None:
            run.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await run.task
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
            self._restart_dead_workers()
            try:
                held = await asyncio.to_thread(self._store.heartbeat, {
                    job_id: run.lease for job_id, run in self._running.items()})
                for job_id, status in held.items():
                    run = self._running.get(job_id)
                    if run is None or status.held or run.task.done():
                        continue
                    if status.state in (JobState.SUCCEEDED, JobState.FAILED):
                        continue  # this run has just recorded its own end
                    if status.state is JobState.CANCELLED:
                        log.info("job %s cancelled through another replica", job_id)
                    else:
                        run.lost = True
                        log.warning("job %s: lease lost (now %s elsewhere); its run here stops "
                                    "without writing", job_id, status.state.value)
                    run.task.cancel()
                await self._recover()  # replicas that died
            except SQLAlchemyError as exc:  # the store blinked: try again at the next beat
                self._store_error("heartbeat", exc)

    def _restart_dead_workers(self) -> None:
        for index, task in enumerate(self._tasks[:-1]):  # the last one is this heartbeat
            if task.done() and not self._stopping:
                reason = "cancelled" if task.cancelled() else repr(task.exception())
                log.error("worker %d ended unexpectedly (%s); starting it again", index, reason)
                self._tasks[index] = asyncio.create_task(self._work())
                self._restarted += 1
                if self._metrics is not None:
                    self._metrics.worker_restarts.inc()

    def _store_error(self, where: str, exc: Exception) -> None:
        log.warning("job store error in %s: %s", where, str(exc).splitlines()[0])
        if self._metrics is not None:
            self._metrics.store_errors.labels(where).inc()

    async def _work(self) -> None:
        failures = 0
        while True:
            try:
                job = await asyncio.to_thread(self._store.claim, self._config.worker_id)
            except SQLAlchemyError as exc:  # e.g. a PostgreSQL failover: wait, then again
                failures += 1
                self._store_error("claim", exc)
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            failures = 0
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._config.poll_s)
                continue
            run = _Run(asyncio.create_task(self._run(job)), job.lease or "")
            self._running[job.id] = run
            try:
                await run.task
            except asyncio.CancelledError:
                # Cancelling the worker cancels the job it awaits too; only a job cancelled
                # on its own (the Cancel API, a lost lease) lets the worker go on.
                if self._stopping or not run.task.cancelled():
                    raise
            except Exception:  # a bug in the run's own bookkeeping: the worker goes on
                log.exception("job %s: the run ended with an error", job.id)
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
        start, ended = time.perf_counter(), JobState.CANCELLED.value
        log.info("job started (attempt %d): %s", job.attempts, job.source,
                 extra={"resumes_after": sorted(kept)})
        try:
            options = run_options(job.options, out, self._config.model_repository,
                                  self._config.llm_version)
            async with open_source_async(
                    job.source, min_duration_s=options.min_len_s,
                    policy=self._config.url_policy) as source, \
                    TritonModels(self._config.triton_url, observer=observer) as models:
                await run(options, models, reporter, source, resume)
            reporter.finish()
            ended = await self._finish(job, out)
        except LeaseLostError:
            ended = self._lost()
        except asyncio.CancelledError:
            if self._is_lost(job.id):
                ended = self._lost()
            else:
                shutil.rmtree(out, ignore_errors=True)
                if self._stopping:
                    ended = "interrupted"
            raise
        except SnapclipError as exc:
            ended = await self._fail(job, str(exc).splitlines()[0] if str(exc) else repr(exc))
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                reason = f"no space left on the device of the jobs folder ({exc.filename})"
            else:
                log.exception("job failed unexpectedly")
                reason = f"unexpected {type(exc).__name__}: {exc}"
            ended = await self._fail(job, reason)
        except Exception as exc:
            log.exception("job failed unexpectedly")
            ended = await self._fail(job, f"unexpected {type(exc).__name__}: {exc}")
        finally:
            seconds = time.perf_counter() - start
            if self._metrics is not None:
                self._metrics.job_seconds.labels(ended).observe(seconds)
            log.info("job %s in %.1f s", ended, seconds,
                     extra={"state": ended, "seconds": round(seconds, 3)})
            if ended != "lost":
                with contextlib.suppress(Exception):
                    self._release_upload(await asyncio.to_thread(self._store.get, job.id))

    async def _finish(self, job: Job, out: Path) -> str:
        """Record the run's success (retried while the store fails). A cancel that won the
        race takes the output with it; a lost lease leaves it to the run that holds it."""
        after = await self._retrying(
            "finish", self._store.set_state, job.id, JobState.SUCCEEDED, message="done",
            out_dir=str(out), expect=frozenset({JobState.RUNNING}), lease=job.lease)
        if after.state is JobState.SUCCEEDED:
            return JobState.SUCCEEDED.value
        if after.state is JobState.RUNNING or after.state is JobState.QUEUED:
            return self._lost()
        log.info("job ended %s before its run did; its output is removed", after.state.value)
        shutil.rmtree(out, ignore_errors=True)
        return after.state.value

    def _is_lost(self, job_id: str) -> bool:
        run = self._running.get(job_id)
        return run is not None and run.lost

    @staticmethod
    def _lost() -> str:
        log.warning("another replica runs this job now; this run stopped without writing")
        return "lost"

    async def _fail(self, job: Job, reason: str) -> str:
        log.warning("job failed: %s", reason)
        after = await self._retrying(
            "fail", self._store.set_state, job.id, JobState.FAILED, error=reason,
            message=reason, expect=frozenset({JobState.RUNNING}), lease=job.lease)
        return JobState.FAILED.value if after.state is JobState.FAILED else after.state.value

    async def _retrying(self, where: str, call: Callable[..., Job], *args: Any,
                        **kwargs: Any) -> Job:
        """``call`` in a thread, again with backoff while the store fails - for as long as the
        lease would last; after that another replica resumes the job anyway."""
        deadline, delay = time.monotonic() + self._config.lease_s, 0.5
        while True:
            try:
                return await asyncio.to_thread(call, *args, **kwargs)
            except SQLAlchemyError as exc:
                self._store_error(where, exc)
                if time.monotonic() + delay > deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _release_upload(self, job: Job) -> None:
        """Remove the uploaded source of a job that failed or was cancelled; a succeeded job
        keeps it beside its output, for re-renders of its clips (``RenderClip``)."""
        uploads = self._config.uploads_dir
        if uploads is None or not job.state.finished or job.state is JobState.SUCCEEDED:
            return
        folder = Path(job.source).parent
        if folder.parent == uploads and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
