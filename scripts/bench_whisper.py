#!/usr/bin/env python3
"""Benchmark: a synthesized talk transcribed in-process vs through the local Triton.

(a) faster-whisper ``WhisperModel.transcribe`` in this process: VAD on, word timestamps, beam 5;
(b) snapclip's path: the same VAD splits speech into <=30 s chunks, sent concurrently to the
    Triton ``whisper`` model, which decodes whatever arrives together as one batch;
(c) faster-whisper's ``BatchedInferencePipeline`` in this process (``--batch-size``, 8): the
    strongest in-process mode, VAD segments decoded as one batch.

Same weights (the version folder's CTranslate2 model), same compute type (int8) and the same
number of CPU threads for all three. Model loading and server start-up are not timed; one
warm-up request each is. Prints the wall times, the ratios (a)/(b) and (c)/(b) (above 1.0:
Triton is faster) and each side's word error rate against the script as a sanity check.

    .venv/bin/python scripts/bench_whisper.py [--minutes 10] [--version 1] [--repeat 1]
        [--batch-size 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from orchestrator.contracts.models import WHISPER_SAMPLE_RATE
from orchestrator.evaluation.wer import word_error_rate as wer
from orchestrator.paths import model_repository
from orchestrator.pipeline import asr
from orchestrator.pipeline.audio import decode_audio, speech_chunks
from orchestrator.serving.client import TritonModels
from orchestrator.serving.fetch import PROFILES, weights_dir
from orchestrator.serving.local import LocalTriton
from orchestrator.synth.speech import speak
from orchestrator.synth.video import SAMPLE_TALK

EXTRA = (
    "Our new camera records sharp video even in very low light. "
    "The meeting starts at nine and should finish before lunch. "
    "This bridge was built more than one hundred years ago. "
    "We will travel north by train and return home on Sunday. "
    "Please remember to water the garden every morning before work. "
    "She bought seven apples and three oranges at the market today. "
)


def talk_text(minutes: float, seed: int = 7) -> str:
    """About ``minutes`` of varied sentences (espeak-ng at 165 wpm)."""
    sentences = [s.strip() + "." for s in (SAMPLE_TALK + " " + EXTRA).split(".") if s.strip()]
    rng = random.Random(seed)
    words, out = 0, []
    while words < minutes * 165:
        sentence = rng.choice(sentences)
        out.append(sentence)
        words += len(sentence.split())
    return " ".join(out)


def in_process(model_dir: Path, audio: np.ndarray, threads: int,
               batch_size: int = 0) -> tuple[float, str]:
    """faster-whisper in this process: ``transcribe`` (sequential windows), or with
    ``batch_size`` its ``BatchedInferencePipeline`` (VAD segments decoded ``batch_size`` at a
    time, its own VAD always on)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
    list(model.transcribe(audio[: WHISPER_SAMPLE_RATE * 5], beam_size=5)[0])  # warm-up
    start = time.perf_counter()
    if batch_size:
        segments, _ = BatchedInferencePipeline(model).transcribe(
            audio, beam_size=5, word_timestamps=True, batch_size=batch_size)
    else:
        segments, _ = model.transcribe(audio, beam_size=5, vad_filter=True,
                                       word_timestamps=True)
    text = " ".join(s.text.strip() for s in segments)
    return time.perf_counter() - start, text


async def through_triton(url: str, audio: np.ndarray, version: str) -> tuple[float, str, int]:
    async with TritonModels(url) as models:
        warm = speech_chunks(audio[: WHISPER_SAMPLE_RATE * 20])[:1]
        await asr.transcribe(models, asr.AsrInput(tuple(warm), 20.0, model_version=version))
        start = time.perf_counter()
        chunks = tuple(speech_chunks(audio))
        transcript = await asr.transcribe(
            models, asr.AsrInput(chunks, len(audio) / WHISPER_SAMPLE_RATE, model_version=version))
        return time.perf_counter() - start, transcript.text, len(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--version", default="1", help="whisper version of the CPU profile")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per side (best kept)")
    parser.add_argument("--batch-size", type=int, default=8,
                        help="BatchedInferencePipeline's batch (c)")
    args = parser.parse_args()

    repository = model_repository()
    item = next(i for i in PROFILES["cpu"]
                if i.model == "whisper" and str(i.version) == args.version)
    model_dir = weights_dir(repository, item, "cpu")
    threads = os.cpu_count() or 1
    text = talk_text(args.minutes)
    with tempfile.TemporaryDirectory() as tmp:
        audio = decode_audio(speak(text, Path(tmp) / "talk.wav", words_per_minute=165))
    duration = len(audio) / WHISPER_SAMPLE_RATE
    print(f"talk: {duration / 60:.1f} min synthesized, whisper v{args.version} "
          f"({item.source.description}), int8, {threads} CPU threads")

    local = [in_process(model_dir, audio, threads) for _ in range(args.repeat)]
    t_local, text_local = min(local)
    batched = [in_process(model_dir, audio, threads, args.batch_size)
               for _ in range(args.repeat)]
    t_batched, text_batched = min(batched)
    with LocalTriton(repository, models=["whisper"]) as server:
        assert server.endpoints is not None
        runs = [asyncio.run(through_triton(server.endpoints.grpc, audio, args.version))
                for _ in range(args.repeat)]
    t_triton, text_triton, n_chunks = min(runs)

    print(f"(a) in-process faster-whisper transcribe: {t_local:7.1f} s  "
          f"RTF {t_local / duration:.3f}  WER {wer(text, text_local):.3f}")
    print(f"(b) Triton, {n_chunks} VAD chunks concurrent: {t_triton:7.1f} s  "
          f"RTF {t_triton / duration:.3f}  WER {wer(text, text_triton):.3f}")
    print(f"(c) in-process BatchedInferencePipeline, batch {args.batch_size}: "
          f"{t_batched:7.1f} s  RTF {t_batched / duration:.3f}  "
          f"WER {wer(text, text_batched):.3f}")
    print(f"ratio (a)/(b) = {t_local / t_triton:.2f}x, (c)/(b) = {t_batched / t_triton:.2f}x  "
          "(goal: both >= 1.0x)")


if __name__ == "__main__":
    main()
