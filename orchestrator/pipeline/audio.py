"""Audio for Whisper: decode to 16 kHz mono float32 and split speech into <=30 s chunks.

Decoding uses PyAV through faster-whisper's ``decode_audio`` (no ffmpeg subprocess, no temporary
WAV). Speech is found with the Silero VAD shipped inside faster-whisper. Unlike faster-whisper's
``collect_chunks``, which glues separate speech stretches together, a chunk here is one
contiguous span of the original audio, so chunk time maps to video time by a plain offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.contracts.models import WHISPER_MAX_CHUNK_S, WHISPER_SAMPLE_RATE


def decode_audio(path: Path | str) -> np.ndarray:
    """Decode the first audio stream of ``path`` to 16 kHz mono float32 in [-1, 1].

    Args:
      path: any file PyAV (FFmpeg) can read.

    Returns:
      A 1-D float32 array.
    """
    from faster_whisper import decode_audio as _decode

    return np.asarray(_decode(str(path), sampling_rate=WHISPER_SAMPLE_RATE), dtype=np.float32)


@dataclass(frozen=True)
class AudioChunk:
    """A contiguous stretch of the audio: ``samples`` start ``offset_s`` into the video."""

    offset_s: float
    samples: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.samples) / WHISPER_SAMPLE_RATE


def _speech_spans(audio: np.ndarray, max_chunk_s: float) -> list[tuple[int, int]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=max_chunk_s, min_silence_duration_ms=300,
                         speech_pad_ms=200)
    return [(s["start"], s["end"]) for s in get_speech_timestamps(audio, options)]


def _merge(spans: list[tuple[int, int]], max_samples: int) -> Iterator[tuple[int, int]]:
    start, end = spans[0]
    for s, e in spans[1:]:
        if e - start <= max_samples:
            end = e
        else:
            yield start, end
            start, end = s, e
    yield start, end


def speech_chunks(audio: np.ndarray, *, max_chunk_s: float = WHISPER_MAX_CHUNK_S,
                  ) -> list[AudioChunk]:
    """Split ``audio`` into contiguous chunks of at most ``max_chunk_s`` that hold its speech.

    Neighbouring speech stretches share a chunk while the span from the first to the last stays
    within the limit; silence longer than that is skipped.
    """
    max_samples = int(max_chunk_s * WHISPER_SAMPLE_RATE)
    spans = _speech_spans(audio, max_chunk_s)
    if not spans:
        return []
    return [AudioChunk(offset_s=a / WHISPER_SAMPLE_RATE, samples=audio[a:b])
            for a, b in _merge(spans, max_samples)]
