"""``sampling_parameters`` of the ``llm`` model, by the rules of the pinned Triton vLLM backend.

The GPU profile's ``vllm`` backend (vllm_backend r25.11, ``src/utils/vllm_backend_utils.py``,
``TritonSamplingParams.from_dict``) reads the tensor as a JSON object and then:

- ``"structured_outputs"``: ``StructuredOutputsParams(**json.loads(value))`` - the value is a
  JSON *string* holding e.g. ``{"json": schema}``; a nested object fails (``json.loads`` of a
  dict), and so does an unknown field of it;
- a key that ``SamplingParams`` annotates as ``int``, ``float``, ``bool``, ``str`` or
  ``Optional[int]`` is converted by calling that type (so ``"0.5"`` becomes 0.5, ``"false"``
  becomes True and ``null`` fails for ``Optional[int]``);
- every other key is passed on unchanged, and one ``SamplingParams`` does not have (besides
  ``lora_name``) fails its constructor.

Any failure fails the request. The keys and types are vLLM 0.11.0's, the vLLM of the pinned
image, recorded in ``upstream/vllm-0.11.0.json`` by ``scripts/record_upstream.py``. The CPU
profile's backend parses with ``parse`` below and the orchestrator builds its requests with
``structured_outputs``, so a request that works on a laptop works on the cluster, and one the
cluster refuses is refused here too - with a message that says why.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

PINNED_VLLM = "0.11.0"  # the vLLM of nvcr.io/nvidia/tritonserver:25.11-vllm-python-py3

# TritonSamplingParams.from_dict's type_mapping, by the annotation's spelling.
_CONVERTED = {"int": int, "float": float, "bool": bool, "str": str, "Optional[int]": int}
# TritonSamplingParams adds this one field to SamplingParams.
_TRITON_FIELDS = {"lora_name"}


class SamplingParametersError(ValueError):
    """The pinned vLLM backend would fail a request with these sampling parameters."""


@functools.cache
def recorded(name: str) -> dict[str, str]:
    """Field -> annotation of a recorded vLLM class (``engine_args``, ``sampling_params``,
    ``structured_outputs_params``), from ``upstream/vllm-<PINNED_VLLM>.json``."""
    data = json.loads(resources.files("orchestrator.contracts").joinpath(
        f"upstream/vllm-{PINNED_VLLM}.json").read_text())
    return dict(data[name]["fields"])


def structured_outputs(**constraint: Any) -> str:
    """The ``structured_outputs`` value the pinned backend parses: a JSON string."""
    return json.dumps(constraint, separators=(",", ":"))


def parse(text: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The ``SamplingParams`` keyword arguments and the ``StructuredOutputsParams`` ones (or
    None) that the pinned backend would build from ``text``.

    Raises:
      SamplingParametersError: where the pinned backend fails the request.
    """
    try:
        params = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise SamplingParametersError(f"sampling_parameters is not JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise SamplingParametersError("sampling_parameters must be a JSON object")
    fields = recorded("sampling_params")
    structured = None
    for key, value in params.items():
        if key == "structured_outputs":
            structured = _structured(value)
        elif key in _TRITON_FIELDS:
            continue
        elif key not in fields:
            raise SamplingParametersError(
                f"sampling_parameters: unknown key {key!r} (vLLM {PINNED_VLLM}'s SamplingParams "
                "has no such field)")
        elif fields[key] in _CONVERTED:
            try:
                params[key] = _CONVERTED[fields[key]](value)
            except (TypeError, ValueError) as exc:
                raise SamplingParametersError(
                    f"sampling_parameters: {key}={value!r} is not {fields[key]}") from exc
    params.pop("structured_outputs", None)
    return params, structured


def _structured(value: Any) -> dict[str, Any]:
    if not isinstance(value, str | bytes | bytearray):
        raise SamplingParametersError(
            "sampling_parameters: structured_outputs must be a JSON string, e.g. "
            "\"{\\\"json\\\": {...}}\" (the pinned vLLM backend calls json.loads on it), "
            f"not a nested {type(value).__name__}")
    try:
        constraint = json.loads(value)
    except json.JSONDecodeError as exc:
        raise SamplingParametersError(
            f"sampling_parameters: structured_outputs is not JSON: {exc}") from exc
    if not isinstance(constraint, dict):
        raise SamplingParametersError("sampling_parameters: structured_outputs must hold a "
                                      "JSON object")
    unknown = sorted(set(constraint) - set(recorded("structured_outputs_params")))
    if unknown:
        raise SamplingParametersError(
            f"sampling_parameters: structured_outputs has unknown fields {unknown} "
            f"(vLLM {PINNED_VLLM}'s StructuredOutputsParams)")
    kinds = [k for k in ("json", "regex", "choice", "grammar", "json_object")
             if constraint.get(k) is not None]
    if len(kinds) > 1:
        raise SamplingParametersError(
            f"sampling_parameters: structured_outputs sets {kinds}; only one kind of "
            "constraint is allowed")
    return constraint
