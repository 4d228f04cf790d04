#!/usr/bin/env python3
"""Benchmark: the whole ``snapclip run`` pipeline against ASR alone, on one local Triton.

A talk of about ``--minutes`` is synthesized from the sample's topics (calm topics and one
exciting stretch, repeated). On the same warm server, side by side:

(a) ASR alone: decode, VAD and every speech chunk through ``whisper`` - the stage nothing else
    can start before;
(b) the full pipeline (ingest, asr, moments, vision, select, render), as ``snapclip run`` runs it.

Prints each stage's wall time from the manifest (stages overlap: vision and most of moments run
during asr; ``moments_after_asr`` is the part that does not) and the ratio (b) / (a). The goal
is <= 1.25: everything besides ASR hidden behind it.

    .venv/bin/python scripts/bench_pipeline.py [--minutes 10] [--clips 5]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from orchestrator.paths import model_repository
from orchestrator.pipeline import asr
from orchestrator.pipeline.audio import decode_audio, speech_chunks
from orchestrator.pipeline.ingest import probe
from orchestrator.pipeline.run import RunOptions, run
from orchestrator.serving.client import TritonModels
from orchestrator.serving.local import LocalTriton
from orchestrator.synth.video import SAMPLE_SEGMENTS, make_sample_video

MODELS = ["whisper", "llm", "clip_image", "clip_image_encoder", "clip_text", "clip_text_encoder"]


class _Quiet:
    def stage(self, name: str, message: str) -> None:
        print(f"  {name:>8} {message}", flush=True)

    def progress(self, name: str, done: int, total: int) -> None:
        pass

    def checkpoint(self, stage: str, data: dict[str, object]) -> None:
        pass


async def asr_alone(url: str, video: Path) -> float:
    start = time.perf_counter()
    audio = await asyncio.to_thread(decode_audio, video)
    chunks = tuple(await asyncio.to_thread(speech_chunks, audio))
    async with TritonModels(url) as models:
        version = await models.resolve_version("whisper")
        await asr.transcribe(models, asr.AsrInput(chunks, len(audio) / 16_000,
                                                  model_version=version))
    return time.perf_counter() - start


async def full(url: str, video: Path, out: Path, clips: int) -> dict[str, float]:
    async with TritonModels(url) as models:
        result = await run(RunOptions(out=out, clips=clips, model_repository=model_repository()),
                           models, _Quiet(), probe(str(video), min_duration_s=15))
    return result.manifest.timings_s


async def warm_up(url: str, video: Path) -> None:
    audio = decode_audio(video)[: 16_000 * 20]
    async with TritonModels(url) as models:
        await asr.transcribe(models, asr.AsrInput(tuple(speech_chunks(audio)), 20.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clips", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="snapclip-bench-") as tmp:
        folder = Path(tmp)
        repeat = max(1, round(args.minutes * 60 / 128))  # the sample's topics last ~128 s
        print(f"synthesizing a {repeat}x sample talk ...", flush=True)
        video = make_sample_video(folder / "talk.mp4", segments=SAMPLE_SEGMENTS * repeat)
        duration = probe(str(video)).duration_s
        print(f"talk: {duration / 60:.1f} min; starting the local Triton ...", flush=True)
        with LocalTriton(models=MODELS) as server:
            assert server.endpoints is not None
            url = server.endpoints.grpc
            asyncio.run(warm_up(url, video))
            alone = asyncio.run(asr_alone(url, video))
            print(f"(a) ASR alone: {alone:.1f} s", flush=True)
            timings = asyncio.run(full(url, video, folder / "out", args.clips))
    print(f"\n{duration / 60:.1f}-min talk, {args.clips} clips, local Triton (CPU profile)")
    print(f"{'stage':<10}{'wall s':>9}")
    for stage in ("ingest", "asr", "vision", "moments", "moments_after_asr", "select", "render",
                  "total"):
        if stage in timings:
            print(f"{stage:<10}{timings[stage]:>9.1f}")
    print(f"(a) ASR alone {alone:.1f} s; (b) pipeline total {timings['total']:.1f} s; "
          f"ratio (b)/(a) = {timings['total'] / alone:.2f} (goal <= 1.25)")


if __name__ == "__main__":
    main()
