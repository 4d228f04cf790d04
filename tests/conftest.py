"""Session fixtures: one real local Triton server serves every integration test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from orchestrator.paths import model_repository
from orchestrator.serving.fetch import is_current, suited
from orchestrator.serving.local import LocalTriton

# The suite's runs use SmolLM2 (llm v3, quick): the default, Qwen2.5-Coder-1.5B (v5 or v4, the
# build that suits the CPU), costs seconds per passage on two cores, and only the
# highlight-quality test (test_eval.py) needs it - it runs with this variable removed, so it
# gets the real default.
os.environ.setdefault("SNAPCLIP_LLM_VERSION", "3")

SERVED_MODELS = ["whisper", "clip_image", "clip_image_encoder", "clip_text", "clip_text_encoder",
                 "llm"]


@pytest.fixture(scope="session")
def triton() -> Iterator[LocalTriton]:
    repository = model_repository()
    missing = [f"{item.model} v{item.version}" for item in suited("cpu")
               if not is_current(repository, item, "cpu")]
    if missing:
        pytest.fail(f"CPU weights missing ({', '.join(missing)}); run scripts/setup.sh",
                    pytrace=False)
    server = LocalTriton(repository, models=SERVED_MODELS)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.cleanup_logs()


@pytest.fixture(scope="session")
def grpc_url(triton: LocalTriton) -> str:
    assert triton.endpoints is not None
    return triton.endpoints.grpc
