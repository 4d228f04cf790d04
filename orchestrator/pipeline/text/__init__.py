"""Text stage: candidate moments from what is said.

One entry point, ``TextSignalStage`` (``stage``): it asks the ``llm`` about transcript chunks
while ASR runs (``llm``: chunking, requests, merging; ``prompt``: the schema, the prompt and
the validation of each answer) and falls back to, or fills in with, transcript-only windows
(``fallback``). ``sentences`` cuts the transcript into the sentences all of them work on.
"""

from orchestrator.pipeline.text.sentences import sentences
from orchestrator.pipeline.text.stage import TextSignal, TextSignalInput, TextSignalStage

__all__ = ["TextSignal", "TextSignalInput", "TextSignalStage", "sentences"]
