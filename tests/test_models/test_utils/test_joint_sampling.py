# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Coordinate frames, flipping and feature sampling of dag_mmpose.models.utils."""

from unittest import TestCase

import torch

from dag_mmpose.models.utils import (
    flip_normalized,
    normalized_to_pixels,
    pixels_to_normalized,
    sample_joint_features,
)

SIZE = (48, 64)  # (w, h)


class TestFrames(TestCase):
    def test_round_trip(self):
        pixels = torch.tensor([[[0.0, 0.0], [47.0, 63.0], [24.0, 32.0]]])
        coords = pixels_to_normalized(pixels, SIZE)
        torch.testing.assert_close(coords[0, 2], torch.tensor([0.0, 0.0]))
        torch.testing.assert_close(normalized_to_pixels(coords, SIZE), pixels)

    def test_flip_is_mmpose_pixel_flip(self):
        # with shift: x -> w - 1 - x in pixels; without: x -> w - x; joints swap
        pixels = torch.tensor([[[5.0, 7.0], [30.0, 9.0]]])
        coords = pixels_to_normalized(pixels, SIZE)
        for shift, expected_x in ((True, (47 - 30.0, 47 - 5.0)), (False, (48 - 30.0, 48 - 5.0))):
            back = normalized_to_pixels(flip_normalized(coords, [1, 0], SIZE, shift), SIZE)
            torch.testing.assert_close(back[0, :, 0], torch.tensor(expected_x))
            torch.testing.assert_close(back[0, :, 1], torch.tensor([9.0, 7.0]))

    def test_flip_does_not_change_its_input(self):
        coords = torch.rand(2, 3, 2) * 2 - 1
        before = coords.clone()
        flip_normalized(coords, [2, 1, 0], SIZE)
        torch.testing.assert_close(coords, before)


class TestSampling(TestCase):
    def test_sampling_hits_the_cell_where_the_codec_puts_it(self):
        # heatmap cell (row 5, col 7) sits at x = 7 w / W (MSRA) or 7 (w - 1) / (W - 1) (UDP)
        maps = torch.arange(16 * 12, dtype=torch.float32).reshape(1, 1, 16, 12)
        for use_udp, keypoint in ((False, [7 * 4.0, 5 * 4.0]), (True, [7 * 47 / 11, 5 * 63 / 15])):
            sampled = sample_joint_features(maps, torch.tensor([[keypoint]]), SIZE, use_udp)
            self.assertAlmostEqual(sampled.item(), 5 * 12 + 7, places=4, msg=str(use_udp))
