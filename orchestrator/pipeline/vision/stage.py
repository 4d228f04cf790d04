"""Vision stage: what the picture says about each moment.

Frames are sampled about once a second (``frames``) while ASR runs. From them come, per frame,
the visual change (motion and cuts, from the pixels) and the subject's position (for the crop,
``reframe``); and, when the CLIP weights are real, an embedding from ``clip_image``. Each
candidate moment's title and hook go to ``clip_text``, and the candidate's similarity is the
mean cosine between that text and the frames inside it. With random CLIP weights (the offline
CPU profile) the similarity would be noise, so it is not computed at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.contracts.clip import CLIP_METADATA, ClipMetadata
from orchestrator.contracts.models import CLIP_IMAGE, CLIP_TEXT
from orchestrator.pipeline.reframe import subject_x
from orchestrator.pipeline.vision.frames import sample_frames, visual_change
from orchestrator.serving.client import TritonModels


@dataclass(frozen=True)
class VisionInput:
    path: Path
    has_video: bool
    similarity: bool  # embed frames with clip_image (only worth it with real weights)
    model_version: str = ""
    concurrency: int = 8


@dataclass(frozen=True)
class FrameSignals:
    times_s: np.ndarray  # (N,)
    change: np.ndarray  # (N,) 0..1
    subject_x: tuple[float | None, ...]  # (N,) subject centre 0..1, None where none found
    embeddings: np.ndarray | None  # (N, D) L2-normalized, None when similarity is off
    source_size: tuple[int, int]

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
    """Sample frames and compute their change, subject position and (optionally) embeddings."""
    if not request.has_video:
        return FrameSignals.empty()
    frames = await asyncio.to_thread(sample_frames, request.path)

    def local_signals() -> tuple[np.ndarray, tuple[float | None, ...]]:
        return visual_change(frames), tuple(subject_x(img) for img in frames.images)

    local = asyncio.create_task(asyncio.to_thread(local_signals))
    embeddings = None
    if request.similarity and len(frames):
        embeddings = await _embed_images(models, frames.images, request, on_progress)
    change, subjects = await local
    return FrameSignals(frames.times_s, change, subjects, embeddings, frames.source_size)


async def _embed_images(models: TritonModels, images: Sequence[np.ndarray],
                        request: VisionInput,
                        on_progress: Callable[[int, int], None] | None) -> np.ndarray:
    limit = asyncio.Semaphore(request.concurrency)
    done = 0

    async def one(image: np.ndarray) -> np.ndarray:
        nonlocal done
        async with limit:
            out = await models.infer(CLIP_IMAGE, {"IMAGE": image[np.newaxis]},
                                     version=request.model_version)
        done += 1
        if on_progress:
            on_progress(done, len(images))
        return out["EMBEDDING"][0]

    return np.stack(await asyncio.gather(*(one(img) for img in images)))


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
