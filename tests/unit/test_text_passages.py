"""Passages: whole thoughts cut at the talk's long pauses, within the clip length."""

from __future__ import annotations

from orchestrator.pipeline.text.passages import passages
from orchestrator.pipeline.types import Sentence


def talk(lengths: list[int], sentence_s: float = 4.0, pause_s: float = 0.3,
         topic_pause_s: float = 1.2) -> list[Sentence]:
    """Topics of ``lengths`` sentences; short pauses inside a topic, long ones between."""
    out, t = [], 0.0
    for topic, count in enumerate(lengths):
        for k in range(count):
            out.append(Sentence(t, t + sentence_s, f"Topic {topic} sentence {k}."))
            t += sentence_s + (topic_pause_s if k == count - 1 else pause_s)
    return out


def test_topics_become_passages_at_their_pauses():
    found = passages(talk([4, 5, 4]), min_len_s=10, max_len_s=30)
    assert [len(p.sentences) for p in found] == [4, 5, 4]
    assert all(p.text.startswith(f"Topic {n} sentence 0.") for n, p in enumerate(found))
    assert [p.index for p in found] == [0, 1, 2]


def test_short_topics_join_a_neighbour_and_long_ones_split():
    short = passages(talk([1, 4, 4]), min_len_s=10, max_len_s=40)
    assert len(short[0].sentences) == 5  # a 4 s topic joined the next one
    long = passages(talk([12]), min_len_s=10, max_len_s=30)
    assert len(long) > 1 and all(p.end_s - p.start_s <= 30 for p in long)
    assert sum(len(p.sentences) for p in long) == 12


def test_edge_cases():
    assert passages([], min_len_s=10, max_len_s=30) == []
    (one,) = passages(talk([2]), min_len_s=15, max_len_s=30)  # shorter than a clip: one passage
    assert len(one.sentences) == 2


def test_a_piece_kept_apart_is_not_glued_to_its_neighbour():
    items = talk([1, 4, 4])  # a 4 s greeting, then two topics
    glued = passages(items, min_len_s=10, max_len_s=40)
    assert len(glued[0].sentences) == 5
    apart = passages(items, min_len_s=10, max_len_s=40,
                     apart=lambda piece: piece.text.startswith("Topic 0"))
    assert [len(p.sentences) for p in apart] == [1, 4, 4]
