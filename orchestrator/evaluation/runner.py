"""Find or make each dataset video's manifest: read ``<manifests>/<key>/manifest.json``, or run
the pipeline for the video into that folder (the local Triton is started once, and only
when some video needs a run). A video that cannot be run is reported and skipped."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import jsonschema

from orchestrator.errors import InputError, ModelServerError, SnapclipError
from orchestrator.evaluation.dataset import Entry
from orchestrator.pipeline.ingest import open_source
from orchestrator.pipeline.manifest import Manifest
from orchestrator.pipeline.run import Reporter, RunOptions, run
from orchestrator.serving.client import TritonModels


def manifest_path(manifests: Path, entry: Entry) -> Path:
    return manifests / entry.key / "manifest.json"


def collect(entries: list[Entry], manifests: Path, options: RunOptions,
            endpoint: Callable[[], str], reporter: Reporter,
            on_video: Callable[[Entry, str], None] | None = None,
            ) -> tuple[list[tuple[Entry, Manifest]], list[str]]:
    """(entry, manifest) for every video that has or gets one; the reasons for the others."""
    found, skipped = [], []
    for entry in entries:
        path = manifest_path(manifests, entry)
        try:
            if not path.is_file():
                if on_video:
                    on_video(entry, "running the pipeline")
                _run_one(entry, replace(options, out=path.parent), endpoint, reporter)
            elif on_video:
                on_video(entry, f"manifest {path}")
            found.append((entry, Manifest.from_dict(json.loads(path.read_text()))))
        except ModelServerError:
            raise  # no model server: every other video would fail the same way
        except (SnapclipError, jsonschema.ValidationError, json.JSONDecodeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            skipped.append(f"line {entry.line} ({entry.key}): {reason}")
    return found, skipped


def _run_one(entry: Entry, options: RunOptions, endpoint: Callable[[], str],
             reporter: Reporter) -> None:
    with open_source(entry.source, min_duration_s=options.min_len_s) as source:
        url = endpoint()

        async def job() -> None:
            async with TritonModels(url) as models:
                await run(options, models, reporter, source)

        asyncio.run(job())
    if not (options.out / "manifest.json").is_file():
        raise InputError(f"the run wrote no manifest into {options.out}")
