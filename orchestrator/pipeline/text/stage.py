"""The text signal: candidate moments from the ``llm`` (overlapping ASR), or the fallback.

``TextSignalStage.start`` resolves the served ``llm`` version, its tokenizer and context, before
ASR begins. While ASR runs, ``on_asr_result`` receives every chunk's transcript; once a prefix
of the talk is complete, the transcript chunks inside it that can no longer change go to the
``llm`` (``llm.MomentsStream``). ``finish`` sends the rest and adds the transcript-only
windows (``fallback``): as fill-ins after the model's moments, or as the whole signal
when the model proposed nothing usable - which the manifest then records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from orchestrator.contracts.models import LLM
from orchestrator.contracts.transcript import ChunkTranscript
from orchestrator.pipeline import asr
from orchestrator.pipeline.manifest import ModelRef
from orchestrator.pipeline.text.fallback import transcript_candidates
from orchestrator.pipeline.text.llm import (
    MomentsSettings,
    MomentsStream,
    answer_budget,
    served_llm_settings,
)
from orchestrator.pipeline.text.prompt import PromptBuilder
from orchestrator.pipeline.text.sentences import sentences
from orchestrator.pipeline.types import Candidate, Sentence
from orchestrator.serving.client import ModelRequestError, TritonModels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextSignalInput:
    clips: int
    min_len_s: float
    max_len_s: float
    llm_version: str = ""
    llm_tokenizer: str | None = None
    llm_context_tokens: int | None = None
    model_repository: Path | None = None


@dataclass(frozen=True)
class TextSignal:
    candidates: tuple[Candidate, ...]
    signal: str  # "llm" or "transcript"
    notes: tuple[str, ...]
    model: ModelRef | None
    llm_s: float  # wall seconds from the first llm request to the last answer (0: none)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for a job's checkpoint (``from_dict`` reads it back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextSignal:
        model = data.get("model")
        return cls(candidates=tuple(Candidate(**c) for c in data["candidates"]),
                   signal=str(data["signal"]), notes=tuple(data["notes"]),
                   model=ModelRef(**model) if model else None, llm_s=float(data["llm_s"]))


class TextSignalStage:
    def __init__(self, request: TextSignalInput, stream: MomentsStream | None,
                 model: ModelRef | None, notes: list[str]) -> None:
        self._request = request
        self._stream = stream
        self._model = model
        self._notes = notes
        self._prefix: asr.TranscriptPrefix | None = None
        self._started: float | None = None

    @classmethod
    async def start(cls, request: TextSignalInput, models: TritonModels,
                    on_progress: Callable[[int, int], None] | None = None) -> TextSignalStage:
        """Resolve the ``llm`` (an unready model is a ``ModelServerError``) and its tokenizer."""
        version = await models.resolve_version(LLM.name, request.llm_version)
        model = ModelRef(LLM.name, version)
        settings = served_llm_settings(request.model_repository, version,
                                       tokenizer=request.llm_tokenizer,
                                       context_tokens=request.llm_context_tokens)
        if settings is None:
            return cls(request, None, model, [f"no tokenizer known for {LLM.name} v{version} "
                                              "(pass --llm-tokenizer)"])
        try:
            builder = await asyncio.to_thread(
                PromptBuilder.from_pretrained, settings.tokenizer, max_moments=request.clips,
                min_len_s=request.min_len_s, max_len_s=request.max_len_s)
            stream = MomentsStream(models, MomentsSettings(
                context_tokens=settings.context_tokens, max_moments=request.clips,
                max_new_tokens=answer_budget(request.clips), model_version=version),
                builder, on_progress=on_progress)
        except (OSError, ValueError) as exc:
            return cls(request, None, model, [f"cannot use the {LLM.name} tokenizer "
                                              f"{settings.tokenizer} "
                                              f"({str(exc).splitlines()[0]})"])
        return cls(request, stream, model, [])

    @property
    def active(self) -> bool:
        """True when the llm will be asked (False: the transcript fallback will be used)."""
        return self._stream is not None

    def watch(self, asr_request: asr.AsrInput) -> Callable[[int, ChunkTranscript], None]:
        """The ``on_result`` callback for ``asr.transcribe``: feeds finished prefixes."""
        self._prefix = asr.TranscriptPrefix(asr_request)

        def on_result(index: int, result: ChunkTranscript) -> None:
            assert self._prefix is not None
            partial = self._prefix.add(index, result)
            if self._stream is not None and partial is not None:
                self._send(sentences(partial)[:-1])  # the last sentence may go on

        return on_result

    def _send(self, known: Sequence[Sentence], *, final: bool = False) -> None:
        assert self._stream is not None
        if self._started is None and known:
            self._started = time.perf_counter()
        self._stream.update(known, final=final)

    async def finish(self, spoken: Sequence[Sentence], audio: np.ndarray) -> TextSignal:
        """The candidates, once the whole transcript (``spoken``) is known."""
        notes = list(self._notes)
        llm: list[Candidate] = []
        if self._stream is not None:
            self._send(spoken, final=True)
            try:
                found = await self._stream.result()
                llm = [Candidate(m.start_s, m.end_s, m.title, m.hook, m.reason, float(m.score),
                                 "llm") for m in found.moments]
                if not llm:
                    notes.append(f"{LLM.name} v{self._model.version if self._model else ''} "
                                 f"proposed no usable moment in {found.chunks} chunks")
            except ModelRequestError as exc:
                # Never silently: the reason goes to the log and into the manifest's notes
                # (the service also counts it: snapclip_triton_request_errors_total).
                log.warning("%s request failed, using the transcript-only fallback: %s",
                            LLM.name, exc)
                notes.append(f"{LLM.name} failed ({exc})")
        llm_s = round(time.perf_counter() - self._started, 3) if self._started else 0.0
        target = min(self._request.max_len_s, max(self._request.min_len_s, 30.0))
        fallback = transcript_candidates(spoken, audio, target_len_s=target)
        if llm:
            # Transcript windows fill the places the model's moments leave (select ranks the
            # llm's moments first), so a run asked for N clips gets N when the talk has room.
            return TextSignal(tuple(llm + fallback), "llm", tuple(notes), self._model, llm_s)
        notes.append("text signal: transcript-only fallback (speech rate, emphasis, loudness)")
        model = self._model if self._stream is not None else None
        return TextSignal(tuple(fallback), "transcript", tuple(notes), model, llm_s)

    def cancel(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
