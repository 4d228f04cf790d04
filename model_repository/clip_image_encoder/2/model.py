"""CPU-profile entry point for `clip_image_encoder` version 2: model.onnx in an onnxruntime session.

The GPU profile serves model.onnx from this folder on Triton's onnxruntime backend and ignores
this file. Implementation: orchestrator.backends.onnx_encoder.
"""

from orchestrator.backends.onnx_encoder import TritonPythonModel

__all__ = ["TritonPythonModel"]
