"""Served file paths stay inside the job's folder; upload names are made safe."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import HTTPException

from orchestrator.service.http_api import job_file, safe_filename


def status(out_dir: str | None, relative: str) -> int:
    try:
        job_file(out_dir, relative)
    except HTTPException as exc:
        return exc.status_code
    return 200


def test_paths_that_leave_the_folder_are_refused(tmp_path: Path):
    job = tmp_path / "jobs" / "abc"
    job.mkdir(parents=True)
    (job / "clip_01.mp4").write_bytes(b"x")
    (job / "sub").mkdir()
    (job / "sub" / "a.txt").write_text("a")
    (tmp_path / "jobs" / "secret").write_text("s")
    (job / "link").symlink_to(tmp_path / "jobs" / "secret")
    (job / "inner").symlink_to(job / "clip_01.mp4")
    out = str(job)
    assert job_file(out, "clip_01.mp4") == job / "clip_01.mp4"
    assert status(out, "sub/a.txt") == 200
    assert status(out, "inner") == 200  # a link that stays inside is fine
    for escape in ("../secret", "sub/../../secret", "/etc/passwd", "link", ".", ""):
        assert status(out, escape) == 403, escape
    assert status(out, "missing.mp4") == 404
    assert status(out, "sub") == 404  # a folder is not a file
    assert status(None, "clip_01.mp4") == 404  # no output yet


@pytest.mark.parametrize(("name", "safe"), [
    ("talk.mp4", "talk.mp4"),
    ("my talk (final).mov", "my_talk_final_.mov"),
    ("../../etc/passwd", "passwd"),
    ("..", "upload"),
    ("", "upload"),
    (None, "upload"),
    (".hidden.mp4", "hidden.mp4"),
    ("clip;rm -rf *.mp4", "clip_rm_-rf_.mp4"),
])
def test_safe_filename(name: str | None, safe: str):
    assert safe_filename(name) == safe
