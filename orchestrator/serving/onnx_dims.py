"""Will Triton's onnxruntime backend load this ONNX graph under this config? Its dims rule.

The onnxruntime backend compares every input and output of the graph with the model config
(``CompareDimsSupported`` in ``src/onnxruntime_utils.cc``, onnxruntime_backend r25.11). With
``max_batch_size > 0`` the graph's first dimension must be -1; the config's ``dims`` follow it.
Inputs are compared only where the graph's dimension is fixed (``compare_exact`` false, in
``ValidateInputs`` of ``src/onnxruntime.cc``); outputs are compared exactly, -1 included
(``compare_exact`` true, ``ValidateOutputs``). So a CLIP export whose only dynamic axis is the
batch (``[-1, 3, 224, 224]`` in, ``[-1, 512]`` out) needs ``dims: [3, 224, 224]`` and
``dims: [512]``: ``[3, -1, -1]`` and ``[-1]`` fail at load. ``snapclip models fetch`` checks
every export against every profile's config with this rule before it keeps the export.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tritonclient.grpc import model_config_pb2


def dims_problem(model: str, tensor: str, graph_shape: Sequence[int], dims: Sequence[int],
                 max_batch_size: int, *, exact: bool) -> str | None:
    """The backend's refusal for one tensor, or None when it accepts ``dims``."""
    graph = list(graph_shape)
    expected = list(dims)
    if max_batch_size > 0:
        if not graph or graph[0] != -1:
            return (f"{model}/{tensor}: batching needs the graph's first dimension to be -1, "
                    f"the graph has {graph}")
        expected = [-1, *expected]
    fits = len(graph) == len(expected) and all(
        g == e for g, e in zip(graph, expected, strict=True) if exact or g != -1)
    if fits:
        return None
    return (f"{model}/{tensor}: the graph's shape is {graph}, the config says {expected} "
            f"({'outputs compare exactly' if exact else 'fixed dimensions must match'})")


def graph_shapes(path: Path) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """The graph's input and output shapes by name; a symbolic or unknown dimension is -1."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {i.name for i in graph.initializer}

    def shape(value: onnx.ValueInfoProto) -> list[int]:
        return [d.dim_value if d.HasField("dim_value") else -1
                for d in value.type.tensor_type.shape.dim]

    return ({v.name: shape(v) for v in graph.input if v.name not in initializers},
            {v.name: shape(v) for v in graph.output})


def config_problems(onnx_path: Path, config: model_config_pb2.ModelConfig) -> list[str]:
    """Every reason the onnxruntime backend would refuse ``onnx_path`` under ``config``."""
    inputs, outputs = graph_shapes(onnx_path)
    problems = []
    for declared, graph, exact in ((config.input, inputs, False), (config.output, outputs, True)):
        for tensor in declared:
            if tensor.name not in graph:
                problems.append(f"{config.name}/{tensor.name}: not in the graph "
                                f"(it has {sorted(graph)})")
                continue
            problem = dims_problem(config.name, tensor.name, graph[tensor.name],
                                   tensor.dims, config.max_batch_size, exact=exact)
            if problem:
                problems.append(problem)
    return problems
