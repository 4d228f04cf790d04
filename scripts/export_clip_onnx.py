#!/usr/bin/env python3
"""Export an open_clip model's image and text towers to ONNX for Triton, verified, as a version.

Runs in the export environment (.venv-export: torch, torchvision, open_clip, onnx, onnxruntime;
created by scripts/setup.sh). The serving side needs none of these but onnxruntime.

For MODEL/PRETRAINED (default ViT-B-32 / laion2b_s34b_b79k; ``--pretrained none`` gives random
weights, for machines without internet) it:

1. exports each tower wrapped so the graph returns L2-normalized embeddings, opset >= 17, with a
   dynamic batch axis, input/output names from ``orchestrator/contracts/models.py``;
2. checks ONNX against torch on the same inputs (max abs difference <= ``--tolerance``, 1e-4)
   and the serving side's preprocessing and tokenizer against open_clip's own, and refuses to
   write anything that fails;
3. optionally (``--int8``) adds a dynamically quantized copy, kept only if every check row's
   cosine similarity to fp32 is >= 0.99;
4. writes version N of clip_image, clip_text, clip_image_encoder and clip_text_encoder at once:
   the .onnx files, ``clip.json`` (model, pretrained tag, real_weights, embedding size, image
   size, mean/std, context length, special tokens) and the text side's ``tokenizer.json``.

Prints a JSON report on stdout; exit status 0 on success, 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # contracts and the serving side's input code: stdlib + numpy

from orchestrator.backends.clip_inputs import TextTokens, preprocess_frame  # noqa: E402
from orchestrator.contracts.clip import (  # noqa: E402
    CLIP_METADATA,
    EXPORT_FORMAT,
    ClipMetadata,
)
from orchestrator.contracts.models import (  # noqa: E402
    CLIP_IMAGE,
    CLIP_IMAGE_ENCODER,
    CLIP_TEXT,
    CLIP_TEXT_ENCODER,
)

CHECK_TEXTS = [
    "a person talking into a microphone",
    "Placement matters MORE than price!",
    "Café crème — naïve façade, 東京, emoji 🎤🔥",
    "numbers 3.14, 2026-11-25 and $300",
    "it's what we'd've done, don't you think?",
    "HTML &amp; entities &lt;b&gt; and mojibake: cafÃ©",
    "   lots   of\twhite\nspace   ",
    "a very long title " * 30,
]
MODEL_PY = {
    CLIP_IMAGE.name: "orchestrator.backends.clip import ClipImageModel as TritonPythonModel",
    CLIP_TEXT.name: "orchestrator.backends.clip import ClipTextModel as TritonPythonModel",
    CLIP_IMAGE_ENCODER.name: "orchestrator.backends.onnx_encoder import TritonPythonModel",
    CLIP_TEXT_ENCODER.name: "orchestrator.backends.onnx_encoder import TritonPythonModel",
}


class CheckFailed(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"export: {message}", file=sys.stderr, flush=True)


def check_frames(rng: np.random.Generator) -> list[np.ndarray]:
    """Frames of several shapes: gradients, noise, blocks (landscape, portrait, square, tiny)."""
    frames = []
    for h, w in [(720, 1280), (1280, 720), (224, 224), (300, 451), (17, 33), (480, 640)]:
        y, x = np.mgrid[0:h, 0:w]
        frame = np.stack([(x * 255 // max(1, w - 1)), (y * 255 // max(1, h - 1)),
                          rng.integers(0, 256, (h, w))], axis=-1).astype(np.uint8)
        frame[h // 4: h // 2, w // 4: w // 2] = rng.integers(0, 256, 3, dtype=np.uint8)
        frames.append(frame)
    return frames


def build_tokenizer(open_clip_tokenizer: object) -> object:
    """open_clip's BPE as a Hugging Face ``tokenizers`` object (no normalizer: clean_text runs
    first, exactly as open_clip cleans)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    encoder = open_clip_tokenizer.encoder
    merges = sorted(open_clip_tokenizer.bpe_ranks, key=open_clip_tokenizer.bpe_ranks.get)
    tokenizer = Tokenizer(models.BPE(vocab=dict(encoder), merges=list(merges),
                                     continuing_subword_prefix="", end_of_word_suffix="</w>"))
    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.add_special_tokens(["<start_of_text>", "<end_of_text>"])
    return tokenizer


