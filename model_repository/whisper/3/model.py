"""Triton entry point for `whisper` version 3: large-v3 (GPU profile; weights from Hugging Face Systran/faster-whisper-large-v3).

All versions share one implementation, orchestrator.backends.whisper; this folder holds this file
and the weights that `snapclip models fetch` writes into it.
"""

from orchestrator.backends.whisper import TritonPythonModel

__all__ = ["TritonPythonModel"]
