# Copyright (c) dag_mmpose contributors. All rights reserved.
"""A DAG model runs through mmpose's inference APIs and its result draws with mmpose's
visualizer (the snippets of docs/inference.md)."""

import json
import os.path as osp
from typing import Dict

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.apis import MMPoseInferencer, inference_topdown, init_model
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import MODELS
from mmpose.structures import merge_data_samples
from mmpose.visualization import PoseLocalVisualizer

import dag_mmpose  # noqa: F401  (registers the DAG modules)
from dag_mmpose.benchmark.synthetic import generate_coco_style
from dag_mmpose.engine import draw_refinement, initial_keypoints_in_image
from dag_mmpose.testing.repo import REPO_ROOT

DEMO_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'demo', 'td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py'
)


@pytest.fixture(scope='module')
def demo(tmp_path_factory) -> Dict:
    """A checkpoint of the (untrained) demo DAG model and one image with its GT boxes."""
    root = tmp_path_factory.mktemp('inference')
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(DEMO_CONFIG).model)
    model.init_weights()
    checkpoint = str(root / 'dag_demo.pth')
    dataset_meta = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))
    torch.save(
        {'state_dict': model.state_dict(), 'meta': {'dataset_meta': dataset_meta}}, checkpoint
    )

    ann_file = generate_coco_style(str(root), num_images=1, split='val', people=(2, 3), seed=0)
    with open(ann_file, encoding='utf-8') as f:
        data = json.load(f)
    img_path = osp.join(str(root), 'images', 'val', data['images'][0]['file_name'])
    bboxes = np.array([ann['bbox'] for ann in data['annotations']], dtype=np.float32)
    bboxes[:, 2:] += bboxes[:, :2]  # xywh -> xyxy
    assert len(bboxes) >= 2
    return dict(checkpoint=checkpoint, img_path=img_path, bboxes=bboxes)


@pytest.fixture(scope='module')
def model(demo):
    return init_model(DEMO_CONFIG, demo['checkpoint'], device='cpu')


def _assert_near_boxes(keypoints: np.ndarray, bboxes: np.ndarray) -> None:
    """Each person's joints lie in its crop: the box padded 1.25x and widened or heightened
    to the input's 96:128 aspect ratio, as mmpose's ``GetBBoxCenterScale`` and
    ``TopdownAffine`` do (the model is untrained, so the joints can be anywhere in it)."""
    assert np.isfinite(keypoints).all()
    centers = (bboxes[:, :2] + bboxes[:, 2:]) / 2
    size = (bboxes[:, 2:] - bboxes[:, :2]) * 1.25
    size = np.maximum(size, np.stack([size[:, 1] * 0.75, size[:, 0] / 0.75], 1))
    half = size / 2 + 1.0
    inside = np.abs(keypoints - centers[:, None]) <= half[:, None]
    assert inside.all(), f'joints outside their boxes:\n{keypoints}\n{bboxes}'


def test_inference_topdown_with_boxes(model, demo):
    assert model.dataset_meta['num_keypoints'] == 17
    assert model.dataset_meta['dataset_name'] == 'coco'
    results = inference_topdown(model, demo['img_path'], demo['bboxes'])
    num_people = len(demo['bboxes'])
    assert len(results) == num_people
    keypoints = np.concatenate([r.pred_instances.keypoints for r in results])
    scores = np.concatenate([r.pred_instances.keypoint_scores for r in results])
    assert keypoints.shape == (num_people, 17, 2)
    assert scores.shape == (num_people, 17)
    assert np.isfinite(scores).all()
    _assert_near_boxes(keypoints, demo['bboxes'])
    np.testing.assert_allclose(
        np.concatenate([r.pred_instances.bboxes for r in results]), demo['bboxes']
    )


def test_inference_topdown_returns_image_coordinates(model, demo):
    """Shifting the image (black padding) and the boxes shifts the keypoints by as much:
    the crops are identical, so only the crop-to-image mapping differs."""
    img = mmcv.imread(demo['img_path'])
    shift = np.array([24, 40], dtype=np.float32)
    padded = np.zeros((img.shape[0] + 40, img.shape[1] + 24, 3), dtype=img.dtype)
    padded[40:, 24:] = img
    base = inference_topdown(model, img, demo['bboxes'])
    moved = inference_topdown(model, padded, demo['bboxes'] + np.tile(shift, 2))
    for one, other in zip(base, moved):
        np.testing.assert_allclose(
            other.pred_instances.keypoints, one.pred_instances.keypoints + shift, atol=1e-3
        )


