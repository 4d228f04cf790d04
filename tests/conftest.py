"""Session fixtures: one real local Triton server serves every integration test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.models_fetch import PROFILES, weights_dir
from orchestrator.paths import model_repository
from orchestrator.triton_local import LocalTriton

SERVED_MODELS = ["whisper"]


@pytest.fixture(scope="session")
def triton() -> Iterator[LocalTriton]:
    repository = model_repository()
    missing = [weights_dir(repository, item, "cpu") for item in PROFILES["cpu"]
               if item.model in SERVED_MODELS
               and not (weights_dir(repository, item, "cpu") / "model.bin").is_file()]
    if missing:
        pytest.fail(f"CPU weights missing ({missing[0]}); run scripts/setup.sh", pytrace=False)
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
