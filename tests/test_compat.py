# Copyright (c) dag_mmpose contributors. All rights reserved.
import io
import pickle
from unittest import TestCase
from unittest.mock import patch

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import dag_mmpose  # noqa: F401  (applies the patches)
from dag_mmpose import compat


def _save(obj) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return buffer


class _Evil:
    """Pickles as ``getattr(HistoryBuffer, '__init__')`` - a getattr outside the allow-list."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


class TestCheckpointSafeGlobals(TestCase):
    def test_runner_style_checkpoint_loads_weights_only(self):
        hub = MessageHub.get_instance('dag_test_checkpoint')
        hub.update_scalar('train/loss', 0.5)
        hub.update_scalar('train/loss', np.float64(0.25))
        checkpoint = dict(
            meta=dict(
                dataset_meta=dict(
                    sigmas=np.array([0.1, 0.2], dtype=np.float32), flip_indices=[1, 0]
                ),
                seed=np.int64(3),
                epoch=2,
                iter=10,
            ),
            state_dict=dict(weight=torch.ones(2)),
            message_hub=hub.state_dict(),
        )
        loaded = torch.load(_save(checkpoint), weights_only=True)
        np.testing.assert_array_equal(
            loaded['meta']['dataset_meta']['sigmas'], checkpoint['meta']['dataset_meta']['sigmas']
        )
        self.assertEqual(loaded['meta']['seed'], 3)
        buffer = loaded['message_hub']['log_scalars']['train/loss']
        self.assertIsInstance(buffer, HistoryBuffer)
        self.assertAlmostEqual(buffer.mean(), 0.375)

    def test_other_getattr_is_refused(self):
        with self.assertRaisesRegex(pickle.UnpicklingError, 'refuses getattr'):
            torch.load(_save(dict(x=_Evil())), weights_only=True)


class TestPatchBounds(TestCase):
    @pytest.mark.machine_pins
    def test_every_patch_applies_on_the_tested_stack(self):
        # torch 2.14 (safe-globals loader), mmengine 0.10.7, mmpose 1.3.2 under numpy 2.4
        self.assertEqual(
            compat.APPLIED, {'checkpoint_safe_globals': True, 'pose_visualizer_radius': True}
        )

    def test_version_range_is_half_open(self):
        radius = {p.name: p for p in compat.PATCHES}['pose_visualizer_radius']
        self.assertTrue(radius.applies_to('1.3.0'))
        self.assertTrue(radius.applies_to('1.3.2'))
        self.assertFalse(radius.applies_to('1.4.0'))  # the expected upstream fix
        self.assertFalse(radius.applies_to('1.2.0'))

    def test_left_off_outside_the_range_or_when_not_needed(self):
        for versions, needed in ((('0.1.0', '1.0.0'), True), (('1.0.0', '9.0.0'), False)):
            calls = []
            probe = compat.Patch(
                name='probe',
                package='mmpose',
                versions=versions,
                needed=lambda needed=needed: needed,
                apply=lambda calls=calls: calls.append('applied'),
            )
            with patch.object(compat, 'PATCHES', (probe,)):
                applied = compat.apply_patches()
            self.assertFalse(applied.pop('probe'), versions)
            self.assertEqual(calls, [], versions)

    def test_apply_twice_changes_nothing(self):
        from mmpose.visualization.opencv_backend_visualizer import OpencvBackendVisualizer

        before = OpencvBackendVisualizer.draw_circles
        compat.apply_patches()
        self.assertIs(OpencvBackendVisualizer.draw_circles, before)


class TestPoseVisualizerRadius(TestCase):
    def test_pose_local_visualizer_draws_keypoints(self):
        # the real upstream call that numpy >= 2.4 breaks: _draw_instances_kpts passes
        # radius=np.array([r]) to draw_circles
        from mmengine.structures import InstanceData
        from mmpose.structures import PoseDataSample
        from mmpose.visualization import PoseLocalVisualizer

        visualizer = PoseLocalVisualizer(name='dag_test_compat_radius', radius=3, line_width=1)
        visualizer.set_dataset_meta(
            dict(
                num_keypoints=2,
                skeleton_links=[(0, 1)],
                keypoint_colors=np.array([[255, 0, 0], [0, 255, 0]]),
                skeleton_link_colors=np.array([[0, 0, 255]]),
            )
        )
        sample = PoseDataSample()
        sample.pred_instances = InstanceData(
            keypoints=np.array([[[10.0, 10.0], [30.0, 20.0]]]),
            keypoint_scores=np.ones((1, 2)),
        )
        image = np.zeros((40, 40, 3), dtype=np.uint8)
        drawn = visualizer.add_datasample(
            'sample', image, data_sample=sample, draw_gt=False, show=False
        )
        self.assertEqual(drawn.shape, image.shape)
        # the keypoint discs are drawn in their colors (RGB in, RGB out)
        np.testing.assert_array_equal(drawn[10, 10], [255, 0, 0])
        np.testing.assert_array_equal(drawn[20, 30], [0, 255, 0])
