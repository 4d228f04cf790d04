"""A failed llm request is never silently replaced by the fallback: logged, and in the notes."""

from __future__ import annotations

import asyncio
import logging

from orchestrator.pipeline.manifest import ModelRef
from orchestrator.pipeline.text import TextSignalInput, TextSignalStage
from orchestrator.pipeline.text.rating import Description, Rating
from orchestrator.pipeline.types import Sentence
from orchestrator.serving.client import ModelRequestError


class RefusingJudge:
    """A passage judge whose model refused the request, as the pinned vLLM backend does."""

    async def rate(self, passage: str, prompt: str | None = None) -> object:
        raise ModelRequestError("llm: sampling_parameters: structured_outputs must be a JSON "
                                "string")


def test_a_refused_llm_request_is_logged_and_noted(caplog):
    sentences = [Sentence(float(i * 5), float(i * 5 + 4), f"Sentence number {i} here.")
                 for i in range(12)]
    stage = TextSignalStage(TextSignalInput(clips=2, min_len_s=8, max_len_s=20),
                            RefusingJudge(), ModelRef("llm", "1"), [])  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        signal = asyncio.run(stage.finish(sentences, 60.0))
    assert signal.signal == "transcript" and signal.candidates
    assert any("llm failed" in note and "JSON string" in note for note in signal.notes)
    assert any("transcript-only fallback" in note for note in signal.notes)
    assert "must be a JSON string" in caplog.text


class FlakyJudge:
    """Rates every passage but the one about sentence 5, whose request the server refused."""

    async def rate(self, passage: str, prompt: str | None = None) -> Rating:
        if "number 5 " in passage:
            raise ModelRequestError("llm: the request timed out")
        return Rating("highlight", 5.0 + passage.count("number 1"), 100, 2)

    async def describe(self, passage: str) -> Description:
        if "number 1" in passage:
            raise ModelRequestError("llm: cancelled")
        return Description("A title", "A reason of its own.")


def test_one_failed_passage_keeps_the_others_ratings():
    sentences = [Sentence(float(i * 5), float(i * 5 + 4), f"Sentence number {i} here.")
                 for i in range(12)]
    stage = TextSignalStage(TextSignalInput(clips=3, min_len_s=8, max_len_s=12),
                            FlakyJudge(), ModelRef("llm", "1"), [])  # type: ignore[arg-type]
    signal = asyncio.run(stage.finish(sentences, 60.0))
    assert signal.signal == "llm"
    origins = {c.origin for c in signal.candidates}
    assert origins == {"llm", "transcript"}  # the failed passage alone fell back
    (fallen,) = [c for c in signal.candidates if c.origin == "transcript"]
    assert fallen.start_s <= 25 <= fallen.end_s and "could not rate" in fallen.reason
    assert any("could not rate 1 of" in note and "timed out" in note for note in signal.notes)
    # A failed description leaves the candidate with its own first words as the title.
    assert all(c.title for c in signal.candidates)
