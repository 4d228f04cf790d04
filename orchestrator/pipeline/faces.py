"""Faces in a frame, found by BlazeFace (MediaPipe's short-range face detector) through OpenCV.

BlazeFace looks at a 128 x 128 picture and answers 896 anchor boxes, each with a score; its
"short range" model is made for faces that fill a good part of that picture. A landscape frame
is therefore looked at in overlapping square tiles as high as the frame (two people side by side
in a podcast shot each get a tile that holds their face large enough), and the boxes of all
tiles are merged by non-maximum suppression. The anchors and the box decoding are those of
MediaPipe's ``face_detection_short_range.pbtxt`` (SsdAnchorsCalculator: 4 layers, strides 8, 16,
16, 16, fixed anchor size; TensorsToDetectionsCalculator: scales 128, score clip 100;
NonMaxSuppression at IoU 0.3). The weights come from ``serving.face_model``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from orchestrator.errors import SnapclipError
from orchestrator.serving.face_model import face_model_path, is_fetched

INPUT = 128  # the model's square input, pixels
# MediaPipe's graph keeps boxes scored 0.5 and up on one whole picture. Looked at in tiles of
# several sizes, a frame also shows hands, shoulders and patterns scored up to ~0.65 at some
# size, while a real face scores 0.8-0.97 at its best size (tests/unit/test_faces.py): a box is
# a face from SURE, and a box from MAYBE is worth a closer look.
SURE = 0.75
MAYBE = 0.3
NMS_IOU = 0.3


@dataclass(frozen=True)
class Face:
    """A face box in a frame, as fractions of the frame's width and height."""

    x: float  # centre
    y: float
    width: float
    height: float
    score: float

    @property
    def area(self) -> float:
        return self.width * self.height


@cache
def _anchors() -> np.ndarray:
    """(896, 2) anchor centres: a 16x16 grid with 2 anchors a cell, then 8x8 with 6."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = INPUT // stride
        for row in range(cells):
            for col in range(cells):
                centres += [((col + 0.5) / cells, (row + 0.5) / cells)] * per_cell
    return np.asarray(centres, dtype=np.float32)


# One network per thread: an OpenCV ``dnn.Net`` keeps its input and buffers inside it, and two
# threads running one net at once crash the process (jobs run their vision stages in parallel
# worker threads; tests/unit/test_faces.py runs four at once).
_local = threading.local()


def _network() -> Any:  # a cv2.dnn.Net
    net = getattr(_local, "net", None)
    if net is None:
        import cv2

        path = face_model_path()
        if not is_fetched(path):
            raise SnapclipError(f"the face detector is not installed ({path}); run "
                                "`snapclip models fetch --model faces` (scripts/setup.sh does)")
        net = _local.net = cv2.dnn.readNetFromTFLite(str(path))
    return net


def detect_faces(image: np.ndarray) -> list[Face]:
    """The faces in an RGB frame (uint8, h x w x 3), largest first.

    The frame is looked at in square tiles as high as the frame, then - only while some box is
    uncertain (scored between ``MAYBE`` and ``SURE``), so a frame without people or with one
    clear face costs one pass - in tiles a half and a third as high, where the smaller faces of
    a wide shot are large enough for the model. Boxes scored ``SURE`` at any size are kept.
    """
    height, width = image.shape[:2]
    side = min(height, width)
    sure: list[Face] = []
    for divisor in (1, 2, 3):
        if side // divisor < 16:
            break
        found = _in_tiles(image, side // divisor)
        sure += [f for f in found if f.score >= SURE]
        if not any(f.score < SURE and all(_iou(f, k) < NMS_IOU for k in sure) for f in found):
            break  # nothing left that a closer look could confirm
    return _suppress(sure)


def _in_tiles(image: np.ndarray, side: int) -> list[Face]:
    import cv2

    height, width = image.shape[:2]
    net = _network()
    found = []
    for y0 in _offsets(height, side):
        for x0 in _offsets(width, side):
            tile = cv2.resize(image[y0:y0 + side, x0:x0 + side], (INPUT, INPUT),
                              interpolation=cv2.INTER_AREA)
            net.setInput((tile.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None])
            scores, boxes = net.forward(["classificators", "regressors"])
            for face in _decode(scores.reshape(-1), boxes.reshape(-1, 16)):
                found.append(Face((x0 + face.x * side) / width, (y0 + face.y * side) / height,
                                  face.width * side / width, face.height * side / height,
                                  face.score))
    return found


def _offsets(length: int, side: int) -> list[int]:
    """Tile starts along one axis: tiles overlap by about half, the last ends at the edge."""
    count = max(1, math.ceil(length / side * 1.5) - 1)
    if count == 1:
        return [(length - side) // 2]
    return [round(k * (length - side) / (count - 1)) for k in range(count)]


def _decode(raw_scores: np.ndarray, raw_boxes: np.ndarray) -> list[Face]:
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.astype(np.float64), -100.0, 100.0)))
    keep = np.flatnonzero(scores >= MAYBE)
    anchors = _anchors()
    return [Face(float(raw_boxes[i, 0] / INPUT + anchors[i, 0]),
                 float(raw_boxes[i, 1] / INPUT + anchors[i, 1]),
                 float(raw_boxes[i, 2] / INPUT), float(raw_boxes[i, 3] / INPUT),
                 float(scores[i])) for i in keep]


def _suppress(faces: list[Face]) -> list[Face]:
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if all(_iou(face, other) < NMS_IOU for other in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: f.area, reverse=True)


def _iou(a: Face, b: Face) -> float:
    left, right = max(a.x - a.width / 2, b.x - b.width / 2), min(a.x + a.width / 2,
                                                                 b.x + b.width / 2)
    top, bottom = max(a.y - a.height / 2, b.y - b.height / 2), min(a.y + a.height / 2,
                                                                   b.y + b.height / 2)
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0
