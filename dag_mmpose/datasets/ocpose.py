# Copyright (c) dag_mmpose contributors. All rights reserved.
"""OCPose (OPEC-Net, ECCV 2020): the dataset class and a converter from the documented raw
layout into COCO format.

OCPose's own annotation file cannot be obtained (its download link is dead) and its schema
was never published, so dag_mmpose defines the raw layout below (from the paper: images of
two intertwined people, 12 joints with a visibility flag, a box per person) and converts it
into the COCO keypoint format that :class:`OCPoseDataset` reads. ``docs/opec_net.md``
describes both.

Raw layout (one JSON file)::

    {"images": [
        {"file_name": "000001.jpg", "width": 640, "height": 480,
         "persons": [
            {"bbox": [x, y, w, h],
             "keypoints": [[x, y, v], ... 12 joints in OCPose order]},
            ...]},
        ...]}

``v``: 0 unlabelled, 1 labelled but occluded, 2 visible (COCO's flags). The joint order is
:data:`OCPOSE_KEYPOINTS`. A split is an optional text file of ``file_name`` lines (the OPEC-Net
repository ships 7,200 train / 1,801 test names).
"""

import math
import os.path as osp
from typing import Any, List, Optional, Sequence, Tuple

from mmengine.fileio import get_local_path
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import DATASETS

from ..utils.json_io import dump_json, load_json
from .metainfo import metainfo_file

__all__ = ['OCPOSE_KEYPOINTS', 'OCPOSE_SKELETON', 'OCPoseDataset', 'convert_ocpose']

# the joints and the 0-based links of the metainfo file (the COCO json's categories get the
# links 1-based): OCPose's one definition is ``metainfo/ocpose.py``
_METAINFO = parse_pose_metainfo(dict(from_file=metainfo_file('ocpose')))
OCPOSE_KEYPOINTS: Tuple[str, ...] = tuple(
    _METAINFO['keypoint_id2name'][i] for i in range(_METAINFO['num_keypoints'])
)
OCPOSE_SKELETON: Tuple[Tuple[int, int], ...] = tuple(
    (int(i), int(j)) for i, j in _METAINFO['skeleton_links']
)


@DATASETS.register_module()
class OCPoseDataset(BaseCocoStyleDataset):
    """OCPose in COCO format (what :func:`convert_ocpose` writes): two closely intertwined
    people per image, OPEC-Net's 12 joints (``dag_mmpose/datasets/metainfo/ocpose.py``).

    Evaluate with ``CocoMetric`` / ``OPECCocoMetric`` and ``use_area=False`` (the boxes
    carry no segmentation).

    mmpose's loader drops, without a word, every annotation without ``bbox`` or
    ``keypoints``, with ``num_keypoints`` 0, a box of no size or no positive coordinate; a file
    where that is every annotation (e.g. not what :func:`convert_ocpose` writes) would give an
    empty dataset and a dataloader error that names nothing. Such a file raises a
    ``ValueError`` naming it instead.
    """

    METAINFO: dict = dict(from_file=metainfo_file('ocpose'))

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        if not data_list and not self.bbox_file:
            raise ValueError(
                f'OCPoseDataset: {self.ann_file} gives no person: mmpose drops annotations '
                'without "bbox" or "keypoints", with num_keypoints 0 or a box of no size. '
                'Write the file with convert_ocpose (tools/dataset_converters/ocpose2coco.py)'
            )
        return data_list


def _fail(raw_file: str, where: str, problem: str) -> None:
    raise ValueError(
        f'{raw_file}: {where}: {problem}. The OCPose raw layout is {{"images": [{{"file_name", '
        '"width", "height", "persons": [{"bbox": [x, y, w, h], "keypoints": [[x, y, v] x 12]}]'
        '}]} (docs/opec_net.md)'
    )


def _read_split(split_file: str) -> List[str]:
    with get_local_path(split_file) as local_path:
        with open(local_path, encoding='utf-8') as f:
            return [line.strip() for line in f if line.strip()]


def convert_ocpose(
    raw_file: str,
    out_file: Optional[str] = None,
    split_file: Optional[str] = None,
    num_keypoints: int = len(OCPOSE_KEYPOINTS),
) -> dict:
    """Convert an OCPose annotation file in the raw layout (module docstring) to COCO format.

    Image ids count from 1 in file order, annotation ids from 1; ``area`` is the box area
    (no masks), ``num_keypoints`` the labelled joints, ``iscrowd`` 0.

    Args:
        raw_file (str): The raw annotation JSON.
        out_file (str, optional): Where to write the COCO JSON.
        split_file (str, optional): Keep only the images named in this list file.
        num_keypoints (int): Joints per person. Defaults to 12.

    Returns:
        dict: The COCO-format annotations.

    Raises:
        ValueError: Naming the file, the image, the person and the field where the file does
            not match the layout (wrong types, NaN / infinite numbers, boxes without positive
            size), a split name that is not in the file, or an ``out_file`` that is the input
            (it is never overwritten). The output is written atomically.
    """
    if out_file is not None:
        _check_out_file(out_file, raw_file, split_file)
    raw = load_json(raw_file)
    if not isinstance(raw, dict) or not isinstance(raw.get('images'), list):
        _fail(raw_file, 'top level', 'expected an object with an "images" list')
    keep = None if split_file is None else _split_names(split_file, raw_file, raw['images'])

    images, annotations = [], []
    for index, img in enumerate(raw['images']):
        where = _check_image(raw_file, index, img)
        if keep is not None and img['file_name'] not in keep:
            continue
        image_id = len(images) + 1
        images.append(
            dict(
                id=image_id,
                file_name=img['file_name'],
                width=img['width'],
                height=img['height'],
            )
        )
        for number, person in enumerate(img['persons']):
            spot = f'{where} persons[{number}]'
            annotations.append(_annotation(raw_file, spot, person, num_keypoints, image_id))
            annotations[-1]['id'] = len(annotations)

    coco = _coco_file(raw_file, images, annotations)
    if out_file is not None:
        dump_json(coco, out_file, separators=(',', ':'))
    return coco


