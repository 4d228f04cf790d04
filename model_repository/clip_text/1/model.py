"""Triton entry point for `clip_text` version 1 (CPU profile: open_clip ViT-B-32 exported with random weights (offline)).

The implementation is shared by every version: orchestrator.backends.clip. This folder also
holds clip.json and tokenizer.json, written by scripts/export_clip_onnx.py.
"""

from orchestrator.backends.clip import ClipTextModel as TritonPythonModel

__all__ = ["TritonPythonModel"]
