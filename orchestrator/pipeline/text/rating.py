"""The ``llm`` judges each passage: how shareable it is, and - where that can matter - its kind.

Free-form timestamps from a small model are fragile, so the model never proposes spans: it
reads one passage (whole sentences, see ``passages``) and answers short questions. The rating
is a digit 0-9 for how likely viewers are to replay or share it, read from the
log-probabilities of that one token (``logprobs`` in ``sampling_parameters`` and the
``return_logprobs`` input of the pinned vllm backend): the expected value of the digits, which
separates passages far better than the single most likely digit. The kind is one of six words
under a ``choice`` constraint (structured outputs: the answer cannot be anything else); it is
asked separately (``classify``) because it only matters for a passage that may be chosen -
a sponsor read, intro, outro or call to action is never a highlight. The instructions come
first and the passage after them, so the shared prefix is computed once (vLLM's prefix cache)
and a second question about the same passage costs only its own few tokens. The passages that
are chosen are then described - a short title and a reason in the model's own words, as JSON
constrained by a schema, streamed: the title is written first and the clip's render starts on it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.contracts.sampling import structured_outputs
from orchestrator.pipeline.types import KINDS
from orchestrator.serving.client import TritonModels

INSTRUCTIONS = (
    "You help a video creator pick short clips for social media from a long video. You read "
    "one passage of its transcript at a time. Kinds of passage: a highlight is a complete "
    "thought worth sharing on its own - an insight, a surprising result, a story, a useful "
    "tip; a sponsor read promotes a product, a discount or a code; an intro greets viewers or "
    "says what the video will cover; an outro says goodbye or thanks for watching; a call to "
    "action asks viewers to like, subscribe, comment, follow or click a link; filler is "
    "anything else. Sponsor reads, intros, outros and calls to action are never good clips, "
    "however enthusiastic they sound."
)
KIND_QUESTION = ("Which kind is this passage? Answer with one of: highlight, sponsor read, "
                 "intro, outro, call to action, filler.")
RATING_QUESTION = ("How likely are viewers to replay or share this passage as a standalone "
                   "clip? Answer with one digit from 0 (never) to 9 (certainly).")
# Asked only when the creator named a topic (--prompt); read like the rating.
RELEVANCE_QUESTION = ("The creator wants clips about: \"{prompt}\". How closely does this "
                      "passage match that? Answer with one digit from 0 (not at all) to 9 "
                      "(exactly).")
ANSWERS = {"highlight": "highlight", "sponsor read": "sponsor", "intro": "intro",
           "outro": "outro", "call to action": "call_to_action", "filler": "filler"}
assert set(ANSWERS.values()) == set(KINDS)
TOP_LOGPROBS = 20


@dataclass(frozen=True)
class Rating:
    label: str | None  # the kind (``ANSWERS``' values); None when it was not asked
    rating: float  # expected digit, 0-9
    tokens_in: int
    tokens_out: int
    relevance: float | None = None  # expected digit 0-9 for the creator's topic, if one was given


@dataclass(frozen=True)
class Description:
    title: str
    reason: str


def description_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {
        "title": {"type": "string", "minLength": 3, "maxLength": 70},
        "reason": {"type": "string", "minLength": 10, "maxLength": 200}},
        "required": ["title", "reason"], "additionalProperties": False}


class PassageJudge:
    """Asks one served ``llm`` version about passages; prompts use the model's chat template
    and always fit its context (``context_tokens``) with room for the answer."""

    def __init__(self, models: TritonModels, tokenizer: Any, version: str,
                 context_tokens: int) -> None:
        self._models = models
        self._tokenizer = tokenizer
        self._version = version
        self._context = context_tokens

    def prompt(self, passage: str, question: str, answer_tokens: int = 120) -> str:
        """The chat prompt; a passage too long for the context loses its end (whole words),
        so the request is never refused for its length."""
        room = self._context - answer_tokens
        words, keep = passage.split(), len(passage.split())
        text = self._render(passage, question)
        while (length := len(self._tokenizer.encode(text))) > room:
            if keep <= 1:
                raise ValueError(f"the llm's context ({self._context} tokens) cannot hold "
                                 "its instructions")
            keep = max(1, keep - (length - room))  # a word is at least one token
            text = self._render(" ".join(words[:keep]) + " …", question)
        return text

    def _render(self, passage: str, question: str) -> str:
        content = f"{INSTRUCTIONS}\n\nPassage:\n{passage}\n\n{question}"
        return self._tokenizer.apply_chat_template(
            [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True)

    async def rate(self, passage: str, prompt: str | None = None, *, kind: bool = True
                   ) -> Rating:
        """The passage's rating; with ``prompt`` (the creator's topic) also how closely it
        matches it; with ``kind`` its kind too (``classify``), asked after the rating so that
        it reuses the cached prefix."""
        rating, score = await self._digit(passage, RATING_QUESTION)
        relevance, tokens_in, tokens_out = None, score.input_tokens, score.output_tokens
        if prompt:
            relevance, asked = await self._digit(passage, RELEVANCE_QUESTION.format(
                prompt=" ".join(prompt.split())))
            tokens_in, tokens_out = tokens_in + asked.input_tokens, tokens_out + asked.output_tokens
        label = None
        if kind:
            label, kind_in, kind_out = await self.classify(passage)
            tokens_in, tokens_out = tokens_in + kind_in, tokens_out + kind_out
        return Rating(label, rating, tokens_in, tokens_out, relevance)

    async def classify(self, passage: str) -> tuple[str, int, int]:
        """The passage's kind (one of ``KINDS``), with the request's tokens in and out."""
        choose = {"temperature": 0.0, "max_tokens": 8, "seed": 0,
                  "structured_outputs": structured_outputs(choice=list(ANSWERS))}
        answer = await self._models.complete(self.prompt(passage, KIND_QUESTION, 8), choose,
                                             version=self._version)
        return (ANSWERS.get(answer.text.strip(), "filler"), answer.input_tokens,
                answer.output_tokens)

    async def _digit(self, passage: str, question: str) -> tuple[float, Any]:
        """The expected 0-9 answer to ``question``, from one token's log-probabilities."""
        one_token = {"temperature": 0.0, "max_tokens": 1, "logprobs": TOP_LOGPROBS, "seed": 0}
        answer = await self._models.complete(self.prompt(passage, question, 1), one_token,
                                             version=self._version)
        digits = _distribution(answer.logprobs, {str(d): d for d in range(10)})
        value = (sum(d * p for d, p in digits.items()) if digits
                 else _first_digit(answer.text))
        return round(float(value), 3), answer

    async def describe(self, passage: str,
                       on_title: Callable[[str], None] | None = None) -> Description:
        """A title and a reason; ``on_title`` hears the title as soon as it is written (the
        answer is streamed then: the render needs only the title, the reason is read later).
        An answer cut short after its title keeps the title."""
        sampling = {"temperature": 0.0, "seed": 0, "max_tokens": 120,
                    "structured_outputs": structured_outputs(json=description_schema(),
                                                             disable_any_whitespace=True)}
        question = ("Give this passage a short title (at most eight words) and, in one "
                    "sentence of your own words, the reason viewers would share it. Answer "
                    "with JSON only.")
        heard: list[str] = []

        def streamed(text: str) -> None:
            if not heard and (found := streamed_title(text)):
                heard.append(found)
                assert on_title is not None
                on_title(found)

        answer = await self._models.complete(self.prompt(passage, question, 120), sampling,
                                             version=self._version,
                                             on_text=streamed if on_title else None)
        try:
            data = json.loads(answer.text)
            return Description(clean_title(str(data["title"])), str(data["reason"]).strip())
        except (json.JSONDecodeError, KeyError, TypeError):
            return Description(heard[0] if heard else streamed_title(answer.text) or "", "")


