# Copyright (c) dag_mmpose contributors. All rights reserved.
import copy
import os.path as osp
import tempfile
from typing import Dict
from unittest import TestCase

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope
from mmpose.datasets.transforms import PackPoseInputs
from mmpose.registry import TRANSFORMS

from dag_mmpose.datasets.transforms import OccludedTwin, PackDualPoseInputs
from dag_mmpose.testing.pools import dots_person as _dots_person
from dag_mmpose.testing.pools import write_pool as _write_pool

K = 17

W, H = 96, 128
CODEC = dict(type='MSRAHeatmap', input_size=(W, H), heatmap_size=(24, 32), sigma=1.5)


def _sample(seed: int = 0) -> Dict:
    """A sample as it leaves TopdownAffine and GetOtherInstances."""
    rng = np.random.default_rng(seed)
    keypoints = rng.uniform(15, 85, (1, K, 2)).astype(np.float32) * (1, 1.3)
    visible = np.full((1, K), 2.0, np.float32)
    visible[0, :2] = 0
    return dict(
        id=1,
        img_id=1,
        img=rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
        img_shape=(H, W),
        input_size=(W, H),
        keypoints=keypoints,
        keypoints_visible=visible,
        transformed_keypoints=keypoints.copy(),
        other_keypoints=rng.uniform(0, 90, (1, K, 2)).astype(np.float32),
        other_keypoints_visible=np.ones((1, K), np.float32),
        flip_indices=list(range(K)),
    )


def _assert_same(a, b, key):
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=key)
    else:
        assert a == b, key


class _WithPool(TestCase):
    """A one-person instance pool in a temporary folder, for the class's tests."""

    @classmethod
    def setUpClass(cls) -> None:
        cls._tmp = tempfile.TemporaryDirectory()
        cls.pool_dir = osp.join(cls._tmp.name, 'pool')
        _write_pool(cls.pool_dir, [_dots_person()], K, 2)

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()


class TestOccludedTwin(_WithPool):
    def _occluders(self):
        return [
            dict(type='MaskJoints', prob=1.0),
            dict(type='InstancePaste', pool=self.pool_dir, prob=1.0, num_keypoints=K),
            dict(type='PartPaste', pool=self.pool_dir, num_keypoints=K),
        ]

    def test_twin_differs_only_where_occluders_went_and_shares_the_labels(self):
        twin = OccludedTwin(self._occluders(), clean_prob=0.0)
        for seed in range(5):
            sample = _sample(seed)
            before = copy.deepcopy(sample)
            np.random.seed(seed)
            results = twin(sample)
            assert results['twin_occluded']
            boxes = results['twin_boxes']
            assert boxes.shape[1] == 4 and len(boxes) >= 3  # a mask, a person, a part
            diff = (results['img_twin'] != results['img']).any(axis=-1)
            assert diff.any()
            inside = np.zeros((H, W), bool)
            for x1, y1, x2, y2 in boxes:
                inside[int(y1) : int(np.ceil(y2)) + 1, int(x1) : int(np.ceil(x2)) + 1] = True
            assert not (diff & ~inside).any()
            # every key the sample had is exactly as it was: the clean image and the labels,
            # other people included (InstancePaste's pasted people stay in the twin)
            for key, value in before.items():
                _assert_same(results[key], value, key)
            assert set(results) == set(before) | {'img_twin', 'twin_occluded', 'twin_boxes'}

    def test_clean_share(self):
        twin = OccludedTwin(self._occluders(), clean_prob=1.0)
        results = twin(_sample())
        assert not results['twin_occluded']
        np.testing.assert_array_equal(results['img_twin'], results['img'])
        assert results['img_twin'] is not results['img']
        assert results['twin_boxes'].shape == (0, 4)
        np.random.seed(0)
        twin = OccludedTwin(self._occluders(), clean_prob=1 / 3)
        clean = [not twin(_sample())['twin_occluded'] for _ in range(90)]
        assert 15 <= sum(clean) <= 45

    def test_twin_in_place_of_the_crop(self):
        sample = _sample()
        before = copy.deepcopy(sample)
        np.random.seed(1)
        results = OccludedTwin(self._occluders(), clean_prob=0.0, twin_key='img')(sample)
        assert (results['img'] != before['img']).any()
        for key, value in before.items():
            if key != 'img':
                _assert_same(results[key], value, key)
        assert 'img_twin' not in results

    def test_same_draws_as_the_twin_in_place(self):
        """The D-Slope ENet and the baseline trained alone on the twins see the same
        images for the same random state."""
        for seed in range(3):
            np.random.seed(seed)
            dual = OccludedTwin(self._occluders())(_sample(seed))['img_twin']
            np.random.seed(seed)
            alone = OccludedTwin(self._occluders(), twin_key='img')(_sample(seed))['img']
            np.testing.assert_array_equal(dual, alone)

    def test_inner_transforms_must_keep_the_crop(self):
        crop = TRANSFORMS.build(dict(type='mmcv.Resize', scale=(50, 50)))
        with self.assertRaisesRegex(ValueError, 'keep the crop'):
            OccludedTwin([crop], clean_prob=0.0)(_sample())

        def drop(results):
            return None

        with self.assertRaisesRegex(RuntimeError, 'dropped the sample'):
            OccludedTwin([drop], clean_prob=0.0)(_sample())
        with self.assertRaisesRegex(ValueError, 'clean_prob'):
            OccludedTwin([drop], clean_prob=2.0)
        # without occluders every twin is a clean copy
        results = OccludedTwin([], clean_prob=0.0)(_sample())
        np.testing.assert_array_equal(results['img_twin'], results['img'])

    def test_geometric_transforms_do_not_belong_inside(self):
        """The twin shares the crop's labels: a transform that moves the image or the labels
        would make them wrong for the twin alone."""
        init_default_scope('mmpose')
        for step in (
            dict(type='RandomFlip', prob=1.0),
            dict(type='TopdownAffine', input_size=(W, H)),
            dict(type='RandomBBoxTransform'),
        ):
            with self.subTest(step=step['type']):
                with self.assertRaisesRegex(ValueError, f'OccludedTwin: {step["type"]} moves'):
                    OccludedTwin([step])

        def shift(results):
            results['transformed_keypoints'] = results['transformed_keypoints'] + 3.0
            return results

        with self.assertRaisesRegex(ValueError, 'changed `transformed_keypoints`'):
            OccludedTwin([shift], clean_prob=0.0)(_sample())
        with self.assertRaisesRegex(ValueError, 'OccludedTwin: clean_prob'):
            OccludedTwin([], clean_prob=float('nan'))

    def test_repr(self):
        text = repr(OccludedTwin([dict(type='MaskJoints')], clean_prob=0.5))
        assert text.startswith('OccludedTwin(transforms=[MaskJoints(prob=0.5')
        assert text.endswith("clean_prob=0.5, twin_key='img_twin')")


