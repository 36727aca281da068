# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Occlusion statistics of keypoint files, their CLI, and the visibility browser."""

import json
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest

from dag_mmpose.evaluation import max_box_ious, occlusion_statistics
from dag_mmpose.testing.repo import REPO_ROOT

STATS_TOOL = osp.join(REPO_ROOT, 'tools', 'analysis', 'dataset_stats.py')
BROWSE_TOOL = osp.join(REPO_ROOT, 'tools', 'analysis', 'browse_dataset_occlusion.py')


def _ann(ann_id, image_id, bbox, vis, iscrowd=0):
    joints = [[5.0, 5.0, v] if v else [0.0, 0.0, 0] for v in vis]
    return dict(id=ann_id, image_id=image_id, bbox=bbox, iscrowd=iscrowd,
                keypoints=sum(joints, []), num_keypoints=sum(v > 0 for v in vis),
                category_id=1, area=bbox[2] * bbox[3])  # fmt: skip


def _write(tmp_path, annotations, num_images=2):
    data = dict(
        images=[
            dict(id=i + 1, file_name=f'{i}.jpg', width=40, height=40) for i in range(num_images)
        ],
        annotations=annotations,
        categories=[dict(id=1, name='person', keypoints=['a', 'b', 'c'], skeleton=[[1, 2]])],
    )
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(data))
    return str(path)


def test_max_box_ious():
    # boxes 0 and 1 overlap by half of their union's third: IoU = 50 / 150
    ious = max_box_ious([[0, 0, 10, 10], [5, 0, 10, 10], [30, 30, 4, 4]])
    assert ious == pytest.approx([1 / 3, 1 / 3, 0.0])
    assert max_box_ious([[0, 0, 3, 3]]).tolist() == [0.0]
    assert max_box_ious(np.zeros((0, 4))).shape == (0,)


def test_statistics_by_hand(tmp_path):
    path = _write(
        tmp_path,
        [
            _ann(1, 1, [0, 0, 10, 10], [2, 1, 0]),
            _ann(2, 1, [0, 0, 10, 8], [2, 2, 2]),  # IoU with 1: 80 / 100
            _ann(3, 2, [0, 0, 10, 10], [1, 2, 2]),  # alone in image 2
            _ann(4, 2, [0, 0, 10, 10], [0, 0, 0]),  # no labelled joint: not a person
            _ann(5, 2, [0, 0, 10, 10], [2, 2, 2], iscrowd=1),  # crowd: ignored
        ],
    )
    stats = occlusion_statistics(path)
    assert (stats['images'], stats['people'], stats['joints']) == (2, 3, 8)
    assert stats['occluded'] == pytest.approx(2 / 8)
    assert stats['person_iou'] == pytest.approx((0.8 + 0.8 + 0.0) / 3)
    assert stats['person_iou>0.75'] == pytest.approx(2 / 3)
    assert stats['image_iou>0.5'] == pytest.approx(1 / 2)


def test_no_occlusion_labels_is_absent_not_zero(tmp_path):
    path = _write(tmp_path, [_ann(1, 1, [0, 0, 10, 10], [2, 2, 2])], num_images=1)
    assert occlusion_statistics(path)['occluded'] is None


def test_not_a_keypoint_file(tmp_path):
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(dict(images=[])))
    with pytest.raises(KeyError, match="bad.json has no 'annotations'"):
        occlusion_statistics(str(path))


def test_not_json_names_the_file(tmp_path):
    path = tmp_path / 'cut.json'
    path.write_text('{"images": [], "annotations": [')
    with pytest.raises(ValueError, match='cut.json is not valid JSON'):
        occlusion_statistics(str(path))


def test_cli_table_and_published_rows(tmp_path, capsys, monkeypatch):
    path = _write(tmp_path, [_ann(1, 1, [0, 0, 10, 10], [2, 1, 0])], num_images=1)
    monkeypatch.setattr(sys, 'argv', [STATS_TOOL, path, '--names', 'tiny', '--published'])
    runpy.run_path(STATS_TOOL, run_name='__main__')
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == '| tiny | 1 | 1 | 50.0% | 0.00 | 0.0% | 0.0% | 0.0% | 0.0% | 0.0% | 0.0% |'
    assert any(line.startswith('| OCHuman (OPEC-Net Table 1) | 4773 |') for line in lines)
    monkeypatch.setattr(sys, 'argv', [STATS_TOOL, str(tmp_path / 'missing.json')])
    with pytest.raises(SystemExit, match='annotation file not found: .*missing.json'):
        runpy.run_path(STATS_TOOL, run_name='__main__')


