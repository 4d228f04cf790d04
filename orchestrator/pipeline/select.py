"""Select stage: fuse the signals, keep the best non-overlapping moments, cut at sentence edges.

Every candidate moment (from the ``llm``, or from the transcript-only fallback) is first fitted
to the transcript: its start moves to the start of the sentence it falls in, its end to the end
of its sentence, then whole sentences are added or dropped until it lies within the length
limits (a single sentence too long for the limit is cut at a word edge). Then, per signal,
scores are normalized over the run's candidates with min-max scaling (each signal separately,
across candidates - the SNAP prototype's softmax ran over the wrong axis) and fused:

    vision = (w_similarity * similarity + w_visual_change * visual_change)
             / (w_similarity + w_visual_change)          (visual change alone when skipped)
    score  = (w_text * text + w_vision * vision) / (w_text + w_vision)

The weights are ``manifest.Weights`` (the CLI's ``--weights``) and are written into the
manifest. Non-maximum suppression then takes candidates best first (the ``llm``'s moments before
the transcript-only windows that fill in for them) and drops any that overlaps one already
kept, until ``clips`` are chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from orchestrator.pipeline.manifest import ClipScores, Weights
from orchestrator.pipeline.types import Candidate, Sentence

LEAD_IN_S = 0.15  # start a little before the first word ...
TAIL_S = 0.4  # ... and end a little after the last, inside the silence around them


@dataclass(frozen=True)
class SelectInput:
    candidates: tuple[Candidate, ...]  # already fitted (``fit_candidates``)
    duration_s: float
    frame_times_s: np.ndarray  # (N,) sampled frame times
    visual_change: np.ndarray  # (N,) 0..1 per frame
    similarity: tuple[float, ...] | None  # per candidate raw cosine, None when skipped
    weights: Weights
    clips: int


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    scores: ClipScores
    score: float


@dataclass(frozen=True)
class SelectResult:
    chosen: tuple[Scored, ...]  # best first
    scored: tuple[Scored, ...]  # every candidate
    curve_times_s: np.ndarray  # one point per second
    curve: np.ndarray  # fused score of the best candidate covering each second (0: none)


def fit_span(start_s: float, end_s: float, sentences: Sequence[Sentence], *, min_len_s: float,
             max_len_s: float, duration_s: float) -> tuple[float, float]:
    """Move ``[start_s, end_s]`` to sentence edges and within ``[min_len_s, max_len_s]``.

    Args:
        start_s, end_s: the proposed span in video seconds.
        sentences: the transcript's sentences in time order, with their words.
        min_len_s, max_len_s: the clip length limits (``min_len_s <= duration_s``).
        duration_s: the video's length; the span stays inside it.

    Returns:
        The fitted (start, end), with a short lead-in and tail where the silence allows.
    """
    if not sentences:
        return _pad_to(max(0.0, start_s), min(duration_s, max(end_s, start_s)), min_len_s,
                       max_len_s, duration_s)
    ends = [s.end_s for s in sentences]
    i = next((k for k, e in enumerate(ends) if e > start_s), len(sentences) - 1)
    j = max(i, next((k for k in range(len(sentences) - 1, -1, -1)
                     if sentences[k].start_s < end_s), i))

    def length(a: int, b: int) -> float:
        return sentences[b].end_s - sentences[a].start_s + LEAD_IN_S + TAIL_S

    while length(i, j) < min_len_s and (j + 1 < len(sentences) or i > 0):
        if j + 1 < len(sentences) and length(i, j + 1) <= max_len_s:
            j += 1
        elif i > 0 and length(i - 1, j) <= max_len_s:
            i -= 1
        else:
            break
    while length(i, j) > max_len_s and j > i:
        j -= 1
    start, end = sentences[i].start_s, sentences[j].end_s
    if end - start + LEAD_IN_S + TAIL_S > max_len_s:  # one sentence longer than the limit
        words = sentences[i].words
        fits = [w.end for w in words if w.end - start + LEAD_IN_S + TAIL_S <= max_len_s]
        end = fits[-1] if fits else start + max_len_s - LEAD_IN_S - TAIL_S
    previous_end = sentences[i - 1].end_s if i > 0 else 0.0
    next_start = sentences[j + 1].start_s if j + 1 < len(sentences) else duration_s
    start = max(0.0, min(start, max(previous_end, start - LEAD_IN_S)))
    end = min(duration_s, max(end, min(next_start, end + TAIL_S)))
    return _pad_to(start, end, min_len_s, max_len_s, duration_s)


def _pad_to(start: float, end: float, min_len_s: float, max_len_s: float, duration_s: float
            ) -> tuple[float, float]:
    """Widen a span shorter than ``min_len_s`` evenly (within the video), cap at max."""
    start, end = max(0.0, start), min(duration_s, end)
    missing = min_len_s - (end - start)
    if missing > 0:
        end = min(duration_s, end + missing / 2)
        start = max(0.0, end - min_len_s)
        end = min(duration_s, start + min_len_s)
    end = min(end, start + max_len_s)
    return round(start, 3), round(end, 3)


def fit_candidates(candidates: Sequence[Candidate], sentences: Sequence[Sentence], *,
                   min_len_s: float, max_len_s: float, duration_s: float) -> list[Candidate]:
    fitted = []
    for c in candidates:
        start, end = fit_span(c.start_s, c.end_s, sentences, min_len_s=min_len_s,
                              max_len_s=max_len_s, duration_s=duration_s)
        fitted.append(replace(c, start_s=start, end_s=end))
    return fitted


def normalize(values: Sequence[float]) -> np.ndarray:
    """Min-max scale to 0..1 across candidates; equal values all become 1 (or 0 if all <= 0)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return array
    low, high = float(array.min()), float(array.max())
    if high - low < 1e-9:
        return np.full(array.shape, 1.0 if high > 0 else 0.0)
    return (array - low) / (high - low)


