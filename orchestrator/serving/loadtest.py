"""Load-test the served models with perf_analyzer: sweeps, raw CSVs, a report and plots.

perf_analyzer, not a Python client, because it is Triton's own load generator: it keeps a
fixed number of requests in flight, measures latency percentiles from the client and reads the
server's own split of each request into queue and compute time. Every model gets real
payloads: synthesized speech for ``whisper``, frames decoded from a synthesized video for
``clip_image``, captions for ``clip_text``, and a transcript prompt for ``llm`` (decoupled, so
it is swept with ``--streaming``; its time to first token comes from perf_analyzer's
per-request export). Works against the local Triton (started here when no ``--url`` is given)
and against a cluster by URL:

    scripts/loadtest [--url HOST:8001] [--concurrency 1,2,4,8] [--requests 50] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from orchestrator.errors import InputError, ModelServerError, SnapclipError
from orchestrator.serving import perf

MODELS = ("whisper", "clip_image", "clip_text", "llm")
# What a local server must load for each swept model (clip_* call their encoders by BLS).
NEEDS = {"whisper": ["whisper"], "clip_image": ["clip_image", "clip_image_encoder"],
         "clip_text": ["clip_text", "clip_text_encoder"], "llm": ["llm"]}
CAPTIONS = ("a speaker laughing on stage", "a crowd cheering", "a close-up of a face",
            "a slide with a chart", "two people talking at a table")


@dataclass(frozen=True)
class Settings:
    url: str | None  # Triton gRPC host:port; None = start the local CPU server
    out: Path
    models: tuple[str, ...] = MODELS
    concurrency: tuple[int, ...] = (1, 2, 4, 8)
    llm_concurrency: tuple[int, ...] = (1, 2, 4)
    requests: int = 50  # requests per measurement window
    stability: int = 10  # perf_analyzer --stability-percentage
    max_trials: int = 10
    llm_max_tokens: int = 128
    versions: dict[str, str] = field(default_factory=dict)
    window_ms: int | None = None  # time windows of this length instead of request counts


@dataclass(frozen=True)
class Sweep:
    model: str
    version: str
    payload: str
    rows: list[perf.PerfRow]
    ttft_ms: dict[int, tuple[float, float]] = field(default_factory=dict)  # level: p50, p95
    unstable: tuple[int, ...] = ()  # levels that never met the stability criterion


def run(settings: Settings) -> Path:
    """Sweep every model in ``settings``; write CSVs, report.md and plots; return report.md."""
    settings.out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        url = settings.url or stack.enter_context(_local_triton(settings.models))
        server, sweeps = sweep_all(url, settings)
    _plot(settings.out / "loadtest.png", sweeps)
    report = settings.out / "report.md"
    report.write_text(_report(settings, url if settings.url else "local Triton (CPU profile)",
                              server, sweeps), encoding="utf-8")
    return report


def sweep_all(url: str, settings: Settings) -> tuple[dict, list[Sweep]]:
    """Sweep every model in ``settings`` against the Triton at ``url`` (CSVs into ``out``)."""
    settings.out.mkdir(parents=True, exist_ok=True)
    server = _server_info(url, settings.models, settings.versions)
    with tempfile.TemporaryDirectory(prefix="loadtest-") as tmp:
        sweeps = [_sweep(model, url, server["versions"][model], Path(tmp), settings)
                  for model in settings.models]
    return server, sweeps


@contextmanager
def _local_triton(models: Sequence[str]) -> Iterator[str]:
    from orchestrator.serving.local import LocalTriton

    needed = sorted({m for model in models for m in NEEDS[model]})
    print(f"loadtest: starting the local Triton with {', '.join(needed)}", file=sys.stderr)
    with LocalTriton(models=needed) as server:
        assert server.endpoints is not None
        yield server.endpoints.grpc


def _server_info(url: str, models: Sequence[str], pinned: dict[str, str]) -> dict:
    """Triton's version and the model version each sweep will hit (pinned or newest ready)."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    try:
        client = grpcclient.InferenceServerClient(url)
        metadata = client.get_server_metadata()
        versions = {}
        for model in models:
            if model in pinned:
                version = pinned[model]
            else:
                listed = client.get_model_metadata(model).versions
                version = str(max(int(v) for v in listed))
            if not client.is_model_ready(model, version):
                raise ModelServerError(f"{model} version {version} is not ready at {url}")
            versions[model] = version
    except InferenceServerException as exc:
        raise ModelServerError(f"Triton at {url}: {exc.message()}") from exc
    return {"triton": metadata.version, "versions": versions}


