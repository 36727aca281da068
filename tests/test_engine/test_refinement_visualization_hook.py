# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The initial pose of FGMHGCNHead, RefinementVisualizationHook and
``tools/test.py --show-refinement``."""

import argparse
import glob
import importlib.util
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace
from unittest import TestCase

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import HOOKS, MODELS
from mmpose.structures import PoseDataSample

import dag_mmpose  # noqa: F401  (registers the DAG modules)
from dag_mmpose.benchmark.synthetic import generate_all
from dag_mmpose.engine import (
    RefinementVisualizationHook,
    draw_refinement,
    initial_keypoints_in_image,
)
from dag_mmpose.engine.hooks.refinement_visualization_hook import INITIAL_COLOR, REFINED_COLOR
from dag_mmpose.models.heads import FGMHGCNHead
from dag_mmpose.testing import mirror_exact_simcc_cfg, randomize_output_layer
from dag_mmpose.testing.repo import REPO_ROOT

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'demo')
DAG_CONFIG = osp.join(CONFIG_DIR, 'td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py')
BASELINE_CONFIG = osp.join(CONFIG_DIR, 'td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py')
COCO = dict(from_file='configs/_base_/datasets/coco.py')
COCO_META = parse_pose_metainfo(COCO)
INPUT_SIZE = (48, 64)  # (w, h)
HEATMAP_SIZE = (12, 16)  # (W, H)


def _head(mirror_exact: bool = False) -> FGMHGCNHead:
    if mirror_exact:
        pose_cfg = mirror_exact_simcc_cfg(8, HEATMAP_SIZE)
    else:
        pose_cfg = dict(
            type='HeatmapHead',
            in_channels=8,
            out_channels=17,
            deconv_out_channels=None,
            decoder=dict(
                type='MSRAHeatmap', input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2.0
            ),
        )
    torch.manual_seed(0)
    head = FGMHGCNHead(
        pose_cfg=pose_cfg, metainfo=COCO, gcn_cfg=dict(hidden_channels=16, num_blocks=1)
    )
    head.init_weights()
    return head.eval()


def _feats(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return tuple(
        torch.rand(2, 8, HEATMAP_SIZE[1], HEATMAP_SIZE[0], generator=generator) for _ in range(2)
    )


def _samples():
    return [
        PoseDataSample(metainfo=dict(flip_indices=COCO_META['flip_indices'], input_size=INPUT_SIZE))
        for _ in range(2)
    ]


def _load_test_tool():
    spec = importlib.util.spec_from_file_location(
        '_dag_tools_test', osp.join(REPO_ROOT, 'tools', 'test.py')
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestInitialKeypoints(TestCase):
    def test_only_when_asked(self):
        head = _head()
        for test_cfg in ({}, dict(output_initial=False), dict(flip_test=True)):
            feats = [_feats(), _feats(1)] if test_cfg.get('flip_test') else _feats()
            with torch.no_grad():
                preds = head.predict(feats, _samples(), test_cfg)
            self.assertNotIn('initial_keypoints', preds[0], test_cfg)

    def test_initial_is_the_pose_the_gcn_refined(self):
        head = randomize_output_layer(_head())
        feats = _feats()
        with torch.no_grad():
            plain = head.predict(feats, _samples(), {})
            preds = head.predict(feats, _samples(), dict(output_initial=True))
            result = head._refine(feats)
        initial = result.keypoints.numpy()
        refined = result.refined_pixels(head.input_size).numpy()
        for index, (pred, before) in enumerate(zip(preds, plain)):
            self.assertEqual(pred.initial_keypoints.shape, (1, 17, 2))
            self.assertIsInstance(pred.initial_keypoints, np.ndarray)
            np.testing.assert_allclose(pred.initial_keypoints[0], initial[index], atol=1e-5)
            np.testing.assert_allclose(pred.keypoints[0], refined[index], atol=1e-5)
            # asking for the initial pose changes nothing else
            np.testing.assert_array_equal(pred.keypoints, before.keypoints)
            np.testing.assert_array_equal(pred.keypoint_scores, before.keypoint_scores)

    def test_flip_averaged_like_keypoints(self):
        """Swapping the original and the flipped features mirrors both poses (a head whose
        pose mirrors exactly: SimCC with one bin and one feature cell per crop pixel)."""
        head = randomize_output_layer(_head(mirror_exact=True))
        flip_indices = COCO_META['flip_indices']
        test_cfg = dict(flip_test=True, output_initial=True)
        with torch.no_grad():
            pred = head.predict([_feats(1), _feats(2)], _samples(), test_cfg)
            mirror = head.predict([_feats(2), _feats(1)], _samples(), test_cfg)
        for one, other in zip(pred, mirror):
            for key in ('initial_keypoints', 'keypoints'):
                mirrored = other.get(key)[:, flip_indices].copy()
                mirrored[..., 0] = HEATMAP_SIZE[0] - 1 - mirrored[..., 0]
                np.testing.assert_allclose(one.get(key), mirrored, atol=1e-4, err_msg=key)

    def test_not_with_refine_false(self):
        with torch.no_grad():
            preds = _head().predict(_feats(), _samples(), dict(refine=False, output_initial=True))
        self.assertNotIn('initial_keypoints', preds[0])

    def test_image_mapping_matches_mmpose(self):
        """mmpose's add_pred_to_datasample keeps the extra field (in crop pixels);
        initial_keypoints_in_image maps it exactly as mmpose maps ``keypoints``."""
        crop = np.random.RandomState(0).uniform(0, 48, (1, 17, 2)).astype(np.float32)
        sample = PoseDataSample(
            metainfo=dict(
                input_size=(48, 64),
                input_center=np.array([120.5, 80.0], dtype=np.float32),
                input_scale=np.array([90.0, 120.0], dtype=np.float32),
            )
        )
        sample.gt_instances = InstanceData(
            bboxes=np.zeros((1, 4), dtype=np.float32), bbox_scores=np.ones(1, dtype=np.float32)
        )
        pred = InstanceData(
            keypoints=crop.copy(), keypoint_scores=np.ones((1, 17)), initial_keypoints=crop.copy()
        )
        estimator = SimpleNamespace(test_cfg={})
        TopdownPoseEstimator.add_pred_to_datasample(estimator, [pred], None, [sample])
        np.testing.assert_array_equal(sample.pred_instances.initial_keypoints, crop)
        np.testing.assert_allclose(
            initial_keypoints_in_image(sample), sample.pred_instances.keypoints, rtol=1e-6
        )

    def test_missing_initial_is_explained(self):
        sample = PoseDataSample(metainfo=dict(input_size=(48, 64)))
        sample.pred_instances = InstanceData(keypoints=np.zeros((1, 17, 2)))
        with self.assertRaisesRegex(KeyError, 'output_initial'):
            initial_keypoints_in_image(sample)


def _runner(work_dir: str):
    model = SimpleNamespace(test_cfg={}, dataset_meta=COCO_META)
    return SimpleNamespace(
        work_dir=work_dir,
        timestamp='20240101_000000',
        model=model,
        test_evaluator=SimpleNamespace(dataset_meta=COCO_META),
    )


def _drawn_sample(img_path: str, ann_id=None) -> PoseDataSample:
    """One person: initial pose on a grid, refined = initial + (6, 4) px (crop = image)."""
    xs, ys = np.meshgrid(np.linspace(30, 150, 6), np.linspace(40, 200, 3))
    initial = np.stack([xs.ravel(), ys.ravel()], -1)[:17].astype(np.float32)[None]
    meta = dict(
        img_path=img_path,
        input_size=(192, 256),
        input_center=np.array([96.0, 128.0]),
        input_scale=np.array([192.0, 256.0]),
    )
    if ann_id is not None:
        meta['id'] = ann_id
    sample = PoseDataSample(metainfo=meta)
    sample.pred_instances = InstanceData(
        keypoints=initial + np.array([6.0, 4.0], dtype=np.float32),
        keypoint_scores=np.ones((1, 17), dtype=np.float32),
        initial_keypoints=initial.copy(),
        bboxes=np.array([[10, 10, 180, 240]], dtype=np.float32),
    )
    return sample


class TestRefinementVisualizationHook:
    @pytest.fixture
    def image_file(self, tmp_path) -> str:
        path = str(tmp_path / 'person.png')
        cv2.imwrite(path, np.full((256, 192, 3), 90, dtype=np.uint8))
        return path

    def test_registered(self):
        hook = HOOKS.build(dict(type='RefinementVisualizationHook', interval=2))
        assert isinstance(hook, RefinementVisualizationHook)
        with pytest.raises(ValueError, match='interval'):
            RefinementVisualizationHook(interval=0)

    def test_draws_both_poses(self, tmp_path, image_file):
        hook = RefinementVisualizationHook(out_dir=str(tmp_path / 'vis'), radius=3)
        runner = _runner(str(tmp_path / 'work'))
        sample = _drawn_sample(image_file, ann_id=7)
        hook.before_test(runner)
        hook.after_test_iter(runner, 0, {}, [sample])
        files = glob.glob(str(tmp_path / 'vis' / '*'))
        assert [osp.basename(f) for f in files] == ['person_7.png']
        drawn = cv2.imread(files[0])
        original = cv2.imread(image_file)
        assert drawn.shape[0] > original.shape[0]  # the legend strip
        body = drawn[: original.shape[0]]
        assert 0.01 < np.any(body != original, axis=-1).mean() < 0.5
        initial = sample.pred_instances.initial_keypoints[0]
        refined = sample.pred_instances.keypoints[0]
        refined_bgr = np.array(REFINED_COLOR[::-1])
        initial_bgr = np.array(INITIAL_COLOR[::-1])
        for k in range(17):
            x, y = np.round(refined[k]).astype(int)
            np.testing.assert_array_equal(body[y, x], refined_bgr)  # refined: disc
            x, y = np.round(initial[k]).astype(int)
            ring = body[y - 3 : y + 4, x - 4 : x - 2].reshape(-1, 3)  # initial: ring, left side
            assert (np.abs(ring.astype(int) - initial_bgr).sum(-1) < 60).any(), k
        assert np.any(drawn[original.shape[0] :] != 32)  # legend text

    def test_low_scores_and_interval(self, tmp_path, image_file):
        hook = RefinementVisualizationHook(
            out_dir=str(tmp_path / 'vis'), interval=2, image_format='jpg'
        )
        runner = _runner(str(tmp_path / 'work'))
        samples = [_drawn_sample(image_file) for _ in range(4)]
        samples[2].pred_instances.keypoint_scores[:] = 0.1  # below kpt_thr=0.3
        hook.after_test_iter(runner, 0, {}, samples)
        files = sorted(glob.glob(str(tmp_path / 'vis' / '*')))
        assert [osp.basename(f) for f in files] == ['person_0.jpg', 'person_1.jpg']
        low = cv2.imread(files[1])[:256].astype(int)
        # only the box is drawn for the low-score person
        assert (np.abs(low - 90).max(-1) > 40).mean() < 0.02

    def test_relative_out_dir_under_work_dir(self, tmp_path, image_file):
        hook = RefinementVisualizationHook()
        runner = _runner(str(tmp_path / 'work'))
        hook.before_test(runner)
        hook.after_test_iter(runner, 0, {}, [_drawn_sample(image_file)])
        assert glob.glob(str(tmp_path / 'work' / '20240101_000000' / 'vis_refinement' / '*.png'))

    def test_file_names_stay_in_out_dir_and_never_overwrite(self, tmp_path, image_file):
        """An annotation id is data: '../../x' used to write outside the output folder, and
        two samples of one image and id wrote one file."""
        hook = RefinementVisualizationHook(out_dir=str(tmp_path / 'vis' / 'deep'))
        runner = _runner(str(tmp_path / 'work'))
        samples = [
            _drawn_sample(image_file, ann_id='../../escaped'),
            _drawn_sample(image_file, ann_id='a/b c'),
            _drawn_sample(image_file, ann_id=7),
            _drawn_sample(image_file, ann_id=7),
        ]
        hook.after_test_iter(runner, 0, {}, samples)
        written = sorted(
            osp.relpath(f, tmp_path)
            for f in glob.glob(str(tmp_path / '**' / '*.png'), recursive=True)
        )
        assert written == sorted(
            [
                'person.png',  # the input image
                osp.join('vis', 'deep', 'person_.._.._escaped.png'),
                osp.join('vis', 'deep', 'person_a_b_c.png'),
                osp.join('vis', 'deep', 'person_7.png'),
                osp.join('vis', 'deep', 'person_7_1.png'),
            ]
        )

    def test_missing_initial_raises(self, tmp_path, image_file):
        sample = _drawn_sample(image_file)
        del sample.pred_instances.initial_keypoints
        hook = RefinementVisualizationHook(out_dir=str(tmp_path / 'vis'))
        with pytest.raises(KeyError, match='FGMHGCNHead'):
            hook.after_test_iter(_runner(str(tmp_path)), 0, {}, [sample])

    def test_draw_refinement_without_legend_keeps_size(self):
        image = np.zeros((64, 48, 3), dtype=np.uint8)
        pose = np.full((1, 17, 2), 20.0)
        drawn = draw_refinement(image, pose, pose + 3, COCO_META['skeleton_links'], legend=False)
        assert drawn.shape == image.shape and drawn.any() and not image.any()


class TestShowRefinementOption:
    def _args(self, config: str, **kwargs) -> argparse.Namespace:
        args = dict(
            config=config,
            checkpoint='x.pth',
            work_dir=None,
            out=None,
            dump=None,
            cfg_options=None,
            show_dir=None,
            show=False,
            interval=1,
            wait_time=1,
            launcher='none',
            local_rank=0,
            show_refinement=True,
        )
        args.update(kwargs)
        return argparse.Namespace(**args)

    def test_sets_output_initial_and_hook(self):
        tool = _load_test_tool()
        cfg = tool.merge_args(
            Config.fromfile(DAG_CONFIG), self._args(DAG_CONFIG, show_dir='out', interval=3)
        )
        assert cfg.model.test_cfg.output_initial is True
        assert cfg.model.test_cfg.flip_test is True
        hook = cfg.custom_hooks[-1]
        assert hook.type == 'RefinementVisualizationHook'
        assert (hook.out_dir, hook.interval) == ('out', 3)
        # the refinement drawings take --show-dir's place
        assert cfg.default_hooks.visualization.get('out_dir') is None
        assert not cfg.default_hooks.visualization.get('enable', False)

    def test_needs_the_dag_head(self):
        tool = _load_test_tool()
        with pytest.raises(ValueError, match='FGMHGCNHead'):
            tool.merge_args(Config.fromfile(BASELINE_CONFIG), self._args(BASELINE_CONFIG))
        args = self._args(DAG_CONFIG, cfg_options={'model.test_cfg.refine': False})
        with pytest.raises(ValueError, match='refine'):
            tool.merge_args(Config.fromfile(DAG_CONFIG), args)


@pytest.mark.slow
def test_tools_test_show_refinement(tmp_path, tool_env):
    """End to end on a tiny generated dataset with an untrained demo DAG checkpoint."""
    root = tmp_path / 'root'
    generate_all(str(root / 'data' / 'synthetic_coco'), 'coco', num_images=[4, 2, 2])
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(DAG_CONFIG).model)
    model.init_weights()
    checkpoint = str(tmp_path / 'dag_demo.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': COCO_META}}, checkpoint)
    show_dir = tmp_path / 'vis'
    cmd = [
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'test.py'),
        DAG_CONFIG,
        checkpoint,
        '--show-refinement',
        '--show-dir',
        str(show_dir),
        '--work-dir',
        str(tmp_path / 'work'),
        '--cfg-options',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'default_hooks.visualization.kpt_thr=0',
    ]
    result = subprocess.run(
        cmd, cwd=str(root), env=tool_env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    files = sorted(os.listdir(show_dir))
    assert len(files) >= 2 and all(f.endswith('.jpg') for f in files)
    image = cv2.imread(str(show_dir / files[0]))
    source = cv2.imread(
        str(
            root
            / 'data'
            / 'synthetic_coco'
            / 'images'
            / 'test'
            / (files[0].rsplit('_', 1)[0] + '.jpg')
        )
    )
    assert image.shape[1] == source.shape[1] and image.shape[0] > source.shape[0]
    assert np.abs(image[: source.shape[0]].astype(int) - source).max() > 100
