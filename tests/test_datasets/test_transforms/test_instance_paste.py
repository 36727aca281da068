# Copyright (c) dag_mmpose contributors. All rights reserved.
import copy
import math
import os.path as osp
import pickle
import tempfile
from typing import Dict, List, Optional, Tuple
from unittest import TestCase, mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmcv.transforms import Compose
from mmpose.registry import TRANSFORMS
from mmpose.testing import get_coco_sample

from dag_mmpose.datasets.transforms import InstancePaste
from dag_mmpose.testing.pools import (
    DOTS,
    DOTS_BODY,
    DOTS_CROP,
    dot_color,
    dots_person,
    write_pool,
)

K = 17
W, H = 192, 256  # crop size (input_size of TopdownAffine)
BODY = DOTS_BODY  # BGR of the pool people's bodies
CROP_H, CROP_W, MARGIN = DOTS_CROP
_dot_color, _dots_person, _write_pool = dot_color, dots_person, write_pool


def _sample(img: Optional[np.ndarray] = None, others: int = 2) -> Dict:
    """A sample as it leaves TopdownAffine and GetOtherInstances (crop W x H)."""
    rng = np.random.default_rng(0)
    if img is None:
        img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    keypoints = rng.uniform(20, 170, (1, K, 2)).astype(np.float32)
    visible = (rng.uniform(size=(1, K)) > 0.3).astype(np.float32)
    return dict(
        img=img,
        img_shape=(480, 640),
        input_size=(W, H),
        keypoints=keypoints,
        keypoints_visible=visible,
        transformed_keypoints=keypoints.copy(),
        keypoint_weights=visible * 1.5,
        other_keypoints=rng.uniform(0, 190, (others, K, 2)).astype(np.float32),
        other_keypoints_visible=np.ones((others, K), np.float32),
    )


TARGET_KEYS = ('keypoints', 'keypoints_visible', 'transformed_keypoints', 'keypoint_weights')


