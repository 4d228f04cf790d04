"""Triton entry point for `clip_image` version 2 (GPU profile: open_clip ViT-B-32 laion2b_s34b_b79k).

The implementation is shared by every version: orchestrator.backends.clip. This folder also
holds clip.json, written by scripts/export_clip_onnx.py.
"""

from orchestrator.backends.clip import ClipImageModel as TritonPythonModel

__all__ = ["TritonPythonModel"]
