"""Transcript-only fallback: fast, emphatic, loud talk scores above calm talk."""

from __future__ import annotations

import numpy as np

from orchestrator.contracts.models import WHISPER_SAMPLE_RATE as SR
from orchestrator.pipeline.text.fallback import transcript_candidates
from orchestrator.pipeline.types import Sentence


def test_exciting_stretch_ranks_first():
    calm = "We talk about the weather in a calm and even voice today."
    hot = "This is incredible! Nobody tells you this secret!"
    items, audio = [], np.zeros(SR * 120, dtype=np.float32)
    for i in range(12):
        start = i * 10.0
        excited = i in (6, 7)
        items.append(Sentence(start, start + 8.0, hot if excited else calm))
        level = 0.5 if excited else 0.1
        audio[int(start * SR):int((start + 8) * SR)] = level * np.sin(
            np.arange(8 * SR) * 2 * np.pi * 220 / SR)
    cands = transcript_candidates(items, audio, target_len_s=18.0)
    assert len(cands) == len(items)
    best = max(cands, key=lambda c: c.text_score)
    assert best.start_s == 60.0 and best.origin == "transcript"
    assert "dB" in best.reason and best.title.startswith("This is incredible")
    assert all(c.end_s - c.start_s <= 27.0 for c in cands)
