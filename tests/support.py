"""Helpers shared by the tests: Prometheus text parsing, synthesized speech (WER re-exported)."""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from orchestrator.synth import SpokenText, speak_with_onsets
from orchestrator.wer import normalize_words, word_error_rate

__all__ = ["SENTENCES", "metric_value", "normalize_words", "silence", "spoken",
           "word_error_rate"]

SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the river bank",
    "Please remember to water the garden every morning before work",
    "Our new camera records sharp video even in very low light",
    "She bought seven apples and three oranges at the market today",
    "The meeting starts at nine and should finish before lunch",
    "Good microphones matter less than speaking close to them",
    "This bridge was built more than one hundred years ago",
    "We will travel north by train and return home on Sunday",
)


def metric_value(metrics_text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in metrics_text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@cache
def spoken(text: str) -> SpokenText:
    """espeak-ng speech of ``text`` with a pause between words and measured word onsets."""
    return speak_with_onsets(text)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(16_000 * seconds), dtype=np.float32)
