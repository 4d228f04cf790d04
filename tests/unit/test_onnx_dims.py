"""The CLIP encoders' configs against the exported ONNX graphs, by the onnxruntime backend's
rule (``CompareDimsSupported``, src/onnxruntime_utils.cc, onnxruntime_backend r25.11)."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from orchestrator.contracts.clip import CLIP_METADATA
from orchestrator.paths import model_repository
from orchestrator.serving.fetch import CLIP_FOLDERS, encoder_config_problems, profile_config
from orchestrator.serving.onnx_dims import config_problems, dims_problem, graph_shapes

REPOSITORY = model_repository()
ENCODERS = CLIP_FOLDERS[2:]


@pytest.mark.parametrize(("graph", "dims", "exact", "ok"), [
    ([-1, 3, 224, 224], [3, 224, 224], False, True),
    ([-1, 3, 224, 224], [3, -1, -1], False, False),  # the graph fixes 224: -1 is refused
    ([-1, 3, -1, -1], [3, 224, 224], False, True),  # a dynamic graph dim takes any config dim
    ([-1, 77], [77], False, True),
    ([-1, 77], [-1], False, False),
    ([-1, 512], [512], True, True),
    ([-1, 512], [-1], True, False),  # outputs compare exactly
    ([-1, -1], [512], True, False),  # ... both ways
    ([-1, -1], [-1], True, True),
    ([8, 512], [512], True, False),  # batching needs a dynamic first dim
    ([-1, 3, 224], [3, 224, 224], False, False),  # rank
])
def test_the_backend_rule(graph, dims, exact, ok):
    problem = dims_problem("m", "T", graph, dims, max_batch_size=32, exact=exact)
    assert (problem is None) == ok, problem


def test_without_batching_the_dims_are_the_whole_shape():
    assert dims_problem("m", "T", [3, 224], [3, 224], 0, exact=True) is None
    assert dims_problem("m", "T", [-1, 3, 224], [3, 224], 0, exact=False) is not None


def _graph(path: Path, in_shape: list, out_shape: list) -> Path:
    inp = helper.make_tensor_value_info("PIXELS", TensorProto.FLOAT, in_shape)
    out = helper.make_tensor_value_info("EMBEDDING", TensorProto.FLOAT, out_shape)
    node = helper.make_node("ReduceMean", ["PIXELS"], ["EMBEDDING"], axes=[2, 3], keepdims=0)
    onnx.save(helper.make_model(helper.make_graph([node], "g", [inp], [out])), str(path))
    return path


def test_a_graph_is_read_with_symbolic_dims_as_wildcards(tmp_path):
    path = _graph(tmp_path / "g.onnx", ["batch", 3, 224, 224], ["batch", 3])
    assert graph_shapes(path) == ({"PIXELS": [-1, 3, 224, 224]}, {"EMBEDDING": [-1, 3]})
    config = profile_config(REPOSITORY / "clip_image_encoder", "gpu")
    problems = config_problems(path, config)
    assert len(problems) == 1 and "EMBEDDING" in problems[0] and "[-1, 3]" in problems[0]


def _exported_versions() -> list[tuple[str, int]]:
    found = [(name, int(v.name)) for name in ENCODERS
             for v in sorted((REPOSITORY / name).iterdir())
             if v.name.isdigit() and (v / "model.onnx").is_file()]
    if not found:
        pytest.fail("CLIP weights missing; run scripts/setup.sh", pytrace=False)
    return found


@pytest.mark.parametrize("profile", ["gpu", "cpu"])
def test_every_exported_encoder_fits_every_profile(profile):
    for name, version in _exported_versions():
        graph = REPOSITORY / name / str(version) / "model.onnx"
        problems = config_problems(graph, profile_config(REPOSITORY / name, profile))
        assert not problems, f"{name} v{version} under the {profile} config: {problems}"


def test_the_configs_dims_are_the_export_metadata():
    for name, version in _exported_versions():
        meta = json.loads((REPOSITORY / name / str(version) / CLIP_METADATA).read_text())
        for profile in ("gpu", "cpu"):
            config = profile_config(REPOSITORY / name, profile)
            dims = {t.name: list(t.dims) for t in (*config.input, *config.output)}
            assert dims["EMBEDDING"] == [meta["embedding_size"]]
            if name == "clip_image_encoder":
                assert dims["PIXELS"] == [3, meta["image_size"], meta["image_size"]]
            else:
                assert dims["TOKENS"] == [meta["context_length"]]
    assert encoder_config_problems(REPOSITORY, _exported_versions()[0][1]) == []
