#!/usr/bin/env python3
"""Benchmark: the whole ``snapclip run`` pipeline against ASR alone, on one local Triton.

A talk of about ``--minutes`` is synthesized from the sample's topics (calm topics and one
exciting stretch, repeated). Each configuration below is measured on a server of its own,
started for it and warmed up (whisper on 20 s of the talk; the llm on a passage that is not in
the talk, which warms its engine and the prefix its instructions share): a video's passages
are new to a server, and a second run of the same talk on the same server would find them
in vLLM's prefix cache (measured: ratings 1.4 s each instead of 7.8 s). On that server, side
by side:

(a) ASR alone: decode, VAD and every speech chunk through ``whisper`` - the stage nothing else
    can start before - measured before (b) and again after it, the mean used (the machine's
    speed drifts);
(b) the full pipeline (ingest, asr, moments, vision, select, render), as ``snapclip run`` runs it.

Prints, for (b), a profile: when each stage ran (stages overlap: vision and most of moments run
during asr; ``moments_after_asr`` is the part that does not), its wall time, and the CPU seconds
spent while it ran - the orchestrator's process tree (FFmpeg included) and Triton's (whisper,
the llm), read from /proc every 0.25 s and shared equally among the stages running at the time
(an approximation where stages overlap) - with a Gantt chart of the stages over the cores in
use (``--out``/pipeline-profile.png). Then the time to the first clip, and the ratio (b) / (a),
and (c) the CPU floor (``cpu_report``: the ratio the run's CPU seconds allow, and the CPU
seconds the goal leaves beside ASR alone), for ``--clips`` and for one clip; last, the same
for ``--clips`` on the transcript-only path (no llm: ``--llm-version none``).

Each server loads one llm version, the one measured (``--llm-version``; by default the one
``snapclip run`` picks: the newest that suits this CPU): the other engines would only take
memory from the run.

    .venv/bin/python scripts/bench_pipeline.py [--minutes 10] [--clips 5] [--skip-one-clip]
        [--skip-transcript-only] [--llm-version N] [--out out/bench]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from orchestrator.paths import model_repository
from orchestrator.pipeline import asr
from orchestrator.pipeline.audio import decode_audio, speech_chunks
from orchestrator.pipeline.ingest import probe
from orchestrator.pipeline.run import RunOptions, run
from orchestrator.pipeline.text.llm import load_tokenizer, served_llm_settings
from orchestrator.pipeline.text.rating import PassageJudge
from orchestrator.serving.client import Completion, TritonModels
from orchestrator.serving.fetch import newest_suited, policy_versions
from orchestrator.serving.local import LocalTriton
from orchestrator.synth.video import SAMPLE_SEGMENTS, make_sample_video

MODELS = ["whisper", "clip_image", "clip_image_encoder", "clip_text", "clip_text_encoder"]


def served_llm_versions() -> list[int]:
    """The llm versions the CPU profile serves (its config's version policy)."""
    return policy_versions(model_repository() / "llm", "cpu")


class _Quiet:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first_clip_s: float | None = None

    def clip_ready(self, clip: object, folder: Path) -> None:
        if self.first_clip_s is None:
            self.first_clip_s = time.perf_counter() - self.started

    def stage(self, name: str, message: str) -> None:
        print(f"{time.perf_counter() - self.started:6.1f} s {name:>8} {message}", flush=True)

    def progress(self, name: str, done: int, total: int) -> None:
        pass

    def checkpoint(self, stage: str, data: dict[str, object]) -> None:
        pass



@dataclass(frozen=True)
class LlmCall:
    purpose: str  # kind, digit (rating or topic), describe
    start_s: float
    end_s: float
    tokens_in: int
    tokens_out: int


class RecordingModels(TritonModels):
    """``TritonModels`` that records every ``llm`` request: what it asked, when, its tokens."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls: list[LlmCall] = []
        self.started = time.perf_counter()

    async def complete(self, prompt: str, sampling: Mapping[str, object], *,
                       model: str = "llm", version: str = "",
                       on_text: Callable[[str], None] | None = None) -> Completion:
        start = time.perf_counter() - self.started
        answer = await super().complete(prompt, sampling, model=model, version=version,
                                        on_text=on_text)
        # The pinned backend takes structured_outputs as a JSON string.
        outputs = json.loads(str(sampling.get("structured_outputs") or "{}"))
        purpose = ("describe" if "json" in outputs else "kind" if "choice" in outputs
                   else "digit")
        self.calls.append(LlmCall(purpose, start, time.perf_counter() - self.started,
                                  answer.input_tokens, answer.output_tokens))
        return answer


async def asr_alone(url: str, video: Path) -> tuple[float, float]:
    """ASR alone: its wall seconds, and the CPU seconds it took (this process's tree, which
    holds the local Triton)."""
    start, cpu0 = time.perf_counter(), tree_cpu_s(os.getpid())
    audio = await asyncio.to_thread(decode_audio, video)
    chunks = tuple(await asyncio.to_thread(speech_chunks, audio))
    async with TritonModels(url) as models:
        version = await models.resolve_version("whisper")
        await asr.transcribe(models, asr.AsrInput(chunks, len(audio) / 16_000,
                                                  model_version=version))
    return time.perf_counter() - start, tree_cpu_s(os.getpid()) - cpu0


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and every live descendant, with the children
    they have already waited for (FFmpeg runs, ended python-backend stubs)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:  # ended meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(v) for v in fields[11:15]) / _TICK
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(times.get(pid, 0.0) for pid in tree)


@dataclass
class CpuSampler:
    """Samples the CPU seconds of this process's tree and Triton's every ``every_s``."""

    triton_pid: int
    every_s: float = 0.25
    samples: list[tuple[float, float, float]] = field(default_factory=list)  # t, ours, triton

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.started = time.perf_counter()

    def __enter__(self) -> CpuSampler:
        self.started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        # The local Triton is a child of this process: its tree is taken out of ours.
        triton = tree_cpu_s(self.triton_pid)
        self.samples.append((time.perf_counter() - self.started,
                             tree_cpu_s(os.getpid()) - triton, triton))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every_s)


@dataclass
class Profile:
    timings: dict[str, float]
    spans: tuple[tuple[str, float, float], ...]
    samples: list[tuple[float, float, float]]
    first_clip_s: float | None
    offset_s: float  # the run's start on the sampler's clock
    calls: list[LlmCall] = field(default_factory=list)  # on the run's clock
    notes: tuple[str, ...] = ()  # the manifest's (a decoy or a repeat that fills the count)

    def stage_cpu(self) -> dict[str, tuple[float, float]]:
        """CPU seconds (orchestrator, Triton) per stage: each sampling interval's CPU shared
        equally among the stages that ran in it."""
        totals: dict[str, list[float]] = {name: [0.0, 0.0] for name, _, _ in self.spans}
        for (t0, ours0, triton0), (t1, ours1, triton1) in pairwise(self.samples):
            middle = (t0 + t1) / 2 - self.offset_s
            active = {name for name, a, b in self.spans if a <= middle < b}
            for name in active:
                totals[name][0] += (ours1 - ours0) / len(active)
                totals[name][1] += (triton1 - triton0) / len(active)
        return {name: (ours, triton) for name, (ours, triton) in totals.items()}

    def draw(self, path: Path, title: str) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = list(dict.fromkeys(name for name, _, _ in self.spans))
        fig, (gantt, cores) = plt.subplots(2, 1, figsize=(11, 6), sharex=True,
                                           gridspec_kw={"height_ratios": [3, 2]})
        for row, name in enumerate(names):
            bars = [(a, b - a) for n, a, b in self.spans if n == name]
            gantt.broken_barh(bars, (row - 0.35, 0.7), color=f"C{row}")
        gantt.set_yticks(range(len(names)), names)
        gantt.invert_yaxis()
        if self.first_clip_s is not None:
            gantt.axvline(self.first_clip_s, color="k", linestyle="--", linewidth=1)
            gantt.text(self.first_clip_s, -0.6, " first clip", fontsize=8)
        gantt.set_title(title)
        times = [t - self.offset_s for t, _, _ in self.samples[1:]]
        steps = list(pairwise(self.samples))
        # A process that ends moves its CPU time to its parent's "waited for" count only
        # when reaped: one interval can then show a dip below 0 and the next a spike. The
        # chart clips each rate to the machine's cores; the totals above are unaffected.
        cpus = os.cpu_count() or 1

        def busy(column: int) -> list[float]:  # 1: ours, 2: Triton's
            return [min(cpus, max(0.0, (b[column] - a[column]) / max(b[0] - a[0], 1e-6)))
                    for a, b in steps]

        cores.stackplot(times, busy(1), busy(2), labels=["orchestrator + FFmpeg", "Triton"],
                        step="pre", alpha=0.8)
        cores.set_ylabel("cores busy")
        cores.set_xlabel("seconds since the run started")
        cores.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)


async def full(url: str, video: Path, out: Path, clips: int, triton_pid: int,
               llm_version: str = "") -> Profile:
    reporter = _Quiet()
    with CpuSampler(triton_pid) as sampler:
        async with RecordingModels(url) as models:
            reporter.started = models.started = time.perf_counter()
            offset = reporter.started - sampler.started
            result = await run(RunOptions(out=out, clips=clips, llm_version=llm_version,
                                          model_repository=model_repository()),
                               models, reporter, probe(str(video), min_duration_s=15))
    return Profile(result.manifest.timings_s, result.spans_s, sampler.samples,
                   reporter.first_clip_s, offset, models.calls,
                   result.manifest.selection.notes)


def llm_table(profile: Profile) -> None:
    """The llm's requests by purpose: how many, tokens in and out per request, and how many
    of them ended after ASR (the wait the run cannot hide)."""
    asr_end = max((b for n, _, b in profile.spans if n == "asr"), default=0.0)
    print(f"{'llm requests':<18}{'count':>6}{'in/req':>8}{'out/req':>8}{'s/req':>7}"
          f"{'after asr':>10}")
    for purpose in ("kind", "digit", "describe"):
        calls = [c for c in profile.calls if c.purpose == purpose]
        if not calls:
            continue
        n = len(calls)
        print(f"{purpose:<18}{n:>6}{sum(c.tokens_in for c in calls) / n:>8.0f}"
              f"{sum(c.tokens_out for c in calls) / n:>8.1f}"
              f"{sum(c.end_s - c.start_s for c in calls) / n:>7.1f}"
              f"{sum(c.end_s > asr_end for c in calls):>10}")


def report(profile: Profile, alone: float, alone_cpu: float, clips: int, duration: float,
           out: Path, path: str = "llm") -> None:
    timings, cpu = profile.timings, profile.stage_cpu()
    print(f"\n{duration / 60:.1f}-min talk, {clips} clip(s), {path} path, local Triton "
          "(CPU profile)")
    print(f"{'stage':<18}{'start s':>8}{'end s':>8}{'wall s':>8}{'CPU s ours':>11}"
          f"{'CPU s Triton':>13}")
    for name in dict.fromkeys(n for n, _, _ in profile.spans):
        runs = [(a, b) for n, a, b in profile.spans if n == name]
        ours, triton = cpu.get(name, (0.0, 0.0))
        print(f"{name:<18}{runs[0][0]:>8.1f}{runs[-1][1]:>8.1f}{timings.get(name, 0):>8.1f}"
              f"{ours:>11.1f}{triton:>13.1f}")
    (_, ours0, triton0), (_, ours1, triton1) = profile.samples[0], profile.samples[-1]
    print(f"{'whole run':<18}{0:>8.1f}{timings['total']:>8.1f}{timings['total']:>8.1f}"
          f"{ours1 - ours0:>11.1f}{triton1 - triton0:>13.1f}")
    if "moments" in timings:
        print(f"  (llm time in all, most of it during asr: {timings['moments']:.1f} s)")
    if profile.calls:
        llm_table(profile)
    first = profile.first_clip_s
    chosen = max((b for n, _, b in profile.spans if n == "select"), default=None)
    goal = 2.0 if path == "llm" else 1.4
    print(f"(a) ASR alone {alone:.1f} s (mean of before and after); (b) pipeline total "
          f"{timings['total']:.1f} s; "
          f"ratio (b)/(a) = {timings['total'] / alone:.2f} (goal <= {goal}); first clip after "
          + (f"{first:.1f} s ({first / alone:.2f} x ASR alone)" if first else "-")
          + (f"; the last clip chosen after {chosen:.1f} s" if chosen is not None else ""))
    cpu_report(timings["total"], ours1 - ours0 + triton1 - triton0, alone, alone_cpu, goal)
    picture = out / f"pipeline-profile-{clips}clip{'' if path == 'llm' else '-' + path}.png"
    profile.draw(picture, f"snapclip run: {duration / 60:.1f}-min talk, {clips} clip(s), "
                          f"{path} path")
    print(f"profile chart: {picture}")
    for note in profile.notes:
        print(f"run note: {note}")


def cpu_report(total_s: float, total_cpu: float, alone: float, alone_cpu: float,
               goal: float) -> None:
    """What the CPU allows: the run's CPU seconds packed perfectly on the cores this process
    may use (the shortest wall time that work can take), and what the goal leaves beside ASR.
    A run whose ratio is near its floor is bound by its CPU work, not by waiting: only less
    work makes it faster."""
    cores = len(os.sched_getaffinity(0))
    budget = goal * alone * cores
    print(f"(c) CPU: the run spent {total_cpu:.0f} CPU-s, {total_cpu / total_s:.2f} of {cores} "
          f"cores busy on average; packed perfectly that takes at least "
          f"{total_cpu / cores:.1f} s, ratio {total_cpu / cores / alone:.2f}. ASR alone spent "
          f"{alone_cpu:.0f} CPU-s; the goal holds {budget:.0f} CPU-s ({goal} x ASR alone on "
          f"{cores} cores), {budget - alone_cpu:.0f} of them for everything beside ASR, "
          f"where the run spent {total_cpu - alone_cpu:.0f}")


def wait_until_idle(pid: int, *, below: float = 0.1, window_s: float = 3.0,
                    limit_s: float = 300.0) -> float:
    """Wait until Triton's processes use less than ``below`` of a core over ``window_s``
    (the vLLM engines keep working for a while after the server says ready; a measurement
    taken then is not the server's). Returns the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit_s:
        before = tree_cpu_s(pid)
        time.sleep(window_s)
        if (tree_cpu_s(pid) - before) / window_s < below:
            break
    return time.perf_counter() - start


WARM_UP_PASSAGE = ("Our new camera records sharp video even in very low light. The bridge "
                   "was built more than one hundred years ago.")  # not said in the talk


async def warm_up(url: str, video: Path, llm: bool) -> None:
    """Whisper on the talk's first 20 s; with ``llm``, a rating, a kind and a description of
    a passage the talk does not hold (the engine's first requests, the shared instructions)."""
    audio = decode_audio(video)[: 16_000 * 20]
    async with TritonModels(url) as models:
        await asr.transcribe(models, asr.AsrInput(tuple(speech_chunks(audio)), 20.0))
        if llm:
            version = await models.resolve_version("llm")
            settings = served_llm_settings(model_repository(), version)
            assert settings is not None, f"no tokenizer for llm v{version}"
            judge = PassageJudge(models, load_tokenizer(settings.tokenizer), version,
                                 settings.context_tokens)
            await judge.rate(WARM_UP_PASSAGE)
            await judge.describe(WARM_UP_PASSAGE, lambda title: None)


def prefix_hit_rate(log: Path) -> str:
    """The last prefix cache hit rate vLLM logged (its share of prompt tokens found cached,
    over the server's requests: the warm-up's too). The talk repeats the sample's topics, so
    a passage can be found whole in the cache, which a talk that never repeats itself would
    not give: this says how much of that the run had."""
    rates = re.findall(r"Prefix cache hit rate: ([0-9.]+)%", log.read_text(errors="replace"))
    return f"{rates[-1]} %" if rates else "not logged"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clips", type=int, default=5)
    parser.add_argument("--skip-one-clip", action="store_true",
                        help="measure --clips only, not also one clip (quicker, for iterating)")
    parser.add_argument("--skip-transcript-only", action="store_true",
                        help="do not also measure the transcript-only path (no llm)")
    parser.add_argument("--llm-version", type=int, default=newest_suited("cpu", "llm"),
                        help="the llm version measured, the only one loaded (default: the "
                             "run's, the newest that suits this CPU)")
    parser.add_argument("--out", type=Path, default=Path("out/bench"),
                        help="where the profile charts go")
    args = parser.parse_args()
    if args.llm_version not in served_llm_versions():
        parser.error(f"llm v{args.llm_version} is not served (the CPU profile serves "
                     f"{', '.join(map(str, served_llm_versions()))})")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="snapclip-bench-") as tmp:
        folder = Path(tmp)
        repeat = max(1, round(args.minutes * 60 / 128))  # the sample's topics last ~128 s
        print(f"synthesizing a {repeat}x sample talk ...", flush=True)
        video = make_sample_video(folder / "talk.mp4", segments=SAMPLE_SEGMENTS * repeat)
        duration = probe(str(video)).duration_s
        print(f"talk: {duration / 60:.1f} min", flush=True)
        runs = [(args.clips, "llm")]
        if not args.skip_one_clip and args.clips != 1:
            runs.append((1, "llm"))
        if not args.skip_transcript_only:
            runs.append((args.clips, "transcript-only"))
        for clips, path in runs:
            print(f"\nstarting a local Triton for {clips} clip(s), {path} path ...", flush=True)
            log = folder / f"triton-{clips}-{path}.log"
            llm = {"llm": [args.llm_version]} if path == "llm" else {}
            with LocalTriton(models=MODELS, versions=llm, log_path=log) as server:
                assert server.endpoints is not None and server.pid is not None
                url = server.endpoints.grpc
                asyncio.run(warm_up(url, video, llm=path == "llm"))
                print(f"waited {wait_until_idle(server.pid):.0f} s for Triton to settle",
                      flush=True)
                before, before_cpu = asyncio.run(asr_alone(url, video))
                print(f"(a) ASR alone before the run: {before:.1f} s ({before_cpu:.0f} CPU-s)",
                      flush=True)
                wait_until_idle(server.pid)
                profile = asyncio.run(full(url, video, folder / f"out{clips}-{path}", clips,
                                           server.pid,
                                           llm_version=str(args.llm_version) if path == "llm"
                                           else "none"))
                # This machine's speed drifts by a third within minutes (ASR alone 48-71 s in
                # one afternoon): ASR alone is measured again after the run, and the ratio
                # uses the mean of the two.
                wait_until_idle(server.pid)
                after, after_cpu = asyncio.run(asr_alone(url, video))
                print(f"(a) ASR alone after the run: {after:.1f} s ({after_cpu:.0f} CPU-s)",
                      flush=True)
                report(profile, (before + after) / 2, (before_cpu + after_cpu) / 2, clips,
                       duration, args.out, path)
                if path == "llm":
                    print(f"llm prefix cache hit rate (prompt tokens, vLLM's last log line "
                          f"this server): {prefix_hit_rate(log)}")


if __name__ == "__main__":
    main()
