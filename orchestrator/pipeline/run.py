"""The ``snapclip run`` job: ingest -> audio -> asr -> moments -> vision -> select -> render.

Stages are modules with typed inputs and outputs; this module only composes them. Work
overlaps where it can: the vision stage (frame sampling, visual change, subject tracking and,
with real CLIP weights, frame embeddings) runs while the speech chunks are being transcribed;
transcript chunks go to the ``llm`` as soon as the speech before them is transcribed; the first
clip renders as soon as the llm has written its title, while the reasons are still being
written; and every stage sends its Triton requests concurrently so the server can batch them.

Audio and frames are decoded in two PyAV passes over the file rather than one: ASR can then
start after the audio pass alone (2.7 s for a 10-minute talk here), instead of after decoding
the whole video too (about 25 s); the second pass reads from the page cache. The
output folder is staged beside its final place and renamed into it only when everything is
written, so a failed or interrupted run leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from orchestrator.contracts.limits import (
    LANGUAGE_PATTERN,
    MAX_CLIP_S,
    MAX_CLIPS,
    MAX_PROMPT_CHARS,
    MIN_CLIP_S,
)
from orchestrator.contracts.models import CLIP_IMAGE, CLIP_TEXT, LLM, WHISPER
from orchestrator.contracts.transcript import Transcript
from orchestrator.errors import InputError
from orchestrator.pipeline import asr, vision
from orchestrator.pipeline.audio import AudioTrack, speech_chunks
from orchestrator.pipeline.ingest import Source
from orchestrator.pipeline.manifest import (
    Clip,
    Manifest,
    ModelRef,
    ScoreCurve,
    Selection,
    SourceInfo,
    Weights,
)
from orchestrator.pipeline.output import staged_directory
from orchestrator.pipeline.reframe import parse_aspects
from orchestrator.pipeline.render import Chosen, RenderInput, render_clips, write_extras
from orchestrator.pipeline.render.styles import CaptionStyle, parse_style, style_text
from orchestrator.pipeline.select import (
    Scored,
    SelectInput,
    SelectResult,
    chosen_indices,
    content_similarity,
    fit_candidates,
    select,
    select_asking,
    span_text,
)
from orchestrator.pipeline.text import TextSignal, TextSignalInput, TextSignalStage, sentences
from orchestrator.pipeline.types import DECOYS
from orchestrator.serving.client import TritonModels

T = TypeVar("T")


class Reporter(Protocol):
    def stage(self, name: str, message: str) -> None: ...

    def progress(self, name: str, done: int, total: int) -> None: ...

    def checkpoint(self, stage: str, data: dict[str, Any]) -> None:
        """``stage`` finished; ``data`` (JSON-ready) is what a resumed run needs from it."""

    def clip_ready(self, clip: Clip, folder: Path) -> None:
        """Every file of ``clip`` is written, in ``folder`` - the run's staging folder, renamed
        to ``options.out`` when the run ends: the first clip can be watched before the last
        is rendered."""


@dataclass(frozen=True)
class Resume:
    """What a resumed job already has from the stages it finished before (service restarts).

    With a transcript, ASR is skipped; with the text signal too, the llm is not asked again.
    Ingest, vision, select and render run again: they are cheap or leave nothing to keep.
    """

    transcript: Transcript | None = None
    asr_version: str = ""
    text: TextSignal | None = None

    @property
    def stages(self) -> frozenset[str]:
        """The stages this resume skips."""
        return frozenset(name for name, kept in (("asr", self.transcript), ("moments", self.text))
                         if kept is not None)

    @classmethod
    def from_checkpoints(cls, checkpoints: dict[str, dict[str, Any]]) -> Resume:
        asr_data = checkpoints.get("asr", {})
        moments_data = checkpoints.get("moments", {})
        if "transcript" not in asr_data:
            return cls()
        return cls(transcript=Transcript.from_dict(asr_data["transcript"]),
                   asr_version=str(asr_data.get("version", "")),
                   text=TextSignal.from_dict(moments_data) if "candidates" in moments_data
                   else None)


@dataclass(frozen=True)
class RunOptions:
    out: Path
    clips: int = 5
    min_len_s: float = 15.0
    max_len_s: float = 60.0
    aspect: str = "9:16"
    captions: bool = True
    language: str | None = None
    weights: Weights = field(default_factory=Weights)
    clip_similarity: str = "auto"  # auto: only with real CLIP weights; on; off
    asr_version: str = ""
    llm_version: str = ""
    vision_version: str = ""
    llm_tokenizer: str | None = None
    llm_context_tokens: int | None = None
    model_repository: Path | None = None  # a local repository, read for model metadata
    prompt: str | None = None  # the topic the clips should be about (None or blank: any)
    caption_style: str = "highlight"  # a preset, with options: render/styles.py
    split_screen: bool = True  # stack two people held in the picture (9:16)

    def __post_init__(self) -> None:
        parse_style(self.caption_style)  # an InputError names what is wrong
        if self.prompt is not None:
            prompt = " ".join(self.prompt.split()) or None
            if prompt is not None and len(prompt) > MAX_PROMPT_CHARS:
                raise InputError(f"--prompt is at most {MAX_PROMPT_CHARS} characters")
            object.__setattr__(self, "prompt", prompt)
        if not 1 <= self.clips <= MAX_CLIPS:
            raise InputError(f"--clips must be between 1 and {MAX_CLIPS}")
        if not MIN_CLIP_S <= self.min_len_s <= self.max_len_s <= MAX_CLIP_S:
            raise InputError(f"need {MIN_CLIP_S:g} <= --min-len <= --max-len <= "
                             f"{MAX_CLIP_S:g} seconds")
        if self.language is not None and not re.fullmatch(LANGUAGE_PATTERN, self.language):
            raise InputError(f"--language must be a language code such as 'en', not "
                             f"{self.language[:20]!r}")
        parse_aspects(self.aspect)
        if self.clip_similarity not in {"auto", "on", "off"}:
            raise InputError("--clip-similarity must be auto, on or off")


    @property
    def style(self) -> CaptionStyle:
        return parse_style(self.caption_style)

    @property
    def aspects(self) -> tuple[str, ...]:
        """The aspects every clip is rendered in, the first one the clip's main file."""
        return parse_aspects(self.aspect)


