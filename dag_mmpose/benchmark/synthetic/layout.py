# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Layouts of the generated datasets (COCO, CrowdPose, OCHuman): joint names, skeletons,
file layout and the records a scene produces."""

import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Tuple

import mmpose
import numpy as np
from mmpose.datasets.datasets.utils import parse_pose_metainfo

from ...datasets.ocpose import OCPOSE_KEYPOINTS
from ...datasets.ocpose import OCPOSE_SKELETON as OCPOSE_LINKS


def _mmpose_metainfo(name: str) -> dict:
    """mmpose's metainfo of a dataset (``configs/_base_/datasets/{name}.py`` as mmpose ships it)."""
    path = osp.join(
        osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets', f'{name}.py'
    )
    return parse_pose_metainfo(dict(from_file=path))


def _names(metainfo: dict) -> Tuple[str, ...]:
    return tuple(metainfo['keypoint_id2name'][i] for i in range(metainfo['num_keypoints']))


def _one_based(links) -> Tuple[Tuple[int, int], ...]:
    """Skeleton links as COCO-format json categories write them (1-based)."""
    return tuple((int(i) + 1, int(j) + 1) for i, j in links)


_COCO = _mmpose_metainfo('coco')
_CROWDPOSE = _mmpose_metainfo('crowdpose')
# The joint names and skeletons the generated json files carry, read from mmpose's metainfo
# (COCO, CrowdPose) and from dag_mmpose's OCPose metainfo (OPEC-Net's 12 joints: COCO's
# without the head).
COCO_KEYPOINT_NAMES: Tuple[str, ...] = _names(_COCO)
COCO_SKELETON: Tuple[Tuple[int, int], ...] = _one_based(_COCO['skeleton_links'])
CROWDPOSE_KEYPOINT_NAMES: Tuple[str, ...] = _names(_CROWDPOSE)
CROWDPOSE_SKELETON: Tuple[Tuple[int, int], ...] = _one_based(_CROWDPOSE['skeleton_links'])
OCPOSE_KEYPOINT_NAMES: Tuple[str, ...] = OCPOSE_KEYPOINTS
OCPOSE_SKELETON: Tuple[Tuple[int, int], ...] = _one_based(OCPOSE_LINKS)

# Every point a figure has: the COCO joints, then the two extra CrowdPose joints.
FIGURE_POINT_NAMES: Tuple[str, ...] = COCO_KEYPOINT_NAMES + ('top_head', 'neck')
POINT_INDEX = {name: i for i, name in enumerate(FIGURE_POINT_NAMES)}
SIDES = (('left', 1.0), ('right', -1.0))

# Image ids are ``split code * 10**6 + index + 1``: unique over all splits of a layout.
SPLIT_CODES = {'train': 1, 'val': 2, 'test': 3, 'trainval': 4}
MAX_IMAGES = 10**6 - 1
# Annotation ids are ``image id * 100 + person number``.
MAX_PEOPLE = 99


@dataclass(frozen=True)
class LayoutSpec:
    """How one dataset flavour is laid out on disk and what it annotates.

    Args:
        name (str): ``'coco'``, ``'crowdpose'``, ``'ochuman'`` or ``'ocpose'``.
        dataset_type (str): The mmpose dataset class that reads it.
        code (int): A small number that makes the layout part of the random streams.
        keypoint_names (tuple[str]): Annotated joints, in order.
        skeleton (tuple[tuple[int, int]]): 1-based links for the json ``categories``.
        splits (tuple[str]): The splits ``generate_all`` writes.
        ann_file (str): Annotation path under the root, with ``{split}``.
        img_dir (str): Image folder under the root, with ``{split}`` where it has one.
        detection_splits (tuple[str]): Splits that get a person detection file.
        default_num_images (tuple[int]): Images per split of ``splits``.
        default_people (tuple[int, int]): Min / max people per image.
        default_occlusion (float): Occlusion level in [0, 1].
        pairs (bool): People come in heavily overlapping pairs (OCHuman style).
    """

    name: str
    dataset_type: str
    code: int
    keypoint_names: Tuple[str, ...]
    skeleton: Tuple[Tuple[int, int], ...]
    splits: Tuple[str, ...]
    ann_file: str
    img_dir: str
    detection_splits: Tuple[str, ...]
    default_num_images: Tuple[int, ...]
    default_people: Tuple[int, int]
    default_occlusion: float
    pairs: bool = False

    @property
    def point_index(self) -> List[int]:
        """list[int]: Index into :data:`FIGURE_POINT_NAMES` of each annotated joint."""
        return [POINT_INDEX[name] for name in self.keypoint_names]

    def ann_path(self, root: str, split: str) -> str:
        """Path of the annotation json of ``split`` under ``root``."""
        return osp.join(root, self.ann_file.format(split=split))

    def img_path(self, root: str, split: str) -> str:
        """Image folder of ``split`` under ``root`` (what ``data_prefix['img']`` names)."""
        return osp.join(root, self.img_dir.format(split=split))

    @staticmethod
    def detection_path(root: str, split: str) -> str:
        """Path of the person detection file (mmpose's ``bbox_file``) of ``split``."""
        return osp.join(root, 'person_detection_results', f'{split}_detections.json')


