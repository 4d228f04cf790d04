"""Baselines with nothing to know: clips of the same count and lengths as ours, placed at
random (averaged over seeds) or evenly spaced over the video."""

from __future__ import annotations

import random
from collections.abc import Sequence

from orchestrator.evaluation.metrics import Span


def even_clips(lengths: Sequence[float], duration_s: float) -> list[Span]:
    """The clips spread evenly, in rank order from the start: equal gaps before, between and
    after them (they overlap only when their lengths add up to more than the video)."""
    total = sum(lengths)
    gap = max(0.0, (duration_s - total) / (len(lengths) + 1))
    spans, at = [], gap
    for length in lengths:
        start = min(at, max(0.0, duration_s - length))
        spans.append(Span(start, start + length))
        at += length + gap
    return spans


def random_clips(lengths: Sequence[float], duration_s: float, seed: int) -> list[Span]:
    """Non-overlapping clips at random places (in rank order): the free time is split at
    random into the gaps around them."""
    rng = random.Random(seed)
    free = max(0.0, duration_s - sum(lengths))
    cuts = sorted(rng.uniform(0, free) for _ in lengths)
    order = list(range(len(lengths)))
    rng.shuffle(order)  # where each ranked clip falls along the video
    placed: dict[int, Span] = {}
    for slot, (cut, rank) in enumerate(zip(cuts, order, strict=True)):
        start = cut + sum(lengths[r] for r in order[:slot])  # the clips placed before it
        placed[rank] = Span(start, min(duration_s, start + lengths[rank]))
    return [placed[r] for r in range(len(lengths))]
