"""The ``snapclip run`` job, stage by stage: ingest -> audio -> asr -> output folder.

Stages talk to Triton only through ``TritonModels`` and the model contracts. This is the
transcription part of the highlight pipeline; the moments, vision, select and render stages
join it as they land, each as its own module.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from orchestrator import asr, ingest
from orchestrator.audio import decode_audio, speech_chunks
from orchestrator.contracts import WHISPER
from orchestrator.errors import InputError
from orchestrator.manifest import Manifest, ModelRef, SourceInfo
from orchestrator.output import staged_directory
from orchestrator.transcript import Transcript
from orchestrator.triton_client import TritonModels


class Reporter(Protocol):
    def stage(self, name: str, message: str) -> None: ...

    def progress(self, name: str, done: int, total: int) -> None: ...


@dataclass(frozen=True)
class RunOptions:
    source: str
    out: Path
    language: str | None = None
    min_len_s: float = 15.0
    asr_version: str = ""


@dataclass(frozen=True)
class RunResult:
    out: Path
    manifest: Manifest
    transcript: Transcript


@dataclass
class _Clock:
    timings: dict[str, float] = field(default_factory=dict)
    _start: float = field(default_factory=time.perf_counter)

    def lap(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = round(now - since, 3)
        return now

    def total(self) -> dict[str, float]:
        return {**self.timings, "total": round(time.perf_counter() - self._start, 3)}


def prepare(options: RunOptions) -> ingest.Source:
    """Probe the source; raises ``InputError`` for input that cannot work (cheap, no models)."""
    return ingest.probe(options.source, min_duration_s=options.min_len_s)


async def run(options: RunOptions, models: TritonModels, reporter: Reporter, *,
              source: ingest.Source | None = None) -> RunResult:
    """Run the job; ``source`` is ``prepare(options)``'s result when the caller already has it."""
    clock = _Clock()
    t = time.perf_counter()
    reporter.stage("ingest", f"reading {options.source}")
    source = source or prepare(options)
    audio = await asyncio.to_thread(decode_audio, source.path)
    chunks = tuple(await asyncio.to_thread(speech_chunks, audio))
    if not chunks:
        raise InputError(f"{options.source}: no speech found in the audio")
    t = clock.lap("ingest", t)

    version = await models.resolve_version(WHISPER.name, options.asr_version)
    speech_s = sum(c.duration_s for c in chunks)
    reporter.stage("asr", f"{len(chunks)} speech chunks ({speech_s:.0f} s) -> "
                          f"{WHISPER.name} v{version}")
    transcript = await asr.transcribe(
        models, asr.AsrInput(chunks=chunks, duration_s=source.duration_s,
                             language=options.language, model_version=version),
        on_progress=lambda done, total: reporter.progress("asr", done, total))
    clock.lap("asr", t)

    manifest = Manifest(
        source=SourceInfo(uri=source.uri, title=source.title, duration_s=source.duration_s),
        models={"asr": ModelRef(WHISPER.name, version)},
        timings_s=clock.total(),
    )
    with staged_directory(options.out) as staging:
        _write_json(staging / manifest.transcript, transcript.to_dict())
        _write_json(staging / "manifest.json", manifest.to_dict())
    return RunResult(out=options.out.resolve(), manifest=manifest, transcript=transcript)


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
