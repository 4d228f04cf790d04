#!/usr/bin/env python3
"""Quantize a Hugging Face causal LM to 4-bit AWQ (GEMM kernels, group size 128, zero point).

    python scripts/quantize_awq.py mistralai/Mistral-7B-Instruct-v0.2 \
        model_repository/llm/1/mistral-7b-instruct-v0.2-awq

Then point ``"model"`` in ``model_repository/llm/1/model.json`` at the output folder (as seen
inside the Triton pod, e.g. ``/models/llm/1/mistral-7b-instruct-v0.2-awq``). Do not set
``"quantization": "awq"`` there: left alone, vLLM reads the checkpoint's quantization config and
picks the awq_marlin kernels on Ampere and newer, about 5x faster than the plain AWQ kernels.

Needs an NVIDIA GPU (calibration runs the model) and ``pip install autoawq`` in a CUDA
environment. AutoAWQ is archived upstream; its successor is vLLM's llm-compressor
(``llmcompressor``, AWQModifier), which writes compressed-tensors checkpoints vLLM also serves.
A published checkpoint (TheBloke/Mistral-7B-Instruct-v0.2-AWQ, the default in model.json) saves
this step entirely.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

QUANT_CONFIG = {"zero_point": True, "q_group_size": 128, "w_bit": 4, "version": "GEMM"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="Hugging Face model id or local folder")
    parser.add_argument("out", type=Path, help="output folder for the AWQ checkpoint")
    parser.add_argument("--calibration", default="pileval", help="AutoAWQ calibration dataset")
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        print("quantize_awq: torch is not installed; use a CUDA environment with autoawq",
              file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("quantize_awq: no CUDA GPU here; AWQ calibration needs one (or use a published "
              "AWQ checkpoint such as TheBloke/Mistral-7B-Instruct-v0.2-AWQ)", file=sys.stderr)
        return 2
    try:
        from awq import AutoAWQForCausalLM
        from transformers import AutoTokenizer
    except ImportError:
        print("quantize_awq: `pip install autoawq` first (archived upstream; llm-compressor is "
              "its successor)", file=sys.stderr)
        return 2

    model = AutoAWQForCausalLM.from_pretrained(args.model, low_cpu_mem_usage=True,
                                               use_cache=False)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model.quantize(tokenizer, quant_config=QUANT_CONFIG, calib_data=args.calibration)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_quantized(str(args.out))
    tokenizer.save_pretrained(str(args.out))
    print(f"quantize_awq: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
