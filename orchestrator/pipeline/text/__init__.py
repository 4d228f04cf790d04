"""Text stage: candidate moments from what is said.

One entry point, ``TextSignalStage`` (``stage``). The transcript's ``sentences`` are grouped
into ``passages`` (whole thoughts within the clip length); the ``llm`` judges each one
(``rating``: its kind and how shareable it is, then a title and a reason for the shortlist),
plain-text ``cues`` keep sponsor reads, intros, outros and calls to action out of the top, and
the ``fallback`` scores passages without a model when none can be asked. ``llm`` holds what
the orchestrator must know about the served model (its tokenizer).
"""

from orchestrator.pipeline.text.sentences import sentences
from orchestrator.pipeline.text.stage import TextSignal, TextSignalInput, TextSignalStage

__all__ = ["TextSignal", "TextSignalInput", "TextSignalStage", "sentences"]
