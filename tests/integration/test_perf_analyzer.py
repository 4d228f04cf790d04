"""perf_analyzer (tritonclient 2.51.0's binary) smoke run against clip_image."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from orchestrator.serving import perf
from orchestrator.synth.speech import speak
from orchestrator.synth.video import make_video

pytestmark = pytest.mark.integration


def video_frames(tmp_path: Path, count: int) -> list[np.ndarray]:
    video = make_video(speak("Frames for the load test.", tmp_path / "a.wav"),
                       tmp_path / "v.mp4", size="384x216", fps=5)
    with av.open(str(video)) as container:
        decoded = (f.to_ndarray(format="rgb24") for f in container.decode(video=0))
        return [next(decoded) for _ in range(count)]


def test_perf_analyzer_smoke_writes_csv(grpc_url: str, tmp_path: Path):
    frames = video_frames(tmp_path, 2)
    data = perf.write_input_data(tmp_path / "frames.json", "IMAGE", frames)
    report = tmp_path / "clip_image.csv"
    # A smoke run: short windows, and any stability is good enough.
    rows = perf.run("clip_image", grpc_url, input_data=data, concurrency=[1, 2],
                    csv_path=report, request_count=8,
                    extra=["--stability-percentage", "999", "--max-trials", "3"])
    assert [r.concurrency for r in rows] == [1, 2]
    assert all(r.throughput > 0 and r.p95_us > 0 for r in rows)
    assert report.read_text().startswith("Concurrency,Inferences/Second")


def test_a_failure_names_perf_analyzers_own_error(grpc_url: str, tmp_path: Path):
    # perf_analyzer refuses an export path that exists and prints its usage after the error
    # (loadtest's second try at a level once died on exactly that); the message keeps the error.
    data = perf.write_input_data(tmp_path / "frames.json", "IMAGE", video_frames(tmp_path, 1))
    export = tmp_path / "exists.json"
    export.write_text("")
    with pytest.raises(perf.PerfError, match="Path must not already exist"):
        perf.run("clip_image", grpc_url, input_data=data, concurrency=[1],
                 csv_path=tmp_path / "c.csv", request_count=2,
                 extra=["--profile-export-file", str(export)])
