"""clips.edl reads back as CMX 3600 with the cuts we made (pycmx is an editor-style parser)."""

from __future__ import annotations

import io

import pycmx

from orchestrator.pipeline.render.edl import EdlClip, timecode, to_edl


def test_timecode():
    assert timecode(0, 25) == "00:00:00:00"
    assert timecode(3723.52, 25) == "01:02:03:13"


def test_edl_parses_with_source_and_record_times():
    clips = [EdlClip(10.0, 40.0, "#1 Big secret"), EdlClip(70.5, 90.0, "#2 Outro")]
    text = to_edl("Sample talk", "sample.mp4", clips, 29.97)
    edl = pycmx.parse_cmx3600(io.StringIO(text))
    assert edl.title == "Sample talk"
    events = list(edl.events)
    assert len(events) == 2
    first = events[0].edits[0]
    assert first.source_in == "00:00:10:00" and first.source_out == "00:00:40:00"
    assert first.record_in == "00:00:00:00" and first.record_out == "00:00:30:00"
    second = events[1].edits[0]
    assert second.record_in == "00:00:30:00"
    assert second.source_in == "00:01:10:15"
    assert first.clip_name == "sample.mp4"
