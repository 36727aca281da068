# Copyright (c) dag_mmpose contributors. All rights reserved.
"""dag_mmpose.benchmark.stats: paired intervals, the minimum detectable effect, and the
per-image records whose recomputation equals OccludedKeypointMetric's own figures."""

import numpy as np
import pytest
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from scipy import stats as scipy_stats

from dag_mmpose.benchmark.stats import (
    bootstrap_paired,
    image_figures,
    load_per_image,
    min_detectable_effect,
    paired_interval,
)
from dag_mmpose.evaluation import OccludedKeypointMetric


def test_paired_interval_is_the_t_interval():
    d = [0.010, -0.004, 0.007, 0.002]
    got = paired_interval(d)
    low, high = scipy_stats.t.interval(0.95, len(d) - 1, loc=np.mean(d), scale=scipy_stats.sem(d))
    assert got['mean'] == pytest.approx(np.mean(d))
    assert (got['low'], got['high']) == pytest.approx((low, high))
    assert got['n'] == 4 and got['sd'] == pytest.approx(np.std(d, ddof=1))
    one = paired_interval([0.3])
    assert one['mean'] == 0.3 and np.isnan(one['low']) and np.isnan(one['high'])
    with pytest.raises(ValueError, match='1-d list'):
        paired_interval([])


def test_min_detectable_effect_matches_the_power_of_a_paired_t_test():
    sd, n = 0.01, 5
    mde = min_detectable_effect(sd, n)
    # the power of the two-sided paired t-test at that effect (noncentral t) is ~0.8
    dof, nc = n - 1, mde / (sd / np.sqrt(n))
    crit = scipy_stats.t.ppf(0.975, dof)
    power = scipy_stats.nct.sf(crit, dof, nc) + scipy_stats.nct.cdf(-crit, dof, nc)
    assert 0.75 < power < 0.85
    assert min_detectable_effect(sd, 4 * n) < mde / 2  # more than sqrt(4): t quantiles fall
    assert np.isnan(min_detectable_effect(sd, 1))


def _metric(ann_file, per_image_file):
    metric = OccludedKeypointMetric(ann_file=ann_file, per_image_file=per_image_file)
    metric.dataset_meta = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))
    return metric


def _predictions(ann_file, noise, seed):
    """Ground-truth people with jittered joints: one prediction per person."""
    import json

    with open(ann_file) as f:
        data = json.load(f)
    rng = np.random.default_rng(seed)
    by_image = {}
    for ann in data['annotations']:
        joints = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)[:, :2]
        scale = max(ann['bbox'][2:]) * noise
        pred = joints + rng.normal(0, scale, joints.shape)
        by_image.setdefault(ann['image_id'], []).append(pred)
    samples = []
    for img_id, preds in by_image.items():
        samples.append(
            dict(
                img_id=img_id,
                pred_instances=dict(
                    keypoints=np.stack(preds),
                    keypoint_scores=rng.uniform(0.05, 1, (len(preds), 17)),
                    bbox_scores=np.ones(len(preds)),
                ),
            )
        )
    return samples


def _evaluate(ann_file, out, noise, seed):
    metric = _metric(ann_file, str(out))
    metric.process([], _predictions(ann_file, noise, seed))
    return metric.compute_metrics(metric.results), load_per_image(str(out))


@pytest.fixture(scope='module')
def ann_file(tmp_path_factory):
    from dag_mmpose.benchmark.synthetic import generate_demo_data

    root = str(tmp_path_factory.mktemp('data'))
    list(generate_demo_data(root, (4, 4, 24), variety='upright'))
    return f'{root}/annotations/person_keypoints_test.json'


def test_per_image_records_recompute_the_metric_figures(ann_file, tmp_path):
    metrics, records = _evaluate(ann_file, tmp_path / 'a.npz', 0.05, 0)
    assert 0 < metrics['occ/AP'] < 1
    figures = image_figures(records)
    for key in ('occ/AP', 'occ/OKS', 'vis/OKS'):
        assert figures[key] == pytest.approx(metrics[key], abs=1e-12), key
    # the low-score count: predicted joints scored below keypoint_score_thr (0.2)
    low = records['low_scores']
    people = sum(len(s['pred_instances']['keypoints']) for s in _predictions(ann_file, 0.05, 0))
    assert low[:, 2].sum() == 17 * people
    assert 0 < low[:, 1].sum() < low[:, 2].sum()


def test_bootstrap_is_zero_for_a_run_against_itself_and_sees_a_worse_run(ann_file, tmp_path):
    _, good = _evaluate(ann_file, tmp_path / 'good.npz', 0.03, 0)
    _, bad = _evaluate(ann_file, tmp_path / 'bad.npz', 0.15, 1)
    same = bootstrap_paired([good], [good], num_samples=50)
    for summary in same.values():
        assert summary['mean'] == summary['low'] == summary['high'] == 0
    worse = bootstrap_paired([bad, bad], [good, good], num_samples=200)
    for key in ('occ/AP', 'occ/OKS', 'vis/OKS'):
        assert worse[key]['low'] <= worse[key]['mean'] <= worse[key]['high'] < 0, key
    with pytest.raises(ValueError, match='one reference per record'):
        bootstrap_paired([good], [], num_samples=5)
