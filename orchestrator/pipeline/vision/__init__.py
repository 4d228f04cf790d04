"""Vision stage: frames sampled once a second (``frames``) and what they say (``stage``)."""

from orchestrator.pipeline.vision.stage import (
    FrameSignals,
    VisionInput,
    analyse_video,
    clip_weights_are_real,
    embed_texts,
    span_similarity,
)

__all__ = ["FrameSignals", "VisionInput", "analyse_video", "clip_weights_are_real",
           "embed_texts", "span_similarity"]
