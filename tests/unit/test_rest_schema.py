"""The REST models are generated from the proto: same fields, proto3 JSON mapping."""

from __future__ import annotations

import typing

import pydantic
import pytest

from orchestrator.proto import load
from orchestrator.service import rest_schema as rest

pb, _ = load()


@pytest.mark.parametrize("name", ["Job", "JobEvent", "ListResponse", "SubmitRequest",
                                  "RunOptions"])
def test_models_have_the_fields_of_their_message(name: str):
    model, message = getattr(rest, name), getattr(pb, name)
    assert list(model.model_fields) == [f.name for f in message.DESCRIPTOR.fields]


def test_enums_timestamps_and_64_bit_integers():
    states = typing.get_args(rest.Job.model_fields["state"].annotation)
    assert states == tuple(pb.JobState.keys())
    event = pb.JobEvent(id=7, job_id="j", progress=0.5)
    event.at.FromSeconds(0)
    data = rest.to_json(event)
    assert data["id"] == "7" and data["at"] == "1970-01-01T00:00:00Z"
    assert rest.JobEvent.model_validate(data).id == "7"
    assert data["message"] == ""  # every field present, defaults included


def test_requests_refuse_unknown_and_mistyped_fields():
    assert rest.SubmitRequest(source="a.mp4", options={"clips": 2}).options.clips == 2
    with pytest.raises(pydantic.ValidationError):
        rest.SubmitRequest(source="a.mp4", options={"clip": 2})
    with pytest.raises(pydantic.ValidationError):
        rest.SubmitRequest(source="a.mp4", options={"clips": "many"})
