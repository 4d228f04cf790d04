"""Faults injected into the real components while jobs run: a replica paused past its lease,
PostgreSQL stopped and started again, Triton gone mid-job, the service SIGKILLed while it
renders, and a full jobs folder. No job is lost, none is run to completion twice, and no
half-written output is ever visible. The README's "What happens when..." table says the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from orchestrator.proto import load
from orchestrator.store import JobState, JobStore
from tests.postgres import PostgresServer, postgres_instance
from tests.service import Service, serving, short_talk, wait_for
from tests.support import TcpProxy

pytestmark = pytest.mark.integration
pb, pb_grpc = load()
LEASE = ("--lease-seconds", "3")  # renewed every 0.5 s; taken over 3 s after it stops


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return short_talk(tmp_path_factory.mktemp("talk"))


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with postgres_instance() as server:
        yield server


def options() -> object:
    return pb.RunOptions(clips=1, min_len_s=5, max_len_s=12)


@contextlib.contextmanager
def stub_of(service: Service) -> Iterator[object]:
    with grpc.insecure_channel(service.grpc) as channel:
        yield pb_grpc.HighlightsStub(channel)


def job_in(url: str, job_id: str):
    store = JobStore(url)
    try:
        return store.get(job_id)
    finally:
        store.close()


def finished(url: str, job_id: str) -> bool:
    with contextlib.suppress(Exception):
        return job_in(url, job_id).state.finished
    return False


def test_a_replica_paused_past_its_lease_stops_without_writing(
        grpc_url: str, talk: Path, tmp_path: Path, postgres: PostgresServer):
    """Two services on one PostgreSQL and one jobs folder. A is paused (SIGSTOP) while it runs
    a job; B takes the job over when A's lease runs out; A is resumed. Exactly one run
    finishes: B's. A learns that it lost the lease and writes nothing more."""
    jobs = tmp_path / "shared"
    with serving(grpc_url, tmp_path / "a", *LEASE, "--concurrency", "1", "--jobs-dir",
                 str(jobs), database_url=postgres.url,
                 env={"SNAPCLIP_WORKER_ID": "replica-a"}) as a:
        with stub_of(a) as stub:
            job = stub.Submit(pb.SubmitRequest(source=str(talk), options=options()))
            wait_for(lambda: job_in(postgres.url, job.id).stage in {"asr", "moments"}, 300,
                     "A transcribed the talk")
        a.proc.send_signal(signal.SIGSTOP)
        try:
            with serving(grpc_url, tmp_path / "b", *LEASE, "--concurrency", "1",
                         "--jobs-dir", str(jobs), database_url=postgres.url,
                         env={"SNAPCLIP_WORKER_ID": "replica-b"}) as b:
                wait_for(lambda: job_in(postgres.url, job.id).owner == "replica-b", 60,
                         "B took the job over")
                a.proc.send_signal(signal.SIGCONT)
                wait_for(lambda: finished(postgres.url, job.id), 600, "the job ended")
                wait_for(lambda: "stopped without writing" in a.log.read_text(), 60,
                         f"A noticed the lost lease:\n{a.log.read_text()[-3000:]}")
                final = job_in(postgres.url, job.id)
                assert final.state is JobState.SUCCEEDED, final.error
                assert json.loads((jobs / job.id / "manifest.json").read_text())["clips"]
                assert not list(jobs.glob(f".{job.id}.*"))  # no staging left by either
                wait_for(lambda: '"job succeeded' in b.log.read_text(), 30, "B logged it")
        finally:
            a.proc.send_signal(signal.SIGCONT)
    assert '"job succeeded' not in a.log.read_text()  # A never finished it a second time
    assert a.log.read_text().count("lease lost") + a.log.read_text().count(
        "another replica runs this job") >= 1


