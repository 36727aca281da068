# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Coordinate frames, flipping and feature sampling of dag_mmpose.models.utils."""

from unittest import TestCase

import torch

from dag_mmpose.models.utils import (
    argmax_keypoints,
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


class TestArgmaxAndSampling(TestCase):
    def test_argmax_msra_and_udp(self):
        heatmaps = torch.zeros(1, 1, 16, 12)
        heatmaps[0, 0, 15, 11] = 1.0
        msra, scores = argmax_keypoints(heatmaps, SIZE)
        torch.testing.assert_close(msra, torch.tensor([[[44.0, 60.0]]]))  # 11 * 4, 15 * 4
        self.assertEqual(scores.item(), 1.0)
        udp, _ = argmax_keypoints(heatmaps, SIZE, use_udp=True)
        torch.testing.assert_close(udp, torch.tensor([[[47.0, 63.0]]]))  # corners align

    def test_simcc_needs_split_ratio(self):
        vectors = (torch.rand(1, 2, 96), torch.rand(1, 2, 128))
        with self.assertRaisesRegex(ValueError, 'simcc_split_ratio'):
            argmax_keypoints(vectors, SIZE)
        keypoints, _ = argmax_keypoints(vectors, SIZE, simcc_split_ratio=2.0)
        self.assertEqual(tuple(keypoints.shape), (1, 2, 2))

    def test_sampling_hits_the_decoded_cell(self):
        # a joint decoded from heatmap cell (i, j) samples exactly feature cell (i, j)
        maps = torch.arange(16 * 12, dtype=torch.float32).reshape(1, 1, 16, 12)
        for use_udp in (False, True):
            heatmaps = torch.zeros(1, 1, 16, 12)
            heatmaps[0, 0, 5, 7] = 1.0
            keypoints, _ = argmax_keypoints(heatmaps, SIZE, use_udp=use_udp)
            sampled = sample_joint_features(maps, keypoints, SIZE, use_udp=use_udp)
            self.assertEqual(sampled.item(), 5 * 12 + 7, use_udp)
