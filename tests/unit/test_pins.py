"""Pinned Hugging Face downloads (orchestrator/serving/pins.py, weights.lock.json): nothing
unpinned is fetched, and bytes that differ from the pinned SHA-256 are refused."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrator.paths import model_repository
from orchestrator.serving import pins
from orchestrator.serving.fetch import PROFILES, ClipExport, HubCache, HubWeights, fetch_version


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A stand-in for the Hugging Face Hub holding one repository's files at one commit."""
    files = {"config.json": b'{"a": 1}', "model.bin": b"weights" * 100}
    calls = []

    def snapshot_download(repo_id, *, revision, allow_patterns, local_dir=None):
        calls.append((repo_id, revision, tuple(allow_patterns)))
        folder = Path(local_dir) if local_dir else tmp_path / "cache" / revision
        folder.mkdir(parents=True, exist_ok=True)
        for name in allow_patterns:
            if name in files:
                (folder / name).write_bytes(files[name])
        return str(folder)

    import huggingface_hub
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return SimpleNamespace(files=files, calls=calls)


def pinned(**files: bytes) -> pins.Pin:
    return pins.Pin("org/repo", ("*",), "abc123", {n: digest(d) for n, d in files.items()})


def test_a_download_is_kept_only_with_every_pinned_digest(hub, tmp_path):
    good = pinned(**{"config.json": hub.files["config.json"], "model.bin": hub.files["model.bin"]})
    folder = pins.download(good, tmp_path / "a")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin"]
    assert hub.calls[-1] == ("org/repo", "abc123", ("config.json", "model.bin"))
    bad = pinned(**{"model.bin": b"other bytes"})
    with pytest.raises(pins.PinError, match="does not have the pinned SHA-256"):
        pins.download(bad, tmp_path / "b")
    gone = pinned(**{"missing.bin": b"x"})
    with pytest.raises(pins.PinError, match="did not arrive"):
        pins.download(gone, tmp_path / "c")


def test_nothing_unpinned_is_fetched(hub, tmp_path):
    repository = tmp_path / "model_repository"
    shutil.copytree(model_repository(), repository,
                    ignore=lambda folder, names: {n for n in names if Path(folder).name.isdigit()
                                                  and n not in {"model.py", "model.json"}})
    for item in PROFILES["gpu"]:
        if isinstance(item.source, HubWeights | HubCache):
            with pytest.raises(pins.PinError, match="is not pinned"):
                fetch_version(repository, item, "gpu")
    assert hub.calls == []  # refused before any download


def test_record_takes_the_lfs_digest_and_hashes_small_files(monkeypatch, tmp_path):
    small = tmp_path / "config.json"
    small.write_bytes(b"{}")
    import huggingface_hub
    monkeypatch.setattr(huggingface_hub, "hf_hub_download",
                        lambda repo, name, revision: str(small))
    api = SimpleNamespace(model_info=lambda repo, files_metadata: SimpleNamespace(
        sha="f00d", siblings=[
            SimpleNamespace(rfilename="model.bin", lfs=SimpleNamespace(sha256="e" * 64)),
            SimpleNamespace(rfilename="config.json", lfs=None),
            SimpleNamespace(rfilename="README.md", lfs=None)]))
    pin = pins.record(pins.Pin("org/repo", ("*.json", "model.bin"), None, {}), api)
    assert pin.revision == "f00d"
    assert pin.files == {"model.bin": "e" * 64, "config.json": digest(b"{}")}


def test_the_lock_covers_every_download_and_the_llm_loads_the_pinned_revision():
    lock = pins.load()
    sources = [item.source for item in PROFILES["gpu"]]
    repos = {s.repo_id for s in sources if isinstance(s, HubWeights | HubCache)}
    repos |= {s.checkpoint_repo for s in sources if isinstance(s, ClipExport) and
              s.checkpoint_repo}
    assert repos == set(lock)
    for item in PROFILES["gpu"]:
        if isinstance(item.source, HubCache):
            engine = json.loads((model_repository() / item.model / str(item.version)
                                 / "model.json").read_text())
            assert engine.get("model") == item.source.repo_id
            assert engine.get("revision") == lock[item.source.repo_id].revision


def test_save_and_load_round_trip(tmp_path):
    lock = tmp_path / "lock.json"
    shutil.copy(pins.LOCK, lock)
    current = pins.load(lock)
    current["org/repo"] = pinned(**{"a.bin": b"a"})
    pins.save(current, lock)
    assert pins.load(lock)["org/repo"] == current["org/repo"]
