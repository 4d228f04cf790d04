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
    # times relative to the chunk; see orchestrator.transcript.ChunkTranscript.
    outputs=(TensorSpec("TRANSCRIPT", "BYTES", (1,)),),
    batched=True,
)

CONTRACTS: dict[str, ModelContract] = {c.name: c for c in (WHISPER,)}
