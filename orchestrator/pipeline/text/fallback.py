"""Transcript-only candidates: the fallback when the ``llm`` gives nothing usable.

A window of whole sentences starts at every sentence and grows to about ``target_len_s``. Each
window is scored on what marks an exciting stretch of talk without understanding it: how fast
the words come (words per second), how emphatic they are (exclamation and question marks and
intensity words, per sentence) and how loud the voice is against the talk's median (dB). Each
feature is min-max normalized over the windows and the three are averaged with equal weight.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from orchestrator.contracts.models import WHISPER_SAMPLE_RATE
from orchestrator.pipeline.select import normalize
from orchestrator.pipeline.types import Candidate, Sentence

INTENSITY_WORDS = frozenset((
    "amazing", "awesome", "best", "biggest", "crazy", "huge", "incredible", "insane", "secret",
    "shocking", "surprise", "surprised", "surprising", "unbelievable", "wow", "never", "always",
    "everyone", "nobody", "instantly", "massive", "win", "wins", "winner",
))
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class WindowFeatures:
    words_per_s: float
    emphasis: float  # marks and intensity words per sentence
    loudness_db: float  # RMS level against the talk's median level


def _loudness_db(audio: np.ndarray, start_s: float, end_s: float) -> float:
    a = audio[int(start_s * WHISPER_SAMPLE_RATE):int(end_s * WHISPER_SAMPLE_RATE)]
    return float(10 * np.log10(np.mean(a.astype(np.float64) ** 2) + 1e-12)) if a.size else -120.0


def features(window: Sequence[Sentence], levels_db: Sequence[float]) -> WindowFeatures:
    """The window's features; ``levels_db`` holds each of its sentences' loudness."""
    start, end = window[0].start_s, window[-1].end_s
    text = " ".join(s.text for s in window)
    words = _WORD.findall(text.lower())
    marks = text.count("!") + text.count("?")
    intense = sum(1 for w in words if w in INTENSITY_WORDS)
    return WindowFeatures(words_per_s=len(words) / max(end - start, 1e-3),
                          emphasis=(marks + intense) / len(window),
                          loudness_db=float(np.mean(levels_db)))


def _windows(sentences: Sequence[Sentence], target_len_s: float, max_len_s: float
             ) -> list[tuple[int, int]]:
    spans = []
    for i in range(len(sentences)):
        j = i
        while (j + 1 < len(sentences)
               and sentences[j].end_s - sentences[i].start_s < target_len_s
               and sentences[j + 1].end_s - sentences[i].start_s <= max_len_s):
            j += 1
        spans.append((i, j))
    return spans


def transcript_candidates(sentences: Sequence[Sentence], audio: np.ndarray, *,
                          target_len_s: float) -> list[Candidate]:
    """Scored sentence windows of about ``target_len_s`` seconds (may overlap)."""
    spans = _windows(sentences, target_len_s, max_len_s=target_len_s * 1.5)
    if not spans:
        return []
    levels = [_loudness_db(audio, s.start_s, s.end_s) for s in sentences]  # once each
    feats = [features(sentences[i:j + 1], levels[i:j + 1]) for i, j in spans]
    median_db = float(np.median(levels))
    scores = (normalize([f.words_per_s for f in feats]) + normalize([f.emphasis for f in feats])
              + normalize([f.loudness_db for f in feats])) / 3
    out = []
    for (i, j), f, score in zip(spans, feats, scores, strict=True):
        first = sentences[i].text.strip()
        reason = (f"Transcript-only pick: {f.words_per_s:.1f} words/s, "
                  f"{f.emphasis:.1f} emphatic marks or words per sentence, "
                  f"{f.loudness_db - median_db:+.1f} dB against the talk's median level.")
        out.append(Candidate(start_s=sentences[i].start_s, end_s=sentences[j].end_s,
                             title=_title(first), hook=first[:200], reason=reason,
                             text_score=round(float(score) * 100, 2), origin="transcript"))
    return out


def _title(sentence: str, limit: int = 60) -> str:
    if len(sentence) <= limit:
        return sentence.rstrip(".")
    return sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
