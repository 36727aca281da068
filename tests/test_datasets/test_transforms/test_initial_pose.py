# Copyright (c) dag_mmpose contributors. All rights reserved.
import json
import os.path as osp
import tempfile
from unittest import TestCase

import numpy as np
from mmcv.transforms import Compose
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import TRANSFORMS

import dag_mmpose  # noqa: F401
from dag_mmpose.datasets.transforms import LoadInitialPose, load_keypoint_results

INPUT_SIZE = (48, 64)
COCO = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))


def _sample(img_id: int = 7) -> dict:
    rng = np.random.RandomState(0)
    keypoints = np.stack([rng.uniform(40, 80, 17), rng.uniform(30, 110, 17)], -1)[None]
    return dict(
        img=np.zeros((160, 120, 3), dtype=np.uint8),
        img_shape=(160, 120),
        img_id=img_id,
        bbox=np.array([[35.0, 25.0, 85.0, 115.0]], dtype=np.float32),
        bbox_score=np.ones(1, dtype=np.float32),
        keypoints=keypoints.astype(np.float32),
        keypoints_visible=np.ones((1, 17), dtype=np.float32),
        flip_indices=COCO['flip_indices'],
    )


def _compose(steps: list) -> Compose:
    return Compose([TRANSFORMS.build(step) for step in steps])


def _pipeline(pred_file: str, flip: bool, **kwargs) -> Compose:
    return _compose(
        [
            dict(type='GetBBoxCenterScale'),
            dict(type='RandomFlip', prob=1.0 if flip else 0.0, direction='horizontal'),
            dict(type='RandomBBoxTransform', rotate_factor=40.0, rotate_prob=1.0),
            dict(type='TopdownAffine', input_size=INPUT_SIZE),
            dict(type='LoadInitialPose', pred_file=pred_file, input_size=INPUT_SIZE, **kwargs),
        ]
    )


