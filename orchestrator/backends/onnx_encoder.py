"""CPU profile of ``clip_image_encoder`` / ``clip_text_encoder``: the exported ONNX graph in an
onnxruntime session inside the python backend (Triton's onnxruntime backend exists only in
NVIDIA's containers; the GPU profile uses it).

The model name picks the contract; all requests of one ``execute`` call run as one batch.
Config parameters: ``precision`` (``int8`` loads ``model.int8.onnx`` when the export made one,
else ``model.onnx``) and ``cpu_threads`` (0 = all cores).
"""

from __future__ import annotations

import os

import numpy as np

from orchestrator.backends.args import parameters, version_dir
from orchestrator.contracts.models import CONTRACTS


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        import onnxruntime as ort
        import triton_python_backend_utils as pb_utils

        self._pb = pb_utils
        params = parameters(args)
        self.contract = CONTRACTS[args["model_name"]]
        folder = version_dir(args)
        candidates = (["model.int8.onnx"] if params.get("precision") == "int8" else [])
        path = next((folder / n for n in [*candidates, "model.onnx"]
                     if (folder / n).is_file()), None)
        if path is None:
            raise pb_utils.TritonModelException(
                f"{self.contract.name} version {args['model_version']}: no model.onnx in "
                f"{folder}; run `snapclip models fetch`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(params.get("cpu_threads", "0") or 0) or (
            os.cpu_count() or 1)
        self._session = ort.InferenceSession(str(path), options,
                                             providers=["CPUExecutionProvider"])
        self._input = self.contract.inputs[0]
        self._output = self.contract.outputs[0].name
        self._dtype = np.int64 if self._input.datatype == "INT64" else np.float32
        pb_utils.Logger.log_info(f"{self.contract.name} v{args['model_version']}: {path.name}")

    def execute(self, requests: list) -> list:
        pb = self._pb
        arrays = [pb.get_input_tensor_by_name(r, self._input.name).as_numpy() for r in requests]
        shapes = {a.shape[1:] for a in arrays}
        if len(shapes) > 1:  # the front-end never sends this; a direct caller might
            return [pb.InferenceResponse(error=pb.TritonError(
                f"{self.contract.name}: requests in one batch have different shapes {shapes}"))
                for _ in requests]
        try:
            batch = np.concatenate(arrays).astype(self._dtype, copy=False)
            (embeddings,) = self._session.run([self._output], {self._input.name: batch})
        except Exception as exc:  # noqa: BLE001 -- answer every request, keep serving
            return [pb.InferenceResponse(error=pb.TritonError(
                f"{self.contract.name}: {exc}")) for _ in requests]
        responses, start = [], 0
        for array in arrays:
            part = embeddings[start:start + len(array)]
            start += len(array)
            responses.append(pb.InferenceResponse(
                output_tensors=[pb.Tensor(self._output, part.astype(np.float32))]))
        return responses
