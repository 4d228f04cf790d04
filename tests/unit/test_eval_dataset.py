"""DATASET.jsonl parsing and the baselines."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from orchestrator.errors import InputError
from orchestrator.evaluation.baselines import even_clips, random_clips
from orchestrator.evaluation.dataset import key_of, load

HEAT = [{"start_time": 0, "end_time": 10, "value": 0.5},
        {"start_time": 10, "end_time": 20, "value": 1.0}]


def test_bad_lines_are_reported_with_their_number_and_skipped(tmp_path: Path):
    lines = [
        json.dumps({"source": "https://www.youtube.com/watch?v=abc123", "heatmap": HEAT,
                    "category": "music"}),
        "{not json",
        json.dumps({"heatmap": HEAT}),
        json.dumps({"source": "talk.mp4", "heatmap": [{"start_time": 0, "value": 1}]}),
        json.dumps({"source": "talk.mp4", "heatmap": [{"start_time": 5, "end_time": 2,
                                                       "value": 0.1}]}),
        json.dumps({"source": "talk.mp4", "heatmap": "hot"}),
        "",
        "# a comment",
        json.dumps({"source": "talk.mp4", "heatmap": None}),
        json.dumps({"source": "talk.mp4", "heatmap": [{"start_time": 0, "end_time": 1,
                                                       "value": 2}]}),
        json.dumps(["source"]),
    ]
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    entries, problems = load(path)
    assert [(e.line, e.key, e.category) for e in entries] == [
        (1, "abc123", "music"), (9, "talk", "uncategorized")]
    assert entries[0].heatmap is not None and entries[0].heatmap[1].value == 1.0
    assert entries[1].heatmap is None and entries[1].source == str(tmp_path / "talk.mp4")
    assert [(p.line, p.reason.split(" (")[0].split(":")[0]) for p in problems] == [
        (2, "not JSON"), (3, "missing source"), (4, "malformed heatmap"),
        (5, "malformed heatmap"), (6, "malformed heatmap"), (10, "malformed heatmap"),
        (11, "not a JSON object")]
    assert str(problems[0]).startswith("line 2: not JSON")
    with pytest.raises(InputError):
        load(tmp_path / "missing.jsonl")


def test_keys_are_file_safe_and_unique(tmp_path: Path):
    assert key_of("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3") == "dQw4w9WgXcQ"
    assert key_of("/videos/My Talk (final).mp4") == "My_Talk_final"
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({"source": "a/talk.mp4"}) for _ in range(2)))
    first, second = load(path)[0]
    assert first.key == "talk" and second.key == "talk-2"


def test_random_clips_keep_lengths_and_never_overlap():
    lengths = [20.0, 15.0, 30.0]
    for seed in range(50):
        clips = random_clips(lengths, 120.0, seed)
        assert [round(c.end_s - c.start_s, 6) for c in clips] == lengths
        spans = sorted((c.start_s, c.end_s) for c in clips)
        assert spans[0][0] >= 0 and spans[-1][1] <= 120.0 + 1e-9
        assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(spans))
    assert random_clips(lengths, 120.0, 7) == random_clips(lengths, 120.0, 7)
    assert random_clips(lengths, 120.0, 7) != random_clips(lengths, 120.0, 8)


def test_even_clips_are_evenly_spaced():
    clips = even_clips([10.0, 10.0], 50.0)  # gaps of 10: 10-20 and 30-40
    assert [(c.start_s, c.end_s) for c in clips] == [(10.0, 20.0), (30.0, 40.0)]
    crowded = even_clips([30.0, 30.0], 40.0)  # longer than the video: clamped inside it
    assert all(c.start_s >= 0 and c.end_s <= 40.0 for c in crowded)
