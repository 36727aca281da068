# Copyright (c) dag_mmpose contributors. All rights reserved.
from copy import deepcopy
from typing import Optional, Tuple
from unittest import TestCase

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from mmcv.transforms.utils import cache_random_params
from mmpose.datasets.transforms import GenerateTarget, TopdownAffine
from mmpose.registry import TRANSFORMS
from mmpose.testing import get_coco_sample

from dag_mmpose.datasets.transforms import MaskJoints

K = 17
TARGET_KEYS = ('keypoints', 'keypoints_visible', 'transformed_keypoints', 'keypoint_weights')


def _sample(
    img_hw: Tuple[int, int] = (256, 192), value: int = 200, visible: Optional[np.ndarray] = None
) -> dict:
    """A flat image and 17 joints on a grid, well apart, all labelled unless told."""
    h, w = img_hw
    xs = np.linspace(0.15, 0.85, 3) * w
    ys = np.linspace(0.1, 0.9, 6) * h
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)[:K]
    return dict(
        img=np.full((h, w, 3), value, dtype=np.uint8),
        keypoints=grid[None].astype(np.float32),
        keypoints_visible=(np.ones((1, K), np.float32) if visible is None else visible),
        keypoint_weights=np.ones((1, K), np.float32),
    )


def _inside(boxes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(B, P) whether point p lies in box b (pixel edges, end exclusive)."""
    x, y = points[None, :, 0], points[None, :, 1]
    return (
        (x >= boxes[:, None, 0])
        & (x < boxes[:, None, 2])
        & (y >= boxes[:, None, 1])
        & (y < boxes[:, None, 3])
    )


def _box_mask(shape: Tuple[int, int], boxes: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for x1, y1, x2, y2 in boxes.astype(int):
        mask[y1:y2, x1:x2] = True
    return mask


class TestMaskJoints(TestCase):
    def test_build_and_repr(self):
        transform = TRANSFORMS.build(dict(type='MaskJoints'))
        self.assertIsInstance(transform, MaskJoints)
        self.assertEqual(
            repr(transform),
            'MaskJoints(prob=0.5, num_joints=2, box_size=(0.104, 0.198), '
            "center_jitter=0.0, fill='constant', fill_value=0)",
        )
        transform = MaskJoints(
            prob=1.0,
            num_joints=[1, 3],
            box_size=0.1,
            center_jitter=0.2,
            fill='noise',
            fill_value=[1, 2, 3],
        )
        self.assertEqual(
            repr(transform),
            'MaskJoints(prob=1.0, num_joints=(1, 3), box_size=0.1, center_jitter=0.2, '
            "fill='noise', fill_value=(1, 2, 3))",
        )

    def test_invalid_args(self):
        for kwargs in (
            dict(prob=1.5),
            dict(prob=-0.1),
            dict(num_joints=-1),
            dict(num_joints=(3, 1)),
            dict(num_joints=(1.0, 2)),
            dict(box_size=0.0),
            dict(box_size=(0.3, 0.1)),
            dict(center_jitter=-1.0),
            dict(fill='blur'),
        ):
            with self.assertRaises(ValueError, msg=str(kwargs)):
                MaskJoints(**kwargs)
        for kwargs in (
            dict(num_joints='2'),
            dict(num_joints=True),
            dict(box_size=(1, 2, 3)),
            dict(fill_value='black'),
            dict(fill_value=()),
        ):
            with self.assertRaises(TypeError, msg=str(kwargs)):
                MaskJoints(**kwargs)

    def test_non_finite_args_are_refused_when_built(self):
        """NaN passes every comparison check (``nan <= 0`` is False): refused by name."""
        nan = float('nan')
        for kwargs, name in (
            (dict(box_size=nan), 'box_size'),
            (dict(box_size=(0.1, nan)), 'box_size'),
            (dict(box_size=(0.1, float('inf'))), 'box_size'),
            (dict(center_jitter=nan), 'center_jitter'),
            (dict(prob=nan), 'prob'),
            (dict(fill_value=nan), 'fill_value'),
            (dict(fill_value=(0, nan, 0)), 'fill_value'),
        ):
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                with self.assertRaisesRegex(ValueError, f'MaskJoints: {name}'):
                    MaskJoints(**kwargs)

    def test_before_topdown_affine_is_an_error(self):
        """On the whole image its boxes would be sized for a crop it is not."""
        sample = _sample()
        sample['bbox_center'] = np.array([[48.0, 64.0]])
        with self.assertRaisesRegex(ValueError, 'MaskJoints .* place it after TopdownAffine'):
            MaskJoints(prob=1.0)(sample)
        sample['input_size'] = (96, 128)
        MaskJoints(prob=1.0)(sample)

    def test_prob_zero_is_identity(self):
        transform = MaskJoints(prob=0.0)
        for seed in range(20):
            np.random.seed(seed)
            sample = _sample()
            results = transform(deepcopy(sample))
            np.testing.assert_array_equal(results['img'], sample['img'])
            self.assertEqual(results['masked_boxes'].shape, (0, 4))
            self.assertEqual(results['masked_boxes'].dtype, np.float32)

    def test_prob_one_paints_requested_number(self):
        transform = MaskJoints(prob=1.0, num_joints=2)
        for seed in range(20):
            np.random.seed(seed)
            results = transform(_sample())
            self.assertEqual(results['masked_boxes'].shape, (2, 4))

        transform = MaskJoints(prob=1.0, num_joints=(1, 3))
        counts = set()
        for seed in range(40):
            np.random.seed(seed)
            counts.add(len(transform(_sample())['masked_boxes']))
        self.assertEqual(counts, {1, 2, 3})

        # fewer labelled joints than requested: all of them, no more
        visible = np.zeros((1, K), np.float32)
        visible[0, [3, 9]] = 1
        results = MaskJoints(prob=1.0, num_joints=5)(_sample(visible=visible))
        self.assertEqual(len(results['masked_boxes']), 2)

    def test_prob_half_masks_about_half(self):
        transform = MaskJoints(prob=0.5)
        np.random.seed(0)
        masked = sum(len(transform(_sample((32, 24)))['masked_boxes']) > 0 for _ in range(400))
        self.assertTrue(150 < masked < 250, masked)

    def test_only_labelled_joints_inside_crop(self):
        h, w = 256, 192
        visible = np.ones((1, K), np.float32)
        visible[0, [0, 5, 16]] = 0  # unlabelled
        sample = _sample((h, w), visible=visible)
        # joints 7 and 8 outside the crop (TopdownAffine keeps them, with their labels)
        sample['keypoints'][0, 7] = (-30.0, 100.0)
        sample['keypoints'][0, 8] = (100.0, h + 5.0)
        allowed = np.setdiff1d(np.arange(K), [0, 5, 16, 7, 8])
        # boxes of ~2 px: each lies over its own joint only
        transform = MaskJoints(prob=1.0, num_joints=K, box_size=0.01)
        for seed in range(10):
            np.random.seed(seed)
            boxes = transform(deepcopy(sample))['masked_boxes']
            self.assertEqual(len(boxes), len(allowed))
            hits = _inside(boxes, sample['keypoints'][0])
            np.testing.assert_array_equal(hits.sum(axis=0)[allowed], 1)
            self.assertFalse(hits[:, [0, 5, 16, 7, 8]].any())

        # the release's bug: unlabelled joints sit at (0, 0) and were masked anyway
        sample['keypoints'][0, [0, 5, 16]] = 0.0
        for seed in range(10):
            np.random.seed(seed)
            boxes = MaskJoints(prob=1.0, num_joints=2)(deepcopy(sample))['masked_boxes']
            self.assertFalse(_inside(boxes, np.zeros((1, 2))).any())

    def test_uses_transformed_keypoints_and_visibility_layouts(self):
        sample = _sample()
        # mmpose keeps the image-space keypoints in `keypoints` after TopdownAffine
        sample['transformed_keypoints'] = sample['keypoints'].copy()
        sample['keypoints'] = sample['keypoints'] + 1000.0
        visible = np.zeros((1, K, 2), np.float32)  # (visibility, weight) layout
        visible[0, 4] = (1.0, 1.0)
        visible[0, 6] = (0.0, 1.0)
        sample['keypoints_visible'] = visible
        boxes = MaskJoints(prob=1.0, num_joints=3, box_size=0.01)(sample)['masked_boxes']
        self.assertEqual(len(boxes), 1)
        self.assertTrue(_inside(boxes, sample['transformed_keypoints'][0, [4]]).all())

    def test_pixels_outside_boxes_unchanged(self):
        transform = MaskJoints(prob=1.0, num_joints=4, center_jitter=0.3, fill_value=7)
        for seed in range(10):
            np.random.seed(seed)
            sample = _sample()
            sample['img'] = np.random.randint(10, 256, sample['img'].shape).astype(np.uint8)
            results = transform(deepcopy(sample))
            mask = _box_mask(sample['img'].shape[:2], results['masked_boxes'])
            self.assertTrue(mask.any())
            np.testing.assert_array_equal(results['img'][~mask], sample['img'][~mask])
            self.assertTrue((results['img'][mask] == 7).all())

    def test_input_not_modified_in_place(self):
        sample = _sample()
        img = sample['img']
        results = MaskJoints(prob=1.0)(sample)
        self.assertTrue((img == 200).all())
        self.assertFalse((results['img'] == 200).all())

    def test_fill_modes(self):
        rng = np.random.RandomState(0)
        img = rng.randint(0, 256, (256, 192, 3)).astype(np.uint8)

        def run(img, **kwargs):
            sample = _sample(img.shape[:2])
            sample['img'] = img
            np.random.seed(1)
            results = MaskJoints(prob=1.0, num_joints=3, **kwargs)(sample)
            return results['img'][_box_mask(img.shape[:2], results['masked_boxes'])]

        painted = run(img, fill='constant', fill_value=(10, 20, 30))
        np.testing.assert_array_equal(painted, np.broadcast_to([10, 20, 30], painted.shape))
        painted = run(img, fill='constant', fill_value=300)  # clipped to uint8
        self.assertTrue((painted == 255).all())

        painted = run(img, fill='mean')
        mean = np.rint(img.reshape(-1, 3).mean(axis=0))
        np.testing.assert_array_equal(painted, np.broadcast_to(mean, painted.shape))
        gray = img[..., 0].copy()
        painted = run(gray, fill='mean')
        self.assertTrue((painted == np.rint(gray.mean())).all())
        rgba = np.dstack([img, img[..., :1]])
        painted = run(rgba, fill='mean')
        np.testing.assert_array_equal(
            painted, np.broadcast_to(np.rint(rgba.reshape(-1, 4).mean(0)), painted.shape)
        )

        painted = run(img, fill='noise')
        self.assertGreater(painted.std(), 40)  # uniform [0, 255] has std 74
        self.assertEqual(len(np.unique(painted)), 256)
        painted = run(img.astype(np.float32), fill='noise')
        self.assertTrue(((painted >= 0) & (painted <= 255)).all())
        self.assertGreater(len(np.unique(painted)), 1000)

        with self.assertRaisesRegex(ValueError, 'channel'):
            run(img, fill='constant', fill_value=(1, 2))

    def test_box_size_scales_with_input_size(self):
        """Same draws at 256x192 and 384x288: boxes 1.5x larger, within the released range
        (20 to 38 px at 256x192) up to the rounding to whole pixels."""
        transform = MaskJoints(prob=1.0, num_joints=1)
        sizes = {}
        for h, w in ((256, 192), (384, 288)):
            sample = _sample((h, w), visible=np.eye(K, dtype=np.float32)[[7]])  # mid joint
            sizes[w] = []
            for seed in range(30):
                np.random.seed(seed)
                box = transform(deepcopy(sample))['masked_boxes'][0]
                sizes[w].append(box[2:] - box[:2])
            sizes[w] = np.array(sizes[w])
        self.assertTrue((sizes[192] >= 20).all() and (sizes[192] <= 38 + 2).all())
        self.assertTrue((sizes[288] >= 30).all() and (sizes[288] <= 57 + 2).all())
        np.testing.assert_allclose(sizes[288], 1.5 * sizes[192], atol=3.5)
        self.assertGreater(sizes[192].std(), 2)  # sizes are drawn, not fixed

    def test_center_jitter(self):
        sample = _sample(visible=np.eye(K, dtype=np.float32)[[7]])
        joint = sample['keypoints'][0, 7]
        offsets = []
        for seed in range(30):
            np.random.seed(seed)
            box = MaskJoints(prob=1.0, center_jitter=0.5)(deepcopy(sample))['masked_boxes'][0]
            size = box[2:] - box[:2]
            offset = (box[:2] + box[2:]) / 2 - joint
            self.assertTrue((np.abs(offset) <= 0.5 * size + 1).all())
            offsets.append(offset)
        self.assertGreater(np.abs(offsets).max(), 5)

    def test_boxes_clipped_to_image(self):
        sample = _sample((64, 48))
        sample['keypoints'][0] = (0.2, 63.9)  # every joint in the bottom-left corner
        boxes = MaskJoints(prob=1.0, num_joints=3, box_size=0.5)(sample)['masked_boxes']
        self.assertEqual(len(boxes), 3)
        self.assertTrue((boxes[:, [0, 1]] >= 0).all())
        self.assertTrue((boxes[:, 2] <= 48).all() and (boxes[:, 3] <= 64).all())
        # a jitter that pushes centers out of the image still leaves non-empty boxes
        transform = MaskJoints(prob=1.0, num_joints=3, box_size=0.05, center_jitter=3.0)
        for seed in range(20):
            np.random.seed(seed)
            boxes = transform(deepcopy(sample))['masked_boxes']
            self.assertEqual(len(boxes), 3)
            self.assertTrue((boxes[:, 2:] > boxes[:, :2]).all())

    def test_no_labelled_joint_is_noop(self):
        transform = MaskJoints(prob=1.0)
        cases = [
            _sample(visible=np.zeros((1, K), np.float32)),
            dict(img=np.full((8, 6, 3), 5, np.uint8)),  # no keypoints
            # what TopdownAffine writes for a sample without keypoints
            dict(
                img=np.full((8, 6, 3), 5, np.uint8),
                transformed_keypoints=np.zeros([]),
                keypoints_visible=np.ones((1, 1, 1)),
            ),
            dict(
                img=np.full((8, 6, 3), 5, np.uint8),
                keypoints=np.zeros((0, K, 2), np.float32),
                keypoints_visible=np.zeros((0, K), np.float32),
            ),
        ]
        for sample in cases:
            results = transform(deepcopy(sample))
            np.testing.assert_array_equal(results['img'], sample['img'])
            self.assertEqual(results['masked_boxes'].shape, (0, 4))

    def test_targets_unchanged_in_pipeline(self):
        """Heatmaps and weights from GenerateTarget are the same with and without it."""
        codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)
        affine, generate = TopdownAffine(input_size=(192, 256)), GenerateTarget(codec)
        sample = get_coco_sample(
            img_shape=(480, 640), num_instances=1, random_keypoints_visible=True
        )
        plain = generate(affine(deepcopy(sample)))
        before = affine(deepcopy(sample))
        copy = deepcopy(before)
        masked = generate(MaskJoints(prob=1.0, num_joints=4)(before))
        self.assertEqual(len(masked['masked_boxes']), 4)
        self.assertFalse(np.array_equal(masked['img'], plain['img']))
        for key in (
            'heatmaps',
            'keypoint_weights',
            'transformed_keypoints',
            'keypoints',
            'keypoints_visible',
        ):
            np.testing.assert_array_equal(masked[key], plain[key], err_msg=key)
        for key in TARGET_KEYS[:3]:
            np.testing.assert_array_equal(before[key], copy[key], err_msg=key)

    def test_cache_randomness(self):
        transform = MaskJoints(prob=1.0, fill='noise')
        with cache_random_params(transform):
            first = transform(_sample())
            second = transform(_sample())
        np.testing.assert_array_equal(first['masked_boxes'], second['masked_boxes'])
        np.testing.assert_array_equal(first['img'], second['img'])

    def test_image_list(self):
        sample = _sample()
        sample['img'] = [sample['img'], sample['img'][..., 0].copy()]
        results = MaskJoints(prob=1.0)(sample)
        mask = _box_mask((256, 192), results['masked_boxes'])
        self.assertTrue((results['img'][0][mask] == 0).all())
        self.assertTrue((results['img'][1][mask] == 0).all())
        self.assertTrue((results['img'][1][~mask] == 200).all())


@st.composite
def _random_samples(draw):
    h = draw(st.integers(1, 80))
    w = draw(st.integers(1, 80))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    dtype = draw(st.sampled_from([np.uint8, np.float32]))
    shape = (h, w) if channels is None else (h, w, channels)
    img_rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    img = (
        img_rng.randint(0, 256, shape) if dtype == np.uint8 else img_rng.uniform(0, 255, shape)
    ).astype(dtype)
    num_instances = draw(st.sampled_from([1, 2, 0]))
    num_keypoints = draw(st.sampled_from([K, 14, 5, 1]))
    # coordinates from -0.25 to 1.25 times the image size: about half inside
    kpt_rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    keypoints = (kpt_rng.uniform(-0.25, 1.25, (num_instances, num_keypoints, 2)) * [w, h]).astype(
        np.float32
    )
    if num_instances and draw(st.booleans()):
        keypoints[0, kpt_rng.randint(num_keypoints)] = np.nan
    visible = kpt_rng.choice(
        [0.0, 1.0, 2.0, 0.5], size=(num_instances, num_keypoints), p=[0.3, 0.2, 0.4, 0.1]
    ).astype(np.float32)
    sample = dict(
        img=img, keypoints=keypoints, keypoints_visible=visible, keypoint_weights=visible.copy()
    )
    if draw(st.booleans()):
        sample['transformed_keypoints'] = keypoints.copy()
        sample['keypoints'] = keypoints + 1000.0
    return sample


_transforms = st.builds(
    MaskJoints,
    prob=st.sampled_from([1.0, 0.5, 0.0]),
    num_joints=st.one_of(st.integers(1, 5), st.tuples(st.integers(0, 2), st.integers(2, 6))),
    box_size=st.one_of(st.floats(0.01, 1.5), st.tuples(st.floats(0.01, 0.2), st.floats(0.2, 0.6))),
    center_jitter=st.floats(0.0, 1.0),
    fill=st.sampled_from(['constant', 'mean', 'noise']),
    fill_value=st.sampled_from([0, 127.5, 300, -5]),
)


class TestMaskJointsProperties(TestCase):
    @settings(max_examples=30, deadline=None)
    @given(sample=_random_samples(), transform=_transforms, seed=st.integers(0, 2**31 - 1))
    def test_random_inputs(self, sample, transform, seed):
        original = deepcopy(sample)
        np.random.seed(seed)
        results = transform(deepcopy(sample))
        np.random.seed(seed)
        again = transform(deepcopy(sample))

        img, out = original['img'], results['img']
        self.assertEqual(out.shape, img.shape)
        self.assertEqual(out.dtype, img.dtype)
        for key in TARGET_KEYS:
            if key in original:
                np.testing.assert_array_equal(results[key], original[key], err_msg=key)

        boxes = results['masked_boxes']
        self.assertEqual(boxes.dtype, np.float32)
        self.assertEqual(boxes.ndim, 2)
        self.assertEqual(boxes.shape[1], 4)
        h, w = img.shape[:2]
        self.assertTrue(
            (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
        )
        self.assertTrue((boxes[:, 2:] > boxes[:, :2]).all())
        mask = _box_mask((h, w), boxes)
        np.testing.assert_array_equal(out[~mask], img[~mask])

        # never more boxes than labelled joints inside the image, and each over one
        keypoints = original.get('transformed_keypoints', original['keypoints'])
        labelled = keypoints[original['keypoints_visible'] > 0]
        with np.errstate(invalid='ignore'):
            inside = labelled[
                (labelled[:, 0] >= 0)
                & (labelled[:, 0] < w)
                & (labelled[:, 1] >= 0)
                & (labelled[:, 1] < h)
            ]
        self.assertLessEqual(len(boxes), len(inside))
        if len(boxes) and transform.center_jitter == 0:
            self.assertTrue(_inside(boxes, inside).any(axis=1).all())
        if transform.prob == 0:
            self.assertEqual(len(boxes), 0)

        # same seed, same output
        np.testing.assert_array_equal(again['img'], out)
        np.testing.assert_array_equal(again['masked_boxes'], boxes)