class TestLoadInitialPose(TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        sample = _sample()
        keypoints = sample['keypoints'][0]
        self.scores = np.linspace(0.1, 0.9, 17).astype(np.float32)
        pose = np.concatenate([keypoints, self.scores[:, None]], axis=1)
        entries = [
            # the sample's person (its keypoints as the "prediction")
            dict(image_id=7, category_id=1, keypoints=pose.ravel().tolist(), score=0.9),
            # someone else in the same image, far away
            dict(image_id=7, category_id=1, keypoints=(pose + [200, 0, 0]).ravel().tolist()),
            dict(image_id=8, category_id=1, keypoints=pose.ravel().tolist()),
        ]
        self.pred_file = osp.join(self.tmp.name, 'preds.keypoints.json')
        with open(self.pred_file, 'w') as f:
            json.dump(entries, f)

    def test_puts_the_prediction_where_the_target_is_in_the_crop(self):
        """With the ground truth as the prediction, the initial pose is the target's
        transformed keypoints, flipped and rotated crops included."""
        for flip in (False, True):
            with self.subTest(flip=flip):
                np.random.seed(1)
                results = _pipeline(self.pred_file, flip)(_sample())
                self.assertTrue(results['initial_pose_matched'])
                self.assertNotEqual(float(results['bbox_rotation'][0]), 0.0)
                np.testing.assert_allclose(
                    results['initial_keypoints'], results['transformed_keypoints'], atol=1e-3
                )
                scores = self.scores[COCO['flip_indices']] if flip else self.scores
                np.testing.assert_allclose(results['initial_keypoint_scores'][0], scores)
                self.assertEqual(results['initial_keypoints'].dtype, np.float32)

    def test_missing_prediction(self):
        results = _pipeline(self.pred_file, False)(_sample(img_id=9))
        self.assertFalse(results['initial_pose_matched'])
        self.assertFalse(results['initial_keypoints'].any())
        self.assertFalse(results['initial_keypoint_scores'].any())
        with self.assertRaisesRegex(KeyError, 'no prediction for image 9'):
            _pipeline(self.pred_file, False, on_missing='raise')(_sample(img_id=9))

    def test_a_wrong_warp_is_an_error(self):
        pipeline = _compose(
            [
                dict(type='GetBBoxCenterScale'),
                dict(type='TopdownAffine', input_size=INPUT_SIZE),
                dict(type='LoadInitialPose', pred_file=self.pred_file, input_size=(96, 128)),
            ]
        )
        with self.assertRaisesRegex(ValueError, 'does not reproduce'):
            pipeline(_sample())

    def test_bad_files_name_the_problem(self):
        bad = osp.join(self.tmp.name, 'bad.json')
        with open(bad, 'w') as f:
            json.dump([dict(image_id=1, keypoints=[1, 2])], f)
        with self.assertRaisesRegex(ValueError, 'bad.json: entry 0 .* 2 keypoint values'):
            load_keypoint_results(bad)
        with open(bad, 'w') as f:
            json.dump(dict(annotations=[]), f)
        with self.assertRaisesRegex(ValueError, 'results list'):
            load_keypoint_results(bad)
        with self.assertRaisesRegex(FileNotFoundError, 'no predictions file'):
            _pipeline(osp.join(self.tmp.name, 'none.json'), False)(_sample())
        with self.assertRaisesRegex(ValueError, 'on_missing'):
            LoadInitialPose(self.pred_file, INPUT_SIZE, on_missing='skip')

    def test_partner_is_the_overlapping_other_prediction(self):
        """CoupleGraph's partner: the other prediction overlapping the matched one, in the
        same crop (here the person shifted by 12 px: a constant offset in the crop)."""
        entries = json.load(open(self.pred_file))
        shifted = np.asarray(entries[0]['keypoints']).reshape(-1, 3) + [12, 0, 0]
        entries.append(dict(image_id=7, category_id=1, keypoints=shifted.ravel().tolist()))
        pred_file = osp.join(self.tmp.name, 'pairs.keypoints.json')
        with open(pred_file, 'w') as f:
            json.dump(entries, f)
        for flip in (False, True):
            with self.subTest(flip=flip):
                np.random.seed(2)
                results = _pipeline(pred_file, flip, with_partner=True)(_sample())
                self.assertTrue(results['partner_matched'])
                offset = results['partner_keypoints'] - results['initial_keypoints']
                np.testing.assert_allclose(offset, np.broadcast_to(offset[:, :1], offset.shape),
                                           atol=1e-3)  # fmt: skip
                scale = INPUT_SIZE[0] / results['bbox_scale'][0, 0]
                self.assertAlmostEqual(float(np.linalg.norm(offset[0, 0])), 12 * scale, places=3)
                np.testing.assert_allclose(
                    results['partner_keypoint_scores'], results['initial_keypoint_scores']
                )
        # the far person of setUp is no partner: zeros
        results = _pipeline(self.pred_file, False, with_partner=True)(_sample())
        self.assertFalse(results['partner_matched'])
        self.assertFalse(results['partner_keypoints'].any())


def _person(x0: float, y0: float, seed: int) -> np.ndarray:
    """A person's 17 joints (K, 2) inside the 40 x 90 box at (x0, y0)."""
    rng = np.random.RandomState(seed)
    return np.stack([rng.uniform(x0, x0 + 40, 17), rng.uniform(y0, y0 + 90, 17)], -1)


def _side_by_side_sample() -> dict:
    """An off-centre target (left) whose mirrored box is exactly its neighbour's box (right)
    in a 160 px wide image: the case matching after the flip got wrong."""
    sample = _sample()
    target = _person(30, 30, seed=3)
    sample.update(
        img=np.zeros((160, 160, 3), dtype=np.uint8),
        img_shape=(160, 160),
        bbox=np.array([[30.0, 30.0, 70.0, 120.0]], dtype=np.float32),
        keypoints=target[None].astype(np.float32),
    )
    return sample


def _write_predictions(path: str, people: list) -> str:
    entries = []
    for keypoints, box in people:
        pose = np.concatenate([keypoints, np.full((17, 1), 0.8)], axis=1)
        x0, y0, x1, y1 = box
        entries.append(dict(image_id=7, category_id=1, keypoints=pose.ravel().tolist(),
                            bbox=[x0, y0, x1 - x0, y1 - y0], score=0.9))  # fmt: skip
    with open(path, 'w') as f:
        json.dump(entries, f)
    return path


class TestLoadInitialPoseAcrossFlip(TestCase):
    """Predictions are in the image as loaded; RandomFlip mirrors the sample's bbox, so the
    match must happen before the flip's frame (it did not: a flipped sample took the
    neighbour's pose)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.target = _person(30, 30, seed=3)
        self.neighbour = _person(90, 30, seed=4)
        self.partner = self.target + [12.0, 0.0]
        self.pred_file = _write_predictions(
            osp.join(self.tmp.name, 'preds.keypoints.json'),
            [
                (self.neighbour, (90, 30, 130, 120)),
                (self.target, (30, 30, 70, 120)),
                (self.partner, (42, 30, 82, 120)),
            ],
        )

    def _expected(self, results: dict, keypoints: np.ndarray) -> np.ndarray:
        """Image-space keypoints (K, 2) flipped and warped exactly as the sample."""
        from mmpose.structures.keypoint import flip_keypoints

        from dag_mmpose.datasets.transforms.keypoint_utils import apply_warp, topdown_warp_matrix

        flipped, _ = flip_keypoints(
            keypoints[None], np.ones((1, 17)), image_size=(160, 160),
            flip_indices=COCO['flip_indices'], direction='horizontal',
        )  # fmt: skip
        return apply_warp(flipped, topdown_warp_matrix(results, INPUT_SIZE))

    def test_flipped_off_centre_target_gets_its_own_pose(self):
        np.random.seed(0)
        results = _pipeline(self.pred_file, flip=True, with_partner=True)(_side_by_side_sample())
        self.assertTrue(results['flip'])
        self.assertTrue(results['initial_pose_matched'])
        np.testing.assert_allclose(
            results['initial_keypoints'], results['transformed_keypoints'], atol=1e-3
        )
        # CoupleGraph's partner is the person overlapping the target, not the neighbour
        self.assertTrue(results['partner_matched'])
        np.testing.assert_allclose(
            results['partner_keypoints'], self._expected(results, self.partner), atol=1e-3
        )

    def test_unflipped_sample_unchanged(self):
        np.random.seed(0)
        results = _pipeline(self.pred_file, flip=False, with_partner=True)(_side_by_side_sample())
        np.testing.assert_allclose(
            results['initial_keypoints'], results['transformed_keypoints'], atol=1e-3
        )


class TestPredictionFileInputs(TestCase):
    """Every malformed prediction file is an error naming the file, the entry and the field."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def _file(self, entries=None, text=None) -> str:
        path = osp.join(self.tmp.name, 'preds.json')
        with open(path, 'w') as f:
            f.write(text if text is not None else json.dumps(entries))
        return path

    def test_non_finite_and_malformed_entries(self):
        NAN, INF = float('nan'), float('inf')
        good = dict(image_id=3, keypoints=[1.0, 2.0, 0.5] * 17, score=0.9, bbox=[0, 0, 10, 20])
        cases = [
            (dict(good, keypoints=[NAN, 2.0, 0.5] * 17), r'entry 0 \(image 3\) "keypoints"'),
            (dict(good, keypoints=[1.0, INF, 0.5] * 17), '"keypoints".* NaN or infinite'),
            (dict(good, score=NAN), '"score".* NaN or infinite'),
            (dict(good, bbox=[0, NAN, 10, 20]), '"bbox".* NaN or infinite'),
            (dict(good, bbox=[0, 0, -10, 20]), r'"bbox" must be \[x, y, w, h\] with w, h >= 0'),
            (dict(good, bbox=[0, 0, 10]), r'"bbox" must be \[x, y, w, h\]'),
            (dict(good, image_id=[3]), 'image_id .* integers'),
            (dict(good, keypoints='abc'), 'expected numbers'),
        ]  # fmt: skip
        for entry, pattern in cases:
            with self.subTest(pattern=pattern):
                path = self._file([good, entry] if 'entry 0' not in pattern else [entry])
                with self.assertRaisesRegex(ValueError, 'preds.json: .*' + pattern):
                    load_keypoint_results(path)

    def test_not_json_names_the_file(self):
        path = self._file(text='[{"image_id": 1, "keypoints": [1, 2')
        with self.assertRaisesRegex(ValueError, r'preds.json is not valid JSON.*line 1'):
            load_keypoint_results(path)

    def test_predictions_of_another_joint_count_are_an_error(self):
        entry = dict(image_id=7, keypoints=[50.0, 60.0, 0.9] * 12, score=0.9, bbox=[35, 25, 50, 90])
        path = self._file([entry])
        with self.assertRaisesRegex(
            ValueError, r'preds.json has 12 joints per pose, the dataset 17'
        ):
            _pipeline(path, flip=False)(_sample())

    def test_constructor_arguments_are_checked_when_built(self):
        for kwargs, pattern in (
            (dict(min_iou=float('nan')), 'min_iou must be a finite number in'),
            (dict(min_iou=1.5), 'min_iou'),
            (dict(pair_iou=-0.1), 'pair_iou'),
            (dict(input_size=(48,)), r'input_size must be \(width, height\)'),
            (dict(input_size=(48, 0)), 'input_size must be an integer > 0'),
        ):
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                args = dict(pred_file='p.json', input_size=INPUT_SIZE)
                args.update(kwargs)
                with self.assertRaisesRegex(ValueError, 'LoadInitialPose: ' + pattern):
                    LoadInitialPose(**args)
