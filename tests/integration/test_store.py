"""The job store on SQLite and on a real PostgreSQL: the same tests against both."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from orchestrator.store import JobState, JobStore
from orchestrator.store.jobs import LeaseLostError, LeaseStatus, UnknownJobError
from tests.postgres import postgres_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    """An empty, migrated store: a SQLite file, or a new database on the PostgreSQL server."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'jobs.db'}"
        else:
            url = stack.enter_context(_database(request.getfixturevalue("postgres_url")))
        store = JobStore(url)
        stack.callback(store.close)
        store.migrate()
        store.migrate()  # idempotent
        yield store


@contextlib.contextmanager
def _database(server_url: str) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
        yield server_url.rsplit("/", 1)[0] + "/" + name
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE {quoted} WITH (FORCE)"))
    finally:
        admin.dispose()


def test_submit_get_and_idempotent_request_id(store: JobStore):
    job, created = store.submit("talk.mp4", {"clips": 3}, request_id="req-1")
    assert created and job.state is JobState.QUEUED and job.options == {"clips": 3}
    again, created_again = store.submit("other.mp4", {}, request_id="req-1")
    assert not created_again and again.id == job.id and again.source == "talk.mp4"
    assert store.get(job.id) == job
    with pytest.raises(UnknownJobError):
        store.get("nope")


def test_concurrent_submits_with_one_request_id_make_one_job(store: JobStore):
    ids: list[str] = []

    def submit() -> None:
        ids.append(store.submit("v.mp4", {}, request_id="same")[0].id)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1


def test_list_pages_newest_first(store: JobStore):
    made = [store.submit(f"v{i}.mp4", {})[0].id for i in range(5)]
    first, token = store.list(page_size=2)
    second, token2 = store.list(page_size=2, page_token=token)
    third, end = store.list(page_size=2, page_token=token2)
    listed = [j.id for j in first + second + third]
    assert listed == made[::-1] and end == ""
    done = store.set_state(made[0], JobState.SUCCEEDED)
    assert done.progress == 1.0
    only, _ = store.list(states=frozenset({JobState.SUCCEEDED}))
    assert [j.id for j in only] == [made[0]]


def test_events_and_checkpoints(store: JobStore):
    job, _ = store.submit("v.mp4", {})
    store.set_state(job.id, JobState.RUNNING)
    first = store.add_event(job.id, "asr", 0.3, "transcribing")
    store.add_event(job.id, "asr", 0.5, "half way")
    assert [e.message for e in store.events(job.id)] == ["transcribing", "half way"]
    assert [e.message for e in store.events(job.id, after=first.id)] == ["half way"]
    store.checkpoint(job.id, "ingest", {"path": "/x"})
    store.checkpoint(job.id, "asr", {"transcript": "t.json"})
    store.checkpoint(job.id, "asr", {"transcript": "t2.json"})  # a rerun overwrites
    assert store.checkpoints(job.id) == {"ingest": {"path": "/x"},
                                         "asr": {"transcript": "t2.json"}}
    current = store.get(job.id)
    assert current.stage == "asr" and current.progress == 0.5
    store.checkpoint(job.id, "ingest", {"path": "/y"}, advance=False)  # data that came late
    assert store.get(job.id).stage == "asr" and store.checkpoints(job.id)["ingest"] == {
        "path": "/y"}


def test_expected_state_guards_transitions(store: JobStore):
    job, _ = store.submit("v.mp4", {})
    store.set_state(job.id, JobState.CANCELLED)
    after = store.set_state(job.id, JobState.RUNNING, expect=frozenset({JobState.QUEUED}))
    assert after.state is JobState.CANCELLED


def test_claims_take_the_oldest_queued_job_once(store: JobStore):
    first, _ = store.submit("a.mp4", {})
    second, _ = store.submit("b.mp4", {})
    cancelled, _ = store.submit("c.mp4", {})
    store.set_state(cancelled.id, JobState.CANCELLED)
    taken: list[str] = []

    def claim(owner: str) -> None:
        job = store.claim(owner)
        if job is not None:
            taken.append(job.id)

    workers = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(taken) == sorted([first.id, second.id])  # each once, never the cancelled
    job = store.get(first.id)
    assert job.state is JobState.RUNNING and job.attempts == 1
    assert store.claim("w9") is None