@dataclass(frozen=True)
class RunResult:
    out: Path
    manifest: Manifest
    transcript: Transcript
    # (stage, start, end) in seconds since the run began: when each stage ran (they overlap)
    spans_s: tuple[tuple[str, float, float], ...] = ()


@dataclass
class _Clock:
    timings: dict[str, float] = field(default_factory=dict)
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    _start: float = field(default_factory=time.perf_counter)

    async def timed(self, name: str, work: Awaitable[T]) -> T:
        start = time.perf_counter()
        try:
            return await work
        finally:
            self.mark(name, start)

    def mark(self, name: str, start: float) -> None:
        """``name`` ran from ``start`` (``time.perf_counter``) until now; a stage timed in
        several parts (ingest) adds them up."""
        end = time.perf_counter()
        self.timings[name] = round(self.timings.get(name, 0.0) + end - start, 3)
        self.spans.append((name, round(start - self._start, 3), round(end - self._start, 3)))

    def total(self) -> dict[str, float]:
        return {**self.timings, "total": round(time.perf_counter() - self._start, 3)}


async def run(options: RunOptions, models: TritonModels, reporter: Reporter, source: Source,
              resume: Resume | None = None) -> RunResult:
    """Run the whole job on a probed ``source`` and write ``options.out``.

    ``resume`` carries what an interrupted run of the same job had finished.
    """
    resume = resume or Resume()
    clock = _Clock()
    notes: list[str] = []
    reporter.stage("ingest", f"{source.title} ({source.duration_s:.0f} s)"
                   + ("" if source.has_video else ", audio only: clips get a still background"))

    # The audio is spooled beside the output (the jobs folder in the service), not kept in
    # memory; the spool file is unlinked from the start and closed when the run ends.
    scratch = options.out.resolve().parent
    scratch.mkdir(parents=True, exist_ok=True)
    # The llm's tokenizer loads (about 5 s here) while the audio is decoded and cut.
    starting = None if resume.text is not None else asyncio.create_task(TextSignalStage.start(
        TextSignalInput(clips=options.clips, min_len_s=options.min_len_s,
                        max_len_s=options.max_len_s, llm_version=options.llm_version,
                        llm_tokenizer=options.llm_tokenizer,
                        llm_context_tokens=options.llm_context_tokens,
                        model_repository=options.model_repository, prompt=options.prompt),
        models, on_progress=lambda d, t: reporter.progress("moments", d, t)))
    try:
        audio = await clock.timed("ingest", asyncio.to_thread(AudioTrack.decode, source.path,
                                                              scratch=scratch))
        with audio, contextlib.ExitStack() as on_exit:
            return await _run(options, models, reporter, source, resume, clock, notes, audio,
                              starting, on_exit)
    finally:
        if starting is not None:
            starting.cancel()
            if starting.done() and not starting.cancelled():
                starting.exception()  # a failure the run ended before it awaited


