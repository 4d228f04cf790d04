"""Phone videos with a display matrix: probed, sampled and cropped as FFmpeg shows them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from orchestrator.pipeline.ingest import probe
from orchestrator.pipeline.vision.frames import sample_frames


def turned_video(folder: Path) -> Path:
    """A 320x180 test pattern whose display matrix turns it a quarter (shown 180x320)."""
    plain, turned = folder / "plain.mp4", folder / "turned.mp4"
    for cmd in (["-f", "lavfi", "-i", "testsrc=s=320x180:d=2:r=10", "-f", "lavfi", "-i",
                 "sine=d=2", "-shortest", "-c:v", "libx264", str(plain)],
                ["-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(turned)]):
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *cmd], check=True)
    return turned


def test_a_turned_video_is_probed_and_sampled_as_it_is_shown(tmp_path: Path):
    video = turned_video(tmp_path)
    source = probe(str(video))
    assert (source.width, source.height) == (180, 320)  # portrait, as rendered
    frames = sample_frames(video, height=320)
    assert frames.source_size == (180, 320) and frames.images[0].shape == (320, 180, 3)
    shown = tmp_path / "shown.png"  # FFmpeg's own rendering of the first frame (autorotate)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(video), "-frames:v", "1",
                    str(shown)], check=True)
    reference = np.asarray(Image.open(shown).convert("RGB"), dtype=np.int16)
    assert np.abs(frames.images[0].astype(np.int16) - reference).mean() < 8
