"""``snapclip serve`` over gRPC against the local Triton: jobs end to end, reflection, health."""

from __future__ import annotations

import json
import signal
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
from orchestrator.serving.local import LocalTriton
from orchestrator.store import JobState, JobStore
from tests.service import Service, serving, short_talk, wait_for

pytestmark = pytest.mark.integration
pb, pb_grpc = load()


@pytest.fixture(scope="module")
def service(grpc_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with serving(grpc_url, tmp_path_factory.mktemp("service")) as running:
        yield running


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return short_talk(tmp_path_factory.mktemp("talk"))


@pytest.fixture
def stub(service: Service) -> Iterator[object]:
    with grpc.insecure_channel(service.grpc) as channel:
        yield pb_grpc.HighlightsStub(channel)


def options() -> object:
    return pb.RunOptions(clips=1, min_len_s=5, max_len_s=12)


def test_submit_watch_get_end_to_end(stub, talk: Path, service: Service):
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
    (ready,) = [e for e in events if e.HasField("clip")]
    assert ready.stage == "clip_ready" and ready.clip.file == "clip_01.mp4"
    assert events.index(ready) < len(events) - 2  # before the render stage's last word
    got = stub.Get(pb.GetRequest(job_id=job.id))
    manifest = json.loads(got.manifest_json)
    assert manifest["schema"] == "snapclip.manifest/v1" and len(manifest["clips"]) == 1
    assert (service.jobs / job.id / manifest["clips"][0]["file"]).is_file()
    # One clip rendered again in another aspect: the same span, the manifest's revision 2.
    clip = manifest["clips"][0]
    edited = stub.RenderClip(pb.RenderClipRequest(job_id=job.id, rank=1,
                                                  edit=pb.ClipEdit(aspect="16:9")))
    after = json.loads(edited.manifest_json)["clips"][0]
    assert (after["revision"], after["start_s"], after["end_s"]) == (
        2, clip["start_s"], clip["end_s"])
    assert after["renditions"] == {"16:9": "clip_01.mp4"}
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
    # Bounds are checked at the boundary, as over REST (a schemathesis run found these).
    for request in (pb.ListRequest(page_size=-79130), pb.ListRequest(page_size=101),
                    pb.ListRequest(page_token="x" * 100)):
        with pytest.raises(grpc.RpcError) as refused:
            stub.List(request)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
    for options in (pb.RunOptions(clips=100000), pb.RunOptions(max_len_s=1e9),
                    pb.RunOptions(language="english please"), pb.RunOptions(prompt="x" * 301),
                    pb.RunOptions(aspect="9:16,9:16")):
        with pytest.raises(grpc.RpcError) as refused:
            stub.Submit(pb.SubmitRequest(source=str(talk), options=options))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, options
    with pytest.raises(grpc.RpcError) as refused:
        stub.Submit(pb.SubmitRequest(source=str(talk), request_id="r" * 200))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    for request, code in ((pb.RenderClipRequest(job_id="nope", rank=1),
                           grpc.StatusCode.NOT_FOUND),
                          (pb.RenderClipRequest(job_id="nope", rank=0),
                           grpc.StatusCode.INVALID_ARGUMENT),
                          (pb.RenderClipRequest(job_id="nope", rank=1, edit=pb.ClipEdit(
                              captions_srt="x" * 60_000)), grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.RpcError) as refused:
            stub.RenderClip(request)
        assert refused.value.code() == code, request


def test_a_bad_source_fails_the_job_with_its_reason(stub, tmp_path: Path):
    job = stub.Submit(pb.SubmitRequest(source=str(tmp_path / "missing.mp4"), options=options()))
    final = list(stub.Watch(pb.WatchRequest(job_id=job.id), timeout=120))[-1]
    assert final.result.state == pb.FAILED and "no such file" in final.result.error
    with pytest.raises(grpc.RpcError) as refused:
        stub.RenderClip(pb.RenderClipRequest(job_id=job.id, rank=1))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_cancel_a_job(stub, talk: Path, service: Service):
    job = stub.Submit(pb.SubmitRequest(source=str(talk), options=options()))
    cancelled = stub.Cancel(pb.CancelRequest(job_id=job.id))
    assert cancelled.state == pb.CANCELLED
    final = list(stub.Watch(pb.WatchRequest(job_id=job.id), timeout=60))[-1]
    assert final.result.state == pb.CANCELLED
    time.sleep(1)
    assert not (service.jobs / job.id).exists()


def test_reflection_and_health(service: Service):
    with grpc.insecure_channel(service.grpc) as channel:
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


def test_health_is_the_services_own_and_shows_triton(tmp_path: Path):
    """A Triton that goes away (a node drain) does not take the API offline: readiness is the
    service's own (store, workers); Triton's state is reported as the service "triton"."""
    serving_, not_serving = (health_pb2.HealthCheckResponse.SERVING,
                             health_pb2.HealthCheckResponse.NOT_SERVING)
    with LocalTriton(models=["whisper"]) as triton:
        assert triton.endpoints is not None
        with serving(triton.endpoints.grpc, tmp_path) as svc, \
                grpc.insecure_channel(svc.grpc) as channel:
            health = health_pb2_grpc.HealthStub(channel)

            def status(service: str) -> int:
                return health.Check(health_pb2.HealthCheckRequest(service=service)).status

            wait_for(lambda: status("triton") == serving_, 20, "Triton SERVING")
            assert status("") == serving_ and status("snapclip.v1.Highlights") == serving_
            triton.stop()
            wait_for(lambda: status("triton") == not_serving, 30,
                     "Triton NOT_SERVING after it stopped")
            assert status("") == serving_ and status("snapclip.v1.Highlights") == serving_
            stub = pb_grpc.HighlightsStub(channel)
            assert stub.List(pb.ListRequest(page_size=5)) is not None  # the API still answers


def test_three_run_at_once_and_a_fourth_waits(grpc_url: str, talk: Path, tmp_path: Path):
    with serving(grpc_url, tmp_path, "--concurrency", "3") as svc, \
            grpc.insecure_channel(svc.grpc) as channel:
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


def test_a_job_interrupted_by_a_restart_resumes_after_its_last_stage(
        grpc_url: str, talk: Path, tmp_path: Path):
    with serving(grpc_url, tmp_path) as svc, grpc.insecure_channel(svc.grpc) as channel:
        stub = pb_grpc.HighlightsStub(channel)
        job = stub.Submit(pb.SubmitRequest(source=str(talk), options=options()))
        wait_for(lambda: stub.Get(pb.GetRequest(job_id=job.id)).stage in
                 {"asr", "moments", "select"}, 180, "ASR finished")
        svc.proc.kill()  # no clean shutdown
        svc.proc.wait()
    with serving(grpc_url, tmp_path) as svc, grpc.insecure_channel(svc.grpc) as channel:
        stub = pb_grpc.HighlightsStub(channel)
        events = list(stub.Watch(pb.WatchRequest(job_id=job.id), timeout=600))
        final = events[-1].result
        assert final.state == pb.SUCCEEDED, final.error
        restart = next(i for i, e in enumerate(events) if e.stage == "restart")
        assert "resumes after" in events[restart].message
        after = events[restart + 1:]
        # The transcript came from the checkpoint: no ASR request was sent again.
        assert not [e for e in after if e.stage == "asr" and "/" in e.message]
        assert any(e.stage == "asr" and "kept" in e.message for e in after)
        assert json.loads(final.manifest_json)["clips"]
        assert not list(svc.jobs.glob(".*partial*"))  # the dead process's staging is gone


def test_a_graceful_stop_hands_running_jobs_back(grpc_url: str, talk: Path, tmp_path: Path):
    with serving(grpc_url, tmp_path, "--concurrency", "2") as svc, \
            grpc.insecure_channel(svc.grpc) as channel:
        stub = pb_grpc.HighlightsStub(channel)
        ids = [stub.Submit(pb.SubmitRequest(source=str(talk), options=options())).id
               for _ in range(3)]
        wait_for(lambda: [stub.Get(pb.GetRequest(job_id=i)).state for i in ids[:2]]
                 == [pb.RUNNING] * 2, 60, "two running")
        svc.proc.send_signal(signal.SIGTERM)  # what Kubernetes sends on a rollout
        assert svc.proc.wait(timeout=30) == 0, svc.log.read_text()
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        jobs = [store.get(i) for i in ids]
    finally:
        store.close()
    assert [j.state for j in jobs] == [JobState.QUEUED] * 3  # none lost, none failed
    assert [j.attempts for j in jobs] == [0, 0, 0]  # an interrupted start is not an attempt
    assert "service stopped" in jobs[0].message
    with serving(grpc_url, tmp_path, "--concurrency", "2") as svc, \
            grpc.insecure_channel(svc.grpc) as channel:
        stub = pb_grpc.HighlightsStub(channel)
        finals = [list(stub.Watch(pb.WatchRequest(job_id=i), timeout=600))[-1] for i in ids]
        assert [f.result.state for f in finals] == [pb.SUCCEEDED] * 3


def test_token_guards_the_api_but_not_health(grpc_url: str, tmp_path: Path):
    env = {"SNAPCLIP_API_TOKEN": "s3cret-token"}
    with serving(grpc_url, tmp_path, env=env) as svc, \
            grpc.insecure_channel(svc.grpc) as channel:
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
