# Copyright (c) dag_mmpose contributors. All rights reserved.
import copy
import os.path as osp
import tempfile
from typing import Dict
from unittest import TestCase

import numpy as np
from mmpose.registry import TRANSFORMS

from dag_mmpose.datasets.transforms import PartPaste
from dag_mmpose.datasets.transforms.part_paste import COCO_PART_ANCHORS
from dag_mmpose.testing.pools import dot_color as _dot_color
from dag_mmpose.testing.pools import dots_person as _dots_person
from dag_mmpose.testing.pools import write_pool as _write_pool

K = 17

W, H = 192, 256
GRAY = 77
# the target: a body 120 px tall, elbows / knees / hips where the anchors of a COCO person are
TARGET = {
    7: (60.0, 100.0),  # left elbow
    8: (130.0, 100.0),  # right elbow
    11: (80.0, 150.0),  # left hip
    12: (110.0, 150.0),  # right hip
    13: (80.0, 190.0),  # left knee
    14: (110.0, 200.0),  # right knee
    0: (95.0, 80.0),
}


def _sample(labelled=tuple(TARGET)) -> Dict:
    keypoints = np.zeros((1, K, 2), np.float32)
    visible = np.zeros((1, K), np.float32)
    for joint, point in TARGET.items():
        keypoints[0, joint] = point
        visible[0, joint] = 2 if joint in labelled else 0
    return dict(
        img=np.full((H, W, 3), GRAY, np.uint8),
        keypoints=keypoints + 1000,  # image pixels: the crop's are transformed_keypoints
        keypoints_visible=visible,
        transformed_keypoints=keypoints,
        keypoint_weights=visible.copy(),
    )


