"""``sampling_parameters`` by the pinned vLLM backend's rules (vllm_backend r25.11,
src/utils/vllm_backend_utils.py): what the orchestrator sends passes them, what the cluster
would refuse is refused here too. The CPU ``llm`` backend parses with the same function."""

from __future__ import annotations

import json

import pytest

from orchestrator.contracts.sampling import (
    PINNED_VLLM,
    SamplingParametersError,
    parse,
    recorded,
    structured_outputs,
)
from orchestrator.pipeline.text.rating import PassageJudge, description_schema


def test_the_recorded_fields_are_the_pinned_vllms():
    fields = recorded("sampling_params")
    assert fields["max_tokens"] == "Optional[int]" and fields["temperature"] == "float"
    assert fields["structured_outputs"] == "Optional[StructuredOutputsParams]"
    assert "json" in recorded("structured_outputs_params")
    assert PINNED_VLLM == "0.11.0"


def test_the_orchestrators_requests_pass():
    import asyncio
    import contextlib

    sent = []

    class Models:
        async def complete(self, prompt: str, sampling: dict, *, version: str,
                           on_text: object = None) -> object:
            sent.append(sampling)
            raise RuntimeError("not served")

    class Tokenizer:
        def apply_chat_template(self, messages: list, **_: object) -> str:
            return messages[0]["content"]

        def encode(self, text: str) -> list[str]:
            return text.split()

    judge = PassageJudge(Models(), Tokenizer(), "4", 4096)  # type: ignore[arg-type]
    for call in (judge.rate, judge.classify, judge.describe):
        with contextlib.suppress(RuntimeError):
            asyncio.run(call("A passage."))
    digit, kind, describe = sent  # each call stops at its first request
    fields, structured = parse(json.dumps(digit))
    assert fields["max_tokens"] == 1 and fields["logprobs"] == 20 and structured is None
    fields, choice = parse(json.dumps(kind))
    assert fields["max_tokens"] == 8 and choice is not None and "highlight" in choice["choice"]
    fields, structured = parse(json.dumps(describe))
    assert isinstance(describe["structured_outputs"], str)
    assert structured == {"json": description_schema(), "disable_any_whitespace": True}
    assert fields["max_tokens"] == 120


def test_a_nested_structured_outputs_object_is_refused():
    with pytest.raises(SamplingParametersError, match="must be a JSON string"):
        parse(json.dumps({"structured_outputs": {"json": {"type": "object"}}}))


@pytest.mark.parametrize(("params", "message"), [
    ({"no_such_field": 1}, "unknown key 'no_such_field'"),
    ({"temperature": "hot"}, "temperature='hot' is not float"),
    ({"max_tokens": None}, "is not Optional\\[int\\]"),  # int(None) fails upstream too
    ({"structured_outputs": "{\"jsn\": {}}"}, "unknown fields \\['jsn'\\]"),
    ({"structured_outputs": "{\"json\": {}, \"regex\": \"a\"}"}, "only one kind"),
    ({"structured_outputs": "not json"}, "structured_outputs is not JSON"),
])
def test_what_upstream_refuses_is_refused(params, message):
    with pytest.raises(SamplingParametersError, match=message):
        parse(json.dumps(params))


def test_values_are_converted_by_the_annotations_type():
    fields, _ = parse(json.dumps({"temperature": "0.5", "max_tokens": "12", "seed": 3.0,
                                  "ignore_eos": "false", "stop": ["\n"], "lora_name": "x"}))
    assert fields["temperature"] == 0.5 and fields["max_tokens"] == 12 and fields["seed"] == 3
    # bool("false") is True: upstream converts by calling the type, and so do we.
    assert fields["ignore_eos"] is True
    assert fields["stop"] == ["\n"] and fields["lora_name"] == "x"  # passed on unchanged


def test_structured_outputs_is_written_as_a_json_string():
    value = structured_outputs(json={"type": "object"}, disable_any_whitespace=True)
    assert json.loads(value) == {"json": {"type": "object"}, "disable_any_whitespace": True}
    assert parse(json.dumps({"structured_outputs": value}))[1] is not None
    assert parse("") == ({}, None)
    with pytest.raises(SamplingParametersError, match="JSON object"):
        parse("[1]")
