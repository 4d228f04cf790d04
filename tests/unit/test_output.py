"""All-or-nothing output folders."""

from __future__ import annotations

import pytest

from orchestrator.pipeline.output import staged_directory


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
