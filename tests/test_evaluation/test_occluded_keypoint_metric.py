# Copyright (c) dag_mmpose contributors. All rights reserved.
"""OccludedKeypointMetric against values computed by hand on tiny fixtures."""

import json
import math

import numpy as np
import pytest
from mmpose.registry import METRICS

import dag_mmpose  # noqa: F401
from dag_mmpose.evaluation import OccludedKeypointMetric

NAMES = ('left_shoulder', 'right_shoulder', 'left_hip', 'right_hip')
META = dict(
    num_keypoints=4,
    sigmas=np.full(4, 0.1),
    keypoint_name2id={name: i for i, name in enumerate(NAMES)},
)
# person A: box 100 x 100 at the origin, area 10000; joint 1 occluded, joint 3 unlabelled
A = dict(
    id=1, image_id=1, category_id=1, iscrowd=0, bbox=[0, 0, 100, 100], area=10000,
    keypoints=[10, 10, 2, 90, 10, 1, 10, 90, 2, 90, 90, 0],
)  # fmt: skip
# person B overlaps A (box IoU 5000 / 15000 = 1/3), all joints visible
B = dict(
    id=2, image_id=1, category_id=1, iscrowd=0, bbox=[50, 0, 100, 100], area=10000,
    keypoints=[60, 10, 2, 140, 10, 2, 60, 90, 2, 140, 90, 2],
)  # fmt: skip
# person C alone in image 2, all joints visible
C = dict(
    id=3, image_id=2, category_id=1, iscrowd=0, bbox=[0, 0, 50, 50], area=2500,
    keypoints=[5, 5, 2, 45, 5, 2, 5, 45, 2, 45, 45, 2],
)  # fmt: skip


def _ann_file(tmp_path, anns, images=(1, 2)) -> str:
    data = dict(
        images=[dict(id=i, width=200, height=200, file_name=f'{i}.jpg') for i in images],
        annotations=anns,
        categories=[dict(id=1, name='person')],
    )
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(data))
    return str(path)


def _gt(ann) -> np.ndarray:
    return np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)[:, :2]


def _sample(img_id, keypoints, score=1.0) -> dict:
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(1, -1, 2)
    return dict(
        img_id=img_id,
        pred_instances=dict(
            keypoints=keypoints, keypoint_scores=np.ones((1, 4)), bbox_scores=np.array([score])
        ),
    )


def _metric(tmp_path, anns, samples, **kwargs) -> dict:
    metric = OccludedKeypointMetric(ann_file=_ann_file(tmp_path, anns), **kwargs)
    metric.dataset_meta = META
    metric.process([], samples)
    return metric.compute_metrics(metric.results)


def _a_prediction() -> np.ndarray:
    pred = _gt(A).copy()
    pred[1, 0] += 20  # the occluded joint 20 px off
    pred[2, 1] += 3  # a visible joint 3 px off
    return pred


def test_hand_computed_figures(tmp_path):
    samples = [_sample(1, _a_prediction()), _sample(1, _gt(B)), _sample(2, _gt(C))]
    m = _metric(tmp_path, [A, B, C], samples)
    # PCK relative to the longer box side (100 px for A): 0.1 -> 10 px, 0.05 -> 5 px
    assert m['occ/PCK@0.1'] == 0.0 and m['occ/PCK@0.05'] == 0.0
    assert m['vis/PCK@0.1'] == 1.0 and m['vis/PCK@0.05'] == 1.0  # 2 + 4 + 4 visible joints
    assert m['all/PCK@0.1'] == pytest.approx(10 / 11)
    # normalized error: A's occluded joint 20 / 100; visible: 3 / 100 among 10 joints
    assert m['occ/err'] == pytest.approx(0.2)
    assert m['vis/err'] == pytest.approx(0.003)
    # per-joint OKS exp(-d^2 / (2 area (2 sigma)^2)): 20 px in area 10000 -> exp(-0.5)
    assert m['occ/OKS'] == pytest.approx(math.exp(-0.5))
    assert m['vis/OKS'] == pytest.approx((9 + math.exp(-9 / 800)) / 10)
    # torso of A: only the right_shoulder - left_hip diagonal is labelled, 80 * sqrt(2)
    torso = 80 * math.sqrt(2)
    assert m['occ/PCK@0.1-torso'] == float(20 / torso <= 0.1) == 0.0
    assert m['occ/PCK@0.05-torso'] == 0.0
    # buckets by the largest box IoU with another person: A and B 1/3, C 0
    assert m['iou[0.3,0.5)/occ/PCK@0.1'] == 0.0
    assert m['iou[0.3,0.5)/vis/PCK@0.1'] == 1.0
    assert m['iou<0.3/vis/OKS'] == 1.0
    assert 'iou<0.3/occ/PCK@0.1' not in m  # C has no occluded joint: absent, not 0
    assert not any(k.startswith('iou>=0.5/') for k in m)
    # occ/AP: only A has an occluded joint; its OKS over that joint is exp(-0.5) = 0.607,
    # a match at the thresholds 0.50, 0.55 and 0.60 of ten: AP 0.3
    assert m['occ/AP'] == pytest.approx(0.3)


