#!/usr/bin/env python3
"""Benchmark: the CPU ``llm`` (vLLM CPU in Triton's python backend) and the moments stage.

Streams requests over gRPC and measures, per request, time to first token (TTFT) and decode
speed (output tokens / time after the first token), at concurrency 1 and 4; then the wall time
of the moments stage over a 10-minute transcript (about 1,650 words with word timings, built
from the sample talk's sentences) with the same model.

    .venv/bin/python scripts/bench_llm.py [--version 3] [--requests 8] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

from orchestrator.contracts.transcript import Segment, Transcript, Word
from orchestrator.paths import model_repository
from orchestrator.pipeline.text.llm import MomentsSettings, find_moments
from orchestrator.pipeline.text.prompt import PromptBuilder
from orchestrator.serving.client import TritonModels
from orchestrator.serving.local import LocalTriton
from orchestrator.synth.video import SAMPLE_TALK

QUESTIONS = ["Summarize why microphone placement matters.", "Write a catchy video title.",
             "List three tips for better audio.", "Explain what a hook is in a short video."]


def ten_minute_transcript(minutes: float = 10.0, wpm: int = 165) -> Transcript:
    sentences = [s.strip() + "." for s in SAMPLE_TALK.split(".") if s.strip()]
    rng = random.Random(3)
    words, t = [], 0.0
    step = 60.0 / wpm
    while t < minutes * 60:
        for w in rng.choice(sentences).split():
            words.append(Word(round(t, 2), round(t + step * 0.8, 2), w, 0.9))
            t += step
        t += 0.4
    return Transcript("en", t, (Segment(0.0, t, " ".join(w.word for w in words),
                                        tuple(words)),))


async def one(models: TritonModels, builder: PromptBuilder, question: str, version: str,
              max_tokens: int) -> tuple[float, float, int]:
    prompt = builder.build_text(question)
    sampling = {"temperature": 0, "max_tokens": max_tokens, "ignore_eos": True, "seed": 0}
    start = time.perf_counter()
    first = None
    text = []
    async for piece in models.generate(prompt, sampling, version=version, stream=True):
        first = first or time.perf_counter()
        text.append(piece)
    end = time.perf_counter()
    tokens = builder.count_tokens("".join(text))
    decode_s = max(1e-6, end - (first or end))
    return (first or end) - start, max(0, tokens - 1) / decode_s, tokens


async def sweep(url: str, builder: PromptBuilder, version: str, concurrency: int,
                requests: int, max_tokens: int) -> dict:
    limit = asyncio.Semaphore(concurrency)
    async with TritonModels(url) as models:
        async def limited(i: int) -> tuple[float, float, int]:
            async with limit:
                return await one(models, builder, QUESTIONS[i % len(QUESTIONS)], version,
                                 max_tokens)
        await one(models, builder, QUESTIONS[0], version, 8)  # warm-up
        start = time.perf_counter()
        results = await asyncio.gather(*(limited(i) for i in range(requests)))
        wall = time.perf_counter() - start
    ttft = [r[0] for r in results]
    return {"ttft_p50": statistics.median(ttft), "ttft_max": max(ttft),
            "decode_tok_s": statistics.mean(r[1] for r in results),
            "total_tok_s": sum(r[2] for r in results) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default="3", help="llm version of the CPU profile")
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    repository = model_repository()
    builder = PromptBuilder.from_pretrained(str(repository / "llm" / args.version / "hf"),
                                            max_moments=5)
    transcript = ten_minute_transcript()
    with LocalTriton(repository, models=["llm"]) as server:
        assert server.endpoints is not None
        url = server.endpoints.grpc
        print(f"llm v{args.version} on vLLM CPU, {args.requests} streamed requests of "
              f"{args.max_tokens} tokens per step")
        print(f"{'concurrency':>11} {'TTFT p50 s':>10} {'TTFT max s':>10} {'decode tok/s':>12} "
              f"{'total tok/s':>11}")
        for concurrency in (1, 4):
            r = asyncio.run(sweep(url, builder, args.version, concurrency, args.requests,
                                  args.max_tokens))
            print(f"{concurrency:>11} {r['ttft_p50']:>10.2f} {r['ttft_max']:>10.2f} "
                  f"{r['decode_tok_s']:>12.1f} {r['total_tok_s']:>11.1f}")

        async def moments() -> tuple[float, object]:
            async with TritonModels(url) as models:
                start = time.perf_counter()
                result = await find_moments(models, transcript, MomentsSettings(
                    context_tokens=2048, max_new_tokens=512,
                    model_version=args.version), builder)
                return time.perf_counter() - start, result

        wall, result = asyncio.run(moments())
        print(f"moments stage, {transcript.duration_s / 60:.1f}-minute transcript "
              f"({len(transcript.words)} words): {wall:.1f} s, {result.chunks} chunks, "
              f"{result.answered} answered, {len(result.moments)} moments kept")


if __name__ == "__main__":
    main()
