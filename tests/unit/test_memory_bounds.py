"""A job's memory does not grow with the video's length: audio is spooled, frames stream.

Peak Python-side allocations (numpy registers its buffers with tracemalloc) are measured on a
short and a four-times-longer input; with everything held in memory the longer one needs about
four times as much.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import tracemalloc
import wave
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from orchestrator.contracts.models import WHISPER_SAMPLE_RATE as SR
from orchestrator.pipeline.audio import AudioTrack, decode_audio, speech_chunks
from orchestrator.pipeline.vision import VisionInput, analyse_video
from orchestrator.pipeline.vision import stage as vision_stage
from orchestrator.pipeline.vision.frames import Frame, iter_frames, sample_frames, visual_change
from tests.support import SENTENCES, silence, spoken


def _peak(work) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _talk_wav(path: Path, seconds: float) -> Path:
    parts, total = [], 0
    while total < seconds * SR:
        for sentence in SENTENCES:
            parts += [spoken(sentence).audio, silence(0.8)]
            total += len(parts[-2]) + len(parts[-1])
    audio = np.concatenate(parts)[: int(seconds * SR)]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SR)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_spooled_audio_reads_what_was_decoded(tmp_path):
    wav = _talk_wav(tmp_path / "talk.wav", 20)
    with AudioTrack.decode(wav, scratch=tmp_path) as track:
        whole = decode_audio(wav)
        assert len(track) == len(whole) and track.duration_s == pytest.approx(20, abs=0.01)
        assert np.array_equal(track.read(1000, 50_000), whole[1000:50_000])
        assert len(track.read(len(track) - 10, len(track) + 99)) == 10
        chunks = speech_chunks(track)
        assert chunks and all(np.array_equal(c.samples, whole[c.start:c.end]) for c in chunks)
    assert list(tmp_path.iterdir()) == [wav]  # the spool file was never visible


def test_vad_blocks_end_in_a_pause_and_keep_every_sentence(tmp_path):
    wav = _talk_wav(tmp_path / "talk.wav", 60)
    whole = decode_audio(wav)
    at_once = speech_chunks(whole)
    blocked = speech_chunks(whole, block_s=13)  # block ends fall inside the talk
    speech = sum(c.duration_s for c in at_once)
    assert sum(c.duration_s for c in blocked) == pytest.approx(speech, rel=0.1)
    for chunk in at_once:  # everything the whole-file VAD heard is in some blocked chunk
        middle = (chunk.start + chunk.end) // 2
        assert any(c.start <= middle < c.end for c in blocked)


def test_audio_memory_does_not_grow_with_length(tmp_path):
    short, long = (_talk_wav(tmp_path / f"{s}.wav", s) for s in (30, 120))
    speech_chunks(silence(1.0))  # the VAD model is loaded once, outside the measurement

    def ingest(path: Path) -> None:
        with AudioTrack.decode(path, scratch=tmp_path) as track:
            chunks = speech_chunks(track, block_s=15)
            assert sum(len(c.samples) for c in chunks) > 0

    a, b = _peak(lambda: ingest(short)), _peak(lambda: ingest(long))
    in_memory = 120 * SR * 4  # what the long talk's float32 audio alone would take
    assert b < 1.5 * a + 256 * 1024, (a, b)
    assert b < in_memory / 2, (b, in_memory)


def _video(path: Path, seconds: int) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=320x180:rate=5:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", str(path)],
                   check=True)
    return path


def test_frames_stream_in_bounded_memory(tmp_path, monkeypatch):
    # PyAV's frame arrays live in FFmpeg's buffers, which tracemalloc does not see: count the
    # sampled images still alive each time the decoder yields another one.
    video = _video(tmp_path / "long.mp4", 120)
    alive: list[weakref.ref] = []
    most = 0

    def watched(path: Path, **kwargs: object) -> Iterator[Frame]:
        nonlocal most
        for frame in iter_frames(path, **kwargs):  # type: ignore[arg-type]
            gc.collect()
            alive[:] = [ref for ref in alive if ref() is not None]
            most = max(most, len(alive))
            alive.append(weakref.ref(frame.image))
            yield frame

    monkeypatch.setattr(vision_stage, "iter_frames", watched)
    signals = asyncio.run(analyse_video(None, VisionInput(video, True, False, batch=4)))  # type: ignore[arg-type]
    assert len(signals.times_s) == len(signals.change) == len(signals.subject_x) == 120
    assert most <= 2 * 4, most  # this batch and the next, never the whole video


def test_streamed_signals_match_the_frames_in_memory(tmp_path):
    video = _video(tmp_path / "v.mp4", 12)
    frames = sample_frames(video)
    signals = asyncio.run(analyse_video(None, VisionInput(video, True, False, batch=5)))  # type: ignore[arg-type]
    assert np.array_equal(signals.times_s, frames.times_s)
    assert np.allclose(signals.change, visual_change(frames))
    assert signals.source_size == frames.source_size == (320, 180)
