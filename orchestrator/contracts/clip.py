"""The CLIP export metadata: ``clip.json`` in every CLIP model folder of a version.

``scripts/export_clip_onnx.py`` writes it; the in-Triton front-ends read it to preprocess
exactly as open_clip does, and the orchestrator reads ``real_weights`` to decide whether the
similarity of a random-weight export is worth computing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CLIP_METADATA = "clip.json"  # the file name inside each version folder
# What an export looks like; `snapclip models fetch` exports again when the one in place is
# older. 2: the graph fixes the embedding width on its output (the encoder configs say
# dims: [embedding_size], and the onnxruntime backend compares outputs exactly).
EXPORT_FORMAT = 2


@dataclass(frozen=True)
class ClipMetadata:
    """What the serving side needs to know about one exported open_clip model."""

    model: str
    pretrained: str
    real_weights: bool
    embedding_size: int
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    context_length: int
    sot_token: int
    eot_token: int

    @classmethod
    def load(cls, path: Path) -> ClipMetadata:
        data = json.loads(path.read_text())
        fields = {k: data[k] for k in cls.__dataclass_fields__}
        fields["mean"], fields["std"] = tuple(fields["mean"]), tuple(fields["std"])
        return cls(**fields)
