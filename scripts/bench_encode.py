#!/usr/bin/env python3
"""Benchmark: libx264 settings for the clips, by encode time, size and SSIM, on several scenes.

One 30-second 9:16 clip is cut, as ``snapclip render`` cuts it (the same FFmpeg command from
``render/encode.py``: crop following a moving subject, scale to 1080x1920, captions burned in),
from each scene, all synthesized:

- ``talk``: shot-like - a real photograph of a person (scikit-image's astronaut) drifting slowly
  over a real photograph as the background, with a camera's temporal noise (1280x720);
- ``clean``: the same shot without the noise, as a screen recording or a clean studio picture;
- ``upscaled``: a small moving test picture (FFmpeg's ``testsrc2``, 320x180, 10 fps) scaled up
  six times - the tests' talks, and any low-resolution source;
- ``hard``: motion, fine detail and text everywhere (``testsrc2`` under a moving ``mandelbrot``
  zoom), far harder than a talk; not in the default set.

``--source`` measures on a real video instead. Each scene's reference is the same command
losslessly encoded (``-qp 0``); each candidate (every ``--presets`` x ``--params`` x ``--crfs``,
``--params`` being x264-params that override the preset, "" for the preset as it is) is
encoded and compared with it by FFmpeg's ``ssim`` filter. Prints a table per scene - wall and
CPU seconds, size and bitrate, SSIM (All) and its dB - and the fastest candidate (by CPU
seconds over all scenes) that on every scene is as good as ``--baseline``: SSIM at most
``--margin`` lower, a file at most ``--size-margin`` larger.

    .venv/bin/python scripts/bench_encode.py [--presets superfast,veryfast]
        [--params ";mbtree=1:rc-lookahead=10"] [--crfs 21,22] [--baseline veryfast/21]
        [--margin 0.005] [--size-margin 0.15] [--scenes talk,clean,upscaled,hard]
        [--source talk.mp4 --start 60]
"""

from __future__ import annotations

import argparse
import math
import re
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.contracts.transcript import Word
from orchestrator.pipeline.ingest import probe
from orchestrator.pipeline.render import captions
from orchestrator.pipeline.render.encode import ENCODER, Encoder, RenderJob, ffmpeg_command
from orchestrator.pipeline.render.styles import DEFAULT_STYLE

SECONDS = 30.0


def make_talk(path: Path, *, noise: int = 6) -> Path:
    """A talk-like shot: a person (a real photograph) drifting slowly in front of a real
    photograph, with temporal sensor noise of strength ``noise`` (0: none); a tone as its
    sound."""
    import cv2
    from skimage import data

    person = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # 512x512
    room = cv2.resize(cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR), (1280, 720))
    cv2.imwrite(str(path.with_name("person.png")), cv2.resize(person, (620, 620)))
    cv2.imwrite(str(path.with_name("room.png")), cv2.GaussianBlur(room, (0, 0), 3))
    grain = f"noise=alls={noise}:allf=t," if noise else ""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-loop", "1", "-framerate", "30",
         "-i", str(path.with_name("room.png")), "-loop", "1", "-framerate", "30",
         "-i", str(path.with_name("person.png")),
         "-f", "lavfi", "-i", f"sine=frequency=300:duration={SECONDS + 2}",
         "-filter_complex", "[0:v][1:v]overlay=x='330+80*sin(t/4)':y='100+6*sin(t*1.3)',"
         f"{grain}format=yuv420p,trim=duration={SECONDS + 2}[v]",
         "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast",
         "-c:a", "aac", str(path)], check=True)
    return path


