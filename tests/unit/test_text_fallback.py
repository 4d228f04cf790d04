"""Transcript-only fallback: substance wins over energy, and decoys are labelled by wording."""

from __future__ import annotations

from orchestrator.pipeline.text.fallback import transcript_candidates
from orchestrator.pipeline.text.passages import passages
from orchestrator.pipeline.types import Sentence

TALK = [
    ("Welcome back to the channel. Today we look at cheap microphones.", 0.0),
    ("The room matters. Soft things soak up echo.", 12.0),
    ("Here is the trick: the ten dollar microphone two inches away beats the three hundred "
     "dollar one across the room, because the echo grows with every inch.", 24.0),
    ("This video is sponsored by SoundPro! Use code CLEAN for forty percent off! Amazing!", 44.0),
    ("That is all for today. Thanks for watching, and see you in the next one!", 60.0),
]


def talk() -> list[Sentence]:
    out = []
    for text, start in TALK:
        parts = [p.strip() + ("" if p.strip().endswith(("!", ".", ":")) else ".")
                 for p in text.replace("! ", "!|").replace(". ", ".|").split("|")]
        step = 10.0 / len(parts)
        out += [Sentence(start + k * step, start + (k + 1) * step - 0.2, p)
                for k, p in enumerate(parts)]
    return out


def test_substance_ranks_first_and_decoys_are_labelled():
    found = passages(talk(), min_len_s=8, max_len_s=20)
    cands = transcript_candidates(found, duration_s=72.0)
    by_start = {c.start_s: c for c in cands}
    assert by_start[0.0].kind == "intro" and by_start[44.0].kind == "sponsor"
    assert by_start[60.0].kind == "outro"
    best = max((c for c in cands if c.kind not in {"intro", "sponsor", "outro"}),
               key=lambda c: c.text_score)
    assert best.start_s == 24.0 and best.origin == "transcript"
    assert best.title.startswith("Here is the trick")
    # The loud, fast, exclamation-heavy ad does not score on its energy.
    assert by_start[44.0].text_score < best.text_score
