"""The clips' encoder settings: what reaches FFmpeg, and what x264 actually used."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import pytest

from orchestrator.pipeline.render.encode import (
    ENCODER,
    Encoder,
    RenderJob,
    ffmpeg_command,
    render_clip,
)


def test_an_encoder_reads_back_from_its_text():
    for encoder in (ENCODER, Encoder("veryfast", 21), Encoder("superfast", 22, "subme=2")):
        assert Encoder.parse(str(encoder)) == encoder
    assert str(Encoder("veryfast", 21)) == "veryfast/21"
    assert Encoder.parse("superfast+mbtree=1:rc-lookahead=10/21").params == \
        "mbtree=1:rc-lookahead=10"


def test_the_command_carries_the_jobs_encoder(tmp_path: Path):
    job = RenderJob(source=tmp_path / "v.mp4", out=tmp_path / "c.mp4", start_s=1.0, end_s=5.0,
                    source_size=(1280, 720), fps=25.0,
                    encoder=Encoder("superfast", 23, "mbtree=1"))
    cmd = ffmpeg_command(job)
    at = cmd.index("libx264")
    assert cmd[at - 1:at + 7] == ["-c:v", "libx264", "-preset", "superfast", "-crf", "23",
                                  "-x264-params", "mbtree=1"]
    assert "-x264-params" not in ffmpeg_command(
        RenderJob(source=job.source, out=job.out, start_s=1.0, end_s=5.0,
                  source_size=(1280, 720), encoder=Encoder("veryfast", 21)))


@pytest.fixture
def small_source(tmp_path: Path) -> Path:
    path = tmp_path / "small.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=10:duration=2", "-f", "lavfi", "-i",
                    "sine=duration=2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)], check=True)
    return path


def test_the_clips_keep_the_macroblock_tree_that_keeps_clean_pictures_small(
        small_source: Path, tmp_path: Path):
    # superfast alone turns the macroblock tree and its lookahead off, and clean or upscaled
    # pictures then came out about twice the size (scripts/bench_encode.py, issue 18); x264
    # writes the options it used into the stream.
    out = tmp_path / "clip.mp4"
    asyncio.run(render_clip(RenderJob(source=small_source, out=out, start_s=0.0, end_s=1.5,
                                      source_size=(160, 90), fps=10.0)))
    options = re.search(rb"options: ([^\x00]+)", out.read_bytes())
    assert options is not None
    used = dict(item.split("=", 1) for item in options.group(1).decode().split()
                if "=" in item)
    assert used["mbtree"] == "1" and int(used["rc_lookahead"]) >= 10
    assert float(used["crf"]) == ENCODER.crf
    assert used["subme"] == "1" and used["me"] == "dia"  # superfast's cheap motion search
