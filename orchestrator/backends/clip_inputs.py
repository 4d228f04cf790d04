"""CLIP input preparation without torch: frames to normalized pixels, text to BPE token ids.

These reproduce open_clip's evaluation transforms (resize the shorter side with bicubic
filtering, centre crop, scale to [0, 1], normalize by mean/std) and its tokenizer framing
(start token, BPE, end token, truncate, zero-pad) from the numbers in a version's ``clip.json``
and its ``tokenizer.json``. ``scripts/export_clip_onnx.py`` writes both and checks them against
open_clip itself before it accepts an export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from orchestrator.contracts.clip import ClipMetadata

MAX_SIDE = 8192  # larger frames are refused rather than resized (a 4K frame is 3840 wide)


def check_frame(frame: np.ndarray) -> np.ndarray:
    """Validate one frame (height x width x 3, uint8); raise ``ValueError`` otherwise."""
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"IMAGE must be height x width x 3 (RGB), got shape {list(frame.shape)}")
    if frame.dtype != np.uint8:
        raise ValueError(f"IMAGE must be uint8, got {frame.dtype}")
    if min(frame.shape[:2]) < 1 or max(frame.shape[:2]) > MAX_SIDE:
        raise ValueError(f"IMAGE sides must be 1..{MAX_SIDE} pixels, got {list(frame.shape[:2])}")
    return frame


def preprocess_frame(frame: np.ndarray, meta: ClipMetadata) -> np.ndarray:
    """One RGB uint8 frame -> float32 [3, S, S] exactly as open_clip's eval transform."""
    from PIL import Image

    size = meta.image_size
    height, width = check_frame(frame).shape[:2]
    # torchvision Resize(int): the shorter side becomes `size`, the longer keeps the aspect
    # ratio, truncated to an int.
    if width <= height:
        new_w, new_h = size, int(size * height / width)
    else:
        new_w, new_h = int(size * width / height), size
    image = Image.fromarray(np.ascontiguousarray(frame), mode="RGB")
    if (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), Image.Resampling.BICUBIC)
    top = round((new_h - size) / 2.0)
    left = round((new_w - size) / 2.0)
    image = image.crop((left, top, left + size, top + size))
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    pixels = (pixels - np.asarray(meta.mean, np.float32)) / np.asarray(meta.std, np.float32)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def clean_text(text: str) -> str:
    """open_clip's default text cleaning: fix mojibake, unescape HTML, squeeze spaces, lower."""
    import html

    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return " ".join(text.split()).lower()


class TextTokens:
    """open_clip tokenization from a ``tokenizer.json`` (Hugging Face tokenizers format)."""

    def __init__(self, tokenizer_file: Path, meta: ClipMetadata) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._meta = meta

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Token ids, shape [len(texts), context_length], int64."""
        meta = self._meta
        out = np.zeros((len(texts), meta.context_length), dtype=np.int64)
        cleaned = [clean_text(t) for t in texts]
        for row, encoding in enumerate(self._tokenizer.encode_batch(cleaned,
                                                                    add_special_tokens=False)):
            ids = [meta.sot_token, *encoding.ids, meta.eot_token][: meta.context_length]
            ids[-1] = meta.eot_token
            out[row, : len(ids)] = ids
        return out