def test_inference_xywh_boxes(model, demo):
    bboxes = demo['bboxes'].copy()
    bboxes[:, 2:] -= bboxes[:, :2]
    xyxy = inference_topdown(model, demo['img_path'], demo['bboxes'])
    xywh = inference_topdown(model, demo['img_path'], bboxes, bbox_format='xywh')
    for one, other in zip(xyxy, xywh):
        np.testing.assert_allclose(one.pred_instances.keypoints, other.pred_instances.keypoints)


def test_pose_local_visualizer_draws(model, demo):
    results = inference_topdown(model, demo['img_path'], demo['bboxes'])
    visualizer = PoseLocalVisualizer(name='dag_test_inference', radius=3, line_width=1)
    visualizer.set_dataset_meta(model.dataset_meta)
    image = mmcv.imread(demo['img_path'], channel_order='rgb')
    visualizer.add_datasample(
        'result',
        image,
        data_sample=merge_data_samples(results),
        draw_gt=False,
        draw_bbox=True,
        kpt_thr=-1.0,
    )  # untrained model: draw every joint
    drawn = visualizer.get_image()
    assert drawn.shape == image.shape
    changed = np.any(drawn != image, axis=-1)
    assert changed.mean() > 0.005
    # joints are drawn inside the boxes
    x1, y1, x2, y2 = demo['bboxes'][0].astype(int)
    assert changed[y1:y2, x1:x2].any()


def test_inference_refinement_drawn(demo):
    """``output_initial`` through init_model's cfg_options, drawn with draw_refinement."""
    model = init_model(
        DEMO_CONFIG,
        demo['checkpoint'],
        device='cpu',
        cfg_options=dict(model=dict(test_cfg=dict(output_initial=True))),
    )
    results = inference_topdown(model, demo['img_path'], demo['bboxes'])
    initial = np.concatenate([initial_keypoints_in_image(r) for r in results])
    refined = np.concatenate([r.pred_instances.keypoints for r in results])
    assert initial.shape == refined.shape == (len(demo['bboxes']), 17, 2)
    _assert_near_boxes(initial, demo['bboxes'])
    # an untrained GCN barely moves the joints (its offsets start near zero)
    assert np.abs(refined - initial).max() < 10
    image = mmcv.imread(demo['img_path'])
    drawn = draw_refinement(
        image, initial, refined, model.dataset_meta['skeleton_links'], legend=False
    )
    assert (drawn != image).any()


def test_mmpose_inferencer_whole_image(demo):
    """MMPoseInferencer without a detector: ``det_model='whole_image'`` (``None`` would
    download mmpose's default RTMDet person detector)."""
    inferencer = MMPoseInferencer(
        pose2d=DEMO_CONFIG, pose2d_weights=demo['checkpoint'], device='cpu', det_model='whole_image'
    )
    result = next(inferencer(demo['img_path'], return_vis=True, kpt_thr=-1.0))
    instances = result['predictions'][0]
    assert len(instances) == 1
    height, width = mmcv.imread(demo['img_path']).shape[:2]
    bbox = np.array(instances[0]['bbox'], dtype=np.float32).reshape(1, 4)
    np.testing.assert_allclose(bbox, [[0, 0, width, height]])
    keypoints = np.array(instances[0]['keypoints'], dtype=np.float32)[None]
    assert keypoints.shape == (1, 17, 2)
    assert len(instances[0]['keypoint_scores']) == 17
    _assert_near_boxes(keypoints, bbox)
    vis = result['visualization'][0]
    image = mmcv.imread(demo['img_path'], channel_order='rgb')
    assert vis.shape == image.shape and (vis != image).any()


def test_mmpose_inferencer_ignores_bboxes(demo):
    """Pins mmpose 1.3's behavior that docs/inference.md describes: Pose2DInferencer
    drops ``bboxes=`` (its ``preprocess_single`` resets them), so given boxes need
    ``inference_topdown``. If this fails, mmpose honours the boxes now: update the docs."""
    inferencer = MMPoseInferencer(
        pose2d=DEMO_CONFIG, pose2d_weights=demo['checkpoint'], device='cpu', det_model='whole_image'
    )
    result = next(inferencer(demo['img_path'], bboxes=[demo['bboxes']], return_datasamples=True))
    pred = result['predictions'][0].pred_instances
    height, width = mmcv.imread(demo['img_path']).shape[:2]
    assert len(pred) == 1
    np.testing.assert_allclose(pred.bboxes, [[0, 0, width, height]])
