# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The keypoint helpers shared by MaskJoints, InstancePaste and GetOtherInstances."""

import numpy as np
import pytest

from dag_mmpose.datasets.transforms.keypoint_utils import (
    crop_keypoints,
    inside_crop,
    keypoint_extent,
    labelled_inside_crop,
    on_mask,
    visibility_flags,
)


def test_visibility_flags_unpacks_the_weight_layout():
    flags = np.array([[1.0, 0.0, 2.0]])
    packed = np.stack([flags, np.full_like(flags, 0.5)], axis=-1)  # (N, K, 2)
    np.testing.assert_array_equal(visibility_flags(packed), flags)
    np.testing.assert_array_equal(visibility_flags(flags), flags)


def test_crop_keypoints_prefers_the_crop_frame():
    image = np.zeros((1, 2, 2))
    crop = np.ones((1, 2, 2))
    np.testing.assert_array_equal(crop_keypoints({'keypoints': image}), image)
    both = {'keypoints': image, 'transformed_keypoints': crop}
    np.testing.assert_array_equal(crop_keypoints(both), crop)
    assert crop_keypoints({}) is None


def test_inside_is_half_open_and_nan_is_outside():
    points = np.array([[0.0, 0.0], [47.9, 63.9], [48.0, 10.0], [np.nan, 5.0], [-0.1, 3.0]])
    np.testing.assert_array_equal(inside_crop(points, (48, 64)), [1, 1, 0, 0, 0])


def test_labelled_inside_crop():
    keypoints = np.array([[[5.0, 5.0], [5.0, 5.0], [100.0, 5.0]]])
    visible = np.array([[2.0, 0.0, 1.0]])
    np.testing.assert_array_equal(
        labelled_inside_crop(keypoints, visible, (48, 64), 'T'), [[True, False, False]]
    )
    np.testing.assert_array_equal(
        labelled_inside_crop(keypoints, None, (48, 64), 'T'), [[True, True, False]]
    )
    with pytest.raises(ValueError, match=r'T: keypoints_visible \(1, 2\)'):
        labelled_inside_crop(keypoints, visible[:, :2], (48, 64), 'T')


def test_on_mask_is_the_bilinear_support():
    mask = np.zeros((6, 6), np.uint8)
    mask[3, 3] = 255
    points = np.array(
        [[3.0, 3.0], [2.5, 2.5], [2.0, 3.0], [3.9, 3.9], [4.0, 3.0], [1.9, 3.0], [np.nan, 3.0]]
    )
    # a pixel of the (up to) 4 around the point is on the mask: a bilinear warp is non-zero
    np.testing.assert_array_equal(on_mask(mask, points), [1, 1, 1, 1, 0, 0, 0])
    assert not on_mask(mask, np.array([[-1.0, -1.0], [5.5, 5.5], [40.0, 3.0]])).any()


def test_keypoint_extent():
    points = np.array([[0.0, 0.0], [10.0, 4.0], [3.0, 30.0], [5.0, 5.0]])
    assert keypoint_extent(points) == 30.0
    assert keypoint_extent(points[:3]) is None  # too few joints to measure
    assert keypoint_extent(points[:3], min_points=2) == 30.0
    assert keypoint_extent(np.zeros((5, 2))) is None
