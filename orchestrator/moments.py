"""Moments stage: transcript -> candidate moments from the ``llm`` model.

Chunks of the transcript (sized to the model's context, with overlap) go to ``llm`` at once,
each with the moments JSON schema as a structured-outputs constraint; every answer is validated
against its chunk and the answers are merged (see ``moments_prompt``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.contracts import LLM
from orchestrator.moments_prompt import (
    Moment,
    PromptBuilder,
    TranscriptChunk,
    chunk_sentences,
    merge_moments,
    moments_schema,
    parse_moments,
    sentences,
)
from orchestrator.transcript import Transcript
from orchestrator.triton_client import TritonModels

DEFAULT_CONTEXT_TOKENS = 4096  # when neither the user nor a model.json says


@dataclass(frozen=True)
class MomentsInput:
    transcript: Transcript
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


async def find_moments(models: TritonModels, request: MomentsInput, builder: PromptBuilder, *,
                       concurrency: int = 8,
                       on_progress: Callable[[int, int], None] | None = None) -> MomentsResult:
    budget = (request.context_tokens - request.max_new_tokens - builder.overhead_tokens()
              - 16)  # a little slack for tokenization at the seams
    if budget <= 0:
        raise ValueError("the model's context is too small for the prompt and the answer")
    chunks = chunk_sentences(sentences(request.transcript), builder.count_tokens, budget)
    sampling = {"temperature": 0.0, "seed": request.seed,
                "max_tokens": request.max_new_tokens,
                "structured_outputs": {"json": moments_schema(request.max_moments)}}
    limit = asyncio.Semaphore(concurrency)
    done = 0

    async def one(chunk: TranscriptChunk) -> list[Moment]:
        nonlocal done
        async with limit:
            text = "".join([piece async for piece in models.generate(
                builder.build(chunk), sampling, version=request.model_version)])
        done += 1
        if on_progress:
            on_progress(done, len(chunks))
        return parse_moments(text, chunk)

    answers = await asyncio.gather(*(one(c) for c in chunks))
    merged = merge_moments([m for answer in answers for m in answer])
    return MomentsResult(moments=tuple(merged), chunks=len(chunks),
                         answered=sum(1 for a in answers if a))


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
