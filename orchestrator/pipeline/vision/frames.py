"""Frame sampling: about one frame per second, decoded cheaply, for the vision stage.

PyAV decodes in FFmpeg's own threads (``thread_type="AUTO"``) and skips non-reference frames
(``skip_frame="NONREF"``): B-frames are never shown to anyone here, and skipping them cut the
decode time of a 720p H.264 sample by a third (3.2 s -> 2.0 s for 52 s of video on 2 cores).
Only the kept frames are converted, already scaled down, so a frame costs one decode and one
small ``sws_scale``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.contracts.limits import MEDIA_OPEN_OPTIONS


@dataclass(frozen=True)
class Frames:
    """Frames sampled from a video, in time order."""

    times_s: np.ndarray  # (N,) float64, seconds from the start
    images: tuple[np.ndarray, ...]  # RGB uint8 (h, w, 3), ``height`` pixels high
    source_size: tuple[int, int]  # (width, height) of the video

    def __len__(self) -> int:
        return len(self.images)


def sample_frames(path: Path, *, every_s: float = 1.0, height: int = 224) -> Frames:
    """Decode ``path``'s first video stream and keep one frame per ``every_s`` seconds.

    Args:
        path: a media file with a video stream.
        every_s: spacing of the kept frames in seconds.
        height: the kept frames are scaled to this height (aspect kept, width even).

    Returns:
        The kept frames and their times (empty when the file has no video).
    """
    import av

    times: list[float] = []
    images: list[np.ndarray] = []
    size = (0, 0)
    with av.open(str(path), options=dict(MEDIA_OPEN_OPTIONS)) as container:
        if not container.streams.video:
            return Frames(np.zeros(0), (), size)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.skip_frame = "NONREF"
        coded = (stream.codec_context.width, stream.codec_context.height)
        turns, width = 0, 0
        for t, frame in _every(container.decode(stream), every_s):
            if not times:
                # A phone video's display matrix: FFmpeg renders it turned (autorotate), so
                # the frames are turned the same way and every crop is computed on what is
                # shown. PyAV's rotation is counterclockwise degrees, as np.rot90 turns.
                turns = round(frame.rotation / 90) % 4
                size = (coded[1], coded[0]) if turns % 2 else coded
                width = max(2, round(size[0] * height / max(1, size[1]) / 2) * 2)
            times.append(t)
            raw = (height, width) if turns % 2 else (width, height)
            image = frame.to_ndarray(format="rgb24", width=raw[0], height=raw[1])
            images.append(np.ascontiguousarray(np.rot90(image, turns)) if turns else image)
    return Frames(np.asarray(times, dtype=np.float64), tuple(images), size)


def _every(frames: Iterator, every_s: float) -> Iterator[tuple[float, object]]:
    """The first decoded frame at or after each multiple of ``every_s``."""
    due = 0.0
    for frame in frames:
        if frame.time is None or frame.time < due:
            continue
        yield float(frame.time), frame
        due = (int(frame.time / every_s) + 1) * every_s


def visual_change(frames: Frames) -> np.ndarray:
    """How much the picture changes at each sampled frame, 0..1 (the first frame: 0).

    The mean absolute difference of small grey thumbnails (motion) plus the L1 distance of
    their grey histograms (scene cuts, which change the whole palette), averaged, and divided by
    the 95th percentile over the video so one cut does not flatten everything else.
    """
    if len(frames) < 2:
        return np.zeros(len(frames))
    grey = np.stack([_thumb(img) for img in frames.images])
    motion = np.abs(np.diff(grey, axis=0)).mean(axis=(1, 2))
    hists = np.stack([np.histogram(g, bins=32, range=(0.0, 1.0))[0] / g.size for g in grey])
    cuts = np.abs(np.diff(hists, axis=0)).sum(axis=1) / 2.0
    raw = np.concatenate([[0.0], (motion + cuts) / 2.0])
    scale = np.percentile(raw, 95)
    return np.clip(raw / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(raw)


def _thumb(image: np.ndarray, size: tuple[int, int] = (64, 36)) -> np.ndarray:
    """Grey 64 x 36 thumbnail in [0, 1] (area averaging)."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
