"""Reframing: subject position, a steady crop path, geometry and the FFmpeg expression."""

from __future__ import annotations

import numpy as np

from orchestrator.pipeline.reframe import crop_filter, crop_geometry, smooth_path, subject_x


def test_salient_blob_on_the_right_is_the_subject():
    image = np.full((224, 398, 3), 30, dtype=np.uint8)
    image[80:150, 300:360] = (250, 240, 40)
    x = subject_x(image)
    assert x is not None and 0.7 < x < 0.95


def test_flat_frame_has_no_subject():
    assert subject_x(np.full((224, 398, 3), 90, dtype=np.uint8)) is None


def test_path_ignores_jitter_and_single_misses_and_moves_gradually():
    xs = [0.5, 0.52, 0.48, 0.51, 0.95, 0.5, 0.49, 0.5] + [0.9] * 10
    path = smooth_path(xs)
    assert np.all(path[:8] == 0.5)  # jitter inside the dead zone and one outlier: no move
    steps = np.abs(np.diff(path))
    assert steps.max() <= 0.08 + 1e-9
    assert abs(path[-1] - 0.9) <= 0.06


def test_no_subject_anywhere_is_centre():
    assert smooth_path([None, None, None]).tolist() == [0.5, 0.5, 0.5]
    assert smooth_path([None, 0.8, None]).tolist() == [0.8, 0.8, 0.8]


def test_geometry_for_each_aspect():
    g = crop_geometry(1280, 720, "9:16")
    assert (g.width, g.height, g.out_width, g.out_height, g.horizontal) == (404, 720, 1080,
                                                                           1920, True)
    assert crop_geometry(1280, 720, "16:9").width == 1280
    tall = crop_geometry(720, 1280, "1:1")
    assert (tall.width, tall.height, tall.horizontal) == (720, 720, False)


def test_crop_expression_is_piecewise_linear_and_clamped():
    g = crop_geometry(1280, 720, "9:16")
    filt = crop_filter(g, 1280, 720, [(0.0, 0.5), (1.0, 0.5), (2.0, 0.5), (3.0, 1.0)])
    assert filt.startswith("crop=404:720:") and filt.endswith("setsar=1")
    assert "lt(t\\,1.000)" not in filt  # the collinear keyframe at 1 s is dropped
    assert filt.count("if(") == 3  # before the first point, and two segments
    assert "876.0" in filt  # x clamped to width - crop width at the right edge
