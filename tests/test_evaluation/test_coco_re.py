# Copyright (c) dag_mmpose contributors. All rights reserved.
"""COCO-RE (the DAG paper's relabelled COCO val2017, v=3 "labelled and occluded") through
mmpose's ``CocoDataset`` / ``CocoMetric``, the COCO-RE configs, and end to end on generated
COCO-RE-style data."""

import copy
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmpose.datasets import CocoDataset
from mmpose.evaluation import CocoMetric

import dag_mmpose  # noqa: F401
from dag_mmpose.benchmark import synthetic_dataset_cfg
from dag_mmpose.benchmark.synthetic import LAYOUTS, generate_coco_style
from dag_mmpose.testing.repo import REPO_ROOT

COCO_DIR = osp.join(REPO_ROOT, 'configs', 'body_2d_keypoint', 'dag', 'coco')
COCO_RE_CONFIGS = {
    # COCO-RE config -> its base
    'td-hm_hrnet-w32_dag-release-8xb64-210e_coco-re-256x192.py': (
        'td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py'
    ),
    'td-hm_hrnet-w48_dag-release-8xb32-210e_coco-re-384x288.py': (
        'td-hm_hrnet-w48_dag-release-8xb32-210e_coco-384x288.py'
    ),
}
COCO_RE_ANN_FILE = 'data/coco/annotations/person_keypoints_val2017_re.json'
WRIST = 9  # left_wrist, the joint whose flag the CocoMetric test varies


