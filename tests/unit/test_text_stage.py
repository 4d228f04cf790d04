"""A failed llm request is never silently replaced by the fallback: logged, and in the notes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from orchestrator.pipeline.manifest import ModelRef
from orchestrator.pipeline.text import TextSignal, TextSignalInput, TextSignalStage
from orchestrator.pipeline.text.rating import Description, Rating
from orchestrator.pipeline.types import UNCLASSIFIED, Sentence
from orchestrator.serving.client import ModelRequestError


class RefusingJudge:
    """A passage judge whose model refused the request, as the pinned vLLM backend does."""

    async def rate(self, passage: str, prompt: str | None = None, *, kind: bool = True
                   ) -> object:
        raise ModelRequestError("llm: sampling_parameters: structured_outputs must be a JSON "
                                "string")


def test_a_refused_llm_request_is_logged_and_noted(caplog):
    sentences = [Sentence(float(i * 5), float(i * 5 + 4), f"Sentence number {i} here.")
                 for i in range(12)]
    stage = TextSignalStage(TextSignalInput(clips=2, min_len_s=8, max_len_s=20),
                            RefusingJudge(), ModelRef("llm", "1"), [])  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        signal = asyncio.run(stage.finish(sentences, 60.0))
    assert signal.signal == "transcript" and signal.candidates
    assert any("llm failed" in note and "JSON string" in note for note in signal.notes)
    assert any("transcript-only fallback" in note for note in signal.notes)
    assert "must be a JSON string" in caplog.text


class FlakyJudge:
    """Rates every passage but the one about sentence 5, whose request the server refused;
    calls the one about sentence 9 a sponsor read; cannot describe the one about sentence 1."""

    def __init__(self) -> None:
        self.classified: list[str] = []
        self.described: list[str] = []
        self.reasoning = asyncio.Event()  # set: the reasons are written
        self.reasoning.set()

    async def rate(self, passage: str, prompt: str | None = None, *, kind: bool = True
                   ) -> Rating:
        if "number 5 " in passage:
            raise ModelRequestError("llm: the request timed out")
        label = (await self.classify(passage))[0] if kind else None
        return Rating(label, 5.0 + passage.count("number 1") + passage.count("number 9"),
                      100, 1)

    async def classify(self, passage: str) -> tuple[str, int, int]:
        self.classified.append(passage)
        return ("sponsor" if "number 9" in passage else "highlight"), 110, 2

    async def describe(self, passage: str, on_title: Callable[[str], None] | None = None
                       ) -> Description:
        self.described.append(passage)
        await asyncio.sleep(0)  # another describe call may start meanwhile
        if "number 1 " in passage:
            raise ModelRequestError("llm: cancelled")
        if on_title is not None:
            on_title("A title")
        await self.reasoning.wait()  # the reason comes after the title
        return Description("A title", "A reason of its own.")


TALK = [Sentence(float(i * 5), float(i * 5 + 4), f"Sentence number {i} here.")
        for i in range(12)]


def test_one_failed_passage_keeps_the_others_ratings():
    stage = TextSignalStage(TextSignalInput(clips=3, min_len_s=8, max_len_s=12),
                            FlakyJudge(), ModelRef("llm", "1"), [])  # type: ignore[arg-type]
    signal = asyncio.run(stage.finish(TALK, 60.0))
    assert signal.signal == "llm"
    origins = {c.origin for c in signal.candidates}
    assert origins == {"llm", "transcript"}  # the failed passage alone fell back
    (fallen,) = [c for c in signal.candidates if c.origin == "transcript"]
    assert fallen.start_s <= 25 <= fallen.end_s and "could not rate" in fallen.reason
    assert any("could not rate 1 of" in note and "timed out" in note for note in signal.notes)
    assert all(c.title for c in signal.candidates)


def rated_talk(judge: FlakyJudge) -> tuple[TextSignalStage, TextSignal, list[int]]:
    """The stage after rating ``TALK`` for two clips, its signal and the rated candidates."""
    stage = TextSignalStage(TextSignalInput(clips=2, min_len_s=8, max_len_s=12),
                            judge, ModelRef("llm", "1"), [])  # type: ignore[arg-type]
    signal = asyncio.run(stage.finish(TALK, 60.0))
    return stage, signal, [n for n, c in enumerate(signal.candidates) if c.origin == "llm"]


def described(stage: TextSignalStage, chosen: list[int]) -> TextSignal:
    async def describing() -> TextSignal:
        return await stage.describe(chosen)

    return asyncio.run(describing())


def test_kinds_are_asked_only_of_the_passages_picked_then_those_are_described():
    judge = FlakyJudge()
    stage, signal, rated = rated_talk(judge)
    assert judge.classified == []  # no topic: no kind asked while rating
    assert {signal.candidates[n].kind for n in rated} == {UNCLASSIFIED}
    sponsor = next(n for n in rated if "number 9" in stage._found[n].text)
    first = next(n for n in rated if "number 1 " in stage._found[n].text)
    other = next(n for n in rated if n not in (sponsor, first))
    signal = asyncio.run(stage.classify([sponsor, first]))
    assert len(judge.classified) == 2
    assert signal.candidates[sponsor].kind == "sponsor"
    assert "rated it 6.0/9 as sponsor" in signal.candidates[sponsor].reason
    assert signal.candidates[first].kind == "highlight"
    assert signal.candidates[other].kind == UNCLASSIFIED  # never asked
    asyncio.run(stage.classify([sponsor]))  # asked once only
    assert len(judge.classified) == 2
    signal = described(stage, [first, other])
    # A failed description leaves the candidate with its own first words as the title.
    assert signal.candidates[first].title == "Sentence number 1 here"
    assert signal.candidates[other].title == "A title"
    assert signal.candidates[other].reason.startswith("A reason of its own. (llm v1 rated it")
    assert any("classified 2 of them" in note for note in signal.notes)


def test_each_passage_is_described_once_even_by_overlapping_calls_or_after_a_failure():
    # The run describes the picks while it asks their kinds, then whatever the final choice
    # holds: a passage asked before (answered or failed) is not asked again.
    judge = FlakyJudge()
    stage, signal, rated = rated_talk(judge)
    first = next(n for n in rated if "number 1 " in stage._found[n].text)
    a, b = [n for n in rated if n != first][:2]

    async def overlapping() -> None:
        await asyncio.gather(stage.describe([first, a]), stage.describe([a, b]))

    asyncio.run(overlapping())
    assert sorted(judge.described) == sorted(stage._found[n].text for n in (first, a, b))
    signal = described(stage, [first, a, b])
    assert len(judge.described) == 3
    assert signal.candidates[first].title == "Sentence number 1 here"  # failed: first words
    assert signal.candidates[a].title == signal.candidates[b].title == "A title"


def test_a_title_is_known_as_soon_as_written_and_one_cut_short_after_it_stays():
    # The render of a clip waits for its title only; the reason may still be on its way.
    judge = FlakyJudge()
    stage, signal, rated = rated_talk(judge)
    first = next(n for n in rated if "number 1 " in stage._found[n].text)
    other = next(n for n in rated if n != first)
    never = next(n for n in rated if n not in (first, other))

    async def rendering() -> tuple[str, str, str, bool]:
        judge.reasoning.clear()
        describing = stage.describe([first, other])
        titled = await asyncio.wait_for(stage.title(other), 5)
        failed = await asyncio.wait_for(stage.title(first), 5)
        pending = not describing.done()  # the reasons are not written yet
        judge.reasoning.set()
        await describing
        return titled, failed, await stage.title(never), pending

    titled, failed, untitled, pending = asyncio.run(rendering())
    assert pending and titled == "A title"
    assert failed == "Sentence number 1 here"  # failed before its title: the first words
    assert untitled == signal.candidates[never].title  # not described: the title it has

    class CutShort(FlakyJudge):
        async def describe(self, passage: str, on_title: Callable[[str], None] | None = None
                           ) -> Description:
            assert on_title is not None
            on_title("Written before the failure")
            raise ModelRequestError("llm: the request timed out")

    stage, signal, rated = rated_talk(CutShort())
    shown = described(stage, rated[:1]).candidates[rated[0]]
    assert shown.title == "Written before the failure"  # as the rendered clip has it
    assert shown.reason.startswith("Llm v1 rated it")


def test_titles_and_reasons_asked_as_soon_as_describe_returns_wait_for_the_llm():
    # The run renders a clip on its title right after asking for its description, before
    # that request has run at all: the title must be the llm's, not the first words.
    judge = FlakyJudge()
    stage, _, rated = rated_talk(judge)
    other = next(n for n in rated if "number 1 " not in stage._found[n].text)

    async def at_once() -> tuple[str, str, bool]:
        judge.reasoning.clear()
        stage.describe([other])
        title = await asyncio.wait_for(stage.title(other), 5)
        reason = asyncio.create_task(stage.reason(other))
        await asyncio.sleep(0.05)
        waiting = not reason.done()  # the reason is not written yet
        judge.reasoning.set()
        return title, await asyncio.wait_for(reason, 5), waiting

    title, reason, waiting = asyncio.run(at_once())
    assert title == "A title" and waiting
    assert reason.startswith("A reason of its own. (llm v1 rated it")


def test_with_a_topic_every_kind_is_asked_while_rating():
    judge = FlakyJudge()
    stage = TextSignalStage(TextSignalInput(clips=2, min_len_s=8, max_len_s=12,
                                            prompt="numbers"),
                            judge, ModelRef("llm", "1"), [])  # type: ignore[arg-type]
    signal = asyncio.run(stage.finish(TALK, 60.0))
    assert UNCLASSIFIED not in {c.kind for c in signal.candidates}


def test_a_passage_whose_wording_marks_it_a_decoy_is_not_rated():
    # The cues overrule the llm on sponsor reads, intros, outros and calls to action: rating
    # one would only delay the passages that can be chosen.
    class Recording(FlakyJudge):
        def __init__(self) -> None:
            super().__init__()
            self.rated: list[str] = []

        async def rate(self, passage: str, prompt: str | None = None, *, kind: bool = True
                       ) -> Rating:
            self.rated.append(passage)
            return await super().rate(passage, prompt, kind=kind)

    talk = [Sentence(0.0, 4.0, "Sentence number 0 here."),
            Sentence(5.0, 9.0, "Sentence number 1 here."),
            Sentence(13.0, 17.0, "This video is sponsored by Acme, use code ACME20."),
            Sentence(18.0, 22.0, "Check them out, the deal ends soon."),
            Sentence(26.0, 30.0, "Sentence number 2 here."),
            Sentence(31.0, 35.0, "Sentence number 5 here.")]  # its rating fails
    judge = Recording()
    stage = TextSignalStage(TextSignalInput(clips=2, min_len_s=8, max_len_s=12),
                            judge, ModelRef("llm", "1"), [])  # type: ignore[arg-type]
    signal = asyncio.run(stage.finish(talk, 36.0))
    assert signal.signal == "llm" and len(signal.candidates) == 3
    assert len(judge.rated) == 2 and not any("sponsored" in p for p in judge.rated)
    ad = signal.candidates[1]
    assert ad.kind == "sponsor" and ad.text_score == 0.0 and "not rated" in ad.reason
    assert [signal.candidates[0].origin, signal.candidates[2].origin] == ["llm", "transcript"]
    assert any("rated 1 passages (not 1 its wording marks as decoys)" in n
               for n in signal.notes)
    # A failure is counted among the passages the llm was asked to rate, not the decoys.
    assert any("could not rate 1 of 2 passages" in n for n in signal.notes)
    assert asyncio.run(stage.classify([1])).candidates[1].kind == "sponsor"  # never asked
    assert len(judge.classified) == 0


def test_the_llms_intro_or_outro_in_mid_talk_is_filler():
    # A small model calls a section's opening ("Third, editing.") an intro; an intro is only
    # the talk's opening, an outro only its close, however the kind is asked.
    class SaysIntro(FlakyJudge):
        async def classify(self, passage: str) -> tuple[str, int, int]:
            self.classified.append(passage)
            return ("outro" if "number 0 " in passage else "intro"), 110, 2

    for prompt in (None, "numbers"):  # the kind asked on its own, or with the rating
        stage = TextSignalStage(TextSignalInput(clips=2, min_len_s=8, max_len_s=12,
                                                prompt=prompt),
                                SaysIntro(), ModelRef("llm", "1"), [])  # type: ignore[arg-type]
        signal = asyncio.run(stage.finish(TALK, 60.0))
        rated = [n for n, c in enumerate(signal.candidates) if c.origin == "llm"]
        signal = asyncio.run(stage.classify(rated))
        kinds = []
        for n in rated:
            passage, kind = stage._found[n], signal.candidates[n].kind
            if "number 0 " in passage.text:  # at the start, called an outro
                assert kind == "filler"
            else:  # called an intro: one only in the talk's first fifth (12 s)
                assert kind == ("intro" if passage.start_s <= 12 else "filler"), passage
            kinds.append(kind)
        assert {"intro", "filler"} <= set(kinds)
