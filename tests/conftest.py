"""Session fixtures: one real local Triton server serves every integration test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.paths import model_repository
from orchestrator.serving.fetch import PROFILES, is_current
from orchestrator.serving.local import LocalTriton

SERVED_MODELS = ["whisper", "clip_image", "clip_image_encoder", "clip_text", "clip_text_encoder",
                 "llm"]


@pytest.fixture(scope="session")
def triton() -> Iterator[LocalTriton]:
    repository = model_repository()
    missing = [f"{item.model} v{item.version}" for item in PROFILES["cpu"]
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