class TestPackDualPoseInputs(_WithPool):
    def test_packs_crop_then_twin_with_the_clean_labels(self):
        init_default_scope('mmpose')
        twin_step = dict(
            type='OccludedTwin',
            transforms=[dict(type='PartPaste', pool=self.pool_dir, num_keypoints=K)],
            clean_prob=0.0,
        )
        dual = Compose(
            [twin_step, dict(type='GenerateTarget', encoder=CODEC), dict(type='PackDualPoseInputs')]
        )
        plain = Compose([dict(type='GenerateTarget', encoder=CODEC), dict(type='PackPoseInputs')])
        np.random.seed(0)
        sample = _sample()
        packed = dual(copy.deepcopy(sample))
        expected = plain(copy.deepcopy(sample))
        inputs = packed['inputs']
        assert inputs.shape == (6, H, W) and inputs.dtype == torch.uint8
        torch.testing.assert_close(inputs[:3], expected['inputs'], rtol=0, atol=0)
        assert not torch.equal(inputs[3:], inputs[:3])
        # the twin's labels are the clean crop's
        torch.testing.assert_close(
            packed['data_samples'].gt_fields.heatmaps,
            expected['data_samples'].gt_fields.heatmaps,
            rtol=0,
            atol=0,
        )
        np.testing.assert_array_equal(
            packed['data_samples'].gt_instances.keypoints,
            expected['data_samples'].gt_instances.keypoints,
        )

    def test_twin_tensor_is_the_twin(self):
        sample = _sample()
        sample['img_twin'] = sample['img'][..., ::-1].copy()  # BGR -> RGB, a visible change
        packed = PackDualPoseInputs()(sample)
        expected = PackPoseInputs()(dict(sample, img=sample['img_twin']))
        torch.testing.assert_close(packed['inputs'][3:], expected['inputs'], rtol=0, atol=0)

    def test_missing_or_mismatched_twin(self):
        with self.assertRaisesRegex(KeyError, 'OccludedTwin'):
            PackDualPoseInputs()(_sample())
        sample = _sample()
        sample['img_twin'] = sample['img'][:10]
        with self.assertRaisesRegex(ValueError, 'shape'):
            PackDualPoseInputs()(sample)
        assert repr(PackDualPoseInputs()).startswith("PackDualPoseInputs(twin_key='img_twin'")
