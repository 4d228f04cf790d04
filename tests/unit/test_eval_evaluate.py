"""Per-video scoring and the tables: ours, the baselines, videos without a heatmap."""

from __future__ import annotations

import math

from orchestrator.evaluation.dataset import Entry
from orchestrator.evaluation.evaluate import evaluate_video, markdown, table
from orchestrator.evaluation.metrics import HeatBin
from orchestrator.pipeline.manifest import (
    Clip,
    ClipScores,
    Manifest,
    ModelRef,
    ScoreCurve,
    Selection,
    SourceInfo,
    Weights,
)


def manifest(duration: float, spans: list[tuple[float, float]]) -> Manifest:
    clips = tuple(Clip(rank=n, start_s=a, end_s=b, score=1.0 / n,
                       scores=ClipScores(1.0, 0.0, None, 0.0), origin="llm", title="t",
                       hook="h", reason="r", file=f"clip_{n:02d}.mp4",
                       captions=f"clip_{n:02d}.srt") for n, (a, b) in enumerate(spans, 1))
    times = tuple(t + 0.5 for t in range(int(duration)))
    curve = tuple(max((1.0 / n for n, (a, b) in enumerate(spans, 1) if a <= t < b),
                      default=0.0) for t in times)
    return Manifest(source=SourceInfo("v.mp4", "v", duration),
                    models={"asr": ModelRef("whisper", "1")},
                    selection=Selection("llm", False, Weights(), 5, 20, "9:16", True),
                    clips=clips, score_curve=ScoreCurve(times, curve))


def entry(line: int, heat: list[float] | None, category: str) -> Entry:
    bins = tuple(HeatBin(i * 10.0, (i + 1) * 10.0, v) for i, v in enumerate(heat)) if heat \
        else None
    return Entry(line, f"v{line}.mp4", bins, category, f"v{line}")


def test_a_perfect_pick_beats_the_baselines_and_no_heatmap_is_left_out():
    heat = [0.1, 0.1, 0.2, 1.0, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1]  # 100 s, replayed at 30-50
    perfect = evaluate_video(entry(1, heat, "a"), manifest(100, [(30, 50), (70, 80)]), [1, 2])
    ours, rand, even = (perfect.methods[m] for m in ("snapclip", "random", "even"))
    assert ours.hits == {1: 1.0, 2: 1.0} and ours.recall == 1.0
    # Top 15 % of 20 segments = 30-45 s; our top score covers 30-50 s: 3 of 4 tied segments.
    assert ours.ap15 == 0.75 and ours.precision == 0.5  # 15 of our 30 clip seconds
    assert 0 <= rand.hits[1] < 1 and rand.ap15 < 1
    assert even.hits[1] in (0.0, 1.0)
    blind = evaluate_video(entry(2, None, "b"), manifest(100, [(0, 20)]), [1, 2])
    assert math.isnan(blind.methods["snapclip"].hits[1])
    assert math.isnan(blind.methods["snapclip"].ap15)
    rows = table([perfect, blind], [1, 2])
    overall = {r.method: r for r in rows if r.group == "overall"}
    assert overall["snapclip"].videos == 2 and overall["snapclip"].peaks == 1
    assert overall["snapclip"].values["Hit@1"] == 1.0  # the blind video is not a miss
    assert {r.group for r in rows} == {"a", "b", "overall"}
    text = markdown(rows, ["line 3: missing source"], [])
    assert "| a | snapclip | 1 | 1 | 1.000 |" in text and "| b | snapclip | 1 | 0 | - |" in text
    assert "- dataset line 3: missing source" in text