def _sweep(model: str, url: str, version: str, folder: Path, settings: Settings) -> Sweep:
    data, payload = _payload(model, folder, settings)
    streaming = model == "llm"
    levels = settings.llm_concurrency if streaming else settings.concurrency
    print(f"loadtest: {model} v{version}, concurrency {', '.join(map(str, levels))} "
          f"({payload})", file=sys.stderr)
    extra = ["-x", version, "--stability-percentage", str(settings.stability),
             "--max-trials", str(settings.max_trials)]
    rows, ttft, unstable = [], {}, []
    for level in levels:
        export = settings.out / f"{model}.c{level}.requests.json"
        more = ["--streaming", "--profile-export-file", str(export)] if streaming else []

        def measure(options: list[str], level: int = level, more: list[str] = more,
                    export: Path = export) -> list[perf.PerfRow]:
            # perf_analyzer refuses an export path that exists ("Path must not already
            # exist"): a measurement taken again starts from no file.
            export.unlink(missing_ok=True)
            return perf.run(model, url, input_data=data, concurrency=[level],
                            csv_path=folder / f"{model}.c{level}.csv",
                            request_count=settings.requests, window_ms=settings.window_ms,
                            timeout_s=1800, extra=[*options, *more])

        try:
            rows += measure(extra)
        except perf.PerfError as exc:
            if "stable measurement" not in str(exc):
                raise
            # A busy machine never settles: keep the level, measured without the stability
            # criterion, and say so in the report rather than losing the whole sweep.
            print(f"loadtest: {model} at concurrency {level} did not settle within "
                  f"{settings.stability} %; measuring it once more without that criterion",
                  file=sys.stderr)
            rows += measure(["-x", version, "--stability-percentage", "999",
                             "--max-trials", "3"])
            unstable.append(level)
        if streaming:
            try:
                ttft[level] = _ttft_ms(export)
            except ValueError:
                # Seen once in CI on a loaded 2-core machine: perf_analyzer exited 0 but left
                # the per-request export empty. Measure the level once more for its TTFT.
                print(f"loadtest: {model} at concurrency {level}: perf_analyzer wrote no "
                      "per-request export; measuring the level once more", file=sys.stderr)
                rows = [r for r in rows if r.concurrency != level]
                rows += measure(extra)
                ttft[level] = _ttft_ms(export)
    _write_csv(settings.out / f"{model}.csv", rows, ttft)
    return Sweep(model, version, payload, rows, ttft, tuple(unstable))


def _payload(model: str, folder: Path, settings: Settings) -> tuple[Path, str]:
    """perf_analyzer input data for ``model`` and a one-line description of it."""
    from orchestrator.synth.speech import read_speech, speak
    from orchestrator.synth.video import make_video

    path = folder / f"{model}.json"
    if model == "whisper":
        text = ("The quick brown fox jumps over the lazy dog near the river bank. Please "
                "remember to water the garden every morning before work.")
        audio = read_speech(speak(text, folder / "speech.wav"))
        chunk = audio[: 16_000 * 8].astype(np.float32)
        perf.write_steps(path, [{"AUDIO": chunk}])
        return path, f"{len(chunk) / 16_000:.1f} s of synthesized speech (16 kHz float32)"
    if model == "clip_image":
        import av

        video = make_video(speak("Frames for the load test.", folder / "frames.wav"),
                           folder / "frames.mp4", size="1280x720", fps=5)
        with av.open(str(video)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)][:8]
        perf.write_steps(path, [{"IMAGE": f} for f in frames])
        return path, f"{len(frames)} video frames 1280x720 RGB uint8"
    if model == "clip_text":
        perf.write_steps(path, [{"TEXT": np.array([c.encode()], dtype=np.object_)}
                                for c in CAPTIONS])
        return path, f"{len(CAPTIONS)} captions"
    if model == "llm":
        prompt = ("Transcript: [12.0-19.5] Good microphones matter less than speaking close "
                  "to them. [19.5-26.0] This changed everything for my channel. Which "
                  "moment would make the best short clip, and why? Answer in two sentences.")
        sampling = json.dumps({"max_tokens": settings.llm_max_tokens, "temperature": 0.0,
                               "seed": 0})
        perf.write_steps(path, [{
            "text_input": np.array([prompt.encode()], dtype=np.object_),
            "stream": np.array([True]),
            "sampling_parameters": np.array([sampling.encode()], dtype=np.object_),
            "exclude_input_in_output": np.array([True]),
        }])
        return path, f"a transcript prompt, streamed, max_tokens {settings.llm_max_tokens}"
    raise InputError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")


