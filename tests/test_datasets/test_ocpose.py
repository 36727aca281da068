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


def test_a_file_mmpose_reads_as_empty_is_an_error(synthetic_root, tmp_path):
    """mmpose drops annotations with num_keypoints 0 (or no box) without a word: a whole file
    of them gave an empty dataset and a dataloader error naming nothing."""
    root = _root(synthetic_root)
    coco = convert_ocpose(osp.join(root, 'raw', 'ocpose_test.json'))
    for ann in coco['annotations']:
        ann['num_keypoints'] = 0
    ann_file = tmp_path / 'zero.json'
    ann_file.write_text(json.dumps(coco))
    cfg = dict(type='OCPoseDataset', data_root=root, ann_file=str(ann_file),
               data_prefix=dict(img='images/'), test_mode=True, pipeline=[])  # fmt: skip
    with pytest.raises(ValueError, match='OCPoseDataset: .*zero.json gives no person'):
        DATASETS.build(cfg)


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


NAN, INF = float('nan'), float('inf')


@pytest.mark.parametrize(
    'image, message',
    [
        (_image(_person(bbox=[1, NAN, 30, 60])), r'persons\[0\]: "bbox" must be .*finite'),
        (_image(_person(bbox=[1, 2, INF, 60])), r'persons\[0\]: "bbox" must be .*finite'),
        (_image(_person(bbox=[1, 2, 0, 60])), r'persons\[0\]: "bbox" must be .*w, h > 0'),
        (
            _image(_person(keypoints=[[5.0, 6.0, 2]] * 3 + [[NAN, 6.0, 2]] + [[5.0, 6.0, 2]] * 8)),
            r'persons\[0\] keypoints\[3\] \(right_elbow\): a joint is \[x, y, v\]',
        ),
        (
            _image(_person(keypoints=[[5.0, INF, 1]] + [[5.0, 6.0, 2]] * 11)),
            r'keypoints\[0\] \(left_shoulder\)',
        ),
        (
            dict(_image(_person()), width='64'),
            r'images\[0\] \(a.jpg\): "width" must be a positive integer',
        ),
        (dict(_image(_person()), height=-5), r'images\[0\] \(a.jpg\): "height" must be a positive'),
        (dict(_image(_person()), height=NAN), r'"height" must be a positive integer, got nan'),
        (dict(_image(_person()), width=None), r'"width" must be a positive integer, got None'),
        (dict(_image(), persons={'bbox': [1, 2, 3, 4]}), r'\(a.jpg\): "persons" must be a list'),
        (dict(_image(_person()), file_name=7), r'images\[0\]: "file_name" must be a file name'),
    ],
)
def test_converter_names_file_image_person_and_field(tmp_path, image, message):
    """NaN / infinite numbers and wrong types are errors naming where they are, never a
    raw ``int()`` error or a NaN written into the COCO file."""
    with pytest.raises(ValueError, match=r'raw.json: (.*)?' + message):
        convert_ocpose(_raw(tmp_path, {'images': [image]}))


def test_converter_never_overwrites_its_input(tmp_path):
    raw = _raw(tmp_path, {'images': [_image(_person())]})
    before = open(raw).read()
    with pytest.raises(ValueError, match='would overwrite its own input'):
        convert_ocpose(raw, out_file=raw)
    with pytest.raises(ValueError, match='would overwrite its own input'):
        convert_ocpose(raw, out_file=str(tmp_path / '.' / 'raw.json'))
    split = tmp_path / 'train.txt'
    split.write_text('a.jpg\n')
    with pytest.raises(ValueError, match='is the split_file'):
        convert_ocpose(raw, out_file=str(split), split_file=str(split))
    assert open(raw).read() == before and split.read_text() == 'a.jpg\n'


def test_converter_reads_and_writes_json_safely(tmp_path):
    broken = tmp_path / 'broken.json'
    broken.write_text('{"images": [')
    with pytest.raises(ValueError, match='broken.json is not valid JSON'):
        convert_ocpose(str(broken))
    # an output that exists is replaced whole or not at all (written beside, then renamed)
    raw = _raw(tmp_path, {'images': [_image(_person())]})
    out = tmp_path / 'coco.json'
    out.write_text('previous')
    convert_ocpose(raw, out_file=str(out))
    assert len(_load(str(out))['annotations']) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ['broken.json', 'coco.json', 'raw.json']


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
