"""The transcript as sentences: what the text stage packs into prompts and selection cuts at."""

from __future__ import annotations

from orchestrator.contracts.transcript import Transcript, Word, ends_sentence
from orchestrator.pipeline.types import Sentence


def sentences(transcript: Transcript) -> list[Sentence]:
    """Split the transcript into sentences at sentence-ending punctuation, timed by its words."""
    out: list[Sentence] = []
    words: list[Word] = []
    for segment in transcript.segments:
        for word in segment.words:
            words.append(word)
            if ends_sentence(word.word):
                out.append(_sentence(words))
                words = []
        if not segment.words and segment.text.strip():
            out.append(Sentence(segment.start, segment.end, segment.text.strip()))
    if words:
        out.append(_sentence(words))
    return out


def _sentence(words: list[Word]) -> Sentence:
    return Sentence(words[0].start, words[-1].end, " ".join(w.word for w in words),
                    tuple(words))
