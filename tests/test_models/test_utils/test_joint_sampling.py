# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Coordinate frames, flipping and feature sampling of dag_mmpose.models.utils."""

from unittest import TestCase

import torch

from dag_mmpose.models.utils import (
    flip_normalized,
    heatmap_to_pixels,
    normalized_to_pixels,
    pixels_to_normalized,
    sample_joint_features,
    soft_argmax,
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


class TestSoftArgmax(TestCase):
    def test_recovers_a_known_peak(self):
        """A sharp peak gives its index; a symmetric blob gives its sub-pixel centre."""
        maps = torch.full((2, 3, 16, 12), -1e4)
        maps[0, 0, 5, 7] = 0.0
        maps[1, 2, 0, 11] = 0.0
        # a Gaussian blob centred between pixels (x = 3.5, y = 9.25)
        ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(12.0), indexing='ij')
        maps[0, 1] = -((xs - 3.5) ** 2 + (ys - 9.25) ** 2) / 2.0
        locations, peaks = soft_argmax(maps)
        torch.testing.assert_close(locations[0, 0], torch.tensor([7.0, 5.0]))
        torch.testing.assert_close(locations[1, 2], torch.tensor([11.0, 0.0]))
        torch.testing.assert_close(locations[0, 1], torch.tensor([3.5, 9.25]), atol=1e-3, rtol=0)
        torch.testing.assert_close(peaks[0, 0], torch.tensor(1.0))
        # a flat map: the centre of the grid, probability 1 / (H W)
        torch.testing.assert_close(locations[0, 2], torch.tensor([5.5, 7.5]))
        torch.testing.assert_close(peaks[0, 2], torch.tensor(1 / 192))

    def test_gradient_and_bad_shape(self):
        maps = torch.randn(1, 2, 8, 6, requires_grad=True)
        soft_argmax(maps)[0].sum().backward()
        self.assertGreater(maps.grad.abs().sum().item(), 0)
        with self.assertRaisesRegex(ValueError, r'\(B, K, H, W\).*\(8, 6\)'):
            soft_argmax(torch.rand(8, 6))

    def test_heatmap_index_to_pixels_as_the_codecs(self):
        index = torch.tensor([[[0.0, 0.0], [11.0, 15.0], [2.5, 4.0]]])
        msra = heatmap_to_pixels(index, SIZE, (12, 16))
        torch.testing.assert_close(msra, index * 4.0)
        udp = heatmap_to_pixels(index, SIZE, (12, 16), use_udp=True)
        torch.testing.assert_close(udp[0, 1], torch.tensor([47.0, 63.0]))
