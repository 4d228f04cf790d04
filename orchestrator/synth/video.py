"""Video from ffmpeg's test sources: a picture under synthesized speech, and whole talks.

snapclip makes its own sample video (``snapclip sample``) and its tests make all of their media,
so nothing is downloaded: espeak-ng speaks a known text and ffmpeg's ``lavfi`` sources draw the
picture. ``make_talk`` builds a talk of topics, each over its own picture, and says where each
topic lies, so tests and the evaluation's mini dataset know where they planted what.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.contracts.models import WHISPER_SAMPLE_RATE
from orchestrator.synth.speech import read_speech, speak
from orchestrator.synth.tools import require_tool, run_tool

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


def make_video(wav_path: Path, out_path: Path, *, size: str = "1280x720", fps: int = 30,
               title: str = "snapclip sample") -> Path:
    """Mux ``wav_path`` under a moving ffmpeg test pattern into an H.264/AAC mp4."""
    ffmpeg = require_tool("ffmpeg")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    run_tool([
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

    ffmpeg = require_tool("ffmpeg")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    gap = np.zeros(int(gap_s * WHISPER_SAMPLE_RATE), dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="snapclip-sample-") as tmp:
        pieces, durations = [], []
        for n, seg in enumerate(segments):
            wav = speak(seg.text, Path(tmp) / f"part{n}.wav",
                        words_per_minute=185 if seg.excited else 160,
                        amplitude=190 if seg.excited else 90, pitch=75 if seg.excited else 45)
            audio = np.concatenate([read_speech(wav), gap])
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
        run_tool([*cmd, "-filter_complex", f"{joined}concat=n={len(segments)}:v=1:a=0[v]",
              "-map", "[v]", "-map", f"{len(segments)}:a", "-shortest",
              "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
              "-c:a", "aac", "-b:a", "96k", "-ar", "44100",
              "-metadata", "title=Clean sound at home (snapclip sample)", str(out_path)])
    starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
    spans = tuple((round(float(a), 3), round(float(a + d), 3))
                  for a, d in zip(starts, durations, strict=True))
    return out_path, spans
