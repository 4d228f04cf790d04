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
class Frame:
    """One sampled frame: RGB uint8 (h, w, 3), as shown (rotation applied)."""

    time_s: float
    image: np.ndarray
    source_size: tuple[int, int]  # (width, height) of the video as shown


@dataclass(frozen=True)
class Frames:
    """Frames sampled from a video, in time order (short videos: tests and tools)."""

    times_s: np.ndarray  # (N,) float64, seconds from the start
    images: tuple[np.ndarray, ...]  # RGB uint8 (h, w, 3), ``height`` pixels high
    source_size: tuple[int, int]  # (width, height) of the video

    def __len__(self) -> int:
        return len(self.images)


def iter_frames(path: Path, *, every_s: float = 1.0, height: int = 224) -> Iterator[Frame]:
    """Decode ``path``'s first video stream and yield one frame per ``every_s`` seconds.

    A generator, so a caller that works frame by frame holds one frame at a time: a 4-hour video
    is 14,400 frames of 224 x 398 x 3 bytes, 3.8 GB if they were all kept (issue 16).

    Args:
        path: a media file (nothing is yielded when it has no video).
        every_s: spacing of the kept frames in seconds.
        height: the kept frames are scaled to this height (aspect kept, width even).
    """
    import av

    with av.open(str(path), options=dict(MEDIA_OPEN_OPTIONS)) as container:
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.skip_frame = "NONREF"
        coded = (stream.codec_context.width, stream.codec_context.height)
        turns, width, size = 0, 0, coded
        for n, (t, frame) in enumerate(_every(container.decode(stream), every_s)):
            if n == 0:
                # A phone video's display matrix: FFmpeg renders it turned (autorotate), so
                # the frames are turned the same way and every crop is computed on what is
                # shown. PyAV's rotation is counterclockwise degrees, as np.rot90 turns.
                turns = round(frame.rotation / 90) % 4
                size = (coded[1], coded[0]) if turns % 2 else coded
                width = max(2, round(size[0] * height / max(1, size[1]) / 2) * 2)
            raw = (height, width) if turns % 2 else (width, height)
            image = frame.to_ndarray(format="rgb24", width=raw[0], height=raw[1])
            yield Frame(t, np.ascontiguousarray(np.rot90(image, turns)) if turns else image, size)


def sample_frames(path: Path, *, every_s: float = 1.0, height: int = 224) -> Frames:
    """All of ``iter_frames`` in memory: for short videos only (the vision stage streams)."""
    frames = list(iter_frames(path, every_s=every_s, height=height))
    return Frames(np.asarray([f.time_s for f in frames], dtype=np.float64),
                  tuple(f.image for f in frames),
                  frames[0].source_size if frames else (0, 0))


def _every(frames: Iterator, every_s: float) -> Iterator[tuple[float, object]]:
    """The first decoded frame at or after each multiple of ``every_s``."""
    due = 0.0
    for frame in frames:
        if frame.time is None or frame.time < due:
            continue
        yield float(frame.time), frame
        due = (int(frame.time / every_s) + 1) * every_s


class ChangeMeter:
    """How much the picture changes at each frame, measured one frame at a time.

    The mean absolute difference of small grey thumbnails (motion) plus the L1 distance of their
    grey histograms (scene cuts, which change the whole palette), averaged. Only the previous
    thumbnail is kept, so the memory is one float per frame.
    """

    def __init__(self) -> None:
        self._previous: tuple[np.ndarray, np.ndarray] | None = None
        self._raw: list[float] = []

    def add(self, image: np.ndarray) -> None:
        grey = _thumb(image)
        hist = np.histogram(grey, bins=32, range=(0.0, 1.0))[0] / grey.size
        if self._previous is None:
            self._raw.append(0.0)
        else:
            motion = float(np.abs(grey - self._previous[0]).mean())
            cut = float(np.abs(hist - self._previous[1]).sum()) / 2.0
            self._raw.append((motion + cut) / 2.0)
        self._previous = (grey, hist)

    def values(self) -> np.ndarray:
        """Per frame 0..1 (the first frame: 0), divided by the 95th percentile over the video
        so one cut does not flatten everything else."""
        raw = np.asarray(self._raw, dtype=np.float64)
        if len(raw) < 2:
            return np.zeros(len(raw))
        scale = np.percentile(raw, 95)
        return np.clip(raw / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(raw)


def visual_change(frames: Frames) -> np.ndarray:
    """``ChangeMeter`` over frames already in memory."""
    meter = ChangeMeter()
    for image in frames.images:
        meter.add(image)
    return meter.values()


def _thumb(image: np.ndarray, size: tuple[int, int] = (64, 36)) -> np.ndarray:
    """Grey 64 x 36 thumbnail in [0, 1] (area averaging)."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
