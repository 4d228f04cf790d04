"""BlazeFace on real photographs (scikit-image's bundled astronaut), the face pair of a
two-person shot, and the split-screen spells with their minimum hold."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from skimage import data

from orchestrator.pipeline.faces import detect_faces
from orchestrator.pipeline.reframe import (
    MIN_HOLD_S,
    SubjectPath,
    frame_subject,
    panel_crop,
    split_layout,
)
from orchestrator.pipeline.render.stage import clip_cut


def two_shot(height: int = 224) -> np.ndarray:
    """Two people side by side in a 16:9 frame: the astronaut, and her mirror image."""
    person = cv2.resize(data.astronaut(), (700, 700), interpolation=cv2.INTER_AREA)
    canvas = np.full((1080, 1920, 3), 40, dtype=np.uint8)
    canvas[380:, 150:850] = person
    canvas[380:, 1070:1770] = person[:, ::-1]
    return cv2.resize(canvas, (round(1920 * height / 1080 / 2) * 2, height),
                      interpolation=cv2.INTER_AREA)


def test_the_astronauts_face_is_found_where_it_is():
    (face,) = detect_faces(data.astronaut())
    # Her face spans about x 180-270, y 70-190 of the 512 x 512 photograph.
    assert 0.37 < face.x < 0.5 and 0.17 < face.y < 0.33 and face.score > 0.8
    assert 0.12 < face.height < 0.3


def test_a_face_in_a_corner_of_a_wide_frame_is_the_subject():
    canvas = np.full((720, 1280, 3), 30, dtype=np.uint8)
    canvas[100:612, 700:1212] = data.astronaut()
    small = cv2.resize(canvas, (398, 224), interpolation=cv2.INTER_AREA)
    subject = frame_subject(small)
    assert subject.x == pytest.approx((700 + 0.44 * 512) / 1280, abs=0.04)
    assert subject.pair is None  # one person


def test_two_people_side_by_side_are_a_pair_left_first():
    subject = frame_subject(two_shot())
    assert subject.pair is not None
    left_x, left_y, right_x, right_y = subject.pair
    assert left_x == pytest.approx((150 + 0.44 * 700) / 1920, abs=0.04)
    assert right_x == pytest.approx((1770 - 0.44 * 700) / 1920, abs=0.04)
    assert left_y == pytest.approx(right_y, abs=0.03)


def test_no_face_in_a_picture_without_people():
    assert detect_faces(data.coffee()) == []


def path(flags: list[bool]) -> SubjectPath:
    pair = (0.25, 0.4, 0.75, 0.4)
    return SubjectPath(tuple(float(t) for t in range(len(flags))), (0.5,) * len(flags),
                       tuple(pair if f else None for f in flags))


def test_split_spells_hold_at_least_the_minimum():
    assert MIN_HOLD_S == 4.0
    # A 2-second spell is not worth a layout change; a 1-frame miss does not end a spell.
    flags = [False] * 5 + [True] * 2 + [False] * 5 + [True] * 4 + [False] + [True] * 4 + [
        False] * 10
    layout = split_layout(path(flags), 0.0, len(flags) - 1.0)
    assert layout is not None and layout.spans == ((11.5, 20.5),)
    assert layout.top == (0.25, 0.4) and layout.bottom == (0.75, 0.4)
    # Gaps shorter than the hold stay split; a spell near the clip's edges runs to them.
    flags = [False, True, True, True, True, True, False, False, True, True, True, True, True]
    layout = split_layout(path(flags), 0.0, 12.0)
    assert layout is not None and layout.spans == ((0.0, 12.0),) and layout.covers(12.0)
    assert split_layout(path([False] * 20), 0.0, 19.0) is None


def test_no_split_screen_keeps_one_window_on_a_two_person_shot():
    held = path([True] * 12)
    assert clip_cut("clip_01", 0.0, 11.0, [], "", held).split is not None
    cut = clip_cut("clip_01", 0.0, 11.0, [], "", held, split_screen=False)
    assert cut.split is None and cut.keyframes  # the crop still follows the subject path


def test_a_split_panel_is_centred_on_its_face_inside_the_frame():
    crop = panel_crop(1920, 1080, (0.25, 0.4), (1080, 960))
    width, height, x, y = (int(v) for v in crop.removeprefix("crop=").split(":"))
    assert (width, height) == (912, 810) and abs(width / height - 1080 / 960) < 0.01
    assert x + width / 2 == pytest.approx(0.25 * 1920, abs=1) and 0 <= y <= 1080 - height
    edge = panel_crop(1920, 1080, (0.02, 0.1), (1080, 960))
    assert edge.split(":")[2:] == ["0", "0"]


def test_jobs_detect_faces_in_parallel_threads():
    # Jobs run their vision stages at once in worker threads; one OpenCV net shared by them
    # crashed the service (segmentation fault, found by test_three_run_at_once_...).
    frame = cv2.resize(data.astronaut(), (224, 224), interpolation=cv2.INTER_AREA)
    expected = detect_faces(frame)

    def work(_: int) -> list[list]:
        return [detect_faces(frame) for _ in range(25)]

    with ThreadPoolExecutor(4) as pool:
        results = [faces for batch in pool.map(work, range(4)) for faces in batch]
    assert all(faces == expected for faces in results)
