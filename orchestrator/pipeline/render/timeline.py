"""``timeline.png``: the fused score over the video with the chosen clips shaded and labelled."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def draw_timeline(path: Path, *, times_s: np.ndarray, fused: np.ndarray,
                  change_times_s: np.ndarray, change: np.ndarray,
                  clips: Sequence[tuple[float, float, str]], duration_s: float,
                  title: str) -> None:
    """Write the picture.

    Args:
        path: the PNG to write.
        times_s, fused: the fused score of the best candidate covering each second.
        change_times_s, change: the per-frame visual change (drawn faintly; may be empty).
        clips: (start, end, label) of each chosen clip, best first.
        duration_s: the video's length (the x axis).
        title: the video's title.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 3.6), dpi=100)
    try:
        if len(change):
            ax.plot(change_times_s, change, color="#9aa5b1", linewidth=0.8,
                    label="visual change")
        ax.step(times_s, fused, where="post", color="#1f6feb", linewidth=1.6,
                label="fused score")
        for n, (start, end, label) in enumerate(clips, 1):
            ax.axvspan(start, end, color="#f0883e", alpha=0.25, linewidth=0)
            ax.text((start + end) / 2, 1.02, f"#{n} {label}"[:40], ha="center", va="bottom",
                    fontsize=7, rotation=0, clip_on=False)
        ax.set_xlim(0, max(duration_s, 1.0))
        ax.set_ylim(0, 1.0)
        ax.set_xlabel("time (mm:ss)")
        ax.set_ylabel("score")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
            lambda x, _: f"{int(x) // 60}:{int(x) % 60:02d}"))
        ax.set_title(title[:90], fontsize=10, pad=18)
        ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
