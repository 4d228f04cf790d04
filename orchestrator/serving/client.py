"""The orchestrator's only door to Triton: an asyncio gRPC client with user-facing errors.

Stages call ``TritonModels.infer`` with a model contract and numpy arrays; transport failures
and unready models become ``ModelServerError`` (CLI exit 3) with one clear line, and errors a
model returns for a request become ``ModelRequestError``.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from orchestrator.contracts.models import LLM, LLM_ADDITIONAL_OUTPUTS, ModelContract
from orchestrator.errors import ModelServerError, SnapclipError

_UNAVAILABLE = ("StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED", "StatusCode.CANCELLED")


class ModelRequestError(SnapclipError):
    """A model rejected or failed one request."""


@dataclass(frozen=True)
class Completion:
    """One whole ``llm`` answer."""

    text: str
    # Per generated token, its top alternatives: (decoded token, log-probability).
    logprobs: tuple[tuple[tuple[str, float], ...], ...]
    input_tokens: int
    output_tokens: int


def _is_transport_failure(exc: InferenceServerException) -> bool:
    return str(exc.status()) in _UNAVAILABLE


# Told of every finished request: (model, seconds, None or the error kind).
RequestObserver = Callable[[str, float, str | None], None]


class TritonModels:
    """Async client for one Triton server at ``url`` (``host:port`` of its gRPC endpoint).

    ``observer``, when given, is told of every finished ``infer``/``generate`` request: the
    model, its seconds, and ``None``, ``"unavailable"`` (transport) or ``"request"`` (the model
    refused it) - the service's metrics.
    """

    def __init__(self, url: str, *, timeout_s: float = 600.0,
                 observer: RequestObserver | None = None) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._client = grpcclient.InferenceServerClient(url=url)
        self._observer = observer

    def _observe(self, model: str, start: float, error: str | None) -> None:
        if self._observer is not None:
            self._observer(model, time.perf_counter() - start, error)

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> TritonModels:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def is_ready(self, model: str, version: str = "") -> bool:
        """Whether the model (version) is ready; ``ModelServerError`` when Triton is not live."""
        try:
            live = await self._client.is_server_live(client_timeout=10)
            ready = live and await self._client.is_model_ready(model, version, client_timeout=10)
        except InferenceServerException as exc:
            raise ModelServerError(
                f"Triton at {self.url} is unreachable ({exc.message()})") from exc
        if not live:
            raise ModelServerError(f"Triton at {self.url} is not live")
        return bool(ready)

    async def require_ready(self, model: str, version: str = "") -> None:
        """Raise ``ModelServerError`` unless the server is live and the model version ready."""
        label = f"{model}" + (f" version {version}" if version else "")
        if not await self.is_ready(model, version):
            raise ModelServerError(f"model {label} is not ready on Triton at {self.url}")

    async def resolve_version(self, model: str, version: str = "") -> str:
        """Check the model is ready and return the version that will answer.

        An empty ``version`` means the newest ready version, which Triton would pick anyway;
        resolving it once lets a job pin every request to one version and record it.
        """
        await self.require_ready(model, version)
        if version:
            return version
        try:
            metadata = await self._client.get_model_metadata(model, client_timeout=10)
        except InferenceServerException as exc:
            raise ModelServerError(f"cannot read {model} metadata from Triton at {self.url} "
                                   f"({exc.message()})") from exc
        return str(max(int(v) for v in metadata.versions))

    async def infer(self, contract: ModelContract, inputs: Mapping[str, np.ndarray], *,
                    version: str = "") -> dict[str, np.ndarray]:
        """Send one request; ``inputs`` are named as in ``contract`` and include the batch dim."""
        tensors = []
        for name, array in inputs.items():
            spec = contract.input(name)
            tensor = grpcclient.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            if np_to_triton_dtype(array.dtype) != spec.datatype:
                raise TypeError(f"{contract.name}.{name} is {spec.datatype}, got {array.dtype}")
            tensor.set_data_from_numpy(array)
            tensors.append(tensor)
        outputs = [grpcclient.InferRequestedOutput(o.name) for o in contract.outputs]
        start = time.perf_counter()
        try:
            result = await self._client.infer(contract.name, tensors, model_version=version,
                                              outputs=outputs, client_timeout=self.timeout_s)
        except InferenceServerException as exc:
            transport = _is_transport_failure(exc)
            self._observe(contract.name, start, "unavailable" if transport else "request")
            if transport:
                raise ModelServerError(
                    f"Triton at {self.url} failed during a {contract.name} request "
                    f"({exc.message()})") from exc
            raise ModelRequestError(f"{contract.name}: {exc.message()}") from exc
        self._observe(contract.name, start, None)
        return {o.name: result.as_numpy(o.name) for o in contract.outputs}

    async def generate(self, prompt: str, sampling: Mapping[str, object], *,
                       model: str = LLM.name, version: str = "", stream: bool = False,
                       exclude_input: bool = True) -> AsyncIterator[str]:
        """Ask the decoupled ``llm`` model; yields text pieces (one, unless ``stream``)."""
        async for result in self._responses(prompt, sampling, model=model, version=version,
                                            stream=stream, exclude_input=exclude_input):
            for piece in result.as_numpy("text_output").reshape(-1):
                yield piece.decode("utf-8") if isinstance(piece, bytes) else str(piece)

    async def complete(self, prompt: str, sampling: Mapping[str, object], *,
                       model: str = LLM.name, version: str = "",
                       on_text: Callable[[str], None] | None = None) -> Completion:
        """One whole answer with its token counts and, when ``sampling`` asks for
        ``logprobs``, the top log-probabilities of every generated token.

        With ``on_text`` the answer is streamed and ``on_text`` hears the text so far after
        each piece (each streamed response holds only what is new: vllm_backend r25.11,
        src/utils/request.py ``create_response``; the counts add up the same way).
        """
        flags = ["return_num_input_tokens", "return_num_output_tokens"]
        if sampling.get("logprobs"):
            flags.append("return_logprobs")
        text, logprobs, tokens_in, tokens_out = "", [], 0, 0
        async for result in self._responses(prompt, sampling, model=model, version=version,
                                            stream=on_text is not None, exclude_input=True,
                                            flags=flags):
            text += "".join(p.decode("utf-8") if isinstance(p, bytes) else str(p)
                            for p in result.as_numpy("text_output").reshape(-1))
            if on_text is not None:
                on_text(text)
            tokens_in = int(result.as_numpy("num_input_tokens").reshape(-1)[0])
            tokens_out += int(result.as_numpy("num_output_tokens").reshape(-1)[0])
            if "return_logprobs" in flags:
                raw = result.as_numpy("logprobs").reshape(-1)[0]
                steps = json.loads(raw) or []
                logprobs += [tuple((entry["decoded_token"], entry["logprob"])
                                   for entry in step.values()) for step in steps]
        return Completion(text, tuple(logprobs), tokens_in, tokens_out)

    async def _responses(self, prompt: str, sampling: Mapping[str, object], *, model: str,
                         version: str, stream: bool, exclude_input: bool,
                         flags: Sequence[str] = ()) -> AsyncIterator[Any]:
        """The raw responses of one request to a decoupled model over gRPC's bidirectional
        stream: one request is sent, the send side closes, and the server's responses arrive
        until its final one."""
        inputs = []
        for name, value, datatype in (
            ("text_input", np.array([prompt.encode("utf-8")], dtype=np.object_), "BYTES"),
            ("stream", np.array([stream]), "BOOL"),
            ("sampling_parameters",
             np.array([json.dumps(dict(sampling)).encode()], dtype=np.object_), "BYTES"),
            ("exclude_input_in_output", np.array([exclude_input]), "BOOL"),
            *((flag, np.array([True]), "BOOL") for flag in flags),
        ):
            tensor = grpcclient.InferInput(name, [1], datatype)
            tensor.set_data_from_numpy(value)
            inputs.append(tensor)
        wanted = ["text_output", *(LLM_ADDITIONAL_OUTPUTS[flag].name for flag in flags)]

        async def request() -> AsyncIterator[dict]:
            yield {"model_name": model, "model_version": version, "inputs": inputs,
                   "outputs": [grpcclient.InferRequestedOutput(name) for name in wanted]}

        responses = self._client.stream_infer(request(), stream_timeout=self.timeout_s)
        start, failure = time.perf_counter(), None
        try:
            async for result, error in responses:
                if error is not None:
                    if _is_transport_failure(error):
                        failure = "unavailable"
                        raise ModelServerError(f"Triton at {self.url} failed during an {model} "
                                               f"request ({error.message()})")
                    failure = "request"
                    raise ModelRequestError(f"{model}: {error.message()}")
                yield result
        except InferenceServerException as exc:
            failure = "unavailable"
            raise ModelServerError(f"Triton at {self.url} is unreachable ({exc.message()})"
                                   ) from exc
        finally:
            responses.cancel()
            self._observe(model, start, failure)
