"""Score each video's clips (ours and the baselines') and write the evaluation report.

Per video and method: Hit@k for each k, AP@15 and AP@50, coverage precision and recall
(against the top-15 % segments). Every method is scored the same way, from its clips (the
clip's rank inside it is its segments' score): ``snapclip`` and the baselines alike; the
random baseline is averaged over seeds per video. ``snapclip-dense`` scores snapclip's
per-second fused curve as well, which ranks every second, not only the chosen ones - it is
reported beside the fair row, never instead of it.
Videos without a heatmap count only where a metric allows (Hit@k needs a peak; AP needs
segments); each table says how many videos each figure covers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from orchestrator.evaluation import metrics
from orchestrator.evaluation.baselines import even_clips, random_clips
from orchestrator.evaluation.dataset import Entry
from orchestrator.evaluation.metrics import Span
from orchestrator.pipeline.manifest import Manifest

METHODS = ("snapclip", "snapclip-dense", "random", "even")


@dataclass(frozen=True)
class Scores:
    """One method's figures on one video (NaN where the video has no ground truth for it)."""

    hits: dict[int, float]  # k -> 1.0 / 0.0 (random: the fraction of seeds)
    ap15: float
    ap50: float
    precision: float
    recall: float

    def columns(self) -> dict[str, float]:
        """The report's columns, in order."""
        return {**{f"Hit@{k}": v for k, v in self.hits.items()}, "mAP@15": self.ap15,
                "mAP@50": self.ap50, "precision": self.precision, "recall": self.recall}


@dataclass(frozen=True)
class VideoResult:
    entry: Entry
    duration_s: float
    methods: dict[str, Scores]
    # For the per-video plot: the heatmap's segment values and our segment scores.
    truth: np.ndarray = field(repr=False)
    ours: np.ndarray = field(repr=False)


def score(clips: Sequence[Span], curve: tuple[np.ndarray, np.ndarray], entry: Entry,
          duration_s: float, ks: Sequence[int]) -> Scores:
    peak = metrics.peak_time(entry.heatmap or ())
    hits = {k: (float(metrics.hit_at_k(peak, clips, k)) if peak is not None else math.nan)
            for k in ks}
    if not entry.heatmap:
        return Scores(hits, math.nan, math.nan, math.nan, math.nan)
    truth = metrics.segment_values(entry.heatmap, duration_s)
    predicted = metrics.segment_scores(curve[0], curve[1], duration_s)
    top15 = metrics.positive_segments(truth, 0.15)
    top50 = metrics.positive_segments(truth, 0.50)
    precision, recall = metrics.coverage(clips, top15, duration_s)
    return Scores(hits, metrics.average_precision(top15, predicted),
                  metrics.average_precision(top50, predicted), precision, recall)


def _mean_scores(runs: Sequence[Scores], ks: Sequence[int]) -> Scores:
    """Each figure averaged over ``runs``, leaving out the NaNs (no ground truth)."""
    return Scores({k: _nanmean([r.hits[k] for r in runs]) for k in ks},
                  _nanmean([r.ap15 for r in runs]), _nanmean([r.ap50 for r in runs]),
                  _nanmean([r.precision for r in runs]), _nanmean([r.recall for r in runs]))


def evaluate_video(entry: Entry, manifest: Manifest, ks: Sequence[int], seeds: int = 20
                   ) -> VideoResult:
    duration = manifest.source.duration_s
    ours = [Span(c.start_s, c.end_s) for c in sorted(manifest.clips, key=lambda c: c.rank)]
    if manifest.score_curve is not None:
        curve = (np.asarray(manifest.score_curve.times_s), np.asarray(manifest.score_curve.scores))
    else:  # a manifest from before the curve was written: rank by the clips alone
        curve = metrics.clips_curve(ours, duration)
    lengths = [c.end_s - c.start_s for c in ours]
    results = {"snapclip": score(ours, metrics.clips_curve(ours, duration), entry, duration,
                                 ks),
               "snapclip-dense": score(ours, curve, entry, duration, ks)}
    randoms = []
    for seed in range(seeds):
        clips = random_clips(lengths, duration, seed)
        randoms.append(score(clips, metrics.clips_curve(clips, duration), entry, duration, ks))
    results["random"] = _mean_scores(randoms, ks)
    even = even_clips(lengths, duration)
    results["even"] = score(even, metrics.clips_curve(even, duration), entry, duration, ks)
    truth = (metrics.segment_values(entry.heatmap, duration) if entry.heatmap
             else np.zeros(0))
    return VideoResult(entry, duration, results, truth,
                       metrics.segment_scores(curve[0], curve[1], duration))


