"""Vision stage: what the picture says about each moment.

Frames are sampled about once a second (``frames``) while ASR runs, and streamed: a batch at a
time is in memory. From them come, per frame,
the visual change (motion and cuts, from the pixels) and the subject's position (for the crop,
``reframe``); and, when the CLIP weights are real, an embedding from ``clip_image``. Each
candidate moment's title and hook go to ``clip_text``, and the candidate's similarity is the
mean cosine between that text and the frames inside it. With random CLIP weights (the offline
CPU profile) the similarity would be noise, so it is not computed at all.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.contracts.clip import CLIP_METADATA, ClipMetadata
from orchestrator.contracts.models import CLIP_IMAGE, CLIP_TEXT
from orchestrator.pipeline.reframe import FrameSubject, frame_subject
from orchestrator.pipeline.vision.frames import ChangeMeter, Frame, iter_frames
from orchestrator.serving.client import TritonModels


@dataclass(frozen=True)
class VisionInput:
    path: Path
    has_video: bool
    similarity: bool  # embed frames with clip_image (only worth it with real weights)
    model_version: str = ""
    duration_s: float = 0.0  # for progress: frames are sampled once a second
    concurrency: int = 8  # clip_image requests in flight
    batch: int = 32  # frames decoded ahead and in memory at once


@dataclass(frozen=True)
class FrameSignals:
    times_s: np.ndarray  # (N,)
    change: np.ndarray  # (N,) 0..1
    subject_x: tuple[float | None, ...]  # (N,) subject centre 0..1, None where none found
    embeddings: np.ndarray | None  # (N, D) L2-normalized, None when similarity is off
    source_size: tuple[int, int]
    # (N,) two faces side by side (left x, y, right x, y), None where not (reframe)
    face_pairs: tuple[tuple[float, float, float, float] | None, ...] = ()

    @classmethod
    def empty(cls) -> FrameSignals:
        return cls(np.zeros(0), np.zeros(0), (), None, (0, 0))


def clip_weights_are_real(repository: Path | None, version: str) -> bool | None:
    """What ``clip_image`` version ``version``'s metadata says, or None when it is not at hand.

    The export writes ``clip.json`` (with ``real_weights``) into every CLIP model folder of the
    version; only a local model repository can be read (a remote Triton's cannot).
    """
    meta = repository / CLIP_IMAGE.name / version / CLIP_METADATA if repository else None
    return ClipMetadata.load(meta).real_weights if meta and meta.is_file() else None


async def analyse_video(models: TritonModels, request: VisionInput, *,
                        on_progress: Callable[[int, int], None] | None = None) -> FrameSignals:
    """Sample frames and compute their change, subject position and (optionally) embeddings.

    Frames stream through in batches: the next batch is decoded while this one is measured
    (and embedded), and no frame outlives its batch, so memory stays flat however long the
    video is (issue 16).
    """
    if not request.has_video:
        return FrameSignals.empty()
    frames = iter_frames(request.path)
    meter = ChangeMeter()
    times: list[float] = []
    subjects: list[FrameSubject] = []
    embeddings: list[np.ndarray] = []
    size = (0, 0)
    expected = max(1, int(request.duration_s / 1.0) + 1)  # frames sampled once a second

    def measure(batch: list[Frame]) -> list[FrameSubject]:
        for frame in batch:
            meter.add(frame.image)
        return [frame_subject(frame.image) for frame in batch]

    upcoming = asyncio.create_task(asyncio.to_thread(_take, frames, request.batch))
    try:
        while batch := await upcoming:
            upcoming = asyncio.create_task(asyncio.to_thread(_take, frames, request.batch))
            local = asyncio.create_task(asyncio.to_thread(measure, batch))
            if request.similarity:
                embeddings += await _embed_images(models, [f.image for f in batch], request)
            subjects += await local
            times += [f.time_s for f in batch]
            size = batch[0].source_size
            if on_progress:
                on_progress(len(times), max(expected, len(times)))
    finally:
        # The decoder runs in a worker thread: close the generator (and its file) once that
        # thread is done with it, never while it is inside.
        if upcoming.done():
            frames.close()
        else:
            upcoming.add_done_callback(lambda _: frames.close())
    return FrameSignals(np.asarray(times, dtype=np.float64), meter.values(),
                        tuple(s.x for s in subjects),
                        np.stack(embeddings) if request.similarity and embeddings else None,
                        size, tuple(s.pair for s in subjects))


def _take(frames: Iterator[Frame], n: int) -> list[Frame]:
    return list(itertools.islice(frames, n))


async def _embed_images(models: TritonModels, images: Sequence[np.ndarray],
                        request: VisionInput) -> list[np.ndarray]:
    limit = asyncio.Semaphore(request.concurrency)

    async def one(image: np.ndarray) -> np.ndarray:
        async with limit:
            out = await models.infer(CLIP_IMAGE, {"IMAGE": image[np.newaxis]},
                                     version=request.model_version)
        return out["EMBEDDING"][0]

    return list(await asyncio.gather(*(one(img) for img in images)))


async def embed_texts(models: TritonModels, texts: Sequence[str], *, version: str = ""
                      ) -> np.ndarray:
    """``clip_text`` embeddings of ``texts`` (one request each, sent together)."""
    async def one(text: str) -> np.ndarray:
        out = await models.infer(CLIP_TEXT, {"TEXT": np.array([[text.encode("utf-8")]],
                                                              dtype=np.object_)},
                                 version=version)
        return out["EMBEDDING"][0]

    return np.stack(await asyncio.gather(*(one(t) for t in texts)))


def span_similarity(signals: FrameSignals, text_embeddings: np.ndarray,
                    spans: Sequence[tuple[float, float]]) -> list[float]:
    """Mean cosine between each span's text embedding and the frames inside the span."""
    if signals.embeddings is None:
        raise ValueError("frames were not embedded")
    out = []
    for text, (start, end) in zip(text_embeddings, spans, strict=True):
        inside = (signals.times_s >= start) & (signals.times_s < end)
        if not inside.any():  # a span shorter than the sampling step: its nearest frame
            inside = np.zeros(len(signals.times_s), dtype=bool)
            inside[int(np.argmin(np.abs(signals.times_s - (start + end) / 2)))] = True
        out.append(float((signals.embeddings[inside] @ text).mean()))
    return out
