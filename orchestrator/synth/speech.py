"""Speech from espeak-ng, and word onsets measured in the waveform it wrote.

Word onsets are measured from the synthesized waveform itself (energy islands between the
pauses espeak-ng inserts with ``-g``), not taken from the synthesizer, so tests compare
recognised timings against the audio the model really heard.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.contracts.models import WHISPER_SAMPLE_RATE
from orchestrator.synth.tools import SynthError, require_tool, run_tool


def speak(text: str, wav_path: Path, *, voice: str = "en-us", words_per_minute: int = 150,
          word_gap_10ms: int = 0, amplitude: int = 100, pitch: int = 50) -> Path:
    """Write ``text`` spoken by espeak-ng to ``wav_path`` (22.05 kHz mono WAV)."""
    cmd = [require_tool("espeak-ng"), "-v", voice, "-s", str(words_per_minute), "-a",
           str(amplitude), "-p", str(pitch), "-w", str(wav_path)]
    if word_gap_10ms:
        cmd += ["-g", str(word_gap_10ms)]
    run_tool([*cmd, text])
    return wav_path


@dataclass(frozen=True)
class SpokenText:
    """16 kHz mono samples of a spoken text and the measured onset (seconds) of each word."""

    text: str
    audio: np.ndarray
    onsets_s: tuple[float, ...]


def sound_islands(audio: np.ndarray, *, sample_rate: int = WHISPER_SAMPLE_RATE,
                  min_gap_s: float = 0.12, frame_s: float = 0.01,
                  threshold_db: float = -35.0) -> list[tuple[float, float]]:
    """Return (start, end) seconds of the stretches louder than ``threshold_db`` (re. peak).

    Quiet stretches shorter than ``min_gap_s`` (stop consonants inside a word) do not split an
    island.
    """
    frame = max(1, int(sample_rate * frame_s))
    n = len(audio) // frame
    if n == 0:
        return []
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = rms > (np.max(rms) * 10 ** (threshold_db / 20.0))
    islands: list[list[int]] = []
    for i in np.flatnonzero(loud):
        if islands and i - islands[-1][1] <= int(min_gap_s / frame_s):
            islands[-1][1] = int(i)
        else:
            islands.append([int(i), int(i)])
    return [(a * frame_s, (b + 1) * frame_s) for a, b in islands]


def speak_with_onsets(text: str, *, voice: str = "en-us", words_per_minute: int = 150,
                      word_gap_10ms: int = 16) -> SpokenText:
    """Speak ``text`` with a pause between words and measure each word's onset in the audio.

    Raises ``SynthError`` when the number of sound islands differs from the number of words
    (then the onsets cannot be attributed; choose other words or a longer gap).
    """
    with tempfile.TemporaryDirectory(prefix="snapclip-synth-") as tmp:
        wav = speak(text, Path(tmp) / "speech.wav", voice=voice,
                    words_per_minute=words_per_minute, word_gap_10ms=word_gap_10ms)
        audio = read_speech(wav)
    islands = sound_islands(audio)
    words = text.split()
    if len(islands) != len(words):
        raise SynthError(f"measured {len(islands)} sound islands for {len(words)} words")
    return SpokenText(text=text, audio=audio, onsets_s=tuple(round(a, 3) for a, _ in islands))


def read_speech(wav_path: Path) -> np.ndarray:
    """16 kHz mono float32 samples of ``wav_path``, resampled as Whisper's input is (PyAV)."""
    from faster_whisper import decode_audio

    return np.asarray(decode_audio(str(wav_path), sampling_rate=WHISPER_SAMPLE_RATE),
                      dtype=np.float32)
