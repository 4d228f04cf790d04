#!/usr/bin/env python3
"""Benchmark: which ``llm`` version picks what viewers replay, and what the text stage costs.

For each served llm version and for the transcript-only path (``--llm-version none``), side by
side in one run against one local Triton:

- Hit@1, Hit@3 and mAP@15 on the mini dataset (``eval/mini``: the planted-peak talks and the
  decoy talks whose highlight is told calmly), every method scored from its clips, and how
  often the top clip of a decoy talk is its planted highlight or a decoy;
- the text stage's wall time on a 10-minute transcript (the llm judging its passages, without
  ASR), with the tokens it read and wrote.

    .venv/bin/python scripts/bench_llm.py [--versions none,3,5] [--out out/bench-llm]

By default: none, 3 and the Qwen build that suits this CPU (v5 where it has VNNI, else v4).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from orchestrator.paths import REPO_ROOT, model_repository
from orchestrator.pipeline.text import TextSignalInput, TextSignalStage
from orchestrator.pipeline.types import DECOYS, UNCLASSIFIED, Sentence
from orchestrator.serving.client import TritonModels
from orchestrator.serving.fetch import newest_suited
from orchestrator.serving.local import LocalTriton
from orchestrator.synth.video import SAMPLE_SEGMENTS

MINI = REPO_ROOT / "eval" / "mini" / "dataset.jsonl"
SNAPCLIP = Path(sys.executable).with_name("snapclip")


def ten_minute_talk(minutes: float = 10.0, wpm: int = 160) -> list[Sentence]:
    """The sample's topics in turn, sentence by sentence, until ``minutes`` are filled."""
    out, t, step = [], 0.0, 60.0 / wpm
    while t < minutes * 60:
        for segment in SAMPLE_SEGMENTS:
            for text in (s.strip() + "." for s in segment.text.split(".") if s.strip()):
                length = len(text.split()) * step
                out.append(Sentence(round(t, 2), round(t + length, 2), text))
                t += length + 0.3
            t += 0.9  # a longer pause between topics
    return [s for s in out if s.end_s <= minutes * 60]


def covers(clip: dict, span: dict) -> bool:
    inside = min(clip["end_s"], span["end_s"]) - max(clip["start_s"], span["start_s"])
    return inside > 0.5 * (clip["end_s"] - clip["start_s"])


def quality(url: str, version: str, out: Path) -> dict[str, float]:
    folder = out / f"eval-{version}"
    proc = subprocess.run([str(SNAPCLIP), "eval", str(MINI), "--triton", url, "--out",
                           str(folder), "--k", "1,3", "--min-len", "8", "--max-len", "20",
                           "--llm-version", version], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"eval with llm {version} failed: {proc.stderr.strip()[-300:]}")
    results = json.loads((folder / "results.json").read_text())
    truth = {d["id"]: d for d in map(json.loads, MINI.read_text().splitlines())}
    decoy_talks = [k for k, d in truth.items() if d.get("decoys")]
    top = {k: min(json.loads((folder / "runs" / k / "manifest.json").read_text())["clips"],
                  key=lambda c: c["rank"]) for k in decoy_talks}
    figures = {"hit1": np.mean([r["snapclip"]["hits"]["1"] for r in results]),
               "hit3": np.mean([r["snapclip"]["hits"]["3"] for r in results]),
               "map15": np.mean([r["snapclip"]["ap15"] for r in results]),
               "even_hit1": np.mean([r["even"]["hits"]["1"] for r in results]),
               "even_map15": np.mean([r["even"]["ap15"] for r in results]),
               "decoy_top_planted": sum(covers(top[k], truth[k]["planted"]) for k in top),
               "decoy_top_decoy": sum(any(covers(top[k], d) for d in truth[k]["decoys"])
                                      for k in top)}
    return {k: float(v) for k, v in figures.items()}


async def text_stage_time(url: str, version: str, talk: list[Sentence]) -> dict[str, float]:
    async with TritonModels(url) as models:
        start = time.perf_counter()
        stage = await TextSignalStage.start(TextSignalInput(
            clips=5, min_len_s=15, max_len_s=60, llm_version=version,
            model_repository=model_repository()), models)
        signal = await stage.finish(talk, talk[-1].end_s)
        # As a run does: the kind of the best passages, until five are not decoys, then
        # their titles and reasons (a run's selection also weighs the picture).
        while True:
            order = sorted(range(len(signal.candidates)),
                           key=lambda n: -signal.candidates[n].text_score)
            top = [n for n in order if signal.candidates[n].kind not in DECOYS][:5]
            pending = [n for n in top if signal.candidates[n].kind == UNCLASSIFIED]
            if not pending:
                break
            signal = await stage.classify(pending)
        signal = await stage.describe(top)
        seconds = time.perf_counter() - start
    tokens = next((n for n in signal.notes if "prompt tokens" in n), "")
    return {"seconds": round(seconds, 1), "candidates": len(signal.candidates),
            "note": tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default=f"none,3,{newest_suited('cpu', 'llm')}",
                        help="llm versions to compare ('none': transcript-only)")
    parser.add_argument("--out", type=Path, default=Path("out/bench-llm"))
    args = parser.parse_args()
    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    if not MINI.with_name("decoy-run.mp4").is_file():
        subprocess.run([sys.executable, "-m", "orchestrator.evaluation.minidata",
                        str(MINI.parent)], check=True)
    talk = ten_minute_talk()
    rows = []
    llm = sorted({int(v) for v in versions if v != "none"})  # those asked, and only those
    with LocalTriton(models=["whisper", "clip_image", "clip_image_encoder", "clip_text",
                             "clip_text_encoder"], versions={"llm": llm} if llm else {}
                     ) as server:
        assert server.endpoints is not None
        url = server.endpoints.grpc
        for version in versions:
            print(f"bench_llm: llm {version}: mini dataset ...", file=sys.stderr)
            figures = quality(url, version, args.out)
            print(f"bench_llm: llm {version}: text stage on a 10-minute transcript ...",
                  file=sys.stderr)
            timing = asyncio.run(text_stage_time(url, version, talk))
            rows.append((version, figures, timing))
    print(f"\n{'llm':>5} {'Hit@1':>6} {'Hit@3':>6} {'mAP@15':>7} {'even Hit@1':>10} "
          f"{'even mAP@15':>11} {'decoy talks: top=planted':>25} {'top=decoy':>10} "
          f"{'10-min text stage':>18}")
    for version, f, t in rows:
        print(f"{version:>5} {f['hit1']:>6.2f} {f['hit3']:>6.2f} {f['map15']:>7.3f} "
              f"{f['even_hit1']:>10.2f} {f['even_map15']:>11.3f} "
              f"{int(f['decoy_top_planted']):>22}/4 {int(f['decoy_top_decoy']):>8}/4 "
              f"{t['seconds']:>16.1f} s")
    for version, _, t in rows:
        if t["note"]:
            print(f"llm {version}: {t['note']}")


if __name__ == "__main__":
    main()
