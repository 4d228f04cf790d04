"""Transcript-only candidates: the passages scored without a model, when the ``llm`` is not
available or failed (the manifest then says ``text_signal: "transcript"`` and why).

What marks a stretch of talk as worth a clip cannot be heard in its loudness or speed - a
sponsor read or a "like and subscribe" is both loud and fast. So a passage is scored by its
substance (explanations, comparisons and numbers per sentence, ``cues.substance``) and the
passages the cues mark as a sponsor read, intro, outro or call to action are labelled so,
which keeps them out of the top (``select``).
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.pipeline.text.cues import cue_label, substance
from orchestrator.pipeline.text.passages import Passage
from orchestrator.pipeline.types import Candidate


def transcript_candidates(found: Sequence[Passage], duration_s: float) -> list[Candidate]:
    """One candidate per passage, scored 0-100 by substance, decoys labelled by the cues."""
    scores = [substance([s.text for s in p.sentences]) for p in found]
    top = max(scores, default=0.0) or 1.0
    out = []
    for passage, score in zip(found, scores, strict=True):
        kind = cue_label(passage.text, passage.start_s, passage.end_s, duration_s) or "filler"
        first = passage.sentences[0].text.strip()
        reason = ("Transcript-only pick (no model available): "
                  + (f"the wording marks it as {kind.replace('_', ' ')}." if kind != "filler"
                     else f"{score:.1f} explanations, comparisons or numbers per sentence."))
        out.append(Candidate(start_s=passage.start_s, end_s=passage.end_s, title=title(first),
                             hook=first[:200], reason=reason,
                             text_score=round(100 * score / top, 2), origin="transcript",
                             kind=kind))
    return out


def title(sentence: str, limit: int = 60) -> str:
    """A title made from a sentence: itself, or its first words up to ``limit`` characters."""
    if len(sentence) <= limit:
        return sentence.rstrip(".")
    return sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
