# Copyright (c) dag_mmpose contributors. All rights reserved.
"""OCPose: the raw layout's converter, the dataset class and the generated split."""

import json
import os.path as osp

import numpy as np
import pytest
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import DATASETS

from dag_mmpose.datasets import OCPoseDataset, convert_ocpose
from dag_mmpose.datasets.metainfo import metainfo_file
from dag_mmpose.evaluation import max_box_ious


def _root(synthetic_root: str) -> str:
    return osp.join(synthetic_root, 'data', 'synthetic_ocpose')


def _load(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def test_metainfo_is_opec_twelve_joints():
    meta = parse_pose_metainfo(dict(from_file=metainfo_file('ocpose')))
    assert meta['num_keypoints'] == 12
    assert meta['flip_indices'] == [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10]
    assert sorted(meta['skeleton_links']) == sorted(
        [(0, 1), (0, 2), (2, 4), (1, 3), (3, 5), (0, 6), (1, 7), (6, 7), (6, 8), (8, 10)]
        + [(7, 9), (9, 11)]
    )
    crowdpose = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/crowdpose.py'))
    np.testing.assert_allclose(meta['sigmas'], crowdpose['sigmas'][:12])
    with pytest.raises(FileNotFoundError, match='ocpose2'):
        metainfo_file('ocpose2')


@pytest.mark.parametrize('split', ['train', 'test'])
def test_converter_reproduces_the_generated_split(synthetic_root, split):
    """The generator writes the raw layout beside its COCO json; converting the raw file
    gives the same people, joints and boxes."""
    root = _root(synthetic_root)
    generated = _load(osp.join(root, 'annotations', f'ocpose_{split}.json'))
    converted = convert_ocpose(
        osp.join(root, 'raw', f'ocpose_{split}.json'),
        split_file=osp.join(root, 'raw', f'{split}.txt'),
    )
    assert [i['file_name'] for i in converted['images']] == [
        i['file_name'] for i in generated['images']
    ]
    assert converted['categories'][0]['keypoints'] == generated['categories'][0]['keypoints']
    assert converted['categories'][0]['skeleton'] == generated['categories'][0]['skeleton']
    names = {i['id']: i['file_name'] for i in generated['images']}
    conv_names = {i['id']: i['file_name'] for i in converted['images']}
    assert len(converted['annotations']) == len(generated['annotations'])
    for conv, gen in zip(converted['annotations'], generated['annotations']):
        assert conv_names[conv['image_id']] == names[gen['image_id']]
        np.testing.assert_allclose(conv['keypoints'], gen['keypoints'])
        np.testing.assert_allclose(conv['bbox'], gen['bbox'])
        assert conv['num_keypoints'] == gen['num_keypoints']
        assert conv['area'] == pytest.approx(gen['bbox'][2] * gen['bbox'][3])


def test_generated_split_is_pairs_of_intertwined_people(synthetic_root):
    generated = _load(osp.join(_root(synthetic_root), 'annotations', 'ocpose_train.json'))
    per_image = {}
    for ann in generated['annotations']:
        per_image.setdefault(ann['image_id'], []).append(ann)
        assert len(ann['keypoints']) == 36
    assert all(len(anns) == 2 for anns in per_image.values())
    ious = max_box_ious([a['bbox'] for a in per_image[next(iter(per_image))]])
    assert min(ious) > 0.0


def test_dataset_reads_the_converted_file(synthetic_root, tmp_path):
    root = _root(synthetic_root)
    out_file = str(tmp_path / 'ocpose_test.json')
    convert_ocpose(osp.join(root, 'raw', 'ocpose_test.json'), out_file)
    dataset = DATASETS.build(
        dict(
            type='OCPoseDataset',
            data_root=root,
            ann_file=out_file,
            data_prefix=dict(img='images/'),
            test_mode=True,
            pipeline=[],
        )
    )
    assert isinstance(dataset, OCPoseDataset)
    assert dataset.metainfo['num_keypoints'] == 12
    info = dataset[0]
    assert info['keypoints'].shape == (1, 12, 2)
    assert osp.isfile(info['img_path'])


def _raw(tmp_path, images) -> str:
    path = str(tmp_path / 'raw.json')
    with open(path, 'w') as f:
        json.dump(images, f)
    return path


def _person(**changes):
    person = dict(bbox=[1, 2, 30, 60], keypoints=[[5.0, 6.0, 2]] * 12)
    person.update(changes)
    return person


def _image(*persons):
    return dict(file_name='a.jpg', width=64, height=64, persons=list(persons))


@pytest.mark.parametrize(
    'content, message',
    [
        ([_image(_person())], 'top level: expected an object with an "images" list'),
        ({'images': [dict(file_name='a.jpg', width=6, height=6)]}, r'images\[0\]: no "persons"'),
        (
            {'images': [_image(_person(keypoints=[[5.0, 6.0, 2]] * 14))]},
            r'images\[0\] \(a.jpg\) persons\[0\]: "keypoints" must hold 12 joints, got 14',
        ),
        (
            {'images': [_image(_person(), _person(bbox=[1, 2, 3]))]},
            r'persons\[1\]: "bbox" must be \[x, y, w, h\]',
        ),
        (
            {'images': [_image(_person(keypoints=[[5.0, 6.0, 2]] * 11 + [[1.0, 2.0, 3]]))]},
            r'keypoints\[11\] \(right_ankle\): a joint is \[x, y, v\] with v in',
        ),
    ],
)
def test_converter_says_what_it_expects(tmp_path, content, message):
    with pytest.raises(ValueError, match=message):
        convert_ocpose(_raw(tmp_path, content))


def test_converter_split_names_must_exist(tmp_path):
    raw = _raw(tmp_path, {'images': [_image(_person())]})
    split = tmp_path / 'train.txt'
    split.write_text('a.jpg\nb.jpg\n')
    with pytest.raises(ValueError, match=r"1 image names are not in .*raw.json.*\['b.jpg'\]"):
        convert_ocpose(raw, split_file=str(split))


def test_converter_cli(synthetic_root, tmp_path, capsys):
    import runpy
    import sys

    root = _root(synthetic_root)
    tool = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'tools')
    out_file = str(tmp_path / 'out' / 'ocpose_train.json')
    argv = [
        'ocpose2coco.py',
        osp.join(root, 'raw', 'ocpose_train.json'),
        out_file,
        '--split-file',
        osp.join(root, 'raw', 'train.txt'),
    ]
    old_argv, sys.argv = sys.argv, argv
    try:
        runpy.run_path(osp.join(tool, 'dataset_converters', 'ocpose2coco.py'), run_name='__main__')
    finally:
        sys.argv = old_argv
    assert 'wrote' in capsys.readouterr().out
    assert len(_load(out_file)['images']) == 4