async def _run(options: RunOptions, models: TritonModels, reporter: Reporter, source: Source,
               resume: Resume, clock: _Clock, notes: list[str], audio: AudioTrack,
               starting: asyncio.Task[TextSignalStage] | None,
               on_exit: contextlib.ExitStack) -> RunResult:
    """The job after the audio is decoded; ``on_exit`` cancels the llm work still running
    when the job ends (the descriptions outlive the selection: the render overlaps them)."""
    chunks = tuple(await clock.timed("ingest", asyncio.to_thread(speech_chunks, audio)))
    if not chunks:
        raise InputError(f"{source.uri}: no speech found in the audio")

    if resume.transcript is not None:
        asr_version = resume.asr_version
    else:
        asr_version = await models.resolve_version(WHISPER.name, options.asr_version)
    similarity, vision_version = await _vision_plan(options, models, source, notes, reporter)
    moments = None if starting is None else await starting
    if moments is not None:
        on_exit.callback(moments.cancel)  # the requests still under way when the job ends
    vision_task = asyncio.create_task(clock.timed("vision", vision.analyse_video(
        models, vision.VisionInput(source.path, source.has_video, similarity, vision_version,
                           duration_s=source.duration_s),
        on_progress=lambda d, t: reporter.progress("vision", d, t))))
    try:
        if resume.transcript is not None:
            transcript = resume.transcript
            reporter.stage("asr", f"transcript kept from before the restart "
                                  f"({WHISPER.name} v{asr_version})")
        else:
            transcript = await clock.timed("asr", _transcribe(
                options, models, reporter, source, chunks, asr_version, moments))
            reporter.checkpoint("asr", {"transcript": transcript.to_dict(),
                                        "version": asr_version})
        # Nothing reads the audio after ASR: its spool's disk space goes back before render
        # (a small jobs volume holds one or the other).
        audio.close()
        spoken = sentences(transcript)
        if not spoken:
            raise InputError(f"{source.uri}: no words were recognised in the speech")
        if moments is None:
            assert resume.text is not None
            text = resume.text
            reporter.stage("moments", f"{len(text.candidates)} candidates kept from before "
                                      "the restart")
        else:
            reporter.stage("moments", f"{len(spoken)} sentences transcribed; "
                           + (f"waiting for the {LLM.name}'s last moments" if moments.active
                              else "scoring the transcript"))
            start = time.perf_counter()
            text = await moments.finish(spoken, audio.duration_s)
            clock.mark("moments_after_asr", start)
        signals = await vision_task

        start = time.perf_counter()
        fitted = fit_candidates(text.candidates, spoken, min_len_s=options.min_len_s,
                                max_len_s=options.max_len_s, duration_s=source.duration_s)
        similarities = None
        if similarity and fitted and signals.embeddings is not None:
            if options.prompt:  # the frames are compared with what the creator asked for
                embedded = np.repeat(await vision.embed_texts(models, [options.prompt],
                                                              version=vision_version),
                                     len(fitted), axis=0)
            else:
                texts = [f"{c.title}. {c.hook}" for c in fitted]
                embedded = await vision.embed_texts(models, texts, version=vision_version)
            spans = [(c.start_s, c.end_s) for c in fitted]
            similarities = tuple(vision.span_similarity(signals, embedded, spans))

        request = SelectInput(tuple(fitted), source.duration_s, signals.times_s,
                              signals.change, similarities, options.weights, options.clips,
                              content_similarity([span_text(spoken, c.start_s, c.end_s)
                                                  for c in fitted]))
        if moments is None:
            result = select(request)
            clock.mark("select", start)
            choice: _Choice | Chosen = Chosen(result.chosen)
            _report_choice(reporter, notes, text, result, len(fitted), similarities)
        else:
            # The llm is asked the kind (a sponsor read is never a highlight) only of the
            # passages the selection picks, and describes them meanwhile. The first clip is
            # settled alone and renders as soon as its title is written; the others are
            # chosen once it is out (_Choice).
            choice = _Choice(request, moments, start, clock, reporter, notes,
                             len(fitted), similarities)
            on_exit.callback(choice.cancel)
    finally:
        vision_task.cancel()

    model_refs = {"asr": ModelRef(WHISPER.name, asr_version)}
    if text.model:
        model_refs["llm"] = text.model
    if similarities is not None:
        model_refs["vision"] = ModelRef(CLIP_IMAGE.name, vision_version)
    with staged_directory(options.out) as staging:
        rendering = RenderInput(source=source, transcript=transcript, choice=choice,
                                signals=signals, aspects=options.aspects,
                                captions=options.captions, style=options.style,
                                split_screen=options.split_screen,
                                naming=choice if isinstance(choice, _Choice) else None)
        clips = await clock.timed("render", render_clips(
            rendering, staging, on_clip=lambda line: reporter.stage("render", line),
            on_progress=lambda done, total: reporter.progress("render", done, total),
            on_ready=reporter.clip_ready))
        if isinstance(choice, _Choice):
            result, text = await choice.result, choice.text
            await choice.described  # the stage's checkpoint: written by now, unless it failed
        selection = Selection(text_signal=text.signal,
                              vision_similarity=similarities is not None,
                              weights=options.weights, min_len_s=options.min_len_s,
                              max_len_s=options.max_len_s, aspect=options.aspects[0],
                              aspects=options.aspects, captions_burned=options.captions,
                              notes=tuple(notes), prompt=options.prompt,
                              caption_style=style_text(options.style),
                              split_screen=options.split_screen)
        write_extras(rendering, result, staging, clips)
        _write_json(staging / "transcript.json", transcript.to_dict())
        manifest = Manifest(
            source=SourceInfo(uri=source.uri, title=source.title, duration_s=source.duration_s,
                              has_video=source.has_video, heatmap=source.heatmap),
            models=model_refs, selection=selection, clips=tuple(clips),
            score_curve=ScoreCurve(tuple(round(float(t), 3) for t in result.curve_times_s),
                                   tuple(round(float(v), 4) for v in result.curve)),
            timings_s=clock.total())
        _write_json(staging / "manifest.json", manifest.to_dict())
        # The last word before the rename: a service reporter raises here when the job is
        # no longer this run's (cancelled, or taken over by another replica), so nothing is
        # published over the output of the run that holds it.
        reporter.stage("render", f"publishing {len(clips)} clips")
    return RunResult(out=options.out.resolve(), manifest=manifest, transcript=transcript,
                     spans_s=tuple(clock.spans))