def test_perfect_predictions(tmp_path):
    samples = [_sample(1, _gt(A)), _sample(1, _gt(B)), _sample(2, _gt(C))]
    m = _metric(tmp_path, [A, B, C], samples)
    for key in ('occ/PCK@0.05', 'vis/PCK@0.1', 'all/OKS', 'occ/OKS'):
        assert m[key] == 1.0, key
    assert m['occ/err'] == 0.0
    assert m['occ/AP'] == pytest.approx(1.0)


def test_detections_are_matched_by_oks_not_by_order(tmp_path):
    # three detections in image 1 in the wrong order: B's pose (low score), a false one far
    # away (highest score), A's pose; image 2 has no detection at all
    samples = [
        _sample(1, _gt(B), score=0.5),
        _sample(1, _gt(A) + 1000, score=0.99),
        _sample(1, _gt(A), score=0.9),
    ]
    m = _metric(tmp_path, [A, B, C], samples)
    assert m['occ/PCK@0.1'] == 1.0  # A found its own pose
    # C's 4 joints are misses: PCK / OKS 0 for them, no error (unmatched)
    assert m['vis/PCK@0.1'] == pytest.approx(6 / 10)
    assert m['iou<0.3/vis/OKS'] == 0.0
    assert 'iou<0.3/vis/err' not in m
    assert m['vis/err'] == 0.0


def test_no_occluded_labels_warns_and_leaves_occ_out(tmp_path):
    samples = [_sample(1, _gt(B)), _sample(2, _gt(C))]
    with pytest.warns(UserWarning, match='no occluded'):
        m = _metric(tmp_path, [B, C], samples)
    assert m['vis/PCK@0.1'] == 1.0
    assert not [k for k in m if 'occ/' in k]


def test_use_area_false_scales_by_box(tmp_path):
    # xtcocotools' convention without area: 0.53 * w * h
    samples = [_sample(1, _a_prediction()), _sample(1, _gt(B)), _sample(2, _gt(C))]
    m = _metric(tmp_path, [A, B, C], samples, use_area=False)
    assert m['occ/OKS'] == pytest.approx(math.exp(-400 / 0.04 / (0.53 * 10000) / 2))


def test_built_from_config_and_bad_buckets(tmp_path):
    ann_file = _ann_file(tmp_path, [A])
    metric = METRICS.build(dict(type='OccludedKeypointMetric', ann_file=ann_file))
    assert isinstance(metric, OccludedKeypointMetric)
    with pytest.raises(ValueError, match='iou_buckets'):
        OccludedKeypointMetric(ann_file=ann_file, iou_buckets=(0.5, 0.3))


def test_people_without_a_box_size_are_left_out_with_a_warning(tmp_path):
    """A negative box size scored PCK 1.0 without any prediction (dist / size < 0) and a zero
    one raised ZeroDivisionError: both have no scale."""
    for bbox in ([0, 0, -100, 100], [0, 0, 0, 100], [0, 0, 100, float('nan')]):
        broken = dict(A, bbox=bbox)
        with pytest.warns(UserWarning, match=r'1 labelled people .* no box of positive size'):
            m = _metric(tmp_path, [broken, B, C], [_sample(1, _gt(B)), _sample(2, _gt(C))])
        assert m['vis/PCK@0.1'] == 1.0  # B and C only: A is left out, not scored perfect
        assert 'occ/PCK@0.1' not in m


def test_predictions_of_another_joint_count_are_an_error(tmp_path):
    metric = OccludedKeypointMetric(ann_file=_ann_file(tmp_path, [A, B, C]))
    metric.dataset_meta = META
    with pytest.raises(ValueError, match=r'image 1 have shape \(1, 3, 2\), the dataset 4 joints'):
        metric.process([], [_sample(1, _gt(A)[:3])])