def _person_file(tmp_path, wrist_flag: int) -> str:
    """One image, one person of 17 joints on a 10 px grid, all v=2 but the left wrist."""
    joints = [[20.0 + 10 * (k % 4), 20.0 + 10 * (k // 4), 2] for k in range(17)]
    joints[WRIST][2] = wrist_flag
    if wrist_flag == 0:
        joints[WRIST][:2] = [0.0, 0.0]
    data = dict(
        images=[dict(id=1, file_name='1.jpg', width=100, height=100)],
        annotations=[
            dict(
                id=1, image_id=1, category_id=1, iscrowd=0, bbox=[10, 10, 50, 60], area=2000.0,
                keypoints=sum(joints, []), num_keypoints=sum(v > 0 for _, _, v in joints),
            )
        ],
        categories=[dict(id=1, name='person')],
    )  # fmt: skip
    path = tmp_path / f'wrist_v{wrist_flag}.json'
    path.write_text(json.dumps(data))
    return str(path)


def _coco_dataset(ann_file: str) -> CocoDataset:
    return CocoDataset(
        ann_file=ann_file, data_mode='topdown', data_prefix=dict(img=''), pipeline=[],
        test_mode=True,
    )  # fmt: skip


def _coco_ap(ann_file: str, from_file: bool) -> float:
    """CocoMetric's AP of a prediction right everywhere but 200 px off at the left wrist,
    with the ground truth read from ``ann_file`` or (``from_file=False``) converted from the
    dataset's samples (``raw_ann_info``, CocoMetric without ``ann_file``)."""
    dataset = _coco_dataset(ann_file)
    info = dataset.get_data_info(0)
    keypoints = info['keypoints'].copy()
    keypoints[0, WRIST] += 200
    metric = CocoMetric(ann_file=ann_file if from_file else None)
    metric.dataset_meta = dataset.metainfo
    sample = dict(
        id=info['id'],
        img_id=info['img_id'],
        ori_shape=(100, 100),
        raw_ann_info=info['raw_ann_info'],
        pred_instances=dict(keypoints=keypoints, keypoint_scores=np.ones((1, 17))),
        gt_instances=dict(bbox_scores=np.ones(1), bbox_scales=np.array([[62.5, 75.0]])),
    )
    metric.process([], [sample])
    return metric.evaluate(1)['coco/AP']


def test_coco_dataset_reads_v3_as_labelled(tmp_path):
    """mmpose 1.3.2 BaseCocoStyleDataset.parse_data_info: keypoints_visible = min(1, v)."""
    visible = {}
    for flag in (0, 2, 3):
        info = _coco_dataset(_person_file(tmp_path, flag)).get_data_info(0)
        visible[flag] = info['keypoints_visible'][0, WRIST]
        assert info['num_keypoints'] == (16 if flag == 0 else 17)
        assert info['raw_ann_info']['keypoints'][3 * WRIST + 2] == flag  # kept for CocoMetric
    assert visible == {0: 0.0, 2: 1.0, 3: 1.0}


@pytest.mark.parametrize('from_file', [True, False], ids=['ann_file', 'converted'])
def test_coco_metric_scores_v3_joints_as_labelled(tmp_path, from_file):
    """xtcocotools' OKS sums over the joints with v > 0: the wrist's miss costs the same AP
    at v=3 as at v=2 (OKS 16 / 17 = 0.94, a match at nine of ten thresholds), and nothing
    when it is unlabelled (v=0)."""
    ap = {flag: _coco_ap(_person_file(tmp_path, flag), from_file) for flag in (0, 2, 3)}
    assert ap[0] == pytest.approx(1.0)
    assert ap[2] == pytest.approx(0.9)
    assert ap[3] == ap[2]


@pytest.mark.parametrize('name', sorted(COCO_RE_CONFIGS))
def test_coco_re_configs_change_only_the_evaluation(name):
    cfg = Config.fromfile(osp.join(COCO_DIR, name))
    base = Config.fromfile(osp.join(COCO_DIR, COCO_RE_CONFIGS[name]))
    for split in ('val', 'test'):
        dataset = cfg[f'{split}_dataloader']['dataset']
        base_dataset = base[f'{split}_dataloader']['dataset']
        assert osp.join(dataset['data_root'], dataset['ann_file']) == COCO_RE_ANN_FILE
        assert dataset['bbox_file'] == base_dataset['bbox_file'] is not None
        assert {k: v for k, v in dataset.items() if k != 'ann_file'} == {
            k: v for k, v in base_dataset.items() if k != 'ann_file'
        }
        metrics = {m['type']: m for m in cfg[f'{split}_evaluator']}
        assert set(metrics) == {'CocoMetric', 'OccludedKeypointMetric'}
        assert all(m['ann_file'] == COCO_RE_ANN_FILE for m in metrics.values())
        assert metrics['OccludedKeypointMetric']['visibility_convention'] == 'coco-re'
    for key in ('model', 'train_dataloader', 'optim_wrapper', 'param_scheduler', 'codec'):
        assert cfg[key] == base[key], key


@pytest.fixture(scope='module')
def coco_re_val(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthetic_coco_re'))
    generate_coco_style(
        root, num_images=4, split='val', seed=0, img_size=(96, 128), people=(2, 3),
        visibility_convention='coco-re',
    )  # fmt: skip
    return root


def _evaluate(root: str, convention: str, move_occluded: float = 0.0) -> dict:
    """The W32 COCO-RE config's evaluator on generated COCO-RE data, the ground truth given
    as predictions with the occluded joints moved by ``move_occluded`` px."""
    init_default_scope('mmpose')
    cfg = Config.fromfile(osp.join(COCO_DIR, sorted(COCO_RE_CONFIGS)[0]))
    ann_file = LAYOUTS['coco'].ann_path(root, 'val')
    metric_cfgs = copy.deepcopy(list(cfg.test_evaluator))
    for metric in metric_cfgs:
        metric['ann_file'] = ann_file
        if metric['type'] == 'OccludedKeypointMetric':
            metric['visibility_convention'] = convention
    evaluator = Evaluator(metric_cfgs)
    dataset = CocoDataset(**{
        k: v for k, v in synthetic_dataset_cfg(root, 'coco', 'val', pipeline=[]).items()
        if k != 'type'
    })  # fmt: skip
    evaluator.dataset_meta = dataset.metainfo
    samples = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        keypoints = info['keypoints'].copy()
        flags = np.asarray(info['raw_ann_info']['keypoints']).reshape(-1, 3)[:, 2]
        keypoints[0, flags == 3] += move_occluded
        x0, y0, x1, y1 = info['bbox'][0]
        samples.append(
            dict(
                id=info['id'],
                img_id=info['img_id'],
                pred_instances=dict(keypoints=keypoints, keypoint_scores=np.ones((1, 17))),
                gt_instances=dict(
                    bbox_scores=np.ones(1), bbox_scales=np.array([[x1 - x0, y1 - y0]]) * 1.25
                ),
            )
        )
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def test_generated_coco_re_set_end_to_end(coco_re_val):
    """The generated COCO-RE-style set holds v=3 (and no v=1) joints; the COCO-RE evaluator
    scores them as labelled (CocoMetric) and occluded (OccludedKeypointMetric)."""
    ann_file = LAYOUTS['coco'].ann_path(coco_re_val, 'val')
    with open(ann_file) as f:
        flags = np.concatenate(
            [np.reshape(a['keypoints'], (-1, 3))[:, 2] for a in json.load(f)['annotations']]
        )
    assert (flags == 3).any() and not (flags == 1).any()
    perfect = _evaluate(coco_re_val, 'coco-re')
    assert perfect['coco/AP'] == pytest.approx(1.0)
    assert perfect['occ/PCK@0.05'] == perfect['vis/PCK@0.05'] == 1.0
    assert perfect['occ/AP'] == pytest.approx(1.0)
    moved = _evaluate(coco_re_val, 'coco-re', move_occluded=1000.0)
    assert moved['occ/PCK@0.1'] == 0.0 and moved['occ/OKS'] == 0.0 and moved['occ/AP'] == 0.0
    assert moved['vis/err'] == pytest.approx(
        0.0, abs=1e-6
    )  # people still matched keep their visible joints
    assert moved['coco/AP'] < 1.0  # the v=3 joints count in CocoMetric's OKS too
    with pytest.raises(ValueError, match="labelled v=3 .* visibility_convention='coco-re'"):
        _evaluate(coco_re_val, 'coco')
