"""Select stage: fuse the signals, keep the best non-overlapping moments, cut at sentence edges.

Every candidate (a passage judged by the ``llm``, or scored by the transcript-only fallback)
is first fitted to the transcript: its start moves to the start of the sentence it falls in,
its end to the end of its sentence, then whole sentences are added or dropped until it lies
within the length limits (a single sentence too long for the limit is cut at a word edge).

Fusion. Each signal is turned into its rank among the run's candidates, scaled to 0..1 (ties
share their average rank), so one outlier cannot decide, and the signals are fused:

    vision = (w_similarity * similarity + a * w_visual_change * visual_change)
             / (w_similarity + a * w_visual_change)
    score  = (w_text * text + w_vision * vision) / (w_text + w_vision)

and, when CLIP similarity is skipped (random weights), vision is the visual change alone with
weight ``a * w_vision``. ``a`` (0..1) is how much the picture really changes over the video:
the spread between the 10th and 90th percentile of per-frame visual change, over
``ACTIVE_SPREAD``. On a static talking head the change is codec noise, ``a`` is about 0 and it
gets no weight; with cuts and motion it gets its full weight. Defaults (``manifest.Weights``,
the CLI's ``--weights``, written into the manifest): text 0.8, vision 0.2, similarity 0.5,
visual change 0.5.

Topic. When the creator names one (``--prompt``), each candidate carries how well it matches
(``prompt_match``, 0..1, from the text stage) and its score is scaled by
``TOPIC_FLOOR + (1 - TOPIC_FLOOR) * prompt_match``: a passage off the topic keeps a quarter of
its score; and a candidate whose match is under ``ON_TOPIC_SHARE`` of the best one is off the
topic, chosen only when nothing on it is left (as decoys are only when nothing else is).

Choice. Candidates are taken greedily by ``score - SPREAD_PENALTY * nearness`` to the clips
already chosen (maximal marginal relevance: ``nearness`` is 1 for a touching clip, falling to
0 at ``spread_s`` away), so the clips spread over the talk instead of three neighbours;
overlapping candidates are skipped. A candidate that says again what a chosen clip said (a
recap, a repeated hook: the cosine of their spoken words' TF-IDF vectors, ``alike``, at least
``REPEAT_SIMILARITY``) is taken only when no other candidate of its tier and the ones before
it is left, and is ranked after them: a creator does not post the same point twice. Sponsor
reads, intros, outros and calls to action (the candidate's ``kind``) come after every other
candidate, whatever their score, repeats included: they are chosen only when nothing else is
left. The chosen clips are ranked by fused score, those decoys last.
``select_asking`` makes the same choice when the kinds are asked only of candidates it picks.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from orchestrator.pipeline.manifest import ClipScores, Weights
from orchestrator.pipeline.types import DECOYS, UNCLASSIFIED, Candidate, Sentence

LEAD_IN_S = 0.15  # start a little before the first word ...
TAIL_S = 0.4  # ... and end a little after the last, inside the silence around them
ACTIVE_SPREAD = 0.15  # p90 - p10 of per-frame visual change at which vision counts in full
SPREAD_PENALTY = 0.25  # how much a clip next to a chosen one loses
TOPIC_FLOOR = 0.25  # the share of its score a candidate off the creator's topic keeps
ON_TOPIC_SHARE = 0.6  # on the topic: a match of at least this share of the best match
REPEAT_SIMILARITY = 0.5  # spoken words this alike (TF-IDF cosine) say the same thing again
_TOKEN = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class SelectInput:
    candidates: tuple[Candidate, ...]  # already fitted (``fit_candidates``)
    duration_s: float
    frame_times_s: np.ndarray  # (N,) sampled frame times
    visual_change: np.ndarray  # (N,) 0..1 per frame
    similarity: tuple[float, ...] | None  # per candidate raw cosine, None when skipped
    weights: Weights
    clips: int
    # ``content_similarity`` of the candidates' spoken words (``span_text``); None: unknown.
    # Computed once by the caller: ``select_asking`` selects again after each round of kinds.
    alike: np.ndarray | None = None


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
    # Each chosen clip that says again what another chosen clip says (``choose`` took it
    # only because nothing else was left): its rank (0-based) to that clip's rank.
    repeats: dict[int, int] = field(default_factory=dict)


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
    next_start = sentences[j + 1].start_s if j + 1 < len(sentences) else duration_s
    if end - start + LEAD_IN_S + TAIL_S > max_len_s:  # one sentence longer than the limit
        words = sentences[i].words
        fits = [w.end for w in words if w.end - start + LEAD_IN_S + TAIL_S <= max_len_s]
        end = fits[-1] if fits else start + max_len_s - LEAD_IN_S - TAIL_S
        # Cut inside the sentence: the tail ends before its next word starts, not the next
        # sentence.
        next_start = next((w.start for w in words if w.start >= end), next_start)
    previous_end = sentences[i - 1].end_s if i > 0 else 0.0
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


def ranks(values: Sequence[float]) -> np.ndarray:
    """Each value's rank among ``values`` scaled to 0..1 (ties share their average rank; a
    single value, or all equal, gives 1)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return array
    if array.size == 1 or np.ptp(array) < 1e-12:
        return np.ones(array.shape)
    order = np.argsort(array, kind="mergesort")
    ranked = np.empty(array.size)
    ranked[order] = np.arange(array.size, dtype=np.float64)
    for value in np.unique(array):  # ties: their average rank
        same = array == value
        ranked[same] = ranked[same].mean()
    return ranked / (array.size - 1)


