"""``JobStore``: what the service needs to remember about jobs across restarts.

A job is submitted (``queued``), claimed by a worker (``running``, leased to that service
process, which renews the lease while it runs), reports progress events and checkpoints each
finished stage, and ends ``succeeded``, ``failed`` or ``cancelled``. The queue lives here, so
several service replicas can share one store. ``recover`` finds running jobs nobody runs any
more (their process restarted, or died and its lease ran out): they resume from their last
checkpoint, or end ``failed`` with the reason - a job is never silently lost. An optional
client request id makes ``submit`` idempotent.

Every claim draws a fresh lease token. The writes of a run (events, checkpoints, its end, its
hand-back) name that token and are compare-and-set updates on it: once another replica has
taken the job over (the lease ran out while this process was paused or cut off), the old run's
writes match nothing and raise ``LeaseLostError`` instead of landing - one job, one writer.
"""

from __future__ import annotations

import enum
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import create_engine, event, func, or_, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from orchestrator.paths import state_dir
from orchestrator.store.models import CheckpointRow, EventRow, JobRow


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}


@dataclass(frozen=True)
class Job:
    id: str
    request_id: str | None
    source: str
    options: dict[str, Any]
    state: JobState
    stage: str | None
    progress: float
    message: str
    error: str | None
    out_dir: str | None
    created_at: datetime
    updated_at: datetime
    attempts: int = 0  # times a worker started it
    lease: str | None = None  # the token of the claim that runs it (running jobs only)
    owner: str | None = None  # the service (worker id) that claimed it last


@dataclass(frozen=True)
class Event:
    id: int
    job_id: str
    at: datetime
    stage: str
    progress: float
    message: str


def default_url() -> str:
    """``$SNAPCLIP_DATABASE_URL``, else a SQLite file in the environment's state folder."""
    return os.environ.get("SNAPCLIP_DATABASE_URL") or f"sqlite:///{state_dir() / 'jobs.db'}"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _job(row: JobRow) -> Job:
    return Job(id=row.id, request_id=row.request_id, source=row.source,
               options=json.loads(row.options), state=JobState(row.state), stage=row.stage,
               progress=row.progress, message=row.message, error=row.error,
               out_dir=row.out_dir, created_at=_aware(row.created_at),
               updated_at=_aware(row.updated_at), attempts=row.attempts or 0,
               lease=row.lease, owner=row.owner)


class UnknownJobError(KeyError):
    """No job has this id."""


class LeaseLostError(RuntimeError):
    """The run no longer holds the job: another replica took it over, or it was ended (e.g.
    cancelled). Nothing of the write was kept."""


@dataclass(frozen=True)
class LeaseStatus:
    """A running job as its runner's heartbeat finds it."""

    state: JobState
    held: bool  # the heartbeat's lease is still the job's: keep running


def _held(lease: str) -> Any:
    """The rows a run holding ``lease`` may still write: its job, running, on that lease."""
    return (JobRow.lease == lease) & (JobRow.state == JobState.RUNNING.value)


# PostgreSQL ends a session that sits inside a transaction, waiting for its client, this long
# (idle_in_transaction_session_timeout): a replica paused or cut off in the middle of one of our
# short transactions would otherwise hold its job's row lock, and the replica taking the job
# over would wait on it for as long as the pause lasts.
IDLE_IN_TRANSACTION_MS = 5000


