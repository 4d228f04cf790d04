"""Plain-text cues for what is never a highlight: sponsor reads, intros, outros, calls to action.

Creators' first complaint about clipping tools is a clip that is an ad read, a "welcome back"
or a "thanks for watching". The ``llm`` labels every passage; these cues back it up (and stand
in for it when it is not available): phrases that mark each kind, counted per passage, with
intros only near the start and outros only near the end of the talk. A passage whose cues are
strong enough is labelled by them even when the model says otherwise: a small model can be
talked into calling an enthusiastic ad a highlight.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PATTERNS: dict[str, tuple[str, ...]] = {
    "sponsor": (
        r"\bsponsor(?:ed|s)?\b", r"\bpromo(?:tion)?\s+code\b", r"\buse\s+(?:my\s+)?code\b",
        r"\bcode\s+[A-Z0-9]{3,}", r"\b\d+\s*(?:percent|%)\s+off\b", r"\bdiscount\b",
        r"\bfree\s+trial\b", r"\bpartner(?:ed)?\s+with\b", r"\bbrought\s+to\s+you\s+by\b",
        r"\bcheck\s+(?:them|it)\s+out\b", r"\b(?:limited|special)\s+offer\b", r"\bdeal\b",
    ),
    "call_to_action": (
        r"\bsubscribe\b", r"\blike\s+(?:and|&)\s+subscribe\b", r"\bhit\s+the\s+(?:bell|like)\b",
        r"\blink\s+(?:is\s+)?(?:in|below)\b", r"\bin\s+the\s+description\b",
        r"\b(?:leave|drop)\s+a\s+comment\b", r"\bcomment\s+below\b", r"\bfollow\s+me\b",
        r"\bsmash\s+that\b", r"\bsupport\s+the\s+channel\b", r"\bpatreon\b",
    ),
    "intro": (
        r"\bwelcome\s+(?:back\s+)?to\b", r"\bwelcome\s+back\b", r"\bhey\s+(?:guys|everyone)\b",
        r"\bhi\s+everyone\b", r"\bin\s+this\s+video\b", r"\btoday\s+(?:we|i)(?:'ll|\s+will|\s+are|"
        r"\s+look|\s+test|\s+talk)\b", r"\bwe\s+will\s+cover\b", r"\blet'?s\s+get\s+started\b",
    ),
    "outro": (
        r"\bthanks?\s+(?:you\s+)?for\s+watching\b", r"\bsee\s+you\s+(?:in\s+the\s+next|next"
        r"\s+time|soon)\b", r"\bthat'?s\s+(?:all|it)\s+for\s+today\b", r"\buntil\s+next\s+time\b",
        r"\bbye\b", r"\bcatch\s+you\b",
    ),
}
_COMPILED = {label: [re.compile(p, re.IGNORECASE) for p in patterns]
             for label, patterns in _PATTERNS.items()}
# How far from the start an intro, and from the end an outro, can be (fraction of the talk).
EDGE = 0.2


def cue_counts(text: str) -> dict[str, int]:
    """How many distinct cue phrases of each decoy label ``text`` holds."""
    return {label: sum(1 for p in patterns if p.search(text))
            for label, patterns in _COMPILED.items()}


def placed(label: str, start_s: float, end_s: float, duration_s: float) -> str:
    """A model's answer about a passage, held to where it lies: an intro only in the first
    ``EDGE`` of the talk, an outro only in the last, ``"filler"`` elsewhere.

    A section's opening in mid-talk ("Third, editing. Cut the long pauses ...") reads like an
    intro to a small model: Qwen2.5-Coder-1.5B called all five such passages of issue 18's
    bench talk intros, and the choice repeated a topic rather than use them. The cues'
    own intros and outros keep to the same edges (``cue_label``).
    """
    if label == "intro" and start_s > EDGE * duration_s:
        return "filler"
    if label == "outro" and end_s < (1 - EDGE) * duration_s:
        return "filler"
    return label


def cue_label(text: str, start_s: float, end_s: float, duration_s: float) -> str | None:
    """The decoy label the cues give the passage, or None.

    Two distinct phrases of one kind are enough anywhere; an intro counts only in the first
    ``EDGE`` of the talk and an outro only in the last, where one phrase is enough.
    """
    counts = cue_counts(text)
    found = []
    for label in ("sponsor", "call_to_action", "outro", "intro"):
        n = counts[label]
        if placed(label, start_s, end_s, duration_s) != label:
            continue  # an intro away from the start, an outro away from the end
        if n >= 2 or (n >= 1 and label in ("intro", "outro")):
            found.append((n, label))
    return max(found)[1] if found else None


_CONTENT = re.compile(r"\b(?:because|so\s+that|which\s+means|the\s+(?:trick|secret|reason|"
                      r"difference|mistake|problem)|surpris\w*|actually|instead|better\s+than|"
                      r"more\s+than|less\s+than|twice|half|never|always|\d+)\b", re.IGNORECASE)
_WORDS = re.compile(r"[a-z']+", re.IGNORECASE)


def substance(texts: Sequence[str]) -> float:
    """Transcript-only interest of a passage, when no model can judge it: explanations,
    comparisons and numbers per sentence (what makes a thought worth sharing), not loudness or
    speed - an ad read fast and loud has plenty of those."""
    if not texts:
        return 0.0
    marks = sum(len(_CONTENT.findall(t)) for t in texts)
    words = sum(len(_WORDS.findall(t)) for t in texts)
    return (marks / len(texts)) * min(1.0, words / (12.0 * len(texts)))
