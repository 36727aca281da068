# Copyright (c) dag_mmpose contributors. All rights reserved.
import json
import os.path as osp
import tempfile
from types import SimpleNamespace
from typing import List, Optional, Tuple
from unittest import TestCase

import cv2
import numpy as np
from mmpose.datasets import CocoDataset
from mmpose.datasets.dataset_wrappers import CombinedDataset
from mmpose.datasets.transforms import TopdownAffine
from mmpose.registry import TRANSFORMS
from mmpose.testing import get_coco_sample
from mmpose.utils import register_all_modules

from dag_mmpose.datasets.transforms import GetOtherInstances
from dag_mmpose.datasets.transforms.other_instances import get_img_id_index

K = 17
INPUT_SIZE = (96, 192)
IMG_W, IMG_H = 400, 240
# person boxes (x, y, w, h) of image 1: A and B overlap, C is far to the right
BOXES = [(40, 30, 80, 180), (100, 30, 80, 180), (300, 30, 80, 180)]
UNLABELLED = {1: [4, 11], 2: [0]}  # person -> joints without annotation
DOT_RADIUS = 4


def _color(person: int, joint: int) -> Tuple[int, int, int]:
    """A color unique to each (person, joint) dot (BGR)."""
    return (40 + 12 * joint, 60 + 70 * person, 250 - 12 * joint)


def _joints(box: Tuple[int, int, int, int]) -> np.ndarray:
    """17 joints on a 3x6 grid inside the box, far enough apart for their dots."""
    x, y, w, h = box
    cols = x + w * np.array([0.2, 0.5, 0.8])
    rows = y + h * np.linspace(0.08, 0.92, 6)
    grid = np.stack(np.meshgrid(cols, rows), axis=-1).reshape(-1, 2)
    return np.round(grid[:K])


def _write_data(root: str) -> str:
    """Write two images and their COCO annotations; return the annotation path.

    Image 1 holds persons A, B, C whose labelled joints are drawn as dots of unique
    colors; image 2 holds one person D; image 3 holds two identical people.
    """
    images, annotations = [], []
    img = np.zeros((IMG_H, IMG_W, 3), np.uint8)
    for person, box in enumerate(BOXES):
        keypoints = []
        for joint, (x, y) in enumerate(_joints(box)):
            if joint in UNLABELLED.get(person, []):
                keypoints += [0, 0, 0]
                continue
            cv2.circle(img, (int(x), int(y)), DOT_RADIUS, _color(person, joint), -1)
            keypoints += [float(x), float(y), 2]
        annotations.append(
            dict(
                id=person + 1,
                image_id=1,
                category_id=1,
                bbox=list(box),
                area=box[2] * box[3],
                iscrowd=0,
                num_keypoints=sum(v > 0 for v in keypoints[2::3]),
                keypoints=keypoints,
            )
        )
    cv2.imwrite(osp.join(root, '1.png'), img)
    images.append(dict(id=1, file_name='1.png', width=IMG_W, height=IMG_H))

    cv2.imwrite(osp.join(root, '2.png'), np.zeros((IMG_H, IMG_W, 3), np.uint8))
    images.append(dict(id=2, file_name='2.png', width=IMG_W, height=IMG_H))
    box = (100, 30, 80, 180)
    keypoints = np.concatenate([_joints(box), np.full((K, 1), 2.0)], axis=1)
    annotations.append(
        dict(
            id=4,
            image_id=2,
            category_id=1,
            bbox=list(box),
            area=box[2] * box[3],
            iscrowd=0,
            num_keypoints=K,
            keypoints=keypoints.reshape(-1).tolist(),
        )
    )

    # image 3: twins, two annotations of one person, so each is the other's exact copy
    images.append(dict(id=3, file_name='2.png', width=IMG_W, height=IMG_H))
    for ann_id in (5, 6):
        annotations.append(dict(annotations[-1], id=ann_id, image_id=3))

    ann_file = osp.join(root, 'ann.json')
    categories = [dict(id=1, name='person', supercategory='person')]
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return ann_file