@dataclass(frozen=True)
class Row:
    group: str
    method: str
    videos: int
    peaks: int  # videos with a peak (the Hit@k denominators)
    values: dict[str, float]


def table(results: Sequence[VideoResult], ks: Sequence[int]) -> list[Row]:
    """Rows per category and overall, per method: mean of each metric over its videos."""
    groups: dict[str, list[VideoResult]] = {}
    for r in results:
        groups.setdefault(r.entry.category, []).append(r)
    rows = []
    for group, members in [*sorted(groups.items()), ("overall", list(results))]:
        if group != "overall" and len(groups) == 1:
            continue  # one category: the overall row says it all
        for method in METHODS:
            scores = [m.methods[method] for m in members]
            peaks = sum(1 for s in scores if not math.isnan(s.hits[ks[0]]))
            rows.append(Row(group, method, len(members), peaks,
                            _mean_scores(scores, ks).columns()))
    return rows


def _nanmean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def cell(value: float) -> str:
    """A figure as the tables show it ("-" where there is no ground truth)."""
    return "-" if math.isnan(value) else f"{value:.3f}"


def results_json(results: Sequence[VideoResult]) -> list[dict[str, object]]:
    """Per-video figures for results.json (null where a video has no ground truth)."""
    def number(value: float) -> float | None:
        return None if math.isnan(value) else value

    return [{"id": r.entry.key, "line": r.entry.line, "category": r.entry.category,
             "duration_s": r.duration_s,
             **{m: {"hits": {str(k): number(v) for k, v in s.hits.items()},
                    "ap15": number(s.ap15), "ap50": number(s.ap50),
                    "precision": number(s.precision), "recall": number(s.recall)}
                for m, s in r.methods.items()}}
            for r in results]


def markdown(rows: Sequence[Row], problems: Sequence[str], skipped: Sequence[str]) -> str:
    names = list(rows[0].values) if rows else []
    lines = ["# snapclip evaluation", "",
             "Metrics (definitions: `orchestrator/evaluation/metrics.py`): Hit@k - the "
             "heatmap's highest peak inside one of the top-k clips, over videos with a peak; "
             "mAP@15/@50 - average precision of per-5-s-segment scores against the top 15 % / "
             "50 % of heatmap segments; precision/recall - clip seconds against the top-15 % "
             "seconds. Baselines: `random` (same clip count and lengths at random places, "
             "averaged over seeds) and `even` (evenly spaced).", "",
             "| group | method | videos | with peak | " + " | ".join(names) + " |",
             "|" + "---|" * (4 + len(names))]
    for r in rows:
        cells = " | ".join(cell(v) for v in r.values.values())
        lines.append(f"| {r.group} | {r.method} | {r.videos} | {r.peaks} | {cells} |")
    if problems or skipped:
        lines += ["", "## Skipped", ""]
        lines += [f"- dataset {p}" for p in problems]
        lines += [f"- {s}" for s in skipped]
    lines += ["", "Plots: `metrics.png` (each metric, ours against the baselines), "
              "`videos/<id>.png` (heatmap against our score, per video).", ""]
    return "\n".join(lines)


def plot(out: Path, rows: Sequence[Row], results: Sequence[VideoResult]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    overall = [r for r in rows if r.group == "overall"]
    if overall:
        names = list(overall[0].values)
        fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2, 3.8))
        width = 0.8 / len(overall)
        for n, row in enumerate(overall):
            xs = np.arange(len(names)) + n * width
            ax.bar(xs, [0 if math.isnan(v) else v for v in row.values.values()], width,
                   label=row.method)
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"snapclip against baselines ({overall[0].videos} videos)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "metrics.png", dpi=110)
        plt.close(fig)
        written.append(out / "metrics.png")
    (out / "videos").mkdir(exist_ok=True)
    for r in results:
        fig, ax = plt.subplots(figsize=(8, 2.8))
        segments = np.arange(len(r.ours)) * metrics.SEGMENT_S
        if len(r.truth):
            ax.step(segments, r.truth, where="post", label="heatmap (5-s segments)")
        peak = r.ours.max() if len(r.ours) and r.ours.max() > 0 else 1.0
        ax.step(segments, r.ours / peak, where="post", label="snapclip score (scaled)")
        ax.set_xlabel("time (s)")
        ax.set_ylim(0, 1.05)
        ax.set_title(r.entry.key)
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        path = out / "videos" / f"{r.entry.key}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
