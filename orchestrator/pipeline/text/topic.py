"""How well a passage matches what the creator asked for (``--prompt``), from its words alone.

The ``llm`` is asked the same question when it is served (``rating``); this is the part that
needs no model, so a prompt steers the transcript-only path too and the llm's answer has a
plain-text check beside it. The prompt's content words (stop words dropped, light suffix
stripping so "prices" meets "pricing") are looked up in the passage; the match is the share of
them it contains, with a word counted half when only its first five letters are found.
"""

from __future__ import annotations

import re

_STOP_WORDS = """
a about above after again all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has
have having he her here hers him his how i if in into is it its itself just me more most my
no nor not now of off on once only or other our ours out over own part parts same she should
so some such than that the their them then there these they this those through to too under
until up very was we were what when where which while who whom why will with would you your
clip clips moment moments section bit piece talk video one ones show find give want
"""
_STOP = frozenset(_STOP_WORDS.split())
_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = ("ments", "ment", "ings", "ing", "ers", "ies", "ied", "ed", "es", "er", "ly", "s")


def content_words(text: str) -> list[str]:
    """The stems of ``text``'s words that carry its meaning."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def lexical_match(prompt: str, passage: str) -> float:
    """0..1: the share of the prompt's content words found in ``passage``."""
    wanted = set(content_words(prompt))
    if not wanted:
        return 0.0
    found = set(content_words(passage))
    prefixes = {w[:5] for w in found if len(w) >= 5}
    score = sum(1.0 if w in found else 0.5 if len(w) >= 5 and w[:5] in prefixes else 0.0
                for w in wanted)
    return round(score / len(wanted), 4)


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word
