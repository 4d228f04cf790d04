"""The run's cuts as editor timelines, written by OpenTimelineIO.

One OTIO timeline (a video and an audio track of the chosen clips laid end to end, each cut from
the original file, with a marker carrying the clip's title and why it was chosen) is written in
the formats editors import: ``clips.otio`` (OTIO's own JSON), ``clips.edl`` (CMX 3600: Premiere,
Resolve, Avid, Kdenlive), ``clips.fcpxml`` (Final Cut Pro X) and ``clips.xml`` (Final Cut Pro 7
XML, which Premiere and Resolve import). The adapters are OTIO's own plugins from PyPI
(``opentimelineio-plugins``, ``otio-fcpx-xml-adapter``), not code of ours.

Frames are counted at the source's true rate: 29.97 fps is 30000/1001, not 30, so a cut at
50:00 is frame 89,910 (at 30 fps it would be 90,000 - the 3-second drift of issue 16). CMX
timecode at 29.97 and 59.94 is drop-frame (``HH:MM:SS;FF``, OTIO infers it from the rate), and
the EDL says so in its ``FCM`` line; 23.976 has no drop-frame timecode and stays non-drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.pipeline.manifest import EDITOR_TIMELINES as TIMELINE_FILES

if TYPE_CHECKING:
    from opentimelineio.schema import Timeline

# The OTIO adapter that writes (and reads) each kind.
_ADAPTERS = {"otio": "otio_json", "edl": "cmx_3600", "fcpxml": "fcpx_xml", "xml": "fcp_xml"}
_NTSC = (24000 / 1001, 30000 / 1001, 60000 / 1001)
_DROP_FRAME = (30000 / 1001, 60000 / 1001)
_TIMECODE_RATES = (24.0, 25.0, 30.0, 48.0, 50.0, 60.0)
DEFAULT_RATE = 30.0  # audio-only sources: the still background is rendered at 30 fps


@dataclass(frozen=True)
class TimelineClip:
    start_s: float
    end_s: float
    title: str
    reason: str


def true_rate(fps: float) -> float:
    """The rate a timeline counts a source of ``fps`` in.

    The exact rate of a probed NTSC rate (29.97 -> 30000/1001); other SMPTE timecode rates as
    they are. A rate timecode cannot express (10, 12.5 or 15 fps screen recordings) is counted at
    the smallest timecode rate that is a whole multiple of it (30, 25, 30), so every source frame
    still falls on a timeline frame; failing that, OTIO's nearest timecode rate. 30 when there is
    no video (the rendered background's rate).
    """
    from opentimelineio import opentime

    if fps <= 0:
        return DEFAULT_RATE
    for ntsc in _NTSC:
        if abs(fps - ntsc) < 0.005:
            return ntsc
    if opentime.RationalTime.is_valid_timecode_rate(fps):
        return fps
    rounded = round(fps, 3)
    for rate in _TIMECODE_RATES:
        multiple = rate / rounded
        if multiple >= 1 and abs(multiple - round(multiple)) < 1e-6:
            return rate
    return opentime.RationalTime.nearest_valid_timecode_rate(fps)


def build_timeline(name: str, media: Path | str, duration_s: float, fps: float,
                   clips: Sequence[TimelineClip]) -> Timeline:
    """The OTIO timeline of ``clips`` cut from ``media`` (a local file or a URL).

    Args:
        name: the timeline's name (the video's title).
        media: the original file the cuts refer to.
        duration_s: the original's length (the media reference's available range).
        fps: the original's probed frame rate (0 for audio only).
        clips: the cuts, best first; they are laid end to end in that order.
    """
    from opentimelineio import opentime, schema

    rate = true_rate(fps)
    url = media if isinstance(media, str) and "://" in media else Path(media).resolve().as_uri()
    available = opentime.TimeRange(opentime.RationalTime(0, rate),
                                   opentime.RationalTime(round(duration_s * rate), rate))
    timeline = schema.Timeline(name=_one_line(name)[:200])
    tracks = [schema.Track(name="V1", kind=schema.TrackKind.Video),
              schema.Track(name="A1", kind=schema.TrackKind.Audio)]
    for track in tracks:
        timeline.tracks.append(track)
        for rank, clip in enumerate(clips, 1):
            first, last = round(clip.start_s * rate), round(clip.end_s * rate)
            cut = schema.Clip(
                name=f"#{rank} {_one_line(clip.title)}"[:120],
                media_reference=schema.ExternalReference(target_url=url,
                                                         available_range=available),
                source_range=opentime.TimeRange(opentime.RationalTime(first, rate),
                                                opentime.RationalTime(last - first, rate)))
            cut.markers.append(schema.Marker(
                name=_one_line(clip.title)[:120],
                marked_range=opentime.TimeRange(opentime.RationalTime(first, rate),
                                                opentime.RationalTime(0, rate)),
                color=schema.MarkerColor.ORANGE, comment=_one_line(clip.reason)[:500],
                metadata={"snapclip": {"rank": rank, "reason": clip.reason}}))
            track.append(cut)
    return timeline


def write_timelines(timeline: Timeline, folder: Path) -> dict[str, str]:
    """Write ``timeline`` into ``folder`` in every editor format; return kind -> file name."""
    import opentimelineio as otio

    _fcpx_knows_exact_ntsc_rates()
    for kind, file in TIMELINE_FILES.items():
        text = otio.adapters.write_to_string(timeline, _ADAPTERS[kind])
        if kind == "edl":
            text = _with_frame_count_mode(text, _rate_of(timeline))
        (folder / file).write_text(text, encoding="utf-8")
    return dict(TIMELINE_FILES)


def read_timeline(path: Path, rate: float) -> Timeline:
    """Read one of the written files back with OTIO (the EDL needs its rate: EDLs carry none)."""
    import opentimelineio as otio

    kind = next(k for k, f in TIMELINE_FILES.items() if f == path.name)
    text = path.read_text(encoding="utf-8")
    if kind == "edl":
        return otio.adapters.read_from_string(text, "cmx_3600", rate=rate)
    return otio.adapters.read_from_string(text, _ADAPTERS[kind])


def _fcpx_knows_exact_ntsc_rates() -> None:
    """Let the FCP X writer look up the exact NTSC rates.

    ``otio_fcpx_xml_adapter`` 1.0.0 finds a rate's ``frameDuration`` in its module table
    ``FRAMERATE_FRAMEDURATION``, keyed by ``int(rate)`` or ``float(rate)`` with the rounded
    rates (23.98, 29.97, 59.94): the exact 30000/1001 is not found and the writer fails. Renaming
    our rate to 29.97 instead would put every cut off its frame (times are written as
    frames / rate). The exact rates are added beside the table's own keys, with the same
    ``frameDuration`` the table gives for their rounded names.
    """
    import opentimelineio as otio

    # The module OTIO's plugin loader runs (its own copy, loaded from the plugin's path).
    table = otio.adapters.from_name("fcpx_xml").module().FRAMERATE_FRAMEDURATION
    for exact, rounded in ((24000 / 1001, 23.98), (30000 / 1001, 29.97), (60000 / 1001, 59.94)):
        table.setdefault(exact, table[rounded])


def _rate_of(timeline: Timeline) -> float:
    clips = list(timeline.find_clips())
    return clips[0].source_range.start_time.rate if clips else DEFAULT_RATE


def _with_frame_count_mode(edl: str, rate: float) -> str:
    """Add the ``FCM`` line after the title: the OTIO writer leaves it out (a TODO in its
    ``cmx_3600.write_to_string``), and Premiere reads drop-frame only when it is there."""
    drop = any(abs(rate - r) < 1e-6 for r in _DROP_FRAME)
    mode = "FCM: DROP FRAME" if drop else "FCM: NON-DROP FRAME"
    title, _, rest = edl.partition("\n")
    return f"{title}\n{mode}\n{rest}"


def _one_line(text: str) -> str:
    """One line, and a typographic apostrophe for the straight one: the FCP X adapter looks
    clips up by name in an XPath (``[@name='...']``), which a straight apostrophe in a title
    ("The Camera's Price") breaks."""
    return " ".join(text.split()).replace("'", "’")
