"""Prompting the llm: sentences, chunking with overlap, prompts, validation and merging."""

from __future__ import annotations

import itertools
import json

import jsonschema
import pytest

from orchestrator.contracts.transcript import Segment, Transcript, Word
from orchestrator.paths import model_repository
from orchestrator.pipeline.text.prompt import (
    Moment,
    PromptBuilder,
    TranscriptChunk,
    chunk_sentences,
    merge_moments,
    moments_schema,
    parse_moments,
)
from orchestrator.pipeline.text.sentences import sentences
from orchestrator.pipeline.types import Sentence


def transcript() -> Transcript:
    words = [("Hello", 0.0), ("there.", 0.5), ("This", 1.2), ("is", 1.5), ("great!", 1.8),
             ("Really?", 3.0), ("Yes", 4.0)]
    segment = Segment(0.0, 4.4, "Hello there. This is great! Really? Yes",
                      tuple(Word(s, s + 0.4, w, 0.9) for w, s in words))
    return Transcript("en", 5.0, (segment,))


def test_sentences_follow_punctuation_and_word_times():
    assert sentences(transcript()) == [
        Sentence(0.0, 0.9, "Hello there."), Sentence(1.2, 2.2, "This is great!"),
        Sentence(3.0, 3.4, "Really?"), Sentence(4.0, 4.4, "Yes")]


def make_sentences(n: int) -> list[Sentence]:
    return [Sentence(i * 10.0, i * 10.0 + 9.0, f"sentence number {i} " + "word " * 5)
            for i in range(n)]


def count_words(text: str) -> int:
    return len(text.split())


def test_chunks_fit_the_budget_and_overlap():
    items = make_sentences(20)
    chunks = chunk_sentences(items, count_words, budget_tokens=40, overlap=2)
    assert len(chunks) > 3
    for chunk in chunks:
        assert count_words(chunk.render()) <= 40
    for before, after in itertools.pairwise(chunks):
        assert after.sentences[:2] == before.sentences[-2:]  # the overlap
    covered = {s for c in chunks for s in c.sentences}
    assert covered == set(items)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_oversized_sentence_is_a_chunk_of_its_own():
    items = [Sentence(0, 1, "short one"), Sentence(1, 2, "long " * 100), Sentence(2, 3, "end")]
    chunks = chunk_sentences(items, count_words, budget_tokens=10, overlap=0)
    assert [len(c.sentences) for c in chunks] == [1, 1, 1]


CHUNK = TranscriptChunk(0, (Sentence(100.0, 110.0, "a"), Sentence(110.0, 160.0, "b")))


def answer(*moments: dict) -> str:
    return json.dumps({"moments": list(moments)})


def moment(start: float, end: float, score: int = 50, **extra: object) -> dict:
    return {"start_s": start, "end_s": end, "title": "t", "hook": "h", "reason": "r",
            "score": score, **extra}


def test_parse_keeps_only_moments_inside_their_chunk():
    text = answer(moment(100, 130), moment(150, 161), moment(90, 120), moment(140, 200),
                  moment(130, 125), moment(120, 140, score=101))
    parsed = parse_moments(text, CHUNK)
    assert [(m.start_s, m.end_s) for m in parsed] == [(100, 130), (150, 161)]
    assert parsed[0].chunk == 0
    assert parse_moments("not json", CHUNK) == []
    assert parse_moments(json.dumps({"moments": [{"start_s": "x"}]}), CHUNK) == []


def test_schema_accepts_what_parse_accepts():
    schema = moments_schema(3)
    jsonschema.validate(json.loads(answer(moment(100, 130))), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(answer(moment(100, 130, score=101))), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(answer(*[moment(100, 130)] * 4)), schema)


def test_merge_removes_duplicates_from_overlapping_chunks():
    a = Moment(100, 130, "a", "h", "r", 80, 0)
    a_again = Moment(102, 131, "a'", "h", "r", 70, 1)
    b = Moment(125, 150, "b", "h", "r", 60, 1)
    assert merge_moments([a_again, b, a]) == [a, b]


def test_prompt_uses_the_models_chat_template():
    folder = model_repository() / "llm" / "3" / "hf"
    if not (folder / "tokenizer.json").is_file():
        pytest.fail("llm weights missing; run scripts/setup.sh", pytrace=False)
    builder = PromptBuilder.from_pretrained(str(folder), max_moments=3)
    prompt = builder.build(CHUNK)
    assert prompt.startswith("<|im_start|>")  # SmolLM2's template, not a hand-made format
    assert prompt.rstrip().endswith("<|im_start|>assistant")
    assert "[100.0-110.0] a" in prompt and "up to 3 moments" in prompt
    assert builder.count_tokens(prompt) > builder.count_tokens(CHUNK.render())