def _report_choice(reporter: Reporter, notes: list[str], text: TextSignal,
                   result: SelectResult, candidates: int,
                   similarities: tuple[float, ...] | None) -> None:
    """The text signal's notes and the choice, to the reporter and the manifest's notes."""
    for note in text.notes:
        reporter.stage("moments", note)
    notes.extend(text.notes)
    decoys = [c.candidate.kind.replace("_", " ") for c in result.chosen
              if c.candidate.kind in DECOYS]
    if decoys:
        notes.append(f"{len(decoys)} of {len(result.chosen)} clips are {', '.join(decoys)}: "
                     "nothing else was left to fill the clips asked for")
    for rank, original in result.repeats.items():
        notes.append(f"clip {rank + 1} says again what clip {original + 1} says: nothing else "
                     "was left to fill the clips asked for")
    reporter.stage("select", f"{len(result.chosen)} clips from {candidates} candidates "
                             f"({text.signal} text signal"
                             f"{', CLIP similarity' if similarities else ''})")


class _Choice:
    """The run's clips as the selection settles them (``render.Choice``), with their titles
    and reasons as the llm writes them (``render.Naming``).

    The first clip is settled alone (only the kinds of the candidates that could be it are
    asked) and renders as soon as its title is written, while nothing else asks the llm; the
    kinds of the other picks are asked, and they are described, once its files are written.
    So the first clip is out before the last is chosen, and its render does not share the
    two cores with the llm's questions about the others. The descriptions outlive the
    choice: the stage's checkpoint is written when the last one arrives (``described``).
    """

    def __init__(self, request: SelectInput, moments: TextSignalStage, start: float,
                 clock: _Clock, reporter: Reporter, notes: list[str], candidates: int,
                 similarities: tuple[float, ...] | None) -> None:
        loop = asyncio.get_running_loop()
        self._request, self._moments, self._clock = request, moments, clock
        self._first: asyncio.Future[tuple[int, Scored] | None] = loop.create_future()
        self._first_out = asyncio.Event()
        self._since: float | None = start  # the selection's part under way began then
        self.text = moments.signal()

        async def choose() -> SelectResult:
            try:
                result = await select_asking(request, self._ask_kinds, on_first=self._settled)
            finally:
                if not self._first.done():  # no clip at all, or the choice failed
                    self._first.set_result(None)
            if self._since is not None:
                clock.mark("select", self._since)
            self.text = moments.signal()
            _report_choice(reporter, notes, self.text, result, candidates, similarities)
            return result

        async def described() -> TextSignal:
            text = await moments.describe(chosen_indices(await self.result))
            clock.timings["moments"] = text.llm_s
            reporter.checkpoint("moments", text.to_dict())
            return text

        self.result = loop.create_task(choose())
        self.described = loop.create_task(clock.timed("moments_chosen", described())
                                          if moments.active else described())

    async def _ask_kinds(self, pending: list[int]) -> dict[int, str]:
        # Described while their kinds are asked: the llm batches the two, and a pick that
        # turns out a decoy (rare) is the only description wasted.
        self._moments.describe(pending)
        self.text = await self._moments.classify(pending)
        return {n: self.text.candidates[n].kind for n in pending}

    async def _settled(self, n: int, item: Scored) -> None:
        """The first clip is final: it renders now; the choice goes on once it is out."""
        self._moments.describe([n])  # a no-op once asked (the kinds' questions describe)
        assert self._since is not None
        self._clock.mark("select", self._since)
        self._since = None
        self._first.set_result((n, item))
        if self._request.clips > 1:  # (with one clip, the choice is made already)
            await self._first_out.wait()
            self._since = time.perf_counter()

    async def _pick(self, k: int) -> tuple[int, Scored] | None:
        """Clip ``k``'s candidate index and entry, once settled; None past the last clip."""
        if k == 0 and (first := await asyncio.shield(self._first)) is not None:
            return first
        result = await asyncio.shield(self.result)
        return (chosen_indices(result)[k], result.chosen[k]) if k < len(result.chosen) else None

    async def _index(self, k: int) -> int:
        picked = await self._pick(k)
        assert picked is not None, "only a clip the render was given is named"
        return picked[0]

    async def clip(self, k: int) -> Scored | None:
        picked = await self._pick(k)
        return None if picked is None else picked[1]

    def count(self) -> int:
        if self.result.done() and not self.result.cancelled() and not self.result.exception():
            return len(self.result.result().chosen)
        return min(self._request.clips, len(self._request.candidates))

    def rendered(self, k: int) -> None:
        if k == 0:
            self._first_out.set()

    async def title(self, k: int) -> str:
        return await self._moments.title(await self._index(k))

    async def reason(self, k: int) -> str:
        return await self._moments.reason(await self._index(k))

    def cancel(self) -> None:
        for task in (self.result, self.described):
            task.cancel()
            if task.done() and not task.cancelled():
                task.exception()  # a failure the job ended on before it awaited this task


