"""Helpers shared by the tests: Prometheus text parsing, synthesized speech (WER re-exported)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np

from orchestrator.evaluation.wer import normalize_words, word_error_rate
from orchestrator.synth.speech import SpokenText, speak_with_onsets

__all__ = ["SENTENCES", "SNAPCLIP", "assert_one_line_error", "ffprobe", "metric_value",
           "normalize_words", "silence", "snapclip", "spoken", "word_error_rate"]

SNAPCLIP = str(Path(sys.executable).parent / "snapclip")

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


def snapclip(*args: str, timeout: float = 300, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    """Run the installed ``snapclip`` command (in ``env``, else this environment)."""
    return subprocess.run([SNAPCLIP, *args], capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    """The CLI contract: exit ``code``, one error line naming ``text``, no traceback."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
    assert len(lines) == 1 and text in lines[0], proc.stderr


def ffprobe(path: Path) -> dict:
    """Duration and streams (type, width, height) of a media file."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "format=duration:stream=codec_type,width,height", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)
