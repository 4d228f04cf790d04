"""Pinned downloads: the exact Hugging Face revision and the SHA-256 of every file we take.

The GPU profile's weights come from Hugging Face (Whisper large-v3, the CLIP checkpoint, the
AWQ Mistral). A repository can change under the same name, so each one we use is pinned in
``weights.lock.json`` beside this module: the commit (``revision``) and the SHA-256 of each file
at that commit. ``snapclip models fetch`` downloads exactly that revision and refuses a file
whose digest differs; ``snapclip models pin`` (where there is internet) records or moves the
pins, and the change to the lock file is reviewed and committed like code.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import SnapclipError

LOCK = Path(__file__).with_name("weights.lock.json")
_CHUNK = 1 << 20


class PinError(SnapclipError):
    """A download is not pinned, or what came down is not what the pin says."""


@dataclass(frozen=True)
class Pin:
    repo_id: str
    patterns: tuple[str, ...]  # the files of the repository we take
    revision: str | None  # a commit; None until `snapclip models pin` records it
    files: dict[str, str]  # file name -> SHA-256 at that revision

    def require(self) -> Pin:
        if not self.revision or not self.files:
            raise PinError(
                f"{self.repo_id} is not pinned in {LOCK.name}: run `snapclip models pin` where "
                "there is internet and commit the lock file (it records the revision and the "
                "SHA-256 of each file, which every fetch then checks)")
        return self


def load(lock: Path = LOCK) -> dict[str, Pin]:
    data = json.loads(lock.read_text())
    return {repo: Pin(repo, tuple(entry["patterns"]), entry.get("revision"),
                      dict(entry.get("files") or {}))
            for repo, entry in data["repositories"].items()}


def save(pins: dict[str, Pin], lock: Path = LOCK) -> None:
    data = json.loads(lock.read_text())
    data["repositories"] = {
        repo: {"patterns": list(pin.patterns), "revision": pin.revision,
               "files": dict(sorted(pin.files.items()))}
        for repo, pin in sorted(pins.items())}
    lock.write_text(json.dumps(data, indent=2) + "\n")


def get(repo_id: str, lock: Path = LOCK) -> Pin:
    pins = load(lock)
    if repo_id not in pins:
        raise PinError(f"{repo_id} has no entry in {lock.name}")
    return pins[repo_id]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(pin: Pin, folder: Path) -> dict[str, str]:
    """Every pinned file is in ``folder`` with its pinned SHA-256; returns the digests."""
    for name, expected in pin.files.items():
        path = folder / name
        if not path.is_file():
            raise PinError(f"{pin.repo_id}@{pin.revision}: {name} did not arrive")
        if sha256(path) != expected:
            raise PinError(f"{pin.repo_id}@{pin.revision}: {name} does not have the pinned "
                           "SHA-256 (the download is corrupt or the pin is wrong); nothing kept")
    return dict(pin.files)


def download(pin: Pin, local_dir: Path | None = None) -> Path:
    """The pinned files of ``pin.revision`` into ``local_dir`` (or Hugging Face's cache, where
    vLLM looks), checked against their SHA-256; returns the folder that holds them."""
    from huggingface_hub import snapshot_download

    pin.require()
    try:
        folder = snapshot_download(pin.repo_id, revision=pin.revision,
                                   allow_patterns=sorted(pin.files),
                                   local_dir=str(local_dir) if local_dir else None)
    except Exception as exc:  # any hub or network failure means the same thing here
        raise PinError(f"could not download {pin.repo_id}@{pin.revision} from Hugging Face "
                       f"({type(exc).__name__}); the GPU profile needs internet") from exc
    verify(pin, Path(folder))
    return Path(folder)


def record(pin: Pin, api: Any = None) -> Pin:
    """``pin`` moved to the repository's current commit, with the SHA-256 of every file that
    matches its patterns (Hugging Face's LFS digest, or the file hashed after download)."""
    from huggingface_hub import HfApi, hf_hub_download

    api = api or HfApi()
    try:
        info = api.model_info(pin.repo_id, files_metadata=True)
    except Exception as exc:  # any hub or network failure means the same thing here
        raise PinError(f"could not read {pin.repo_id} on Hugging Face ({type(exc).__name__}); "
                       "pinning needs internet") from exc
    files = {}
    for sibling in info.siblings:
        name = sibling.rfilename
        if not any(fnmatch.fnmatch(name, pattern) for pattern in pin.patterns):
            continue
        lfs = getattr(sibling, "lfs", None)
        digest = getattr(lfs, "sha256", None) if lfs else None
        if digest is None:
            digest = sha256(Path(hf_hub_download(pin.repo_id, name, revision=info.sha)))
        files[name] = digest
    if not files:
        raise PinError(f"{pin.repo_id}@{info.sha} has no file matching {list(pin.patterns)}")
    return Pin(pin.repo_id, pin.patterns, info.sha, files)