def export_tower(module: object, example: object, path: Path, input_name: str,
                 output_name: str, opset: int, embedding_size: int) -> None:
    import onnx
    import torch

    torch.onnx.export(
        module, (example,), str(path), input_names=[input_name], output_names=[output_name],
        dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
        opset_version=opset, dynamo=False, do_constant_folding=True)
    # Only the batch axis is dynamic, so the graph says so on its output too: the exporter
    # leaves the width unknown after the L2 normalization, and Triton's onnxruntime backend
    # compares outputs with the config exactly (CompareDimsSupported with compare_exact, in
    # src/onnxruntime.cc ValidateOutputs, onnxruntime_backend r25.11), so the encoder configs
    # declare dims: [embedding_size] and the graph must match them.
    model = onnx.load(str(path))
    width = model.graph.output[0].type.tensor_type.shape.dim[1]
    width.Clear()
    width.dim_value = embedding_size
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def run_onnx(path: Path, name: str, array: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: array})[0]


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def next_version(repository: Path) -> int:
    used = [int(p.name) for name in MODEL_PY for p in (repository / name).glob("[0-9]*")
            if p.is_dir() and (p / CLIP_METADATA).exists()]
    return max(used, default=0) + 1


def export(args: argparse.Namespace) -> dict:
    import open_clip
    import torch
    from PIL import Image

    torch.manual_seed(args.seed)
    pretrained = None if args.pretrained == "none" else args.pretrained
    if args.checkpoint is not None:  # the pinned, checked file: no download by open_clip
        if pretrained is None:
            raise CheckFailed("--checkpoint needs a --pretrained tag to record")
        pretrained = str(args.checkpoint)
    log(f"loading {args.model} ({args.pretrained})")
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(args.model,
                                                                     pretrained=pretrained)
    except Exception as exc:  # a download or checkpoint problem, told plainly
        raise CheckFailed(f"could not load {args.model}/{args.pretrained} "
                          f"({type(exc).__name__}: {str(exc)[:200]}); real weights come from "
                          "Hugging Face and need internet (offline: --pretrained none)") from exc
    model.eval()
    tokenizer = open_clip.get_tokenizer(args.model)
    if not hasattr(tokenizer, "bpe_ranks"):
        raise CheckFailed(f"{args.model} does not use the CLIP BPE tokenizer; not supported")
    visual = model.visual
    size = visual.image_size
    image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
    meta = {
        "model": args.model, "pretrained": args.pretrained, "real_weights": pretrained is not None,
        "embedding_size": int(model.text_projection.shape[1]
                              if hasattr(model, "text_projection") and model.text_projection
                              is not None else model.visual.output_dim),
        "image_size": image_size,
        "mean": [float(v) for v in getattr(visual, "image_mean", None) or
                 open_clip.OPENAI_DATASET_MEAN],
        "std": [float(v) for v in getattr(visual, "image_std", None) or
                open_clip.OPENAI_DATASET_STD],
        "context_length": int(tokenizer.context_length),
        "sot_token": int(tokenizer.sot_token_id), "eot_token": int(tokenizer.eot_token_id),
        "opset": args.opset, "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "export_format": EXPORT_FORMAT,
    }
    report: dict = {"metadata": meta}

    class ImageTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize(self.model.encode_image(pixels), dim=-1)

    class TextTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize(self.model.encode_text(tokens), dim=-1)

    staging = Path(tempfile.mkdtemp(prefix=".clip-export-", dir=args.repository))
    try:
        (staging / CLIP_METADATA).write_text(json.dumps(meta, indent=2) + "\n")
        metadata = ClipMetadata.load(staging / CLIP_METADATA)

        # Preprocessing: the serving side's numpy/PIL code against open_clip's transform.
        frames = check_frames(np.random.default_rng(args.seed))
        ours = np.stack([preprocess_frame(f, metadata) for f in frames])
        theirs = torch.stack([preprocess(Image.fromarray(f)) for f in frames]).numpy()
        report["preprocess_max_abs_diff"] = float(np.max(np.abs(ours - theirs)))
        if report["preprocess_max_abs_diff"] > 1e-4:
            raise CheckFailed(f"preprocessing differs from open_clip by "
                              f"{report['preprocess_max_abs_diff']:.2e}")

        # Tokenizer: ours against open_clip's.
        build_tokenizer(tokenizer).save(str(staging / "tokenizer.json"))
        tokens = TextTokens(staging / "tokenizer.json", metadata)(CHECK_TEXTS)
        expected = tokenizer(CHECK_TEXTS).numpy()
        if not np.array_equal(tokens, expected):
            bad = [t for t, a, b in zip(CHECK_TEXTS, tokens, expected, strict=True)
                   if not np.array_equal(a, b)]
            raise CheckFailed(f"tokenizer differs from open_clip on {bad[:2]}")

        results = {}
        towers = [("image", ImageTower(), torch.from_numpy(theirs), CLIP_IMAGE_ENCODER),
                  ("text", TextTower(), torch.from_numpy(expected), CLIP_TEXT_ENCODER)]
        for kind, tower, inputs, contract in towers:
            in_name, out_name = contract.inputs[0].name, contract.outputs[0].name
            path = staging / f"{kind}.onnx"
            log(f"exporting the {kind} tower (opset {args.opset})")
            export_tower(tower.eval(), inputs[:2], path, in_name, out_name, args.opset,
                         metadata.embedding_size)
            with torch.no_grad():
                reference = tower(inputs).numpy()
            got = run_onnx(path, in_name, inputs.numpy())
            diff = float(np.max(np.abs(got - reference)))
            norms = np.linalg.norm(got, axis=1)
            report[f"{kind}_max_abs_diff"] = diff
            log(f"{kind}: ONNX vs torch max abs diff {diff:.2e} over {len(inputs)} inputs")
            if diff > args.tolerance or np.any(np.abs(norms - 1) > 1e-5):
                raise CheckFailed(f"{kind} tower: ONNX differs from torch by {diff:.2e} "
                                  f"(tolerance {args.tolerance:g}); nothing written")
            results[kind] = (path, inputs.numpy(), got)
            if args.int8:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                q_path = staging / f"{kind}.int8.onnx"
                quantize_dynamic(str(path), str(q_path), weight_type=QuantType.QInt8)
                cosine = float(np.min(cosine_rows(run_onnx(q_path, in_name, inputs.numpy()),
                                                  got)))
                report[f"{kind}_int8_min_cosine"] = cosine
                if cosine < 0.99:
                    log(f"{kind}: int8 copy rejected (min cosine {cosine:.4f} < 0.99)")
                    q_path.unlink()
                else:
                    log(f"{kind}: int8 copy accepted (min cosine {cosine:.4f})")

        version = args.version or next_version(args.repository)
        report["version"] = version
        _install(args.repository, version, staging, force=args.force)
        report["written"] = [str(args.repository / name / str(version)) for name in MODEL_PY]
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install(repository: Path, version: int, staging: Path, *, force: bool) -> None:
    """Fill the four version folders from ``staging``; files are renamed into place."""
    plan = {
        CLIP_IMAGE.name: [CLIP_METADATA],
        CLIP_TEXT.name: [CLIP_METADATA, "tokenizer.json"],
        CLIP_IMAGE_ENCODER.name: [CLIP_METADATA, "image.onnx", "image.int8.onnx"],
        CLIP_TEXT_ENCODER.name: [CLIP_METADATA, "text.onnx", "text.int8.onnx"],
    }
    targets = {name: repository / name / str(version) for name in plan}
    taken = [t for t in targets.values() if (t / CLIP_METADATA).exists()]
    if taken and not force:
        raise CheckFailed(f"version {version} already exists ({taken[0]}); pass --force")
    for name, files in plan.items():
        target = targets[name]
        target.mkdir(parents=True, exist_ok=True)
        if not (target / "model.py").exists():
            (target / "model.py").write_text(
                f'"""Triton entry point for `{name}` version {version} (scripts/'
                f'export_clip_onnx.py)."""\n\nfrom {MODEL_PY[name]}\n\n'
                '__all__ = ["TritonPythonModel"]\n')
        for old in ("model.onnx", "model.int8.onnx", CLIP_METADATA, "tokenizer.json"):
            (target / old).unlink(missing_ok=True)
        for file in files:
            source = staging / file
            if not source.exists():
                continue
            dest = file.replace("image.", "model.").replace("text.", "model.")
            if file == CLIP_METADATA:  # every folder gets the metadata; the last one moves it
                shutil.copy2(source, target / dest)
            else:
                source.rename(target / dest)
        log(f"wrote {target}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ViT-B-32", help="open_clip model name")
    parser.add_argument("--pretrained", default="laion2b_s34b_b79k",
                        help="open_clip pretrained tag, or 'none' for random weights")
    parser.add_argument("--checkpoint", type=Path,
                        help="load the --pretrained weights from this file (a pinned download, "
                             "see orchestrator/serving/pins.py) instead of fetching them")
    parser.add_argument("--repository", type=Path, default=REPO / "model_repository")
    parser.add_argument("--version", type=int, default=0, help="version folder (default: next)")
    parser.add_argument("--int8", action="store_true", help="add a dynamically quantized copy")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace an existing version")
    args = parser.parse_args()
    if args.opset < 17:
        parser.error("--opset must be at least 17")
    args.repository = args.repository.resolve()
    try:
        report = export(args)
    except CheckFailed as exc:
        print(json.dumps({"ok": False, "error": str(exc)}))
        log(f"refused: {exc}")
        return 1
    print(json.dumps({"ok": True, **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