def test_missing_area_or_dataset_meta_are_named(tmp_path):
    no_area = {k: v for k, v in A.items() if k != 'area'}
    with pytest.raises(ValueError, match=r'1 labelled annotations have no positive `area`.*\[1\]'):
        OccludedKeypointMetric(ann_file=_ann_file(tmp_path, [no_area, B]))
    m = _metric(tmp_path, [no_area, B], [_sample(1, _gt(A)), _sample(1, _gt(B))], use_area=False)
    assert m['occ/PCK@0.1'] == 1.0
    metric = OccludedKeypointMetric(ann_file=_ann_file(tmp_path, [A, B, C]))
    with pytest.raises(ValueError, match='no `dataset_meta` with `sigmas`'):
        metric.process([], [_sample(1, _gt(A))])
    with pytest.raises(ValueError, match='no `dataset_meta` with `sigmas`'):
        metric.compute_metrics([])


def test_repeated_annotation_ids_are_an_error(tmp_path):
    """xtcocotools indexes annotations by id: two people of one id were both scored as the
    last of them (perfect predictions gave PCK 0.07)."""
    with pytest.raises(ValueError, match=r'1 annotation ids are used more than once.*\[2\]'):
        OccludedKeypointMetric(ann_file=_ann_file(tmp_path, [A, B, dict(C, id=2)]))


def test_non_finite_predictions_are_misses(tmp_path):
    pred = _gt(A).copy()
    pred[1] = np.nan  # A's occluded joint
    pred_c = _gt(C).copy()
    pred_c[0, 0] = np.inf  # one of C's visible joints
    samples = [_sample(1, pred), _sample(1, _gt(B)), _sample(2, pred_c)]
    with pytest.warns(UserWarning, match='2 predicted joints are NaN or infinite'):
        m = _metric(tmp_path, [A, B, C], samples)
    assert m['occ/PCK@0.1'] == 0.0 and m['occ/OKS'] == 0.0
    assert m['vis/PCK@0.1'] == pytest.approx(9 / 10)
    assert np.isfinite(m['vis/err']) and 'occ/err' not in m  # misses are out of the error
    assert m['occ/AP'] == 0.0  # xtcocotools alone would match a NaN pose (NaN < thr is False)


def test_bad_files_and_arguments_name_the_problem(tmp_path):
    broken = tmp_path / 'broken.json'
    broken.write_text('{"images": [')
    with pytest.raises(ValueError, match='broken.json is not valid JSON'):
        OccludedKeypointMetric(ann_file=str(broken))
    nan_gt = dict(A, keypoints=[10, float('nan'), 2] + A['keypoints'][3:])
    with pytest.raises(ValueError, match=r'annotation 1 "keypoints".*NaN or infinite'):
        OccludedKeypointMetric(ann_file=_ann_file(tmp_path, [nan_gt, B]))
    ann_file = _ann_file(tmp_path, [A, B])
    for kwargs, name in (
        (dict(pck_thrs=(0.1, float('nan'))), 'pck_thrs'),
        (dict(match_oks_thr=float('nan')), 'match_oks_thr'),
        (dict(iou_buckets=(float('nan'), 0.5)), 'iou_buckets'),
    ):
        with pytest.raises(ValueError, match=f'OccludedKeypointMetric: {name}'):
            OccludedKeypointMetric(ann_file=ann_file, **kwargs)


# COCO-RE: person A with its unlabelled joint 3 relabelled v=3 ("labelled and occluded")
A_RE = dict(A, keypoints=A['keypoints'][:9] + [90, 90, 3])


def _a_re_prediction() -> np.ndarray:
    pred = _a_prediction()  # occluded joint 1 20 px off, visible joint 2 3 px off
    pred[3, 1] -= 6  # the v=3 joint 6 px off
    return pred


