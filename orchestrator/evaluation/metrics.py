"""How well chosen clips match what viewers replay: Hit@k, mAP and coverage-aware P/R.

The ground truth is YouTube's "Most Replayed" heatmap as yt-dlp returns it: bins of
``{start_time, end_time, value}`` with value in [0, 1]. Every function here is pure and takes
plain numbers, so each definition can be checked by hand (tests/unit/test_eval_metrics.py):

- **Hit@k** (the SNAP prototype's): a video is a hit when the middle of its highest heatmap
  bin (the earliest, on a tie) lies inside one of the top-k clips, ``start <= t < end``.
  Videos without a peak (no heatmap, or every value 0) are left out of the rate.
- **AP / mAP@p** (Mr.HiSum's): the heatmap is averaged into 5-second segments (time-weighted
  over the bins each overlaps); the top p % of segments (rounded down, at least one; ties
  broken towards the earlier segment) are positive; a method's per-segment scores are
  ranked and average precision is taken with every distinct score a threshold (tied scores
  enter together, as in scikit-learn's ``average_precision_score``).
- **Coverage precision / recall**: seconds of the clips (their union, clipped to the video)
  against the seconds of the positive segments; a longer clip covers more but is no longer
  precise for free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SEGMENT_S = 5.0


@dataclass(frozen=True)
class HeatBin:
    start_s: float
    end_s: float
    value: float


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float


def peak_time(heatmap: Sequence[HeatBin]) -> float | None:
    """Middle of the highest bin (the earliest of equals); None when there is no peak."""
    if not heatmap:
        return None
    best = max(range(len(heatmap)), key=lambda i: (heatmap[i].value, -i))
    if heatmap[best].value <= 0:
        return None
    return (heatmap[best].start_s + heatmap[best].end_s) / 2


def hit_at_k(peak_s: float, clips_by_rank: Sequence[Span], k: int) -> bool:
    """The peak lies inside one of the first ``k`` clips."""
    return any(c.start_s <= peak_s < c.end_s for c in clips_by_rank[:k])


def segment_values(heatmap: Sequence[HeatBin], duration_s: float,
                   segment_s: float = SEGMENT_S) -> np.ndarray:
    """The heatmap averaged over consecutive ``segment_s`` segments covering the video."""
    count = max(1, math.ceil(duration_s / segment_s - 1e-9))
    values = np.zeros(count)
    for j in range(count):
        lo, hi = j * segment_s, min((j + 1) * segment_s, duration_s)
        covered = total = 0.0
        for b in heatmap:
            overlap = min(hi, b.end_s) - max(lo, b.start_s)
            if overlap > 0:
                covered += overlap
                total += overlap * b.value
        values[j] = total / covered if covered else 0.0
    return values


def positive_segments(values: np.ndarray, top_fraction: float) -> np.ndarray:
    """Boolean mask of the top ``top_fraction`` of segments (rounded down, at least one;
    the earlier segment wins a tie)."""
    count = max(1, math.floor(len(values) * top_fraction + 1e-9))
    order = sorted(range(len(values)), key=lambda j: (-values[j], j))
    mask = np.zeros(len(values), dtype=bool)
    mask[order[:count]] = True
    return mask


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """AP with every distinct score as a threshold (tied scores are ranked together)."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    positives = int(labels.sum())
    if positives == 0:
        return float("nan")
    ap, hits, seen, recall_before = 0.0, 0, 0, 0.0
    for threshold in sorted(set(scores.tolist()), reverse=True):
        at = scores == threshold
        hits += int(labels[at].sum())
        seen += int(at.sum())
        recall = hits / positives
        ap += (recall - recall_before) * (hits / seen)
        recall_before = recall
    return ap


def segment_scores(curve_times_s: Sequence[float], curve: Sequence[float], duration_s: float,
                   segment_s: float = SEGMENT_S) -> np.ndarray:
    """A per-second score curve averaged into the same segments as ``segment_values``."""
    times = np.asarray(curve_times_s, dtype=float)
    values = np.asarray(curve, dtype=float)
    count = max(1, math.ceil(duration_s / segment_s - 1e-9))
    out = np.zeros(count)
    for j in range(count):
        inside = (times >= j * segment_s) & (times < (j + 1) * segment_s)
        out[j] = values[inside].mean() if inside.any() else 0.0
    return out


def clips_curve(clips_by_rank: Sequence[Span], duration_s: float) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """A per-second curve for methods that only give ranked clips: (K - rank + 1) / K inside
    the clip of that rank, 0 elsewhere (used for the baselines)."""
    times = np.arange(0.0, max(duration_s, 1.0), 1.0) + 0.5
    curve = np.zeros(len(times))
    k = len(clips_by_rank)
    for rank, clip in enumerate(clips_by_rank, 1):
        inside = (times >= clip.start_s) & (times < clip.end_s)
        curve[inside] = np.maximum(curve[inside], (k - rank + 1) / k)
    return times, curve


def _union(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(s for s in spans if s[1] > s[0]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _length(spans: Sequence[tuple[float, float]]) -> float:
    return sum(hi - lo for lo, hi in spans)


def _intersection(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> float:
    return sum(max(0.0, min(ahi, bhi) - max(alo, blo)) for alo, ahi in a for blo, bhi in b)


def coverage(clips: Sequence[Span], positive: np.ndarray, duration_s: float,
             segment_s: float = SEGMENT_S) -> tuple[float, float]:
    """(precision, recall) of the clips' seconds against the positive segments' seconds."""
    clip_spans = _union([(max(0.0, c.start_s), min(duration_s, c.end_s)) for c in clips])
    positive_spans = _union([(j * segment_s, min((j + 1) * segment_s, duration_s))
                             for j in np.flatnonzero(positive)])
    shared = _intersection(clip_spans, positive_spans)
    clip_len, positive_len = _length(clip_spans), _length(positive_spans)
    return (shared / clip_len if clip_len else 0.0,
            shared / positive_len if positive_len else float("nan"))
