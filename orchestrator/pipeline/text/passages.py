"""Candidate passages from the transcript's structure: whole thoughts, within the clip length.

A talk pauses between thoughts longer than between the sentences of one thought. The
sentences are cut where the pause after a sentence is long for this talk (at least
``min_pause_s`` and ``pause_factor`` times the median pause), then pieces are joined with their
neighbour across the shortest pause until each lasts at least ``min_len_s`` - except a piece
``apart`` says to keep apart (a greeting, an ad line: glued to the thought beside it, it would
drag that thought down with it, or pass for it) - and one longer than ``max_len_s`` is split at
its longest inner pause. Every passage starts at the start of a
sentence and ends at the end of one, so a clip built from it never opens mid-thought or stops
inside a word. These passages are what the ``llm`` rates: a handful per talk, not a window at
every sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from orchestrator.pipeline.types import Sentence


@dataclass(frozen=True)
class Passage:
    index: int
    sentences: tuple[Sentence, ...]

    @property
    def start_s(self) -> float:
        return self.sentences[0].start_s

    @property
    def end_s(self) -> float:
        return self.sentences[-1].end_s

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


def _pauses(sentences: Sequence[Sentence]) -> list[float]:
    return [max(0.0, b.start_s - a.end_s) for a, b in pairwise(sentences)]


def passages(sentences: Sequence[Sentence], *, min_len_s: float, max_len_s: float,
             min_pause_s: float = 0.45, pause_factor: float = 1.5,
             apart: Callable[[Passage], bool] = lambda piece: False) -> list[Passage]:
    """The talk's sentences grouped into passages of ``min_len_s`` to ``max_len_s`` seconds
    (a single sentence longer than that stays one passage; a talk shorter than ``min_len_s``
    is one passage; a piece ``apart`` keeps to itself may be shorter)."""
    if not sentences:
        return []
    pauses = _pauses(sentences)
    threshold = max(min_pause_s, pause_factor * float(np.median(pauses))) if pauses else 0.0
    groups: list[list[int]] = [[0]]
    for i, pause in enumerate(pauses, start=1):
        if pause >= threshold:
            groups.append([i])
        else:
            groups[-1].append(i)

    def length(group: list[int]) -> float:
        return sentences[group[-1]].end_s - sentences[group[0]].start_s

    alone = [apart(Passage(-1, tuple(sentences[i] for i in g))) for g in groups]
    # Join short pieces to the neighbour across the shorter pause, while that fits.
    while len(groups) > 1:
        short = [k for k, g in enumerate(groups) if length(g) < min_len_s and not alone[k]]
        options = []
        for k in short:
            if k > 0 and not alone[k - 1]:
                options.append((length(groups[k]), pauses[groups[k][0] - 1], k - 1, k))
            if k + 1 < len(groups) and not alone[k + 1]:
                options.append((length(groups[k]), pauses[groups[k][-1]], k, k + 1))
        if not options:
            break
        shortest = min(o[0] for o in options)
        options = [o[1:] for o in options if o[0] == shortest]
        fitting = [o for o in options if length(groups[o[1]] + groups[o[2]]) <= max_len_s]
        pause, left, right = min(fitting or options)
        groups[left: right + 1] = [groups[left] + groups[right]]
        alone[left: right + 1] = [False]
    # Split pieces that are too long at their longest inner pause.
    out: list[list[int]] = []
    todo = list(groups)
    while todo:
        group = todo.pop(0)
        if length(group) <= max_len_s or len(group) == 1:
            out.append(group)
            continue
        inner = max(range(len(group) - 1), key=lambda j: pauses[group[j]])
        todo[:0] = [group[:inner + 1], group[inner + 1:]]
    return [Passage(n, tuple(sentences[i] for i in group)) for n, group in enumerate(out)]