def make_upscaled(path: Path) -> Path:
    """A small moving test picture, as the tests' talks are (320x180, 10 fps)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size=320x180:rate=10:duration={SECONDS + 2}",
         "-f", "lavfi", "-i", f"sine=frequency=300:duration={SECONDS + 2}",
         "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(path)], check=True)
    return path


def make_source(path: Path) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"mandelbrot=size=1280x720:rate=30:end_scale=0.01,trim=duration={SECONDS + 2}",
         "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=30:duration={SECONDS + 2}",
         "-f", "lavfi", "-i", f"sine=frequency=300:duration={SECONDS + 2}",
         "-filter_complex", "[0:v][1:v]overlay=x='320+200*sin(t)':y=180[v]",
         "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast",
         "-c:a", "aac", str(path)], check=True)
    return path


SCENES = {"talk": make_talk, "clean": lambda path: make_talk(path, noise=0),
          "upscaled": make_upscaled, "hard": make_source}


@dataclass(frozen=True)
class Row:
    scene: str
    encoder: Encoder
    wall_s: float
    cpu_s: float  # FFmpeg's user + system time
    size: int
    ssim: float

    @property
    def db(self) -> float:
        return -10 * math.log10(max(1e-9, 1 - self.ssim))


def encode(job: RenderJob, lossless: bool = False) -> tuple[float, float]:
    """Run the render's FFmpeg command for ``job``; its wall and CPU seconds."""
    command = ffmpeg_command(job)
    if lossless:  # the reference: replace the rate control
        at = command.index("-preset")
        command[at - 2:at + 4] = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"]
        if "-x264-params" in command:
            at = command.index("-x264-params")
            del command[at:at + 2]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=job.out.parent, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def ssim(candidate: Path, reference: Path) -> float:
    proc = subprocess.run(["ffmpeg", "-hide_banner", "-i", str(candidate), "-i", str(reference),
                           "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    found = re.findall(r"All:([0-9.]+)", proc.stderr)
    return float(found[-1])


def measure_scene(scene: str, source_path: Path, start_s: float, folder: Path,
                  candidates: list[Encoder]) -> list[Row]:
    source = probe(str(source_path))
    lines = captions.caption_lines(
        [Word(k * 0.5, k * 0.5 + 0.4, word, 1.0) for k, word in
         enumerate(("some words on the screen to burn in " * 8).split())], SECONDS)
    ass = folder / "captions.ass"
    ass.write_text(captions.to_ass(lines, 1080, 1920, DEFAULT_STYLE), encoding="utf-8")
    base = RenderJob(source=source.path, out=folder / f"{scene}-reference.mp4", start_s=start_s,
                     end_s=start_s + SECONDS, aspect="9:16",
                     source_size=(source.width, source.height), fps=source.fps,
                     crop_keyframes=((0.0, 0.3), (SECONDS, 0.7)), ass=ass)
    print(f"{scene}: {source.width}x{source.height}, {source.fps:g} fps; the lossless "
          "reference ...", flush=True)
    encode(base, lossless=True)
    rows = []
    for n, encoder in enumerate(candidates):
        out = folder / f"{scene}-{n}.mp4"
        wall, cpu = encode(replace(base, out=out, encoder=encoder))
        rows.append(Row(scene, encoder, wall, cpu, out.stat().st_size, ssim(out, base.out)))
        out.unlink()
        print(f"  {encoder}: {wall:.1f} s, {cpu:.1f} CPU-s", flush=True)
    base.out.unlink()
    return rows


def print_table(scene: str, rows: list[Row], baseline: Encoder) -> None:
    print(f"\n{scene}: 30-s 1080x1920 clip (crop, scale, captions), libx264")
    print(f"{'candidate':<40}{'wall s':>7}{'CPU s':>7}{'x real':>7}{'MB':>7}{'Mbit/s':>7}"
          f"{'SSIM':>8}{'dB':>7}")
    for r in rows:
        mark = " ".join(m for m, on in (("(today)", r.encoder == ENCODER),
                                         ("(baseline)", r.encoder == baseline)) if on)
        print(f"{r.encoder!s:<40}{r.wall_s:>7.1f}{r.cpu_s:>7.1f}{SECONDS / r.wall_s:>7.1f}"
              f"{r.size / 1e6:>7.2f}{r.size * 8 / SECONDS / 1e6:>7.1f}{r.ssim:>8.4f}"
              f"{r.db:>7.2f}{' ' + mark if mark else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="superfast,veryfast")
    parser.add_argument("--params", default=";mbtree=1:rc-lookahead=10",
                        help="x264-params sets, separated by ';' (empty: the preset as is)")
    parser.add_argument("--crfs", default="21,22")
    parser.add_argument("--baseline", default="veryfast/21", type=Encoder.parse,
                        help="the setting whose quality and size the pick is held to (measured "
                             "too): what the clips were judged with before issue 18")
    parser.add_argument("--margin", type=float, default=0.005,
                        help="SSIM below the baseline's that still counts as as good")
    parser.add_argument("--size-margin", type=float, default=0.15,
                        help="how much larger than the baseline's a file may be (0.15: 15 %%)")
    parser.add_argument("--scenes", default="talk,clean,upscaled",
                        help=f"synthesized sources, any of {', '.join(SCENES)} (see above)")
    parser.add_argument("--source", type=Path, help="a real video instead of the synthetic ones")
    parser.add_argument("--start", type=float, default=1.0, help="where in it the clip starts")
    args = parser.parse_args()
    candidates = list(dict.fromkeys(
        [Encoder(preset, int(crf), params) for preset in args.presets.split(",")
         for params in args.params.split(";") for crf in args.crfs.split(",")]
        + [args.baseline, ENCODER]))
    scenes = ["source"] if args.source else args.scenes.split(",")
    unknown = [s for s in scenes if s not in SCENES and not args.source]
    if unknown:
        parser.error(f"unknown scenes {unknown}; choose from {', '.join(SCENES)}")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="snapclip-bench-encode-") as tmp:
        folder = Path(tmp)
        for scene in scenes:
            path = args.source or SCENES[scene](folder / f"{scene}.mkv")
            rows += measure_scene(scene, path, args.start, folder, candidates)
    for scene in scenes:
        print_table(scene, [r for r in rows if r.scene == scene], args.baseline)
    good = []
    for encoder in candidates:
        mine = [r for r in rows if r.encoder == encoder]
        held = all(r.ssim >= b.ssim - args.margin and r.size <= b.size * (1 + args.size_margin)
                   for r in mine for b in rows
                   if b.scene == r.scene and b.encoder == args.baseline)
        if held:
            good.append((sum(r.cpu_s for r in mine), encoder))
    cpu, pick = min(good, key=lambda g: g[0])
    base_cpu = sum(r.cpu_s for r in rows if r.encoder == args.baseline)
    print(f"\nfastest with SSIM >= {args.baseline}'s - {args.margin} and a file at most "
          f"{args.size_margin:.0%} larger on every scene ({', '.join(scenes)}): {pick} "
          f"({cpu:.1f} CPU-s against {base_cpu:.1f}, {base_cpu / cpu:.2f}x less)")
    for scene in scenes:
        mine = next(r for r in rows if r.scene == scene and r.encoder == pick)
        b = next(r for r in rows if r.scene == scene and r.encoder == args.baseline)
        print(f"  {scene}: SSIM {mine.ssim:.4f} against {b.ssim:.4f}, "
              f"{mine.size / b.size:.2f}x the size, {b.cpu_s / mine.cpu_s:.2f}x less CPU")


if __name__ == "__main__":
    main()