LAYOUTS: Dict[str, LayoutSpec] = {
    'coco': LayoutSpec(
        name='coco',
        dataset_type='CocoDataset',
        code=1,
        keypoint_names=COCO_KEYPOINT_NAMES,
        skeleton=COCO_SKELETON,
        splits=('train', 'val', 'test'),
        ann_file='annotations/person_keypoints_{split}.json',
        img_dir='images/{split}',
        detection_splits=('val', 'test'),
        default_num_images=(200, 100, 100),
        default_people=(1, 4),
        default_occlusion=0.5,
    ),
    'crowdpose': LayoutSpec(
        name='crowdpose',
        dataset_type='CrowdPoseDataset',
        code=2,
        keypoint_names=CROWDPOSE_KEYPOINT_NAMES,
        skeleton=CROWDPOSE_SKELETON,
        splits=('trainval', 'test'),
        ann_file='annotations/mmpose_crowdpose_{split}.json',
        img_dir='images',
        detection_splits=('test',),
        default_num_images=(300, 100),
        default_people=(2, 5),
        default_occlusion=0.6,
    ),
    'ochuman': LayoutSpec(
        name='ochuman',
        dataset_type='OCHumanDataset',
        code=3,
        keypoint_names=COCO_KEYPOINT_NAMES,
        skeleton=COCO_SKELETON,
        splits=('val', 'test'),
        ann_file='annotations/ochuman_coco_format_{split}_range_0.00_1.00.json',
        img_dir='images',
        detection_splits=(),
        default_num_images=(100, 100),
        default_people=(2, 4),
        default_occlusion=0.6,
        pairs=True,
    ),
    # OCPose: two intertwined people per image, 12 joints; the COCO json is what
    # convert_ocpose makes of the raw file written beside it (raw/ocpose_{split}.json)
    'ocpose': LayoutSpec(
        name='ocpose',
        dataset_type='OCPoseDataset',
        code=4,
        keypoint_names=OCPOSE_KEYPOINT_NAMES,
        skeleton=OCPOSE_SKELETON,
        splits=('train', 'test'),
        ann_file='annotations/ocpose_{split}.json',
        img_dir='images',
        detection_splits=(),
        default_num_images=(100, 50),
        default_people=(2, 2),
        default_occlusion=0.6,
        pairs=True,
    ),
}


@dataclass
class SyntheticPerson:
    """One drawn figure.

    Args:
        points (np.ndarray): (P, 2) image coordinates of the :data:`FIGURE_POINT_NAMES`
            points (cv2 convention: pixel ``i`` is centered at ``i``).
        visibility (np.ndarray): (P, ) 2 visible, 1 hidden by something drawn later,
            0 outside the image.
        bbox (tuple[int, int, int, int]): Amodal box ``(x, y, w, h)`` of the whole figure,
            clipped to the image.
        visible_mask (np.ndarray): (H, W) bool, the pixels that show this figure.
        height (float): Nominal figure height in pixels (head top to ankles when upright).
    """

    points: np.ndarray
    visibility: np.ndarray
    bbox: Tuple[int, int, int, int]
    visible_mask: np.ndarray
    height: float


@dataclass
class SplitSummary:
    """What one annotation file holds.

    Args:
        split (str): Split name.
        ann_file (str): Path of the json.
        num_images (int): Images.
        num_instances (int): Annotated people.
        num_labelled (int): Joints with v > 0.
        num_occluded (int): Occluded joints (v == 1; v == 1 or 3 in a COCO-RE file).
        skipped (bool): The file existed and was kept.
    """

    split: str
    ann_file: str
    num_images: int
    num_instances: int
    num_labelled: int
    num_occluded: int
    skipped: bool = False

    @property
    def occluded_fraction(self) -> float:
        """float: Fraction of labelled joints that are occluded."""
        return self.num_occluded / max(self.num_labelled, 1)

    def __str__(self) -> str:
        state = 'kept existing' if self.skipped else 'wrote'
        return (
            f'{self.split}: {state} {self.ann_file} - {self.num_images} images, '
            f'{self.num_instances} instances, {self.num_labelled} labelled joints, '
            f'{self.occluded_fraction:.1%} of them occluded'
        )
