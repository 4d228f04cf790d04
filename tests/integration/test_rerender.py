"""snapclip render: one clip of a finished run rendered again as edited, with no model."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from pathlib import Path

import pytest

from orchestrator.pipeline.render import captions
from orchestrator.pipeline.render import stage as render_stage
from orchestrator.pipeline.render.editors import read_timeline
from orchestrator.pipeline.rerender import ClipEdit, parse_srt, rerender
from tests.integration.test_cli_run import talk_video  # noqa: F401 -- the fixture
from tests.support import assert_one_line_error, ffprobe, snapclip

pytestmark = pytest.mark.integration

EDITED = """1
00:00:00,000 --> 00:00:01,500
Zebra quokka

2
00:00:01,500 --> 00:00:03,000
Edited words here
"""


@pytest.fixture(scope="module")
def finished(talk_video: Path, grpc_url: str, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
             ) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("rerender") / "result"
    started = time.perf_counter()
    proc = snapclip("run", str(talk_video), "--out", str(out), "--triton", grpc_url, "--json",
                    "--clips", "1", "--min-len", "5", "--max-len", "15")
    assert proc.returncode == 0, proc.stderr
    return out, time.perf_counter() - started


def test_a_trimmed_clip_with_edited_captions_is_rendered_as_edited(finished, monkeypatch):
    out, _ = finished
    manifest = json.loads((out / "manifest.json").read_text())
    (clip,) = manifest["clips"]
    start, end = round(clip["start_s"] + 0.5, 3), round(clip["start_s"] + 6.0, 3)
    given: list[str] = []
    real = render_stage.render_clip

    async def spy(job):  # the real FFmpeg render; the ASS it is given is kept for the check
        given.append(job.ass.read_text(encoding="utf-8") if job.ass else "")
        await real(job)

    monkeypatch.setattr(render_stage, "render_clip", spy)
    edited = asyncio.run(rerender(out, ClipEdit(1, start, end, EDITED, "9:16,1:1")))
    assert (edited.revision, edited.start_s, edited.end_s) == (2, start, end)
    assert edited.renditions == {"9:16": "clip_01.mp4", "1:1": "clip_01_1x1.mp4"}
    # The burned-in captions are the edited words, in both aspects, and nothing else.
    assert len(given) == 2
    for ass in given:
        shown = {re.sub(r"\{[^}]*\}", "", line.rsplit(",,", 1)[-1]) for line in ass.splitlines()
                 if line.startswith("Dialogue:")}
        assert {w for text in shown for w in text.split()} == {
            "Zebra", "quokka", "Edited", "words", "here"}
    assert (out / "clip_01.srt").read_text() == captions.to_srt(parse_srt(EDITED, end - start))
    for file, size in (("clip_01.mp4", (1080, 1920)), ("clip_01_1x1.mp4", (1080, 1080))):
        probe = ffprobe(out / file)
        stream = next(s for s in probe["streams"] if s["codec_type"] == "video")
        assert (stream["width"], stream["height"]) == size
        assert float(probe["format"]["duration"]) == pytest.approx(end - start, abs=0.15)
    after = json.loads((out / "manifest.json").read_text())
    assert after["clips"][0]["revision"] == 2 and after["clips"][0]["start_s"] == start
    # The editor timelines follow the edit; nothing half-written is left.
    cut = read_timeline(out / "clips.otio", 0).find_clips()[0].source_range
    assert cut.start_time.to_seconds() == pytest.approx(start, abs=0.5 / cut.start_time.rate)
    assert not [p.name for p in out.iterdir() if ".rerender" in p.name]

    # A later re-render keeps the creator's words: trimmed a second earlier, the edited lines
    # move with the new start and only the added second takes the transcript's words.
    given.clear()
    again = asyncio.run(rerender(out, ClipEdit(1, start - 1.0, end, None, "9:16")))
    assert (again.revision, again.captions_edited) == (3, True)
    srt = (out / "clip_01.srt").read_text()
    assert "00:00:01,000 --> 00:00:02,500\nZebra quokka" in srt
    assert "00:00:02,500 --> 00:00:04,000\nEdited words here" in srt
    words = json.loads((out / "transcript.json").read_text())["segments"]
    added = {w["word"].strip() for seg in words for w in seg["words"]
             if start - 1.0 < w["end"] and w["start"] < start and w["word"].strip()}
    shown = {word for block in srt.split("\n\n") for row in block.splitlines()[2:]
             for word in row.split()}
    assert shown == {"Zebra", "quokka", "Edited", "words", "here"} | added


def test_the_cli_re_renders_and_reports_the_time_against_the_run(finished, tmp_path):
    out, run_s = finished
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    started = time.perf_counter()
    proc = snapclip("render", str(copy), "--clip", "1", "--aspect", "16:9", "--json")
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    clip = json.loads(proc.stdout)
    assert clip["renditions"] == {"16:9": "clip_01.mp4"} and clip["revision"] >= 2
    probe = ffprobe(copy / "clip_01.mp4")
    stream = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert (stream["width"], stream["height"]) == (1920, 1080)
    assert not (copy / "clip_01_1x1.mp4").exists()  # an aspect no longer asked for goes
    print(f"re-render {seconds:.1f} s (CLI, one 16:9 clip) vs the whole run {run_s:.1f} s")
    assert seconds < run_s


@pytest.mark.parametrize("args, words", [
    (["--clip", "7"], "no clip 7"),
    (["--clip", "1", "--start", "-3"], "inside the video"),
    (["--clip", "1", "--start", "1", "--end", "1.2"], "a clip lasts"),
    (["--clip", "1", "--aspect", "4:3"], "--aspect"),
])
def test_bad_edits_are_one_clear_error_and_change_nothing(finished, args, words):
    out, _ = finished
    before = (out / "manifest.json").read_bytes()
    proc = snapclip("render", str(out), *args)
    assert_one_line_error(proc, 2, words)
    assert (out / "manifest.json").read_bytes() == before
