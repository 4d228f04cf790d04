"""``clips.edl``: the chosen cuts as a CMX 3600 edit decision list.

Premiere, Resolve and Kdenlive import CMX 3600, so an editor can take the cuts into a real
timeline against the original file instead of working from the rendered clips. Each clip is one
event of video and one of audio from reel ``AX`` (the convention for file-based media, named by
the ``* FROM CLIP NAME`` comment), laid end to end on the record side. Timecodes are
non-drop-frame at the source's frame rate rounded to a whole number (29.97 counts as 30).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class EdlClip:
    start_s: float
    end_s: float
    name: str  # a comment line: the clip's rank and title


def timecode(seconds: float, fps: int) -> str:
    frames = round(seconds * fps)
    f = frames % fps
    s = frames // fps
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{f:02d}"


def _comment(text: str) -> str:
    return " ".join(text.split())[:200]


def to_edl(title: str, source_name: str, clips: Sequence[EdlClip], fps: float) -> str:
    """The CMX 3600 text for ``clips`` cut from ``source_name`` at ``fps``."""
    rate = max(1, round(fps)) if fps > 0 else 30
    lines = [f"TITLE: {_comment(title)[:70]}", "FCM: NON-DROP FRAME", ""]
    record = 0
    for n, clip in enumerate(clips, 1):
        src_in = round(clip.start_s * rate)
        src_out = round(clip.end_s * rate)
        rec_out = record + (src_out - src_in)
        times = " ".join(timecode(f / rate, rate) for f in (src_in, src_out, record, rec_out))
        for track in ("V", "A"):
            lines.append(f"{n:03d}  AX       {track:<5} C        {times}")
        lines.append(f"* FROM CLIP NAME: {_comment(source_name)}")
        lines.append(f"* COMMENT: {_comment(clip.name)}")
        lines.append("")
        record = rec_out
    return "\n".join(lines)