class JobStore:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        backend = make_url(self.url).get_backend_name()  # "postgresql", "sqlite", ...
        self._engine: Engine = create_engine(self.url, pool_pre_ping=True, connect_args={
            "options": f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}",
        } if backend == "postgresql" else {})
        if backend == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
        self._session = sessionmaker(self._engine, expire_on_commit=False)

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to ``revision``, the newest by default (idempotent)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        location = resources.files("orchestrator.store").joinpath("migrations")
        config.set_main_option("script_location", str(location))
        with self._engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def close(self) -> None:
        self._engine.dispose()

    # --- jobs -----------------------------------------------------------------------------
    def submit(self, source: str, options: dict[str, Any], *, request_id: str | None = None
               ) -> tuple[Job, bool]:
        """Queue a job; returns (job, created). A known ``request_id`` returns its job."""
        if request_id:
            existing = self.by_request(request_id)
            if existing:
                return existing, False
        now = _now()
        row = JobRow(id=uuid.uuid4().hex, request_id=request_id or None, source=source,
                     options=json.dumps(options, sort_keys=True), state=JobState.QUEUED,
                     stage=None, progress=0.0, message="queued", error=None, out_dir=None,
                     created_at=now, updated_at=now)
        try:
            with self._session.begin() as session:
                session.add(row)
        except IntegrityError:  # the same request id, submitted concurrently
            existing = self.by_request(request_id) if request_id else None
            if existing is None:
                raise
            return existing, False
        return _job(row), True

    def by_request(self, request_id: str) -> Job | None:
        with self._session() as session:
            row = session.scalar(select(JobRow).where(JobRow.request_id == request_id))
            return _job(row) if row else None

    def get(self, job_id: str) -> Job:
        with self._session() as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise UnknownJobError(job_id)
            return _job(row)

    def list(self, *, page_size: int = 20, page_token: str = "",
             states: frozenset[JobState] | None = None) -> tuple[list[Job], str]:
        """Newest first; ``page_token`` is the last job id of the previous page ("" at end)."""
        query = select(JobRow).order_by(JobRow.created_at.desc(), JobRow.id.desc())
        if states:
            query = query.where(JobRow.state.in_([s.value for s in states]))
        with self._session() as session:
            if page_token:
                after = session.get(JobRow, page_token)
                if after is None:
                    raise UnknownJobError(page_token)
                query = query.where(
                    (JobRow.created_at < after.created_at)
                    | ((JobRow.created_at == after.created_at) & (JobRow.id < after.id)))
            rows = session.scalars(query.limit(page_size + 1)).all()
        jobs = [_job(r) for r in rows[:page_size]]
        return jobs, (jobs[-1].id if len(rows) > page_size else "")

    def ping(self) -> None:
        """Raise ``SQLAlchemyError`` unless the database answers a trivial query."""
        with self._session() as session:
            session.execute(select(1))

    def count_by_state(self) -> dict[JobState, int]:
        """How many jobs are in each state (every state present, zeros included)."""
        query = select(JobRow.state, func.count()).group_by(JobRow.state)
        with self._session() as session:
            counts = {JobState(state): n for state, n in session.execute(query)}
        return {state: counts.get(state, 0) for state in JobState}

    def set_state(self, job_id: str, state: JobState, *, message: str = "",
                  error: str | None = None, out_dir: str | None = None,
                  expect: frozenset[JobState] | None = None, lease: str | None = None) -> Job:
        """Move a job to ``state``; with ``expect``, only from one of those states; with
        ``lease``, only while that claim still runs it (compare-and-set).

        Returns the job as it is afterwards (unchanged when a condition did not match).
        """
        values: dict[str, Any] = {"state": state.value, "updated_at": _now()}
        if message:
            values["message"] = message
        if error is not None:
            values["error"] = error
        if out_dir is not None:
            values["out_dir"] = out_dir
        if state is JobState.SUCCEEDED:
            values["progress"] = 1.0
        if state is not JobState.RUNNING:
            values["lease"] = None  # whoever held it holds nothing now
        query = update(JobRow).where(JobRow.id == job_id)
        if expect:
            query = query.where(JobRow.state.in_([s.value for s in expect]))
        if lease is not None:
            query = query.where(_held(lease))
        with self._session.begin() as session:
            session.execute(query.values(**values))
        return self.get(job_id)

    # --- progress and checkpoints ---------------------------------------------------------
    def add_event(self, job_id: str, stage: str, progress: float, message: str, *,
                  lease: str | None = None) -> Event:
        """Record progress; with ``lease``, only while that claim still runs the job (else
        ``LeaseLostError`` and nothing is written)."""
        now = _now()
        row = EventRow(job_id=job_id, at=now, stage=stage, progress=progress, message=message)
        with self._session.begin() as session:
            _write_held(session, job_id, lease, progress=progress, message=message,
                        updated_at=now)
            session.add(row)
        return Event(row.id, job_id, now, stage, progress, message)

    def events(self, job_id: str, *, after: int = 0) -> list[Event]:
        query = (select(EventRow).where(EventRow.job_id == job_id, EventRow.id > after)
                 .order_by(EventRow.id))
        with self._session() as session:
            return [Event(r.id, r.job_id, _aware(r.at), r.stage, r.progress, r.message)
                    for r in session.scalars(query)]

    def checkpoint(self, job_id: str, stage: str, data: dict[str, Any], *,
                   lease: str | None = None, advance: bool = True) -> None:
        """Record that ``stage`` finished, with what a resumed job needs from it; with
        ``lease``, only while that claim still runs the job (else ``LeaseLostError``).

        ``advance`` makes ``stage`` the job's last finished stage (``Job.stage``); without
        it only the data is kept (a stage whose data arrives after a later stage finished).
        """
        now = _now()
        with self._session.begin() as session:
            held = {"stage": stage} if advance else {}
            _write_held(session, job_id, lease, updated_at=now, **held)
            row = session.scalar(select(CheckpointRow).where(
                CheckpointRow.job_id == job_id, CheckpointRow.stage == stage))
            if row is None:
                session.add(CheckpointRow(job_id=job_id, stage=stage, finished_at=now,
                                          data=json.dumps(data, sort_keys=True)))
            else:
                row.data, row.finished_at = json.dumps(data, sort_keys=True), now

    def checkpoints(self, job_id: str) -> dict[str, dict[str, Any]]:
        """Finished stages in the order they finished, with their data."""
        query = (select(CheckpointRow).where(CheckpointRow.job_id == job_id)
                 .order_by(CheckpointRow.finished_at, CheckpointRow.id))
        with self._session() as session:
            return {r.stage: json.loads(r.data) for r in session.scalars(query)}

    # --- leases: several service processes share one store ---------------------------------
    def claim(self, owner: str) -> Job | None:
        """Take the oldest queued job: it becomes ``running``, leased to ``owner`` under a
        fresh token (``Job.lease``) that the run's writes name.

        The update only matches a job still queued, so two workers (or two replicas) never
        take the same job.
        """
        query = (select(JobRow.id).where(JobRow.state == JobState.QUEUED.value)
                 .order_by(JobRow.created_at, JobRow.id).limit(8))
        with self._session() as session:
            candidates = session.scalars(query).all()
        for job_id in candidates:
            now = _now()
            with self._session.begin() as session:
                taken = session.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.state == JobState.QUEUED.value)
                    .values(state=JobState.RUNNING.value, owner=owner, heartbeat_at=now,
                            lease=uuid.uuid4().hex, attempts=JobRow.attempts + 1,
                            message="started", updated_at=now))
            if taken.rowcount == 1:
                return self.get(job_id)
        return None

    def heartbeat(self, leases: dict[str, str]) -> dict[str, LeaseStatus]:
        """Renew the leases ``{job id: token}`` a runner holds; returns each job's state and
        whether the lease is still held. A job cancelled through another replica, or taken
        over by one while this process was paused, is not held: its run must stop."""
        if not leases:
            return {}
        now = _now()
        with self._session.begin() as session:
            for job_id, lease in leases.items():
                session.execute(update(JobRow).where(JobRow.id == job_id, _held(lease))
                                .values(heartbeat_at=now))
            rows = session.execute(select(JobRow.id, JobRow.state, JobRow.lease).where(
                JobRow.id.in_(list(leases)))).all()
        return {job_id: LeaseStatus(JobState(state), state == JobState.RUNNING.value
                                    and token == leases[job_id])
                for job_id, state, token in rows}

    def release(self, job_id: str, lease: str, message: str) -> Job:
        """Hand a job back to the queue while its claim ``lease`` still runs it (its process
        is stopping on purpose): queued again at once, and the interrupted start does not
        count as an attempt. Returns the job as it is afterwards."""
        with self._session.begin() as session:
            session.execute(update(JobRow).where(JobRow.id == job_id, _held(lease)).values(
                state=JobState.QUEUED.value, message=message, heartbeat_at=None, lease=None,
                owner=None, attempts=JobRow.attempts - 1, updated_at=_now()))
        return self.get(job_id)

    def recover(self, *, lease_s: float, max_attempts: int, owner: str | None = None
                ) -> tuple[list[Job], list[Job]]:
        """Running jobs that nobody runs any more -> (requeued, failed).

        Those are jobs whose lease was not renewed for ``lease_s`` (their process died) and,
        given ``owner`` (a service that just started), the jobs it held before it restarted.
        Each goes back to the queue, to resume from its last finished stage (its checkpoints),
        unless it has already been started ``max_attempts`` times: then it ends failed with
        the reason, so a job that brings its process down cannot loop forever. Either way it
        is never silently lost.

        Each take-back is a compare-and-set on the lease it found stale: a run that renewed
        its lease in the meantime keeps its job.
        """
        stale = _now() - timedelta(seconds=lease_s)
        orphaned = or_(JobRow.owner.is_(None), JobRow.heartbeat_at.is_(None),
                       JobRow.heartbeat_at < stale,
                       *([JobRow.owner == owner] if owner is not None else []))
        query = select(JobRow.id, JobRow.lease).where(
            JobRow.state == JobState.RUNNING.value, orphaned)
        with self._session() as session:
            orphans = session.execute(query).all()
        requeued, failed = [], []
        for job_id, lease in orphans:
            job = self.get(job_id)
            if job.attempts >= max_attempts:
                reason = (f"interrupted {job.attempts} times (the service stopped while it "
                          "ran); not started again")
                values: dict[str, Any] = {"state": JobState.FAILED.value, "error": reason,
                                          "message": reason}
                target = failed
            else:
                resume = f"resumes after {job.stage}" if job.stage else "starts again"
                values = {"state": JobState.QUEUED.value,
                          "message": f"interrupted by a service restart; {resume}",
                          "owner": None, "heartbeat_at": None}
                target = requeued
            same_lease = JobRow.lease.is_(None) if lease is None else JobRow.lease == lease
            with self._session.begin() as session:
                taken = session.execute(update(JobRow).where(
                    JobRow.id == job_id, JobRow.state == JobState.RUNNING.value, same_lease,
                    orphaned).values(lease=None, updated_at=_now(), **values))
            if taken.rowcount == 1:
                target.append(self.get(job_id))
        return requeued, failed


def _write_held(session: Any, job_id: str, lease: str | None, **values: Any) -> None:
    """Update the job row with ``values`` in ``session``'s transaction; with ``lease``, only
    while that claim runs the job - else raise ``LeaseLostError`` (the transaction is rolled
    back with whatever else it wrote)."""
    query = update(JobRow).where(JobRow.id == job_id)
    if lease is not None:
        query = query.where(_held(lease))
    if session.execute(query.values(**values)).rowcount != 1 and lease is not None:
        raise LeaseLostError(job_id)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
