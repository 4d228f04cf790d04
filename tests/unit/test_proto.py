"""The gRPC contract compiles and says what BRIEF's contract says."""

from __future__ import annotations

from orchestrator.proto import load


def test_highlights_service_methods_and_streaming():
    pb, grpc_module = load()
    service = pb.DESCRIPTOR.services_by_name["Highlights"]
    assert service.full_name == "snapclip.v1.Highlights"
    methods = {m.name: m for m in service.methods}
    assert set(methods) == {"Submit", "Watch", "Get", "Cancel", "List", "RenderClip"}
    assert methods["RenderClip"].output_type.name == "Job"
    watch = methods["Watch"]
    assert watch.output_type.name == "JobEvent"
    assert hasattr(grpc_module, "HighlightsServicer") and hasattr(grpc_module, "HighlightsStub")


def test_job_carries_the_manifest_as_json_and_options_stay_optional():
    pb, _ = load()
    job = pb.Job(id="x", state=pb.SUCCEEDED, manifest_json='{"schema": "snapclip.manifest/v1"}')
    assert pb.Job.FromString(job.SerializeToString()) == job
    options = pb.RunOptions()
    assert not options.HasField("clips")  # unset: the CLI's default applies
    assert pb.RunOptions(clips=3).HasField("clips")
