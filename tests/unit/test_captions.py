"""Captions: lines from word timestamps, clip-relative timing, SRT and ASS output."""

from __future__ import annotations

import itertools
import re

from orchestrator.contracts.transcript import Word
from orchestrator.pipeline.render.captions import caption_lines, clip_words, to_ass, to_srt


def words(start: float, texts: list[str], step: float = 0.4) -> list[Word]:
    return [Word(start + i * step, start + i * step + 0.3, w, 0.9) for i, w in enumerate(texts)]


def test_clip_words_are_shifted_and_clamped():
    spoken = words(9.0, ["before", "inside", "edge"], step=1.0)  # 9-9.3, 10-10.3, 11-11.3
    got = clip_words(spoken, 10.1, 11.2)
    assert [w.word for w in got] == ["inside", "edge"]
    assert got[0].start == 0.0 and got[-1].end <= 1.1


def test_lines_break_at_sentences_pauses_and_length():
    spoken = words(0.0, ["Hello", "there.", "This", "is", "a", "rather", "long", "line",
                         "indeed"]) + words(10.0, ["After", "pause"])
    lines = caption_lines(spoken, 12.0)
    texts = [c.text for c in lines]
    assert texts[0] == "Hello there."
    assert all(len(t) <= 26 for t in texts)
    assert texts[-1] == "After pause"
    for a, b in itertools.pairwise(lines):
        assert a.end_s <= b.start_s
    assert all(0 <= c.start_s < c.end_s <= 12.0 for c in lines)


def test_srt_format_and_times():
    lines = caption_lines(words(0.5, ["One", "two."]), 5.0)
    srt = to_srt(lines)
    assert srt.startswith("1\n00:00:00,500 --> 00:00:01,")
    assert re.fullmatch(r"(\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.+\n\n?)+", srt)


def test_ass_highlights_each_spoken_word_and_escapes():
    lines = caption_lines(words(0.0, ["{odd}", "word."]), 3.0)
    ass = to_ass(lines, 1080, 1920)
    assert "PlayResX: 1080" in ass and "PlayResY: 1920" in ass
    events = [ln for ln in ass.splitlines() if ln.startswith("Dialogue:")]
    assert len(events) == 2
    assert "\\{odd\\}" in events[0] and "{\\c&H00D4FF&}\\{odd\\}" in events[0]
    assert "{\\c&H00D4FF&}word." in events[1]
