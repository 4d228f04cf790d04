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


# What a candidate passage is. A "sponsor" read, an "intro", an "outro" or a "call_to_action"
# is never ranked above a "highlight" or "filler" (select); the llm or the cues say which.
DECOYS = ("sponsor", "intro", "outro", "call_to_action")
KINDS = ("highlight", *DECOYS, "filler")
# A passage the llm rated but was not asked the kind of: it is asked only once the passage may
# be chosen (``TextSignalStage.classify``); the cues may still have called it a decoy.
UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class Candidate:
    start_s: float
    end_s: float
    title: str
    hook: str
    reason: str
    text_score: float  # 0-100: the llm's rating of the passage, or the fallback's score
    origin: str  # "llm" or "transcript"
    kind: str = "filler"  # one of KINDS, or UNCLASSIFIED
    prompt_match: float | None = None  # 0..1 against the creator's topic; None: no topic given

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

