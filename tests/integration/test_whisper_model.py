"""The ``whisper`` model on the real local Triton (CPU profile: versions 1 and 2)."""

from __future__ import annotations

import difflib
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from orchestrator.contracts.models import WHISPER_SAMPLE_RATE
from orchestrator.contracts.transcript import ChunkTranscript
from orchestrator.serving.local import LocalTriton
from tests.support import (
    SENTENCES,
    metric_value,
    normalize_words,
    silence,
    spoken,
    word_error_rate,
)

pytestmark = pytest.mark.integration
LEAD_S = 0.5


@pytest.fixture(scope="module")
def client(grpc_url: str):
    with grpcclient.InferenceServerClient(grpc_url) as c:
        yield c


def _request(audio: np.ndarray, language: str | None = None) -> list:
    batch = audio if audio.ndim == 2 else audio[np.newaxis, :]
    tensor = grpcclient.InferInput("AUDIO", list(batch.shape),
                                   "FP64" if batch.dtype == np.float64 else "FP32")
    tensor.set_data_from_numpy(batch)
    inputs = [tensor]
    if language is not None:
        lang = grpcclient.InferInput("LANGUAGE", [batch.shape[0], 1], "BYTES")
        lang.set_data_from_numpy(np.array([[language.encode()]] * batch.shape[0], dtype=object))
        inputs.append(lang)
    return inputs


def transcribe(client, audio: np.ndarray, version: str,
               language: str | None = None) -> list[ChunkTranscript]:
    result = client.infer("whisper", _request(audio, language), model_version=version)
    return [ChunkTranscript.from_json(v) for v in result.as_numpy("TRANSCRIPT").reshape(-1)]


def text_of(transcript: ChunkTranscript) -> str:
    return " ".join(s.text for s in transcript.segments)


def test_cpu_profile_serves_versions_1_and_2(client):
    assert client.is_model_ready("whisper", "1")
    assert client.is_model_ready("whisper", "2")
    assert not client.is_model_ready("whisper", "3")  # large-v3 is the GPU profile's


@pytest.mark.parametrize("version", ["1", "2"])
def test_espeak_sentence_wer_and_word_onsets(client, version):
    speech = spoken(SENTENCES[0])
    audio = np.concatenate([silence(LEAD_S), speech.audio, silence(LEAD_S)])
    (result,) = transcribe(client, audio, version)
    assert result.language == "en"
    words = [w for s in result.segments for w in s.words]
    hypothesis = " ".join(w.word for w in words)
    assert word_error_rate(speech.text, hypothesis) <= 0.25, hypothesis

    # Pair reference words with the recognised words they align to; compare their onsets.
    reference = normalize_words(speech.text)
    recognised = [" ".join(normalize_words(w.word)) for w in words]
    matcher = difflib.SequenceMatcher(a=reference, b=recognised, autojunk=False)
    pairs = [(reference[block.a + k], speech.onsets_s[block.a + k] + LEAD_S,
              words[block.b + k].start)
             for block in matcher.get_matching_blocks() for k in range(block.size)]
    assert len(pairs) >= 0.75 * len(speech.onsets_s)
    late = [(w, round(t, 2), s) for w, t, s in pairs if abs(s - t) > 0.5]
    assert not late, f"word starts more than 0.5 s from the measured onset: {late}"


def test_multilingual_version_detects_and_accepts_language(client):
    audio = spoken(SENTENCES[1]).audio
    (detected,) = transcribe(client, audio, "2")
    (given,) = transcribe(client, audio, "2", language="en")
    assert detected.language == given.language == "en"
    assert word_error_rate(SENTENCES[1], text_of(given)) <= 0.25


def test_one_request_may_carry_several_equal_length_rows(client):
    a = spoken(SENTENCES[2]).audio
    b = spoken(SENTENCES[3]).audio
    n = max(len(a), len(b))
    rows = np.stack([np.pad(a, (0, n - len(a))), np.pad(b, (0, n - len(b)))])
    first, second = transcribe(client, rows, "1")
    assert word_error_rate(SENTENCES[2], text_of(first)) <= 0.25
    assert word_error_rate(SENTENCES[3], text_of(second)) <= 0.25


