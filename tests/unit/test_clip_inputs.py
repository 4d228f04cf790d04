"""CLIP input preparation: frame checks and preprocessing geometry, tokenizer framing."""

from __future__ import annotations

import numpy as np
import pytest

from orchestrator.backends.clip_inputs import (
    TextTokens,
    check_frame,
    clean_text,
    preprocess_frame,
)
from orchestrator.contracts.clip import CLIP_METADATA, ClipMetadata
from orchestrator.paths import model_repository

META = ClipMetadata(model="ViT-B-32", pretrained="none", real_weights=False, embedding_size=512,
                    image_size=224, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
                    context_length=77, sot_token=49406, eot_token=49407)


@pytest.mark.parametrize(("shape", "dtype"), [((10, 10), np.uint8), ((10, 10, 4), np.uint8),
                                              ((0, 10, 3), np.uint8), ((10, 10, 3), np.float32),
                                              ((9000, 10, 3), np.uint8)])
def test_bad_frames_are_refused(shape, dtype):
    with pytest.raises(ValueError, match="IMAGE"):
        check_frame(np.zeros(shape, dtype=dtype))


def test_preprocess_crops_the_centre_of_the_shorter_side():
    frame = np.zeros((100, 300, 3), np.uint8)
    frame[:, 100:200] = 255  # a white centre third, black sides
    pixels = preprocess_frame(frame, META)
    assert pixels.shape == (3, 224, 224) and pixels.dtype == np.float32
    # After resizing to 224 x 672 the centre crop is all white: (1 - 0.5) / 0.25 = 2.
    np.testing.assert_allclose(pixels[:, :, 10:-10], 2.0, atol=1e-5)
    portrait = preprocess_frame(np.full((500, 200, 3), 128, np.uint8), META)
    np.testing.assert_allclose(portrait, (128 / 255 - 0.5) / 0.25, atol=1e-5)


def test_clean_text_matches_open_clip_cleaning():
    assert clean_text("  Caf\u00c3\u00a9 &amp;   MORE \n") == "café & more"


def test_tokens_are_framed_truncated_and_padded():
    folder = model_repository() / "clip_text" / "1"
    if not (folder / "tokenizer.json").is_file():
        pytest.fail("CLIP weights missing; run scripts/setup.sh", pytrace=False)
    meta = ClipMetadata.load(folder / CLIP_METADATA)
    tokens = TextTokens(folder / "tokenizer.json", meta)(["hello world!", "word " * 200])
    assert tokens.shape == (2, 77) and tokens.dtype == np.int64
    short, long = tokens
    assert short[0] == meta.sot_token and meta.eot_token in short
    end = int(np.argmax(short == meta.eot_token))
    assert end == 4 and not short[end + 1:].any()  # sot hello world ! eot, then zeros
    assert long[0] == meta.sot_token and long[-1] == meta.eot_token and long.all()