class TestGetOtherInstances(TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        # datasets build their pipelines in the default scope
        register_all_modules()
        cls._tmp = tempfile.TemporaryDirectory()
        cls.root = cls._tmp.name
        cls.ann_file = _write_data(cls.root)

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()

    def _dataset(
        self,
        flip_prob: float,
        use_udp: bool = False,
        max_instances: Optional[int] = None,
        serialize_data: bool = True,
        extra: Optional[List[dict]] = None,
        ann_file: Optional[str] = None,
    ) -> CocoDataset:
        pipeline = [
            dict(type='LoadImage'),
            dict(type='GetBBoxCenterScale'),
            dict(type='RandomFlip', prob=flip_prob),
            dict(
                type='RandomBBoxTransform',
                scale_factor=(0.8, 1.2),
                rotate_prob=1.0,
                rotate_factor=30.0,
            ),
            dict(type='TopdownAffine', input_size=INPUT_SIZE, use_udp=use_udp),
            dict(
                type='GetOtherInstances',
                input_size=INPUT_SIZE,
                use_udp=use_udp,
                max_instances=max_instances,
            ),
        ] + (extra or [])
        return CocoDataset(
            ann_file=ann_file or self.ann_file,
            data_root='',
            data_prefix=dict(img=self.root + '/'),
            data_mode='topdown',
            pipeline=pipeline,
            serialize_data=serialize_data,
        )

    def _find_the_dots(self, flip_prob: float, use_udp: bool) -> None:
        np.random.seed(0)
        dataset = self._dataset(flip_prob, use_udp)
        flip_indices = dataset.metainfo['flip_indices']
        checked = 0
        for idx in range(3):  # the samples of image 1
            for _ in range(3):  # several random rotations / shifts
                results = dataset[idx]
                self.assertEqual(results['flip'], flip_prob > 0)
                others = [p for p in range(3) if p + 1 != results['id']]
                keypoints = results['other_keypoints']
                visible = results['other_keypoints_visible']
                self.assertEqual(keypoints.shape, (2, K, 2))
                self.assertEqual(visible.shape, (2, K))
                self.assertEqual(keypoints.dtype, np.float32)
                self.assertEqual(visible.dtype, np.float32)
                for row, person in enumerate(others):
                    for joint in range(K):
                        source = flip_indices[joint] if results['flip'] else joint
                        if source in UNLABELLED.get(person, []):
                            self.assertEqual(visible[row, joint], 0)
                            continue
                        if visible[row, joint] == 0:
                            continue
                        x, y = np.round(keypoints[row, joint]).astype(int)
                        x, y = min(x, INPUT_SIZE[0] - 1), min(y, INPUT_SIZE[1] - 1)
                        np.testing.assert_allclose(
                            results['img'][y, x],
                            _color(person, source),
                            atol=2,
                            err_msg=f'person {person} joint {joint} at ({x}, {y})',
                        )
                        checked += 1
        self.assertGreater(checked, 20)

    def test_find_the_dots(self):
        self._find_the_dots(flip_prob=0.0, use_udp=False)

    def test_find_the_dots_flipped(self):
        self._find_the_dots(flip_prob=1.0, use_udp=False)

    def test_find_the_dots_udp(self):
        self._find_the_dots(flip_prob=0.0, use_udp=True)
        self._find_the_dots(flip_prob=1.0, use_udp=True)

    def test_target_excluded_and_other_images_ignored(self):
        for serialize_data in (True, False):
            dataset = self._dataset(0.0, serialize_data=serialize_data)
            lone = dataset[3]
            self.assertEqual(lone['id'], 4)
            self.assertEqual(lone['other_keypoints'].shape, (0, K, 2))
            self.assertEqual(lone['other_keypoints_visible'].shape, (0, K))
            info = dataset.get_data_info(0)
            results = dataset[0]
            self.assertEqual(results['id'], 1)
            # no other row is the target: its joints sit where its own dots are
            target = results['transformed_keypoints'][0]
            for row in results['other_keypoints']:
                self.assertGreater(np.abs(row - target).max(), 10)
            self.assertEqual(get_img_id_index(dataset), {1: [0, 1, 2], 2: [3], 3: [4, 5]})
            self.assertEqual(info['img_id'], 1)

    def test_twin_matches_topdown_affine(self):
        # the twin goes through GetOtherInstances, the target through RandomFlip and
        # TopdownAffine: both must land on the same crop pixels (to float precision)
        for use_udp in (False, True):
            for flip_prob in (0.0, 1.0):
                np.random.seed(1)
                results = self._dataset(flip_prob, use_udp)[4]
                self.assertEqual(results['other_keypoints'].shape, (1, K, 2))
                np.testing.assert_allclose(
                    results['other_keypoints'], results['transformed_keypoints'], atol=1e-3
                )
                inside = (
                    (results['transformed_keypoints'] >= 0)
                    & (results['transformed_keypoints'] < INPUT_SIZE)
                ).all(-1)
                np.testing.assert_array_equal(
                    results['other_keypoints_visible'], results['keypoints_visible'] * inside
                )

    def test_index_is_cached(self):
        dataset = self._dataset(0.0)
        index = get_img_id_index(dataset)
        self.assertIs(get_img_id_index(dataset), index)

    def test_out_of_crop_invisible(self):
        np.random.seed(0)
        dataset = self._dataset(0.0)
        for _ in range(3):
            results = dataset[0]  # target A: C is far outside the crop
            np.testing.assert_array_equal(results['other_keypoints_visible'][1], 0)
            # B overlaps A: some of its joints are in the crop, some are not
            self.assertGreater(results['other_keypoints_visible'][0].sum(), 0)
            xy = results['other_keypoints']
            outside = (
                (xy[..., 0] < 0)
                | (xy[..., 0] >= INPUT_SIZE[0])
                | (xy[..., 1] < 0)
                | (xy[..., 1] >= INPUT_SIZE[1])
            )
            self.assertTrue(outside.any())
            self.assertTrue(np.all(results['other_keypoints_visible'][outside] == 0))

    def test_max_instances(self):
        np.random.seed(0)
        results = self._dataset(0.0, max_instances=1)[0]
        self.assertEqual(results['other_keypoints'].shape, (1, K, 2))
        # B (in the crop) is kept, C (outside) is dropped
        self.assertGreater(results['other_keypoints_visible'].sum(), 0)
        results = self._dataset(0.0, max_instances=0)[0]
        self.assertEqual(results['other_keypoints'].shape, (0, K, 2))

    def _affine_sample(self) -> dict:
        sample = get_coco_sample(img_shape=(IMG_H, IMG_W), num_instances=1)
        sample = TopdownAffine(input_size=INPUT_SIZE)(sample)
        return sample

    def test_no_dataset_is_noop(self):
        transform = GetOtherInstances(input_size=INPUT_SIZE)
        results = transform(self._affine_sample())
        self.assertEqual(results['other_keypoints'].shape, (0, K, 2))
        self.assertEqual(results['other_keypoints_visible'].shape, (0, K))
        self.assertEqual(results['other_keypoints'].dtype, np.float32)

        sample = self._affine_sample()
        sample['dataset'] = SimpleNamespace(bbox_file='detections.json')
        results = transform(sample)
        self.assertEqual(results['other_keypoints'].shape, (0, K, 2))

    def test_bad_configs(self):
        sample = self._affine_sample()
        sample['dataset'] = self._dataset(0.0)
        with self.assertRaisesRegex(ValueError, 'does not match'):
            GetOtherInstances(input_size=(192, 256))(sample)
        sample['dataset'] = CombinedDataset.__new__(CombinedDataset)
        with self.assertRaisesRegex(ValueError, 'CombinedDataset'):
            GetOtherInstances(input_size=INPUT_SIZE)(sample)
        with self.assertRaises(ValueError):
            GetOtherInstances(input_size=(96.0, 192.0))
        with self.assertRaises(ValueError):
            GetOtherInstances(input_size=INPUT_SIZE, max_instances=-1)

    def test_warp_is_checked_against_the_target(self):
        # a use_udp that differs from TopdownAffine's would misplace every other person
        np.random.seed(0)
        results = self._dataset(0.0, use_udp=False)[0]  # passes its own check
        self.assertEqual(results['other_keypoints'].shape[0], 2)
        sample = self._affine_sample()
        sample.update(dataset=self._dataset(0.0), img_id=1, id=1)
        GetOtherInstances(input_size=INPUT_SIZE)(dict(sample))
        with self.assertRaisesRegex(ValueError, r'use_udp=True\) does not reproduce'):
            GetOtherInstances(input_size=INPUT_SIZE, use_udp=True)(dict(sample))
        # a crop moved after TopdownAffine
        moved = dict(sample, bbox_center=sample['bbox_center'] + 3.0)
        with self.assertRaisesRegex(ValueError, r'off by up to \d+\.\d+ px'):
            GetOtherInstances(input_size=INPUT_SIZE)(moved)
        # placed before TopdownAffine
        raw = get_coco_sample(img_shape=(IMG_H, IMG_W), num_instances=1)
        raw.update(dataset=self._dataset(0.0), img_id=1, id=1)
        with self.assertRaisesRegex(ValueError, 'right after TopdownAffine'):
            GetOtherInstances(input_size=INPUT_SIZE)(raw)

    def test_build_and_repr(self):
        transform = TRANSFORMS.build(
            dict(type='GetOtherInstances', input_size=INPUT_SIZE, use_udp=True, max_instances=4)
        )
        self.assertIsInstance(transform, GetOtherInstances)
        self.assertEqual(
            repr(transform),
            'GetOtherInstances(input_size=(96, 192), use_udp=True, max_instances=4)',
        )

    def test_pipeline_with_codec(self):
        np.random.seed(0)
        codec = dict(type='DAGHeatmap', input_size=INPUT_SIZE, heatmap_size=(24, 48), sigma=2.0)
        dataset = self._dataset(
            1.0, extra=[dict(type='GenerateTarget', encoder=codec), dict(type='PackPoseInputs')]
        )
        packed = dataset[0]
        sample = packed['data_samples']
        self.assertEqual(tuple(packed['inputs'].shape), (3, INPUT_SIZE[1], INPUT_SIZE[0]))
        self.assertEqual(tuple(sample.gt_fields.heatmaps.shape), (K, 48, 24))
        self.assertEqual(tuple(sample.gt_fields.multi_heatmaps.shape), (K, 48, 24))
        labels = sample.gt_instance_labels
        self.assertEqual(tuple(labels.keypoint_weights.shape), (1, K))
        self.assertEqual(tuple(labels.multi_keypoint_weights.shape), (1, K))
        self.assertEqual(tuple(labels.keypoint_coords.shape), (1, K, 2))
        self.assertLessEqual(float(labels.keypoint_coords.abs().max()), 1.5)

        # the other people's in-crop joints appear in the multi heatmaps at >= 0.5
        np.random.seed(0)
        results = self._dataset(1.0)[0]
        multi = sample.gt_fields.multi_heatmaps.numpy()
        visible = results['other_keypoints_visible']
        self.assertGreater(visible.sum(), 0)
        for row, joint in zip(*np.nonzero(visible)):
            x, y = (results['other_keypoints'][row, joint] / 4 + 0.5).astype(int)
            if x < 24 and y < 48:  # the peak pixel of a joint at the crop's edge is off
                self.assertGreaterEqual(multi[joint, y, x], 0.5 - 1e-6)
        self.assertTrue(np.any(multi > sample.gt_fields.heatmaps.numpy()))

    def _variant(self, name: str, edit) -> str:
        """The test annotations with ``edit(data)`` applied, written as ``name``."""
        with open(self.ann_file) as f:
            data = json.load(f)
        edit(data)
        path = osp.join(self.root, name)
        with open(path, 'w') as f:
            json.dump(data, f)
        return path

    def test_non_finite_keypoints_name_the_annotation(self):
        """A NaN or infinite coordinate / flag (the target's or another person's) is an error
        naming image and annotation; a NaN target used to surface as a misleading
        "does not reproduce the target's warp ... use_udp" message."""

        def set_value(ann_index: int, offset: int, value: float):
            def edit(data):
                data['annotations'][ann_index]['keypoints'][offset] = value

            return edit

        nan, inf = float('nan'), float('inf')
        cases = [
            ('nan_target.json', set_value(0, 3, nan), r'keypoints of the target \(image 1'),
            ('inf_target.json', set_value(0, 4, inf), 'keypoints of the target'),
            ('nan_flag.json', set_value(0, 5, nan), 'keypoints_visible of the target'),
            ('nan_other.json', set_value(1, 3, nan),
             r'keypoints of another person \(image 1 .*annotation 2\)'),
        ]  # fmt: skip
        for name, edit, pattern in cases:
            with self.subTest(name=name):
                dataset = self._dataset(0.0, ann_file=self._variant(name, edit))
                with self.assertRaisesRegex(ValueError, 'GetOtherInstances: the ' + pattern):
                    dataset[0]

    def test_repeated_annotation_ids_are_an_error(self):
        """mmpose's COCO loader (xtcocotools, annotations indexed by id) makes every
        annotation of a repeated id a copy of the last one; excluded by id, the target took
        all its copies with it and the sample silently had no other people."""

        def same_ids(data):
            for ann in data['annotations'][:3]:
                ann['id'] = 1

        dataset = self._dataset(0.0, ann_file=self._variant('same_ids.json', same_ids))
        self.assertEqual(dataset.get_data_info(0)['keypoints'].tolist(),
                         dataset.get_data_info(1)['keypoints'].tolist())  # fmt: skip
        with self.assertRaisesRegex(ValueError, '3 samples of image 1 carry the annotation id 1'):
            dataset[0]

    def test_after_instance_paste_is_an_error(self):
        sample = self._affine_sample()
        sample['pasted_instances'] = []
        with self.assertRaisesRegex(ValueError, 'place InstancePaste after GetOtherInstances'):
            GetOtherInstances(input_size=INPUT_SIZE)(sample)
