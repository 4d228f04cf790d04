"""What both APIs do with jobs, in the messages of ``highlights.proto``.

The gRPC servicer and the REST routes are thin adapters over ``JobsApi``: the same checks,
the same answers, the same event stream. Errors are ``InputError`` (a bad request),
``JobStateError`` (not now: the job has not succeeded) and ``UnknownJobError`` (no such job);
each API maps them to its own status codes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from orchestrator.contracts.limits import (
    DEFAULT_PAGE_SIZE,
    MAX_CAPTIONS_SRT_CHARS,
    MAX_CLIPS,
    MAX_PAGE_SIZE,
    MAX_PAGE_TOKEN_CHARS,
    MAX_REQUEST_ID_CHARS,
    MAX_SOURCE_CHARS,
)
from orchestrator.errors import InputError
from orchestrator.pipeline.ingest import open_source_async
from orchestrator.pipeline.ingest.download import is_url
from orchestrator.pipeline.rerender import ClipEdit, rerender
from orchestrator.proto import load
from orchestrator.service.runner import OPTION_FIELDS, JobRunner, run_options
from orchestrator.store import Event, Job, JobState, JobStore
from orchestrator.store.jobs import UnknownJobError

pb, _ = load()


class JobStateError(InputError):
    """The job is not in a state that allows the call (a re-render of a job still running)."""


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def job_message(job: Job) -> Any:
    """The ``snapclip.v1.Job`` of ``job`` (with its manifest once it succeeded)."""
    manifest = ""
    if job.state is JobState.SUCCEEDED and job.out_dir:
        path = Path(job.out_dir) / "manifest.json"
        manifest = path.read_text(encoding="utf-8") if path.is_file() else ""
    return pb.Job(id=job.id, request_id=job.request_id or "", source=job.source,
                  options=pb.RunOptions(**job.options), state=job.state.name,
                  stage=job.stage or "", progress=job.progress, message=job.message,
                  error=job.error or "", manifest_json=manifest,
                  created_at=_timestamp(job.created_at), updated_at=_timestamp(job.updated_at))


CLIP_READY = "clip_ready"  # the stage of the events a rendered clip sends (runner)


def _ready_clip(event: Event) -> dict[str, Any] | None:
    """What a ``clip_ready`` event's message holds (JSON), or None for any other event."""
    if event.stage != CLIP_READY:
        return None
    try:
        data = json.loads(event.message)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def event_message(event: Event) -> Any:
    message, clip = event.message, None
    if (ready := _ready_clip(event)) is not None:  # the staging folder stays inside the service
        clip = pb.ClipReady(rank=ready["rank"], file=ready["file"], start_s=ready["start_s"],
                            end_s=ready["end_s"], title=ready["title"],
                            renditions=ready["renditions"], captions=ready["captions"])
        message = (f"clip {clip.rank} ready: {clip.file} "
                   f"({clip.start_s:.1f}-{clip.end_s:.1f} s)")
    return pb.JobEvent(id=event.id, job_id=event.job_id, stage=event.stage,
                       progress=event.progress, message=message, at=_timestamp(event.at),
                       clip=clip)


