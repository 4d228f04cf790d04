"""Face-following framing end to end: a video composed of real photographs (scikit-image's
astronaut), the vision stage's BlazeFace subject path, FFmpeg's 9:16 render - then the frames
of the rendered clip are looked at again for faces.

The first 6 s are a two-person shot (the astronaut and her mirror image): stacked, the left
person above, the right one below. The last 6 s show one person: the window follows her."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from orchestrator.pipeline.faces import detect_faces
from orchestrator.pipeline.ingest import probe
from orchestrator.pipeline.reframe import SubjectPath, smooth_path
from orchestrator.pipeline.render.stage import clip_cut, render_renditions
from orchestrator.pipeline.render.styles import DEFAULT_STYLE
from orchestrator.pipeline.vision.stage import VisionInput, analyse_video

pytestmark = pytest.mark.integration


def picture(path: Path, people: int) -> Path:
    person = cv2.resize(data.astronaut(), (640, 640), interpolation=cv2.INTER_AREA)
    canvas = np.full((720, 1280, 3), 50, dtype=np.uint8)
    canvas[80:, 40:680] = person
    if people == 2:
        canvas[80:, 600:1240] = np.maximum(canvas[80:, 600:1240], person[:, ::-1])
    cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    return path


def frame_at(video: Path, seconds: float, out: Path) -> np.ndarray:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{seconds}", "-i", str(video),
                    "-frames:v", "1", str(out)], check=True)
    return cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)


def test_two_people_are_stacked_and_one_person_is_followed(tmp_path: Path):
    two, one = picture(tmp_path / "two.png", 2), picture(tmp_path / "one.png", 1)
    video = tmp_path / "shots.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-t", "6", "-i", str(two),
                    "-loop", "1", "-t", "6", "-i", str(one), "-f", "lavfi", "-t", "12",
                    "-i", "sine=frequency=220:sample_rate=48000", "-filter_complex",
                    "[0:v][1:v]concat=n=2:v=1:a=0,fps=25,format=yuv420p[v]", "-map", "[v]",
                    "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    "-shortest", str(video)], check=True)
    source = probe(str(video))
    signals = asyncio.run(analyse_video(None, VisionInput(  # type: ignore[arg-type]
        video, True, similarity=False, duration_s=source.duration_s)))
    pairs = [t for t, p in zip(signals.times_s, signals.face_pairs, strict=True) if p]
    assert pairs and max(pairs) < 6.5 and len(pairs) >= 5, signals.face_pairs
    subject = SubjectPath(tuple(signals.times_s.tolist()),
                          tuple(smooth_path(signals.subject_x).tolist()), signals.face_pairs)
    cut = clip_cut("clip_01", 0.0, source.duration_s, [], "", subject)
    assert cut.split is not None and cut.split.spans[0][0] == 0.0
    assert 5.5 <= cut.split.spans[0][1] <= 6.6, cut.split
    files = asyncio.run(render_renditions(source, cut, ("9:16",), tmp_path, burn=False,
                                          style=DEFAULT_STYLE))

    stacked = frame_at(files["9:16"], 2.0, tmp_path / "at2.png")
    assert stacked.shape[:2] == (1920, 1080)
    for half in (stacked[:960], stacked[960:]):  # one face in each half, near its middle
        faces = detect_faces(half)
        assert len(faces) == 1, faces
        assert 0.3 < faces[0].x < 0.7, faces

    single = frame_at(files["9:16"], 10.0, tmp_path / "at10.png")
    (face,) = detect_faces(single)
    assert 0.3 < face.x < 0.7, face  # the window holds her face, not the empty right side
