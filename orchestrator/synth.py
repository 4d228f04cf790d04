"""Synthesized media: speech from espeak-ng and video from ffmpeg's test sources.

snapclip makes its own sample video (``snapclip sample``) and its tests make all of their media,
so nothing is downloaded: espeak-ng speaks a known text and ffmpeg's ``lavfi`` sources draw the
picture. Word onsets are measured from the synthesized waveform itself (energy islands between
the pauses espeak-ng inserts with ``-g``), not taken from the synthesizer, so tests compare
recognised timings against the audio the model really heard.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.audio import decode_audio
from orchestrator.contracts import WHISPER_SAMPLE_RATE

SAMPLE_TALK = (
    "Welcome back to the channel. Today we test three cheap microphones against one expensive "
    "studio microphone. The results surprised everyone on the team. "
    "First, the budget clip-on microphone. It costs about ten dollars, and honestly the voice "
    "sounds thin and noisy. "
    "Now here is the big secret that nobody tells you. Placement matters more than price. Move "
    "any microphone closer to your mouth, and it instantly sounds twice as good. "
    "Let me prove it right now. This is the ten dollar microphone, two inches from my mouth. "
    "Can you hear the difference? That is the whole trick. "
    "Finally, the studio microphone. It is warm and clear, but it costs three hundred dollars. "
    "If you remember one thing from this video, remember this: get closer before you spend more. "
    "Thanks for watching, and see you in the next one."
)


class SynthError(RuntimeError):
    """espeak-ng or ffmpeg is missing or failed."""


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SynthError(f"{tool} is not installed; run scripts/setup.sh (it installs ffmpeg and "
                         "espeak-ng)")
    return path


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SynthError(f"{Path(cmd[0]).name} failed: {' | '.join(tail)}")


def speak(text: str, wav_path: Path, *, voice: str = "en-us", words_per_minute: int = 150,
          word_gap_10ms: int = 0, amplitude: int = 100, pitch: int = 50) -> Path:
    """Write ``text`` spoken by espeak-ng to ``wav_path`` (22.05 kHz mono WAV)."""
    cmd = [_require("espeak-ng"), "-v", voice, "-s", str(words_per_minute), "-a",
           str(amplitude), "-p", str(pitch), "-w", str(wav_path)]
    if word_gap_10ms:
        cmd += ["-g", str(word_gap_10ms)]
    _run([*cmd, text])
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
        audio = decode_audio(wav)
    islands = sound_islands(audio)
    words = text.split()
    if len(islands) != len(words):
        raise SynthError(f"measured {len(islands)} sound islands for {len(words)} words")
    return SpokenText(text=text, audio=audio, onsets_s=tuple(round(a, 3) for a, _ in islands))


def make_video(wav_path: Path, out_path: Path, *, size: str = "1280x720", fps: int = 30,
               title: str = "snapclip sample") -> Path:
    """Mux ``wav_path`` under a moving ffmpeg test pattern into an H.264/AAC mp4."""
    ffmpeg = _require("ffmpeg")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    _run([
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
        "-i", str(wav_path),
        "-shortest", "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k", "-ar", "44100",
        "-metadata", f"title={title}",
        str(out_path),
    ])
    return out_path


@dataclass(frozen=True)
class SampleSegment:
    """One topic of the sample talk: its words, the delivery and the picture under it."""

    text: str
    picture: str = "smptehdbars"  # an ffmpeg lavfi video source
    excited: bool = False  # faster, louder, higher, over a moving picture


SAMPLE_SEGMENTS = (
    SampleSegment(
        "Welcome back to the channel. Today we look at how to record clean sound at home, "
        "without spending much money. We will cover microphones, rooms, and editing.",
        "smptehdbars"),
    SampleSegment(
        "First, microphones. A cheap clip-on microphone costs about ten dollars. Used badly, it "
        "sounds thin and noisy. A studio microphone costs three hundred dollars, and it sounds "
        "warm and clear. Most people think the price is what makes the difference. For years I "
        "thought so too, and I bought more and more expensive gear.", "pal100bars"),
    SampleSegment(
        "Second, the room. Hard walls bounce your voice around and make it sound hollow. "
        "Blankets, curtains, a sofa and a full bookshelf all soak up those reflections. A small "
        "room full of soft things is better than a big empty one. If you can, record in a "
        "closet full of clothes. It looks silly, but the clothes make a quiet, dead space, "
        "much like a small vocal booth.", "rgbtestsrc"),
    SampleSegment(
        "And now the big secret that nobody tells you! Placement beats price, every single "
        "time! Move any microphone close to your mouth, and it instantly sounds twice as good! "
        "The ten dollar microphone, two inches from my mouth, beat the three hundred dollar "
        "microphone across the room! This is incredible! Try it today, you will hear the "
        "difference right away!", "testsrc2", excited=True),
    SampleSegment(
        "Third, editing. Cut the long pauses, keep the breaths quiet, and set a gentle "
        "compressor so the quiet words are not lost. Export at a normal loudness, so viewers do "
        "not have to reach for the volume button. Save a copy of the raw recording before you "
        "start, because every edit is easier when you can go back.", "yuvtestsrc"),
    SampleSegment(
        "Fourth, listening. Always check your recording on headphones and on a phone speaker. "
        "A hum from the fridge or a buzzing light is easy to miss in the room, and very easy to "
        "hear on headphones. Record ten seconds of silence at the start, so your editor can "
        "learn what the background noise sounds like and remove it.", "smptebars"),
    SampleSegment(
        "That is all for today. Get closer before you spend more. Thanks for watching, and see "
        "you in the next one.", "smptehdbars"),
)


def make_sample_video(out_path: Path, *, segments: tuple[SampleSegment, ...] = SAMPLE_SEGMENTS,
                      size: str = "1280x720", fps: int = 25, gap_s: float = 0.7) -> Path:
    """Create the sample talk: several calm topics and one plainly exciting stretch.

    Each topic is spoken by espeak-ng over its own ffmpeg test picture (still colour bars for
    the calm ones; the exciting one is faster, louder and higher, over a moving pattern), so
    the cuts between topics and the exciting stretch show in the visual signals too.
    """
    return make_talk(out_path, segments=segments, size=size, fps=fps, gap_s=gap_s)[0]


def make_talk(out_path: Path, *, segments: tuple[SampleSegment, ...], size: str = "1280x720",
              fps: int = 25, gap_s: float = 0.7) -> tuple[Path, tuple[tuple[float, float], ...]]:
    """``make_sample_video`` for any ``segments``; also returns each segment's (start, end) s."""
    import wave

    ffmpeg = _require("ffmpeg")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    gap = np.zeros(int(gap_s * WHISPER_SAMPLE_RATE), dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="snapclip-sample-") as tmp:
        pieces, durations = [], []
        for n, seg in enumerate(segments):
            wav = speak(seg.text, Path(tmp) / f"part{n}.wav",
                        words_per_minute=185 if seg.excited else 160,
                        amplitude=190 if seg.excited else 90, pitch=75 if seg.excited else 45)
            audio = np.concatenate([decode_audio(wav), gap])
            pieces.append(audio)
            durations.append(len(audio) / WHISPER_SAMPLE_RATE)
        talk = Path(tmp) / "talk.wav"
        samples = np.clip(np.concatenate(pieces), -1.0, 1.0)
        with wave.open(str(talk), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(WHISPER_SAMPLE_RATE)
            out.writeframes((samples * 32767).astype("<i2").tobytes())
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
        for seg, duration in zip(segments, durations, strict=True):
            cmd += ["-f", "lavfi", "-i", f"{seg.picture}=size={size}:rate={fps}:d={duration:.3f}"]
        cmd += ["-i", str(talk)]
        joined = "".join(f"[{n}:v]" for n in range(len(segments)))
        _run([*cmd, "-filter_complex", f"{joined}concat=n={len(segments)}:v=1:a=0[v]",
              "-map", "[v]", "-map", f"{len(segments)}:a", "-shortest",
              "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
              "-c:a", "aac", "-b:a", "96k", "-ar", "44100",
              "-metadata", "title=Clean sound at home (snapclip sample)", str(out_path)])
    starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
    spans = tuple((round(float(a), 3), round(float(a + d), 3))
                  for a, d in zip(starts, durations, strict=True))
    return out_path, spans
