# Copyright (c) dag_mmpose contributors. All rights reserved.
"""LegacyMSRAHeatmap: the original HRNet code's decoding, hand-checked where it differs from
mmpose's MSRAHeatmap (the torch decoder is held to it in test_torch_decoding.py, and the
release's own get_final_preds to our model in test_release_equivalence.py)."""

import numpy as np
import pytest
from mmpose.codecs import MSRAHeatmap

from dag_mmpose.codecs import DAGHeatmap, LegacyMSRAHeatmap

INPUT, HEATMAP = (16, 24), (8, 12)  # (w, h): scale factor 2


def _one_peak(x: int, y: int, value: float = 1.0) -> np.ndarray:
    """One map with a peak at (x, y) and a lower right / lower neighbour."""
    maps = np.zeros((1, HEATMAP[1], HEATMAP[0]), dtype=np.float32)
    maps[0, y, x] = value
    if x + 1 < HEATMAP[0]:
        maps[0, y, x + 1] = 0.5 * value
    if y + 1 < HEATMAP[1]:
        maps[0, y + 1, x] = 0.5 * value
    return maps


@pytest.mark.parametrize(
    'x, y, legacy, mmpose',
    [
        (4, 5, (4.25, 5.25), (4.25, 5.25)),  # inside on both axes: identical
        (4, 1, (4.0, 1.0), (4.25, 1.0)),  # y on row 1: the release leaves x too
        (1, 5, (1.0, 5.0), (1.0, 5.25)),  # x on column 1: the release leaves y too
        (7, 11, (7.0, 11.0), (7.0, 11.0)),  # the last pixel
    ],
)
def test_quarter_offset_needs_both_axes_inside(x, y, legacy, mmpose):
    maps = _one_peak(x, y)
    codec = LegacyMSRAHeatmap(INPUT, HEATMAP, sigma=1.0)
    keypoints, scores = codec.decode(maps)
    np.testing.assert_allclose(keypoints, [[np.multiply(legacy, 2.0)]])
    assert scores.tolist() == [[1.0]]
    reference, _ = MSRAHeatmap(INPUT, HEATMAP, sigma=1.0).decode(maps)
    np.testing.assert_allclose(reference, [[np.multiply(mmpose, 2.0)]])


def test_no_positive_response_is_the_corner():
    """A maximum <= 0 puts the joint at (0, 0) with its (non-positive) score; mmpose: -1."""
    maps = -np.ones((2, HEATMAP[1], HEATMAP[0]), dtype=np.float32)
    maps[0, 6, 3] = 0.0  # the maximum, and not positive
    maps[1] = _one_peak(3, 6)[0]
    keypoints, scores = LegacyMSRAHeatmap(INPUT, HEATMAP, sigma=1.0).decode(maps)
    np.testing.assert_allclose(keypoints[0], [[0.0, 0.0], [6.5, 12.5]])
    np.testing.assert_allclose(scores[0], [0.0, 1.0])
    reference, _ = MSRAHeatmap(INPUT, HEATMAP, sigma=1.0).decode(maps)
    np.testing.assert_allclose(reference[0, 0], [-2.0, -2.0])


def test_encoding_is_mmpose_and_dag_heatmap_delegates():
    keypoints = np.array([[[5.0, 7.0], [1.0, 22.0]]], dtype=np.float32)
    visible = np.ones((1, 2), dtype=np.float32)
    legacy = LegacyMSRAHeatmap(INPUT, HEATMAP, sigma=1.0).encode(keypoints, visible)
    reference = MSRAHeatmap(INPUT, HEATMAP, sigma=1.0).encode(keypoints, visible)
    np.testing.assert_array_equal(legacy['heatmaps'], reference['heatmaps'])
    dag = DAGHeatmap(INPUT, HEATMAP, sigma=1.0, legacy_decode=True)
    maps = _one_peak(4, 1)
    np.testing.assert_array_equal(dag.decode(maps)[0], [[[8.0, 2.0]]])
    np.testing.assert_array_equal(dag.encode(keypoints, visible)['heatmaps'], reference['heatmaps'])


def test_refusals():
    with pytest.raises(ValueError, match='no DARK'):
        LegacyMSRAHeatmap(INPUT, HEATMAP, sigma=1.0, unbiased=True)
    with pytest.raises(ValueError, match='does not combine with use_udp or unbiased'):
        DAGHeatmap(INPUT, HEATMAP, sigma=1.0, legacy_decode=True, use_udp=True)
    with pytest.raises(ValueError, match=r'shape \(K, H, W\)'):
        LegacyMSRAHeatmap(INPUT, HEATMAP, sigma=1.0).decode(np.zeros((12, 8)))