def _coco_file(raw_file: str, images: List[dict], annotations: List[dict]) -> dict:
    """The COCO keypoint file of the converted images and annotations."""
    return dict(
        info=dict(description=f'OCPose converted by dag_mmpose from {osp.basename(raw_file)}'),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[
            dict(
                supercategory='person',
                id=1,
                name='person',
                keypoints=list(OCPOSE_KEYPOINTS),
                skeleton=[[i + 1, j + 1] for i, j in OCPOSE_SKELETON],
            )
        ],
    )


def _check_out_file(out_file: str, raw_file: str, split_file: Optional[str]) -> None:
    """Raise when ``out_file`` is one of the inputs (the conversion would overwrite it)."""
    for name, path in (('raw_file', raw_file), ('split_file', split_file)):
        if path is not None and _same_file(path, out_file):
            raise ValueError(
                f'convert_ocpose: out_file {out_file} is the {name}; the conversion would '
                'overwrite its own input: write the COCO file elsewhere'
            )


def _split_names(split_file: str, raw_file: str, images: List) -> set:
    """The image names of the split, each checked to be in the raw file."""
    names = _read_split(split_file)
    known = {img.get('file_name') for img in images if isinstance(img, dict)}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f'{split_file}: {len(unknown)} image names are not in {raw_file}, e.g. {unknown[:3]}'
        )
    return set(names)


def _check_image(raw_file: str, index: int, img: Any) -> str:
    """Check raw image entry ``index``; return where it is (``'images[3] (a.jpg)'``)."""
    where = f'images[{index}]'
    if not isinstance(img, dict):
        _fail(raw_file, where, 'an image entry must be an object')
    for key in ('file_name', 'width', 'height', 'persons'):
        if key not in img:
            _fail(raw_file, where, f'no "{key}"')
    if not isinstance(img['file_name'], str) or not img['file_name']:
        _fail(raw_file, where, f'"file_name" must be a file name, got {img["file_name"]!r}')
    where = f'{where} ({img["file_name"]})'
    for key in ('width', 'height'):
        value = img[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            _fail(raw_file, where, f'"{key}" must be a positive integer, got {value!r}')
    if not isinstance(img['persons'], list):
        _fail(raw_file, where, f'"persons" must be a list, got {img["persons"]!r:.80}')
    return where


def _annotation(raw_file: str, spot: str, person: dict, num_keypoints: int, image_id: int) -> dict:
    """One COCO annotation of a raw person entry, checked."""
    if not isinstance(person, dict) or 'bbox' not in person or 'keypoints' not in person:
        _fail(raw_file, spot, 'a person needs "bbox" and "keypoints"')
    bbox = person['bbox']
    if not _numbers(bbox, 4) or bbox[2] <= 0 or bbox[3] <= 0:
        _fail(
            raw_file, spot, f'"bbox" must be [x, y, w, h] of finite numbers, w, h > 0, got {bbox!r}'
        )
    keypoints = person['keypoints']
    if not isinstance(keypoints, list) or len(keypoints) != num_keypoints:
        count = len(keypoints) if isinstance(keypoints, list) else type(keypoints).__name__
        _fail(raw_file, spot, f'"keypoints" must hold {num_keypoints} joints, got {count}')
    flat = []
    for joint, point in enumerate(keypoints):
        if not _numbers(point, 3) or point[2] not in (0, 1, 2):
            _fail(
                raw_file,
                f'{spot} keypoints[{joint}] ({OCPOSE_KEYPOINTS[joint]})'
                if joint < len(OCPOSE_KEYPOINTS)
                else f'{spot} keypoints[{joint}]',
                f'a joint is [x, y, v] with v in {{0, 1, 2}}, got {point!r}',
            )
        x, y, v = point
        flat += [0.0, 0.0, 0] if v == 0 else [float(x), float(y), int(v)]
    return dict(
        id=0,
        image_id=image_id,
        category_id=1,
        bbox=[float(v) for v in bbox],
        area=float(bbox[2]) * float(bbox[3]),
        iscrowd=0,
        num_keypoints=sum(1 for point in keypoints if point[2] > 0),
        keypoints=flat,
    )


def _numbers(values: Sequence, length: int) -> bool:
    """Whether ``values`` is a list of ``length`` finite numbers (JSON's NaN / Infinity are
    not)."""
    return (
        isinstance(values, (list, tuple))
        and len(values) == length
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        )
    )


def _same_file(path: str, other: str) -> bool:
    """Whether two local paths name one file (an existing file, or the same path)."""
    if osp.exists(path) and osp.exists(other):
        return osp.samefile(path, other)
    return osp.realpath(path) == osp.realpath(other)
