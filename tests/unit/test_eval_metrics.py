"""The evaluation metrics against cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orchestrator.evaluation.metrics import (
    HeatBin,
    Span,
    average_precision,
    clips_curve,
    coverage,
    hit_at_k,
    peak_time,
    positive_segments,
    segment_scores,
    segment_values,
)


def bins(values: list[float], width: float = 10.0) -> list[HeatBin]:
    return [HeatBin(i * width, (i + 1) * width, v) for i, v in enumerate(values)]


def test_peak_is_the_middle_of_the_highest_bin_earliest_on_ties():
    assert peak_time(bins([0.1, 0.9, 0.3])) == 15.0
    assert peak_time(bins([0.5, 1.0, 1.0])) == 15.0  # tie: the earlier bin
    assert peak_time([]) is None  # no heatmap
    assert peak_time(bins([0.0, 0.0])) is None  # no peak


def test_hit_at_k_uses_the_top_k_clips_half_open():
    clips = [Span(30, 40), Span(10, 20), Span(50, 60)]
    assert not hit_at_k(15.0, clips, 1) and hit_at_k(15.0, clips, 2)
    assert hit_at_k(10.0, clips, 2)  # a clip at its very start counts
    assert not hit_at_k(20.0, clips, 3)  # the end is outside
    assert hit_at_k(0.0, [Span(0, 5)], 1)  # a clip at the very start of the video
    assert not hit_at_k(15.0, [], 5)


def test_segments_average_the_bins_they_overlap():
    # Bins of 4 s: [0,4)=0.2 [4,8)=0.6 [8,12)=1.0; 5-s segments over 12 s: [0,5) [5,10) [10,12)
    values = segment_values(bins([0.2, 0.6, 1.0], width=4.0), 12.0)
    assert values == pytest.approx([(4 * 0.2 + 1 * 0.6) / 5, (3 * 0.6 + 2 * 1.0) / 5, 1.0])
    assert segment_values([], 7.0) == pytest.approx([0.0, 0.0])


def test_positive_segments_take_the_top_fraction_earlier_first_on_ties():
    values = np.array([0.1, 0.5, 0.5, 0.9, 0.2, 0.3, 0.0, 0.4, 0.5, 0.1])
    assert positive_segments(values, 0.15).tolist() == [False, False, False, True] + [False] * 6
    top_half = positive_segments(values, 0.5)  # 5 segments: 0.9, then the three 0.5s, 0.4
    assert np.flatnonzero(top_half).tolist() == [1, 2, 3, 7, 8]
    assert positive_segments(np.array([0.3]), 0.15).tolist() == [True]  # at least one


def test_average_precision_by_hand():
    labels = np.array([1, 0, 1, 0], dtype=bool)
    # Ranked 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg): AP = (1/1 + 2/3) / 2
    assert average_precision(labels, np.array([0.9, 0.8, 0.7, 0.1])) == pytest.approx(5 / 6)
    assert average_precision(labels, np.array([0.9, 0.1, 0.8, 0.7])) == pytest.approx(1.0)
    # Ties enter together: all scores equal -> precision 2/4 at recall 1.
    assert average_precision(labels, np.zeros(4)) == pytest.approx(0.5)
    # A tie between a positive and a negative at the top: 1/2 at recall 1/2, then 2/3.
    ranked = np.array([0.9, 0.9, 0.5, 0.1])
    assert average_precision(labels, ranked) == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)
    assert math.isnan(average_precision(np.zeros(3, dtype=bool), np.ones(3)))


def test_segment_scores_and_baseline_curves():
    times = np.arange(12) + 0.5
    curve = np.r_[np.zeros(5), np.ones(5), np.full(2, 0.5)]
    assert segment_scores(times, curve, 12.0) == pytest.approx([0.0, 1.0, 0.5])
    t, c = clips_curve([Span(0, 2), Span(3, 5)], 6.0)  # rank 1 -> 1.0, rank 2 -> 0.5
    assert t.tolist() == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    assert c.tolist() == [1.0, 1.0, 0.0, 0.5, 0.5, 0.0]


def test_coverage_precision_and_recall():
    positive = np.array([False, True, True, False])  # seconds 5-15 of a 20-s video
    # One clip 0-10: 5 s of 10 inside the positives; 5 of 10 positive seconds covered.
    assert coverage([Span(0, 10)], positive, 20.0) == pytest.approx((0.5, 0.5))
    # Overlapping clips count their union once; a clip past the end is clipped.
    assert coverage([Span(5, 12), Span(8, 15)], positive, 20.0) == pytest.approx((1.0, 1.0))
    assert coverage([Span(15, 30)], positive, 20.0) == pytest.approx((0.0, 0.0))
    # A longer clip covers more but loses precision.
    short = coverage([Span(6, 14)], positive, 20.0)
    long = coverage([Span(0, 20)], positive, 20.0)
    assert long[1] > short[1] and long[0] < short[0]
    assert coverage([], positive, 20.0) == (0.0, 0.0)


def test_a_clip_that_ends_with_the_video_holds_a_peak_in_the_last_bin():
    heat = bins([0.1] * 9 + [1.0])  # 100 s, the peak in 90-100
    assert hit_at_k(peak_time(heat), [Span(88.0, 100.0)], 1)
    positive = positive_segments(segment_values(heat, 100.0), 0.15)  # 3 of 20 segments
    assert np.flatnonzero(positive).tolist() == [0, 18, 19]  # 90-100, then the earliest tie
    assert coverage([Span(88.0, 100.0)], positive, 100.0) == pytest.approx((10 / 12, 10 / 15))
