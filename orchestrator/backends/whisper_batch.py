"""Batched Whisper decoding on CTranslate2 for many independent <=30 s chunks.

faster-whisper's ``WhisperModel.transcribe`` decodes one audio stream window by window, and its
``BatchedInferencePipeline`` batches the windows of one stream with one language. A Triton batch
is different: N unrelated requests, each its own chunk and possibly its own language. This module
runs such a batch through the model once: one mel-feature stack, one encoder pass, one language
detection over that encoder output, one ``generate`` call (beam search, no timestamp tokens, as
``BatchedInferencePipeline`` decodes) and one alignment pass for word timestamps; segments are
cut at sentence ends by the word times. Only a batch that mixes languages is split, one decode
per language, because the decoder prompt and the alignment carry the language token.

Results do not depend on what else was in the batch: every chunk is padded to 30 s exactly as a
single request would be, and the word-timing clean-up that faster-whisper carries from one segment
to the next (``last_speech_timestamp``) restarts for every chunk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from orchestrator.contracts.transcript import ChunkTranscript, Segment, Word, ends_sentence

# faster-whisper's own thresholds for "this window is silence" (transcribe.generate_segments).
_NO_SPEECH_THRESHOLD = 0.6
_LOG_PROB_THRESHOLD = -1.0
_PREPEND_PUNCTUATIONS = "\"'“¿([{-"
_APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
# Resuming unfinished tails: at most this many passes per batch; a pass must consume at least
# _MIN_PROGRESS_S, and a tail shorter than _MIN_TAIL_S is not worth another decode.
_MAX_PASSES = 4
_MIN_PROGRESS_S = 1.0
_MIN_TAIL_S = 1.0
# A chunk whose peak stays under -80 dBFS is silence and is not decoded.
_SILENT_PEAK = 1e-4
# Word-start snapping: "silence" is 40 dB below the chunk's loudest 10 ms frame, and a word keeps
# at least 50 ms.
_QUIET_RATIO = 10 ** (-40 / 20)
_MIN_WORD_FRAMES = 5


@dataclass(frozen=True)
class ChunkRequest:
    """One chunk to transcribe: 16 kHz mono float32 samples, and the language if known."""

    audio: np.ndarray
    language: str | None = None


@dataclass(frozen=True)
class DecodeOptions:
    beam_size: int = 5
    word_timestamps: bool = True
    # False: one decode per chunk without timestamp tokens (``BatchedInferencePipeline``'s
    # default, ``without_timestamps=True``), the segments cut at sentence ends by the word
    # times. True: the model decodes segment timestamps, stops at the last one it is sure of
    # and the unfinished tail is decoded again (faster-whisper's ``transcribe``): on a 10-min
    # talk (25 chunks in batches of 8, whisper base, int8, 2 threads, runs alternating) 32
    # chunk decodes in 7 passes, 43.9 and 46.4 s, against 25 in 4, 36.0 and 37.5 s, at word
    # error rates 0.056 and 0.050 (issue 18).
    segment_timestamps: bool = False


class _WhisperModel(WhisperModel):
    """``WhisperModel`` whose ``find_alignment`` can answer from alignments computed earlier.

    ``add_word_timestamps`` both aligns and post-processes, carrying state from one segment to
    the next. We align the whole batch in one call, then post-process chunk by chunk with fresh
    state, handing each call its precomputed alignment through ``_precomputed``.
    """

    _precomputed: list | None = None

    def find_alignment(self, tokenizer: Tokenizer, text_tokens: list, encoder_output: object,
                       num_frames: object, median_filter_width: int = 7) -> list:
        if self._precomputed is not None:
            return self._precomputed
        return super().find_alignment(tokenizer, text_tokens, encoder_output, num_frames,
                                      median_filter_width)


class WhisperBatchTranscriber:
    """Loads one CTranslate2 Whisper model and transcribes batches of independent chunks."""

    def __init__(self, model_dir: str, *, device: str = "cpu", device_index: int = 0,
                 compute_type: str = "int8", cpu_threads: int = 0,
                 options: DecodeOptions | None = None) -> None:
        self._model = _WhisperModel(model_dir, device=device, device_index=device_index,
                                    compute_type=compute_type, cpu_threads=cpu_threads)
        self._options = options or DecodeOptions()
        self._tokenizers: dict[str, Tokenizer] = {}

    @property
    def _default_language(self) -> str:
        return "" if self.multilingual else "en"

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    @property
    def supported_languages(self) -> list[str]:
        return self._model.supported_languages

    def check_language(self, language: str) -> None:
        """Raise ``ValueError`` for a language code this model cannot transcribe."""
        if language not in self.supported_languages:
            if not self.multilingual:
                raise ValueError(f"this whisper version is English-only; LANGUAGE {language!r} "
                                 "needs a multilingual version")
            raise ValueError(f"unknown LANGUAGE {language!r}; use an ISO 639-1 code such as 'en'")

    def transcribe(self, chunks: Sequence[ChunkRequest]) -> list[ChunkTranscript]:
        """Transcribe every chunk; the i-th result belongs to the i-th chunk.

        With segment timestamps (``DecodeOptions.segment_timestamps``), Whisper leaves a
        sentence that runs into the end of its window for the next window (the decode stops at
        the last timestamp it is sure of). faster-whisper's sequential ``transcribe`` resumes
        from there; so do we: the unfinished tails of a batch are decoded again, as a batch,
        until each chunk is consumed. Without them every chunk is decoded once.
        """
        for chunk in chunks:
            if chunk.language is not None:
                self.check_language(chunk.language)
        rate = self._model.feature_extractor.sampling_rate
        segments: list[list[Segment]] = [[] for _ in chunks]
        languages: list[str | None] = [c.language for c in chunks]
        # Digital silence holds no speech, and Whisper tends to hallucinate on it ("You").
        pending = [(i, 0.0, c.audio) for i, c in enumerate(chunks)
                   if float(np.max(np.abs(c.audio), initial=0.0)) > _SILENT_PEAK]
        for _ in range(_MAX_PASSES):
            if not pending:
                break
            decoded = self._transcribe_once(
                [ChunkRequest(audio, languages[i]) for i, _, audio in pending])
            follow: list[tuple[int, float, np.ndarray]] = []
            for (i, offset, audio), (transcript, consumed_s) in zip(pending, decoded, strict=True):
                languages[i] = transcript.language
                segments[i].extend(seg.shifted(offset) for seg in transcript.segments)
                rest = audio[round(consumed_s * rate):]
                if consumed_s >= _MIN_PROGRESS_S and len(rest) > _MIN_TAIL_S * rate:
                    follow.append((i, offset + consumed_s, rest))
            pending = follow
        return [ChunkTranscript(language=lang or self._default_language,
                                segments=tuple(_snap_to_onsets(segs, chunk.audio, rate)))
                for lang, segs, chunk in zip(languages, segments, chunks, strict=True)]

    def _transcribe_once(self, chunks: Sequence[ChunkRequest],
                         ) -> list[tuple[ChunkTranscript, float]]:
        """One pass over the batch: each chunk's transcript and the seconds it consumed."""
        features = np.stack([
            pad_or_trim(self._model.feature_extractor(c.audio)[..., :-1]) for c in chunks
        ])
        encoder_output = self._model.encode(features)
        languages = self._languages(chunks, encoder_output)
        groups: dict[str, list[int]] = {}
        for index, language in enumerate(languages):
            groups.setdefault(language, []).append(index)
        durations = [len(c.audio) / self._model.feature_extractor.sampling_rate for c in chunks]
        results: list[tuple[ChunkTranscript, float] | None] = [None] * len(chunks)
        for language, indices in groups.items():
            # A mixed-language batch is rare (clients send one video's chunks with one
            # LANGUAGE); each language group is encoded again on its own.
            encoded = (encoder_output if len(groups) == 1
                       else self._model.encode(features[indices]))
            decoded = self._decode(encoded, language, [durations[i] for i in indices])
            for index, result in zip(indices, decoded, strict=True):
                results[index] = result
        return [r for r in results if r is not None]

    def _languages(self, chunks: Sequence[ChunkRequest], encoder_output: object) -> list[str]:
        if not self.multilingual:
            return ["en"] * len(chunks)
        if all(c.language for c in chunks):
            return [c.language or "" for c in chunks]
        detected = [
            probs[0][0][2:-2]  # "<|de|>" -> "de"
            for probs in self._model.model.detect_language(encoder_output)
        ]
        return [c.language or d for c, d in zip(chunks, detected, strict=True)]

    def _tokenizer(self, language: str) -> Tokenizer:
        if language not in self._tokenizers:
            self._tokenizers[language] = Tokenizer(self._model.hf_tokenizer, self.multilingual,
                                                   task="transcribe", language=language)
        return self._tokenizers[language]

    def _decode(self, encoder_output: object, language: str,
                durations: list[float]) -> list[tuple[ChunkTranscript, float]]:
        model, options = self._model, self._options
        tokenizer = self._tokenizer(language)
        prompt = model.get_prompt(tokenizer, previous_tokens=[],
                                  without_timestamps=not options.segment_timestamps)
        results = model.model.generate(
            encoder_output,
            [list(prompt) for _ in durations],
            beam_size=options.beam_size,
            max_length=model.max_length,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            return_scores=True,
            return_no_speech_prob=True,
        )
        per_chunk: list[list[dict]] = []
        num_frames: list[int] = []
        consumed: list[float] = []
        for result, duration in zip(results, durations, strict=True):
            tokens = result.sequences_ids[0]
            avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            frames = int(math.ceil(duration) * model.frames_per_second)
            num_frames.append(frames)
            silent = (result.no_speech_prob > _NO_SPEECH_THRESHOLD
                      and avg_logprob < _LOG_PROB_THRESHOLD)
            if silent or not tokens:
                per_chunk.append([])
                consumed.append(duration)
                continue
            subsegments, seek, single_timestamp_ending = model._split_segments_by_timestamps(
                tokenizer=tokenizer, tokens=tokens, time_offset=0.0, segment_size=frames,
                segment_duration=duration, seek=0)
            consumed.append(duration if single_timestamp_ending
                            else min(duration, seek / model.frames_per_second))
            per_chunk.append([
                {"start": s["start"], "end": min(s["end"], duration), "tokens": s["tokens"],
                 "text": tokenizer.decode(s["tokens"]), "seek": 0}
                for s in subsegments if s["tokens"]
            ])
        if options.word_timestamps:
            self._add_words(per_chunk, tokenizer, encoder_output, num_frames)
            if not options.segment_timestamps:
                per_chunk = [[part for s in segs for part in _at_sentence_ends(s)]
                             for segs in per_chunk]
        return [(ChunkTranscript(language=language,
                                 segments=tuple(_segment(s) for s in segs if s["text"].strip())),
                 used)
                for segs, used in zip(per_chunk, consumed, strict=True)]

    def _add_words(self, per_chunk: list[list[dict]], tokenizer: Tokenizer,
                   encoder_output: object, num_frames: list[int]) -> None:
        model = self._model
        text_tokens = [[t for s in segs for t in s["tokens"] if t < tokenizer.eot]
                       for segs in per_chunk]
        alignments = model.find_alignment(tokenizer, text_tokens, encoder_output, num_frames)
        for segs, alignment, frames in zip(per_chunk, alignments, num_frames, strict=True):
            if not segs:
                continue
            model._precomputed = [alignment]
            try:
                model.add_word_timestamps([segs], tokenizer, encoder_output, [frames],
                                          _PREPEND_PUNCTUATIONS, _APPEND_PUNCTUATIONS, 0.0)
            finally:
                model._precomputed = None