def test_postgres_stopped_and_started_again_loses_no_job(
        grpc_url: str, talk: Path, tmp_path: Path, postgres: PostgresServer):
    """The database goes away for a while (a failover) as jobs run and wait: the service
    reports not ready, its workers survive, and when the database is back every job ends
    succeeded - none lost, none left running."""
    with serving(grpc_url, tmp_path, *LEASE, "--concurrency", "1",
                 database_url=postgres.url) as svc:
        with stub_of(svc) as stub:
            ids = [stub.Submit(pb.SubmitRequest(source=str(talk), options=options())).id
                   for _ in range(2)]
        wait_for(lambda: job_in(postgres.url, ids[0]).state is JobState.RUNNING, 60,
                 "the first job runs")
        postgres.stop()
        down = time.monotonic()
        try:
            wait_for(lambda: httpx.get(f"{svc.http}/readyz").status_code == 503, 30,
                     "readiness follows the store")
            time.sleep(4)  # workers meet the outage while they claim and report
        finally:
            postgres.start()
        back = time.monotonic()
        wait_for(lambda: httpx.get(f"{svc.http}/readyz").status_code == 200, 60,
                 "ready again")
        wait_for(lambda: all(finished(postgres.url, i) for i in ids), 900, "both jobs ended")
        recovered = time.monotonic() - back
        jobs = [job_in(postgres.url, i) for i in ids]
        assert [j.state for j in jobs] == [JobState.SUCCEEDED] * 2, [j.error for j in jobs]
        health = httpx.get(f"{svc.http}/healthz").json()
        assert health["workers"].startswith("2/2 alive"), health  # 1 worker + the heartbeat
        metrics = httpx.get(svc.metrics).text
        assert "snapclip_store_errors_total" in metrics
        print(f"database down {back - down:.1f} s; both jobs done {recovered:.1f} s after "
              "it came back")


def test_triton_gone_mid_job_fails_it_with_the_reason(grpc_url: str, talk: Path,
                                                      tmp_path: Path):
    """Triton disappears while a job runs (its connections cut, new ones refused): the job
    ends failed with a reason that names Triton, and the service keeps serving."""
    with TcpProxy(grpc_url) as proxy, serving(proxy.address, tmp_path) as svc, \
            stub_of(svc) as stub:
        job = stub.Submit(pb.SubmitRequest(source=str(talk), options=options()))
        wait_for(lambda: stub.Get(pb.GetRequest(job_id=job.id)).state == pb.RUNNING, 60,
                 "the job runs")
        time.sleep(1.0)
        proxy.kill()
        final = list(stub.Watch(pb.WatchRequest(job_id=job.id), timeout=300))[-1].result
        assert final.state == pb.FAILED
        assert "Triton" in final.error or "triton" in final.error, final.error
        assert "Traceback" not in final.error and len(final.error.splitlines()) == 1
        assert not (svc.jobs / job.id).exists() and not list(svc.jobs.glob(".*partial*"))
        assert httpx.get(f"{svc.http}/healthz").status_code == 200


def test_the_service_killed_while_it_renders_resumes_and_shows_no_half_output(
        grpc_url: str, talk: Path, tmp_path: Path):
    with serving(grpc_url, tmp_path) as svc, stub_of(svc) as stub:
        job = stub.Submit(pb.SubmitRequest(source=str(talk), options=options()))
        wait_for(lambda: stub.Get(pb.GetRequest(job_id=job.id)).stage == "select", 600,
                 "rendering began")
        svc.proc.kill()
        svc.proc.wait()
        killed = time.monotonic()
    assert not (svc.jobs / job.id).exists()  # only a hidden staging folder, if anything
    with serving(grpc_url, tmp_path) as svc, stub_of(svc) as stub:
        final = list(stub.Watch(pb.WatchRequest(job_id=job.id), timeout=600))[-1].result
        assert final.state == pb.SUCCEEDED, final.error
        assert not list(svc.jobs.glob(".*partial*"))
        assert (svc.jobs / job.id / "clip_01.mp4").is_file()
        print(f"killed while rendering; done {time.monotonic() - killed:.1f} s later")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs as the jobs folder (root may mount; elsewhere the test is skipped)."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                             capture_output=True, check=False)
    if mounted.returncode != 0 or os.geteuid() != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_jobs_folder_fails_the_job_and_the_service_keeps_serving(
        grpc_url: str, talk: Path, tmp_path: Path, small_disk: Path):
    ballast = small_disk / "ballast"
    with serving(grpc_url, tmp_path, "--jobs-dir", str(small_disk)) as svc, \
            stub_of(svc) as stub:
        ballast.write_bytes(b"\0" * (2 * 1024 * 1024 - 64 * 1024))
        job = stub.Submit(pb.SubmitRequest(source=str(talk), options=options()))
        final = list(stub.Watch(pb.WatchRequest(job_id=job.id), timeout=600))[-1].result
        assert final.state == pb.FAILED
        assert "no space left" in final.error.lower(), final.error
        assert not (small_disk / job.id).exists() and not list(small_disk.glob(".*partial*"))
        ballast.unlink()  # space again: the next job runs
        again = stub.Submit(pb.SubmitRequest(source=str(talk), options=options()))
        final = list(stub.Watch(pb.WatchRequest(job_id=again.id), timeout=600))[-1].result
        assert final.state == pb.SUCCEEDED, final.error
