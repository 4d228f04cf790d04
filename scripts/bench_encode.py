#!/usr/bin/env python3
"""Benchmark: libx264 presets and CRFs for the clips, by encode time and SSIM.

One 30-second 9:16 clip is cut, as ``snapclip render`` cuts it (the same FFmpeg command from
``render/encode.py``: crop following a moving subject, scale to 1080x1920, captions burned in),
from a synthesized 1280x720 source. ``--scene talk`` (the default) is shot-like: a real
photograph of a person (scikit-image's astronaut) drifting slowly over a real photograph as
the background, with a camera's temporal noise - what a talk's picture asks of an encoder.
``--scene hard`` has motion, fine detail and text everywhere (FFmpeg's ``testsrc2`` under a
moving ``mandelbrot`` zoom): far harder than a talk. ``--source`` measures on a real video.
The reference is the same command losslessly encoded (``-qp 0``); each candidate is encoded
and compared with it by FFmpeg's ``ssim`` filter. Prints a table - wall seconds, x real time,
size and bitrate, SSIM (All) and its dB - and the fastest candidate that is as good as the
``--baseline`` (SSIM no lower, less ``--margin``) at a file at most ``--size-margin`` larger.

    .venv/bin/python scripts/bench_encode.py [--presets ultrafast,superfast,veryfast,faster]
        [--crfs 20,23,26] [--baseline veryfast/21] [--margin 0] [--size-margin 0.15]
        [--scene talk|hard] [--source talk.mp4 --start 60]
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from orchestrator.contracts.transcript import Word
from orchestrator.pipeline.ingest import probe
from orchestrator.pipeline.render import captions
from orchestrator.pipeline.render.encode import CRF, PRESET, RenderJob, ffmpeg_command
from orchestrator.pipeline.render.styles import DEFAULT_STYLE

SECONDS = 30.0


def make_talk(path: Path) -> Path:
    """A talk-like shot: a person (a real photograph) drifting slowly in front of a real
    photograph, with temporal sensor noise; a tone as its sound."""
    import cv2
    from skimage import data

    person = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # 512x512
    room = cv2.resize(cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR), (1280, 720))
    cv2.imwrite(str(path.with_name("person.png")), cv2.resize(person, (620, 620)))
    cv2.imwrite(str(path.with_name("room.png")), cv2.GaussianBlur(room, (0, 0), 3))
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-loop", "1", "-framerate", "30",
         "-i", str(path.with_name("room.png")), "-loop", "1", "-framerate", "30",
         "-i", str(path.with_name("person.png")),
         "-f", "lavfi", "-i", f"sine=frequency=300:duration={SECONDS + 2}",
         "-filter_complex", "[0:v][1:v]overlay=x='330+80*sin(t/4)':y='100+6*sin(t*1.3)',"
         f"noise=alls=6:allf=t,format=yuv420p,trim=duration={SECONDS + 2}[v]",
         "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast",
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


def encode(job: RenderJob, extra: list[str] | None = None) -> float:
    command = ffmpeg_command(job)
    if extra is not None:  # the lossless reference: replace the rate control
        at = command.index("-preset")
        command[at:at + 4] = extra
    start = time.perf_counter()
    subprocess.run(command, cwd=job.out.parent, check=True)
    return time.perf_counter() - start


def ssim(candidate: Path, reference: Path) -> float:
    proc = subprocess.run(["ffmpeg", "-hide_banner", "-i", str(candidate), "-i", str(reference),
                           "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    found = re.findall(r"All:([0-9.]+)", proc.stderr)
    return float(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="ultrafast,superfast,veryfast,faster")
    parser.add_argument("--crfs", default="20,23,26")
    parser.add_argument("--baseline", default="veryfast/21",
                        help="PRESET/CRF whose quality and size the pick is held to (measured "
                             "too): the setting the clips were judged with before issue 18")
    parser.add_argument("--margin", type=float, default=0.0,
                        help="SSIM below the baseline's that still counts as as good")
    parser.add_argument("--size-margin", type=float, default=0.15,
                        help="how much larger than the baseline's a file may be (0.15: 15 %%)")
    parser.add_argument("--scene", choices=("talk", "hard"), default="talk",
                        help="the synthesized source (see above)")
    parser.add_argument("--source", type=Path, help="a real video instead of the synthetic one")
    parser.add_argument("--start", type=float, default=1.0, help="where in it the clip starts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="snapclip-bench-encode-") as tmp:
        folder = Path(tmp)
        make = make_talk if args.scene == "talk" else make_source
        source = probe(str(args.source or make(folder / "source.mkv")))
        lines = captions.caption_lines(
            [Word(k * 0.5, k * 0.5 + 0.4, word, 1.0) for k, word in
             enumerate(("some words on the screen to burn in " * 8).split())], SECONDS)
        ass = folder / "captions.ass"
        ass.write_text(captions.to_ass(lines, 1080, 1920, DEFAULT_STYLE), encoding="utf-8")
        base = RenderJob(source=source.path, out=folder / "reference.mp4", start_s=args.start,
                         end_s=args.start + SECONDS, aspect="9:16", source_size=(source.width,
                                                                         source.height),
                         fps=source.fps, crop_keyframes=((0.0, 0.3), (SECONDS, 0.7)), ass=ass)
        print("encoding the lossless reference ...", flush=True)
        encode(base, ["-preset", "ultrafast", "-qp", "0"])
        rows = []
        baseline = tuple(args.baseline.split("/"))
        candidates = [(p, c) for p in args.presets.split(",") for c in args.crfs.split(",")]
        for preset, crf_text in dict.fromkeys([*candidates, baseline]):
            crf = int(crf_text)
            out = folder / f"{preset}-{crf}.mp4"
            seconds = encode(replace(base, out=out, preset=preset, crf=crf))
            rows.append((preset, crf, seconds, out.stat().st_size, ssim(out, base.out)))
            print(f"  {preset}/{crf}: {seconds:.1f} s", flush=True)
    print("\n30-s 1080x1920 clip (crop, scale, captions), libx264")
    print(f"{'preset':<11}{'CRF':>4}{'wall s':>8}{'x real':>8}{'MB':>7}{'Mbit/s':>8}"
          f"{'SSIM':>8}{'dB':>7}")
    for preset, crf, seconds, size, value in rows:
        mark = " ".join(m for m, on in (("(today)", (preset, crf) == (PRESET, CRF)),
                                         ("(baseline)", (preset, str(crf)) == baseline)) if on)
        mark = f" {mark}" if mark else ""
        db = -10 * math.log10(max(1e-9, 1 - value))
        print(f"{preset:<11}{crf:>4}{seconds:>8.1f}{SECONDS / seconds:>8.1f}"
              f"{size / 1e6:>7.1f}{size * 8 / SECONDS / 1e6:>8.1f}{value:>8.4f}{db:>7.2f}{mark}")
    base = next(r for r in rows if (r[0], str(r[1])) == baseline)
    good = [r for r in rows
            if r[4] >= base[4] - args.margin and r[3] <= base[3] * (1 + args.size_margin)]
    pick = min(good, key=lambda r: r[2])
    print(f"fastest with SSIM >= {args.baseline}'s {base[4]:.4f} - {args.margin} and a file at "
          f"most {args.size_margin:.0%} larger: {pick[0]}/{pick[1]} ({pick[2]:.1f} s, "
          f"{base[2] / pick[2]:.2f}x faster, SSIM {pick[4]:.4f}, "
          f"{pick[3] / base[3]:.2f}x the size)")


if __name__ == "__main__":
    main()
