"""What the orchestrator must know about the served ``llm``: its tokenizer and context.

Prompts are rendered with the served model's own chat template, so the tokenizer of the
version that answers is needed: from ``llm/<version>/model.json`` in a local model repository
(its ``model``/``tokenizer`` and ``max_model_len``: the engine arguments the server runs with),
or given explicitly (``--llm-tokenizer``, ``--llm-context``) for a remote server.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.contracts.models import LLM

DEFAULT_CONTEXT_TOKENS = 4096  # when neither the user nor a model.json says


@dataclass(frozen=True)
class LlmSettings:
    tokenizer: str  # a folder or a Hugging Face id
    context_tokens: int


def served_llm_settings(repository: Path | None, version: str, *, tokenizer: str | None = None,
                        context_tokens: int | None = None) -> LlmSettings | None:
    """Settings from the explicit values, else from ``llm/<version>/model.json`` in a local
    model repository; None when neither says."""
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


_TOKENIZER_LOCK = threading.Lock()


@functools.cache
def _load_tokenizer(path: str) -> Any:
    # Only the tokenizer is used; keep transformers' "PyTorch was not found" advice quiet.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def load_tokenizer(path: str) -> Any:
    """One tokenizer per path, loaded once: transformers' lazy imports are not thread-safe
    (two jobs loading at once in the service failed with "cannot import name AutoTokenizer")."""
    with _TOKENIZER_LOCK:
        return _load_tokenizer(path)
