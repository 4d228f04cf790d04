"""Select: rank fusion, the picture's activity, the choice (spread, decoys last) and fitting
to sentence edges."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.contracts.transcript import Word
from orchestrator.pipeline.manifest import Weights
from orchestrator.pipeline.select import (
    LEAD_IN_S,
    REPEAT_SIMILARITY,
    TAIL_S,
    Scored,
    SelectInput,
    choose,
    chosen_indices,
    content_similarity,
    fit_span,
    picture_activity,
    ranks,
    score_candidates,
    select,
    select_asking,
    span_text,
)
from orchestrator.pipeline.types import DECOYS, UNCLASSIFIED, Candidate, Sentence

DEFAULT = Weights()


def cand(start: float, end: float, text: float, title: str = "t", kind: str = "highlight"
         ) -> Candidate:
    return Candidate(start, end, title, "h", "r", text, "llm", kind)


def sentences(n: int, length: float = 4.0, gap: float = 1.0) -> list[Sentence]:
    out = []
    for i in range(n):
        start = i * (length + gap)
        words = tuple(Word(start + k, start + k + 0.8, f"w{i}{k}", 0.9) for k in range(4))
        out.append(Sentence(start, start + length - 0.2, f"s{i}.", words))
    return out


def test_signals_become_ranks_so_one_outlier_does_not_decide():
    assert ranks([10, 20, 30]).tolist() == [0.0, 0.5, 1.0]
    assert ranks([1, 2, 1000]).tolist() == [0.0, 0.5, 1.0]  # min-max would give 0, 0.001, 1
    assert ranks([5, 5, 9]).tolist() == [0.25, 0.25, 1.0]  # ties share their average rank
    assert ranks([0.7, 0.7]).tolist() == [1.0, 1.0]
    assert ranks([]).size == 0


def test_the_picture_counts_only_where_it_really_changes():
    noise = np.random.default_rng(0).normal(0.05, 0.005, 300).clip(0, 1)  # talking head
    cuts = np.where(np.arange(300) % 50 < 10, 0.8, 0.05)  # cuts and motion
    assert picture_activity(noise) < 0.15 and picture_activity(cuts) == 1.0
    times = np.arange(0, 300, 1.0)
    cands = [cand(0, 20, 90), cand(50, 70, 10)]
    still = score_candidates(SelectInput(tuple(cands), 300.0, times, noise, None,
                                         Weights(0.2, 0.8), 2))
    assert still[0].score > still[1].score  # codec noise does not outweigh the text


def request(cands: list[Candidate], change: np.ndarray, times: np.ndarray,
            similarity: tuple[float, ...] | None = None, weights: Weights = DEFAULT,
            clips: int = 3, texts: tuple[str, ...] | None = None) -> SelectInput:
    return SelectInput(tuple(cands), 100.0, times, change, similarity, weights, clips,
                       content_similarity(texts) if texts is not None else None)


def test_fusion_weights_text_against_vision():
    times = np.arange(0, 100, 1.0)
    change = np.where((times >= 50) & (times < 70), 1.0, 0.0)  # a picture that changes
    cands = [cand(0, 20, 90), cand(50, 70, 10)]  # strong text vs strong picture
    text_heavy = score_candidates(request(cands, change, times, weights=Weights(0.8, 0.2)))
    vision_heavy = score_candidates(request(cands, change, times, weights=Weights(0.2, 0.8)))
    assert text_heavy[0].score > text_heavy[1].score
    assert vision_heavy[1].score > vision_heavy[0].score
    first = text_heavy[0].scores
    assert (first.text, first.visual_change, first.similarity) == (1.0, 0.0, None)
    assert text_heavy[0].score == pytest.approx(0.8)


def test_similarity_counts_only_when_given():
    times = np.arange(0, 100, 1.0)
    change = np.zeros(100)
    cands = [cand(0, 20, 50), cand(30, 50, 50)]
    scored = score_candidates(request(cands, change, times, similarity=(0.1, 0.3)))
    assert scored[1].scores.similarity == 1.0 and scored[0].scores.similarity == 0.0
    assert scored[1].score > scored[0].score
    skipped = score_candidates(request(cands, change, times))
    assert skipped[0].score == skipped[1].score


def test_choice_keeps_best_non_overlapping_up_to_k():
    times = np.arange(0, 100, 1.0)
    cands = [cand(0, 20, 90), cand(10, 30, 80), cand(20, 40, 70), cand(50, 60, 10)]
    scored = score_candidates(request(cands, np.zeros(100), times))
    kept, _ = choose(scored, 3, spread_s=1.0)
    assert [(k.candidate.start_s, k.candidate.end_s) for k in kept] == [(0, 20), (20, 40),
                                                                        (50, 60)]
    assert len(choose(scored, 1, spread_s=1.0)[0]) == 1


def test_choice_spreads_clips_over_the_talk():
    times = np.arange(0, 600, 1.0)
    # Three neighbours score a little higher than one far away; eight more score lower.
    cands = [cand(0, 20, 90), cand(20, 40, 89), cand(40, 60, 88), cand(400, 420, 87),
             *(cand(100 + 30 * k, 120 + 30 * k, 10 + k) for k in range(8))]
    scored = score_candidates(SelectInput(tuple(cands), 600.0, times, np.zeros(600), None,
                                          DEFAULT, 2))
    kept, _ = choose(scored, 2, spread_s=60.0)
    assert [k.candidate.start_s for k in kept] == [0, 400]


def test_decoys_are_never_ranked_above_a_highlight():
    times = np.arange(0, 100, 1.0)
    outro = cand(80, 100, 99, "bye", kind="outro")
    ad = cand(0, 20, 98, "ad", kind="sponsor")
    plain = cand(30, 50, 40, "tip")
    scored = score_candidates(request([outro, ad, plain], np.zeros(100), times))
    kept, _ = choose(scored, 3, spread_s=1.0)
    assert kept[0].candidate.title == "tip"
    assert {k.candidate.title for k in kept[1:]} == {"bye", "ad"}  # only to fill the count
    assert [k.candidate.title for k in choose(scored, 1, spread_s=1.0)[0]] == ["tip"]


def test_select_curve_marks_covered_seconds():
    times = np.arange(0, 100, 1.0)
    result = select(request([cand(10, 20, 90), cand(40, 45, 30)], np.zeros(100), times))
    assert result.curve[15] == pytest.approx(result.chosen[0].score)
    assert result.curve[30] == 0.0
    assert len(result.curve_times_s) == 100


def test_fit_snaps_to_sentence_edges_with_lead_in_and_tail():
    items = sentences(10)  # sentence i spans [5i, 5i + 3.8]
    start, end = fit_span(11.0, 27.0, items, min_len_s=10, max_len_s=60, duration_s=60)
    assert start == pytest.approx(10.0 - LEAD_IN_S)  # starts at sentence 2
    assert end == pytest.approx(28.8 + TAIL_S)  # ends with sentence 5


def test_fit_extends_short_and_trims_long_spans():
    items = sentences(10)
    start, end = fit_span(20.5, 21.0, items, min_len_s=12, max_len_s=30, duration_s=60)
    assert 12 <= end - start <= 30 and start == pytest.approx(20 - LEAD_IN_S)
    start, end = fit_span(0.0, 49.0, items, min_len_s=5, max_len_s=16, duration_s=60)
    assert end - start <= 16 and start == 0.0
    assert end == pytest.approx(13.8 + TAIL_S)  # three whole sentences fit, four do not


def test_fit_cuts_one_overlong_sentence_at_a_word():
    words = tuple(Word(k * 2.0, k * 2.0 + 1.5, f"w{k}", 0.9) for k in range(30))
    long = [Sentence(0.0, 59.5, "long.", words)]
    start, end = fit_span(0.0, 59.5, long, min_len_s=10, max_len_s=20, duration_s=60)
    assert end - start <= 20 and end in {w.end for w in words} | {end}
    assert end - start >= 10


def test_fit_pads_to_min_length_inside_the_video():
    items = sentences(1)  # one 3.8 s sentence in a 20 s video
    start, end = fit_span(0.0, 3.8, items, min_len_s=15, max_len_s=30, duration_s=20)
    assert start >= 0 and end <= 20 and end - start == pytest.approx(15)


def test_a_cut_inside_a_long_sentence_stops_before_the_next_word():
    # Words 0.3 s apart: the 0.4 s tail after the last word that fits would run into the next.
    words = tuple(Word(k * 1.0, k * 1.0 + 0.7, f"w{k}", 0.9) for k in range(90))
    long = Sentence(0.0, 89.7, " ".join(w.word for w in words), words)
    after = Sentence(95.0, 99.0, "Next.", ())
    start, end = fit_span(0.0, 89.7, [long, after], min_len_s=15, max_len_s=30,
                          duration_s=120.0)
    following = next(w for w in words if w.end > end)
    assert end <= following.start, (end, following)
    assert end - start <= 30


MICS = "a cheap microphone close to your mouth beats an expensive one across the room"
ROOMS = "soft blankets and curtains soak up the echo of hard walls in a small room"
EDITS = "cut the long pauses and set a gentle compressor before you export the video"
TOPICS = (MICS, ROOMS, EDITS, "so " + MICS, "and then " + ROOMS.replace("small", "tiny"))


def test_passages_that_say_the_same_thing_are_alike():
    alike = content_similarity(TOPICS)
    assert alike[0, 3] >= REPEAT_SIMILARITY and alike[1, 4] >= REPEAT_SIMILARITY  # repeats
    assert alike[0, 1] < 0.2 and alike[0, 2] < 0.2 and alike[1, 2] < 0.2  # other points
    assert np.allclose(alike, alike.T) and np.allclose(np.diag(alike), 1.0)
    # A word every passage says weighs nothing: two passages alike only in it are not alike.
    common = content_similarity(["the microphone is cheap", "the room is loud",
                                 "the edit is quick"])
    assert common[0, 1] == 0.0
    assert content_similarity(["", "words"]).tolist() == [[0.0, 0.0], [0.0, 1.0]]


def test_a_repeat_of_a_chosen_clip_comes_after_every_other_point():
    # The best passage is said again later (a recap): the recap scores above the other
    # points, but a creator does not post the same point twice.
    cands = [cand(0, 20, 95, "mics"), cand(30, 50, 60, "rooms"), cand(60, 80, 50, "edits"),
             cand(85, 100, 90, "recap")]
    texts = (MICS, ROOMS, EDITS, "so " + MICS)
    times = np.arange(100.0)
    result = select(request(cands, np.zeros(100), times, clips=3, texts=texts))
    assert [s.candidate.title for s in result.chosen] == ["mics", "rooms", "edits"]
    # Asked for more clips than there are points, the repeat fills the count, ranked last.
    result = select(request(cands, np.zeros(100), times, clips=4, texts=texts))
    assert [s.candidate.title for s in result.chosen] == ["mics", "rooms", "edits", "recap"]
    assert result.repeats == {3: 0}  # the run notes it in the manifest
    # Without the words the choice is by score and spread alone, as before.
    result = select(request(cands, np.zeros(100), times, clips=3))
    assert "recap" in [s.candidate.title for s in result.chosen] and result.repeats == {}
    # A repeat still comes before a decoy.
    ad = cand(30, 50, 99, "ad", kind="sponsor")
    result = select(request([cands[0], ad, cands[3]], np.zeros(100), times, clips=3,
                            texts=(MICS, ROOMS, "so " + MICS)))
    assert [s.candidate.title for s in result.chosen] == ["mics", "recap", "ad"]


def test_each_repeat_the_choice_took_is_named_once():
    # With a topic: "both" (on it) says again what "mics" (on it) and "rooms" (off it) say.
    # It is taken last, as a repeat; "rooms" was a point of its own when it was taken, yet
    # it is ranked after "both" (off the topic): it is not a repeat of "both".
    on, off = 0.9, 0.1
    cands = [replace(cand(0, 20, 95, "mics"), prompt_match=on),
             replace(cand(30, 50, 60, "rooms"), prompt_match=off),
             replace(cand(60, 80, 50, "both"), prompt_match=on)]
    texts = (MICS, ROOMS, MICS + " " + ROOMS)
    alike = content_similarity(texts)
    assert alike[2, 0] >= REPEAT_SIMILARITY and alike[2, 1] >= REPEAT_SIMILARITY
    result = select(request(cands, np.zeros(100), np.arange(100.0), clips=3, texts=texts))
    assert [s.candidate.title for s in result.chosen] == ["mics", "both", "rooms"]
    most = 0 if alike[2, 0] >= alike[2, 1] else 2  # the clip "both" is most alike to
    assert result.repeats == {1: most}


def test_span_text_is_the_words_spoken_inside_the_span():
    said = sentences(3)  # words w{i}{k} at i*5 + k .. +0.8
    assert span_text(said, 5.0, 7.0) == "w10 w11"
    assert span_text(said, 4.5, 5.3) == ""  # w10's middle (5.4) lies outside
    assert span_text(said, 0.0, 100.0).split()[-1] == "w23"


def asking(known: list[Candidate], asked: list[int]
           ) -> Callable[[list[int]], Awaitable[dict[int, str]]]:
    """``select_asking``'s ``ask_kinds``, answering from ``known`` and noting what it asked."""
    async def ask_kinds(pending: list[int]) -> dict[int, str]:
        asked.extend(pending)
        return {n: known[n].kind for n in pending}

    return ask_kinds


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 80), st.integers(15, 40), st.floats(0, 100),
                          st.sampled_from(["highlight", "filler", *DECOYS]),
                          st.sampled_from(TOPICS)),
                min_size=1, max_size=14),
       st.integers(1, 5), st.lists(st.floats(0, 1), min_size=100, max_size=100),
       st.booleans())
