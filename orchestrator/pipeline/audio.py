"""Audio for Whisper: decode to 16 kHz mono and split speech into <=30 s chunks, in bounded memory.

A job's audio is decoded once with PyAV (no ffmpeg subprocess) and spooled as 16-bit samples to
an anonymous temporary file (``AudioTrack``): it is unlinked as soon as it is made, so even a
killed process leaves nothing behind, and memory does not grow with the video's length (a
4-hour video is 14,400 s x 16,000 x 4 bytes = 920 MB of float32 in memory; spooled, it is
460 MB on disk and a few MB in memory, issue 16). Chunks read their samples from it when they
are sent. 16-bit is what faster-whisper's own ``decode_audio`` resamples to as well, so nothing
is lost by it.

Speech is found with the Silero VAD shipped inside faster-whisper, one block (2 minutes) at a
time; each block ends at the quietest 100 ms near its end, so a block boundary does not cut a
word. Unlike faster-whisper's ``collect_chunks``, which glues separate speech stretches together,
a chunk here is one contiguous span of the original audio, so chunk time maps to video time by a
plain offset.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import itertools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import numpy as np

from orchestrator.contracts.limits import MEDIA_OPEN_OPTIONS
from orchestrator.contracts.models import WHISPER_MAX_CHUNK_S, WHISPER_SAMPLE_RATE

SR = WHISPER_SAMPLE_RATE
VAD_BLOCK_S = 120.0  # audio given to the VAD at once (2 min: 8 MB of float32, ~100 MB in the VAD)
_QUIET_SEARCH_S = 10.0  # a block ends at the quietest 100 ms in its last 10 s
_SAMPLE = np.dtype("<i2")


class Samples(Protocol):
    """Audio at 16 kHz that can be read a stretch at a time."""

    def __len__(self) -> int: ...

    def read(self, start: int, end: int) -> np.ndarray:
        """Samples ``start..end`` as float32 in [-1, 1]."""
        ...


@dataclass(frozen=True)
class InMemory:
    """A float32 array as ``Samples`` (short audio: tests, benchmarks, synthesized speech)."""

    audio: np.ndarray
    origin: int = 0  # the sample index of ``audio[0]``

    def __len__(self) -> int:
        return self.origin + len(self.audio)

    def read(self, start: int, end: int) -> np.ndarray:
        return self.audio[max(0, start - self.origin):max(0, end - self.origin)]


class AudioTrack:
    """A file's audio, spooled as 16-bit samples to an unlinked temporary file.

    Use as a context manager (or call ``close``); reads are positional, so chunks can be read from
    several threads at once.
    """

    def __init__(self, spool: IO[bytes], length: int) -> None:
        self._spool = spool
        self._fd = spool.fileno()
        self._length = length

    @classmethod
    def decode(cls, path: Path | str, *, scratch: Path | None = None) -> AudioTrack:
        """Decode the first audio stream of ``path`` to 16 kHz mono.

        Args:
          path: a media file (opened with the same protocol and format limits as every input).
          scratch: the folder for the spool file (default: the system's temporary folder).

        Returns:
          The track; no samples when the file has no audio stream.
        """
        spool = tempfile.TemporaryFile(prefix="snapclip-audio-", dir=scratch)  # noqa: SIM115 -- kept open by the track
        length = 0
        try:
            for block in _decode_s16(path):
                spool.write(block.tobytes())
                length += len(block)
            spool.flush()
        except BaseException:
            spool.close()
            raise
        return cls(spool, length)

    def __len__(self) -> int:
        return self._length

    @property
    def duration_s(self) -> float:
        return self._length / SR

    def read(self, start: int, end: int) -> np.ndarray:
        start, end = max(0, start), min(end, self._length)
        if end <= start:
            return np.zeros(0, dtype=np.float32)
        raw = os.pread(self._fd, (end - start) * _SAMPLE.itemsize, start * _SAMPLE.itemsize)
        return np.frombuffer(raw, dtype=_SAMPLE).astype(np.float32) / 32768.0

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> AudioTrack:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _decode_s16(path: Path | str) -> Iterator[np.ndarray]:
    """The audio as blocks of 16 kHz mono int16 samples."""
    import av

    with av.open(str(path), options=dict(MEDIA_OPEN_OPTIONS), metadata_errors="ignore") as box:
        if not box.streams.audio:
            return
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SR)
        frames = _valid(box.decode(box.streams.audio[0]))
        for frame in itertools.chain(frames, [None]):  # None flushes the resampler
            if frame is not None:
                frame.pts = None  # resample by sample count, not by (often broken) timestamps
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1).astype(_SAMPLE, copy=False)
        # The resampler keeps FFmpeg objects alive until a collection runs:
        # https://github.com/SYSTRAN/faster-whisper/issues/390
        del resampler
    gc.collect()


def _valid(frames: Iterator) -> Iterator:
    """Skip frames the decoder refuses (a damaged packet), as faster-whisper does."""
    import av

    while True:
        try:
            yield next(frames)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue


def decode_audio(path: Path | str) -> np.ndarray:
    """Decode the first audio stream of ``path`` to 16 kHz mono float32 in [-1, 1], in memory.

    For short audio (tests, benchmarks); a job spools its audio with ``AudioTrack.decode``.
    """
    blocks = list(_decode_s16(path))
    audio = np.concatenate(blocks) if blocks else np.zeros(0, dtype=_SAMPLE)
    return audio.astype(np.float32) / 32768.0


@dataclass(frozen=True)
class AudioChunk:
    """A contiguous stretch of the audio: samples ``start..end``, ``offset_s`` into the video."""

    source: Samples = field(repr=False, compare=False)
    start: int
    end: int

    @classmethod
    def of(cls, offset_s: float, samples: np.ndarray) -> AudioChunk:
        """A chunk of samples already in memory that start ``offset_s`` into the video."""
        start = round(offset_s * SR)
        return cls(InMemory(samples, origin=start), start, start + len(samples))

    @property
    def offset_s(self) -> float:
        return self.start / SR

    @property
    def duration_s(self) -> float:
        return (self.end - self.start) / SR

    @property
    def samples(self) -> np.ndarray:
        """Read now from the track (kept nowhere, so chunks waiting their turn cost nothing)."""
        return self.source.read(self.start, self.end)


def _speech_spans(audio: np.ndarray, max_chunk_s: float) -> list[tuple[int, int]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=max_chunk_s, min_silence_duration_ms=300,
                         speech_pad_ms=200)
    return [(s["start"], s["end"]) for s in get_speech_timestamps(audio, options)]


def _blocks(samples: Samples, block: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(offset, audio)`` blocks of about ``block`` samples, each ending at a quiet moment."""
    start, total = 0, len(samples)
    window = SR // 10
    while start < total:
        end = start + block
        if end >= total:
            end = total
        else:
            search = samples.read(max(start + SR, end - int(_QUIET_SEARCH_S * SR)), end)
            usable = len(search) // window * window
            if usable:
                energy = np.square(search[len(search) - usable:]).reshape(-1, window).sum(axis=1)
                end -= (len(energy) - 1 - int(np.argmin(energy))) * window + window // 2
        yield start, samples.read(start, end)
        start = end


def _return_freed_memory() -> None:
    """Give the VAD's freed buffers back to the system after each block.

    The VAD allocates about 100 MB of activations per block and frees them; glibc keeps freed
    large buffers in its heap (its mmap threshold grows after each such free), so without a trim
    the process's memory crept up block after block: 259 MB after a 60-minute input against
    223 MB after a 10-minute one, measured with 2-minute blocks (170 MB with the trim).
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (musl, macOS): nothing to trim
        return None


def _merge(spans: list[tuple[int, int]], max_samples: int) -> Iterator[tuple[int, int]]:
    start, end = spans[0]
    for s, e in spans[1:]:
        if e - start <= max_samples:
            end = e
        else:
            yield start, end
            start, end = s, e
    yield start, end


def speech_chunks(audio: Samples | np.ndarray, *, max_chunk_s: float = WHISPER_MAX_CHUNK_S,
                  block_s: float = VAD_BLOCK_S) -> list[AudioChunk]:
    """Split ``audio`` into contiguous chunks of at most ``max_chunk_s`` that hold its speech.

    Neighbouring speech stretches share a chunk while the span from the first to the last stays
    within the limit; silence longer than that is skipped. The VAD sees ``block_s`` at a time.
    """
    samples: Samples = InMemory(audio) if isinstance(audio, np.ndarray) else audio
    max_samples = int(max_chunk_s * SR)
    spans = []
    for offset, block in _blocks(samples, max(int(block_s * SR), 2 * SR)):
        spans += [(offset + a, offset + b) for a, b in _speech_spans(block, max_chunk_s)]
        _return_freed_memory()
    if not spans:
        return []
    return [AudioChunk(samples, a, b) for a, b in _merge(spans, max_samples)]