class TestInstancePaste(TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls._tmp = tempfile.TemporaryDirectory()
        root = cls._tmp.name
        dots = _dots_person()
        unlabelled = (dots[0], np.zeros((K, 3), np.float32))
        big = np.zeros((300, 200, 4), np.uint8)
        big[1:-1, 1:-1] = (200, 40, 40, 255)
        tiny = [
            (np.full((1, 1, 4), 255, np.uint8), np.array([[0, 0, 2]] * K, np.float32)),
            (np.full((3, 2, 4), 128, np.uint8), np.zeros((K, 3), np.float32)),
        ]
        cls.pools = dict(
            dots=_write_pool(osp.join(root, 'dots'), [dots], K, MARGIN),
            unlabelled=_write_pool(osp.join(root, 'unlabelled'), [unlabelled], K, MARGIN),
            mixed=_write_pool(
                osp.join(root, 'mixed'),
                [dots, unlabelled, (big, np.zeros((K, 3), np.float32))],
                K,
                1,
            ),
            tiny=_write_pool(osp.join(root, 'tiny'), tiny, K, 0),
            no_keypoints=_write_pool(osp.join(root, 'no_keypoints'), [(dots[0], [])], 0, MARGIN),
            five=_write_pool(osp.join(root, 'five'), [(dots[0], dots[1][:5])], 5, MARGIN),
        )

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()

    def _paste(
        self,
        params: List[Tuple[int, float, float, float, float]],
        results: Dict,
        pool: str = 'dots',
        **kwargs,
    ) -> Dict:
        """Run the transform with forced paste parameters (one candidate each). The scale is
        relative to the crop height and nothing caps the cover unless ``kwargs`` say so."""
        kwargs = dict(
            dict(scale_reference='crop', max_joint_cover=None, max_center_cover=None), **kwargs
        )
        transform = InstancePaste(pool=self.pools[pool], prob=1.0, **kwargs)
        candidates = [p if isinstance(p, list) else [p] for p in params]
        with mock.patch.object(InstancePaste, '_get_paste_params', return_value=candidates):
            return transform(results)

    def test_init(self):
        path = self.pools['dots'].pool_dir
        transform = TRANSFORMS.build(dict(type='InstancePaste', pool=path, num_keypoints=K))
        self.assertIsInstance(transform, InstancePaste)
        self.assertEqual(
            repr(transform),
            f"InstancePaste(pool='{path}', prob=0.5, num_instances=(1, 2), "
            'rotation=(-30.0, 30.0), scale=(0.6, 1.25), overlap_bias=0.7, '
            "edge_softness=1.0, num_keypoints=17, keypoint_mapping=None, scale_reference='body', "
            'max_joint_cover=0.5, max_center_cover=0.5, max_redraws=3, label_pasted=True)',
        )
        bad = [
            dict(prob=1.5),
            dict(num_instances=(2, 1)),
            dict(num_instances=(0, 0)),
            dict(rotation=(10, -10)),
            dict(scale=(0, 1)),
            dict(overlap_bias=-0.1),
            dict(edge_softness=-1),
            dict(scale_reference='mask'),
            dict(max_joint_cover=1.5),
            dict(max_center_cover=-0.1),
            dict(max_redraws=-1),
        ]
        for kwargs in bad:
            with self.subTest(**kwargs), self.assertRaises(ValueError):
                InstancePaste(pool=path, **kwargs)
        with self.assertRaisesRegex(ValueError, 'the pool has 17 keypoints, the dataset 14'):
            InstancePaste(pool=path, num_keypoints=14)
        with self.assertRaisesRegex(ValueError, 'names pool joint 20'):
            InstancePaste(pool=path, keypoint_mapping=[(20, 0)])
        with self.assertRaisesRegex(ValueError, 'names dataset joint 14'):
            InstancePaste(pool=path, num_keypoints=14, keypoint_mapping=[(0, 14)])
        with self.assertRaisesRegex(FileNotFoundError, 'no_such_pool'):
            InstancePaste(pool=osp.join(self._tmp.name, 'no_such_pool'))
        # a pool without keypoints fits any dataset; a COCO pool fits CrowdPose by mapping
        InstancePaste(pool=self.pools['no_keypoints'], num_keypoints=14)
        InstancePaste(pool=path, num_keypoints=14, keypoint_mapping=[(i + 5, i) for i in range(12)])

    def test_biased_positions_use_crop_keypoints(self):
        # After TopdownAffine the target's crop pixels are in `transformed_keypoints`;
        # `keypoints` stays in image pixels and must not steer the paste positions.
        results = _sample()
        crop = results['keypoints'].copy()
        results['transformed_keypoints'] = crop
        results['keypoints'] = crop + 1000.0
        transform = InstancePaste(pool=self.pools['dots'], prob=1.0)
        height, width = results['img'].shape[:2]
        joints = transform._target_joints(results, width, height)
        labelled = results['keypoints_visible'][0] > 0
        np.testing.assert_array_equal(joints, crop[0][labelled])

    def test_scaled_by_body_size(self):
        """The pasted body (its keypoint extent) is `scale` times the target's, whatever
        the crop size; the dots person's joints span 42 pool pixels (y 8 to 50)."""
        for extent, scale in [(100.0, 1.0), (100.0, 0.5), (80.0, 1.0)]:
            with self.subTest(extent=extent, scale=scale):
                results = _sample(others=0)
                joints = np.zeros((1, K, 2), np.float32)
                joints[0, :, 0] = np.linspace(60, 60 + extent / 2, K)
                joints[0, :, 1] = np.linspace(70, 70 + extent, K)
                results.update(
                    keypoints=joints,
                    transformed_keypoints=joints.copy(),
                    keypoints_visible=np.ones((1, K), np.float32),
                )
                results = self._paste(
                    [(0, 0.0, scale, 96.0, 128.0)], results, scale_reference='body'
                )
                pasted = results['other_keypoints'][0][results['other_keypoints_visible'][0] > 0]
                np.testing.assert_allclose(np.ptp(pasted[:, 1]), scale * extent, rtol=1e-4)

    def test_target_size_without_joints(self):
        # too few joints to measure the target: it counts as 0.8 crop heights
        results = _sample(others=0)
        results['keypoints_visible'][:] = 0
        results['keypoints_visible'][0, :2] = 1
        results = self._paste([(0, 0.0, 1.0, 96.0, 128.0)], results, scale_reference='body')
        pasted = results['other_keypoints'][0][results['other_keypoints_visible'][0] > 0]
        np.testing.assert_allclose(np.ptp(pasted[:, 1]), 0.8 * H, rtol=1e-4)

    def test_joints_where_the_pasted_alpha_is_zero_are_dropped(self):
        rgba, keypoints = _dots_person()
        x, y = DOTS[0]
        rgba[y - 2 : y + 3, x - 2 : x + 3, 3] = 0  # a hole under joint 0
        with tempfile.TemporaryDirectory() as root:
            pool = _write_pool(osp.join(root, 'holed'), [(rgba, keypoints)], K, MARGIN)
            transform = InstancePaste(
                pool=pool,
                prob=1.0,
                scale_reference='crop',
                max_joint_cover=None,
                max_center_cover=None,
            )
            params = [[(0, 0.0, 2 * (CROP_H - 2 * MARGIN) / H, 96.0, 128.0)]]
            with mock.patch.object(InstancePaste, '_get_paste_params', return_value=params):
                results = transform(_sample(others=0))
        visible = results['other_keypoints_visible'][0]
        labelled = np.array([p is not None for p in DOTS])
        self.assertEqual(visible[0], 0)
        np.testing.assert_array_equal(visible[1:], labelled[1:].astype(np.float32))

    def test_label_pasted_false_pastes_pixels_only(self):
        results = _sample()
        expected = copy.deepcopy(results)
        out = self._paste([(0, 0.0, 0.5, 96.0, 128.0)], results, label_pasted=False)
        self.assertEqual(len(out['pasted_instances']), 1)
        self.assertFalse(np.array_equal(out['img'], expected['img']))
        for key in ('other_keypoints', 'other_keypoints_visible'):
            np.testing.assert_array_equal(out[key], expected[key], err_msg=key)

    def test_cover_caps_redraw_then_skip(self):
        # the big person (300x200, mask box) centred on the crop buries the target
        results = _sample(others=0)
        bury = (2, 0.0, 1.0, 96.0, 128.0)
        aside = (0, 0.0, 0.3, 10.0, 10.0)  # a small paste in the corner
        caps = dict(max_joint_cover=0.5, max_center_cover=0.5)
        out = self._paste([[bury, aside]], copy.deepcopy(results), pool='mixed', **caps)
        (pasted,) = out['pasted_instances']
        self.assertEqual(pasted['pool_index'], 0)
        self.assertLess(pasted['bbox'][2], 40)
        # without caps the first candidate is pasted
        out = self._paste([[bury, aside]], copy.deepcopy(results), pool='mixed')
        self.assertEqual(out['pasted_instances'][0]['pool_index'], 2)
        # every candidate beyond a cap: nothing pasted, nothing appended
        for cap in (dict(max_joint_cover=0.5), dict(max_center_cover=0.5)):
            with self.subTest(**cap):
                out = self._paste([[bury, bury]], copy.deepcopy(results), pool='mixed', **cap)
                self.assertEqual(out['pasted_instances'], [])
                np.testing.assert_array_equal(out['img'], results['img'])
                self.assertEqual(out['other_keypoints'].shape, (0, K, 2))

    def test_cover_caps_hold_for_random_pastes(self):
        """Drawn pastes never cover more than the caps of the target's joints / centre."""
        np.random.seed(3)
        transform = InstancePaste(
            pool=self.pools['mixed'], prob=1.0, num_instances=(1, 3), max_joint_cover=0.3
        )
        for _ in range(20):
            results = transform(_sample(img=np.zeros((H, W, 3), np.uint8), others=0))
            painted = results['img'].any(axis=2)
            joints = results['transformed_keypoints'][0][results['keypoints_visible'][0] > 0]
            under = painted[joints[:, 1].astype(int), joints[:, 0].astype(int)]
            self.assertLessEqual(under.mean(), 0.3 + 1e-9)
            cx, cy, hw, hh = W // 2, H // 2, round(W / 8), round(H / 8)
            self.assertLessEqual(painted[cy - hh : cy + hh, cx - hw : cx + hw].mean(), 0.5)

    def test_prob_zero_is_identity(self):
        results = _sample()
        expected = copy.deepcopy(results)
        np.random.seed(0)
        results = InstancePaste(pool=self.pools['dots'], prob=0.0)(results)
        self.assertEqual(results.pop('pasted_instances'), [])
        self.assertEqual(set(results), set(expected))
        for key, value in expected.items():
            np.testing.assert_array_equal(results[key], value, err_msg=key)

    def test_changes_only_near_the_paste(self):
        np.random.seed(2)
        transform = InstancePaste(pool=self.pools['mixed'], prob=1.0, num_instances=(1, 1))
        changed_any = False
        for _ in range(10):
            results = _sample()
            before = results['img'].copy()
            results = transform(results)
            (pasted,) = results['pasted_instances']
            changed = np.any(results['img'] != before, axis=2)
            changed_any |= bool(changed.any())
            ys, xs = np.nonzero(changed)
            x1, y1, x2, y2 = pasted['bbox']
            self.assertTrue(
                np.all((xs >= x1 - 1) & (xs <= x2 + 1) & (ys >= y1 - 1) & (ys <= y2 + 1))
            )
            self.assertEqual(pasted['corners'].shape, (4, 2))
        self.assertTrue(changed_any)

    def test_the_dots_and_keypoints(self):
        # the appended keypoints sit on the dots the image warp moved, at any angle
        for angle in (0.0, 37.0, -90.0, 180.0):
            results = _sample()
            expected = copy.deepcopy(results)
            scale = (CROP_H - 2 * MARGIN) * 2 / H  # factor 2: the dots become 10x10
            results = self._paste([(0, angle, scale, 96.5, 120.0)], results, edge_softness=0)
            keypoints = results['other_keypoints']
            visible = results['other_keypoints_visible']
            self.assertEqual(keypoints.shape, (3, K, 2))
            self.assertEqual(keypoints.dtype, np.float32)
            self.assertEqual(visible.dtype, np.float32)
            np.testing.assert_array_equal(keypoints[:2], expected['other_keypoints'])
            np.testing.assert_array_equal(visible[:2], expected['other_keypoints_visible'])
            for key in TARGET_KEYS:
                np.testing.assert_array_equal(results[key], expected[key], err_msg=key)
            rad = math.radians(angle)
            center = ((CROP_W - 1) / 2, (CROP_H - 1) / 2)
            for joint, point in enumerate(DOTS):
                if point is None:
                    self.assertEqual(visible[2, joint], 0)
                    continue
                # cv2's positive angles turn counter-clockwise on screen (y down)
                dx, dy = point[0] - center[0], point[1] - center[1]
                x = 96.5 + 2 * (math.cos(rad) * dx + math.sin(rad) * dy)
                y = 120.0 + 2 * (-math.sin(rad) * dx + math.cos(rad) * dy)
                np.testing.assert_allclose(keypoints[2, joint], (x, y), atol=1e-3)
                self.assertEqual(visible[2, joint], 1)
                pixel = results['img'][int(round(y)), int(round(x))]
                np.testing.assert_allclose(
                    pixel, _dot_color(joint), atol=2, err_msg=f'joint {joint} at angle {angle}'
                )

    def test_keypoints_outside_the_crop_invisible(self):
        results = self._paste([(0, 0.0, 1.5, 5.0, 5.0)], _sample(others=0))
        visible = results['other_keypoints_visible'][0]
        inside = (
            (results['other_keypoints'][0] >= 0) & (results['other_keypoints'][0] < (W, H))
        ).all(axis=1)
        labelled = np.array([p is not None for p in DOTS])
        np.testing.assert_array_equal(visible, (inside & labelled).astype(np.float32))
        self.assertTrue(0 < visible.sum() < labelled.sum())

    def test_keys_created_when_missing(self):
        results = _sample()
        del results['other_keypoints'], results['other_keypoints_visible']
        results = self._paste([(0, 0.0, 0.5, 50, 60), (0, 10.0, 0.4, 150, 200)], results)
        self.assertEqual(results['other_keypoints'].shape, (2, K, 2))
        self.assertEqual(results['other_keypoints_visible'].shape, (2, K))
        self.assertEqual(len(results['pasted_instances']), 2)
        # without target keypoints K comes from the pool
        results = self._paste([(0, 0.0, 0.5, 50, 60)], dict(img=np.zeros((H, W, 3), np.uint8)))
        self.assertEqual(results['other_keypoints'].shape, (1, K, 2))

    def test_missing_visibility_reads_as_dagheatmap_reads_it(self):
        # other_keypoints without other_keypoints_visible: all visible, in both readers
        from dag_mmpose.codecs import DAGHeatmap

        results = _sample()
        del results['other_keypoints_visible']
        codec = DAGHeatmap(input_size=(W, H), heatmap_size=(W // 4, H // 4), sigma=2.0)
        before = codec.encode(results['transformed_keypoints'], None, results['other_keypoints'])
        pasted = self._paste([(0, 0.0, 0.5, 50, 60)], copy.deepcopy(results))
        num_before = len(results['other_keypoints'])
        np.testing.assert_array_equal(pasted['other_keypoints_visible'][:num_before], 1.0)
        after = codec.encode(
            pasted['transformed_keypoints'],
            None,
            pasted['other_keypoints'][:num_before],
            pasted['other_keypoints_visible'][:num_before],
        )
        np.testing.assert_array_equal(after['multi_heatmaps'], before['multi_heatmaps'])
        del results['other_keypoints']
        results['other_keypoints_visible'] = np.ones((2, K), np.float32)
        with self.assertRaisesRegex(ValueError, 'InstancePaste: got `other_keypoints_visible`'):
            self._paste([(0, 0.0, 0.5, 50, 60)], results)

    def test_unlabelled_and_keypoint_free_pools(self):
        results = self._paste([(0, 0.0, 0.5, 96, 128)], _sample(), pool='unlabelled')
        self.assertEqual(results['other_keypoints'].shape, (3, K, 2))
        self.assertFalse(results['other_keypoints_visible'][2].any())
        results = _sample()
        before = results['img'].copy()
        results = self._paste([(0, 0.0, 0.5, 96, 128)], results, pool='no_keypoints')
        self.assertEqual(results['other_keypoints'].shape, (2, K, 2))
        self.assertTrue((results['img'] != before).any())

    def test_keypoint_mapping(self):
        mapping = [(0, 3), (2, 0), (4, 16)]
        results = self._paste(
            [(0, 0.0, 0.25, 96, 128)], _sample(), pool='five', keypoint_mapping=mapping
        )
        visible = results['other_keypoints_visible'][2]
        self.assertEqual(np.flatnonzero(visible).tolist(), [0, 3, 16])
        with self.assertRaisesRegex(ValueError, 'keypoint_mapping'):
            self._paste([(0, 0.0, 0.25, 96, 128)], _sample(), pool='five')
        with self.assertRaisesRegex(ValueError, 'beyond the 17 keypoints'):
            self._paste(
                [(0, 0.0, 0.25, 96, 128)], _sample(), pool='five', keypoint_mapping=[(0, 17)]
            )

    def test_mismatched_keypoints(self):
        results = _sample()
        results['keypoints'] = results['keypoints'][:, :14]
        results['other_keypoints'] = results['other_keypoints'][:, :14]
        with self.assertRaisesRegex(ValueError, 'the pool has 17 keypoints, the sample 14'):
            self._paste([(0, 0.0, 0.5, 96, 128)], results)

    def test_image_types(self):
        rng = np.random.default_rng(1)
        shapes = [(H, W), (H, W, 1), (H, W, 2), (H, W, 4), (1, 1, 3), (3, 2, 3), (2, 3)]
        for shape in shapes:
            for dtype in (np.uint8, np.float32, np.float64):
                img = (rng.uniform(0, 255, shape)).astype(dtype)
                with self.subTest(shape=shape, dtype=dtype):
                    results = self._paste(
                        [(2, 25.0, 3.0, 1.0, 1.0), (0, 0.0, 0.5, 1, 1)],
                        _sample(img=img.copy()),
                        pool='mixed',
                    )
                    self.assertEqual(results['img'].shape, shape)
                    self.assertEqual(results['img'].dtype, dtype)
                    self.assertEqual(results['other_keypoints'].shape, (4, K, 2))
        # a 4-channel image keeps its 4th channel; a gray one gets the person's gray
        # at scale factor 1 and this center, crop pixel (15, 44) (body, no dot) -> (96, 142)
        params = [(0, 0.0, (CROP_H - 2 * MARGIN) / H, 95.5, 127.5)]
        img = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
        results = self._paste(params, _sample(img=img.copy()), edge_softness=0)
        np.testing.assert_array_equal(results['img'][..., 3], img[..., 3])
        np.testing.assert_array_equal(results['img'][142, 96, :3], BODY)
        gray = np.zeros((H, W), np.float32)
        results = self._paste(params, _sample(img=gray), edge_softness=0)
        self.assertEqual(float(results['img'][142, 96]), 94.0)  # gray of BODY

    def test_images_of_another_range_are_refused(self):
        """The pool's colours are 8-bit: in a uint16 (0-65535) image they came out black."""
        for dtype in (np.uint16, np.int32, np.int8):
            with self.subTest(dtype=dtype):
                img = np.zeros((H, W, 3), dtype)
                with self.assertRaisesRegex(ValueError, f'got a {np.dtype(dtype)} image'):
                    self._paste([(0, 0.0, 0.5, 96, 128)], _sample(img=img))

    def test_non_finite_args_are_refused_when_built(self):
        path = self.pools['dots'].pool_dir
        nan = float('nan')
        for kwargs, name in (
            (dict(edge_softness=nan), 'edge_softness'),
            (dict(scale=(nan, 1.0)), 'scale'),
            (dict(scale=(0.5, float('inf'))), 'scale'),
            (dict(rotation=(nan, 30.0)), 'rotation'),
            (dict(rotation=(-30.0, nan)), 'rotation'),
            (dict(prob=nan), 'prob'),
            (dict(overlap_bias=nan), 'overlap_bias'),
            (dict(max_joint_cover=nan), 'max_joint_cover'),
            (dict(max_redraws=1.5), 'max_redraws'),
            (dict(num_instances=(1.0, 2)), 'num_instances'),
        ):
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                with self.assertRaisesRegex(ValueError, f'InstancePaste: {name}'):
                    InstancePaste(pool=path, **kwargs)

    def test_before_topdown_affine_is_an_error(self):
        sample = get_coco_sample(img_shape=(240, 320), num_instances=1)  # has a bbox_center
        transform = InstancePaste(pool=self.pools['dots'], prob=1.0)
        with self.assertRaisesRegex(ValueError, 'InstancePaste .* place it after TopdownAffine'):
            transform(sample)

    def test_same_seed_same_output(self):
        transform = InstancePaste(pool=self.pools['mixed'], prob=0.7, num_instances=(1, 3))
        outputs = []
        for _ in range(2):
            np.random.seed(5)
            outputs.append([transform(_sample()) for _ in range(4)])
        for first, second in zip(*outputs):
            np.testing.assert_array_equal(first['img'], second['img'])
            np.testing.assert_array_equal(first['other_keypoints'], second['other_keypoints'])

    def test_pickle(self):
        transform = InstancePaste(pool=self.pools['mixed'].pool_dir, prob=1.0)
        transform(_sample())  # maps the crops
        blob = pickle.dumps(transform)
        self.assertLess(len(blob), 10000)
        clone = pickle.loads(blob)
        self.assertIsNone(clone._pool._data)
        np.random.seed(0)
        first = transform(_sample())
        np.random.seed(0)
        second = clone(_sample())
        np.testing.assert_array_equal(first['img'], second['img'])

    def test_in_pipeline(self):
        # the pasted person's joints reach the multi-joint heatmaps of the DAG codec
        # built from mmpose's registry, without changing the default scope of other tests
        pipeline = Compose(
            [
                TRANSFORMS.build(cfg)
                for cfg in [
                    dict(type='TopdownAffine', input_size=(W, H)),
                    dict(
                        type='InstancePaste',
                        pool=self.pools['dots'].pool_dir,
                        prob=1.0,
                        num_instances=(1, 1),
                        overlap_bias=0.0,
                    ),
                    dict(
                        type='GenerateTarget',
                        encoder=dict(
                            type='DAGHeatmap', input_size=(W, H), heatmap_size=(48, 64), sigma=2.0
                        ),
                    ),
                ]
            ]
        )
        np.random.seed(0)
        results = pipeline(get_coco_sample(img_shape=(240, 320), num_instances=1))
        self.assertEqual(len(results['pasted_instances']), 1)
        x, y = (
            (results['other_keypoints'][0] / 4)
            .round()
            .astype(int)[results['other_keypoints_visible'][0] > 0][0]
        )
        peak = results['multi_heatmaps'][:, max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].max()
        self.assertGreaterEqual(peak, 0.5 - 1e-3)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        height=st.integers(1, 48),
        width=st.integers(1, 48),
        channels=st.sampled_from([None, 1, 3, 4]),
        dtype=st.sampled_from([np.uint8, np.float32]),
        pool=st.sampled_from(['dots', 'unlabelled', 'mixed', 'tiny', 'no_keypoints', 'five']),
        num_others=st.sampled_from([None, 0, 2]),
        prob=st.sampled_from([0.0, 0.5, 1.0]),
        num_instances=st.sampled_from([(0, 1), (1, 1), (1, 3), (2, 2)]),
        rotation=st.sampled_from([(0.0, 0.0), (-30.0, 30.0), (-180.0, 180.0)]),
        scale=st.sampled_from([(0.05, 0.2), (0.5, 1.0), (1.5, 3.0)]),
        overlap_bias=st.floats(0.0, 1.0),
        edge_softness=st.sampled_from([0.0, 0.5, 1.0, 3.0]),
        seed=st.integers(0, 2**31 - 1),
    )
    def test_property(
        self,
        height,
        width,
        channels,
        dtype,
        pool,
        num_others,
        prob,
        num_instances,
        rotation,
        scale,
        overlap_bias,
        edge_softness,
        seed,
    ):
        rng = np.random.default_rng(seed)
        shape = (height, width) if channels is None else (height, width, channels)
        img = rng.uniform(0, 255, shape).astype(dtype)
        keypoints = rng.uniform(-10, max(height, width) + 10, (1, K, 2)).astype(np.float32)
        results = dict(
            img=img,
            keypoints=keypoints,
            keypoints_visible=rng.integers(0, 2, (1, K)).astype(np.float32),
            transformed_keypoints=keypoints.copy(),
            keypoint_weights=rng.uniform(0, 2, (1, K)).astype(np.float32),
        )
        if num_others is not None:
            results['other_keypoints'] = rng.uniform(0, 40, (num_others, K, 2)).astype(np.float32)
            results['other_keypoints_visible'] = np.ones((num_others, K), np.float32)
        expected = copy.deepcopy(results)
        transform = InstancePaste(
            pool=self.pools[pool],
            prob=prob,
            num_instances=num_instances,
            rotation=rotation,
            scale=scale,
            overlap_bias=overlap_bias,
            edge_softness=edge_softness,
            keypoint_mapping=[(0, 0), (4, 16)] if pool == 'five' else None,
        )

        np.random.seed(seed % 2**32)
        out = transform(copy.deepcopy(results))
        np.random.seed(seed % 2**32)
        again = transform(copy.deepcopy(results))

        self.assertEqual(out['img'].shape, shape)
        self.assertEqual(out['img'].dtype, dtype)
        for key in TARGET_KEYS:
            np.testing.assert_array_equal(out[key], expected[key], err_msg=key)
        np.testing.assert_array_equal(out['img'], again['img'])
        pasted = len(out['pasted_instances'])
        self.assertEqual(pasted, len(again['pasted_instances']))
        if pasted == 0:
            np.testing.assert_array_equal(out['img'], img)
        changed = out['img'] != img
        if changed.ndim == 3:
            changed = changed.any(axis=2)
        ys, xs = np.nonzero(changed)
        near = np.zeros(len(xs), dtype=bool)
        for item in out['pasted_instances']:
            x1, y1, x2, y2 = item['bbox']
            near |= (xs >= x1 - 1) & (xs <= x2 + 1) & (ys >= y1 - 1) & (ys <= y2 + 1)
        self.assertTrue(near.all())

        with_keypoints = pool != 'no_keypoints' and pasted > 0
        old = num_others or 0
        if with_keypoints:
            others = out['other_keypoints']
            visible = out['other_keypoints_visible']
            self.assertEqual(others.shape, (old + pasted, K, 2))
            self.assertEqual(visible.shape, (old + pasted, K))
            np.testing.assert_array_equal(others, again['other_keypoints'])
            if old:
                np.testing.assert_array_equal(others[:old], expected['other_keypoints'])
            new, new_visible = others[old:], visible[old:]
            inside = (
                (new[..., 0] >= 0)
                & (new[..., 0] < width)
                & (new[..., 1] >= 0)
                & (new[..., 1] < height)
            )
            self.assertFalse(np.any(new_visible[~inside]))
        elif num_others is None:
            self.assertNotIn('other_keypoints', out)
        else:
            self.assertEqual(out['other_keypoints'].shape, (old, K, 2))
