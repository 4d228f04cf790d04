#!/usr/bin/env python3
"""Benchmark: clip_image in the CPU profile under load, against the bare onnxruntime session.

perf_analyzer sweeps concurrency 1, 2, 4, 8 over gRPC with real frames (decoded from a
synthesized video) as input data and reports throughput and p95 latency per step; the gain at 8
vs 1 is what dynamic batching buys (goal >= 2x). For the serving tax, the same preprocessing and
the same model.onnx run in this process on one onnxruntime session (same thread count), at
batch 1 and batch 8.

    .venv/bin/python scripts/bench_clip.py [--requests 100] [--version 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from orchestrator.backends.clip_inputs import preprocess_frame
from orchestrator.contracts.clip import CLIP_METADATA, ClipMetadata
from orchestrator.paths import model_repository
from orchestrator.serving import perf
from orchestrator.serving.local import LocalTriton
from orchestrator.synth.speech import speak
from orchestrator.synth.video import make_video


def real_frames(folder: Path, count: int) -> list[np.ndarray]:
    wav = speak("A short clip whose frames feed the benchmark.", folder / "a.wav")
    video = make_video(wav, folder / "v.mp4", size="640x360", fps=5)
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames[:: max(1, len(frames) // count)][:count]


def bare_onnxruntime(version_dir: Path, frames: list[np.ndarray], batch: int,
                     seconds: float = 10.0) -> float:
    """Images per second: preprocessing + one session.run per batch, like the server does."""
    import onnxruntime as ort

    meta = ClipMetadata.load(version_dir / CLIP_METADATA)
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    session = ort.InferenceSession(str(version_dir / "model.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    picks = [frames[i % len(frames)] for i in range(batch)]
    session.run(None, {"PIXELS": np.stack([preprocess_frame(f, meta) for f in picks])})
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        pixels = np.stack([preprocess_frame(f, meta) for f in picks])
        session.run(None, {"PIXELS": pixels})
        done += batch
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=60,
                        help="requests per perf_analyzer measurement window")
    parser.add_argument("--stability", type=int, default=30,
                        help="perf_analyzer --stability-percentage (2 busy cores are noisy)")
    parser.add_argument("--version", default="1")
    args = parser.parse_args()
    repository = model_repository()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = real_frames(folder, 8)
        data = perf.write_input_data(folder / "frames.json", "IMAGE", frames)
        print(f"clip_image v{args.version}, CPU profile, {os.cpu_count()} cores, "
              f"{len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}")
        with LocalTriton(repository, models=["clip_image", "clip_image_encoder"]) as server:
            assert server.endpoints is not None
            rows = perf.run("clip_image", server.endpoints.grpc, input_data=data,
                            concurrency=[1, 2, 4, 8], csv_path=folder / "sweep.csv",
                            request_count=args.requests,
                            extra=["--stability-percentage", str(args.stability)])
    print(f"{'concurrency':>11} {'img/s':>8} {'p95 ms':>8} {'queue ms':>9} {'compute ms':>10}")
    for r in rows:
        print(f"{r.concurrency:>11} {r.throughput:>8.1f} {r.p95_us / 1000:>8.1f} "
              f"{r.queue_us / 1000:>9.1f} {r.compute_us / 1000:>10.1f}")
    gain = rows[-1].throughput / rows[0].throughput
    print(f"gain at concurrency 8 vs 1: {gain:.2f}x  (goal: >= 2x from dynamic batching)")
    version_dir = repository / "clip_image_encoder" / args.version
    for batch in (1, 8):
        rate = bare_onnxruntime(version_dir, frames, batch)
        print(f"bare onnxruntime, batch {batch}: {rate:.1f} img/s")
    print(f"serving tax at 8: Triton {rows[-1].throughput:.1f} img/s vs bare batch-8 "
          f"{rate:.1f} img/s ({rows[-1].throughput / rate:.2f}x)")


if __name__ == "__main__":
    main()
