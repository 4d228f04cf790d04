"""``snapclip serve`` over gRPC against the local Triton: jobs end to end, reflection, health."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from orchestrator.proto import load
from orchestrator.synth import make_video, speak
from orchestrator.triton_local import LocalTriton
from tests.support import SENTENCES, SNAPCLIP

pytestmark = pytest.mark.integration
pb, pb_grpc = load()


@contextlib.contextmanager
def serving(triton_url: str, folder: Path, *extra: str, env: dict[str, str] | None = None
            ) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``snapclip serve`` on ``folder``'s store and jobs; yields (address, process)."""
    errlog = folder / f"stderr-{time.monotonic_ns()}.txt"
    with errlog.open("w") as err:
        proc = subprocess.Popen(
            [SNAPCLIP, "serve", "--grpc-port", "0", "--triton", triton_url, "--jobs-dir",
             str(folder / "jobs"), "--database-url", f"sqlite:///{folder / 'jobs.db'}", *extra],
            stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"gRPC 127\.0\.0\.1:(\d+)", errlog.read_text())):
            assert proc.poll() is None, errlog.read_text()
            assert time.monotonic() < deadline, errlog.read_text()
            time.sleep(0.2)
        yield f"127.0.0.1:{found.group(1)}", proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=60) == 0, errlog.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def service(grpc_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A running ``snapclip serve``: (its gRPC address, its jobs folder)."""
    folder = tmp_path_factory.mktemp("service")
    with serving(grpc_url, folder) as (address, _):
        yield address, folder / "jobs"


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("talk")
    speech = speak(". ".join(SENTENCES[:4]) + ".", folder / "talk.wav")
    return make_video(speech, folder / "talk.mp4", size="320x180", fps=10)


@pytest.fixture
def stub(service: tuple[str, Path]) -> Iterator[object]:
    with grpc.insecure_channel(service[0]) as channel:
        yield pb_grpc.HighlightsStub(channel)


def options() -> object:
    return pb.RunOptions(clips=1, min_len_s=5, max_len_s=12)


def test_submit_watch_get_end_to_end(stub, talk: Path, service: tuple[str, Path]):
    job = stub.Submit(pb.SubmitRequest(source=str(talk), options=options(), request_id="e2e"))
    assert job.state == pb.QUEUED and job.id
    events = list(stub.Watch(pb.WatchRequest(job_id=job.id), timeout=600))
    final = events[-1]
    assert final.HasField("result") and final.result.state == pb.SUCCEEDED, final
    order = ["ingest", "asr", "moments", "select", "render"]
    seen = [e.stage for e in events if e.stage in order]
    first = sorted(set(seen), key=seen.index)
    assert first == order, seen
    progress = [e.progress for e in events[:-1]]
    assert progress == sorted(progress) and progress[-1] <= 1.0
    got = stub.Get(pb.GetRequest(job_id=job.id))
    manifest = __import__("json").loads(got.manifest_json)
    assert manifest["schema"] == "snapclip.manifest/v1" and len(manifest["clips"]) == 1
    assert (service[1] / job.id / manifest["clips"][0]["file"]).is_file()
    again = stub.Submit(pb.SubmitRequest(source="other.mp4", request_id="e2e"))
    assert again.id == job.id  # the request id makes Submit idempotent
    listed = stub.List(pb.ListRequest(page_size=10))
    assert job.id in [j.id for j in listed.jobs]


def test_errors_map_to_status_codes(stub, talk: Path):
    with pytest.raises(grpc.RpcError) as missing:
        stub.Get(pb.GetRequest(job_id="nope"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    bad = pb.RunOptions(aspect="4:3")
    with pytest.raises(grpc.RpcError) as invalid:
        stub.Submit(pb.SubmitRequest(source=str(talk), options=bad))
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_bad_source_fails_the_job_with_its_reason(stub, tmp_path: Path):
    job = stub.Submit(pb.SubmitRequest(source=str(tmp_path / "missing.mp4"), options=options()))
    final = list(stub.Watch(pb.WatchRequest(job_id=job.id), timeout=120))[-1]
    assert final.result.state == pb.FAILED and "no such file" in final.result.error


def test_cancel_a_job(stub, talk: Path, service: tuple[str, Path]):
    job = stub.Submit(pb.SubmitRequest(source=str(talk), options=options()))
    cancelled = stub.Cancel(pb.CancelRequest(job_id=job.id))
    assert cancelled.state == pb.CANCELLED
    final = list(stub.Watch(pb.WatchRequest(job_id=job.id), timeout=60))[-1]
    assert final.result.state == pb.CANCELLED
    time.sleep(1)
    assert not (service[1] / job.id).exists()


def test_reflection_and_health(service: tuple[str, Path]):
    with grpc.insecure_channel(service[0]) as channel:
        services = ProtoReflectionDescriptorDatabase(channel).get_services()
        assert "snapclip.v1.Highlights" in services and "grpc.health.v1.Health" in services
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 20
        while True:
            status = health.Check(health_pb2.HealthCheckRequest(
                service="snapclip.v1.Highlights")).status
            if status == health_pb2.HealthCheckResponse.SERVING:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.5)


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def test_health_follows_triton(tmp_path: Path):
    with LocalTriton(models=["whisper"]) as triton:
        assert triton.endpoints is not None
        with serving(triton.endpoints.grpc, tmp_path) as (address, _), \
                grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)

            def status() -> int:
                return health.Check(health_pb2.HealthCheckRequest(service="")).status

            wait_for(lambda: status() == health_pb2.HealthCheckResponse.SERVING, 20, "SERVING")
            triton.stop()
            wait_for(lambda: status() == health_pb2.HealthCheckResponse.NOT_SERVING, 30,
                     "NOT_SERVING after Triton stopped")


def test_three_run_at_once_and_a_fourth_waits(grpc_url: str, talk: Path, tmp_path: Path):
    with serving(grpc_url, tmp_path, "--concurrency", "3") as (address, _), \
            grpc.insecure_channel(address) as channel:
        stub = pb_grpc.HighlightsStub(channel)
        ids = [stub.Submit(pb.SubmitRequest(source=str(talk), options=options())).id
               for _ in range(4)]

        def states() -> list[int]:
            return [stub.Get(pb.GetRequest(job_id=i)).state for i in ids]

        wait_for(lambda: states().count(pb.RUNNING) == 3, 60, "three running")
        assert states()[3] == pb.QUEUED  # beyond the limit: waits
        finals = [list(stub.Watch(pb.WatchRequest(job_id=i), timeout=900))[-1] for i in ids]
        errors = [f.result.error for f in finals]
        assert [f.result.state for f in finals] == [pb.SUCCEEDED] * 4, errors


def test_a_job_interrupted_by_a_restart_is_not_lost(grpc_url: str, talk: Path, tmp_path: Path):
    with serving(grpc_url, tmp_path) as (address, proc), \
            grpc.insecure_channel(address) as channel:
        stub = pb_grpc.HighlightsStub(channel)
        job = stub.Submit(pb.SubmitRequest(source=str(talk), options=options()))
        wait_for(lambda: stub.Get(pb.GetRequest(job_id=job.id)).stage != "", 120,
                 "a stage finished")
        proc.kill()  # no clean shutdown
        proc.wait()
    with serving(grpc_url, tmp_path) as (address, _), grpc.insecure_channel(address) as channel:
        stub = pb_grpc.HighlightsStub(channel)
        final = list(stub.Watch(pb.WatchRequest(job_id=job.id), timeout=600))[-1].result
        assert final.state in (pb.SUCCEEDED, pb.FAILED)
        if final.state == pb.FAILED:
            assert "service stopped" in final.error


def test_token_guards_the_api_but_not_health(grpc_url: str, tmp_path: Path):
    env = {"SNAPCLIP_API_TOKEN": "s3cret-token"}
    with serving(grpc_url, tmp_path, env=env) as (address, _), \
            grpc.insecure_channel(address) as channel:
        stub = pb_grpc.HighlightsStub(channel)
        for metadata in ((), (("authorization", "Bearer wrong"),),
                         (("authorization", "s3cret-token"),)):
            with pytest.raises(grpc.RpcError) as refused:
                stub.Get(pb.GetRequest(job_id="x"), metadata=metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as refused_stream:
                list(stub.Watch(pb.WatchRequest(job_id="x"), metadata=metadata))
            assert refused_stream.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as passed:
            stub.Get(pb.GetRequest(job_id="x"),
                     metadata=(("authorization", "Bearer s3cret-token"),))
        assert passed.value.code() == grpc.StatusCode.NOT_FOUND  # past the guard
        health = health_pb2_grpc.HealthStub(channel)
        health.Check(health_pb2.HealthCheckRequest(service=""))  # no token needed
