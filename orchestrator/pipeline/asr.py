"""ASR stage: speech chunks -> Triton ``whisper`` (all at once) -> one transcript in video time.

Every chunk is its own request, sent concurrently so Triton's dynamic batcher can decode many in
one batch. Chunk-relative times come back and are shifted by each chunk's offset.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from orchestrator.contracts.models import WHISPER
from orchestrator.contracts.transcript import ChunkTranscript, Transcript
from orchestrator.pipeline.audio import AudioChunk
from orchestrator.serving.client import TritonModels


@dataclass(frozen=True)
class AsrInput:
    chunks: tuple[AudioChunk, ...]
    duration_s: float
    language: str | None = None
    model_version: str = ""


ProgressFn = Callable[[int, int], None]


def chunk_inputs(chunk: AudioChunk, language: str | None) -> dict[str, np.ndarray]:
    """The ``whisper`` request tensors for one chunk (batch dimension of 1)."""
    inputs = {"AUDIO": np.ascontiguousarray(chunk.samples, dtype=np.float32)[np.newaxis, :]}
    if language:
        inputs["LANGUAGE"] = np.array([[language.encode()]], dtype=np.object_)
    return inputs


async def transcribe_chunk(models: TritonModels, chunk: AudioChunk, *, language: str | None = None,
                           version: str = "") -> ChunkTranscript:
    out = await models.infer(WHISPER, chunk_inputs(chunk, language), version=version)
    return ChunkTranscript.from_json(out["TRANSCRIPT"].reshape(-1)[0])


def merge(chunks: tuple[AudioChunk, ...], results: list[ChunkTranscript], duration_s: float,
          language: str | None = None) -> Transcript:
    """Shift each chunk's segments into video time and join them in order."""
    segments = [seg.shifted(chunk.offset_s)
                for chunk, result in zip(chunks, results, strict=True) for seg in result.segments]
    spoken = Counter(r.language for r in results if r.segments)
    detected = language or (spoken.most_common(1)[0][0] if spoken else "")
    return Transcript(language=detected, duration_s=duration_s,
                      segments=tuple(sorted(segments, key=lambda s: s.start)))


class TranscriptPrefix:
    """Chunk results as they arrive, in any order -> the transcript of the finished prefix."""

    def __init__(self, request: AsrInput) -> None:
        self._request = request
        self._results: dict[int, ChunkTranscript] = {}
        self._prefix = 0

    def add(self, index: int, result: ChunkTranscript) -> Transcript | None:
        """Record a result; return the merged transcript of chunks 0..k when k grew, else None."""
        self._results[index] = result
        if index != self._prefix:
            return None
        while self._prefix in self._results:
            self._prefix += 1
        chunks = self._request.chunks[:self._prefix]
        return merge(chunks, [self._results[i] for i in range(self._prefix)],
                     self._request.duration_s, self._request.language)


async def transcribe(models: TritonModels, request: AsrInput, *, concurrency: int = 32,
                     on_progress: ProgressFn | None = None,
                     on_result: Callable[[int, ChunkTranscript], None] | None = None,
                     ) -> Transcript:
    """Transcribe every chunk through Triton, at most ``concurrency`` requests in flight.

    ``on_result(index, result)`` is called as each chunk's transcript arrives (in any order).
    """
    limit = asyncio.Semaphore(concurrency)
    done = 0

    async def one(index: int, chunk: AudioChunk) -> ChunkTranscript:
        nonlocal done
        async with limit:
            result = await transcribe_chunk(models, chunk, language=request.language,
                                            version=request.model_version)
        done += 1
        if on_progress:
            on_progress(done, len(request.chunks))
        if on_result:
            on_result(index, result)
        return result

    try:
        async with asyncio.TaskGroup() as group:  # the first failure cancels the rest
            tasks = [group.create_task(one(i, c)) for i, c in enumerate(request.chunks)]
    except* Exception as failures:  # noqa: BLE001 -- re-raised, unwrapped from the group
        raise failures.exceptions[0] from None
    return merge(request.chunks, [t.result() for t in tasks], request.duration_s,
                 request.language)
