"""Asking the ``llm`` model for candidate moments: schema, chunking, prompts, validation.

The transcript's sentences (``sentences``, from word timestamps) are packed into chunks that fit the
model's context with a few sentences of overlap, and each chunk becomes one chat prompt built
with the served model's own chat template. The answer is JSON constrained by ``moments_schema``
(vLLM structured outputs), so it always parses; what it says is still checked: a moment must lie
inside the chunk it came from, or it is dropped rather than trusted. Answers from overlapping
chunks are merged, keeping the better of two moments that cover mostly the same time.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.pipeline.types import Sentence


def moments_schema(max_moments: int = 5) -> dict[str, Any]:
    """JSON schema of the ``llm`` answer: ``{"moments": [...]}``."""
    moment = {
        "type": "object",
        "properties": {
            "start_s": {"type": "number", "minimum": 0},
            "end_s": {"type": "number", "minimum": 0},
            "title": {"type": "string", "minLength": 1, "maxLength": 100},
            "hook": {"type": "string", "minLength": 1, "maxLength": 200},
            "reason": {"type": "string", "minLength": 1, "maxLength": 300},
            "score": {"type": "integer", "minimum": 0, "maximum": 100},
        },
        "required": ["start_s", "end_s", "title", "hook", "reason", "score"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"moments": {"type": "array", "items": moment, "minItems": 1,
                                   "maxItems": max_moments}},
        "required": ["moments"],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class TranscriptChunk:
    index: int
    sentences: tuple[Sentence, ...]

    @property
    def start_s(self) -> float:
        return self.sentences[0].start_s

    @property
    def end_s(self) -> float:
        return self.sentences[-1].end_s

    def render(self) -> str:
        """One line per sentence, prefixed with its start and end in seconds."""
        return "\n".join(f"[{s.start_s:.1f}-{s.end_s:.1f}] {s.text}" for s in self.sentences)


@dataclass(frozen=True)
class Moment:
    start_s: float
    end_s: float
    title: str
    hook: str
    reason: str
    score: int
    chunk: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class SentencePacker:
    """Packs sentences, fed one at a time, into chunks whose rendered text fits a budget.

    Each chunk after the first repeats the last ``overlap`` sentences of the one before, so a
    moment that straddles a boundary is seen whole at least once. A single sentence longer
    than the budget becomes a chunk of its own (the model truncates nothing silently: the
    server refuses an over-long prompt). A chunk is closed by the first sentence that does not
    fit, so ``add`` returns every chunk as soon as it can no longer change.
    """

    def __init__(self, count_tokens: Callable[[str], int], budget_tokens: int,
                 overlap: int = 2) -> None:
        self._count_tokens = count_tokens
        self._budget = budget_tokens
        self._overlap = overlap
        self._current: list[Sentence] = []
        self._fresh = 0  # sentences in `current` not carried over from the previous chunk
        self._closed = 0

    def add(self, sentence: Sentence) -> list[TranscriptChunk]:
        """Take the next sentence; returns the chunk it closed, if any."""
        candidate = [*self._current, sentence]
        text = TranscriptChunk(0, tuple(candidate)).render()
        if self._current and self._fresh and self._count_tokens(text) > self._budget:
            closed = self._close()
            self._current = ([*self._current[-self._overlap:], sentence] if self._overlap
                             else [sentence])
            self._fresh = 1
            return [closed]
        self._current, self._fresh = candidate, self._fresh + 1
        return []

    def flush(self) -> list[TranscriptChunk]:
        """The last, open chunk (when it holds any sentence of its own)."""
        return [self._close()] if self._current and self._fresh else []

    def _close(self) -> TranscriptChunk:
        chunk = TranscriptChunk(self._closed, tuple(self._current))
        self._closed += 1
        return chunk


def chunk_sentences(items: Sequence[Sentence], count_tokens: Callable[[str], int],
                    budget_tokens: int, overlap: int = 2) -> list[TranscriptChunk]:
    """Pack all of ``items`` into chunks (see ``SentencePacker``)."""
    packer = SentencePacker(count_tokens, budget_tokens, overlap)
    chunks = [chunk for sentence in items for chunk in packer.add(sentence)]
    return chunks + packer.flush()


INSTRUCTIONS = (
    "You pick moments from a video transcript that would work as short standalone clips on "
    "social media: a strong hook in the first seconds, a complete thought, a surprise, a "
    "useful tip or an emotional peak. Each transcript line starts with [start-end] in seconds. "
    "Return up to {k} moments, each {min_s:.0f} to {max_s:.0f} seconds long, whose start_s "
    "and end_s are times from these lines. Give each a short title, the hook (the opening "
    "line that grabs attention), the reason it would be popular, and a score from 0 to 100. "
    "Answer with JSON only."
)


class PromptBuilder:
    """Chat prompts for one served model, rendered with that model's chat template."""

    def __init__(self, tokenizer: Any, *, max_moments: int = 5, min_len_s: float = 15.0,
                 max_len_s: float = 60.0) -> None:
        self._tokenizer = tokenizer
        self.max_moments = max_moments
        self._instructions = INSTRUCTIONS.format(k=max_moments, min_s=min_len_s,
                                                 max_s=max_len_s)

    @classmethod
    def from_pretrained(cls, path: str, **kwargs: Any) -> PromptBuilder:
        return cls(_tokenizer(path), **kwargs)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def overhead_tokens(self) -> int:
        """Tokens the prompt takes besides the transcript lines."""
        return self.count_tokens(self.build_text(""))

    def build_text(self, transcript_lines: str) -> str:
        # The instructions go into the user turn: Mistral's template has no system role.
        messages = [{"role": "user",
                     "content": f"{self._instructions}\n\nTranscript:\n{transcript_lines}"}]
        return self._tokenizer.apply_chat_template(messages, tokenize=False,
                                                   add_generation_prompt=True)

    def build(self, chunk: TranscriptChunk) -> str:
        return self.build_text(chunk.render())


