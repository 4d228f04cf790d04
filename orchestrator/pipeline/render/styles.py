"""Caption styles: named presets, and options a creator can change on any of them.

``--caption-style boxed`` picks a preset; ``--caption-style "boxed,font=DejaVu Serif,size=0.06,
colour=#FFFFFF,highlight=#FFD400,position=middle"`` changes some of its options. Sizes are a
share of the frame's shorter side, so one style reads the same at 9:16, 1:1 and 16:9.

Safe margins. On 9:16 the platforms draw their own interface over the video: the caption and
the buttons of TikTok, Reels and Shorts cover roughly the bottom fifth and a column on the
right. Bottom captions sit above that (``margin_v`` 22 % of the height) and keep 14 % clear on
the right; landscape and square frames keep the ordinary 6-8 % title-safe margins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

from orchestrator.errors import InputError

POSITIONS = ("bottom", "middle", "lower_third")
_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class Layout:
    """A style placed on one frame size, in pixels."""

    size: int
    outline: int
    shadow: int
    alignment: int  # ASS numpad alignment: 2 bottom centre, 5 middle, 1 bottom left
    margin_l: int
    margin_r: int
    margin_v: int


@dataclass(frozen=True)
class CaptionStyle:
    name: str
    font: str = "DejaVu Sans"
    size: float = 0.075  # of the frame's shorter side (81 px on a 1080-wide frame)
    colour: str = "#FFFFFF"
    highlight: str = "#FFD400"  # the spoken word, and keywords
    outline_colour: str = "#000000"
    outline: float = 0.07  # outline width, of the font size
    box: bool = False  # an opaque box behind the text instead of an outline
    box_colour: str = "#000000"
    box_opacity: float = 0.6
    position: str = "bottom"  # one of POSITIONS
    words_per_line: int = 0  # 1: one word at a time; 0: the caption lines as grouped
    uppercase: bool = False
    bold: bool = True
    highlight_spoken: bool = True  # the word being said in the highlight colour

    def layout(self, width: int, height: int) -> Layout:
        size = max(12, round(min(width, height) * self.size))
        portrait = height > width
        # A box's "outline" is its padding around the text (libass, BorderStyle 3).
        outline = round(size * 0.18) if self.box else max(2, round(size * self.outline))
        side = round(width * 0.06)
        right = round(width * 0.14) if portrait else side
        if self.position == "middle":
            return Layout(size, outline, 0 if self.box else max(1, size // 30), 5, side, right,
                          0)
        if self.position == "lower_third":
            return Layout(size, outline, 0, 1, round(width * 0.08), right,
                          round(height * (0.22 if portrait else 0.1)))
        return Layout(size, outline, 0 if self.box else max(1, size // 30), 2, side, right,
                      round(height * (0.22 if portrait else 0.08)))


PRESETS: dict[str, CaptionStyle] = {
    # The whole line, the spoken word lit up: the default.
    "highlight": CaptionStyle("highlight"),
    # One word at a time, large, upper case, in the middle of the frame.
    "one-word": CaptionStyle("one-word", size=0.12, words_per_line=1, uppercase=True,
                             position="middle", highlight_spoken=False, outline=0.09),
    # White text on a dark box, no outline: reads over any picture.
    "boxed": CaptionStyle("boxed", size=0.065, box=True, box_opacity=0.65,
                          highlight_spoken=True),
    # Small plain text at the lower left, nothing lit up but the keywords.
    "lower-third": CaptionStyle("lower-third", size=0.045, bold=False, outline=0.05,
                                position="lower_third", highlight_spoken=False),
}
DEFAULT_STYLE = PRESETS["highlight"]
_OPTIONS = {"font", "size", "colour", "color", "highlight", "outline", "box", "position",
            "uppercase", "bold"}


def parse_style(text: str) -> CaptionStyle:
    """``NAME[,option=value...]`` -> a style; a bad name or option is an ``InputError``."""
    name, *options = [part.strip() for part in text.split(",")]
    if name not in PRESETS:
        raise InputError(f"--caption-style must start with one of {', '.join(PRESETS)}, "
                         f"not {name[:30]!r}")
    style = PRESETS[name]
    changes: dict[str, object] = {}
    for option in options:
        key, sep, value = option.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or key not in _OPTIONS or not value:
            raise InputError(f"--caption-style option {option[:40]!r}: use key=value with "
                             f"key one of {', '.join(sorted(_OPTIONS - {'color'}))}")
        changes.update(_option(key, value))
    return replace(style, **changes)  # type: ignore[arg-type]


def style_text(style: CaptionStyle) -> str:
    """``style`` written back as ``parse_style`` reads it (the manifest records this)."""
    base = PRESETS[style.name]
    parts = [style.name]
    for f in fields(CaptionStyle):
        key = {"colour": "colour", "font": "font", "size": "size", "highlight": "highlight",
               "box": "box", "position": "position", "uppercase": "uppercase",
               "bold": "bold"}.get(f.name)
        if key and getattr(style, f.name) != getattr(base, f.name):
            value = getattr(style, f.name)
            parts.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
    if style.outline != base.outline:
        parts.append(f"outline={style.outline}")
    return ",".join(parts)


def _option(key: str, value: str) -> dict[str, object]:
    if key == "font":
        if not re.fullmatch(r"[A-Za-z0-9 ._-]{1,60}", value):
            raise InputError(f"caption font {value[:40]!r}: letters, digits, spaces, . _ -")
        return {"font": value}
    if key == "size":
        return {"size": _number(key, value, 0.02, 0.2)}
    if key == "outline":
        return {"outline": _number(key, value, 0.0, 0.3)}
    if key in ("colour", "color", "highlight"):
        match = _COLOUR.fullmatch(value)
        if not match:
            raise InputError(f"caption {key} {value[:20]!r}: a colour like #FFD400")
        return {"highlight" if key == "highlight" else "colour": "#" + match[1].upper()}
    if key == "position":
        if value not in POSITIONS:
            raise InputError(f"caption position must be one of {', '.join(POSITIONS)}")
        return {"position": value}
    flag = value.lower()
    if flag not in ("true", "false", "yes", "no", "1", "0"):
        raise InputError(f"caption {key} must be true or false")
    return {key: flag in ("true", "yes", "1")}


def _number(key: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"caption {key} {value[:20]!r} is not a number") from None
    if not low <= number <= high:
        raise InputError(f"caption {key} must be between {low:g} and {high:g}")
    return number


def ass_colour(colour: str, opacity: float = 1.0, *, alpha: bool = True) -> str:
    """``#RRGGBB`` as ASS writes it: ``&HAABBGGRR`` (alpha 00 = opaque), or ``&HBBGGRR&``
    inside an override tag (``alpha=False``)."""
    rgb = colour.lstrip("#")
    bgr = f"{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}".upper()
    if not alpha:
        return f"&H{bgr}&"
    return f"&H{round((1.0 - opacity) * 255):02X}{bgr}"
