"""Transcript JSON and merging chunk results into video time."""

from __future__ import annotations

import numpy as np

from orchestrator.contracts.transcript import ChunkTranscript, Segment, Transcript, Word
from orchestrator.pipeline.asr import AsrInput, TranscriptPrefix, chunk_inputs, merge
from orchestrator.pipeline.audio import AudioChunk


def chunk_result(language: str, text: str, start: float) -> ChunkTranscript:
    word = Word(start, start + 0.4, text, 0.9)
    return ChunkTranscript(language, (Segment(start, start + 0.4, text, (word,)),))


def test_chunk_transcript_json_round_trip():
    original = chunk_result("en", "héllo", 0.25)
    assert ChunkTranscript.from_json(original.to_json()) == original
    assert ChunkTranscript.from_json(original.to_json().encode()) == original


def test_merge_shifts_into_video_time_and_orders():
    chunks = (AudioChunk.of(100.0, np.zeros(16000, np.float32)),
              AudioChunk.of(10.0, np.zeros(16000, np.float32)))
    results = [chunk_result("en", "late", 0.5), chunk_result("en", "early", 1.0)]
    merged = merge(chunks, results, duration_s=200.0)
    assert [s.text for s in merged.segments] == ["early", "late"]
    assert merged.segments[0].start == 11.0 and merged.segments[0].words[0].start == 11.0
    assert merged.segments[1].words[0].end == 100.9
    assert merged.language == "en" and merged.text == "early late"


def test_merge_language_prefers_request_then_majority_of_spoken_chunks():
    chunks = tuple(AudioChunk.of(float(i), np.zeros(10, np.float32)) for i in range(3))
    results = [chunk_result("de", "a", 0), chunk_result("de", "b", 0),
               ChunkTranscript("en", ())]
    assert merge(chunks, results, 3.0).language == "de"
    assert merge(chunks, results, 3.0, language="fr").language == "fr"


def test_transcript_dict_round_trip():
    t = Transcript("en", 12.5, (chunk_result("en", "x", 1.0).segments[0],))
    assert Transcript.from_dict(t.to_dict()) == t


def test_chunk_inputs_follow_the_contract():
    inputs = chunk_inputs(AudioChunk.of(0.0, np.ones(5, np.float64)), "en")
    assert inputs["AUDIO"].shape == (1, 5) and inputs["AUDIO"].dtype == np.float32
    assert inputs["LANGUAGE"].shape == (1, 1) and inputs["LANGUAGE"][0, 0] == b"en"
    assert "LANGUAGE" not in chunk_inputs(AudioChunk.of(0.0, np.ones(5, np.float32)), None)


def test_prefix_grows_only_over_contiguous_chunks():
    chunks = tuple(AudioChunk.of(i * 30.0, np.zeros(10, np.float32)) for i in range(3))
    prefix = TranscriptPrefix(AsrInput(chunks=chunks, duration_s=90.0))
    assert prefix.add(1, chunk_result("en", "second", 1.0)) is None  # chunk 0 still missing
    first = prefix.add(0, chunk_result("en", "first", 1.0))
    assert first is not None and first.text == "first second"
    assert first.segments[1].start == 31.0
    complete = prefix.add(2, chunk_result("en", "third", 0.0))
    assert complete is not None and complete.text == "first second third"


def test_one_rule_ends_a_sentence_for_whisper_and_the_text_stage():
    # contracts/transcript.py: the served whisper cuts segments and the text stage cuts
    # sentences with the same rule, CJK marks and closing quotes included.
    from orchestrator.contracts.transcript import ends_sentence
    from orchestrator.pipeline.text.sentences import sentences

    assert ends_sentence(" done.") and ends_sentence(" 好。") and ends_sentence(' "Really?"')
    assert ends_sentence(" end.」") and not ends_sentence(" Mr") and not ends_sentence(" 1,")
    words = (Word(0.0, 0.5, "我们", 0.9), Word(0.5, 1.0, "开始。", 0.9),
             Word(1.2, 1.6, "好", 0.9), Word(1.6, 2.0, "吗？", 0.9))
    transcript = Transcript(language="zh", duration_s=2.0, segments=(
        Segment(0.0, 2.0, "我们开始。好吗？", words),))
    assert [(s.start_s, s.end_s) for s in sentences(transcript)] == [(0.0, 1.0), (1.2, 2.0)]