_TOKENIZER_LOCK = threading.Lock()


@functools.cache
def _load_tokenizer(path: str) -> Any:
    # Only the tokenizer is used; keep transformers' "PyTorch was not found" advice quiet.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def _tokenizer(path: str) -> Any:
    """One tokenizer per path, loaded once: transformers' lazy imports are not thread-safe
    (two jobs loading at once in the service failed with "cannot import name AutoTokenizer")."""
    with _TOKENIZER_LOCK:
        return _load_tokenizer(path)


def parse_moments(text: str, chunk: TranscriptChunk, *, slack_s: float = 1.0) -> list[Moment]:
    """The moments in one answer that are well-formed and lie inside ``chunk``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return []
    items = data.get("moments") if isinstance(data, dict) else None
    moments = []
    for item in items if isinstance(items, list) else []:
        try:
            start, end = float(item["start_s"]), float(item["end_s"])
            score = int(item["score"])
            title, hook, reason = (str(item[k]).strip() for k in ("title", "hook", "reason"))
        except (KeyError, TypeError, ValueError):
            continue
        inside = chunk.start_s - slack_s <= start < end <= chunk.end_s + slack_s
        if inside and 0 <= score <= 100 and title:
            moments.append(Moment(start, end, title, hook, reason, score, chunk.index))
    return moments


def overlap_ratio(a: Moment, b: Moment) -> float:
    """Temporal intersection over union."""
    inter = max(0.0, min(a.end_s, b.end_s) - max(a.start_s, b.start_s))
    union = max(a.end_s, b.end_s) - min(a.start_s, b.start_s)
    return inter / union if union > 0 else 0.0


def merge_moments(moments: Sequence[Moment], *, max_overlap: float = 0.5) -> list[Moment]:
    """Best first; a moment overlapping a better one by more than ``max_overlap`` is a duplicate."""
    kept: list[Moment] = []
    for moment in sorted(moments, key=lambda m: (-m.score, m.start_s)):
        if all(overlap_ratio(moment, k) <= max_overlap for k in kept):
            kept.append(moment)
    return kept
