"""`clip_image` and `clip_text` on the real local Triton (CPU profile, version 1)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from orchestrator.serving.local import LocalTriton
from tests.support import metric_value

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(grpc_url: str):
    with grpcclient.InferenceServerClient(grpc_url) as c:
        yield c


def frames(n: int, seed: int = 0, shape: tuple[int, int] = (216, 384)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    out = []
    for _ in range(n):
        base = np.stack([x * rng.uniform(0.2, 1), y * rng.uniform(0.2, 1),
                         rng.integers(0, 256, shape)], axis=-1)
        out.append(np.clip(base, 0, 255).astype(np.uint8))
    return np.stack(out)


def embed_images(client, batch: np.ndarray) -> np.ndarray:
    tensor = grpcclient.InferInput("IMAGE", list(batch.shape), "UINT8")
    tensor.set_data_from_numpy(batch)
    return client.infer("clip_image", [tensor]).as_numpy("EMBEDDING")


def embed_texts(client, texts: list[str] | np.ndarray) -> np.ndarray:
    data = (texts if isinstance(texts, np.ndarray)
            else np.array([[t.encode()] for t in texts], dtype=object))
    tensor = grpcclient.InferInput("TEXT", list(data.shape), "BYTES")
    tensor.set_data_from_numpy(data)
    return client.infer("clip_text", [tensor]).as_numpy("EMBEDDING")


def test_models_are_ready_with_their_encoders(client):
    for name in ("clip_image", "clip_text", "clip_image_encoder", "clip_text_encoder"):
        assert client.is_model_ready(name, "1"), name


def test_image_embeddings_are_normalized_and_deterministic(client):
    batch = frames(3)
    first = embed_images(client, batch)
    again = embed_images(client, batch)
    assert first.shape == (3, 512) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, again)
    assert np.max(np.abs(first[0] - first[1])) > 1e-3  # different frames, different vectors


def test_frames_of_any_size_and_orientation(client):
    for shape in [(720, 1280), (1280, 720), (31, 17)]:
        (vector,) = embed_images(client, frames(1, seed=3, shape=shape))
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_image_batch_of_8_equals_8_singles(client):
    batch = frames(8, seed=1)
    together = embed_images(client, batch)
    alone = np.concatenate([embed_images(client, batch[i:i + 1]) for i in range(8)])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_text_embeddings(client):
    texts = ["a person talking into a microphone", "a dog running on the beach",
             "a person talking into a microphone"]
    vectors = embed_texts(client, texts)
    assert vectors.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert np.max(np.abs(vectors[0] - vectors[1])) > 1e-3
    batch = [f"title number {i}" for i in range(8)]
    np.testing.assert_allclose(embed_texts(client, batch),
                               np.concatenate([embed_texts(client, [t]) for t in batch]),
                               atol=1e-5)
    # Long text is truncated to the context, not refused.
    assert embed_texts(client, ["word " * 500]).shape == (1, 512)


def test_concurrent_requests_are_batched(client, grpc_url, triton: LocalTriton):
    assert triton.endpoints is not None
    url = triton.endpoints.metrics_url
    before = httpx.get(url, timeout=10).text

    def one(seed: int) -> np.ndarray:
        with grpcclient.InferenceServerClient(grpc_url) as own:
            return embed_images(own, frames(1, seed=seed))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(100, 108)))
    after = httpx.get(url, timeout=10).text
    labels = {"model": "clip_image_encoder", "version": "1"}
    count = (metric_value(after, "nv_inference_count", **labels)
             - metric_value(before, "nv_inference_count", **labels))
    executions = (metric_value(after, "nv_inference_exec_count", **labels)
                  - metric_value(before, "nv_inference_exec_count", **labels))
    assert count == 8 and executions < count, (count, executions)
    for seed, vector in zip(range(100, 108), results, strict=True):
        np.testing.assert_allclose(vector, embed_images(client, frames(1, seed=seed)), atol=1e-5)


@pytest.mark.parametrize(
    ("model", "make", "message"),
    [
        ("clip_image", lambda: np.zeros((1, 64, 64, 4), np.uint8), "IMAGE"),
        ("clip_image", lambda: np.zeros((1, 64, 64, 3), np.float32), "FP32"),
        ("clip_image", lambda: np.zeros((1, 9000, 8, 3), np.uint8), "sides"),
        ("clip_text", lambda: np.array([[b""]], dtype=object), "empty string"),
        ("clip_text", lambda: np.array([[b"\xff\xfe bad"]], dtype=object), "UTF-8"),
        ("clip_text", lambda: np.zeros((0, 1), dtype=object), ""),
    ],
    ids=["four-channels", "float-frame", "huge-frame", "empty-string", "not-utf8",
         "no-strings"],
)
def test_bad_inputs_get_clean_errors(client, model, make, message):
    data = make()
    name = "IMAGE" if model == "clip_image" else "TEXT"
    datatype = {np.dtype(np.uint8): "UINT8", np.dtype(np.float32): "FP32"}.get(data.dtype, "BYTES")
    tensor = grpcclient.InferInput(name, list(data.shape), datatype)
    tensor.set_data_from_numpy(data)
    with pytest.raises(InferenceServerException) as info:
        client.infer(model, [tensor])
    assert message in info.value.message()
    # ... and the server keeps serving.
    assert embed_images(client, frames(1)).shape == (1, 512)
    assert embed_texts(client, ["still here"]).shape == (1, 512)