def span_mean(times_s: np.ndarray, values: np.ndarray, start_s: float, end_s: float) -> float:
    """Mean of per-frame ``values`` whose time lies in the span (0 when there are none)."""
    inside = (times_s >= start_s) & (times_s < end_s)
    return float(values[inside].mean()) if inside.any() else 0.0


def overlaps(a: Candidate, b: Candidate) -> bool:
    return min(a.end_s, b.end_s) - max(a.start_s, b.start_s) > 1e-6


def non_max_suppression(scored: Sequence[Scored], k: int) -> list[Scored]:
    """Best first; skip any candidate overlapping one already kept; at most ``k``.

    The ``llm``'s moments go before transcript-only windows whatever their scores: the
    windows only fill the places the model's moments leave, then the result is ranked by score.
    """
    kept: list[Scored] = []
    order = sorted(scored, key=lambda s: (s.candidate.origin != "llm", -s.score,
                                          s.candidate.start_s))
    for item in order:
        if len(kept) == k:
            break
        if not any(overlaps(item.candidate, other.candidate) for other in kept):
            kept.append(item)
    return sorted(kept, key=lambda s: (-s.score, s.candidate.start_s))


def score_candidates(request: SelectInput) -> list[Scored]:
    """Normalized per-signal scores and the fused score of every candidate."""
    cands = request.candidates
    w = request.weights
    text = normalize([c.text_score for c in cands])
    change = normalize([span_mean(request.frame_times_s, request.visual_change, c.start_s,
                                  c.end_s) for c in cands])
    similarity = normalize(request.similarity) if request.similarity is not None else None
    out = []
    for n, c in enumerate(cands):
        if similarity is not None and w.similarity + w.visual_change > 0:
            vision = (w.similarity * similarity[n] + w.visual_change * change[n]) / (
                w.similarity + w.visual_change)
        else:
            vision = change[n]
        total = w.text + w.vision
        fused = (w.text * text[n] + w.vision * vision) / total if total > 0 else 0.0
        out.append(Scored(c, ClipScores(
            text=round(float(text[n]), 4), vision=round(float(vision), 4),
            similarity=round(float(similarity[n]), 4) if similarity is not None else None,
            visual_change=round(float(change[n]), 4)), round(float(fused), 4)))
    return out


def select(request: SelectInput) -> SelectResult:
    """Score every candidate, keep the best ``clips`` that do not overlap."""
    scored = score_candidates(request)
    chosen = non_max_suppression(scored, request.clips)
    times = np.arange(0.0, max(request.duration_s, 1.0), 1.0)
    curve = np.zeros(len(times))
    for item in scored:
        inside = (times >= item.candidate.start_s) & (times < item.candidate.end_s)
        curve[inside] = np.maximum(curve[inside], item.score)
    return SelectResult(tuple(chosen), tuple(scored), times, curve)
