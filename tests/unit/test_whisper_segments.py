"""A chunk decoded without timestamp tokens is one segment; it is cut at sentence ends by the
times of its words (``whisper_batch._at_sentence_ends``)."""

from __future__ import annotations

from orchestrator.backends.whisper_batch import _at_sentence_ends


def word(text: str, start: float, end: float) -> dict:
    return {"word": text, "start": start, "end": end, "probability": 0.9}


def test_a_chunk_is_cut_after_each_sentence_timed_by_its_words():
    words = [word(" Hello", 0.5, 0.9), word(" there.", 0.9, 1.4), word(" Is", 2.0, 2.2),
             word(" it", 2.2, 2.3), word(" \"good?\"", 2.3, 2.9), word(" Yes", 3.5, 3.9)]
    raw = {"start": 0.0, "end": 30.0, "tokens": [1, 2], "text": " Hello there. Is it ...",
           "seek": 0, "words": words}
    parts = _at_sentence_ends(raw)
    assert [(p["start"], p["end"], p["text"]) for p in parts] == [
        (0.5, 1.4, " Hello there."), (2.0, 2.9, " Is it \"good?\""), (3.5, 3.9, " Yes")]
    assert [len(p["words"]) for p in parts] == [2, 3, 1]


def test_one_sentence_or_no_words_stays_as_decoded():
    one = {"start": 0.0, "end": 4.0, "text": " Fine.", "words": [word(" Fine.", 0.2, 0.6)]}
    assert _at_sentence_ends(one) == [one]
    bare = {"start": 0.0, "end": 4.0, "text": " Fine"}
    assert _at_sentence_ends(bare) == [bare]


def test_chinese_sentence_ends_cut_too():
    words = [word("你好。", 0.0, 0.8), word("再见", 1.0, 1.6)]
    parts = _at_sentence_ends({"start": 0.0, "end": 2.0, "text": "你好。再见", "words": words})
    assert [p["text"] for p in parts] == ["你好。", "再见"]
