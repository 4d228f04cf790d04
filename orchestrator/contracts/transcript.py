"""Transcript data: what the ``whisper`` model returns for a chunk, and the merged transcript.

``ChunkTranscript`` is the JSON carried by the ``TRANSCRIPT`` tensor (times relative to the
chunk). ``Transcript`` is the whole video's transcript in video time, written as
``transcript.json``. Both the Triton model and the orchestrator use these classes, so the JSON
shape is defined once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# A word ending with one of these (before any closing quote or bracket) ends a sentence: the
# served whisper cuts its segments there and the text stage its sentences.
SENTENCE_ENDS = (".", "!", "?", "…", "。", "！", "？")
CLOSING_MARKS = "\"')]}”’」"


def ends_sentence(word: str) -> bool:
    """Whether ``word`` (as transcribed, with its spacing) ends a sentence."""
    return word.strip().rstrip(CLOSING_MARKS).endswith(SENTENCE_ENDS)


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float

    def shifted(self, offset_s: float) -> Word:
        return Word(round(self.start + offset_s, 3), round(self.end + offset_s, 3), self.word,
                    self.probability)


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()

    def shifted(self, offset_s: float) -> Segment:
        return Segment(
            round(self.start + offset_s, 3),
            round(self.end + offset_s, 3),
            self.text,
            tuple(w.shifted(offset_s) for w in self.words),
        )


def _segments_from(items: list[dict[str, Any]]) -> tuple[Segment, ...]:
    return tuple(
        Segment(
            start=float(s["start"]),
            end=float(s["end"]),
            text=str(s["text"]),
            words=tuple(Word(float(w["start"]), float(w["end"]), str(w["word"]),
                             float(w["probability"])) for w in s.get("words", [])),
        )
        for s in items
    )


@dataclass(frozen=True)
class ChunkTranscript:
    """The ``whisper`` model's answer for one chunk; times are seconds from the chunk start."""

    language: str
    segments: tuple[Segment, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> ChunkTranscript:
        data = json.loads(text)
        return cls(language=str(data["language"]), segments=_segments_from(data["segments"]))


@dataclass(frozen=True)
class Transcript:
    """A whole video's transcript in video time."""

    language: str
    duration_s: float
    segments: tuple[Segment, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return cls(language=str(data["language"]), duration_s=float(data["duration_s"]),
                   segments=_segments_from(data["segments"]))
