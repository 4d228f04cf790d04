"""The job store on SQLite and on a real PostgreSQL: the same tests against both."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from orchestrator.store import JobState, JobStore
from orchestrator.store.jobs import UnknownJobError
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


def test_expected_state_guards_transitions(store: JobStore):
    job, _ = store.submit("v.mp4", {})
    store.set_state(job.id, JobState.CANCELLED)
    after = store.set_state(job.id, JobState.RUNNING, expect=frozenset({JobState.QUEUED}))
    assert after.state is JobState.CANCELLED


def test_recover_requeues_resumable_and_fails_the_rest(store: JobStore):
    fresh, _ = store.submit("a.mp4", {})
    resumable, _ = store.submit("b.mp4", {})
    stuck, _ = store.submit("c.mp4", {})
    finished, _ = store.submit("d.mp4", {})
    for job in (fresh, resumable, stuck):
        store.set_state(job.id, JobState.RUNNING)
    store.checkpoint(resumable.id, "asr", {})
    store.checkpoint(stuck.id, "render", {})
    store.set_state(finished.id, JobState.SUCCEEDED)
    requeued, failed = store.recover(resumable=frozenset({"ingest", "asr"}),
                                     reason="interrupted while rendering; run it again")
    assert {j.id for j in requeued} == {fresh.id, resumable.id}
    assert all(j.state is JobState.QUEUED for j in requeued)
    (lost,) = failed
    assert lost.id == stuck.id and lost.state is JobState.FAILED
    assert lost.error == "interrupted while rendering; run it again"
    assert store.get(finished.id).state is JobState.SUCCEEDED
