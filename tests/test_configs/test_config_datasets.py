# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Every config's val / test data and evaluator follow its dataset's protocol (docs/evaluation.md).

The configs are discovered, not listed, as in ``test_configs_build.py``. For each config and
each of ``val`` / ``test``, the dataloader's dataset is pointed at a small generated dataset in
the same format (``CocoDataset`` -> the ``'coco'`` layout, ``CrowdPoseDataset`` ->
``'crowdpose'``, ``OCHumanDataset`` -> ``'ochuman'``; the split is read from the config's
annotation file name). Only ``data_root``, ``ann_file``, ``data_prefix`` and ``bbox_file`` are
rewritten: a config with detection boxes gets the generated detections, one with ground-truth
boxes keeps them; a refiner's ``LoadInitialPose`` reads the split's ground truth written as a
COCO keypoint results file. The dataset must load with the config's own pipeline and give
samples of the crop size.

Then the config's evaluator (only its ``ann_file`` rewritten) scores the ground truth given as
predictions, through the data samples the pipeline packs: the metric keys must be exactly the
protocol's (by dataset, not by what the evaluator config says), and with ground-truth boxes AP
and AR must be 1. With detection boxes the "predictions" are not the people, so only the keys
and the value range are checked. Configs whose datasets are none of the three are skipped.
"""

import copy
import functools
import glob
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmpose.registry import DATASETS

from dag_mmpose.benchmark import synthetic_dataset_cfg
from dag_mmpose.benchmark.synthetic import LAYOUTS
from dag_mmpose.testing.repo import COCO_KEYS, CROWDPOSE_KEYS, REPO_ROOT
from dag_mmpose.utils import loader_dataset_cfg, pipeline_steps

CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True))
SPLITS = ('val', 'test')

# dataset type -> generator layout (``conftest.synthetic_root`` holds data/synthetic_{layout})
LAYOUT_OF = {spec.dataset_type: name for name, spec in LAYOUTS.items()}
# OPECCocoMetric's keys beyond CocoMetric's
OPEC_KEYS = ('AP .8', 'AP .9')
# layout -> the metric keys of its protocol
PROTOCOL_KEYS = {
    'coco': sorted(f'coco/{key}' for key in COCO_KEYS),
    'crowdpose': sorted(f'crowdpose/{key}' for key in CROWDPOSE_KEYS),
    'ochuman': sorted(f'coco/{key}' for key in COCO_KEYS),
    'ocpose': sorted(f'ocpose/{key}' for key in COCO_KEYS + OPEC_KEYS),
}
COCO_METRICS = ('CocoMetric', 'OPECCocoMetric')


def _coco_metric_keys(metric: Dict[str, Any]) -> List[str]:
    """The keys a ``CocoMetric`` / ``OPECCocoMetric`` config reports."""
    keys = CROWDPOSE_KEYS if metric.get('iou_type') == 'keypoints_crowd' else COCO_KEYS
    if metric['type'] == 'OPECCocoMetric':
        keys = keys + OPEC_KEYS
    return [f'{metric.get("prefix", "coco")}/{key}' for key in keys]


def _config_id(path: str) -> str:
    return osp.relpath(path, CONFIG_ROOT)


@functools.cache
def _parsed(path: str) -> Config:
    return Config.fromfile(path)  # imports custom_imports (dag_mmpose)


def _load_config(path: str) -> Config:
    cfg = copy.deepcopy(_parsed(path))
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    return cfg


def _metric_cfgs(cfg: Config, split: str) -> List[Dict[str, Any]]:
    evaluator = cfg[f'{split}_evaluator']
    metrics = evaluator.get('metrics', evaluator) if isinstance(evaluator, dict) else evaluator
    return list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]


def _generated_split(layout: str, ann_file: str) -> str:
    """The generated split matching a config's annotation file name (``..._val2017.json``
    -> ``'val'``, ``mmpose_crowdpose_trainval.json`` -> ``'trainval'``); the layout's last
    split where the name says none."""
    splits = LAYOUTS[layout].splits
    name = osp.basename(ann_file)
    for split in sorted(splits, key=len, reverse=True):
        if split in name:
            return split
    return splits[-1]


@functools.cache
def _ground_truth_results(ann_file: str) -> str:
    """The annotations of a generated split as a COCO keypoint results file (what a refiner's
    ``LoadInitialPose`` reads), written once beside it."""
    with open(ann_file) as f:
        annotations = json.load(f)['annotations']
    entries = []
    for ann in annotations:
        keypoints = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        keypoints[:, 2] = keypoints[:, 2] > 0  # visibility flags as scores
        entries.append(
            dict(
                image_id=ann['image_id'],
                category_id=1,
                keypoints=keypoints.ravel().tolist(),
                score=1.0,
                bbox=ann['bbox'],
            )
        )
    path = ann_file.replace('.json', '.gt_results.keypoints.json')
    with open(path, 'w') as f:
        json.dump(entries, f)
    return path


def _input_size(dataset: Dict[str, Any]) -> Optional[Tuple[int, int]]:
    for step in dataset['pipeline']:
        if step['type'] == 'TopdownAffine':
            return tuple(step['input_size'])
    return None


def _rewrite(cfg: Config, split: str, synthetic_root: str) -> Tuple[dict, str, bool, str]:
    """Point the split's dataset at generated data of its format (in place).

    Returns:
        tuple: The dataset config, the layout, whether it uses detection boxes and the
        generated annotation file the evaluator must read.
    """
    dataset = loader_dataset_cfg(cfg, split)
    layout = LAYOUT_OF.get(dataset.get('type'))
    if layout is None:
        pytest.skip(
            f'{split} dataset {dataset.get("type")!r} has no generated format '
            f'(only {sorted(LAYOUT_OF)})'
        )
    spec = LAYOUTS[layout]
    generated = _generated_split(layout, dataset['ann_file'])
    detections = dataset.get('bbox_file') is not None
    if detections and generated not in spec.detection_splits:
        # e.g. OCHuman, whose protocol is ground-truth boxes
        pytest.fail(
            f'{split}_dataloader uses detection boxes ({dataset["bbox_file"]}) on '
            f'{layout} {generated}, whose protocol (docs/evaluation.md) has none'
        )
    root = osp.join(synthetic_root, 'data', f'synthetic_{layout}')
    dataset.update(synthetic_dataset_cfg(root, layout, generated, detections=detections))
    if not detections:
        dataset.pop('bbox_file', None)
    ann_file = spec.ann_path(root, generated)
    for step in pipeline_steps(dataset['pipeline']):
        if step['type'] == 'LoadInitialPose':
            step['pred_file'] = _ground_truth_results(ann_file)
    return dataset, layout, detections, ann_file


@pytest.mark.parametrize('split', SPLITS)
@pytest.mark.parametrize('path', CONFIGS, ids=_config_id)
def test_dataset_and_evaluator_follow_protocol(path, split, synthetic_root):
    cfg = _load_config(path)
    original = copy.deepcopy(loader_dataset_cfg(cfg, split))
    metric_cfgs = _metric_cfgs(cfg, split)

    # the evaluator reads the annotations of the split the dataloader loads
    if original.get('type') in LAYOUT_OF:
        data_ann = osp.normpath(osp.join(original.get('data_root', ''), original['ann_file']))
        for metric in metric_cfgs:
            if metric.get('ann_file') is not None:
                assert osp.normpath(metric['ann_file']) == data_ann, (
                    f'{split}_evaluator reads {metric["ann_file"]}, '
                    f'{split}_dataloader loads {data_ann}'
                )

    data_cfg, layout, detections, ann_file = _rewrite(cfg, split, synthetic_root)
    assert detections == (original.get('bbox_file') is not None)

    # the dataset loads with the config's pipeline and gives crops of the model's input size
    dataset = DATASETS.build(data_cfg)
    assert len(dataset) > 0
    samples = [dataset[i] for i in range(len(dataset))]
    input_size = _input_size(data_cfg)
    for sample in samples:
        assert {'inputs', 'data_samples'} <= set(sample)
        if input_size is not None:
            assert tuple(sample['inputs'].shape) == (3, input_size[1], input_size[0])

    # the config's evaluator on the ground truth given as predictions (image coordinates)
    for metric in metric_cfgs:
        if metric.get('ann_file') is not None:
            metric['ann_file'] = ann_file
    evaluator = Evaluator(metric_cfgs)
    evaluator.dataset_meta = dataset.metainfo
    for sample in samples:
        data_sample = sample['data_samples']
        gt = data_sample.gt_instances
        keypoints = np.asarray(gt.keypoints, dtype=np.float32)
        data_sample.pred_instances = InstanceData(
            keypoints=keypoints,
            keypoint_scores=np.ones(keypoints.shape[:2], dtype=np.float32),
            bboxes=np.asarray(gt.bboxes, dtype=np.float32),
            bbox_scores=np.asarray(gt.bbox_scores, dtype=np.float32),
        )
        evaluator.process([data_sample], [sample])
    metrics = evaluator.evaluate(len(samples))

    prefix = PROTOCOL_KEYS[layout][0].split('/')[0]
    assert sorted(k for k in metrics if k.startswith(f'{prefix}/')) == PROTOCOL_KEYS[layout]
    # further COCO-style metrics (OPEC-Net's 12-joint protocol: crowdpose12/..., with AP .8 /
    # AP .9) report their own keys; any other key comes from the occlusion metric, and only
    # where the config has one
    coco_keys = [
        key for m in metric_cfgs if m['type'] in COCO_METRICS for key in _coco_metric_keys(m)
    ]
    assert set(PROTOCOL_KEYS[layout]) <= set(coco_keys)
    assert set(coco_keys) <= set(metrics), sorted(set(coco_keys) - set(metrics))
    others = [k for k in metrics if k not in coco_keys]
    has_occ = any(m['type'] == 'OccludedKeypointMetric' for m in metric_cfgs)
    assert bool(others) == has_occ, others
    for key, value in metrics.items():
        assert 0.0 <= value <= 1.0 or value == -1.0, (key, value)
    if not detections:
        for metric in metric_cfgs:
            if metric['type'] in COCO_METRICS:
                name = metric.get('prefix', 'coco')
                assert metrics[f'{name}/AP'] == pytest.approx(1.0), name
                assert metrics[f'{name}/AR'] == pytest.approx(1.0), name
        if has_occ:
            assert metrics['all/PCK@0.05'] == metrics['occ/PCK@0.05'] == 1.0
