"""Moments stage: transcript -> candidate moments from the ``llm`` model.

Chunks of the transcript (sized to the model's context, with overlap) go to ``llm`` at once,
each with the moments JSON schema as a structured-outputs constraint; every answer is validated
against its chunk and the answers are merged (see ``moments_prompt``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

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
