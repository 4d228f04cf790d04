"""Audio decoding and speech chunking on synthesized speech."""

from __future__ import annotations

import itertools

import numpy as np

from orchestrator.contracts.models import WHISPER_SAMPLE_RATE as SR
from orchestrator.pipeline.audio import _merge, decode_audio, speech_chunks
from orchestrator.synth.speech import speak
from tests.support import SENTENCES, silence, spoken


def test_merge_keeps_neighbours_within_the_limit():
    spans = [(0, 10), (12, 20), (25, 40), (41, 45)]
    assert list(_merge(spans, 20)) == [(0, 20), (25, 45)]
    assert list(_merge([(0, 50)], 20)) == [(0, 50)]  # VAD already caps single spans


def test_decode_audio_resamples_to_16k_mono(tmp_path):
    wav = speak("Hello there, this is a test.", tmp_path / "a.wav")  # 22.05 kHz
    audio = decode_audio(wav)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 1.0 < len(audio) / SR < 4.0
    assert 0.05 < float(np.max(np.abs(audio))) <= 1.0


def test_speech_chunks_are_contiguous_bounded_and_cover_the_speech():
    parts, starts, t = [], [], 0.0
    for sentence in SENTENCES * 2:  # about 70 s of speech with 3 s pauses
        audio = spoken(sentence).audio
        starts.append(t + 3.0)
        parts += [silence(3.0), audio]
        t += 3.0 + len(audio) / SR
    audio = np.concatenate([*parts, silence(2.0)])
    chunks = speech_chunks(audio)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert chunk.duration_s <= 30.0
        begin = round(chunk.offset_s * SR)
        assert np.array_equal(chunk.samples, audio[begin:begin + len(chunk.samples)])
    assert all(a.offset_s + a.duration_s <= b.offset_s for a, b in itertools.pairwise(chunks))
    for start in starts:  # every sentence onset lies inside some chunk
        assert any(c.offset_s <= start + 0.05 <= c.offset_s + c.duration_s for c in chunks)


def test_no_speech_gives_no_chunks():
    assert speech_chunks(silence(10.0)) == []
