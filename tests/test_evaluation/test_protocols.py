# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Each dataset's evaluation protocol (docs/evaluation.md) on generated data of its format."""

import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from dag_mmpose.testing.repo import COCO_KEYS, CROWDPOSE_KEYS, DEMO_CONFIG

pytestmark = pytest.mark.slow


METAINFO = {17: 'configs/_base_/datasets/coco.py', 14: 'configs/_base_/datasets/crowdpose.py'}

PROTOCOLS = {
    # name: (dataset type, folder, ann file, bbox file, metric kwargs, joints, metric prefix)
    'coco-gt-boxes': (
        'CocoDataset',
        'synthetic_coco',
        'annotations/person_keypoints_val.json',
        None,
        {},
        17,
        'coco',
    ),
    'coco-detections': (
        'CocoDataset',
        'synthetic_coco',
        'annotations/person_keypoints_val.json',
        'person_detection_results/val_detections.json',
        {},
        17,
        'coco',
    ),
    'crowdpose': (
        'CrowdPoseDataset',
        'synthetic_crowdpose',
        'annotations/mmpose_crowdpose_test.json',
        'person_detection_results/test_detections.json',
        dict(use_area=False, iou_type='keypoints_crowd', prefix='crowdpose'),
        14,
        'crowdpose',
    ),
    'ochuman-val': (
        'OCHumanDataset',
        'synthetic_ochuman',
        'annotations/ochuman_coco_format_val_range_0.00_1.00.json',
        None,
        {},
        17,
        'coco',
    ),
    'ochuman-test': (
        'OCHumanDataset',
        'synthetic_ochuman',
        'annotations/ochuman_coco_format_test_range_0.00_1.00.json',
        None,
        {},
        17,
        'coco',
    ),
}


def _protocol_cfg(protocol: str, synthetic_root: str) -> tuple:
    """The DAG demo model, resized to the protocol's joints and skeleton, testing on its data;
    also the ground-truth file, the CocoMetric arguments and the metric prefix."""
    dataset_type, folder, ann_file, bbox_file, metric, joints, prefix = PROTOCOLS[protocol]
    data_root = osp.join(synthetic_root, 'data', folder, '')
    cfg = Config.fromfile(DEMO_CONFIG)
    # the DAG demo model, resized to the dataset's joints and skeleton
    cfg.model.head.pose_cfg.out_channels = joints
    cfg.model.head.metainfo = dict(from_file=METAINFO[joints])
    dataset = dict(
        type=dataset_type,
        data_root=data_root,
        data_mode='topdown',
        ann_file=ann_file,
        data_prefix=dict(img='images/val/' if folder == 'synthetic_coco' else 'images/'),
        test_mode=True,
        pipeline=cfg.val_pipeline,
    )
    if bbox_file is not None:
        dataset['bbox_file'] = osp.join(data_root, bbox_file)
    cfg.test_dataloader.update(
        dataset=dataset, num_workers=0, persistent_workers=False, batch_size=16
    )
    return cfg, osp.join(data_root, ann_file), metric, prefix


@pytest.mark.parametrize('protocol', sorted(PROTOCOLS))
def test_protocol_metric_keys(protocol, synthetic_root, tmp_path):
    cfg, gt_file, metric, prefix = _protocol_cfg(protocol, synthetic_root)
    cfg.test_evaluator = dict(type='CocoMetric', ann_file=gt_file, **metric)
    cfg.work_dir = str(tmp_path)

    metrics = Runner.from_cfg(cfg).test()

    expected = CROWDPOSE_KEYS if prefix == 'crowdpose' else COCO_KEYS
    assert sorted(metrics) == sorted(f'{prefix}/{key}' for key in expected)
    for value in metrics.values():
        assert 0.0 <= value <= 1.0 or value == -1.0


