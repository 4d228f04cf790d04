"""Captions from word timestamps: short lines for a phone screen, as SRT and as styled ASS.

Words are grouped into lines of a few words (a new line after a sentence end, a pause, or when
the line would get too long to read at a glance). A line is shown from its first word's start
until its last word's end plus a short hold, never past the next line or the clip's end. Times
are relative to the clip. The ASS version, burned into the video, shows the whole line in white
with the word being spoken in yellow, large and outlined so it reads on a small screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.contracts.transcript import Word

HOLD_S = 0.4
MAX_CHARS = 26
MAX_WORDS = 5
MAX_PAUSE_S = 0.7


@dataclass(frozen=True)
class Caption:
    start_s: float
    end_s: float
    words: tuple[Word, ...]  # clip-relative times

    @property
    def text(self) -> str:
        return " ".join(w.word.strip() for w in self.words)


def clip_words(words: Sequence[Word], start_s: float, end_s: float) -> list[Word]:
    """The words spoken inside ``[start_s, end_s]``, shifted to clip time and clamped to it."""
    duration = end_s - start_s
    out = []
    for w in words:
        if w.end <= start_s or w.start >= end_s or not w.word.strip():
            continue
        s = max(0.0, w.start - start_s)
        e = min(duration, w.end - start_s)
        out.append(Word(round(s, 3), round(max(e, s), 3), w.word.strip(), w.probability))
    return out


def caption_lines(words: Sequence[Word], duration_s: float) -> list[Caption]:
    """Group clip-relative ``words`` into caption lines inside ``[0, duration_s]``."""
    groups: list[list[Word]] = []
    for w in words:
        line = groups[-1] if groups else None
        if (line is None or len(line) >= MAX_WORDS
                or len(" ".join(x.word for x in [*line, w])) > MAX_CHARS
                or w.start - line[-1].end > MAX_PAUSE_S
                or line[-1].word.endswith((".", "!", "?"))):
            groups.append([w])
        else:
            line.append(w)
    captions = []
    for n, group in enumerate(groups):
        next_start = groups[n + 1][0].start if n + 1 < len(groups) else duration_s
        start = min(group[0].start, duration_s)
        end = min(duration_s, next_start, group[-1].end + HOLD_S)
        if end > start:
            captions.append(Caption(round(start, 3), round(end, 3), tuple(group)))
    return captions


def _srt_time(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def to_srt(captions: Sequence[Caption]) -> str:
    blocks = [f"{n}\n{_srt_time(c.start_s)} --> {_srt_time(c.end_s)}\n{c.text}\n"
              for n, c in enumerate(captions, 1)]
    return "\n".join(blocks)


def _ass_time(t: float) -> str:
    cs = round(t * 100)
    return f"{cs // 360_000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _ass_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")


def to_ass(captions: Sequence[Caption], width: int, height: int) -> str:
    """An ASS script for ``width`` x ``height`` video; the spoken word is highlighted."""
    size = round(min(width, height) * 0.075)  # 81 px on a 1080-wide frame
    margin_v = round(height * (0.22 if height > width else 0.08))
    margin_h = round(width * 0.06)
    header = (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 0\nScaledBorderAndShadow: yes\n"
        f"PlayResX: {width}\nPlayResY: {height}\n\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Caption,DejaVu Sans,{size},&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,"
        f"-1,0,0,0,100,100,0,0,1,{max(2, size // 14)},{max(1, size // 30)},2,"
        f"{margin_h},{margin_h},{margin_v},1\n\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    events = []
    for c in captions:
        for k, word in enumerate(c.words):
            start = c.start_s if k == 0 else word.start
            end = c.words[k + 1].start if k + 1 < len(c.words) else c.end_s
            if end <= start:
                continue
            text = " ".join(
                f"{{\\c&H00FFFF&}}{_ass_escape(w.word)}{{\\c&HFFFFFF&}}" if i == k
                else _ass_escape(w.word) for i, w in enumerate(c.words))
            events.append(f"Dialogue: 0,{_ass_time(start)},{_ass_time(end)},Caption,,0,0,0,,"
                          f"{text}")
    return header + "\n".join(events) + "\n"
