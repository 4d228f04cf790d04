"""Captions from word timestamps: short lines for a phone screen, as SRT and as styled ASS.

Words are grouped into lines of a few words (a new line after a sentence end, a pause, or when
the line would get too long to read at a glance). A line is shown from its first word's start
until its last word's end plus a short hold, never past the next line or the clip's end. Times
are relative to the clip. The ASS version, burned into the video, is drawn in a caption style
(``styles``): by default the whole line in white with the word being spoken in yellow, large and
outlined so it reads on a small screen; the clip's keywords (numbers, the words of its title)
stand out in every style.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.contracts.transcript import Word
from orchestrator.pipeline.render.styles import DEFAULT_STYLE, CaptionStyle, ass_colour

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


def to_ass(captions: Sequence[Caption], width: int, height: int,
           style: CaptionStyle = DEFAULT_STYLE, emphasis: frozenset[str] = frozenset()) -> str:
    """An ASS script for ``width`` x ``height`` video in ``style``.

    Args:
        captions: the lines (``caption_lines``; a one-word style regroups them a word each).
        width, height: the video's frame (the script's own resolution: sizes are in pixels).
        style: the look (``styles.PRESETS`` or a preset with options changed).
        emphasis: words (lower case, no punctuation) shown in the highlight colour and a
            little larger wherever they are said: the clip's keywords.
    """
    if style.words_per_line == 1:
        captions = [Caption(w.start if k else c.start_s,
                            c.words[k + 1].start if k + 1 < len(c.words) else c.end_s, (w,))
                    for c in captions for k, w in enumerate(c.words)]
    layout = style.layout(width, height)
    header = (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 0\nScaledBorderAndShadow: yes\n"
        f"PlayResX: {width}\nPlayResY: {height}\n\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        # With BorderStyle 3 libass fills the box in the outline colour (the outline width is
        # its padding); the back colour is the shadow's.
        f"Style: Caption,{style.font},{layout.size},{ass_colour(style.colour)},"
        f"{ass_colour(style.colour)},"
        f"{ass_colour(style.box_colour, style.box_opacity) if style.box else ass_colour(style.outline_colour)},"  # noqa: E501
        f"{ass_colour(style.box_colour, style.box_opacity)},{-1 if style.bold else 0},0,0,0,"
        f"100,100,0,0,{3 if style.box else 1},{layout.outline},{layout.shadow},"
        f"{layout.alignment},{layout.margin_l},{layout.margin_r},{layout.margin_v},1\n\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    highlight = "{\\c" + ass_colour(style.highlight, alpha=False) + "}"
    plain = "{\\c" + ass_colour(style.colour, alpha=False) + "\\fscx100\\fscy100}"
    # Keywords grow a little, except on a box: libass boxes each run of text apart, and a
    # larger run would get a taller box of its own.
    bigger = "" if style.box else "{\\fscx112\\fscy112}"

    def shown(word: Word, spoken: bool) -> str:
        text = _ass_escape(word.word.upper() if style.uppercase else word.word)
        key = _key(word.word) in emphasis
        if (spoken and style.highlight_spoken) or key:
            return f"{highlight}{bigger if key else ''}{text}{plain}"
        return text

    events = []
    for c in captions:
        steps = range(len(c.words)) if style.highlight_spoken else [0]
        for k in steps:
            start = c.start_s if k == 0 else c.words[k].start
            end = (c.words[k + 1].start if style.highlight_spoken and k + 1 < len(c.words)
                   else c.end_s)
            if end <= start:
                continue
            text = " ".join(shown(w, i == k and style.highlight_spoken)
                            for i, w in enumerate(c.words))
            events.append(f"Dialogue: 0,{_ass_time(start)},{_ass_time(end)},Caption,,0,0,0,,"
                          f"{text}")
    return header + "\n".join(events) + "\n"


def keywords(title: str, words: Sequence[Word]) -> frozenset[str]:
    """The words worth emphasis in a clip: numbers, and the words of its title that are said
    (four letters or more, so "the" and "and" never light up)."""
    said = {_key(w.word) for w in words}
    named = {_key(t) for t in title.split() if len(_key(t)) >= 4}
    numbers = {k for k in said if any(ch.isdigit() for ch in k)}
    return frozenset((named & said) | numbers)


def _key(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())
