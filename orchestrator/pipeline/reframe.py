"""Reframing a landscape video for 9:16 (or 1:1): a crop window that follows the subject.

Per sampled frame the subject is the largest face OpenCV's Haar cascade finds, else the centre
of the most salient region (spectral-residual saliency), else nothing. Both detectors ship
inside the ``opencv-contrib-python-headless`` wheel, so nothing is downloaded. The per-frame
centres are then smoothed - gaps filled, a median against single-frame misses, a dead zone so a
subject who sways does not drag the window, and a speed limit so it glides rather than jumps -
and handed to FFmpeg's ``crop`` filter as a piecewise-linear function of time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np

from orchestrator.contracts.limits import ASPECTS, ASPECTS_PATTERN
from orchestrator.errors import InputError


@cache
def _face_detector():
    import cv2

    return cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def subject_x(image: np.ndarray) -> float | None:
    """Horizontal centre of the subject in an RGB frame, 0..1, or None when there is none."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    faces = _face_detector().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5,
                                              minSize=(max(12, grey.shape[0] // 12),) * 2)
    if len(faces):
        x, _, w, _ = max(faces, key=lambda f: f[2] * f[3])
        return float((x + w / 2) / grey.shape[1])
    saliency = cv2.saliency.StaticSaliencySpectralResidual_create()
    ok, smap = saliency.computeSaliency(image)
    if not ok or smap is None:
        return None
    smap = np.asarray(smap, dtype=np.float64)
    if smap.max() <= 0 or smap.max() < 3 * smap.mean():  # flat: nothing stands out
        return None
    mask = smap >= np.percentile(smap, 95)
    columns = (smap * mask).sum(axis=0)
    return float(np.average(np.arange(len(columns)) + 0.5, weights=columns) / len(columns))


def smooth_path(xs: Sequence[float | None], *, dead_zone: float = 0.06,
                max_step: float = 0.08) -> np.ndarray:
    """Turn per-frame subject centres (None = not found) into a steady window centre path.

    Args:
        xs: subject centre per sampled frame (about one per second), 0..1 or None.
        dead_zone: the window does not move for a target closer than this (fraction of width).
        max_step: the window moves at most this far between samples.

    Returns:
        The window centre per sample, 0..1; all 0.5 when no subject was ever found.
    """
    n = len(xs)
    known = [i for i, x in enumerate(xs) if x is not None]
    if not known:
        return np.full(n, 0.5)
    filled = np.interp(np.arange(n), known, [xs[i] for i in known])
    if n >= 3:  # median of 3 drops single-sample misdetections
        padded = np.concatenate([[filled[0]], filled, [filled[-1]]])
        filled = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
    path = np.empty(n)
    current = filled[0]
    for i, target in enumerate(filled):
        if abs(target - current) > dead_zone:
            current += float(np.clip(target - current, -max_step, max_step))
        path[i] = current
    return path


@dataclass(frozen=True)
class CropGeometry:
    """The source rectangle to cut and the output size it is scaled to."""

    width: int
    height: int
    out_width: int
    out_height: int
    horizontal: bool  # True: the window slides left-right (the source is wider than the target)


def crop_geometry(source_w: int, source_h: int, aspect: str) -> CropGeometry:
    out_w, out_h = ASPECTS[aspect]
    if source_w * out_h > source_h * out_w:  # wider than the target: cut the sides
        w = min(source_w, round(source_h * out_w / out_h / 2) * 2)
        return CropGeometry(w, source_h - source_h % 2, out_w, out_h, True)
    h = min(source_h, round(source_w * out_h / out_w / 2) * 2)
    return CropGeometry(source_w - source_w % 2, h, out_w, out_h, False)


def crop_filter(geometry: CropGeometry, source_w: int, source_h: int,
                keyframes: Sequence[tuple[float, float]]) -> str:
    """FFmpeg filters: crop following ``keyframes`` ((clip time s, centre 0..1)), then scale.

    The crop's x is a piecewise-linear expression of the frame time ``t``; collinear keyframes
    are dropped so the expression stays short.
    """
    scale = f"scale={geometry.out_width}:{geometry.out_height}:flags=lanczos,setsar=1"
    if not geometry.horizontal:
        y = (source_h - geometry.height) // 2
        return f"crop={geometry.width}:{geometry.height}:0:{y},{scale}"
    span = source_w - geometry.width
    points = [(t, float(np.clip(c * source_w - geometry.width / 2, 0, span)))
              for t, c in keyframes] or [(0.0, span / 2)]
    points = _drop_collinear(points)
    expr = f"{points[-1][1]:.1f}"
    for (t0, x0), (t1, x1) in reversed(list(pairwise(points))):
        slope = (x1 - x0) / (t1 - t0) if t1 > t0 else 0.0
        expr = f"if(lt(t\\,{t1:.3f})\\,{x0:.1f}+{slope:.3f}*(t-{t0:.3f})\\,{expr})"
    if len(points) > 1:
        expr = f"if(lt(t\\,{points[0][0]:.3f})\\,{points[0][1]:.1f}\\,{expr})"
    return f"crop={geometry.width}:{geometry.height}:{expr}:0,{scale}"


def _drop_collinear(points: list[tuple[float, float]], tol_px: float = 1.0
                    ) -> list[tuple[float, float]]:
    kept = [points[0]]
    for i in range(1, len(points) - 1):
        (t0, x0), (t1, x1), (t2, x2) = kept[-1], points[i], points[i + 1]
        predicted = x0 + (x2 - x0) * (t1 - t0) / (t2 - t0) if t2 > t0 else x1
        if abs(predicted - x1) > tol_px:
            kept.append(points[i])
    if len(points) > 1:
        kept.append(points[-1])
    return kept


REFRAME_FILE = "reframe.json"  # the smoothed subject path, kept for re-renders


def write_subject_path(path: Path, times_s: Sequence[float], centres: Sequence[float]) -> None:
    """Keep the smoothed crop centres (0..1 of the width) at the sampled frame times."""
    path.write_text(json.dumps({"times_s": [round(float(t), 3) for t in times_s],
                                "centres": [round(float(c), 4) for c in centres]}) + "\n",
                    encoding="utf-8")


def read_subject_path(path: Path) -> tuple[list[float], list[float]]:
    """What ``write_subject_path`` kept; empty (a centred crop) when it is not there."""
    if not path.is_file():
        return [], []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [float(t) for t in data["times_s"]], [float(c) for c in data["centres"]]


def parse_aspects(text: str) -> tuple[str, ...]:
    """``"9:16,1:1"`` -> ``("9:16", "1:1")``: known aspects, each once (``InputError`` else)."""
    aspects = tuple(text.split(","))
    if not re.fullmatch(ASPECTS_PATTERN, text) or len(set(aspects)) != len(aspects):
        raise InputError(f"--aspect must be one of {', '.join(ASPECTS)}, or several of them "
                         "separated by commas (each once), e.g. 9:16,1:1")
    return aspects
