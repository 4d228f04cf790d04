"""Triton entry point for `llm` version 3: SmolLM2-135M-Instruct (CPU profile).

Implementation: orchestrator.backends.llm (vLLM CPU). Engine arguments: model.json here; the
weights (folder `hf/`) are written by `snapclip models fetch --profile cpu`.
"""

from orchestrator.backends.llm import TritonPythonModel

__all__ = ["TritonPythonModel"]