def picture_activity(visual_change: np.ndarray) -> float:
    """How much the picture really changes over the video, 0..1 (see the module docstring)."""
    if visual_change.size < 2:
        return 0.0
    low, high = np.percentile(visual_change, [10, 90])
    return float(np.clip((high - low) / ACTIVE_SPREAD, 0.0, 1.0))


def span_mean(times_s: np.ndarray, values: np.ndarray, start_s: float, end_s: float) -> float:
    """Mean of per-frame ``values`` whose time lies in the span (0 when there are none)."""
    inside = (times_s >= start_s) & (times_s < end_s)
    return float(values[inside].mean()) if inside.any() else 0.0


def overlaps(a: Candidate, b: Candidate) -> bool:
    return min(a.end_s, b.end_s) - max(a.start_s, b.start_s) > 1e-6


def decoy(item: Scored) -> bool:
    return item.candidate.kind in DECOYS


def tiers(scored: Sequence[Scored]) -> dict[int, int]:
    """The order candidates are taken in, by index: 0 on the creator's topic (or no topic
    given), 1 off it, 2 decoys. On the topic: a match of at least ``ON_TOPIC_SHARE`` of the
    best match among the non-decoys."""
    matches = [s.candidate.prompt_match for s in scored if not decoy(s)]
    best = max((m for m in matches if m is not None), default=None)
    out = {}
    for n, item in enumerate(scored):
        match = item.candidate.prompt_match
        off = best is not None and match is not None and match < ON_TOPIC_SHARE * best
        out[n] = 2 if decoy(item) else 1 if off else 0
    return out


