"""Caption styles: each preset's ASS, options, keyword emphasis and the platforms' safe margins."""

from __future__ import annotations

import pytest

from orchestrator.contracts.transcript import Word
from orchestrator.errors import InputError
from orchestrator.pipeline.render.captions import caption_lines, keywords, to_ass
from orchestrator.pipeline.render.styles import PRESETS, ass_colour, parse_style, style_text

TEXT = ["Placement", "beats", "price", "every", "time."]


def _lines():
    spoken = [Word(i * 0.5, i * 0.5 + 0.4, w, 0.9) for i, w in enumerate(TEXT)]
    return caption_lines(spoken, 3.0)


def _style_line(ass: str) -> list[str]:
    line = next(ln for ln in ass.splitlines() if ln.startswith("Style: Caption,"))
    return line.removeprefix("Style: ").split(",")


def _events(ass: str) -> list[str]:
    return [ln.split(",,", 1)[1].split(",,", 1)[-1] for ln in ass.splitlines()
            if ln.startswith("Dialogue:")]


def test_presets_differ_where_they_say():
    for name in PRESETS:
        assert parse_style(name) == PRESETS[name] and style_text(PRESETS[name]) == name
    one = to_ass(_lines(), 1080, 1920, PRESETS["one-word"])
    assert [e.split("}")[-1] if "}" in e else e for e in _events(one)] == [
        w.upper() for w in TEXT]  # one word per event, upper case
    assert _style_line(one)[18] == "5"  # middle of the frame
    boxed = _style_line(to_ass(_lines(), 1080, 1920, PRESETS["boxed"]))
    assert boxed[15] == "3" and boxed[5] == ass_colour("#000000", 0.65)  # a box, drawn in
    assert int(boxed[16]) > 0  # the "outline" colour; its width is the box's padding
    lower = to_ass(_lines(), 1080, 1920, PRESETS["lower-third"])
    assert _style_line(lower)[18] == "1" and len(_events(lower)) == len(_lines())  # none lit
    default = to_ass(_lines(), 1080, 1920)
    assert len(_events(default)) == len(TEXT)  # the line once per spoken word


def test_safe_margins_on_a_phone_frame():
    for name, style in PRESETS.items():
        fields = _style_line(to_ass(_lines(), 1080, 1920, style))
        size, margin_l, margin_r, margin_v = (int(fields[i]) for i in (2, 19, 20, 21))
        assert 40 <= size <= 140, name  # readable on 1080x1920, not a wall of text
        assert margin_r >= 0.12 * 1080 and margin_l >= 0.05 * 1080, name  # the button column
        if fields[18] != "5":
            assert margin_v >= 0.2 * 1920, name  # above the platform's caption and buttons


def test_options_change_a_preset_and_are_written_back():
    style = parse_style("boxed, font=DejaVu Serif, size=0.06, colour=#00ff00, "
                        "highlight=FF0000, position=middle, uppercase=yes")
    assert (style.font, style.size, style.colour, style.highlight) == (
        "DejaVu Serif", 0.06, "#00FF00", "#FF0000")
    assert style.position == "middle" and style.uppercase and style.box
    assert parse_style(style_text(style)) == style
    fields = _style_line(to_ass(_lines(), 1080, 1080, style))
    assert fields[1] == "DejaVu Serif" and fields[3] == ass_colour("#00FF00") == "&H0000FF00"


@pytest.mark.parametrize("bad", ["neon", "boxed,size=9", "boxed,colour=red", "boxed,size",
                                 "boxed,position=top", "boxed,font=Evil}{\\an8", "boxed,x=1"])
def test_bad_styles_are_refused_with_what_to_use(bad):
    with pytest.raises(InputError, match="caption"):
        parse_style(bad)


def test_keywords_stand_out_in_every_style():
    lines = _lines()
    said = [w for line in lines for w in line.words]
    keys = keywords("Why placement beats price", said)
    assert keys == {"placement", "beats", "price"}
    assert keywords("Ten dollars", [Word(0, 1, "$10", 0.9)]) == {"10"}
    for name, style in PRESETS.items():
        ass = to_ass(lines, 1080, 1920, style, keys)
        word = "PRICE" if style.uppercase else "price"
        lit = ass_colour(style.highlight, alpha=False)
        assert (f"{{\\c{lit}}}{word}" if style.box else f"\\fscx112\\fscy112}}{word}") in ass, name
        assert "\\fscx112\\fscy112}every" not in ass.lower()


def test_previews_are_drawn_for_every_preset(tmp_path):
    from PIL import Image

    from orchestrator.pipeline.render.preview import preview_styles

    pictures = preview_styles(tmp_path)
    assert [p.stem for p in pictures] == list(PRESETS)
    images = {p.stem: Image.open(p).convert("RGB") for p in pictures}
    assert all(image.size == (360, 640) for image in images.values())
    assert len({image.tobytes() for image in images.values()}) == len(PRESETS)  # all differ
