"""The face detector's weights: MediaPipe's BlazeFace (short range), taken out of a PyPI wheel.

The reframing follows faces with BlazeFace, the detector MediaPipe ships (Apache-2.0, like the
rest of the ``mediapipe`` wheel; model card: "BlazeFace (Short Range)", Google). The ``mediapipe``
package itself cannot be installed beside snapclip - 0.10.21 pins protobuf<5 and pulls jax and a
second OpenCV - and its newer releases ship no models, so ``fetch`` downloads that one wheel
without its dependencies (``pip download --no-deps``), keeps the 230 KB model file when its
SHA-256 is the published one, and deletes the wheel. OpenCV's DNN module (already a dependency)
runs the TFLite file; nothing else is needed at run time.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import SnapclipError
from orchestrator.paths import state_dir


class FaceModelError(SnapclipError):
    """The face detector's weights are missing or could not be fetched."""


@dataclass(frozen=True)
class WheelMember:
    """One file inside one pinned PyPI wheel."""

    requirement: str
    member: str
    sha256: str
    size: int

    @property
    def name(self) -> str:
        return Path(self.member).name


BLAZEFACE = WheelMember(
    requirement="mediapipe==0.10.21",
    member="mediapipe/modules/face_detection/face_detection_short_range.tflite",
    sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    size=229_714)


def face_model_path() -> Path:
    """Where the model is: ``$SNAPCLIP_FACE_MODEL``, else in this environment's state folder
    (``<venv>/var/snapclip``; the image fetches it there at build time)."""
    override = os.environ.get("SNAPCLIP_FACE_MODEL")
    return Path(override) if override else state_dir() / BLAZEFACE.name


def is_fetched(path: Path | None = None) -> bool:
    target = path or face_model_path()
    return target.is_file() and target.stat().st_size == BLAZEFACE.size


def fetch(on_progress: Callable[[str], None] = lambda line: None) -> Path:
    """The verified model file, downloaded unless it is already there."""
    target = face_model_path()
    if is_fetched(target):
        on_progress(f"face detector: up to date -> {target}")
        return target
    on_progress(f"face detector: downloading {BLAZEFACE.requirement} (no dependencies) for "
                f"its {BLAZEFACE.name}")
    with tempfile.TemporaryDirectory(prefix="snapclip-face-") as folder:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--disable-pip-version-check", "-q", "-d", folder, BLAZEFACE.requirement],
            capture_output=True, text=True, check=False)
        wheels = sorted(Path(folder).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise FaceModelError(f"pip could not download {BLAZEFACE.requirement}: {tail}")
        with zipfile.ZipFile(wheels[0]) as archive:
            try:
                data = archive.read(BLAZEFACE.member)
            except KeyError:
                raise FaceModelError(f"{wheels[0].name} has no {BLAZEFACE.member}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != BLAZEFACE.sha256 or len(data) != BLAZEFACE.size:
        raise FaceModelError(f"{BLAZEFACE.name}: SHA-256 {digest} ({len(data):,} bytes), "
                             f"expected {BLAZEFACE.sha256}; nothing kept")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(data)
    partial.replace(target)
    on_progress(f"face detector: {BLAZEFACE.name} ({len(data) // 1024} KB, SHA-256 verified) "
                f"-> {target}")
    return target