def choose(scored: Sequence[Scored], k: int, *, spread_s: float,
           alike: np.ndarray | None = None) -> tuple[list[Scored], dict[int, int]]:
    """At most ``k`` non-overlapping candidates, best first by score less the nearness to the
    ones already chosen; off-topic ones only once nothing on the topic fits, decoys only once
    nothing else does. With ``alike`` (``content_similarity`` of the candidates, in the order
    of ``scored``), a repeat of a chosen clip only once nothing but repeats and decoys is
    left. Ranked in that order, then by score.

    Returns the clips, best first, and each repeat's rank to the rank of the clip it says
    again (of those chosen before it, the one it is most alike to)."""
    kept: list[Scored] = []
    taken: set[int] = set()
    repeats: dict[int, Scored] = {}  # by id: the chosen clip each repeat says again
    tier = tiers(scored)
    index = {id(s): n for n, s in enumerate(scored)}

    def value(item: Scored) -> float:
        near = max((nearness(item.candidate, other.candidate, spread_s) for other in kept),
                   default=0.0)
        return item.score - SPREAD_PENALTY * near

    def said(item: Scored) -> Scored | None:
        """The chosen clip ``item`` is most alike to, when it says that one again."""
        if alike is None or not kept:
            return None
        row = alike[index[id(item)]]
        other = max(kept, key=lambda o: row[index[id(o)]])
        return other if row[index[id(other)]] >= REPEAT_SIMILARITY else None

    for level, again in ((0, False), (1, False), (0, True), (1, True), (2, True)):
        left = [s for n, s in enumerate(scored) if tier[n] == level]
        while left and len(kept) < k:
            left = [s for s in left
                    if not any(overlaps(s.candidate, other.candidate) for other in kept)
                    and id(s) not in taken and (again or said(s) is None)]
            if not left:
                break
            best = max(left, key=lambda s: (value(s), -s.candidate.start_s))
            if level < 2 and (original := said(best)) is not None:
                repeats[id(best)] = original
            kept.append(best)
            taken.add(id(best))
            left.remove(best)
    ranked = sorted(kept, key=lambda s: (tier[index[id(s)]], id(s) in repeats, -s.score,
                                         s.candidate.start_s))
    rank = {id(s): r for r, s in enumerate(ranked)}
    return ranked, dict(sorted((rank[i], rank[id(original)]) for i, original in repeats.items()))


def span_text(sentences: Sequence[Sentence], start_s: float, end_s: float) -> str:
    """The words spoken in ``[start_s, end_s]`` (a word counts when its middle lies in it)."""
    return " ".join(w.word.strip() for s in sentences if s.end_s > start_s and s.start_s < end_s
                    for w in s.words if start_s <= (w.start + w.end) / 2 <= end_s)


def content_similarity(texts: Sequence[str]) -> np.ndarray:
    """Pairwise cosine (0..1) of the texts' TF-IDF vectors: sublinear term counts, weighted by
    log(N / the number of texts with the term), so the words every passage of the talk uses
    weigh nothing and the ones two passages alone share weigh most."""
    docs = [_TOKEN.findall(text.lower()) for text in texts]
    vocabulary = {term: n for n, term in enumerate(sorted({t for d in docs for t in d}))}
    counts = np.zeros((len(docs), len(vocabulary)))
    for row, doc in enumerate(docs):
        for term in doc:
            counts[row, vocabulary[term]] += 1
    present = counts > 0
    weights = np.where(present, 1.0 + np.log(np.where(present, counts, 1.0)), 0.0)
    weights *= np.log(len(docs) / np.maximum(present.sum(axis=0), 1))
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    unit = np.divide(weights, norms, out=np.zeros_like(weights), where=norms > 0)
    return np.clip(unit @ unit.T, 0.0, 1.0)


def nearness(a: Candidate, b: Candidate, spread_s: float) -> float:
    """1 for touching clips, falling linearly to 0 at ``spread_s`` apart."""
    gap = max(a.start_s, b.start_s) - min(a.end_s, b.end_s)
    return max(0.0, 1.0 - max(gap, 0.0) / spread_s)


