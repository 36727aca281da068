# Copyright (c) dag_mmpose contributors. All rights reserved.
from unittest import TestCase

import numpy as np
from mmpose.codecs import MSRAHeatmap, UDPHeatmap
from mmpose.datasets.transforms import GenerateTarget, PackPoseInputs
from mmpose.registry import KEYPOINT_CODECS
from mmpose.testing import get_coco_sample

from dag_mmpose.codecs import DAGHeatmap

INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)
K = 17


def _keypoints(rng: np.random.RandomState, num: int, low: float = 20.0) -> np.ndarray:
    """Random keypoints (num, K, 2) well inside the 192x256 crop."""
    high = [INPUT_SIZE[0] - low, INPUT_SIZE[1] - low]
    return rng.uniform([low, low], high, (num, K, 2)).astype(np.float32)


class TestDAGHeatmap(TestCase):
    def setUp(self) -> None:
        self.rng = np.random.RandomState(0)
        self.cfg = dict(
            type='DAGHeatmap', input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2.0
        )
        self.keypoints = _keypoints(self.rng, 1)
        self.visible = np.ones((1, K), dtype=np.float32)
        self.visible[0, 3] = 0
        self.others = _keypoints(self.rng, 2)
        self.others_visible = np.ones((2, K), dtype=np.float32)

    def test_build(self):
        codec = KEYPOINT_CODECS.build(self.cfg)
        self.assertIsInstance(codec, DAGHeatmap)
        self.assertEqual(
            codec.auxiliary_encode_keys, {'other_keypoints', 'other_keypoints_visible'}
        )
        self.assertEqual(set(codec.field_mapping_table), {'heatmaps', 'multi_heatmaps'})
        self.assertEqual(
            set(codec.label_mapping_table),
            {'keypoint_weights', 'multi_keypoint_weights', 'keypoint_coords'},
        )

    def test_encode_shapes_and_dtypes(self):
        codec = KEYPOINT_CODECS.build(self.cfg)
        encoded = codec.encode(self.keypoints, self.visible, self.others, self.others_visible)
        w, h = HEATMAP_SIZE
        expected = dict(
            heatmaps=(K, h, w),
            keypoint_weights=(1, K),
            multi_heatmaps=(K, h, w),
            multi_keypoint_weights=(1, K),
            keypoint_coords=(1, K, 2),
        )
        self.assertEqual(set(encoded), set(expected))
        for key, shape in expected.items():
            self.assertEqual(encoded[key].shape, shape, key)
            self.assertEqual(encoded[key].dtype, np.float32, key)

    def test_target_matches_msra(self):
        for unbiased in (False, True):
            codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, unbiased=unbiased)
            msra = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, unbiased=unbiased)
            ours = codec.encode(self.keypoints, self.visible, self.others, self.others_visible)
            ref = msra.encode(self.keypoints, self.visible)
            np.testing.assert_array_equal(ours['heatmaps'], ref['heatmaps'])
            np.testing.assert_array_equal(ours['keypoint_weights'], ref['keypoint_weights'])

            heatmaps = ref['heatmaps'] + 0.01 * self.rng.rand(*ref['heatmaps'].shape)
            for a, b in zip(codec.decode(heatmaps), msra.decode(heatmaps)):
                np.testing.assert_array_equal(a, b)

    def test_target_matches_udp(self):
        codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, use_udp=True)
        udp = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
        ours = codec.encode(self.keypoints, self.visible, self.others, self.others_visible)
        ref = udp.encode(self.keypoints, self.visible)
        np.testing.assert_array_equal(ours['heatmaps'], ref['heatmaps'])
        np.testing.assert_array_equal(ours['keypoint_weights'], ref['keypoint_weights'])

        heatmaps = ref['heatmaps'] + 0.01 * self.rng.rand(*ref['heatmaps'].shape)
        for a, b in zip(codec.decode(heatmaps), udp.decode(heatmaps.copy())):
            np.testing.assert_array_equal(a, b)

    def test_lone_person_multi_equals_target(self):
        codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
        empty = (np.zeros((0, K, 2), np.float32), np.zeros((0, K), np.float32))
        for others, others_visible in ((None, None), empty):
            encoded = codec.encode(self.keypoints, self.visible, others, others_visible)
            np.testing.assert_array_equal(encoded['multi_heatmaps'], encoded['heatmaps'])
            np.testing.assert_array_equal(
                encoded['multi_keypoint_weights'], encoded['keypoint_weights']
            )

    def test_other_peak(self):
        codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, other_peak=0.5)
        keypoints = np.full((1, K, 2), 20.0, np.float32)
        # on the heatmap grid (scale 4) and far from the target
        others = np.full((1, K, 2), 160.0, np.float32)
        encoded = codec.encode(keypoints, None, others, None)
        multi = encoded['multi_heatmaps']
        np.testing.assert_allclose(multi[:, 40, 40], 0.5)
        self.assertAlmostEqual(float(multi[:, 30:, 30:].max()), 0.5, places=6)
        np.testing.assert_array_equal(multi[:, :15, :15], encoded['heatmaps'][:, :15, :15])

    def test_max_merge_where_people_overlap(self):
        codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
        msra = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
        # the other person 6 input px (1.5 heatmap px) away: the Gaussians overlap
        others = self.keypoints + np.float32(6.0)
        others = np.concatenate([others, self.others], axis=0)
        encoded = codec.encode(self.keypoints, self.visible, others, None)

        expected = msra.encode(self.keypoints, self.visible)['heatmaps']
        for person in others:
            unit = msra.encode(person[None])['heatmaps']
            expected = np.maximum(expected, 0.5 * unit)
        np.testing.assert_allclose(encoded['multi_heatmaps'], expected, atol=1e-7)
        # the target keeps its peak 1 where the other person's tail overlaps it
        mu = (self.keypoints[0, 0] / 4 + 0.5).astype(int)
        self.assertEqual(float(encoded['multi_heatmaps'][0, mu[1], mu[0]]), 1.0)

    def test_unlabelled_others_do_not_appear(self):
        codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
        encoded = codec.encode(
            self.keypoints, self.visible, self.others, np.zeros((2, K), np.float32)
        )
        np.testing.assert_array_equal(encoded['multi_heatmaps'], encoded['heatmaps'])

        others_visible = np.zeros((2, K), np.float32)
        others_visible[1, 5] = 1
        encoded = codec.encode(self.keypoints, self.visible, self.others, others_visible)
        changed = np.any(encoded['multi_heatmaps'] != encoded['heatmaps'], axis=(1, 2))
        self.assertEqual(np.flatnonzero(changed).tolist(), [5])

    def test_weights_per_joint_max(self):
        codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
        visible = np.ones((1, K), np.float32)
        visible[0, [1, 2]] = 0
        others_visible = np.zeros((2, K), np.float32)
        others_visible[0, 1] = 1
        others = self.others.copy()
        others_visible[1, 2] = 1
        others[1, 2] = -100.0  # labelled but off the crop: weight 0 as in MSRAHeatmap
        encoded = codec.encode(self.keypoints, visible, others, others_visible)
        expected = visible.copy()
        expected[0, 1] = 1
        np.testing.assert_array_equal(encoded['multi_keypoint_weights'], expected)
        np.testing.assert_array_equal(encoded['keypoint_weights'], visible)

    def test_keypoint_coords_inverse(self):
        for use_udp in (False, True):
            codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, use_udp=use_udp)
            coords = codec.encode(self.keypoints, self.visible)['keypoint_coords']
            w, h = INPUT_SIZE
            restored = (coords + 1) * np.array([w, h]) / 2
            np.testing.assert_allclose(restored, self.keypoints, atol=1e-4)
            corners = codec.encode(
                np.array([[[0.0, 0.0], [w, h]] + [[0.0, 0.0]] * (K - 2)], np.float32)
            )['keypoint_coords']
            np.testing.assert_allclose(corners[0, :2], [[-1, -1], [1, 1]])

    def test_round_trip(self):
        for kwargs in (dict(), dict(unbiased=True), dict(use_udp=True)):
            codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, **kwargs)
            encoded = codec.encode(self.keypoints, None, self.others, self.others_visible)
            keypoints, scores = codec.decode(encoded['heatmaps'])
            self.assertEqual(keypoints.shape, (1, K, 2))
            self.assertEqual(scores.shape, (1, K))
            # one heatmap pixel is 4 input pixels
            np.testing.assert_allclose(keypoints, self.keypoints, atol=4.0)

    def test_without_target_heatmaps(self):
        codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, with_target_heatmaps=False)
        encoded = codec.encode(self.keypoints, self.visible, self.others, self.others_visible)
        self.assertEqual(
            set(encoded), {'multi_heatmaps', 'multi_keypoint_weights', 'keypoint_coords'}
        )
        self.assertEqual(codec.field_mapping_table, dict(multi_heatmaps='multi_heatmaps'))
        self.assertEqual(
            set(codec.label_mapping_table), {'multi_keypoint_weights', 'keypoint_coords'}
        )
        # the class tables stay complete for other instances
        self.assertIn('heatmaps', DAGHeatmap.field_mapping_table)

    def test_invalid_inputs(self):
        codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
        with self.assertRaisesRegex(ValueError, r'`keypoints`.*\(2, 17, 2\)'):
            codec.encode(self.others)
        with self.assertRaisesRegex(ValueError, '`keypoints_visible`'):
            codec.encode(self.keypoints, np.ones((1, 5)))
        with self.assertRaisesRegex(ValueError, r'`other_keypoints`.*got \(17, 2\)'):
            codec.encode(self.keypoints, None, self.others[0], None)
        with self.assertRaisesRegex(ValueError, '`other_keypoints_visible`'):
            codec.encode(self.keypoints, None, self.others, np.ones((3, K)))
        with self.assertRaisesRegex(ValueError, 'same number of keypoints'):
            codec.encode(self.keypoints, None, self.others[:, :5], None)
        with self.assertRaisesRegex(ValueError, r'\(K, H, W\)'):
            codec.decode(np.zeros((1, K, 64, 48), np.float32))
        with self.assertRaisesRegex(ValueError, 'other_peak'):
            DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, other_peak=1.5)
        with self.assertRaisesRegex(ValueError, 'unbiased'):
            DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, use_udp=True, unbiased=True)

    def test_out_of_range_arguments_are_refused_when_built(self):
        nan = float('nan')
        cases = [
            (dict(sigma=0.0), 'sigma must be a finite number > 0'),
            (dict(sigma=-2.0), 'sigma'),
            (dict(sigma=nan), 'sigma'),
            (dict(sigma=2.0, other_peak=nan), 'other_peak'),
            (dict(sigma=2.0, input_size=(192,)), r'input_size must be \(width, height\)'),
            (dict(sigma=2.0, heatmap_size=(48, 0)), 'heatmap_size must be an integer > 0'),
            (dict(sigma=2.0, blur_kernel_size=10), 'blur_kernel_size must be odd'),
            (dict(sigma=2.0, blur_kernel_size=0), 'blur_kernel_size'),
        ]
        for kwargs, pattern in cases:
            args = dict(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE)
            args.update(kwargs)
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                with self.assertRaisesRegex(ValueError, 'DAGHeatmap: ' + pattern):
                    KEYPOINT_CODECS.build(dict(type='DAGHeatmap', **args))

    def test_non_finite_keypoints_are_refused(self):
        """A NaN joint would become a NaN coordinate target (and a NaN loss)."""
        codec = DAGHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
        keypoints = self.keypoints.copy()
        keypoints[0, 5, 0] = np.nan
        with self.assertRaisesRegex(ValueError, r'keypoints of the target .*joints \[5\]'):
            codec.encode(keypoints, self.visible)
        visible = self.visible.copy()
        visible[0, 2] = np.inf
        with self.assertRaisesRegex(ValueError, 'keypoints_visible of the target'):
            codec.encode(self.keypoints, visible)
        others = self.others.copy()
        others[1, 3, 1] = -np.inf
        with self.assertRaisesRegex(ValueError, r'keypoints of the other people .*joints \[3\]'):
            codec.encode(self.keypoints, self.visible, others, self.others_visible)

    def _sample(self) -> dict:
        sample = get_coco_sample(img_shape=(256, 192), num_instances=1)
        sample['transformed_keypoints'] = self.keypoints.copy()
        sample['keypoints_visible'] = self.visible.copy()
        sample['other_keypoints'] = self.others.copy()
        sample['other_keypoints_visible'] = self.others_visible.copy()
        return sample

    def test_generate_target_and_pack(self):
        results = GenerateTarget(encoder=self.cfg)(self._sample())
        packed = PackPoseInputs()(results)['data_samples']
        w, h = HEATMAP_SIZE
        self.assertEqual(tuple(packed.gt_fields.heatmaps.shape), (K, h, w))
        self.assertEqual(tuple(packed.gt_fields.multi_heatmaps.shape), (K, h, w))
        labels = packed.gt_instance_labels
        self.assertEqual(tuple(labels.keypoint_weights.shape), (1, K))
        self.assertEqual(tuple(labels.multi_keypoint_weights.shape), (1, K))
        self.assertEqual(tuple(labels.keypoint_coords.shape), (1, K, 2))

    def test_combined_with_simcc(self):
        simcc = dict(
            type='SimCCLabel',
            input_size=INPUT_SIZE,
            sigma=(4.9, 5.66),
            simcc_split_ratio=2.0,
            normalize=False,
        )
        dag = dict(self.cfg, with_target_heatmaps=False)
        results = GenerateTarget(encoder=[simcc, dag])(self._sample())
        packed = PackPoseInputs()(results)['data_samples']

        w, h = HEATMAP_SIZE
        self.assertEqual(set(packed.gt_fields.keys()), {'multi_heatmaps'})
        self.assertEqual(tuple(packed.gt_fields.multi_heatmaps.shape), (K, h, w))
        labels = packed.gt_instance_labels
        self.assertEqual(
            set(labels.keys()),
            {
                'keypoint_x_labels',
                'keypoint_y_labels',
                'keypoint_weights',
                'multi_keypoint_weights',
                'keypoint_coords',
            },
        )
        self.assertEqual(tuple(labels.keypoint_x_labels.shape), (1, K, INPUT_SIZE[0] * 2))
        self.assertEqual(tuple(labels.keypoint_y_labels.shape), (1, K, INPUT_SIZE[1] * 2))
        # GenerateTarget collects `keypoint_weights` of combined encoders in a list, which
        # PackPoseInputs stacks: (1, 1, K) instead of (1, K), same values
        self.assertEqual(tuple(labels.keypoint_weights.shape), (1, 1, K))
        np.testing.assert_array_equal(labels.keypoint_weights.numpy().reshape(1, K), self.visible)
        self.assertEqual(tuple(labels.multi_keypoint_weights.shape), (1, K))
        self.assertEqual(tuple(labels.keypoint_coords.shape), (1, K, 2))

    def test_combined_with_target_heatmaps_is_rejected_by_packing(self):
        # documents why `with_target_heatmaps=False` is needed next to another codec: two
        # `keypoint_weights` get stacked to (2, 1, K) and no longer fit the other labels
        simcc = dict(type='SimCCLabel', input_size=INPUT_SIZE, sigma=(4.9, 5.66))
        results = GenerateTarget(encoder=[simcc, self.cfg])(self._sample())
        self.assertEqual(len(results['keypoint_weights']), 2)
        with self.assertRaises(AssertionError):
            PackPoseInputs()(results)

    def test_combined_needs_other_keys(self):
        # combined GenerateTarget reads auxiliary keys with results[key]: without
        # GetOtherInstances in the pipeline it fails loudly instead of guessing
        sample = self._sample()
        del sample['other_keypoints'], sample['other_keypoints_visible']
        simcc = dict(type='SimCCLabel', input_size=INPUT_SIZE, sigma=(4.9, 5.66))
        dag = dict(self.cfg, with_target_heatmaps=False)
        with self.assertRaises(KeyError):
            GenerateTarget(encoder=[simcc, dag])(sample)
        # a single encoder reads them with results.get(): no other people
        results = GenerateTarget(encoder=self.cfg)(sample)
        np.testing.assert_array_equal(results['multi_heatmaps'], results['heatmaps'])
