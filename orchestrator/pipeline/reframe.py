"""Reframing a landscape video for 9:16 (or 1:1): a crop window that follows the subject.

Per sampled frame the subject is the largest face BlazeFace finds (``faces``), else the centre
of the most salient region (OpenCV's spectral-residual saliency), else nothing. The per-frame
centres are then smoothed - gaps filled, a median against single-frame misses, a dead zone so a
subject who sways does not drag the window, and a speed limit so it glides rather than jumps -
and handed to FFmpeg's ``crop`` filter as a piecewise-linear function of time.

When two people sit side by side (a podcast's two-shot) a 9:16 window can show only one of
them, and following whoever is larger would jump between them. Frames where two faces of a size
stand apart are marked, and where that holds for at least ``MIN_HOLD_S`` the 9:16 clip is
stacked instead: the left person above, the right one below (``split_layout``); shorter spells
are not split, and shorter gaps between split spells stay split, so the layout never flickers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from orchestrator.contracts.limits import ASPECTS, ASPECTS_PATTERN
from orchestrator.errors import InputError
from orchestrator.pipeline.faces import detect_faces


@dataclass(frozen=True)
class FrameSubject:
    """Who a sampled frame is about."""

    x: float | None  # the crop's target, 0..1 of the width: the largest face, else salience
    pair: tuple[float, float, float, float] | None = None  # two faces side by side (below)


# Two faces make a pair - a two-person shot a 9:16 window cannot hold - when the smaller is at
# least this high against the larger, and their centres this far apart (of the frame's width).
PAIR_SIZE = 0.6
PAIR_APART = 0.25


def frame_subject(image: np.ndarray) -> FrameSubject:
    """The subject of an RGB frame: faces (BlazeFace, ``faces``) first, else the centre of its
    most salient region (OpenCV's spectral-residual saliency), else nothing."""
    faces = detect_faces(image)
    if faces:
        first = faces[0]
        pair = None
        other = next((f for f in faces[1:] if f.height >= PAIR_SIZE * first.height
                      and abs(f.x - first.x) >= PAIR_APART), None)
        if other is not None:
            left, right = sorted((first, other), key=lambda f: f.x)
            pair = (round(left.x, 4), round(left.y, 4), round(right.x, 4), round(right.y, 4))
        return FrameSubject(first.x, pair)
    return FrameSubject(_salient_x(image))


def subject_x(image: np.ndarray) -> float | None:
    """Horizontal centre of the subject in an RGB frame, 0..1, or None when there is none."""
    return frame_subject(image).x


def _salient_x(image: np.ndarray) -> float | None:
    import cv2

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


@dataclass(frozen=True)
class SubjectPath:
    """What the crops follow, per sampled frame: the smoothed window centre and the face pair
    (``FrameSubject.pair``) where there was one."""

    times_s: tuple[float, ...] = ()
    centres: tuple[float, ...] = ()
    pairs: tuple[tuple[float, float, float, float] | None, ...] = ()


def write_subject_path(path: Path, subject: SubjectPath) -> None:
    """Keep the subject path (``reframe.json``) for re-renders."""
    path.write_text(json.dumps({
        "times_s": [round(float(t), 3) for t in subject.times_s],
        "centres": [round(float(c), 4) for c in subject.centres],
        "pairs": [list(p) if p else None for p in subject.pairs]}) + "\n", encoding="utf-8")


def read_subject_path(path: Path) -> SubjectPath:
    """What ``write_subject_path`` kept; empty (a centred crop) when it is not there."""
    if not path.is_file():
        return SubjectPath()
    data = json.loads(path.read_text(encoding="utf-8"))
    return SubjectPath(tuple(float(t) for t in data["times_s"]),
                       tuple(float(c) for c in data["centres"]),
                       tuple(tuple(p) if p else None for p in data.get("pairs", ())))


MIN_HOLD_S = 4.0  # the shortest spell of split screen, and the shortest gap between two


@dataclass(frozen=True)
class SplitLayout:
    """Where a 9:16 clip is stacked: clip-time spans, and the two faces (0..1 of the frame)."""

    spans: tuple[tuple[float, float], ...]
    top: tuple[float, float]  # the left person's face centre (x, y): the upper half
    bottom: tuple[float, float]  # the right person's: the lower half

    def covers(self, duration_s: float) -> bool:
        return len(self.spans) == 1 and self.spans[0][0] <= 0 and self.spans[0][1] >= duration_s


def split_layout(subject: SubjectPath, start_s: float, end_s: float,
                 min_hold_s: float = MIN_HOLD_S) -> SplitLayout | None:
    """The split-screen spells of the clip ``[start_s, end_s]``, or None for none.

    A frame without a pair between two with one counts as a pair (a blink of the detector);
    spells shorter than ``min_hold_s`` are dropped and gaps shorter than it are closed; a spell
    that ends or starts within ``min_hold_s`` of the clip's edge runs to it.
    """
    times, pairs = subject.times_s, subject.pairs
    inside = [i for i, t in enumerate(times) if start_s <= t <= end_s and i < len(pairs)]
    if not inside:
        return None
    flags = [pairs[i] is not None for i in inside]
    for k in range(1, len(flags) - 1):
        flags[k] = flags[k] or (flags[k - 1] and flags[k + 1])
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    duration = end_s - start_s
    spells: list[list[float]] = []
    for k, i in enumerate(inside):
        if not flags[k]:
            continue
        begin = max(0.0, times[i] - start_s - step / 2)
        finish = min(duration, times[i] - start_s + step / 2)
        if spells and begin - spells[-1][1] < min_hold_s:
            spells[-1][1] = finish
        else:
            spells.append([begin, finish])
    spells = [s for s in spells if s[1] - s[0] >= min_hold_s]
    if not spells:
        return None
    if spells[0][0] < min_hold_s:
        spells[0][0] = 0.0
    if duration - spells[-1][1] < min_hold_s:
        spells[-1][1] = duration
    chosen = [pairs[i] for k, i in enumerate(inside) if pairs[i] is not None]
    left = np.median([(p[0], p[1]) for p in chosen], axis=0)
    right = np.median([(p[2], p[3]) for p in chosen], axis=0)
    return SplitLayout(tuple((round(a, 3), round(b, 3)) for a, b in spells),
                       (float(left[0]), float(left[1])), (float(right[0]), float(right[1])))


def panel_crop(source_w: int, source_h: int, centre: tuple[float, float],
               panel: tuple[int, int], zoom: float = 0.75) -> str:
    """FFmpeg ``crop`` for one half of a split screen: a window of the panel's shape, ``zoom``
    of the source's height, centred on a face (kept inside the frame)."""
    height = min(source_h, round(source_h * zoom / 2) * 2)
    width = min(source_w, round(height * panel[0] / panel[1] / 2) * 2)
    height = min(height, round(width * panel[1] / panel[0] / 2) * 2)
    x = int(np.clip(centre[0] * source_w - width / 2, 0, source_w - width))
    # The face sits in the upper part of its panel, where a head and shoulders shot has it.
    y = int(np.clip(centre[1] * source_h - height * 0.4, 0, source_h - height))
    return f"crop={width}:{height}:{x}:{y}"


def parse_aspects(text: str) -> tuple[str, ...]:
    """``"9:16,1:1"`` -> ``("9:16", "1:1")``: known aspects, each once (``InputError`` else)."""
    aspects = tuple(text.split(","))
    if not re.fullmatch(ASPECTS_PATTERN, text) or len(set(aspects)) != len(aspects):
        raise InputError(f"--aspect must be one of {', '.join(ASPECTS)}, or several of them "
                         "separated by commas (each once), e.g. 9:16,1:1")
    return aspects
