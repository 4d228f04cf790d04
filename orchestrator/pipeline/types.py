"""The types that pass between the pipeline's stages, defined once.

A ``Sentence`` is a span of the transcript (``contracts.transcript``, what ``whisper`` returns)
cut at sentence-ending punctuation; the text stage proposes ``Candidate`` moments made of
sentences, and the select stage fits, scores and ranks them. The manifest's types, which the
run writes out, are in ``pipeline.manifest``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.contracts.transcript import Word


@dataclass(frozen=True)
class Sentence:
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Candidate:
    start_s: float
    end_s: float
    title: str
    hook: str
    reason: str
    text_score: float  # raw: the llm's 0-100 score, or the fallback's score
    origin: str  # "llm" or "transcript"

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

