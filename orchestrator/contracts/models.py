"""The Triton model contracts: model names and tensor names, types and shapes.

This module is the one source of truth for them. The orchestrator and the python-backend
models import these constants; every ``config.pbtxt`` under ``model_repository/`` must declare
exactly these tensors, which ``tests/unit/test_model_configs.py`` checks for each profile.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TensorSpec:
    """One input or output tensor, as Triton's model configuration spells it.

    ``datatype`` is the wire name (``FP32``, ``BYTES``); ``dims`` excludes the batch dimension.
    """

    name: str
    datatype: str
    dims: tuple[int, ...]
    optional: bool = False

    @property
    def config_type(self) -> str:
        """The ``data_type`` enum name used in ``config.pbtxt`` (BYTES is TYPE_STRING there)."""
        return "TYPE_STRING" if self.datatype == "BYTES" else f"TYPE_{self.datatype}"


@dataclass(frozen=True)
class ModelContract:
    """A model's public interface: what a client may send and what it gets back."""

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    batched: bool
    decoupled: bool = False

    def input(self, name: str) -> TensorSpec:
        return next(t for t in self.inputs if t.name == name)

    def output(self, name: str) -> TensorSpec:
        return next(t for t in self.outputs if t.name == name)


# --- whisper: speech recognition on one <=30 s chunk of 16 kHz mono audio --------------------
WHISPER_SAMPLE_RATE = 16_000
WHISPER_MAX_CHUNK_S = 30.0
WHISPER_MAX_SAMPLES = int(WHISPER_SAMPLE_RATE * WHISPER_MAX_CHUNK_S)

WHISPER = ModelContract(
    name="whisper",
    inputs=(
        TensorSpec("AUDIO", "FP32", (-1,)),
        TensorSpec("LANGUAGE", "BYTES", (1,), optional=True),
    ),
    # JSON {language, segments:[{start,end,text,words:[{start,end,word,probability}]}]},
    # times relative to the chunk; see orchestrator.contracts.transcript.ChunkTranscript.
    outputs=(TensorSpec("TRANSCRIPT", "BYTES", (1,)),),
    batched=True,
)

# --- CLIP: image and text embeddings in one space --------------------------------------------
# Clients send frames and text. clip_image / clip_text preprocess inside Triton (python backend)
# and call the exported ONNX towers, clip_image_encoder / clip_text_encoder, through BLS; the
# encoders are internal (the orchestrator never calls them) but their tensor names are the
# names export_clip_onnx.py gives the ONNX graphs, so they are defined here too.

CLIP_IMAGE = ModelContract(
    name="clip_image",
    # One RGB frame per batch entry, height x width x 3, uint8; any size (resized inside).
    inputs=(TensorSpec("IMAGE", "UINT8", (-1, -1, 3)),),
    # L2-normalized; D (512 for ViT-B-32) is in the version's clip.json.
    outputs=(TensorSpec("EMBEDDING", "FP32", (-1,)),),
    batched=True,
)
CLIP_TEXT = ModelContract(
    name="clip_text",
    inputs=(TensorSpec("TEXT", "BYTES", (1,)),),
    outputs=(TensorSpec("EMBEDDING", "FP32", (-1,)),),
    batched=True,
)
CLIP_IMAGE_ENCODER = ModelContract(
    name="clip_image_encoder",
    # Normalized pixels, channels first, image_size x image_size (clip.json).
    inputs=(TensorSpec("PIXELS", "FP32", (3, -1, -1)),),
    outputs=(TensorSpec("EMBEDDING", "FP32", (-1,)),),
    batched=True,
)
CLIP_TEXT_ENCODER = ModelContract(
    name="clip_text_encoder",
    # BPE token ids with start/end tokens, zero-padded to context_length (clip.json).
    inputs=(TensorSpec("TOKENS", "INT64", (-1,)),),
    outputs=(TensorSpec("EMBEDDING", "FP32", (-1,)),),
    batched=True,
)

# --- llm: exactly the contract of Triton's vLLM backend (decoupled, no Triton batching) -------
# The tensors of vllm_backend r25.11 (src/model.py, _auto_complete_inputs_and_outputs), less the
# multimodal `image` and the reserved `embedding_request`. The return_* inputs switch on the
# output of the same name (src/utils/request.py, create_response): logprobs is a JSON list, one
# {token_id: {logprob, rank, decoded_token}} per generated token.
LLM_ADDITIONAL_OUTPUTS = {
    "return_finish_reason": TensorSpec("finish_reason", "BYTES", (-1,)),
    "return_cumulative_logprob": TensorSpec("cumulative_logprob", "FP32", (-1,)),
    "return_logprobs": TensorSpec("logprobs", "BYTES", (-1,)),
    "return_num_input_tokens": TensorSpec("num_input_tokens", "UINT32", (1,)),
    "return_num_output_tokens": TensorSpec("num_output_tokens", "UINT32", (-1,)),
}
LLM = ModelContract(
    name="llm",
    inputs=(
        TensorSpec("text_input", "BYTES", (1,)),
        TensorSpec("stream", "BOOL", (1,), optional=True),
        # JSON: vLLM SamplingParams fields (temperature, max_tokens, seed, stop, logprobs, ...)
        # and "structured_outputs": a JSON string such as "{\"json\": <schema>}"
        # (contracts.sampling has the pinned backend's rules).
        TensorSpec("sampling_parameters", "BYTES", (1,), optional=True),
        TensorSpec("exclude_input_in_output", "BOOL", (1,), optional=True),
        *(TensorSpec(flag, "BOOL", (1,), optional=True) for flag in LLM_ADDITIONAL_OUTPUTS),
    ),
    outputs=(TensorSpec("text_output", "BYTES", (-1,)), *LLM_ADDITIONAL_OUTPUTS.values()),
    batched=False,  # vLLM batches continuously inside the engine
    decoupled=True,
)

CONTRACTS: dict[str, ModelContract] = {c.name: c for c in (
    WHISPER, CLIP_IMAGE, CLIP_TEXT, CLIP_IMAGE_ENCODER, CLIP_TEXT_ENCODER, LLM)}