class TestPartPaste(TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls._tmp = tempfile.TemporaryDirectory()
        cls.pool = _write_pool(osp.join(cls._tmp.name, 'dots'), [_dots_person()], K, 2)
        cls.no_keypoints = _write_pool(
            osp.join(cls._tmp.name, 'none'), [(_dots_person()[0], [])], 0, 2
        )

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()

    def _paste(self, seed: int = 0, sample: Dict = None, **kwargs) -> Dict:
        args = dict(pool=self.pool, num_parts=(1, 1), rotation=(0, 0), jitter=0.0)
        args.update(kwargs)
        np.random.seed(seed)
        return PartPaste(**args).transform(_sample() if sample is None else sample)

    def test_patch_is_a_piece_of_the_pooled_body_centred_on_the_anchor(self):
        for seed in range(6):
            results = self._paste(seed, anchor_joints=((7,), (14,)), edge_softness=0)
            (part,) = results['pasted_parts']
            x, y = TARGET[(7, 14)[part['anchor']]]
            # the window is centred on a pooled joint, whose dot lands on the anchor
            np.testing.assert_array_equal(
                results['img'][int(y), int(x)], _dot_color(part['pool_joint'])
            )
            x1, y1, x2, y2 = part['bbox']
            assert x1 <= x <= x2 and y1 <= y <= y2

    def test_size_follows_the_target_body(self):
        results = self._paste(size=(0.4, 0.4), anchor_joints=((11, 12),), edge_softness=0)
        (part,) = results['pasted_parts']
        changed = np.argwhere((results['img'] != GRAY).any(axis=-1))
        side = (changed.max(axis=0) - changed.min(axis=0) + 1).max()
        body = 200 - 80  # the extent of the target's labelled joints (y 80 .. 200)
        # the window is a square around the joint, 0.4 body on a side, cut to the pooled
        # person's mask; a bilinear warp reaches one pool pixel (~3 px here) further
        assert side <= 0.4 * body + 4, side
        assert side >= 0.25 * body, side

    def test_hip_centre_is_the_mean_of_the_hips(self):
        results = self._paste(anchor_joints=((11, 12),), edge_softness=0)
        part = results['pasted_parts'][0]
        np.testing.assert_array_equal(
            results['img'][150, 95], _dot_color(part['pool_joint'])
        )  # (80 + 110) / 2 = 95

    def test_only_inside_the_boxes_and_labels_untouched(self):
        for seed in range(5):
            sample = _sample()
            before = copy.deepcopy(sample)
            results = self._paste(
                seed, sample=sample, num_parts=(1, 3), rotation=(-45, 45), jitter=0.05
            )
            outside = np.ones((H, W), bool)
            for part in results['pasted_parts']:
                x1, y1, x2, y2 = part['bbox']
                outside[int(y1) : int(np.ceil(y2)) + 1, int(x1) : int(np.ceil(x2)) + 1] = False
            assert results['pasted_parts']
            np.testing.assert_array_equal(results['img'][outside], GRAY)
            assert (results['img'] != GRAY).any()
            for key in ('keypoints', 'keypoints_visible', 'transformed_keypoints'):
                np.testing.assert_array_equal(results[key], before[key])

    def test_caller_image_is_not_modified(self):
        sample = _sample()
        img = sample['img']
        self._paste(sample=sample)
        np.testing.assert_array_equal(img, GRAY)

    def test_unlabelled_anchors_are_not_drawn(self):
        # only the left knee is labelled among the anchors: every patch goes there
        sample = _sample(labelled=(0, 13))
        for seed in range(4):
            results = self._paste(
                seed, sample=copy.deepcopy(sample), anchor_joints=COCO_PART_ANCHORS
            )
            for part in results['pasted_parts']:
                assert COCO_PART_ANCHORS[part['anchor']] == (13,)

    def test_no_anchor_is_a_no_op(self):
        sample = _sample(labelled=(0,))
        results = self._paste(sample=sample)
        assert results['pasted_parts'] == []
        np.testing.assert_array_equal(results['img'], GRAY)
        results = PartPaste(pool=self.pool).transform(dict(img=np.zeros((H, W, 3), np.uint8)))
        assert results['pasted_parts'] == []

    def test_prob(self):
        np.random.seed(0)
        transform = PartPaste(pool=self.pool, prob=0.0)
        assert transform.transform(_sample())['pasted_parts'] == []
        pasted = [bool(self._paste(seed, prob=0.5)['pasted_parts']) for seed in range(40)]
        assert 5 < sum(pasted) < 35

    def test_num_parts(self):
        counts = {len(self._paste(seed, num_parts=(2, 3))['pasted_parts']) for seed in range(20)}
        assert counts == {2, 3}

    def test_errors_name_the_problem(self):
        with self.assertRaisesRegex(ValueError, 'beyond the dataset'):
            PartPaste(pool=self.pool, num_keypoints=14, anchor_joints=((15,),))
        with self.assertRaisesRegex(ValueError, "beyond the sample's 17 keypoints"):
            self._paste(anchor_joints=((20,),))
        with self.assertRaisesRegex(ValueError, 'people with keypoints'):
            PartPaste(pool=self.no_keypoints)
        for bad in (
            dict(prob=1.5),
            dict(num_parts=(0, 1)),
            dict(num_parts=(3, 2)),
            dict(anchor_joints=()),
            dict(anchor_joints=((),)),
            dict(size=(0.5, 0.3)),
            dict(part_extent=0),
            dict(rotation=(10, -10)),
            dict(jitter=-1),
        ):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                PartPaste(pool=self.pool, **bad)

    def test_non_finite_args_are_refused_when_built(self):
        nan = float('nan')
        for kwargs, name in (
            (dict(size=(nan, 0.5)), 'size'),
            (dict(part_extent=nan), 'part_extent'),
            (dict(jitter=nan), 'jitter'),
            (dict(edge_softness=nan), 'edge_softness'),
            (dict(rotation=(nan, 0.0)), 'rotation'),
            (dict(prob=nan), 'prob'),
        ):
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                with self.assertRaisesRegex(ValueError, f'PartPaste: {name}'):
                    PartPaste(pool=self.pool, **kwargs)

    def test_wrong_image_type_or_place_is_an_error(self):
        sample = _sample()
        sample['img'] = sample['img'].astype(np.uint16)
        with self.assertRaisesRegex(ValueError, 'PartPaste pastes 8-bit colours .* uint16'):
            self._paste(sample=sample)
        sample = _sample()
        sample['bbox_center'] = np.array([[96.0, 128.0]])  # TopdownAffine has not run
        with self.assertRaisesRegex(ValueError, 'PartPaste .* place it after TopdownAffine'):
            self._paste(sample=sample)

    def test_build_from_config_and_repr(self):
        transform = TRANSFORMS.build(
            dict(type='PartPaste', pool=self.pool.pool_dir, num_keypoints=K, size=(0.2, 0.3))
        )
        assert isinstance(transform, PartPaste)
        text = repr(transform)
        assert text.startswith('PartPaste(pool=') and 'size=(0.2, 0.3)' in text
        assert 'anchor_joints=[(7,), (8,), (13,), (14,), (11, 12)]' in text