def test_recover_takes_back_orphans_and_fails_repeated_ones(store: JobStore):
    mine, _ = store.submit("a.mp4", {})
    elsewhere, _ = store.submit("b.mp4", {})
    dead, _ = store.submit("c.mp4", {})
    looping, _ = store.submit("d.mp4", {})
    finished, _ = store.submit("e.mp4", {})
    leases = {}
    for job, owner in ((mine, "me"), (elsewhere, "alive"), (dead, "gone"), (looping, "me")):
        claimed = store.claim(owner)
        assert claimed.id == job.id
        leases[job.id] = claimed.lease
    for _ in range(2):  # looping was started three times in all
        store.set_state(looping.id, JobState.QUEUED)
        store.claim("me")
    store.checkpoint(mine.id, "asr", {"transcript": {}})
    store.set_state(finished.id, JobState.SUCCEEDED)
    time.sleep(1.2)
    assert store.heartbeat({elsewhere.id: leases[elsewhere.id]}) == {
        elsewhere.id: LeaseStatus(JobState.RUNNING, held=True)}
    assert store.recover(lease_s=60, max_attempts=3) == ([], [])  # every lease is fresh
    requeued, failed = store.recover(owner="me", lease_s=1.0, max_attempts=3)
    assert {j.id for j in requeued} == {mine.id, dead.id}
    assert all(j.state is JobState.QUEUED for j in requeued)
    assert "resumes after asr" in store.get(mine.id).message
    (lost,) = failed
    assert lost.id == looping.id and lost.state is JobState.FAILED
    assert "interrupted 3 times" in (lost.error or "")
    assert store.get(elsewhere.id).state is JobState.RUNNING  # its lease is fresh
    assert store.get(finished.id).state is JobState.SUCCEEDED
    assert store.claim("me").id == mine.id and store.get(mine.id).attempts == 2


def test_counts_by_state(store: JobStore):
    job, _ = store.submit("a.mp4", {})
    store.submit("b.mp4", {})
    store.set_state(job.id, JobState.FAILED)
    counts = store.count_by_state()
    assert counts[JobState.QUEUED] == 1 and counts[JobState.FAILED] == 1
    assert counts[JobState.SUCCEEDED] == 0 and set(counts) == set(JobState)



