"""Manifest schema and all-or-nothing output folders."""

from __future__ import annotations

import pytest

from orchestrator.manifest import SCHEMA, Clip, ClipScores, Manifest, ModelRef, SourceInfo
from orchestrator.output import staged_directory


def test_manifest_round_trip_and_schema_first():
    manifest = Manifest(
        source=SourceInfo("/v.mp4", "Talk", 61.0),
        models={"asr": ModelRef("whisper", "2")},
        clips=(Clip(1, 1.0, 20.0, 0.9, ClipScores(0.8, 0.1), "t", "h", "r", "clip_01.mp4",
                    "clip_01.srt"),),
        timings_s={"asr": 1.0, "total": 2.0},
    )
    data = manifest.to_dict()
    assert next(iter(data)) == "schema" and data["schema"] == SCHEMA
    assert data["clips"][0]["scores"] == {"text": 0.8, "vision": 0.1}
    assert Manifest.from_dict(data) == manifest
    with pytest.raises(ValueError, match="manifest"):
        Manifest.from_dict({**data, "schema": "other/v0"})


def test_staged_directory_replaces_target_only_on_success(tmp_path):
    target = tmp_path / "out"
    with staged_directory(target) as staging:
        (staging / "a.txt").write_text("one")
        assert not target.exists()
    assert (target / "a.txt").read_text() == "one"

    with pytest.raises(RuntimeError), staged_directory(target) as staging:
        (staging / "a.txt").write_text("half")
        raise RuntimeError("boom")
    assert (target / "a.txt").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing half-written left

    with staged_directory(target) as staging:
        (staging / "b.txt").write_text("two")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
