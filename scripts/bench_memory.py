"""Peak memory of a job against the video's length: the chart's memory limits come from here.

A talk of about a minute is synthesized (espeak-ng speech over an FFmpeg test picture) and looped
by FFmpeg into 10-, 60- and 240-minute inputs (``-stream_loop`` with ``-c copy``: seconds to
make, a few MB per hour; deleted afterwards). For each, a fresh process runs what a job holds
per minute of video - the audio (decoded, VAD-chunked, every chunk read as ASR reads it) and the
vision stage (frames sampled once a second, visual change, subject position) - and reports its
peak RSS. Beside it, for the shorter inputs, the same work done the way it was before issue 16
(the whole audio and every sampled frame in memory). One clip is rendered as a job renders it
(1080 x 1920, captions off) to measure FFmpeg's own peak, which does not depend on the length.
CLIP embeddings (real weights only) add 2 KB per sampled second: 29 MB at 4 hours.

Usage: .venv/bin/python scripts/bench_memory.py [--minutes 10,60,240] [--in-memory-up-to 60]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from orchestrator.pipeline.audio import AudioTrack, decode_audio, speech_chunks
from orchestrator.pipeline.render.encode import RenderJob, render_clip
from orchestrator.pipeline.vision import VisionInput, analyse_video
from orchestrator.pipeline.vision.frames import sample_frames, visual_change
from orchestrator.synth.speech import speak
from orchestrator.synth.video import SAMPLE_TALK, make_video

MB = 1024 * 1024


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB  # Linux: KB


def _streamed(path: str, scratch: str) -> dict[str, float]:
    """What a job does now: spooled audio, chunks read one at a time, frames streamed."""
    start = time.perf_counter()
    with AudioTrack.decode(Path(path), scratch=Path(scratch)) as track:
        chunks = speech_chunks(track)
        samples = sum(len(chunk.samples) for chunk in chunks)  # as ASR reads them
        after_audio = _rss_mb()
        signals = asyncio.run(analyse_video(None, VisionInput(Path(path), True, False)))  # type: ignore[arg-type]
    return {"audio_mb": after_audio, "peak_mb": _rss_mb(), "chunks": len(chunks),
            "speech_s": samples / 16_000, "frames": len(signals.times_s),
            "seconds": time.perf_counter() - start}


def _in_memory(path: str, scratch: str) -> dict[str, float]:
    """The same work as before issue 16: the whole audio array and every frame kept."""
    start = time.perf_counter()
    audio = decode_audio(path)
    chunks = speech_chunks(audio, block_s=len(audio) / 16_000 + 1)
    after_audio = _rss_mb()
    frames = sample_frames(Path(path))
    visual_change(frames)
    return {"audio_mb": after_audio, "peak_mb": _rss_mb(), "chunks": len(chunks),
            "speech_s": sum(c.duration_s for c in chunks), "frames": len(frames),
            "seconds": time.perf_counter() - start}


def _baseline(path: str, scratch: str) -> dict[str, float]:
    return {"peak_mb": _rss_mb()}


def _render(path: str, scratch: str) -> dict[str, float]:
    out = Path(scratch) / "clip.mp4"
    start = time.perf_counter()
    asyncio.run(render_clip(RenderJob(source=Path(path), out=out, start_s=5.0, end_s=65.0,
                                      source_size=(640, 360), fps=15.0)))
    ffmpeg = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / MB
    return {"peak_mb": ffmpeg, "seconds": time.perf_counter() - start}


def _measure(work: str, path: Path, scratch: Path) -> dict[str, float]:
    """Run ``work`` in a fresh process (its peak RSS is its own, not this one's)."""
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, str(path), str(scratch), theirs))
    child.start()
    theirs.close()
    try:
        result = mine.recv()
    except EOFError:
        result = {}
    child.join()
    if child.exitcode != 0 or not result:
        raise SystemExit(f"{work} on {path.name} failed (exit code {child.exitcode})")
    return result


def _child(work: str, path: str, scratch: str, pipe) -> None:  # noqa: ANN001 -- a Connection
    pipe.send(globals()[work](path, scratch))
    pipe.close()


def _loop(base: Path, minutes: int, out: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(base),
                    "-t", str(minutes * 60), "-c", "copy", str(out)], check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", default="10,60,240")
    parser.add_argument("--in-memory-up-to", type=int, default=60,
                        help="measure the old all-in-memory way up to this many minutes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        folder = Path(tmp)
        wav = speak(SAMPLE_TALK, folder / "talk.wav", words_per_minute=160)
        base = make_video(wav, folder / "base.mp4", size="640x360", fps=15)
        idle = _measure("_baseline", base, folder)["peak_mb"]
        render = _measure("_render", _loop(base, 2, folder / "two.mp4"), folder)
        print(f"process after imports: {idle:.0f} MB; one 60-s 1080x1920 clip rendered by "
              f"FFmpeg: peak {render['peak_mb']:.0f} MB ({render['seconds']:.1f} s)\n")
        print("| input | job peak RSS (streamed) | after audio | before issue 16 (in memory) "
              "| frames | speech chunks | time |")
        print("|---|---|---|---|---|---|---|")
        for minutes in (int(m) for m in args.minutes.split(",")):
            video = _loop(base, minutes, folder / f"{minutes}.mp4")
            now = _measure("_streamed", video, folder)
            before = (f"{_measure('_in_memory', video, folder)['peak_mb']:.0f} MB"
                      if minutes <= args.in_memory_up_to else "not run")
            print(f"| {minutes} min | {now['peak_mb']:.0f} MB | {now['audio_mb']:.0f} MB | "
                  f"{before} | {now['frames']:.0f} | {now['chunks']:.0f} "
                  f"({now['speech_s'] / 60:.0f} min) | {now['seconds']:.0f} s |", flush=True)
            video.unlink()


if __name__ == "__main__":
    main()
