"""The command-line tools the synthesizers drive: espeak-ng and ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class SynthError(RuntimeError):
    """espeak-ng or ffmpeg is missing or failed."""


def require_tool(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SynthError(f"{tool} is not installed; run scripts/setup.sh (it installs ffmpeg and "
                         "espeak-ng)")
    return path


def run_tool(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SynthError(f"{Path(cmd[0]).name} failed: {' | '.join(tail)}")
