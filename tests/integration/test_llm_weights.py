"""The W8A8 build of a GGUF (``orchestrator/serving/llm_weights.py gguf-w8a8``, run in
.venv-llm as the fetch runs it), on the smallest GGUF at hand: SmolLM2-135M, whose float32
build is llm v3. Every linear layer but the output head comes out int8 with one scale per
output channel and gives back v3's float32 weights to within half a step; everything else is
v3's, in bfloat16; the config says W8A8 in compressed-tensors' terms, which vLLM reads.
A local Triton then serves the build as the llm's v5 is served, and it answers: on a CPU
without VNNI the suite's default is v4 (float32), so this is where every machine checks that
vLLM runs a W8A8 folder. (That it picks what viewers replay with it is test_eval.py's where
the CPU has VNNI: the default llm there, v5, is this build of Qwen2.5-Coder-1.5B.)
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.paths import model_repository
from orchestrator.serving.client import Completion, TritonModels
from orchestrator.serving.fetch import llm_python
from orchestrator.serving.local import LocalTriton

pytestmark = pytest.mark.integration

CHECK = """
import json, sys
import torch
from safetensors.torch import load_file

built, reference = load_file(sys.argv[1]), load_file(sys.argv[2])
int8, worst, rest = 0, 0.0, []
for name, tensor in built.items():
    if name.endswith(".weight_scale"):
        continue
    scale = built.get(name.removesuffix("weight") + "weight_scale")
    if scale is None:
        rest.append(name)
        assert tensor.dtype == torch.bfloat16, name
        assert torch.equal(tensor, reference[name].to(torch.bfloat16)), name
        continue
    int8 += 1
    assert tensor.dtype == torch.int8 and scale.shape == (tensor.shape[0], 1), name
    error = (tensor.float() * scale.float() - reference[name]).abs() / scale.float()
    worst = max(worst, float(error.max()))
print(json.dumps({"int8": int8, "worst_steps": worst, "rest": len(rest),
                  "head": [n for n in built if n.startswith("lm_head")]}))
"""


def test_w8a8_build_quantizes_every_linear_layer_but_the_head(tmp_path: Path):
    python = str(llm_python())
    gguf = subprocess.run(
        [python, "-c", "from orchestrator.serving.llm_weights import gguf_path; "
                       "print(gguf_path())"],
        capture_output=True, text=True, check=True, timeout=120).stdout.strip()
    out = tmp_path / "w8a8"
    out.mkdir()
    built = subprocess.run([python, "-m", "orchestrator.serving.llm_weights", "gguf-w8a8",
                            str(out), "--gguf", gguf],
                           capture_output=True, text=True, check=False, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    report = json.loads(built.stdout.strip().splitlines()[-1])
    assert report["ok"] and report["quantized"] == "W8A8"

    config = json.loads((out / "config.json").read_text())
    reference = model_repository() / "llm" / "3" / "hf"
    layers = json.loads((reference / "config.json").read_text())["num_hidden_layers"]
    assert report["int8_layers"] == 7 * layers  # q, k, v, o, gate, up, down per layer
    quantization = config["quantization_config"]
    assert quantization["quant_method"] == "compressed-tensors"
    assert quantization["format"] == "int-quantized" and quantization["ignore"] == ["lm_head"]
    group = quantization["config_groups"]["group_0"]
    assert group["targets"] == ["Linear"]
    assert group["weights"]["num_bits"] == 8 and group["weights"]["strategy"] == "channel"
    assert not group["weights"]["dynamic"]
    assert group["input_activations"]["strategy"] == "token"
    assert group["input_activations"]["dynamic"]
    assert (out / "tokenizer.json").is_file() and (out / "chat_template.jinja").is_file()

    check = subprocess.run([python, "-c", CHECK, str(out / "model.safetensors"),
                            str(reference / "model.safetensors")],
                           capture_output=True, text=True, check=False, timeout=300)
    assert check.returncode == 0, check.stderr[-2000:]
    figures = json.loads(check.stdout)
    assert figures["int8"] == report["int8_layers"]
    assert figures["worst_steps"] <= 0.5 + 1e-3  # rounding to the nearest step, no clipping
    assert figures["rest"] > 0 and figures["head"] == []  # the head is tied to the embeddings

    # Served as v5 is (its model.py and model.json), it answers a question.
    repository = tmp_path / "repository"
    shutil.copytree(model_repository() / "llm", repository / "llm",
                    ignore=lambda folder, names: [n for n in names if n.isdigit()])
    version = repository / "llm" / "5"
    version.mkdir()
    for name in ("model.py", "model.json"):
        shutil.copy(model_repository() / "llm" / "5" / name, version / name)
    out.rename(version / "hf")
    # The config finds vLLM's environment beside the repository (EXECUTION_ENV_PATH).
    (tmp_path / ".venv-llm").symlink_to(llm_python().parent.parent)

    async def ask(url: str) -> Completion:
        return await TritonModels(url).complete(
            "Name a colour: red, green or blue. Answer with one word.",
            {"temperature": 0, "max_tokens": 4, "seed": 0}, version="5")

    with LocalTriton(repository, versions={"llm": [5]}) as server:
        assert server.endpoints is not None
        answer = asyncio.run(ask(server.endpoints.grpc))
    server.cleanup_logs()
    assert answer.input_tokens > 5 and 1 <= answer.output_tokens <= 4 and answer.text.strip()