def _ttft_ms(export: Path) -> tuple[float, float]:
    """p50 and p95 time to first token (ms) from perf_analyzer's per-request export.

    Raises ``ValueError`` when the export is missing, empty or not JSON.
    """
    try:
        data = json.loads(export.read_text())
    except OSError as exc:
        raise ValueError(f"no export at {export}: {exc}") from exc
    first = [(r["response_timestamps"][0] - r["timestamp"]) / 1e6
             for e in data["experiments"] for r in e["requests"] if r["response_timestamps"]]
    if not first:
        return float("nan"), float("nan")
    return float(np.percentile(first, 50)), float(np.percentile(first, 95))


def _write_csv(path: Path, rows: list[perf.PerfRow], ttft: dict[int, tuple[float, float]]
               ) -> None:
    header = ["concurrency", "throughput_per_s", "p50_us", "p95_us", "p99_us", "queue_us",
              "compute_us", "ttft_p50_ms", "ttft_p95_ms"]
    lines = [",".join(header)]
    for r in rows:
        p50, p95 = ttft.get(r.concurrency, (float("nan"), float("nan")))
        lines.append(",".join(str(v) for v in (*asdict(r).values(), p50, p95)))
    path.write_text("\n".join(lines) + "\n")


def _plot(path: Path, sweeps: list[Sweep]) -> None:
    """``<model>.png`` per sweep and all of them side by side in ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.2 * len(sweeps), 3.6), squeeze=False)
    for ax, sweep in zip(axes[0], sweeps, strict=True):
        _draw(ax, sweep, f"{sweep.model} v{sweep.version}")
        single, alone = plt.subplots(figsize=(5, 3.6))
        _draw(alone, sweep, f"{sweep.model} v{sweep.version}: throughput vs p95")
        single.tight_layout()
        single.savefig(path.with_name(f"{sweep.model}.png"), dpi=110)
        plt.close(single)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _draw(ax: Any, sweep: Sweep, title: str) -> None:
    """Throughput against p95 latency, each point labelled with its concurrency."""
    x = [r.throughput for r in sweep.rows]
    y = [r.p95_us / 1000 for r in sweep.rows]
    ax.plot(x, y, marker="o")
    for r, xi, yi in zip(sweep.rows, x, y, strict=True):
        ax.annotate(f"c{r.concurrency}", (xi, yi), textcoords="offset points", xytext=(4, 4),
                    fontsize=8)
    ax.set_title(title)
    ax.set_xlabel("throughput (inferences/s)")
    ax.set_ylabel("p95 latency (ms)")
    ax.grid(alpha=0.3)


def hardware() -> dict[str, str]:
    """CPU model and count, memory, and GPUs (nvidia-smi) of this machine."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        kb = int(meminfo.read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    gpus = "none"
    if shutil.which("nvidia-smi"):
        listed = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total",
                                 "--format=csv,noheader"], capture_output=True, text=True,
                                check=False).stdout.strip()
        gpus = "; ".join(listed.splitlines()) or "none"
    return {"cpu": f"{cpu} x {os.cpu_count()}", "memory": memory, "gpus": gpus,
            "os": platform.platform()}