def test_concurrent_requests_are_batched_and_match_sequential(client, grpc_url, triton):
    assert triton.endpoints is not None
    chunks = [np.concatenate([silence(0.3), spoken(s).audio]) for s in SENTENCES]
    sequential = [text_of(transcribe(client, c, "1")[0]) for c in chunks]

    def metrics() -> str:
        return httpx.get(triton.endpoints.metrics_url, timeout=10).text

    before = metrics()

    def one(chunk: np.ndarray) -> str:
        with grpcclient.InferenceServerClient(grpc_url) as own:
            return text_of(transcribe(own, chunk, "1")[0])

    with ThreadPoolExecutor(len(chunks)) as pool:
        concurrent = list(pool.map(one, chunks))
    after = metrics()

    assert concurrent == sequential
    labels = {"model": "whisper", "version": "1"}
    count = (metric_value(after, "nv_inference_count", **labels)
             - metric_value(before, "nv_inference_count", **labels))
    executions = (metric_value(after, "nv_inference_exec_count", **labels)
                  - metric_value(before, "nv_inference_exec_count", **labels))
    assert count == len(chunks)
    assert executions < count, f"{count} requests ran in {executions} executions: no batching"
    for text, sentence in zip(concurrent, SENTENCES, strict=True):
        assert word_error_rate(sentence, text) <= 0.25, text


@pytest.mark.parametrize(
    ("audio", "version", "language", "message"),
    [
        (np.zeros(0, dtype=np.float32), "1", None, "empty"),
        (np.array([0.0, np.nan, 0.1] * 1000, dtype=np.float32), "1", None, "NaN"),
        (np.zeros(WHISPER_SAMPLE_RATE * 31, dtype=np.float32), "1", None, "at most 30 s"),
        (np.zeros(WHISPER_SAMPLE_RATE, dtype=np.float64), "1", None, "FP"),
        (np.zeros(WHISPER_SAMPLE_RATE, dtype=np.float32), "1", "de", "English-only"),
        (np.zeros(WHISPER_SAMPLE_RATE, dtype=np.float32), "2", "xx", "unknown LANGUAGE"),
    ],
    ids=["empty", "nan", "too-long", "wrong-dtype", "english-only", "unknown-language"],
)
def test_bad_requests_get_clean_errors(client, audio, version, language, message):
    with pytest.raises(InferenceServerException) as info:
        transcribe(client, audio, version, language)
    assert message in info.value.message()


def test_server_keeps_serving_after_bad_requests(client, grpc_url):
    bad = np.full(WHISPER_SAMPLE_RATE, np.inf, dtype=np.float32)
    good = spoken(SENTENCES[4]).audio

    def send(audio: np.ndarray) -> str:
        with grpcclient.InferenceServerClient(grpc_url) as own:
            try:
                return text_of(transcribe(own, audio, "1")[0])
            except InferenceServerException as exc:
                return f"error: {exc.message()}"

    # Bad and good requests in the same dynamic batch: only the bad ones fail.
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, [bad, good, bad, good]))
    assert answers[0].startswith("error:") and "infinite" in answers[0]
    assert answers[2].startswith("error:")
    assert word_error_rate(SENTENCES[4], answers[1]) <= 0.25
    assert answers[1] == answers[3]
    assert client.is_server_live() and client.is_model_ready("whisper", "1")


def test_silence_gives_no_segments(client):
    (result,) = transcribe(client, silence(5.0), "1")
    assert result.segments == ()


def test_server_is_local_only(triton: LocalTriton):
    assert triton.endpoints is not None
    for endpoint in (triton.endpoints.http, triton.endpoints.grpc, triton.endpoints.metrics):
        assert endpoint.startswith("127.0.0.1:")
