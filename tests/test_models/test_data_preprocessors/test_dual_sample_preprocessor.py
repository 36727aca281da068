# Copyright (c) dag_mmpose contributors. All rights reserved.
from unittest import TestCase

import torch
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from dag_mmpose.models.data_preprocessors import DualSampleDataPreprocessor

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)


def _bgr(b: int, g: int, r: int, size=(8, 6)) -> torch.Tensor:
    img = torch.empty(3, *size, dtype=torch.uint8)
    img[0], img[1], img[2] = b, g, r
    return img


def _samples(num: int) -> list:
    return [PoseDataSample() for _ in range(num)]


class TestDualSampleDataPreprocessor(TestCase):
    def test_each_half_is_preprocessed_as_a_plain_image(self):
        dual = DualSampleDataPreprocessor(**NORM)
        plain = PoseDataPreprocessor(**NORM)
        clean = [_bgr(10, 20, 30), torch.randint(0, 256, (3, 8, 6), dtype=torch.uint8)]
        twin = [_bgr(200, 100, 50), torch.randint(0, 256, (3, 8, 6), dtype=torch.uint8)]
        samples = [PoseDataSample(), PoseDataSample()]
        out = dual(
            dict(inputs=[torch.cat(p) for p in zip(clean, twin)], data_samples=samples), True
        )
        assert out['inputs'].shape == (2, 6, 8, 6)
        for half, images in ((slice(0, 3), clean), (slice(3, 6), twin)):
            expected = plain(dict(inputs=images, data_samples=[PoseDataSample()] * 2), True)
            torch.testing.assert_close(out['inputs'][:, half], expected['inputs'], rtol=0, atol=0)
        assert len(out['data_samples']) == 2
        assert out['data_samples'][0].batch_input_shape == (8, 6)

    def test_colour_order_of_both_images(self):
        dual = DualSampleDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], bgr_to_rgb=True)
        out = dual(
            dict(inputs=[torch.cat([_bgr(10, 20, 30), _bgr(1, 2, 3)])], data_samples=_samples(1))
        )
        rgb = out['inputs'][0, :, 0, 0].tolist()
        assert rgb == [30, 20, 10, 3, 2, 1]  # R, G, B of the crop, then of the twin

    def test_stacked_batch_tensor(self):
        dual = DualSampleDataPreprocessor(**NORM)
        inputs = torch.randint(0, 256, (2, 6, 8, 6), dtype=torch.uint8)
        out = dual(dict(inputs=inputs, data_samples=_samples(2)))
        listed = dual(dict(inputs=list(inputs), data_samples=_samples(2)))
        torch.testing.assert_close(out['inputs'], listed['inputs'], rtol=0, atol=0)

    def test_plain_images_as_pose_data_preprocessor(self):
        dual = DualSampleDataPreprocessor(**NORM)
        plain = PoseDataPreprocessor(**NORM)
        images = [torch.randint(0, 256, (3, 8, 6), dtype=torch.uint8) for _ in range(2)]
        torch.testing.assert_close(
            dual(dict(inputs=images, data_samples=_samples(2)))['inputs'],
            plain(dict(inputs=images, data_samples=_samples(2)))['inputs'],
            rtol=0,
            atol=0,
        )

    def test_errors(self):
        dual = DualSampleDataPreprocessor(**NORM)
        with self.assertRaisesRegex(ValueError, r'\[4\] channels'):
            dual(dict(inputs=[torch.zeros(4, 8, 6, dtype=torch.uint8)], data_samples=_samples(1)))
        with self.assertRaisesRegex(ValueError, 'batch_augments'):
            DualSampleDataPreprocessor(batch_augments=[dict(type='BatchSyncRandomResize')])
        with self.assertRaisesRegex(ValueError, 'mean has 2 values'):
            DualSampleDataPreprocessor(mean=[0, 0], std=[1, 1])

    def test_registered(self):
        built = MODELS.build(dict(type='DualSampleDataPreprocessor', **NORM))
        assert isinstance(built, DualSampleDataPreprocessor)
