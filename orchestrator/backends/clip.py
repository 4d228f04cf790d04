"""Triton python-backend models ``clip_image`` and ``clip_text``: frames or text -> embeddings.

Each prepares its inputs on the CPU (``clip_inputs``: resize/crop/normalize, BPE tokenization)
and calls its ONNX tower, ``clip_image_encoder`` / ``clip_text_encoder``, through BLS with the
same version number. The encoder runs on Triton's onnxruntime backend (TensorRT, FP16) in the
GPU profile and in a python-backend onnxruntime session in the CPU profile; this code is the same
for both. Why BLS rather than an ensemble: see model_repository/clip_image/README.md.

Every request in one ``execute`` call goes to the encoder together (in slices of at most
``encoder_batch``), so dynamic batching batches the expensive part. A bad request gets its own
error; the rest of the batch is answered.
"""

from __future__ import annotations

import numpy as np

from orchestrator.backends.args import parameters, version_dir
from orchestrator.backends.clip_inputs import TextTokens, preprocess_frame
from orchestrator.contracts.clip import CLIP_METADATA, ClipMetadata
from orchestrator.contracts.models import (
    CLIP_IMAGE,
    CLIP_IMAGE_ENCODER,
    CLIP_TEXT,
    CLIP_TEXT_ENCODER,
    ModelContract,
)


class _ClipFrontEnd:
    contract: ModelContract
    encoder: ModelContract

    def initialize(self, args: dict[str, str]) -> None:
        import triton_python_backend_utils as pb_utils

        self._pb = pb_utils
        params = parameters(args)
        self._version_dir = version_dir(args)
        metadata = self._version_dir / CLIP_METADATA
        if not metadata.is_file():
            raise pb_utils.TritonModelException(
                f"{self.contract.name} version {args['model_version']}: {metadata} is missing; "
                "run `snapclip models fetch` (or scripts/export_clip_onnx.py)")
        self.meta = ClipMetadata.load(metadata)
        self._version = int(args["model_version"])
        self._encoder_batch = int(params.get("encoder_batch", "32"))
        self.setup()
        pb_utils.Logger.log_info(
            f"{self.contract.name} v{self._version}: {self.meta.model}/{self.meta.pretrained} "
            f"(real weights: {self.meta.real_weights}), encoder {self.encoder.name}")

    def setup(self) -> None:
        """Load what the subclass needs besides the metadata."""

    def rows(self, request: object) -> np.ndarray:
        """The encoder input rows for one request; raise ``ValueError`` for bad input."""
        raise NotImplementedError

    def _encode(self, batch: np.ndarray) -> np.ndarray:
        pb = self._pb
        pieces = []
        for start in range(0, len(batch), self._encoder_batch):
            request = pb.InferenceRequest(
                model_name=self.encoder.name, model_version=self._version,
                requested_output_names=[self.encoder.outputs[0].name],
                inputs=[pb.Tensor(self.encoder.inputs[0].name,
                                  batch[start:start + self._encoder_batch])],
                # A KIND_GPU encoder's outputs would otherwise arrive in GPU memory, where
                # as_numpy() fails: "If you do not specify the preferred_memory parameter, the
                # output tensors will be allocated on the same device where the output tensors
                # were received from the model" (python_backend README.md, r25.11, BLS).
                preferred_memory=pb.PreferredMemory(pb.TRITONSERVER_MEMORY_CPU, 0))
            response = request.exec()
            if response.has_error():
                raise RuntimeError(response.error().message())
            pieces.append(pb.get_output_tensor_by_name(
                response, self.encoder.outputs[0].name).as_numpy())
        return np.concatenate(pieces)

    def execute(self, requests: list) -> list:
        pb = self._pb
        responses: list[object | None] = [None] * len(requests)
        accepted: list[tuple[int, np.ndarray]] = []
        for index, request in enumerate(requests):
            try:
                accepted.append((index, self.rows(request)))
            except ValueError as exc:
                responses[index] = pb.InferenceResponse(error=pb.TritonError(
                    f"{self.contract.name}: {exc}", pb.TritonError.INVALID_ARG))
        if accepted:
            try:
                embeddings = self._encode(np.concatenate([rows for _, rows in accepted]))
            except Exception as exc:  # noqa: BLE001 -- answer every request, keep serving
                for index, _ in accepted:
                    responses[index] = pb.InferenceResponse(error=pb.TritonError(
                        f"{self.contract.name}: encoder failed: {exc}"))
            else:
                start = 0
                name = self.contract.outputs[0].name
                for index, rows in accepted:
                    part = embeddings[start:start + len(rows)].astype(np.float32, copy=False)
                    start += len(rows)
                    responses[index] = pb.InferenceResponse(output_tensors=[pb.Tensor(name, part)])
        return responses


class ClipImageModel(_ClipFrontEnd):
    """``clip_image``: ``IMAGE`` uint8 [H, W, 3] per batch entry -> ``EMBEDDING``."""

    contract = CLIP_IMAGE
    encoder = CLIP_IMAGE_ENCODER

    def rows(self, request: object) -> np.ndarray:
        frames = self._pb.get_input_tensor_by_name(request, "IMAGE").as_numpy()
        if frames.ndim != 4 or frames.shape[0] == 0:
            raise ValueError(f"IMAGE must be [batch, height, width, 3], got {list(frames.shape)}")
        return np.stack([preprocess_frame(frame, self.meta) for frame in frames])


class ClipTextModel(_ClipFrontEnd):
    """``clip_text``: ``TEXT`` UTF-8 string per batch entry -> ``EMBEDDING``."""

    contract = CLIP_TEXT
    encoder = CLIP_TEXT_ENCODER

    def setup(self) -> None:
        tokenizer = self._version_dir / "tokenizer.json"
        if not tokenizer.is_file():
            raise self._pb.TritonModelException(f"clip_text: {tokenizer} is missing")
        self._tokens = TextTokens(tokenizer, self.meta)

    def rows(self, request: object) -> np.ndarray:
        values = self._pb.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
        if values.size == 0:
            raise ValueError("TEXT holds no strings")
        texts = []
        for value in values:
            try:
                text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
            except UnicodeDecodeError as exc:
                raise ValueError("TEXT must be UTF-8") from exc
            if not text.strip():
                raise ValueError("TEXT contains an empty string")
            texts.append(text)
        return self._tokens(texts)
