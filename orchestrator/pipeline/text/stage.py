"""The text signal: the passages of the talk rated by the ``llm`` (overlapping ASR).

``TextSignalStage.start`` resolves the served ``llm`` version and loads its tokenizer before
ASR begins. While ASR runs, ``watch``'s callback receives every chunk's transcript; once a
prefix of the talk is complete, the passages inside it that can no longer change
(``passages``: whole thoughts within the clip length) go to the model to be rated
(``rating.PassageJudge``: a 0-9 rating from one token's log-probabilities). ``finish`` rates
the rest. A passage whose wording marks it a sponsor read, intro, outro or call to action
(``cues``) is not rated: the cues overrule the model on those, so it is never a highlight
whatever its rating, and its request would only delay the others. The kind of the other
passages (highlight, sponsor read, intro, outro, call to action, filler) only matters where
it could be chosen, so it is asked later, of the passages the selection picks (``classify``;
the caller selects again while its choice holds one not yet asked), and the plain-text cues
overrule the model there too. ``describe`` asks for a title and a reason in the model's own
words for the clips finally chosen. When the model cannot be asked or fails, the
transcript-only scoring (``fallback``) stands in, and the manifest's notes say so - never
silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from orchestrator.contracts.models import LLM
from orchestrator.contracts.transcript import ChunkTranscript
from orchestrator.pipeline import asr
from orchestrator.pipeline.manifest import ModelRef
from orchestrator.pipeline.text.cues import cue_label, placed
from orchestrator.pipeline.text.fallback import title, transcript_candidates
from orchestrator.pipeline.text.llm import load_tokenizer, served_llm_settings
from orchestrator.pipeline.text.passages import Passage, passages
from orchestrator.pipeline.text.rating import Description, PassageJudge, Rating
from orchestrator.pipeline.text.sentences import sentences
from orchestrator.pipeline.text.topic import lexical_match
from orchestrator.pipeline.types import DECOYS, UNCLASSIFIED, Candidate, Sentence
from orchestrator.serving.client import ModelRequestError, TritonModels

log = logging.getLogger(__name__)

CONCURRENCY = 4  # passages judged at once (vLLM batches them)


@dataclass(frozen=True)
class TextSignalInput:
    clips: int
    min_len_s: float
    max_len_s: float
    llm_version: str = ""
    llm_tokenizer: str | None = None
    llm_context_tokens: int | None = None
    model_repository: Path | None = None
    prompt: str | None = None  # the creator's topic (--prompt): steers the rating


@dataclass(frozen=True)
class TextSignal:
    candidates: tuple[Candidate, ...]
    signal: str  # "llm" or "transcript"
    notes: tuple[str, ...]
    model: ModelRef | None
    llm_s: float  # wall seconds from the first llm request to the last answer (0: none)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for a job's checkpoint (``from_dict`` reads it back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextSignal:
        model = data.get("model")
        return cls(candidates=tuple(Candidate(**c) for c in data["candidates"]),
                   signal=str(data["signal"]), notes=tuple(data["notes"]),
                   model=ModelRef(**model) if model else None, llm_s=float(data["llm_s"]))


class TextSignalStage:
    def __init__(self, request: TextSignalInput, judge: PassageJudge | None,
                 model: ModelRef | None, notes: list[str],
                 on_progress: Callable[[int, int], None] | None = None) -> None:
        self._request = request
        self._judge = judge
        self._model = model
        self._notes = notes
        self._on_progress = on_progress
        # A passage's rating, or why the llm could not rate it (kept per passage).
        self._ratings: dict[tuple[float, float], asyncio.Task[Rating | ModelRequestError]] = {}
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self._prefix: asr.TranscriptPrefix | None = None
        self._started: float | None = None
        self._last: float | None = None  # when the last llm answer came
        self._done = 0
        # Known once ``finish`` has the whole transcript:
        self._found: list[Passage] = []
        self._duration = 0.0
        # Per passage: its rating, why the llm could not rate it, or None: not asked (a
        # decoy by its wording).
        self._results: list[Rating | ModelRequestError | None] = []
        self._kinds: dict[int, str] = {}  # by passage: the cues' word, or the llm's answer
        self._classified: set[int] = set()  # the passages the llm was asked the kind of
        self._described: dict[int, Description] = {}
        # By passage asked to be described (answered or not): its title, set once written,
        # and the request.
        self._titles: dict[int, asyncio.Future[str]] = {}
        self._descriptions: dict[int, asyncio.Task[None]] = {}
        self._tokens = [0, 0]  # in, out of the kind questions asked after the rating
        self._unclassifiable = 0
        self._fallback: TextSignal | None = None  # the transcript-only signal, if it came to it

    @classmethod
    async def start(cls, request: TextSignalInput, models: TritonModels,
                    on_progress: Callable[[int, int], None] | None = None) -> TextSignalStage:
        """Resolve the ``llm`` (an unready model is a ``ModelServerError``) and its tokenizer;
        ``llm_version`` "none" asks no model (the transcript-only path, for comparisons)."""
        if request.llm_version == "none":
            return cls(request, None, None, [f"{LLM.name} not asked (--llm-version none)"])
        version = await models.resolve_version(LLM.name, request.llm_version)
        model = ModelRef(LLM.name, version)
        settings = served_llm_settings(request.model_repository, version,
                                       tokenizer=request.llm_tokenizer,
                                       context_tokens=request.llm_context_tokens)
        if settings is None:
            return cls(request, None, model, [f"no tokenizer known for {LLM.name} v{version} "
                                              "(pass --llm-tokenizer)"])
        try:
            tokenizer = await asyncio.to_thread(load_tokenizer, settings.tokenizer)
        except (OSError, ValueError) as exc:
            return cls(request, None, model, [f"cannot use the {LLM.name} tokenizer "
                                              f"{settings.tokenizer} "
                                              f"({str(exc).splitlines()[0]})"])
        judge = PassageJudge(models, tokenizer, version, settings.context_tokens)
        return cls(request, judge, model, [], on_progress)

    @property
    def active(self) -> bool:
        """True when the llm will be asked (False: the transcript fallback will be used)."""
        return self._judge is not None

    def watch(self, asr_request: asr.AsrInput) -> Callable[[int, ChunkTranscript], None]:
        """The ``on_result`` callback for ``asr.transcribe``: judges finished passages."""
        self._prefix = asr.TranscriptPrefix(asr_request)

        def on_result(index: int, result: ChunkTranscript) -> None:
            assert self._prefix is not None
            partial = self._prefix.add(index, result)
            if self._judge is not None and partial is not None:
                known = sentences(partial)[:-1]  # the last sentence may go on
                # The last two passages may still change as sentences arrive.
                for passage in self._passages(known, asr_request.duration_s)[:-2]:
                    if self._cue(passage, asr_request.duration_s) is None:
                        self._judge_later(passage)

        return on_result

    def _passages(self, spoken: Sequence[Sentence], duration_s: float) -> list[Passage]:
        """The passages of ``spoken``; a piece the cues call a decoy stays a passage of its
        own, so it never drags the thought beside it out of the top."""
        def apart(piece: Passage) -> bool:
            return self._cue(piece, duration_s) is not None

        return passages(spoken, min_len_s=self._request.min_len_s,
                        max_len_s=self._request.max_len_s, apart=apart)

    def _placed(self, label: str, passage: Passage) -> str:
        return placed(label, passage.start_s, passage.end_s, self._duration)

    @staticmethod
    def _cue(passage: Passage, duration_s: float) -> str | None:
        return cue_label(passage.text, passage.start_s, passage.end_s, duration_s)

    def _judge_later(self, passage: Passage) -> asyncio.Task[Rating | ModelRequestError]:
        key = (passage.start_s, passage.end_s)
        if key not in self._ratings:
            if self._started is None:
                self._started = time.perf_counter()
            self._ratings[key] = asyncio.create_task(self._rate(passage))
        return self._ratings[key]

    async def _rate(self, passage: Passage) -> Rating | ModelRequestError:
        assert self._judge is not None
        async with self._limit:
            try:
                # With a topic every kind is needed (select's tiers compare every non-decoy);
                # without, the kind is asked only of a passage that may be chosen (classify).
                rating: Rating | ModelRequestError = await self._judge.rate(
                    passage.text, self._request.prompt, kind=bool(self._request.prompt))
            except ModelRequestError as exc:  # this passage only; the others keep theirs
                log.warning("%s could not rate the passage at %.1f s: %s", LLM.name,
                            passage.start_s, exc)
                rating = exc
        self._last = time.perf_counter()
        self._done += 1
        if self._on_progress:
            self._on_progress(self._done, len(self._ratings))
        return rating

    async def finish(self, spoken: Sequence[Sentence], duration_s: float) -> TextSignal:
        """The candidates, once the whole transcript (``spoken``) is known: every passage
        rated; a rated passage's kind is known when the cues name it, or the llm was asked
        (always with a topic: the topic's tiers compare every non-decoy), else it is
        ``UNCLASSIFIED`` until ``classify``.

        ``duration_s`` is the audio's length (the passages' time axis).
        """
        notes = list(self._notes)
        found = self._passages(spoken, duration_s)
        self._found, self._duration = found, duration_s
        if self._judge is not None and found:
            cues = [self._cue(p, duration_s) for p in found]
            asked = {n: self._judge_later(p) for n, p in enumerate(found) if cues[n] is None}
            answers = dict(zip(asked, await asyncio.gather(*asked.values()), strict=True))
            results = [answers.get(n) for n in range(len(found))]
            failed = [r for r in results if isinstance(r, ModelRequestError)]
            if not asked or len(failed) < len(asked):
                self._results = results
                for n, (result, cue) in enumerate(zip(results, cues, strict=True)):
                    label = (self._placed(result.label, found[n])
                             if isinstance(result, Rating) and result.label else None)
                    if label:
                        self._classified.add(n)
                    if cue or label:  # the wording overrules the model on decoys
                        self._kinds[n] = cue or str(label)
                return self.signal()
            # Never silently: the reason goes to the log and into the manifest's notes (the
            # service also counts it: snapclip_triton_request_errors_total).
            log.warning("%s failed on every passage, using the transcript-only fallback: %s",
                        LLM.name, failed[0])
            notes.append(f"{LLM.name} failed ({failed[0]})")
        llm_s = round(time.perf_counter() - self._started, 3) if self._started else 0.0
        notes.append("text signal: transcript-only fallback (substance of each passage; "
                     "sponsor reads, intros, outros and calls to action by their wording)")
        model = self._model if self._judge is not None else None
        self._fallback = TextSignal(
            tuple(self._matched(transcript_candidates(found, duration_s), found)),
            "transcript", tuple(notes), model, llm_s)
        return self._fallback

    async def classify(self, chosen: Sequence[int]) -> TextSignal:
        """Ask the kind of each passage in ``chosen`` (indices into the candidates) that is
        rated but ``UNCLASSIFIED``; the caller selects again until none of its choice is."""
        wanted = [n for n in dict.fromkeys(chosen) if n not in self._kinds
                  and isinstance(self._rating(n), Rating)]
        if self._judge is None or not wanted:
            return self.signal()

        async def ask(n: int) -> None:
            assert self._judge is not None
            async with self._limit:
                try:
                    label, tokens_in, tokens_out = await self._judge.classify(
                        self._found[n].text)
                except ModelRequestError as exc:  # a passage it cannot classify is filler
                    log.warning("%s could not classify the passage at %.1f s: %s", LLM.name,
                                self._found[n].start_s, exc)
                    self._unclassifiable += 1
                    label, tokens_in, tokens_out = "filler", 0, 0
            # A passage the cues name is in ``_kinds`` since ``finish``: never asked here.
            self._classified.add(n)
            self._kinds[n] = self._placed(label, self._found[n])
            self._tokens[0] += tokens_in
            self._tokens[1] += tokens_out
            self._last = time.perf_counter()

        await asyncio.gather(*(ask(n) for n in wanted))
        return self.signal()

    def describe(self, chosen: Sequence[int]) -> asyncio.Task[TextSignal]:
        """A title and a reason in the llm's own words for each rated passage in ``chosen``
        (the clips; a failed description leaves the passage's first words as its title, or
        the title it had written before it failed); the task ends when every passage of
        ``chosen`` is described. Each passage is asked once, also when calls overlap (the run
        describes each pick while its kind is asked, then whatever its choice holds). The
        passages are registered before this returns: from then on ``title`` has each title as
        soon as it is written and ``reason`` waits for the description."""
        loop = asyncio.get_running_loop()
        for n in dict.fromkeys(chosen):
            if n not in self._titles and isinstance(self._rating(n), Rating):
                self._titles[n] = loop.create_future()
                self._descriptions[n] = loop.create_task(self._describe_one(n))
        return loop.create_task(self._all_described([n for n in dict.fromkeys(chosen)
                                                     if n in self._descriptions]))

    async def _describe_one(self, n: int) -> None:
        assert self._judge is not None
        heard = self._titles[n]

        def titled(title: str) -> None:
            if not heard.done():
                heard.set_result(title)

        try:
            self._described[n] = await self._judge.describe(self._found[n].text, titled)
        except ModelRequestError as exc:
            log.warning("%s could not describe the passage at %.1f s: %s", LLM.name,
                        self._found[n].start_s, exc)
            if heard.done():  # the clip may show it already: it stays the title
                self._described[n] = Description(heard.result(), "")
        finally:
            if not heard.done():  # failed, or cancelled: its waiters get the title it has
                heard.set_result(self.signal().candidates[n].title)
        self._last = time.perf_counter()

    async def _all_described(self, asked: list[int]) -> TextSignal:
        # Waited for, not gathered: a description is shared by the calls that asked for it,
        # so one caller going away does not cancel it (``cancel`` does, when the job ends).
        tasks = [self._descriptions[n] for n in asked]
        if running := [t for t in tasks if not t.done()]:
            await asyncio.wait(running)
        for task in tasks:
            task.result()  # a bug (or the job cancelled), not a model failure: raised
        return self.signal()

    async def title(self, n: int) -> str:
        """Candidate ``n``'s title: as soon as its description has written it, when one is
        under way; else the title it has now."""
        heard = self._titles.get(n)
        if heard is not None:
            return await asyncio.shield(heard)
        return self.signal().candidates[n].title

    async def reason(self, n: int) -> str:
        """Candidate ``n``'s reason: once its description is done, when one is under way."""
        asking = self._descriptions.get(n)
        if asking is not None:
            await asyncio.shield(asking)
        return self.signal().candidates[n].reason

    def _rating(self, n: int) -> Rating | ModelRequestError | None:
        return self._results[n] if 0 <= n < len(self._results) else None

    def signal(self) -> TextSignal:
        """The candidates as far as they are known now (the fallback's when the llm failed)."""
        if self._fallback is not None:
            return self._fallback
        assert self._judge is not None and self._model is not None
        found, duration_s, notes = self._found, self._duration, list(self._notes)
        fallback = transcript_candidates(found, duration_s)
        rated = {n: r for n, r in enumerate(self._results) if isinstance(r, Rating)}
        version = self._model.version
        out = []
        for n, passage in enumerate(found):
            if n not in rated and self._results[n] is None:  # a decoy: last in the text signal
                kind = fallback[n].kind.replace("_", " ")
                out.append(replace(fallback[n], text_score=0.0, reason=(
                    f"Its wording marks it as {kind}, never a highlight: not rated by the "
                    f"{LLM.name}.")))
                continue
            if n not in rated:
                out.append(replace(fallback[n], reason=f"{LLM.name} could not rate it; "
                                   + fallback[n].reason[0].lower() + fallback[n].reason[1:]))
                continue
            rating, kind = rated[n], self._kinds.get(n, UNCLASSIFIED)
            first = passage.sentences[0].text.strip()
            description = self._described.get(n)
            verdict = f"{LLM.name} v{version} rated it {rating.rating:.1f}/9" + (
                f" as {kind.replace('_', ' ')}" if kind != UNCLASSIFIED else "")
            reason = (f"{description.reason} ({verdict}.)"
                      if description and description.reason else f"{verdict.capitalize()}.")
            out.append(Candidate(
                start_s=passage.start_s, end_s=passage.end_s,
                title=(description.title if description and description.title
                       else title(first)),
                hook=first[:200], reason=reason, text_score=round(rating.rating / 9 * 100, 2),
                origin="llm", kind=kind,
                prompt_match=self._match(passage, rating) if self._request.prompt else None))
        errors = [r for r in self._results if isinstance(r, ModelRequestError)]
        unasked = sum(r is None for r in self._results)
        if errors:  # of the passages it was asked to rate (not those its wording marks decoys)
            notes.append(f"{LLM.name} could not rate {len(errors)} of {len(found) - unasked} "
                         f"passages ({errors[0]}); they kept their transcript-only score")
        if self._unclassifiable:
            notes.append(f"{LLM.name} could not classify {self._unclassifiable} passages; "
                         "they count as filler")
        tokens = (sum(r.tokens_in for r in rated.values()) + self._tokens[0],
                  sum(r.tokens_out for r in rated.values()) + self._tokens[1])
        decoys = sorted({k for k in self._kinds.values() if k in DECOYS})
        notes.append(f"{LLM.name} v{version} rated {len(rated)} passages"
                     + (f" (not {unasked} its wording marks as decoys)" if unasked else "")
                     + f" and classified {len(self._classified)} of them "
                     f"({tokens[0]} prompt tokens, {tokens[1]} generated)"
                     + (f"; kept out of the top: {', '.join(d.replace('_', ' ') for d in decoys)}"
                        if decoys else ""))
        llm_s = round((self._last or time.perf_counter()) - (self._started or time.perf_counter()),
                      3)
        return TextSignal(tuple(self._matched(out, found)), "llm", tuple(notes), self._model,
                          llm_s)

    def _match(self, passage: Passage, rating: Rating | None = None) -> float:
        """0..1: how well ``passage`` matches the creator's topic - the llm's answer averaged
        with the share of the topic's words the passage says, never below that share (a
        passage that says every word of the topic is on it, whatever a small model answers),
        or the words alone when the llm gave no answer."""
        assert self._request.prompt
        words = lexical_match(self._request.prompt, passage.text)
        if rating is None or rating.relevance is None:
            return words
        return round(max(words, 0.5 * rating.relevance / 9 + 0.5 * words), 4)

    def _matched(self, candidates: list[Candidate], found: Sequence[Passage]
                 ) -> list[Candidate]:
        """Every candidate with its topic match (unchanged when there is no topic or it has
        one from the llm already)."""
        if not self._request.prompt:
            return candidates
        return [c if c.prompt_match is not None else replace(c, prompt_match=self._match(p))
                for c, p in zip(candidates, found, strict=True)]

    def cancel(self) -> None:
        """Stop every request still under way (the job ended)."""
        for task in [*self._ratings.values(), *self._descriptions.values()]:
            task.cancel()