def score_candidates(request: SelectInput) -> list[Scored]:
    """Ranked per-signal scores and the fused score of every candidate."""
    cands = request.candidates
    w = request.weights
    text = ranks([c.text_score for c in cands])
    change = ranks([span_mean(request.frame_times_s, request.visual_change, c.start_s,
                              c.end_s) for c in cands])
    similarity = ranks(request.similarity) if request.similarity is not None else None
    active = picture_activity(request.visual_change)
    out = []
    for n, c in enumerate(cands):
        if similarity is not None and w.similarity + active * w.visual_change > 0:
            vision = (w.similarity * similarity[n] + active * w.visual_change * change[n]) / (
                w.similarity + active * w.visual_change)
            vision_weight = w.vision
        else:
            vision, vision_weight = change[n], active * w.vision
        total = w.text + vision_weight
        fused = (w.text * text[n] + vision_weight * vision) / total if total > 0 else 0.0
        if c.prompt_match is not None:
            fused *= TOPIC_FLOOR + (1.0 - TOPIC_FLOOR) * c.prompt_match
        out.append(Scored(c, ClipScores(
            text=round(float(text[n]), 4), vision=round(float(vision), 4),
            similarity=round(float(similarity[n]), 4) if similarity is not None else None,
            visual_change=round(float(change[n]), 4)), round(float(fused), 4)))
    return out


async def select_asking(request: SelectInput,
                        ask_kinds: Callable[[list[int]], Awaitable[Mapping[int, str]]],
                        on_first: Callable[[int, Scored], Awaitable[None]] | None = None,
                        ) -> SelectResult:
    """``select``, where a candidate's kind may be ``UNCLASSIFIED``: ``ask_kinds`` is given
    the indices (into ``request.candidates``) of the chosen ones that are, answers their
    kinds, and the choice is made again until none of it is unclassified.

    The result is the one ``select`` gives when every kind is known from the start: a
    candidate the greedy choice never picked cannot change it by turning out to be a decoy
    (decoys only move later). Only the candidates that come near the choice are asked about.

    With ``on_first``, the first clip is settled before the others are asked about (the
    choice of one clip, asking only what that needs) and ``on_first`` is awaited with its
    index and entry: the best candidate that is no decoy is first in any longer choice, since
    learning that another candidate is a decoy only moves that one later.
    """
    candidates = request.candidates
    first: tuple[int, Scored] | None = None
    if on_first is not None and request.clips > 1:
        settled = await select_asking(replace(request, clips=1), ask_kinds)
        candidates = tuple(s.candidate for s in settled.scored)  # with the kinds learned
        if settled.chosen:
            first = chosen_indices(settled)[0], settled.chosen[0]
            await on_first(*first)
    while True:
        result = select(replace(request, candidates=candidates))
        index = {id(s.candidate): n for n, s in enumerate(result.scored)}
        pending = [index[id(s.candidate)] for s in result.chosen
                   if s.candidate.kind == UNCLASSIFIED]
        if not pending:
            break
        kinds = await ask_kinds(pending)
        if any(kinds.get(n, UNCLASSIFIED) == UNCLASSIFIED for n in pending):
            raise ValueError("ask_kinds left a chosen candidate unclassified")
        candidates = tuple(replace(c, kind=kinds.get(n, c.kind))
                           for n, c in enumerate(candidates))
    if first is not None and (not result.chosen or chosen_indices(result)[0] != first[0]):
        raise RuntimeError("the first clip changed after it was settled")  # a bug
    if on_first is not None and first is None and result.chosen:
        await on_first(chosen_indices(result)[0], result.chosen[0])
    return result


def chosen_indices(result: SelectResult) -> list[int]:
    """The chosen candidates' indices into the request's candidates, best first."""
    index = {id(s.candidate): n for n, s in enumerate(result.scored)}
    return [index[id(s.candidate)] for s in result.chosen]


def select(request: SelectInput) -> SelectResult:
    """Score every candidate, keep the best ``clips`` that do not overlap."""
    scored = score_candidates(request)
    chosen, repeats = choose(scored, request.clips,
                             spread_s=max(60.0, request.duration_s / 10), alike=request.alike)
    times = np.arange(0.0, max(request.duration_s, 1.0), 1.0)
    curve = np.zeros(len(times))
    for item in scored:
        inside = (times >= item.candidate.start_s) & (times < item.candidate.end_s)
        curve[inside] = np.maximum(curve[inside], item.score)
    return SelectResult(tuple(chosen), tuple(scored), times, curve, repeats)