@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_keep_existing_jobs(backend: str, request: pytest.FixtureRequest,
                                       tmp_path: Path):
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'old.db'}" if backend == "sqlite" else
               stack.enter_context(_database(request.getfixturevalue("postgres_url"))))
        old = JobStore(url)
        stack.callback(old.close)
        old.migrate("0001")  # a store made before job leases existed
        engine = sa.create_engine(url)
        stack.callback(engine.dispose)
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO jobs (id, source, options, state, progress, message, created_at, "
                "updated_at) VALUES ('old1', 'a.mp4', '{}', 'queued', 0, 'queued', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        old.migrate()
        job = old.get("old1")
        assert job.state is JobState.QUEUED and job.attempts == 0
        assert old.claim("me").id == "old1"


def test_release_hands_a_job_back_without_counting_the_attempt(store: JobStore):
    job, _ = store.submit("a.mp4", {})
    claimed = store.claim("me")
    assert claimed.attempts == 1 and claimed.lease
    assert store.release(job.id, "not-the-lease", "stopping").state is JobState.RUNNING
    back = store.release(job.id, claimed.lease, "stopping")
    assert back.state is JobState.QUEUED and back.attempts == 0 and back.message == "stopping"
    assert back.lease is None
    assert store.claim("other").attempts == 1


def test_a_run_whose_lease_was_taken_over_writes_nothing(store: JobStore):
    """Replica A is paused past its lease; B takes the job over. A's heartbeat, events,
    checkpoints, end state and hand-back all fail or match nothing; B's land."""
    job, _ = store.submit("a.mp4", {})
    a = store.claim("replica-a")
    store.checkpoint(job.id, "asr", {"transcript": {}}, lease=a.lease)
    time.sleep(1.2)  # A is paused: no heartbeat
    requeued, _ = store.recover(lease_s=1.0, max_attempts=3)
    assert [j.id for j in requeued] == [job.id] and requeued[0].lease is None
    b = store.claim("replica-b")
    assert b.id == job.id and b.lease != a.lease and b.attempts == 2

    # A resumes.
    assert store.heartbeat({job.id: a.lease}) == {job.id: LeaseStatus(JobState.RUNNING, False)}
    events_before = len(store.events(job.id))
    with pytest.raises(LeaseLostError):
        store.add_event(job.id, "render", 0.9, "A renders", lease=a.lease)
    with pytest.raises(LeaseLostError):
        store.checkpoint(job.id, "moments", {"candidates": ["from A"]}, lease=a.lease)
    assert len(store.events(job.id)) == events_before and "moments" not in store.checkpoints(
        job.id)
    after = store.set_state(job.id, JobState.SUCCEEDED, out_dir="/from/a", lease=a.lease,
                            expect=frozenset({JobState.RUNNING}))
    assert after.state is JobState.RUNNING and after.out_dir is None
    assert store.release(job.id, a.lease, "A stops").state is JobState.RUNNING

    # B goes on and finishes.
    assert store.heartbeat({job.id: b.lease})[job.id].held
    store.add_event(job.id, "render", 0.9, "B renders", lease=b.lease)
    done = store.set_state(job.id, JobState.SUCCEEDED, out_dir="/from/b", lease=b.lease)
    assert done.state is JobState.SUCCEEDED and done.out_dir == "/from/b" and done.lease is None
    assert [e.message for e in store.events(job.id)][-1] == "B renders"


def test_recover_does_not_take_a_job_whose_lease_was_renewed_meanwhile(
        store: JobStore, monkeypatch: pytest.MonkeyPatch):
    """The take-back is a compare-and-set on the stale lease it found: a job that changed
    hands between recover's look and its update stays with its new run."""
    job, _ = store.submit("a.mp4", {})
    first = store.claim("replica-a")
    time.sleep(1.2)
    taken_over: list[str] = []
    get = store.get

    def get_while_another_takes_it(job_id: str):  # recover reads the job between the two
        if not taken_over:
            taken_over.append("")
            store.release(job_id, first.lease, "handed back")
            taken_over[0] = store.claim("replica-b").lease or ""
        return get(job_id)

    monkeypatch.setattr(store, "get", get_while_another_takes_it)
    requeued, failed = store.recover(lease_s=1.0, max_attempts=3)
    assert taken_over and (requeued, failed) == ([], [])
    monkeypatch.undo()
    after = store.get(job.id)
    assert after.state is JobState.RUNNING and after.lease == taken_over[0]


def test_a_cancelled_job_takes_its_lease_away(store: JobStore):
    job, _ = store.submit("a.mp4", {})
    claimed = store.claim("me")
    store.set_state(job.id, JobState.CANCELLED, expect=frozenset({JobState.RUNNING}))
    assert store.heartbeat({job.id: claimed.lease}) == {
        job.id: LeaseStatus(JobState.CANCELLED, False)}
    with pytest.raises(LeaseLostError):
        store.add_event(job.id, "render", 0.5, "still going", lease=claimed.lease)
    after = store.set_state(job.id, JobState.SUCCEEDED, lease=claimed.lease)
    assert after.state is JobState.CANCELLED


def test_a_replica_paused_inside_a_transaction_does_not_hold_up_the_take_over(
        postgres_url: str):
    """A replica stopped (SIGSTOP, a VM freeze, a cut network) between two statements of a
    transaction keeps its job's row locked; PostgreSQL ends that session after
    IDLE_IN_TRANSACTION_MS, so the replica taking the job over waits seconds, not forever."""
    from orchestrator.store.jobs import IDLE_IN_TRANSACTION_MS
    from orchestrator.store.models import JobRow

    with _database(postgres_url) as url:
        a, b = JobStore(url), JobStore(url)
        b.migrate()
        job, _ = b.submit("v.mp4", {})
        assert a.claim("replica-a") is not None
        paused = a._engine.connect()
        try:
            paused.begin()
            paused.execute(sa.update(JobRow).where(JobRow.id == job.id).values(message="a"))
            time.sleep(1.0)  # the lease (0.5 s below) runs out; the row stays locked
            found: list = []
            start = time.monotonic()
            taker = threading.Thread(target=lambda: found.append(
                b.recover(lease_s=0.5, max_attempts=3)), daemon=True)
            taker.start()
            taker.join(timeout=IDLE_IN_TRANSACTION_MS / 1000 + 20)
            waited = time.monotonic() - start
            assert not taker.is_alive(), "the take-over waited on the paused replica's lock"
            requeued, failed = found[0]
            assert [j.id for j in requeued] == [job.id] and not failed
            assert waited >= IDLE_IN_TRANSACTION_MS / 1000 - 1  # it did wait for the lock
        finally:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                paused.close()  # (its session was ended by the server)
            a.close()
            b.close()
