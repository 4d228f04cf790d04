"""BLS results must come back in CPU memory (issue: KIND_GPU encoders on the GPU profile).

The python backend puts a BLS call's outputs "on the same device where the output tensors were
received from the model" unless the request sets ``preferred_memory`` (python_backend
README.md, r25.11), and ``as_numpy()`` fails on GPU tensors. Every ``InferenceRequest`` the
in-Triton code builds must therefore ask for CPU memory.
"""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from orchestrator.backends import clip

BACKENDS = Path(clip.__file__).parent
CPU, GPU = 0, 2  # TRITONSERVER_MEMORY_CPU / _GPU in the backend's enum


def test_every_bls_request_in_the_backends_names_its_memory():
    calls = []
    for path in sorted(BACKENDS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "InferenceRequest"):
                calls.append((path.name, node.lineno,
                              {k.arg for k in node.keywords}))
    assert calls, "no BLS request found: did the front-ends move?"
    missing = [f"{name}:{line}" for name, line, kwargs in calls
               if "preferred_memory" not in kwargs]
    assert not missing, f"BLS requests without preferred_memory: {missing}"


class _Memory:
    def __init__(self, kind: int, device: int) -> None:
        self.kind, self.device = kind, device


class _Tensor:
    def __init__(self, name: str, value: np.ndarray) -> None:
        self.name, self.value = name, value

    def as_numpy(self) -> np.ndarray:
        return self.value


@pytest.fixture
def pb(monkeypatch):
    """A stand-in for ``triton_python_backend_utils`` that records every BLS request and,
    like the real one, hands back outputs in GPU memory unless CPU memory was asked for."""
    module = types.ModuleType("triton_python_backend_utils")
    module.TRITONSERVER_MEMORY_CPU, module.TRITONSERVER_MEMORY_GPU = CPU, GPU
    module.PreferredMemory = _Memory
    module.Tensor = _Tensor
    module.requests = []

    class Response:
        def __init__(self, rows: int, memory: _Memory | None) -> None:
            self.rows, self.memory = rows, memory

        def has_error(self) -> bool:
            return False

    class InferenceRequest:
        def __init__(self, **kwargs: object) -> None:
            module.requests.append(kwargs)
            self.kwargs = kwargs

        def exec(self) -> Response:
            return Response(len(self.kwargs["inputs"][0].value),
                            self.kwargs.get("preferred_memory"))

    def get_output_tensor_by_name(response: Response, name: str) -> _Tensor:
        if response.memory is None or response.memory.kind != CPU:
            raise RuntimeError("as_numpy() on a GPU tensor")
        return _Tensor(name, np.ones((response.rows, 4), np.float32))

    module.InferenceRequest = InferenceRequest
    module.get_output_tensor_by_name = get_output_tensor_by_name
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", module)
    return module


@pytest.mark.parametrize("front_end", [clip.ClipImageModel, clip.ClipTextModel])
def test_front_ends_ask_for_cpu_memory_in_every_encoder_batch(pb, front_end):
    model = front_end()
    model._pb, model._version, model._encoder_batch = pb, 2, 4
    out = model._encode(np.zeros((10, 3), np.float32))
    assert out.shape == (10, 4)
    assert len(pb.requests) == 3  # batches of 4, 4 and 2
    for request in pb.requests:
        assert request["model_name"] == front_end.encoder.name
        assert request["preferred_memory"].kind == CPU
