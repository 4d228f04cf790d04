"""--prompt: the topic match without a model, and how it orders the choice."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np

from orchestrator.pipeline.manifest import Weights
from orchestrator.pipeline.select import SelectInput, select
from orchestrator.pipeline.text import TextSignalInput, TextSignalStage
from orchestrator.pipeline.text.topic import content_words, lexical_match
from orchestrator.pipeline.types import Candidate, Sentence


def test_content_words_drop_filler_and_meet_across_forms():
    assert content_words("the part about pricing") == content_words("prices") == ["pric"]
    assert lexical_match("the part about pricing", "Our prices went up twice.") == 1.0
    assert lexical_match("blankets and curtains", "Hang a curtain, then some blankets.") == 1.0
    assert lexical_match("blankets and curtains", "Buy a better microphone.") == 0.0
    assert lexical_match("microphone placement", "Place the microphones close.") == 1.0
    assert lexical_match("the clip about it", "anything") == 0.0  # no content words at all


def _candidate(start: float, text_score: float, match: float | None, kind: str = "highlight"
               ) -> Candidate:
    return Candidate(start, start + 20, f"at {start:g}", "h", "r", text_score, "llm", kind,
                     prompt_match=match)


def _select(cands: list[Candidate], clips: int) -> list[float]:
    result = select(SelectInput(tuple(cands), 600.0, np.arange(600.0), np.zeros(600), None,
                                Weights(), clips))
    return [c.candidate.start_s for c in result.chosen]


def test_on_topic_comes_first_then_off_topic_then_decoys():
    cands = [_candidate(0, 95, 0.1), _candidate(100, 40, 0.9), _candidate(200, 60, 0.7),
             _candidate(300, 99, 1.0, kind="sponsor")]
    # 100 and 200 are on the topic (>= 0.6 of the best non-decoy match, 0.9); the best rated
    # passage is off it and comes after them; the sponsor read stays last whatever it says.
    assert _select(cands, 4) == [200, 100, 0, 300]
    assert _select(cands, 1) == [200]  # 200 scores higher than 100 within the topic
    unsteered = [replace(c, prompt_match=None) for c in cands]
    assert _select(unsteered, 1) == [0]  # no topic: the best rated passage


def test_transcript_only_path_matches_each_passage(tmp_path):
    talk = [Sentence(0, 18, "Welcome to the show, today we talk about sound."),
            Sentence(20, 40, "Blankets and curtains soak up the echo in a small room."),
            Sentence(42, 60, "A studio microphone costs three hundred dollars.")]
    request = TextSignalInput(clips=1, min_len_s=10, max_len_s=20, llm_version="none",
                              prompt="blankets and curtains")
    stage = asyncio.run(TextSignalStage.start(request, None))  # type: ignore[arg-type]
    signal = asyncio.run(stage.finish(talk, 60.0))
    matches = {c.start_s: c.prompt_match for c in signal.candidates}
    assert matches[20] == 1.0 and matches[42] == 0.0