async def _transcribe(options: RunOptions, models: TritonModels, reporter: Reporter,
                      source: Source, chunks: tuple, version: str,
                      moments: TextSignalStage | None) -> Transcript:
    """ASR of the speech chunks; finished prefixes go on to the llm while it runs."""
    speech_s = sum(c.duration_s for c in chunks)
    streaming = moments is not None and moments.active
    reporter.stage("asr", f"{len(chunks)} speech chunks ({speech_s:.0f} s) -> "
                          f"{WHISPER.name} v{version}"
                   + (f"; transcript chunks go to {LLM.name} as they are ready"
                      if streaming else ""))
    request = asr.AsrInput(chunks=chunks, duration_s=source.duration_s,
                           language=options.language, model_version=version)
    return await asr.transcribe(
        models, request, on_result=moments.watch(request) if moments is not None else None,
        on_progress=lambda done, total: reporter.progress("asr", done, total))


async def _vision_plan(options: RunOptions, models: TritonModels, source: Source,
                       notes: list[str], reporter: Reporter) -> tuple[bool, str]:
    """Whether to compute CLIP similarity, and with which version."""
    if not source.has_video or options.clip_similarity == "off":
        return False, ""
    if options.clip_similarity == "auto" and not options.vision_version and not (
            await models.is_ready(CLIP_IMAGE.name)):
        # The demo's set-up installs no CLIP (its offline weights are random anyway).
        note = (f"{CLIP_IMAGE.name} is not served (no CLIP weights in the model repository; "
                "`snapclip models fetch --model clip` exports them): CLIP similarity skipped, "
                "visual change still counts")
        notes.append(note)
        reporter.stage("vision", note)
        return False, ""
    version = await models.resolve_version(CLIP_IMAGE.name, options.vision_version)
    await models.require_ready(CLIP_TEXT.name, version)
    if options.clip_similarity == "auto":
        real = vision.clip_weights_are_real(options.model_repository, version)
        if real is False:
            note = (f"{CLIP_IMAGE.name} v{version} has random weights (its clip.json says "
                    "real_weights: false): CLIP similarity skipped, visual change still counts")
            notes.append(note)
            reporter.stage("vision", note)
            return False, ""
    return True, version



def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