@pytest.mark.parametrize('protocol', ['coco-detections', 'crowdpose', 'ochuman-val'])
def test_occluded_metric_beside_coco_metric(protocol, synthetic_root, tmp_path):
    """OccludedKeypointMetric runs in the stock runner next to CocoMetric, with detections."""
    cfg, gt_file, metric, prefix = _protocol_cfg(protocol, synthetic_root)
    cfg.test_evaluator = [
        dict(type='CocoMetric', ann_file=gt_file, **metric),
        dict(
            type='OccludedKeypointMetric', ann_file=gt_file, use_area=metric.get('use_area', True)
        ),
    ]
    cfg.work_dir = str(tmp_path)

    metrics = Runner.from_cfg(cfg).test()

    expected = CROWDPOSE_KEYS if prefix == 'crowdpose' else COCO_KEYS
    assert {f'{prefix}/{key}' for key in expected} <= set(metrics)
    for key in ('occ/PCK@0.1', 'vis/PCK@0.1', 'all/OKS', 'occ/AP', 'occ/PCK@0.1-torso'):
        assert 0.0 <= metrics[key] <= 1.0, key


# OPEC-Net's 12 joints: CrowdPose 0-11, COCO 5-16 (mmpose KeypointConverter mappings)
TWELVE_JOINTS = {14: [(i, i) for i in range(12)], 17: [(i + 5, i) for i in range(12)]}


@pytest.mark.parametrize('protocol', ['crowdpose', 'ochuman-val'])
def test_opec_twelve_joint_protocol(protocol, synthetic_root, tmp_path):
    """A 14- or 17-joint model scored on OPEC-Net's 12 joints, with AP .8 / AP .9; the extra
    APs are COCOeval's own at the thresholds it reports too."""
    cfg, gt_file, metric, prefix = _protocol_cfg(protocol, synthetic_root)
    joints = PROTOCOLS[protocol][5]
    converter = dict(num_keypoints=12, mapping=TWELVE_JOINTS[joints])
    metric = dict(metric, use_area=False)
    cfg.test_evaluator = dict(
        type='OPECCocoMetric',
        ann_file=gt_file,
        gt_converter=converter,
        pred_converter=converter,
        extra_iou_thrs=(0.75, 0.8, 0.9),
        **metric,
    )
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    evaluator = runner.test_evaluator.metrics[0]
    stats = []
    run = evaluator._do_python_keypoint_eval

    def keep(outfile_prefix):
        stats.extend(run(outfile_prefix))
        return stats

    evaluator._do_python_keypoint_eval = keep
    metrics = runner.test()

    assert evaluator.dataset_meta['num_keypoints'] == 12
    assert len(evaluator.dataset_meta['sigmas']) == 12
    for key in ('AP', 'AP .8', 'AP .9'):
        assert 0.0 <= metrics[f'{prefix}/{key}'] <= 1.0 or metrics[f'{prefix}/{key}'] == -1.0
    # 'AP .75' twice: COCOeval's summary, then ours from its precision table
    values = [value for name, value in stats if name == 'AP .75']
    assert len(values) == 2 and values[0] == pytest.approx(values[1], abs=1e-12)


def test_opec_metric_rejects_thresholds_cocoeval_has_not():
    from dag_mmpose.evaluation import OPECCocoMetric

    with pytest.raises(ValueError, match='0.82 is not one of'):
        OPECCocoMetric(extra_iou_thrs=(0.82,))


def test_opec_metric_leaves_the_other_metrics_their_joints(synthetic_root, tmp_path):
    """In one evaluator with a CocoMetric on all 14 joints (as the OPEC-Net configs have
    them), the 12-joint metric converts its own copy of the metainfo."""
    cfg, gt_file, metric, prefix = _protocol_cfg('crowdpose', synthetic_root)
    converter = dict(num_keypoints=12, mapping=TWELVE_JOINTS[14])
    cfg.test_evaluator = [
        dict(type='CocoMetric', ann_file=gt_file, **metric),
        dict(
            type='OPECCocoMetric',
            ann_file=gt_file,
            gt_converter=converter,
            pred_converter=converter,
            **dict(metric, prefix='crowdpose12'),
        ),
    ]
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    all_joints, twelve = runner.test_evaluator.metrics
    assert len(all_joints.dataset_meta['sigmas']) == 14
    assert len(twelve.dataset_meta['sigmas']) == 12
    for key in ('crowdpose/AP', 'crowdpose12/AP', 'crowdpose12/AP .9'):
        assert 0.0 <= metrics[key] <= 1.0 or metrics[key] == -1.0, key
