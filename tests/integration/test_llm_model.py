"""The ``llm`` model on the real local Triton: vLLM CPU in the python backend (versions 2, 3)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import jsonschema
import pytest

from orchestrator.contracts.sampling import structured_outputs
from orchestrator.paths import model_repository
from orchestrator.pipeline.text.rating import description_schema, streamed_title
from orchestrator.serving.client import ModelRequestError, TritonModels
from orchestrator.serving.local import LocalTriton
from tests.support import metric_value

pytestmark = pytest.mark.integration
CHAT = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"


def run(coro):
    return asyncio.run(coro)


async def pieces(url: str, prompt: str, sampling: dict, version: str,
                 stream: bool = False, exclude_input: bool = True) -> list[str]:
    async with TritonModels(url) as models:
        return [p async for p in models.generate(prompt, sampling, version=version,
                                                 stream=stream, exclude_input=exclude_input)]


@pytest.mark.parametrize("version", ["3", "2"])
def test_both_cpu_versions_answer(grpc_url: str, version: str):
    (text,) = run(pieces(grpc_url, CHAT.format("Say hello."),
                         {"temperature": 0, "max_tokens": 16, "seed": 1}, version))
    assert text.strip()
    again = run(pieces(grpc_url, CHAT.format("Say hello."),
                       {"temperature": 0, "max_tokens": 16, "seed": 1}, version))
    assert again == [text]  # temperature 0 + seed: repeatable


def test_input_in_output_and_stop_strings(grpc_url: str):
    prompt = CHAT.format("Count from one to ten in words, separated by commas.")
    sampling = {"temperature": 0, "max_tokens": 24, "seed": 1}
    (answer,) = run(pieces(grpc_url, prompt, sampling, "3"))
    (with_prompt,) = run(pieces(grpc_url, prompt, sampling, "3", exclude_input=False))
    assert with_prompt == prompt + answer
    stop = answer.strip()[:3]
    (stopped,) = run(pieces(grpc_url, prompt, {**sampling, "stop": [stop]}, "3"))
    assert stop not in stopped and len(stopped) < len(answer)


def test_bad_sampling_parameters_are_clean_errors(grpc_url: str):
    with pytest.raises(ModelRequestError, match="sampling_parameters"):
        run(pieces(grpc_url, "hi", {"temperature": "hot"}, "3"))
    with pytest.raises(ModelRequestError, match="sampling_parameters"):
        run(pieces(grpc_url, "hi", {"no_such_field": 1}, "3"))
    # The pinned vLLM backend calls json.loads on structured_outputs: a nested object fails
    # there, so it fails here too (contracts/sampling.py).
    nested = {"max_tokens": 8, "structured_outputs": {"json": description_schema()}}
    with pytest.raises(ModelRequestError, match="must be a JSON string"):
        run(pieces(grpc_url, "hi", nested, "3"))


def test_sampling_parameters_are_converted_as_the_pinned_backend_does(grpc_url: str):
    # "max_tokens" is Optional[int] in vLLM 0.11.0's SamplingParams: the backend calls int().
    (text,) = run(pieces(grpc_url, CHAT.format("Say hello."),
                         {"temperature": "0", "max_tokens": "3", "seed": "1"}, "3"))
    (same,) = run(pieces(grpc_url, CHAT.format("Say hello."),
                         {"temperature": 0, "max_tokens": 3, "seed": 1}, "3"))
    assert text == same


def test_streaming_yields_several_responses(grpc_url: str):
    sampling = {"temperature": 0, "max_tokens": 12, "seed": 1}
    streamed = run(pieces(grpc_url, CHAT.format("Count to ten."), sampling, "3", stream=True))
    (whole,) = run(pieces(grpc_url, CHAT.format("Count to ten."), sampling, "3"))
    assert len(streamed) > 1
    assert "".join(streamed) == whole


@pytest.mark.parametrize("version", ["2", "3"])
def test_structured_outputs_always_validate(grpc_url: str, version: str):
    schema = description_schema()
    prompt = CHAT.format("Pick the best moments of this talk as JSON. [0.0-20.0] Hello world.")

    async def all_seeds() -> list[str]:
        async with TritonModels(grpc_url) as models:
            async def one(seed: int) -> str:
                sampling = {"temperature": 1.0, "seed": seed, "max_tokens": 1536,
                            "structured_outputs": structured_outputs(
                                json=schema, disable_any_whitespace=True)}
                return "".join([p async for p in models.generate(prompt, sampling,
                                                                 version=version)])
            return await asyncio.gather(*(one(seed) for seed in range(20)))

    for text in run(all_seeds()):
        jsonschema.validate(json.loads(text), schema)


def test_prompt_longer_than_the_context_is_a_clean_error(grpc_url: str):
    with pytest.raises(ModelRequestError, match="llm"):
        run(pieces(grpc_url, "word " * 5000, {"max_tokens": 4}, "3"))
    (text,) = run(pieces(grpc_url, CHAT.format("Still there?"), {"max_tokens": 4}, "3"))
    assert text


def test_cancelled_stream_stops_generation(grpc_url: str, triton: LocalTriton):
    assert triton.endpoints is not None
    labels = {"model": "llm", "version": "3"}

    def cancelled() -> float:
        text = httpx.get(triton.endpoints.metrics_url, timeout=10).text
        return metric_value(text, "snapclip_llm_cancelled_total", **labels)

    before = cancelled()

    async def read_two_then_cancel() -> int:
        async with TritonModels(grpc_url) as models:
            stream = models.generate(CHAT.format("Tell me a very long story."),
                                     {"temperature": 0, "max_tokens": 1500, "ignore_eos": True},
                                     version="3", stream=True)
            received = 0
            async for _ in stream:
                received += 1
                if received == 2:
                    break
            await stream.aclose()  # cancels the gRPC stream
            return received

    assert run(read_two_then_cancel()) == 2
    deadline = time.monotonic() + 30
    while cancelled() <= before:
        assert time.monotonic() < deadline, "the engine never saw the cancellation"
        time.sleep(0.5)


def test_logprobs_and_token_counts_as_the_pinned_backend_returns_them(grpc_url: str):
    """The optional return_* inputs of vllm_backend r25.11 (contracts: LLM_ADDITIONAL_OUTPUTS)."""
    async def go() -> tuple:
        async with TritonModels(grpc_url) as models:
            rated = await models.complete(CHAT.format("Pick a digit from 0 to 9."),
                                          {"temperature": 0, "max_tokens": 1, "logprobs": 5},
                                          version="3")
            plain = await models.complete(CHAT.format("Say hello."),
                                          {"temperature": 0, "max_tokens": 6}, version="3")
            return rated, plain

    rated, plain = run(go())
    assert rated.output_tokens == 1 and rated.input_tokens > 5
    (top,) = rated.logprobs
    assert 1 <= len(top) <= 6 and all(lp <= 0 for _, lp in top)
    assert rated.text in {token for token, _ in top}  # temperature 0: the most likely token
    assert plain.logprobs == () and plain.output_tokens <= 6 and plain.text


def test_passages_are_judged_by_the_served_model(grpc_url: str):
    from orchestrator.pipeline.text.llm import load_tokenizer
    from orchestrator.pipeline.text.rating import PassageJudge
    from orchestrator.pipeline.types import KINDS

    tokenizer = load_tokenizer(str(model_repository() / "llm" / "3" / "hf"))

    written: list[str] = []  # the streamed description, as it grew

    class Streamed(TritonModels):
        async def complete(self, *args, on_text=None, **kwargs):  # type: ignore[no-untyped-def]
            def grew(text: str) -> None:
                written.append(text)
                on_text(text)

            return await super().complete(*args, on_text=grew if on_text else None, **kwargs)

    async def go() -> tuple:
        async with Streamed(grpc_url) as models:
            judge = PassageJudge(models, tokenizer, "3", 2048)
            passage = "The cheap microphone close to your mouth beats the expensive one."
            return (await judge.rate(passage),
                    await judge.describe(passage, lambda title: heard.append(title)),
                    await judge.rate(passage, "where to put the microphone"))

    heard: list[str] = []
    rating, description, steered = run(go())
    assert rating.label in KINDS and 0.0 <= rating.rating <= 9.0
    assert rating.tokens_out >= 2  # a kind word (choice) and one rating digit
    assert rating.relevance is None  # no topic, no third question
    assert description.title and description.reason  # schema-valid JSON, whatever it says
    # Streamed, the title is heard once, as the whole answer has it, and before the reason is
    # written (the render starts on it): the schema's first property comes first.
    assert heard == [description.title]
    assert written[-1].startswith('{"title":')
    assert streamed_title(written[0]) is None and streamed_title(written[-2]) == heard[0]
    # With a topic the model is asked how closely the passage matches it: one more digit.
    assert steered.relevance is not None and 0.0 <= steered.relevance <= 9.0
    assert steered.tokens_out == rating.tokens_out + 1
    assert steered.tokens_in > rating.tokens_in