def test_coco_re_counts_v3_joints_as_occluded(tmp_path):
    samples = [_sample(1, _a_re_prediction()), _sample(1, _gt(B)), _sample(2, _gt(C))]
    m = _metric(tmp_path, [A_RE, B, C], samples, visibility_convention='coco-re')
    # occluded: A's joint 1 (v=1, 20 px) and joint 3 (v=3, 6 px); PCK@0.1 is 10 px, @0.05 5 px
    assert m['occ/PCK@0.1'] == 0.5 and m['occ/PCK@0.05'] == 0.0
    assert m['occ/err'] == pytest.approx((0.2 + 0.06) / 2)
    assert m['occ/OKS'] == pytest.approx((math.exp(-0.5) + math.exp(-36 / 800)) / 2)
    # the v=3 joint labels the second torso diagonal: both are 80 * sqrt(2) long
    assert m['occ/PCK@0.1-torso'] == 0.5  # 6 px <= 11.3 px < 20 px
    assert m['occ/PCK@0.05-torso'] == 0.0  # 5.7 px
    assert m['vis/PCK@0.1'] == 1.0 and m['vis/err'] == pytest.approx(0.003)  # unchanged
    assert m['all/PCK@0.1'] == pytest.approx(11 / 12)  # 12 labelled joints, v=3 included
    assert m['iou[0.3,0.5)/occ/PCK@0.1'] == 0.5
    # occ/AP: A over its two occluded joints, OKS (0.607 + 0.956) / 2 = 0.781: a match at
    # the thresholds 0.50 ... 0.75, six of ten
    assert m['occ/AP'] == pytest.approx(0.6)


def test_coco_re_v3_scores_exactly_as_v1(tmp_path):
    """A file flagging the occluded joint v=3 gives every figure of the same file with v=1."""
    samples = [_sample(1, _a_prediction()), _sample(1, _gt(B)), _sample(2, _gt(C))]
    a_v3 = dict(A, keypoints=[3 if i == 5 else v for i, v in enumerate(A['keypoints'])])
    assert a_v3['keypoints'][3:6] == [90, 10, 3]
    m3 = _metric(tmp_path, [a_v3, B, C], samples, visibility_convention='coco-re')
    m1 = _metric(tmp_path, [A, B, C], samples, visibility_convention='coco-re')
    assert m3 == m1
    assert m1 == _metric(tmp_path, [A, B, C], samples)  # coco-re on a plain COCO file
    assert m3['occ/err'] == pytest.approx(0.2) and m3['occ/AP'] == pytest.approx(0.3)


def test_only_v3_joints_make_the_occ_figures(tmp_path):
    """A COCO-RE person whose occluded joints are all v=3 is one of ``occ/AP``'s people."""
    a_v3 = dict(A, keypoints=[3 if i == 5 else v for i, v in enumerate(A['keypoints'])])
    samples = [_sample(1, _gt(A)), _sample(1, _gt(B)), _sample(2, _gt(C))]
    m = _metric(tmp_path, [a_v3, B, C], samples, visibility_convention='coco-re')
    assert m['occ/PCK@0.05'] == 1.0 and m['occ/AP'] == pytest.approx(1.0)
    far = _gt(A).copy()
    far[1] += 1000  # only the v=3 joint wrong: the visible ones still match A
    m = _metric(
        tmp_path, [a_v3, B, C], [_sample(1, far), _sample(1, _gt(B)), _sample(2, _gt(C))],
        visibility_convention='coco-re',
    )  # fmt: skip
    assert m['occ/PCK@0.1'] == 0.0 and m['vis/PCK@0.1'] == 1.0 and m['occ/AP'] == 0.0


def test_default_convention_refuses_v3(tmp_path):
    """Under the default 'coco' convention a v=3 joint would drop out of occ/ unseen."""
    with pytest.raises(ValueError) as error:
        OccludedKeypointMetric(ann_file=_ann_file(tmp_path, [A_RE, B, C]))
    message = str(error.value)
    assert 'ann.json' in message and 'labelled v=3' in message and '[1]' in message
    assert "visibility_convention='coco-re'" in message


@pytest.mark.parametrize('flag', [4, -1, 1.5])
@pytest.mark.parametrize('convention', ['coco', 'coco-re'])
def test_unknown_visibility_flags_name_the_annotation(tmp_path, flag, convention):
    bad = dict(B, keypoints=B['keypoints'][:8] + [flag] + B['keypoints'][9:])
    named = rf'ann.json: 1 annotation\(s\) .* annotation 2 \(v={flag:g}\)'
    with pytest.raises(ValueError, match=named):
        OccludedKeypointMetric(
            ann_file=_ann_file(tmp_path, [A, bad, C]), visibility_convention=convention
        )


@pytest.mark.parametrize('value', ['COCO-RE', 'coco_re', None, (1, 3)])
def test_bad_visibility_convention_is_refused(tmp_path, value):
    with pytest.raises(ValueError, match='OccludedKeypointMetric: visibility_convention must be'):
        OccludedKeypointMetric(ann_file=_ann_file(tmp_path, [A, B]), visibility_convention=value)
