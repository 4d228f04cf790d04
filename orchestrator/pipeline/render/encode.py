"""Render one clip with FFmpeg: a frame-accurate re-encoded cut, reframed, captions burned in.

``-ss`` before ``-i`` seeks to the keyframe before the start and decodes (not shows) the frames
up to it, so the cut is exact at any time, not only at keyframes; re-encoding is what makes
that possible. The video is cropped to the aspect (a window that follows the subject, from
``reframe``), scaled to 1080 wide, and the ASS captions are burned in. Audio-only sources get a
still dark background. FFmpeg runs without a shell, with the subtitle file addressed relative
to its working folder, so no path ever needs escaping inside a filter graph.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.contracts.limits import MEDIA_DEMUXERS, MEDIA_PROTOCOLS
from orchestrator.errors import SnapclipError
from orchestrator.pipeline.reframe import (
    ASPECTS,
    SplitLayout,
    crop_filter,
    crop_geometry,
    panel_crop,
)

BACKGROUND = "0x14181f"


@dataclass(frozen=True)
class Encoder:
    """libx264's settings: a preset, a CRF and ``x264-params`` that override the preset."""

    preset: str
    crf: int
    params: str = ""  # "key=value:key=value", as FFmpeg's -x264-params takes them

    def args(self) -> list[str]:
        extra = ["-x264-params", self.params] if self.params else []
        return ["-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), *extra]

    def __str__(self) -> str:
        return f"{self.preset}{'+' + self.params if self.params else ''}/{self.crf}"

    @classmethod
    def parse(cls, text: str) -> Encoder:
        """``superfast+mbtree=1:rc-lookahead=10/21`` (``str``'s form) back to an Encoder."""
        head, _, crf = text.rpartition("/")
        preset, _, params = head.partition("+")
        return cls(preset, int(crf), params)


# Chosen by scripts/bench_encode.py (issue 18): the fastest candidate whose SSIM against a
# lossless reference is within 0.005 of veryfast/21's (the setting before) at a file at most
# 15 % larger, on a grainy talk, a clean talk and an upscaled small picture. superfast alone
# turns off the macroblock tree and its lookahead (x264's presets: no-mbtree, rc-lookahead=0),
# which doubled the files of clean and upscaled pictures; with both back it keeps veryfast's
# sizes (1.03x and 1.04x there, 0.95x on the grain at SSIM 0.9458 against 0.9498) for 1.56x
# less CPU over the three scenes (1.22-1.73x). The bench's table is in the README.
ENCODER = Encoder("superfast", 21, "mbtree=1:rc-lookahead=10")
# The source is opened as ``probe`` opened it: a local file in a known container, nothing else.
SOURCE_INPUT = ("-protocol_whitelist", MEDIA_PROTOCOLS, "-format_whitelist", MEDIA_DEMUXERS,
                "-i")


class RenderError(SnapclipError):
    """FFmpeg could not render a clip."""


@dataclass(frozen=True)
class RenderJob:
    source: Path
    out: Path
    start_s: float
    end_s: float
    aspect: str = "9:16"
    has_video: bool = True
    source_size: tuple[int, int] = (0, 0)
    fps: float = 0.0
    crop_keyframes: tuple[tuple[float, float], ...] = ()  # (clip time s, centre 0..1)
    ass: Path | None = None  # burned in when given; must sit in ``out``'s folder
    split: SplitLayout | None = None  # stacked two-person spells (9:16 only)
    encoder: Encoder = ENCODER


def ffmpeg_command(job: RenderJob) -> list[str]:
    """The FFmpeg argument list for ``job`` (run with ``job.out.parent`` as working folder)."""
    duration = job.end_s - job.start_s
    out_w, out_h = ASPECTS[job.aspect]
    subtitles = [f"ass={job.ass.name}"] if job.ass else []
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    if job.has_video:
        w, h = job.source_size
        geometry = crop_geometry(w, h, job.aspect)
        single = crop_filter(geometry, w, h, job.crop_keyframes)
        cmd += ["-ss", f"{job.start_s:.3f}", *SOURCE_INPUT, str(job.source),
                "-t", f"{duration:.3f}"]
        if job.split is not None and geometry.horizontal:
            graph = split_graph(job.split, single, (w, h), (out_w, out_h), duration,
                                [*subtitles, "format=yuv420p"])
            cmd += ["-filter_complex", graph, "-map", "[v]", "-map", "0:a:0"]
        else:
            video = ",".join([single, *subtitles, "format=yuv420p"])
            cmd += ["-filter:v", video, "-map", "0:v:0", "-map", "0:a:0"]
        if job.fps > 0:
            cmd += ["-fps_mode", "cfr", "-r", f"{min(job.fps, 60.0):.3f}"]
    else:
        cmd += ["-f", "lavfi", "-i", f"color=c={BACKGROUND}:s={out_w}x{out_h}:r=30",
                "-ss", f"{job.start_s:.3f}", *SOURCE_INPUT, str(job.source),
                "-t", f"{duration:.3f}",
                "-filter:v", ",".join([*subtitles, "format=yuv420p"]) or "null",
                "-map", "0:v:0", "-map", "1:a:0"]
    cmd += [*job.encoder.args(), "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
            "-movflags", "+faststart", job.out.name]
    return cmd


def split_graph(split: SplitLayout, single: str, source: tuple[int, int],
                out: tuple[int, int], duration_s: float, after: list[str]) -> str:
    """The filter graph of a clip with split-screen spells: the two faces' windows stacked
    (left person above), shown over the single crop during the spells (or alone when one spell
    covers the clip); ``after`` (captions, pixel format) applies to the result."""
    out_w, out_h = out
    panel = (out_w, out_h // 2)
    scale = f"scale={panel[0]}:{panel[1]}:flags=lanczos,setsar=1"
    halves = (f"[a]{panel_crop(*source, split.top, panel)},{scale}[top];"
              f"[b]{panel_crop(*source, split.bottom, panel)},{scale}[bottom];"
              "[top][bottom]vstack=inputs=2[two]")
    tail = ",".join(after)
    if split.covers(duration_s):
        return f"[0:v:0]split=2[a][b];{halves};[two]{tail}[v]"
    when = "+".join(f"between(t,{a:.3f},{b:.3f})" for a, b in split.spans)  # quoted below
    return (f"[0:v:0]split=3[a][b][c];{halves};[c]{single}[one];"
            f"[one][two]overlay=0:0:enable='{when}',{tail}[v]")


async def render_clip(job: RenderJob) -> None:
    """Write ``job.out``; raise ``RenderError`` with FFmpeg's last lines if it fails.

    FFmpeg runs as a child process of the event loop, not in a thread: cancelling the render
    (a cancelled job, a service stopping) kills it at once instead of waiting for the clip.
    """
    proc = await asyncio.create_subprocess_exec(
        *ffmpeg_command(job), cwd=job.out.parent, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        _, stderr = await proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
        raise
    if proc.returncode != 0 or not job.out.is_file():
        lines = stderr.decode(errors="replace").strip().splitlines()
        if any("No space left on device" in line for line in lines):
            raise RenderError(f"no space left on the device of the output folder while "
                              f"rendering {job.out.name}")
        tail = " | ".join(lines[-3:])
        raise RenderError(f"ffmpeg could not render {job.out.name}: {tail or 'no output'}")


def crop_keyframes(times_s: Sequence[float], centres: Sequence[float], start_s: float,
                   end_s: float) -> tuple[tuple[float, float], ...]:
    """The smoothed crop centres that fall in the clip, in clip time (ends included)."""
    points = [(round(t - start_s, 3), float(c)) for t, c in zip(times_s, centres, strict=True)
              if start_s <= t <= end_s]
    if not points and len(times_s):
        nearest = min(range(len(times_s)), key=lambda i: abs(times_s[i] - start_s))
        points = [(0.0, float(centres[nearest]))]
    return tuple(points)