def test_asking_kinds_of_the_picked_only_chooses_as_knowing_them_all(rows, clips, change,
                                                                     first_alone):
    # With ``first_alone`` the first clip is settled before the others are asked about (the
    # run renders it meanwhile): it must be the clip the whole choice ranks first, settled
    # by asking only what the choice of one clip asks. Some candidates repeat another's words.
    known = [cand(float(a), float(a + n), text, kind=kind) for a, n, text, kind, _ in rows]
    texts = tuple(topic for *_, topic in rows)
    hidden = [replace(c, kind=UNCLASSIFIED) for c in known]
    times = np.arange(100.0)
    asked: list[int] = []
    firsts: list[tuple[int, int]] = []  # (index, how many were asked by then)

    async def on_first(n: int, item: Scored) -> None:
        assert item.candidate.kind != UNCLASSIFIED
        firsts.append((n, len(asked)))

    def choice(candidates: list[Candidate], k: int) -> SelectInput:
        return request(candidates, np.array(change), times, clips=k, texts=texts)

    full = select(choice(known, clips))
    lazy = asyncio.run(select_asking(choice(hidden, clips), asking(known, asked),
                                     on_first=on_first if first_alone else None))
    assert [(s.candidate.start_s, s.candidate.kind, s.score) for s in lazy.chosen] == \
        [(s.candidate.start_s, s.candidate.kind, s.score) for s in full.chosen]
    assert len(asked) == len(set(asked))  # each asked once
    assert chosen_indices(lazy) == chosen_indices(full)  # equal candidates may differ in words
    if not first_alone:
        return
    assert [n for n, _ in firsts] == chosen_indices(lazy)[:1]
    if firsts and clips > 1:
        alone: list[int] = []
        asyncio.run(select_asking(choice(hidden, 1), asking(known, alone)))
        assert firsts[0][1] == len(alone)
        assert chosen_indices(select(choice(known, 1))) == [firsts[0][0]]


def test_asking_stops_at_the_choice():
    cands = [cand(float(i * 20), float(i * 20 + 15), 100 - i, kind=UNCLASSIFIED)
             for i in range(5)]
    kinds = {0: "sponsor", 1: "highlight", 2: "highlight", 3: "filler", 4: "intro"}
    asked: list[list[int]] = []

    async def ask_kinds(pending: list[int]) -> dict[int, str]:
        asked.append(pending)
        return {n: kinds[n] for n in pending}

    result = asyncio.run(select_asking(request(cands, np.zeros(100), np.arange(100.0),
                                               clips=2), ask_kinds))
    assert [s.candidate.start_s for s in result.chosen] == [20.0, 40.0]
    assert asked == [[0, 1], [2]]  # the sponsor read made room for one more; 3 and 4 unasked
