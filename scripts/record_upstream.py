"""Record what the pinned upstream releases accept and export, for the conformance tests.

The GPU profile runs on NVIDIA's Triton images, which nothing here can run. What they accept is
read once from their sources and checked in as JSON under ``orchestrator/contracts/upstream/``,
each fact with the file and release it came from; the tests and the CPU profile's ``llm``
backend hold the project to them. Run it where the sources are at hand:

    python scripts/record_upstream.py --vllm-wheel vllm-0.11.0-cp38-abi3-manylinux1_x86_64.whl \\
        --vllm-backend PATH/vllm_backend --server PATH/server --release r25.11

(``pip download --no-deps vllm==0.11.0`` fetches the wheel; the two repositories are git clones of
triton-inference-server/vllm_backend and /server.) Nothing is imported from the wheel: the
classes are read with ``ast``, so no GPU, torch or vLLM install is needed.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "orchestrator" / "contracts" / "upstream"


def class_fields(source: str, *names: str) -> dict[str, str]:
    """Annotated class attributes (``name: annotation``) of ``names`` and their bases in order."""
    tree = ast.parse(source)
    classes = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    fields: dict[str, str] = {}
    for name in names:
        for node in classes[name].body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                fields[node.target.id] = ast.unparse(node.annotation)
    return fields


def git_show(repo: Path, release: str, path: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "show", f"{release}:{path}"],
                          capture_output=True, text=True, check=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vllm-wheel", type=Path, required=True)
    parser.add_argument("--vllm-backend", type=Path, required=True)
    parser.add_argument("--server", type=Path, required=True)
    parser.add_argument("--release", default="r25.11")
    args = parser.parse_args()

    version = args.vllm_wheel.name.split("-")[1]
    with zipfile.ZipFile(args.vllm_wheel) as wheel:
        arg_utils = wheel.read("vllm/engine/arg_utils.py").decode()
        sampling = wheel.read("vllm/sampling_params.py").decode()
    public = lambda fields: {k: v for k, v in fields.items() if not k.startswith("_")}  # noqa: E731
    vllm = {
        "vllm": version,
        "engine_args": {
            "source": f"vllm {version}, vllm/engine/arg_utils.py: EngineArgs, AsyncEngineArgs",
            "fields": class_fields(arg_utils, "EngineArgs", "AsyncEngineArgs"),
        },
        "sampling_params": {
            "source": f"vllm {version}, vllm/sampling_params.py: SamplingParams",
            "fields": public(class_fields(sampling, "SamplingParams")),
        },
        "structured_outputs_params": {
            "source": f"vllm {version}, vllm/sampling_params.py: StructuredOutputsParams",
            "fields": public(class_fields(sampling, "StructuredOutputsParams")),
        },
    }
    (OUT / f"vllm-{version}.json").write_text(json.dumps(vllm, indent=1) + "\n")

    metrics_py = git_show(args.vllm_backend, args.release, "src/utils/metrics.py")
    metrics_md = git_show(args.server, args.release, "docs/user_guide/metrics.md")
    metrics = {
        "release": args.release,
        "vllm_backend": {
            "source": f"triton-inference-server/vllm_backend {args.release}, src/utils/metrics.py",
            "families": sorted(set(re.findall(r'name="(vllm:[a-z0-9_]+)"', metrics_py))),
        },
        "server": {
            "source": f"triton-inference-server/server {args.release}, "
                      "docs/user_guide/metrics.md",
            "families": sorted(set(re.findall(r"\b(nv_[a-z0-9_]+)", metrics_md))),
        },
    }
    (OUT / "triton-metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")


if __name__ == "__main__":
    main()