# A whole "title" string of the (compact) JSON answer; a quote inside a JSON string is escaped,
# so the key cannot be matched inside the reason.
_TITLE = re.compile(r'"title":("(?:[^"\\]|\\.)*")[,}]')


def streamed_title(text: str) -> str | None:
    """The title of a description whose JSON is written up to and past it, else None."""
    found = _TITLE.search(text)
    if found is None:
        return None
    try:
        title = clean_title(str(json.loads(found.group(1))))
    except json.JSONDecodeError:
        return None
    return title if len(title) >= 3 else None  # the schema's minLength


# Punctuation a title never starts or ends with. The W8A8 build, on a CPU without VNNI, began
# titles with it (": The 10-Dollar Microphone...", ", How to Record Clean Sound at Home").
_LEADING, _TRAILING = " \t:;,.-–—|/*#", " \t:;,-–—|/"


def clean_title(title: str) -> str:
    """A written title without the stray punctuation a model may put around it."""
    return title.strip().lstrip(_LEADING).rstrip(_TRAILING)


def _distribution(logprobs: Sequence[Sequence[tuple[str, float]]], wanted: dict[str, Any]
                  ) -> dict[Any, float]:
    """Probabilities of the ``wanted`` tokens at the first generated position, renormalized
    over those among the top alternatives (a token may come with or without a space)."""
    if not logprobs:
        return {}
    mass: dict[Any, float] = {}
    for token, logprob in logprobs[0]:
        key = wanted.get(token.strip())
        if key is not None:
            mass[key] = mass.get(key, 0.0) + math.exp(logprob)
    total = sum(mass.values())
    return {k: v / total for k, v in mass.items()} if total > 0 else {}


def _first_digit(text: str) -> float:
    digits = [c for c in text if c.isdigit()]
    return float(digits[0]) if digits else 0.0