def test_coco_re_counts_v3_as_occluded(tmp_path):
    path = _write(
        tmp_path,
        [
            _ann(1, 1, [0, 0, 10, 10], [2, 1, 3]),  # COCO's occluded joint and a relabelled one
            _ann(2, 2, [0, 0, 10, 10], [3, 3, 2]),
        ],
    )
    stats = occlusion_statistics(path, visibility_convention='coco-re')
    assert (stats['people'], stats['joints']) == (2, 6)  # v=3 joints are labelled
    assert stats['occluded'] == pytest.approx(4 / 6)
    only_re = _write(tmp_path, [_ann(1, 1, [0, 0, 10, 10], [3, 2, 0])], num_images=1)
    assert occlusion_statistics(only_re, 'coco-re')['occluded'] == pytest.approx(1 / 2)


def test_default_convention_refuses_v3_and_unknown_flags(tmp_path):
    path = _write(tmp_path, [_ann(7, 1, [0, 0, 10, 10], [2, 1, 3])])
    with pytest.raises(ValueError, match=r'ann.json: 1 joint.*v=3.*\[7\].*--visibility-convention'):
        occlusion_statistics(path)
    path = _write(tmp_path, [_ann(8, 1, [0, 0, 10, 10], [2, 4, 3])])
    for convention in ('coco', 'coco-re'):
        with pytest.raises(ValueError, match=r'outside .* annotation 8 \(v=4\)'):
            occlusion_statistics(path, convention)
    with pytest.raises(ValueError, match='occlusion_statistics: visibility_convention must be'):
        occlusion_statistics(path, 'coco_re')


def test_cli_coco_re_flag(tmp_path, capsys, monkeypatch):
    path = _write(tmp_path, [_ann(1, 1, [0, 0, 10, 10], [2, 1, 3])], num_images=1)
    argv = [STATS_TOOL, path, '--names', 're', '--visibility-convention', 'coco-re']
    monkeypatch.setattr(sys, 'argv', argv)
    runpy.run_path(STATS_TOOL, run_name='__main__')
    row = capsys.readouterr().out.splitlines()[2]
    assert row.startswith('| re | 1 | 1 | 66.7% |')
    monkeypatch.setattr(sys, 'argv', [STATS_TOOL, path])
    with pytest.raises(SystemExit, match=r'error: .*ann.json: 1 joint.* labelled v=3'):
        runpy.run_path(STATS_TOOL, run_name='__main__')


def test_browse_draws_visibility(tmp_path, monkeypatch):
    path = _write(tmp_path, [_ann(1, 1, [0, 0, 10, 10], [2, 1, 0])], num_images=1)
    cv2.imwrite(str(tmp_path / '0.jpg'), np.full((40, 40, 3), 128, np.uint8))
    out = tmp_path / 'grid.png'
    argv = [BROWSE_TOOL, path, str(tmp_path), '--columns', '1', '--height', '40', '--out', str(out)]
    monkeypatch.setattr(sys, 'argv', argv)
    runpy.run_path(BROWSE_TOOL, run_name='__main__')
    grid = cv2.imread(str(out))
    assert grid.shape == (40, 84, 3)  # plain + annotated, 4 px gap
    plain, marked = grid[:, :40].astype(int), grid[:, 40:80].astype(int)
    assert np.abs(plain - 128).max() <= 2  # untouched
    assert (np.abs(marked - 128).sum(-1) > 60).any()  # the joints were drawn
    monkeypatch.setattr(
        sys, 'argv', [BROWSE_TOOL, path, str(tmp_path / 'nowhere'), '--out', str(out)]
    )
    with pytest.raises(SystemExit, match='cannot read image .*0.jpg'):
        runpy.run_path(BROWSE_TOOL, run_name='__main__')
