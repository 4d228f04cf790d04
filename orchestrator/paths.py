"""Where the project's files are: the model repository and per-environment state."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from orchestrator.errors import SnapclipError

REPO_ROOT = Path(__file__).resolve().parent.parent


def model_repository(override: Path | str | None = None) -> Path:
    """The Triton model repository: ``override``, ``$SNAPCLIP_MODEL_REPOSITORY``, or the repo's."""
    chosen = (override or os.environ.get("SNAPCLIP_MODEL_REPOSITORY")
              or REPO_ROOT / "model_repository")
    path = Path(chosen).resolve()
    if not path.is_dir():
        raise SnapclipError(f"model repository {path} does not exist (set "
                            "SNAPCLIP_MODEL_REPOSITORY or pass --model-repository)")
    return path


def state_dir() -> Path:
    """A folder for files derived from the installed environment (kept inside the venv)."""
    path = Path(sys.prefix) / "var" / "snapclip"
    path.mkdir(parents=True, exist_ok=True)
    return path