def _report(settings: Settings, target: str, server: dict, sweeps: list[Sweep]) -> str:
    hw = hardware()
    lines = [
        "# Triton load test", "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, perf_analyzer over gRPC against {target} "
        f"(Triton {server['triton']}).", "",
        "| machine | |", "|---|---|",
        f"| CPU | {hw['cpu']} |", f"| memory | {hw['memory']} |", f"| GPUs | {hw['gpus']} |",
        f"| OS | {hw['os']} |", "",
        f"Each level is measured over windows of {settings.requests} requests until "
        f"{settings.stability} % stable (at most {settings.max_trials} trials). Latencies are "
        "the client's; queue and compute are the server's averages per request (compute = "
        "input + infer + output). Raw data: `<model>.csv`; plots: `<model>.png`, "
        "`loadtest.png` (throughput against p95).", "",
    ]
    for sweep in sweeps:
        lines += [f"## {sweep.model} v{sweep.version}", "", f"Payload: {sweep.payload}.", ""]
        if sweep.unstable:
            lines += [f"Concurrency {', '.join(map(str, sweep.unstable))} never settled within "
                      f"{settings.stability} % (a busy machine); those rows are one unchecked "
                      "measurement.", ""]
        ttft = bool(sweep.ttft_ms)
        head = ("| concurrency | throughput /s | p50 ms | p95 ms | p99 ms | queue ms | compute ms "
                "| queue share |" + (" TTFT p50 ms | TTFT p95 ms |" if ttft else ""))
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for r in sweep.rows:
            total = r.queue_us + r.compute_us
            share = f"{r.queue_us / total:.0%}" if total else "-"
            row = (f"| {r.concurrency} | {r.throughput:.2f} | {r.p50_us / 1000:.1f} | "
                   f"{r.p95_us / 1000:.1f} | {r.p99_us / 1000:.1f} | {r.queue_us / 1000:.1f} | "
                   f"{r.compute_us / 1000:.1f} | {share} |")
            if ttft:
                p50, p95 = sweep.ttft_ms.get(r.concurrency, (float("nan"),) * 2)
                row += f" {p50:.0f} | {p95:.0f} |"
            lines.append(row)
        if sweep.model == "llm":
            lines += ["", "The llm is decoupled: Triton's compute time covers only handing the "
                      "request to the vLLM engine, so its latency is the stream's (first to "
                      "last token) and the time to first token comes from the per-request "
                      "export (`llm.c<N>.requests.json`)."]
        lines.append("")
    return "\n".join(lines)


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        levels = ()
    if not levels or min(levels) < 1:
        raise InputError(f"bad concurrency list {text!r}; use e.g. 1,2,4")
    return levels


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/loadtest",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="Triton gRPC HOST:PORT (default: start the local "
                                      "CPU-profile server)")
    parser.add_argument("--out", type=Path, help="output folder (default: out/loadtest-<time>)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--concurrency", default="1,2,4,8")
    parser.add_argument("--llm-concurrency", default="1,2,4")
    parser.add_argument("--requests", type=int, default=50,
                        help="requests per measurement window")
    parser.add_argument("--stability", type=int, default=10,
                        help="perf_analyzer --stability-percentage")
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--llm-max-tokens", type=int, default=128)
    parser.add_argument("--version", action="append", default=[], metavar="MODEL=V",
                        help="pin a model version (repeatable); default: the newest ready")
    args = parser.parse_args(argv)
    try:
        models = tuple(m.strip() for m in args.models.split(",") if m.strip())
        unknown = sorted(set(models) - set(MODELS))
        if unknown or not models:
            raise InputError(f"--models: unknown {', '.join(unknown) or '(none)'}; choose from "
                             f"{', '.join(MODELS)}")
        versions = dict(v.split("=", 1) for v in args.version if "=" in v)
        out = args.out or Path("out") / f"loadtest-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        report = run(Settings(
            url=args.url, out=out, models=models, concurrency=_levels(args.concurrency),
            llm_concurrency=_levels(args.llm_concurrency), requests=args.requests,
            stability=args.stability, max_trials=args.max_trials,
            llm_max_tokens=args.llm_max_tokens, versions=versions))
    except SnapclipError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"loadtest: error: {message}", file=sys.stderr)
        return exc.exit_code
    print(f"loadtest: report {report}", file=sys.stderr)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