def _snap_to_onsets(segments: list[Segment], audio: np.ndarray, rate: int) -> list[Segment]:
    """Move word starts that fall in silence forward to where the sound begins.

    Cross-attention alignment tends to start the first word after a pause at the pause's
    beginning (at 0.0 for a chunk that opens with silence). A word start is advanced, never
    moved back, and only across 10 ms frames quieter than -40 dB relative to the chunk's loudest
    frame; in noisy audio nothing is that quiet and nothing moves.
    """
    frame = rate // 100
    n = len(audio) // frame
    if n == 0 or not segments:
        return segments
    rms = np.sqrt(np.mean(np.square(audio[: n * frame].reshape(n, frame)), axis=1))
    quiet = rms < float(np.max(rms)) * _QUIET_RATIO

    def onset(start: float, end: float) -> float:
        i, last = int(start * 100), min(n, int(end * 100) - _MIN_WORD_FRAMES)
        while i < last and quiet[i]:
            i += 1
        return max(start, round(i / 100, 2))

    snapped = []
    for seg in segments:
        words = tuple(replace(w, start=onset(w.start, w.end)) for w in seg.words)
        start = words[0].start if words else seg.start
        snapped.append(replace(seg, start=max(seg.start, start), words=words))
    return snapped


def _at_sentence_ends(raw: dict) -> list[dict]:
    """A segment decoded without timestamps (a whole chunk) cut after each word that ends a
    sentence; each part timed by its words."""
    words = raw.get("words") or []
    parts: list[list[dict]] = [[]]
    for word in words:
        parts[-1].append(word)
        if ends_sentence(word["word"]):
            parts.append([])
    parts = [p for p in parts if p]
    if len(parts) < 2:
        return [raw]
    return [{**raw, "start": p[0]["start"], "end": p[-1]["end"], "words": p,
             "text": "".join(w["word"] for w in p)} for p in parts]


def _segment(raw: dict) -> Segment:
    words = tuple(
        Word(start=float(w["start"]), end=float(w["end"]), word=w["word"].strip(),
             probability=round(float(w["probability"]), 4))
        for w in raw.get("words", []) if w["word"].strip()
    )
    return Segment(start=round(float(raw["start"]), 3), end=round(float(raw["end"]), 3),
                   text=raw["text"].strip(), words=words)
