"""One Triton release everywhere: the Dockerfile's TRITON_VERSION is the chart's image tags,
the release key of the TensorRT engine caches and the README's matrix; its VLLM_VERSION is the
vLLM whose fields orchestrator/contracts/upstream/ records."""

from __future__ import annotations

import re

from orchestrator.contracts.sampling import PINNED_VLLM
from orchestrator.serving.fetch import cache_folders
from tests.chart.conftest import CHART, values_of

ROOT = CHART.parents[1]
DOCKERFILE = ROOT / "docker" / "triton.Dockerfile"


def build_arg(name: str) -> str:
    (value,) = re.findall(rf"^ARG {name}=(\S+)$", DOCKERFILE.read_text(), re.M)
    return value


def test_every_target_builds_on_the_pinned_release():
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM (\S+)", text, re.M)
    nvidia = [b for b in bases if b.startswith("nvcr.io/")]
    assert nvidia and all("${TRITON_VERSION}" in b for b in nvidia), nvidia
    assert "25.09" not in text and build_arg("TRITON_VERSION") == "25.11"


def test_the_chart_pulls_images_of_that_release():
    release = build_arg("TRITON_VERSION")
    import yaml

    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["triton"]
    cpu = values_of("cpu")["triton"]
    tags = [defaults["image"]["tag"], defaults["exportImage"]["tag"], cpu["image"]["tag"]]
    assert all(tag.startswith(f"{release}-snapclip") for tag in tags), tags
    sdk = yaml.safe_load((CHART / "values.yaml").read_text())["tests"]["perfAnalyzerImage"]
    assert sdk == f"nvcr.io/nvidia/tritonserver:{release}-py3-sdk"


def test_engine_caches_are_keyed_by_the_release():
    from orchestrator.paths import model_repository

    release = build_arg("TRITON_VERSION")
    folders = cache_folders(model_repository(), "gpu")
    assert folders and all(f.parts[:4] == ("/", "models", ".trt-cache", release)
                           for f in folders), folders


def test_the_recorded_vllm_is_the_images():
    assert build_arg("VLLM_VERSION") == PINNED_VLLM


def test_the_readme_states_the_matrix():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Version matrix", 1)[1].split("\n## ", 1)[0]
    release = build_arg("TRITON_VERSION")
    for fact in (release, f"vLLM {PINNED_VLLM}", "CUDA 13.0.2", "580.95.05",
                 "ONNX Runtime 1.23.2", "CTranslate2 4.6.0", "compatibility.md"):
        assert fact in section, fact