class JobsApi:
    """Submit, Get, Cancel, List and Watch over the store and the runner."""

    def __init__(self, store: JobStore, runner: JobRunner, *, poll_s: float = 0.25,
                 heartbeat_s: float = 15.0, source_roots: tuple[Path, ...] = (),
                 jobs_dir: Path | None = None) -> None:
        self._store = store
        self._runner = runner
        self._roots = tuple(root.resolve() for root in source_roots)
        self._jobs_dir = jobs_dir.resolve() if jobs_dir else None
        self._poll_s = poll_s
        self._heartbeat_s = heartbeat_s
        # Re-renders run FFmpeg in this process, beside the runner's jobs: as many at once.
        self._renders = asyncio.Semaphore(max(1, runner.config.concurrency))

    async def submit(self, request: Any, *, uploaded: bool = False) -> tuple[Any, bool]:
        """Queue ``request`` (a ``SubmitRequest``); returns (job, created).

        A ``request_id`` seen before returns that job and queues nothing. A source that is
        not a URL must lie under one of the ``source_roots`` (and outside the jobs folder),
        unless ``uploaded``: the upload route's own file.
        """
        if 0 < len(request.request_id) <= MAX_REQUEST_ID_CHARS:
            earlier = await asyncio.to_thread(self._store.by_request, request.request_id)
            if earlier is not None:  # a retried request: its job, whatever else it says
                return job_message(earlier), False
        if not request.source.strip():
            raise InputError("source is empty")
        if len(request.source) > MAX_SOURCE_CHARS:
            raise InputError(f"source is longer than {MAX_SOURCE_CHARS} characters")
        if len(request.request_id) > MAX_REQUEST_ID_CHARS:
            raise InputError(f"request_id is longer than {MAX_REQUEST_ID_CHARS} characters")
        if not uploaded and not is_url(request.source):
            self._check_server_path(request.source)
        options = {f: getattr(request.options, f) for f in OPTION_FIELDS
                   if request.options.HasField(f)}
        run_options(options, Path())  # raises InputError for values the pipeline refuses
        job, created = await asyncio.to_thread(self._store.submit, request.source, options,
                                                request_id=request.request_id or None)
        if created:
            self._runner.enqueue(job.id)
        return job_message(job), created

    def _check_server_path(self, source: str) -> None:
        """A path on the service's machine is read only inside the configured roots: never
        elsewhere, and never the jobs folder (other jobs' uploads and outputs)."""
        if not self._roots:
            raise InputError("this service reads no paths of its own (no --source-root): "
                             "upload the file or give an http(s) URL")
        path = Path(source).expanduser().resolve()  # symlinks followed: judged where they lead
        inside = any(path.is_relative_to(root) for root in self._roots)
        if not inside or (self._jobs_dir and path.is_relative_to(self._jobs_dir)):
            raise InputError(f"{source}: outside the folders this service reads "
                             "(--source-root)")

    async def job(self, job_id: str) -> Job:
        """The stored job (``UnknownJobError`` when there is none)."""
        return await asyncio.to_thread(self._store.get, job_id)

    async def ready_file(self, job: Job, relative: str) -> Path | None:
        """A file of a clip that is ready while its job still runs (a ``clip_ready`` event
        named it), in the run's staging folder; None when no such event names it."""
        if job.state is not JobState.RUNNING:
            return None
        for event in await asyncio.to_thread(self._store.events, job.id):
            ready = _ready_clip(event)
            if ready is None or relative not in {*ready["renditions"].values(),
                                                 ready["captions"]}:
                continue
            folder = Path(ready["folder"]).resolve()
            if self._jobs_dir is None or not folder.is_relative_to(self._jobs_dir):
                return None
            path = folder / relative
            return path if path.is_file() else None
        return None

    async def get(self, job_id: str) -> Any:
        return job_message(await self.job(job_id))

    async def cancel(self, job_id: str) -> Any:
        await self.job(job_id)
        return job_message(await self._runner.cancel(job_id))

    async def render_clip(self, request: Any) -> Any:
        """Render clip ``request.rank`` of a succeeded job again as ``request.edit`` says
        (``pipeline.rerender``); returns the job with its updated manifest.

        The job's source is opened again: an upload is kept while its job has succeeded, a
        server path is read in place, and a URL is downloaded again (under the service's URL
        policy) - re-rendering checks that it is still the same video.
        """
        if not 1 <= request.rank <= MAX_CLIPS:
            raise InputError(f"rank must be between 1 and {MAX_CLIPS}")
        edit = request.edit
        if len(edit.captions_srt) > MAX_CAPTIONS_SRT_CHARS:
            raise InputError(f"captions_srt is longer than {MAX_CAPTIONS_SRT_CHARS} characters")
        job = await self.job(request.job_id)
        if job.state is not JobState.SUCCEEDED or not job.out_dir:
            raise JobStateError(f"job {job.id} is {job.state.value}: only the clips of a "
                                "succeeded job can be rendered again")
        change = ClipEdit(
            rank=request.rank,
            start_s=edit.start_s if edit.HasField("start_s") else None,
            end_s=edit.end_s if edit.HasField("end_s") else None,
            captions_srt=edit.captions_srt if edit.HasField("captions_srt") else None,
            aspect=edit.aspect if edit.HasField("aspect") else None)
        async with self._renders, open_source_async(
                job.source, policy=self._runner.config.url_policy) as source:
            clip = await rerender(Path(job.out_dir), change, source=source.path)
        await asyncio.to_thread(
            self._store.add_event, job.id, "render", 1.0,
            f"clip {clip.rank} rendered again (revision {clip.revision}): "
            f"{clip.start_s:.2f}-{clip.end_s:.2f} s, {', '.join(clip.renditions)}")
        return job_message(await self.job(job.id))

    async def list(self, page_size: int, page_token: str) -> Any:
        if not 0 <= page_size <= MAX_PAGE_SIZE:
            raise InputError(f"page_size must be between 0 (the default, {DEFAULT_PAGE_SIZE}) "
                             f"and {MAX_PAGE_SIZE}")
        if len(page_token) > MAX_PAGE_TOKEN_CHARS:
            raise InputError("bad page_token")
        size = page_size or DEFAULT_PAGE_SIZE
        try:
            jobs, token = await asyncio.to_thread(self._store.list, page_size=size,
                                                  page_token=page_token)
        except UnknownJobError:
            raise InputError("bad page_token") from None
        return pb.ListResponse(jobs=[job_message(j) for j in jobs], next_page_token=token)

    async def watch(self, job_id: str, after_event: int = 0) -> AsyncIterator[Any | None]:
        """``JobEvent``s after ``after_event``, then one carrying the finished job.

        Yields ``None`` after ``heartbeat_s`` without news, so a stream can keep its
        connection alive.
        """
        job = await self.job(job_id)
        after, quiet_since = after_event, time.monotonic()
        while True:
            events = await asyncio.to_thread(self._store.events, job.id, after=after)
            for event in events:
                after = event.id
                yield event_message(event)
            if events:
                quiet_since = time.monotonic()
            job = await asyncio.to_thread(self._store.get, job.id)
            if job.state.finished and not events:
                yield pb.JobEvent(id=after, job_id=job.id, stage=job.state.value,
                                  progress=job.progress, message=job.message,
                                  at=_timestamp(job.updated_at), result=job_message(job))
                return
            if time.monotonic() - quiet_since >= self._heartbeat_s:
                quiet_since = time.monotonic()
                yield None
            await asyncio.sleep(self._poll_s)
