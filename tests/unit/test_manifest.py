"""manifest.json: the JSON Schema file is the contract; the dataclasses follow it exactly."""

from __future__ import annotations

import dataclasses

import jsonschema
import pytest

from orchestrator.pipeline.manifest import (
    SCHEMA,
    Clip,
    ClipScores,
    Manifest,
    ModelRef,
    ScoreCurve,
    Selection,
    SourceInfo,
    Weights,
    json_schema,
)


def manifest() -> Manifest:
    return Manifest(
        source=SourceInfo("/v.mp4", "Talk", 61.0, True,
                          ({"start_time": 0.0, "end_time": 0.6, "value": 1.0},)),
        models={"asr": ModelRef("whisper", "2"), "llm": ModelRef("llm", "3")},
        selection=Selection("llm", False, Weights(), 15.0, 60.0, "9:16", True, ("a note",)),
        clips=(Clip(1, 1.0, 20.0, 0.9, ClipScores(0.8, 0.1, None, 0.1), "llm", "t", "h", "r",
                    "clip_01.mp4", "clip_01.srt"),),
        timings_s={"asr": 1.0, "total": 2.0},
    )


def test_round_trip_validates_and_puts_schema_first():
    data = manifest().to_dict()
    assert next(iter(data)) == "schema" and data["schema"] == SCHEMA
    assert data["clips"][0]["scores"] == {"text": 0.8, "vision": 0.1, "similarity": None,
                                          "visual_change": 0.1}
    assert Manifest.from_dict(data) == manifest()
    # A manifest from before --no-split-screen existed: two people were always stacked.
    del data["selection"]["split_screen"]
    assert Manifest.from_dict(data).selection.split_screen


@pytest.mark.parametrize("change", [
    lambda d: d.update(schema="other/v0"),
    lambda d: d["clips"][0].update(file="../etc/passwd"),
    lambda d: d["clips"][0]["scores"].update(text=1.5),
    lambda d: d["selection"].update(aspect="4:3"),
    lambda d: d["source"].update(extra=1),
    lambda d: d.pop("timings_s"),
])
def test_invalid_manifests_are_rejected(change):
    data = manifest().to_dict()
    change(data)
    with pytest.raises(jsonschema.ValidationError):
        Manifest.from_dict(data)


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_dataclasses_and_schema_name_the_same_fields():
    schema = json_schema()
    props = schema["properties"]
    assert _fields(Manifest) == set(props)
    assert _fields(SourceInfo) == set(props["source"]["properties"])
    assert _fields(Selection) == set(props["selection"]["properties"])
    assert _fields(Weights) == set(props["selection"]["properties"]["weights"]["properties"])
    clip = props["clips"]["items"]
    assert _fields(Clip) == set(clip["properties"])
    assert _fields(ClipScores) == set(clip["properties"]["scores"]["properties"])
    assert _fields(ModelRef) == set(schema["$defs"]["model"]["properties"])
    assert _fields(ScoreCurve) == set(props["score_curve"]["properties"])
    jsonschema.Draft202012Validator.check_schema(schema)
