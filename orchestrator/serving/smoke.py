"""The operators' smoke check of an installed snapclip Triton (``snapclip smoke``).

Run against a cluster (``helm test`` runs it) or a GPU machine, it answers "does every model
work here?" with real requests, not only readiness:

1. every version of every model is READY;
2. ``whisper``: a synthesized sentence comes back as its words;
3. ``clip_image`` + ``clip_text``: a picture and captions become unit-length embeddings of one
   size; with real CLIP weights the caption that describes the picture ranks first;
4. ``llm``: a structured-output request (the schema the pipeline asks a passage's title
   and reason in) answers JSON that validates against it;
5. optionally a short perf_analyzer sweep per model (``--perf-seconds``).

Each check is a row of the table; any failed row makes the exit status non-zero.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from orchestrator.contracts.clip import CLIP_METADATA, ClipMetadata
from orchestrator.contracts.models import CLIP_IMAGE, CLIP_TEXT, LLM, WHISPER
from orchestrator.contracts.sampling import structured_outputs
from orchestrator.contracts.transcript import ChunkTranscript
from orchestrator.errors import SnapclipError
from orchestrator.serving.client import TritonModels

SENTENCE = "Please remember to water the garden every morning before work."
REQUESTS_PER_WINDOW = 2  # at the highest concurrency, per perf_analyzer window
CAPTIONS = ("a plain red picture", "a photo of a dog running on grass",
            "a page of printed text")  # the first describes the picture sent


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass(frozen=True)
class SmokeSettings:
    url: str
    llm_schema: dict[str, Any]  # what the llm's structured answer must validate against
    clip_weights: str = "auto"  # real | random | auto (read clip.json where it is at hand)
    model_repository: Path | None = None
    perf_seconds: int = 0  # 0: no perf_analyzer sweep
    llm_version: str = ""  # the llm version to ask ("" = the newest served)
    perf_out: Path | None = None


def run(settings: SmokeSettings) -> list[Check]:
    """Every check, in order; a check that raises is a failed row, never an exception."""
    return asyncio.run(_run(settings))


async def _run(settings: SmokeSettings) -> list[Check]:
    checks: list[Check] = []
    async with TritonModels(settings.url, timeout_s=300) as models:
        async def record(name: str, work: Callable[[], Awaitable[str]]) -> None:
            start = time.perf_counter()
            try:
                detail, ok = await work(), True
            except (SnapclipError, AssertionError, ValueError) as exc:
                detail, ok = str(exc).splitlines()[0] if str(exc) else type(exc).__name__, False
            checks.append(Check(name, ok, detail, round(time.perf_counter() - start, 2)))

        await record("models ready", lambda: _ready(settings.url))
        await record(f"{WHISPER.name}: speech to text", lambda: _whisper(models))
        await record(f"{CLIP_IMAGE.name} + {CLIP_TEXT.name}: embeddings",
                     lambda: _clip(models, settings))
        await record(f"{LLM.name}: structured output", lambda: _llm(models, settings))
    if settings.perf_seconds > 0:
        # How long one request took, per swept model: a measurement window must hold several.
        took = {c.name.split(":")[0]: c.seconds for c in checks}
        latency = {"whisper": took.get(WHISPER.name, 1.0),
                   "clip_image": took.get(f"{CLIP_IMAGE.name} + {CLIP_TEXT.name}", 1.0) / 4,
                   "clip_text": took.get(f"{CLIP_IMAGE.name} + {CLIP_TEXT.name}", 1.0) / 4,
                   # The check writes a few dozen tokens, a perf request 16.
                   "llm": took.get(LLM.name, 1.0) / 4}
        checks += await asyncio.to_thread(_perf, settings, latency)
    return checks


async def _ready(url: str) -> str:
    """Every version of every model in the repository index is READY."""
    import tritonclient.grpc.aio as grpcclient
    from tritonclient.utils import InferenceServerException

    client = grpcclient.InferenceServerClient(url)
    try:
        index = (await client.get_model_repository_index()).models
    except InferenceServerException as exc:
        raise SnapclipError(f"Triton at {url} does not answer: {exc.message()}") from exc
    finally:
        await client.close()
    served = {m.name for m in index}
    missing = sorted({"whisper", "clip_image", "clip_text", "llm"} - served)
    not_ready = sorted(f"{m.name} v{m.version or '?'} ({m.state or 'UNAVAILABLE'}"
                       f"{': ' + m.reason if m.reason else ''})"
                       for m in index if m.state != "READY")
    if missing or not_ready:
        raise SnapclipError("; ".join(
            ([f"not served: {', '.join(missing)}"] if missing else [])
            + ([f"not ready: {', '.join(not_ready)}"] if not_ready else [])))
    return ", ".join(sorted(f"{m.name} v{m.version}" for m in index))


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


async def _whisper(models: TritonModels) -> str:
    from orchestrator.synth.speech import read_speech, speak

    with tempfile.TemporaryDirectory(prefix="snapclip-smoke-") as tmp:
        audio = await asyncio.to_thread(
            lambda: read_speech(speak(SENTENCE, Path(tmp) / "speech.wav")))
    outputs = await models.infer(WHISPER, {"AUDIO": audio[np.newaxis, :]})
    text = " ".join(s.text for s in ChunkTranscript.from_json(
        outputs["TRANSCRIPT"].reshape(-1)[0]).segments).strip()
    expected = _words(SENTENCE)
    heard = len(expected & _words(text)) / len(expected)
    assert heard >= 0.7, f"heard {heard:.0%} of the words: {text!r}"
    return f"{heard:.0%} of the words: {text!r}"


def _picture() -> np.ndarray:
    """A plain red 320x240 RGB picture (the first caption describes it)."""
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[..., 0] = 220
    return frame


async def _clip(models: TritonModels, settings: SmokeSettings) -> str:
    image = (await models.infer(CLIP_IMAGE, {"IMAGE": _picture()[np.newaxis]}))["EMBEDDING"]
    texts = [(await models.infer(CLIP_TEXT, {"TEXT": np.array([[c.encode()]],
                                                              dtype=np.object_)}))["EMBEDDING"]
             for c in CAPTIONS]
    vectors = np.concatenate([image, *texts]).astype(np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3), f"embeddings not L2-normalized: {norms}"
    size = vectors.shape[1]
    cosine = vectors[1:] @ vectors[0]
    real = _real_weights(settings)
    if real is False:
        return f"{size}-d, unit length; random CLIP weights: ranking not checked"
    best = int(np.argmax(cosine))
    assert best == 0, (f"with real weights {CAPTIONS[0]!r} should rank first, got "
                       f"{CAPTIONS[best]!r} (cosines {np.round(cosine, 3).tolist()})")
    return f"{size}-d; {CAPTIONS[0]!r} ranks first ({cosine[0]:.3f} vs {cosine[1:].max():.3f})"


def _real_weights(settings: SmokeSettings) -> bool | None:
    if settings.clip_weights != "auto":
        return settings.clip_weights == "real"
    if settings.model_repository is None:
        return None  # not known: a production install, whose weights are real
    found = [ClipMetadata.load(p).real_weights
             for p in sorted((settings.model_repository / CLIP_IMAGE.name).glob(
                 f"*/{CLIP_METADATA}"))]
    return found[-1] if found else None


async def _llm(models: TritonModels, settings: SmokeSettings) -> str:
    import jsonschema

    prompt = ("Passage: Placement beats price. Move the microphone close to your mouth and it "
              "sounds twice as good.\nGive it a short title and the reason viewers would share "
              "it, as JSON.")
    sampling = {"temperature": 0.0, "seed": 0, "max_tokens": 400,
                "structured_outputs": structured_outputs(json=settings.llm_schema,
                                                         disable_any_whitespace=True)}
    text = "".join([piece async for piece in models.generate(
        prompt, sampling, version=settings.llm_version)])
    try:
        jsonschema.validate(json.loads(text), settings.llm_schema)
    except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
        raise AssertionError(f"the answer does not validate: {str(exc).splitlines()[0]}: "
                             f"{text[:120]!r}") from exc
    return f"{len(text)} characters of schema-valid JSON"


def _perf(settings: SmokeSettings, latency: dict[str, float]) -> list[Check]:
    from orchestrator.serving import loadtest, perf

    levels = (1, 2)
    out = settings.perf_out or Path(tempfile.mkdtemp(prefix="snapclip-smoke-perf-"))
    checks = []
    for model in loadtest.MODELS:
        # perf_analyzer measures three windows per level: share the budget between them, but
        # a window must hold several whole requests at the highest concurrency.
        window_ms = int(max(settings.perf_seconds * 1000 / (3 * len(levels)),
                            REQUESTS_PER_WINDOW * max(levels) * latency[model] * 1000))
        start = time.perf_counter()
        try:
            _, (sweep,) = loadtest.sweep_all(settings.url, loadtest.Settings(
                url=settings.url, out=out, models=(model,), concurrency=levels,
                llm_concurrency=levels, window_ms=window_ms, max_trials=3, stability=999,
                llm_max_tokens=16,
                versions={"llm": settings.llm_version} if settings.llm_version else {}))
            detail = "; ".join(f"c{r.concurrency}: {r.throughput:.1f}/s p95 "
                               f"{r.p95_us / 1000:.0f} ms" for r in sweep.rows)
            ok = bool(sweep.rows) and all(r.throughput > 0 for r in sweep.rows)
        except (perf.PerfError, SnapclipError) as exc:
            detail, ok = str(exc).splitlines()[0], False
        checks.append(Check(f"{model}: perf_analyzer", ok, detail,
                            round(time.perf_counter() - start, 2)))
    return checks


def table(checks: list[Check]) -> str:
    """The checks as a plain-text table."""
    width = max(len(c.name) for c in checks)
    lines = [f"{'check':<{width}}  result  seconds  detail"]
    lines += [f"{c.name:<{width}}  {'ok' if c.ok else 'FAILED':<6}  {c.seconds:>7.1f}  "
              f"{c.detail}" for c in checks]
    return "\n".join(lines)

