"""The passage judge: the kind under a choice constraint, the rating from one token's
log-probabilities."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable

from orchestrator.pipeline.text.rating import (
    KIND_QUESTION,
    RATING_QUESTION,
    PassageJudge,
    streamed_title,
)
from orchestrator.serving.client import Completion


class Tokenizer:
    def apply_chat_template(self, messages: list, *, tokenize: bool,
                            add_generation_prompt: bool) -> str:
        return "<user>" + messages[0]["content"] + "<assistant>"

    def encode(self, text: str) -> list[str]:  # a token per word
        return text.split()


class Models:
    """Answers as a served llm would, with the top log-probabilities of its one token."""

    def __init__(self, description: str | None = None) -> None:
        self.prompts: list[tuple[str, dict]] = []
        self.heard: list[str] = []  # what a streamed answer had written at each title heard
        self.description = description or json.dumps(
            {"title": "Placement beats price", "reason": "A surprise."}, separators=(",", ":"))

    async def complete(self, prompt: str, sampling: dict, *, version: str,
                       on_text: Callable[[str], None] | None = None) -> Completion:
        self.prompts.append((prompt, sampling))
        if KIND_QUESTION in prompt:
            assert json.loads(sampling["structured_outputs"])["choice"][0] == "highlight"
            return Completion("highlight", (), 120, 2)
        if "structured_outputs" in sampling:
            text = self.description
            for end in range(1, len(text) + 1) if on_text else ():  # streamed a piece at a time
                self.written = text[:end]
                on_text(text[:end])
            return Completion(text, (), 100, 20)
        else:
            top = (("7", math.log(0.5)), (" 8", math.log(0.25)), ("3", math.log(0.25)),
                   ("x", math.log(0.2)))
        return Completion(top[0][0], (top,), 120, 1)


def test_kind_by_choice_and_expected_rating_from_logprobs():
    models = Models()
    judge = PassageJudge(models, Tokenizer(), "4", 4096)  # type: ignore[arg-type]
    rating = asyncio.run(judge.rate("The cheap microphone close up wins."))
    assert rating.label == "highlight"
    assert abs(rating.rating - (7 * 0.5 + 8 * 0.25 + 3 * 0.25)) < 1e-6
    assert rating.tokens_in == 240 and rating.tokens_out == 3
    (first, sampling), (second, _) = models.prompts
    assert sampling["max_tokens"] == 1 and sampling["logprobs"] == 20
    # The instructions and the passage come first: the shared prefix is cached, and the
    # rating is asked first, so the kind question after it reuses that prefix.
    shared = first[:first.index(RATING_QUESTION)]
    assert second.startswith(shared) and "The cheap microphone close up wins." in shared
    assert KIND_QUESTION in second


def test_the_kind_is_asked_only_when_wanted():
    models = Models()
    judge = PassageJudge(models, Tokenizer(), "4", 4096)  # type: ignore[arg-type]
    rating = asyncio.run(judge.rate("A passage.", kind=False))
    assert rating.label is None and rating.tokens_out == 1
    assert len(models.prompts) == 1 and KIND_QUESTION not in models.prompts[0][0]
    assert asyncio.run(judge.classify("A passage.")) == ("highlight", 120, 2)


def test_a_description_in_the_models_own_words():
    models = Models()
    judge = PassageJudge(models, Tokenizer(), "4", 4096)  # type: ignore[arg-type]
    described = asyncio.run(judge.describe("A passage."))
    assert described.title == "Placement beats price" and described.reason == "A surprise."
    (_, sampling), = models.prompts
    assert isinstance(sampling["structured_outputs"], str)  # the pinned backend's form


def test_a_streamed_description_tells_its_title_before_the_reason_is_written():
    models = Models()
    judge = PassageJudge(models, Tokenizer(), "4", 4096)  # type: ignore[arg-type]
    heard: list[tuple[str, str]] = []
    described = asyncio.run(judge.describe("A passage.",
                                           lambda t: heard.append((t, models.written))))
    assert described.title == "Placement beats price" and described.reason == "A surprise."
    ((title, written),) = heard  # once, as soon as the title's string is closed
    assert title == "Placement beats price"
    assert written == '{"title":"Placement beats price",'
    # Cut short in the reason (max_tokens): the title written stays.
    models = Models('{"title":"Placement beats price","reason":"A surpr')
    judge = PassageJudge(models, Tokenizer(), "4", 4096)  # type: ignore[arg-type]
    assert asyncio.run(judge.describe("A passage.", lambda t: None)).title == (
        "Placement beats price")
    assert asyncio.run(judge.describe("A passage.")).title == "Placement beats price"


def test_the_title_is_read_only_once_its_json_string_is_whole():
    assert streamed_title('{"title":"Half a tit') is None
    assert streamed_title('{"title":"Half a title"') is None  # a quote ends it only with , or }
    assert streamed_title('{"title":"Say \\"no\\" twice","rea') == 'Say "no" twice'
    assert streamed_title('{"title":"ab",') is None  # shorter than the schema allows
    # The key inside the reason is escaped, never matched; a title after the reason is found.
    assert streamed_title('{"reason":"the \\"title\\":\\"x\\" key",') is None
    assert streamed_title('{"reason":"Why.","title":"Last but read"}') == "Last but read"
    # Stray punctuation around a title goes (written so by the int8 build on a CPU without VNNI).
    assert streamed_title('{"title":": The 10-Dollar Microphone",') == "The 10-Dollar Microphone"
    assert streamed_title('{"title":", How to Record -",') == "How to Record"
    assert streamed_title('{"title":"Why? Because!",') == "Why? Because!"
    assert streamed_title('{"title":": -",') is None


def test_a_passage_too_long_for_the_context_is_cut_to_fit():
    models = Models()
    judge = PassageJudge(models, Tokenizer(), "4", 400)  # type: ignore[arg-type]
    passage = " ".join(f"word{n}" for n in range(2000))
    asyncio.run(judge.rate(passage))
    asyncio.run(judge.describe(passage))
    for prompt, sampling in models.prompts:
        assert len(Tokenizer().encode(prompt)) + sampling["max_tokens"] <= 400
        assert "word0 word1" in prompt and "word1999" not in prompt  # the start is kept
    short = "A short passage."
    assert short in judge.prompt(short, KIND_QUESTION, 8)  # one that fits is left whole
