"""Triton entry point for `llm` version 2: a tiny random MistralForCausalLM (CPU profile; exercises the production architecture).

Implementation: orchestrator.backends.llm (vLLM CPU). Engine arguments: model.json here; the
weights (folder `hf/`) are written by `snapclip models fetch --profile cpu`.
"""

from orchestrator.backends.llm import TritonPythonModel

__all__ = ["TritonPythonModel"]
