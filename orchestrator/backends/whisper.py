"""Triton python-backend model ``whisper``: speech to text with word timestamps.

Contract (``orchestrator.contracts.models.WHISPER``): ``AUDIO`` FP32 [-1] holds 16 kHz mono samples,
at most 30 s; optional ``LANGUAGE`` BYTES [1] is an ISO 639-1 code; ``TRANSCRIPT`` BYTES [1] is
``ChunkTranscript`` JSON with times relative to the chunk.

Every request the dynamic batcher hands to one ``execute`` call is decoded in one batch by
``WhisperBatchTranscriber``. A bad request (empty, NaN, too long, unknown language) gets its own
error response; the rest of the batch is answered normally.

Config parameters (``config.pbtxt`` / ``configs/cpu.pbtxt``):
  ``weights_dir``   CTranslate2 model folder, relative to the version folder (required);
  ``compute_type``  CTranslate2 compute type: ``float16`` on GPU, ``int8`` on CPU;
  ``cpu_threads``   threads for a KIND_CPU instance, ``0`` = the machine's cores shared out
                    among the model's CPU instances (``cpu_threads_per_instance``);
  ``beam_size``     beam width (faster-whisper's default is 5);
  ``segment_timestamps``  ``true``: decode Whisper's segment timestamps and resume unfinished
                    tails (faster-whisper's ``transcribe``); ``false`` (default): one decode per
                    chunk, as ``BatchedInferencePipeline`` (``whisper_batch.DecodeOptions``).
"""

from __future__ import annotations

import json
import os

import numpy as np

from orchestrator.backends.args import parameters, version_dir
from orchestrator.backends.whisper_batch import ChunkRequest, DecodeOptions, WhisperBatchTranscriber
from orchestrator.contracts.models import WHISPER, WHISPER_MAX_CHUNK_S, WHISPER_MAX_SAMPLES

_AUDIO = WHISPER.input("AUDIO").name
_LANGUAGE = WHISPER.input("LANGUAGE").name
_TRANSCRIPT = WHISPER.output("TRANSCRIPT").name


def check_audio(samples: np.ndarray) -> np.ndarray:
    """Validate one chunk's samples; return them as contiguous float32 or raise ``ValueError``."""
    if samples.ndim != 1:
        raise ValueError(f"{_AUDIO} must be one row of samples per batch entry, got shape "
                         f"{list(samples.shape)}")
    if samples.size == 0:
        raise ValueError(f"{_AUDIO} is empty")
    if samples.size > WHISPER_MAX_SAMPLES:
        raise ValueError(f"{_AUDIO} holds {samples.size / 16000:.1f} s; whisper takes at most "
                         f"{WHISPER_MAX_CHUNK_S:.0f} s of 16 kHz audio per request (split it with "
                         "VAD first)")
    if not np.all(np.isfinite(samples)):
        raise ValueError(f"{_AUDIO} contains NaN or infinite samples")
    return np.ascontiguousarray(samples, dtype=np.float32)


def _decode_language(value: object) -> str | None:
    raw = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    raw = raw.strip().lower()
    return raw or None


