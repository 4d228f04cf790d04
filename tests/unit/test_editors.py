"""Editor timelines: every file reads back with OpenTimelineIO with the cuts to the frame.

The cuts include one at 50:00 of a 29.97 fps source, where counting 30 frames a second is 3 s off
(issue 16) and CMX timecode must be drop-frame.
"""

from __future__ import annotations

import io
import re
from fractions import Fraction
from pathlib import Path

import pycmx
import pytest

from orchestrator.pipeline.manifest import EDITOR_TIMELINES
from orchestrator.pipeline.render.editors import (
    TimelineClip,
    build_timeline,
    read_timeline,
    true_rate,
    write_timelines,
)

CLIPS = (TimelineClip(3000.0, 3030.5, "The pricing secret", "Rated 8/9 as a highlight"),
         TimelineClip(10.0, 40.0, "Why mics matter", "A clear claim with a number"),
         TimelineClip(7201.3, 7250.0, "Two hours in", "The closing argument"),
         # Every writer takes quotes, apostrophes and markup in a title (the FCP X adapter's
         # XPath lookup broke on an apostrophe: it is written as a typographic one).
         TimelineClip(5000.0, 5020.0, "The Camera's \"Price\" & <Focus>", "Quotes 'n' tags"))


def _write(tmp_path: Path, fps: float) -> dict[str, str]:
    timeline = build_timeline("Sample talk", tmp_path / "talk.mp4", 7300.0, fps, CLIPS)
    return write_timelines(timeline, tmp_path)


def _video_clips(timeline) -> list:
    track = next(t for t in timeline.tracks if t.kind == "Video")
    return [c for c in track if c.schema_name() == "Clip"]


def test_rates_are_exact():
    assert true_rate(29.97) == 30000 / 1001 and true_rate(23.976) == 24000 / 1001
    assert true_rate(59.94) == 60000 / 1001 and true_rate(25.0) == 25.0
    assert true_rate(0.0) == 30.0  # audio only: the background is rendered at 30 fps
    # rates timecode cannot express: the smallest timecode rate that is a multiple of them
    assert (true_rate(10.0), true_rate(15.0), true_rate(12.5), true_rate(20.0)) == (30, 30, 25, 60)
    assert true_rate(120.0) == 60.0


@pytest.mark.parametrize("fps", [30000 / 1001, 25.0, 24000 / 1001, 10.0, 0.0])
def test_every_file_reads_back_with_the_cuts_to_the_frame(tmp_path, fps):
    files = _write(tmp_path, fps)
    assert files == EDITOR_TIMELINES
    rate = true_rate(fps)
    for kind, name in files.items():
        clips = _video_clips(read_timeline(tmp_path / name, rate))
        assert len(clips) == len(CLIPS), kind
        for clip, want in zip(clips, CLIPS, strict=True):
            got = clip.source_range
            # The FCP X adapter reads rates as whole numbers (29, 23) and truncates: within one
            # of its frames on each end. Every other reader gives our exact frame.
            tolerance = (2.0 / int(rate) if kind == "fcpxml" else 0.5 / rate) + 1e-6
            assert got.start_time.to_seconds() == pytest.approx(want.start_s, abs=tolerance)
            assert got.end_time_exclusive().to_seconds() == pytest.approx(want.end_s,
                                                                          abs=tolerance)
            if kind != "fcpxml":
                assert got.start_time.value == round(want.start_s * rate), kind
            assert want.title.replace("'", "\u2019") in clip.name


def test_ntsc_edl_is_drop_frame_and_counts_true_frames(tmp_path):
    _write(tmp_path, 29.97)
    text = (tmp_path / "clips.edl").read_text()
    assert text.splitlines()[1] == "FCM: DROP FRAME"
    events = list(pycmx.parse_cmx3600(io.StringIO(text)).events)
    first = events[0].edits[0]
    # 50:00 of real time is 89,910 frames at 30000/1001: drop-frame timecode 00:50:00;00
    # (non-drop counting would say 00:49:57:00, and rounding the rate to 30 fps 00:50:00:00 at
    # frame 90,000 - three seconds late).
    assert first.source_in == "00:50:00;00"
    assert events[2].edits[0].source_in.startswith("02:00:01;")
    assert first.record_in == "00:00:00;00"


def test_other_rates_are_non_drop(tmp_path):
    for fps in (25.0, 23.976):
        _write(tmp_path, fps)
        text = (tmp_path / "clips.edl").read_text()
        assert text.splitlines()[1] == "FCM: NON-DROP FRAME"
        assert ";" not in text


def test_fcpxml_times_are_whole_frames_of_the_true_rate(tmp_path):
    _write(tmp_path, 29.97)
    text = (tmp_path / "clips.fcpxml").read_text()
    assert 'frameDuration="1001/30000s"' in text
    frame = Fraction(1001, 30000)
    starts = [Fraction(s.rstrip("s")) for s in
              re.findall(r'<clip name="#\d[^"]*" offset="[^"]*" duration="[^"]*" start="([^"]*)"',
                         text)]
    assert starts
    for start in starts:
        assert (start / frame).denominator == 1
    assert Fraction(89910) * frame in starts  # 50:00


def test_markers_carry_title_and_reason(tmp_path):
    _write(tmp_path, 25.0)
    otio_clips = _video_clips(read_timeline(tmp_path / "clips.otio", 25.0))
    marker = otio_clips[0].markers[0]
    assert marker.name == "The pricing secret" and marker.comment == "Rated 8/9 as a highlight"
    assert marker.metadata["snapclip"]["rank"] == 1
    for kind in ("xml", "fcpxml"):
        clips = _video_clips(read_timeline(tmp_path / EDITOR_TIMELINES[kind], 25.0))
        assert {m.name for m in clips[1].markers} == {"Why mics matter"}, kind
    assert "LOC:" in (tmp_path / "clips.edl").read_text()  # CMX carries the title as a locator
