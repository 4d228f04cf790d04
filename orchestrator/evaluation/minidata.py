"""The mini dataset: short synthesized talks whose "Most Replayed" peak is a planted segment.

Each talk joins a few of the sample's calm topics and its one plainly exciting stretch (faster,
louder, higher speech over a moving picture; ``orchestrator.synth.speech``), at the start, middle or
end. Its heatmap, in yt-dlp's format, rises over the exciting stretch to a peak in its middle
and stays low and gently uneven elsewhere - what viewers replaying that stretch would leave.
The videos are generated (deterministic for one espeak-ng version); ``eval/mini/dataset.jsonl``
is the checked-in ground truth this module writes beside them:

    .venv/bin/python -m orchestrator.evaluation.minidata eval/mini
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestrator.synth.video import SAMPLE_SEGMENTS, make_talk

BINS = 100  # yt-dlp's heatmaps have 100 bins


@dataclass(frozen=True)
class MiniTalk:
    id: str
    category: str
    segments: tuple[int, ...]  # indices into SAMPLE_SEGMENTS
    planted: int  # which of ``segments`` viewers replay


EXCITED = next(i for i, s in enumerate(SAMPLE_SEGMENTS) if s.excited)
TALKS = (
    MiniTalk("mini-middle", "tutorial", (0, EXCITED, 4), planted=1),
    MiniTalk("mini-start", "tutorial", (EXCITED, 5, 6), planted=0),
    MiniTalk("mini-end", "review", (1, 2, EXCITED), planted=2),
)


def planted_heatmap(span: tuple[float, float], duration_s: float) -> list[dict[str, float]]:
    """100 bins: low and uneven outside ``span``, rising to 1.0 at its middle."""
    width = duration_s / BINS
    middle, half = (span[0] + span[1]) / 2, (span[1] - span[0]) / 2
    bins = []
    for n in range(BINS):
        t = (n + 0.5) * width
        if span[0] <= t < span[1]:
            value = 0.6 + 0.4 * (1 - abs(t - middle) / half)
        else:
            value = 0.2 + 0.05 * math.cos(t / 7)
        bins.append({"start_time": round(n * width, 3), "end_time": round((n + 1) * width, 3),
                     "value": round(min(1.0, value), 4)})
    return bins


def make_minidata(folder: Path, talks: tuple[MiniTalk, ...] = TALKS) -> Path:
    """Write the talks' videos and ``dataset.jsonl`` (sources relative to it) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for talk in talks:
        video = folder / f"{talk.id}.mp4"
        _, spans = make_talk(video, segments=tuple(SAMPLE_SEGMENTS[i] for i in talk.segments),
                             size="640x360", fps=15)
        duration = spans[-1][1]
        lines.append(json.dumps({
            "id": talk.id, "source": video.name, "category": talk.category,
            "planted": {"start_s": spans[talk.planted][0], "end_s": spans[talk.planted][1]},
            "heatmap": planted_heatmap(spans[talk.planted], duration)}))
    dataset = folder / "dataset.jsonl"
    dataset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dataset


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("eval/mini")
    print(make_minidata(out))