def cpu_threads_per_instance(config: dict, cores: int, asked: int = 0) -> int:
    """Threads for one KIND_CPU instance: ``asked`` when given, else the machine's ``cores``
    shared out among the model's CPU instances (``config``'s ``instance_group``), at least one.

    Several instances of few threads each beat one instance of every thread on CPU: each
    instance decodes its own batch (CTranslate2's data parallelism, ``docs/parallel.md`` at
    v4.6.0, the image's pin, and unchanged at v4.8.1: several workers, each with few
    intra-op threads), so no core waits at another's OpenMP barrier - nor, in a run, for a
    core the llm holds. Measured on 2 cores (10.7-min talk):
    ASR alone 34.0-37.7 s with two instances of one thread against 45.3-50.2 s with one of two.
    """
    if asked > 0:
        return asked
    instances = sum(int(group.get("count", 1)) for group in config.get("instance_group", [])
                    if group.get("kind", "KIND_CPU") == "KIND_CPU") or 1
    return max(1, cores // instances)


class TritonPythonModel:
    """The python-backend entry point; ``model_repository/whisper/<v>/model.py`` re-exports it."""

    def initialize(self, args: dict[str, str]) -> None:
        import triton_python_backend_utils as pb_utils

        self._pb = pb_utils
        self._log = pb_utils.Logger
        params = parameters(args)
        if "weights_dir" not in params:
            raise pb_utils.TritonModelException("whisper: config parameter 'weights_dir' missing")
        weights = version_dir(args) / params["weights_dir"]
        if not (weights / "model.bin").is_file():
            raise pb_utils.TritonModelException(
                f"whisper version {args['model_version']}: no CTranslate2 weights in {weights}; "
                "run `snapclip models fetch` (CPU profile: --profile cpu, GPU: --profile gpu)")
        gpu = args["model_instance_kind"] == "GPU"
        threads = cpu_threads_per_instance(json.loads(args["model_config"]),
                                           len(os.sched_getaffinity(0)) or 1,
                                           int(params.get("cpu_threads", "0") or 0))
        self._transcriber = WhisperBatchTranscriber(
            str(weights),
            device="cuda" if gpu else "cpu",
            device_index=int(args["model_instance_device_id"]) if gpu else 0,
            compute_type=params.get("compute_type", "float16" if gpu else "int8"),
            cpu_threads=0 if gpu else threads,
            options=DecodeOptions(
                beam_size=int(params.get("beam_size", "5")),
                segment_timestamps=params.get("segment_timestamps", "false").lower() == "true"),
        )
        self._log.log_info(
            f"whisper v{args['model_version']} loaded from {weights} on "
            f"{'cuda' if gpu else f'cpu, {threads} thread(s)'} ({params.get('compute_type')}), "
            f"multilingual={self._transcriber.multilingual}")

    def _chunks(self, request: object) -> list[ChunkRequest]:
        pb = self._pb
        audio = pb.get_input_tensor_by_name(request, _AUDIO).as_numpy()
        language_tensor = pb.get_input_tensor_by_name(request, _LANGUAGE)
        languages: list[str | None] = [None] * audio.shape[0]
        if language_tensor is not None:
            values = language_tensor.as_numpy().reshape(-1)
            if values.size != audio.shape[0]:
                raise ValueError(f"{_LANGUAGE} must hold one code per {_AUDIO} row")
            languages = [_decode_language(v) for v in values]
        chunks = [ChunkRequest(check_audio(row), lang) for row, lang in zip(audio, languages,
                                                                           strict=True)]
        for chunk in chunks:
            if chunk.language is not None:
                self._transcriber.check_language(chunk.language)
        return chunks

    def execute(self, requests: list) -> list:
        pb = self._pb
        responses: list[object | None] = [None] * len(requests)
        accepted: list[tuple[int, list[ChunkRequest]]] = []
        for index, request in enumerate(requests):
            try:
                accepted.append((index, self._chunks(request)))
            except ValueError as exc:
                responses[index] = pb.InferenceResponse(
                    error=pb.TritonError(f"whisper: {exc}", pb.TritonError.INVALID_ARG))
        if accepted:
            flat = [chunk for _, chunks in accepted for chunk in chunks]
            try:
                transcripts = iter(self._transcriber.transcribe(flat))
            except Exception as exc:  # noqa: BLE001 -- answer every request, keep serving
                self._log.log_error(f"whisper: batch of {len(flat)} failed: {exc!r}")
                for index, _ in accepted:
                    responses[index] = pb.InferenceResponse(
                        error=pb.TritonError(f"whisper: decoding failed: {exc}"))
            else:
                for index, chunks in accepted:
                    payload = np.array([[next(transcripts).to_json().encode("utf-8")]
                                        for _ in chunks], dtype=np.object_)
                    responses[index] = pb.InferenceResponse(
                        output_tensors=[pb.Tensor(_TRANSCRIPT, payload)])
        return responses

    def finalize(self) -> None:
        self._transcriber = None
