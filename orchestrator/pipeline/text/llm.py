"""Candidate moments from the ``llm`` model: transcript chunks in, validated moments out.

Chunks of the transcript (sized to the model's context, with overlap) go to ``llm``, each with
the moments JSON schema as a structured-outputs constraint; every answer is validated against
its chunk and the answers are merged (see ``prompt``). ``MomentsStream`` sends a chunk
as soon as it is final - while the speech after it is still being transcribed - so the llm's
work overlaps the ASR's; ``find_moments`` does the same for a finished transcript.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.contracts.models import LLM
from orchestrator.contracts.sampling import structured_outputs
from orchestrator.contracts.transcript import Transcript
from orchestrator.pipeline.text.prompt import (
    Moment,
    PromptBuilder,
    SentencePacker,
    TranscriptChunk,
    merge_moments,
    moments_schema,
    parse_moments,
)
from orchestrator.pipeline.text.sentences import sentences
from orchestrator.pipeline.types import Sentence
from orchestrator.serving.client import TritonModels

DEFAULT_CONTEXT_TOKENS = 4096  # when neither the user nor a model.json says


@dataclass(frozen=True)
class MomentsSettings:
    context_tokens: int  # the served model's max_model_len
    max_moments: int = 5
    max_new_tokens: int = 768
    model_version: str = ""
    seed: int = 0


@dataclass(frozen=True)
class MomentsResult:
    moments: tuple[Moment, ...]
    chunks: int
    answered: int  # chunks whose answer held at least one valid moment


def sampling_parameters(settings: MomentsSettings) -> dict[str, object]:
    """The ``sampling_parameters`` of every moments request.

    ``structured_outputs`` is a JSON string, as the pinned vLLM backend parses it
    (``contracts.sampling``); no whitespace between tokens keeps small models from looping.
    """
    return {"temperature": 0.0, "seed": settings.seed, "max_tokens": settings.max_new_tokens,
            "structured_outputs": structured_outputs(json=moments_schema(settings.max_moments),
                                                     disable_any_whitespace=True)}


class MomentsStream:
    """Ask the ``llm`` about each transcript chunk as soon as the chunk can no longer change.

    Feed ``update`` the sentences known so far (complete ones only) every time more are known,
    then ``update(..., final=True)`` once the transcript is complete, and await ``result``.
    Chunks are packed greedily from the start (``SentencePacker``), so every chunk but the last
    is final, and sent, while sentences are still arriving.
    """

    def __init__(self, models: TritonModels, settings: MomentsSettings, builder: PromptBuilder,
                 *, concurrency: int = 8,
                 on_progress: Callable[[int, int], None] | None = None) -> None:
        self._models = models
        self._settings = settings
        self._builder = builder
        self._budget = (settings.context_tokens - settings.max_new_tokens
                        - builder.overhead_tokens() - 16)  # slack for tokenization at seams
        if self._budget <= 0:
            raise ValueError("the model's context is too small for the prompt and the answer")
        self._sampling = sampling_parameters(settings)
        self._packer = SentencePacker(builder.count_tokens, self._budget)
        self._packed = 0  # sentences of the transcript handed to the packer so far
        self._limit = asyncio.Semaphore(concurrency)
        self._on_progress = on_progress
        self._tasks: list[asyncio.Task[list[Moment]]] = []
        self._done = 0
        self._final = False

    def update(self, known: Sequence[Sentence], *, final: bool = False) -> None:
        """Send every chunk of ``known`` that is final and not sent yet.

        ``known`` only grows between calls: the sentences already packed are skipped, so each
        sentence is tokenized into its chunk once, however often the transcript grows.
        """
        if self._final:
            raise RuntimeError("the transcript was already final")
        ready = [chunk for sentence in known[self._packed:]
                 for chunk in self._packer.add(sentence)]
        self._packed = max(self._packed, len(known))
        if final:
            ready += self._packer.flush()
            self._final = True
        for chunk in ready:
            self._tasks.append(asyncio.create_task(self._ask(chunk)))

    @property
    def sent(self) -> int:
        """How many chunks have gone to the model so far."""
        return len(self._tasks)

    async def _ask(self, chunk: TranscriptChunk) -> list[Moment]:
        async with self._limit:
            text = "".join([piece async for piece in self._models.generate(
                self._builder.build(chunk), self._sampling,
                version=self._settings.model_version)])
        self._done += 1
        if self._on_progress:
            self._on_progress(self._done, len(self._tasks))
        return parse_moments(text, chunk)

    async def result(self) -> MomentsResult:
        if not self._final:
            raise RuntimeError("update(..., final=True) first")
        try:
            answers = await asyncio.gather(*self._tasks)
        finally:
            self.cancel()
        merged = merge_moments([m for answer in answers for m in answer])
        return MomentsResult(moments=tuple(merged), chunks=len(self._tasks),
                             answered=sum(1 for a in answers if a))

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()


async def find_moments(models: TritonModels, transcript: Transcript, settings: MomentsSettings,
                       builder: PromptBuilder, *, concurrency: int = 8,
                       on_progress: Callable[[int, int], None] | None = None) -> MomentsResult:
    """Moments of a finished transcript (all chunks sent at once)."""
    stream = MomentsStream(models, settings, builder, concurrency=concurrency,
                           on_progress=on_progress)
    stream.update(sentences(transcript), final=True)
    return await stream.result()


@dataclass(frozen=True)
class LlmSettings:
    """What the orchestrator must know about the served ``llm``: its tokenizer and context."""

    tokenizer: str  # a folder or a Hugging Face id
    context_tokens: int


def served_llm_settings(repository: Path | None, version: str, *, tokenizer: str | None = None,
                        context_tokens: int | None = None) -> LlmSettings | None:
    """Settings from the explicit values, else from ``llm/<version>/model.json`` in a local
    model repository (its ``model`` and ``max_model_len`` keys: the same engine arguments the
    server runs with); None when neither says.
    """
    folder = repository / LLM.name / version if repository else None
    engine: dict = {}
    if folder and (folder / "model.json").is_file():
        engine = json.loads((folder / "model.json").read_text())
    model = tokenizer or engine.get("tokenizer") or engine.get("model")
    if not model:
        return None
    if folder and not tokenizer and (folder / model).is_dir():
        model = str(folder / model)
    context = context_tokens or engine.get("max_model_len") or DEFAULT_CONTEXT_TOKENS
    return LlmSettings(tokenizer=str(model), context_tokens=int(context))


def answer_budget(max_moments: int) -> int:
    """Tokens to let the model write: about 110 per moment (title, hook, reason) and slack."""
    return 110 * max_moments + 60
