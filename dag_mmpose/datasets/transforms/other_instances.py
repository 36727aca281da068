# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Bring the other annotated people of the image into the top-down crop."""

import pickle
from collections import defaultdict
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset
from mmpose.datasets.dataset_wrappers import CombinedDataset
from mmpose.registry import TRANSFORMS

from .keypoint_utils import (
    check_finite_keypoints,
    describe_sample,
    inside_crop,
    keypoints_into_crop,
    visibility_flags,
)

# attribute under which the img_id -> sample indices index is cached on the dataset object
_INDEX_ATTR = '_dag_img_id_index'


def _iter_img_ids(dataset: Any) -> Iterator[Any]:
    """Yield the ``img_id`` of every sample of ``dataset`` in index order.

    ``get_data_info`` deserializes and deep-copies one whole sample (plus mmpose's metainfo)
    per call, which costs seconds on COCO and is repeated in every dataloader worker, so
    mmengine's own storage is read directly when it is the plain ``BaseDataset`` one.
    """
    if isinstance(dataset, BaseDataset) and dataset.serialize_data:
        data_bytes, data_address = dataset.data_bytes, dataset.data_address
        start = 0
        for end in data_address.tolist():
            yield pickle.loads(memoryview(data_bytes[start:end]))['img_id']
            start = end
    elif isinstance(dataset, BaseDataset):
        for data_info in dataset.data_list:
            yield data_info['img_id']
    else:
        for idx in range(len(dataset)):
            yield dataset.get_data_info(idx)['img_id']


def get_img_id_index(dataset: Any) -> Dict[Any, List[int]]:
    """Return the ``img_id -> [sample index, ...]`` index of a dataset, building it once.

    The index is cached on the dataset object itself, so each dataloader worker builds it
    once for its own copy; it is rebuilt if the dataset length changes.

    Args:
        dataset: A top-down dataset whose ``get_data_info(idx)`` returns dicts with
            ``img_id`` (any mmpose ``BaseCocoStyleDataset``).

    Returns:
        dict: Sample indices of every image id.
    """
    cached = getattr(dataset, _INDEX_ATTR, None)
    if cached is not None and cached[0] == len(dataset):
        return cached[1]
    index = defaultdict(list)
    for idx, img_id in enumerate(_iter_img_ids(dataset)):
        index[img_id].append(idx)
    index = dict(index)
    setattr(dataset, _INDEX_ATTR, (len(dataset), index))
    return index


@TRANSFORMS.register_module()
class GetOtherInstances(BaseTransform):
    """Put the keypoints of the other annotated people of the image into the crop.

    DAG's multi-joint heatmaps need every person in the crop, while a top-down sample
    holds one. This transform looks the other people of the same image up in the dataset
    that mmpose's ``BaseCocoStyleDataset.prepare_data`` stores in ``results['dataset']``
    (so any COCO-style dataset works unchanged), excludes the target by its annotation
    ``id`` (an id shared by several samples of the image is an error: mmpose's loader has
    made them copies of one person, see ``docs/reliability.md``), flips them like
    ``RandomFlip`` flipped the image and warps them with the matrix of ``TopdownAffine``.
    Place it right after ``TopdownAffine``, with ``RandomFlip`` before ``TopdownAffine`` as
    in mmpose's top-down pipelines, and give it the same ``input_size`` and ``use_udp``: it
    checks its warp against the target's ``transformed_keypoints`` and raises a
    ``ValueError`` when they disagree.

    Without a ``dataset`` in the results (inference, ``inference_topdown``), with a
    dataset of person detections (``bbox_file``: its instances carry no keypoints) or
    without other people in the image, it writes empty (0, K, 2) / (0, K) arrays, which
    ``DAGHeatmap`` treats as "no other people".

    Keypoints or visibility flags that are NaN or infinite (the target's or another
    person's) raise a ``ValueError`` naming the image and annotation, and so does a place
    after ``InstancePaste`` (whose pasted people would be overwritten).

    ``CombinedDataset`` is not supported: its samples come out of the sub-datasets'
    pipelines, so the other people cannot be looked up without re-running them.

    Required Keys:

        - img_shape (shape of the whole image, which ``TopdownAffine`` does not change)
        - bbox_center
        - bbox_scale (with the aspect ratio fixed by ``TopdownAffine``)
        - bbox_rotation (optional)
        - flip (optional)
        - flip_direction (optional)
        - flip_indices
        - keypoints (optional, gives K)
        - transformed_keypoints (with ``keypoints``: checks the warp)
        - input_size (optional, checked against ``input_size``)
        - dataset (optional)
        - img_id (when ``dataset`` is given)
        - id (when ``dataset`` is given)

    Added Keys:

        - other_keypoints (np.ndarray): (M, K, 2) float32, input-crop pixels
        - other_keypoints_visible (np.ndarray): (M, K) float32, 0 for unlabelled joints
          and for joints outside the crop

    Args:
        input_size (Tuple[int, int]): The input size of the model in [w, h], as given to
            ``TopdownAffine``.
        use_udp (bool): Whether ``TopdownAffine`` uses unbiased data processing.
            Defaults to ``False``.
        max_instances (int, optional): Keep at most this many other people, those with
            the most labelled joints inside the crop first. ``None`` keeps all.
            Defaults to ``None``.
    """

    def __init__(
        self,
        input_size: Tuple[int, int],
        use_udp: bool = False,
        max_instances: Optional[int] = None,
    ) -> None:
        super().__init__()
        if len(input_size) != 2 or not all(isinstance(s, int) for s in input_size):
            raise ValueError(f'input_size must be two ints (w, h), got {input_size}')
        if max_instances is not None and max_instances < 0:
            raise ValueError(f'max_instances must be None or >= 0, got {max_instances}')
        self.input_size = tuple(input_size)
        self.use_udp = use_udp
        self.max_instances = max_instances

    @staticmethod
    def _num_keypoints(results: dict) -> int:
        """K of the dataset, from the target keypoints or else the flip indices."""
        keypoints = results.get('keypoints', None)
        if keypoints is not None and np.ndim(keypoints) == 3:
            return int(keypoints.shape[1])
        if results.get('flip_indices', None) is not None:
            return len(results['flip_indices'])
        dataset = results.get('dataset', None)
        return int(getattr(dataset, 'metainfo', {}).get('num_keypoints', 0))

    def _collect(self, results: dict, num_keypoints: int) -> Tuple[np.ndarray, np.ndarray]:
        """Keypoints (M, K, 2) and visibility (M, K) of the other people, in image pixels
        before any flip."""
        dataset = results['dataset']
        if isinstance(dataset, CombinedDataset):
            raise ValueError(
                'GetOtherInstances cannot look other people up in a CombinedDataset; use it '
                'with a single COCO-style dataset per pipeline.'
            )
        for key in ('img_id', 'id'):
            if key not in results:
                raise KeyError(
                    f'GetOtherInstances needs `{key}` in the results to find '
                    'the other people of the image'
                )

        keypoints, visible = [], []
        repeated = 0
        for idx in get_img_id_index(dataset).get(results['img_id'], []):
            info = dataset.get_data_info(idx)
            if info.get('id') == results['id']:
                repeated += 1
                continue
            check_finite_keypoints(
                info['keypoints'],
                info['keypoints_visible'],
                'GetOtherInstances',
                f"another person ({describe_sample(info)}) of the target's image",
            )
            other_visible = visibility_flags(info['keypoints_visible'])
            keypoints.append(np.asarray(info['keypoints'], dtype=np.float32)[..., :2])
            visible.append(other_visible)
        if repeated > 1:
            # xtcocotools indexes annotations by id, so mmpose's COCO loader turns every
            # annotation of a repeated id into a copy of the last one: the other people of
            # that id are lost before any transform runs
            raise ValueError(
                f'GetOtherInstances: {repeated} samples of image {results["img_id"]} carry the '
                f'annotation id {results["id"]}. mmpose loads COCO files through xtcocotools, '
                'which keeps only the last annotation of a repeated id, so these samples are '
                'copies of one person and the others are lost: give every annotation of the '
                'file its own id'
            )
        if not keypoints:
            return (
                np.zeros((0, num_keypoints, 2), dtype=np.float32),
                np.zeros((0, num_keypoints), dtype=np.float32),
            )
        return (
            np.concatenate(keypoints, axis=0).reshape(-1, num_keypoints, 2),
            np.concatenate(visible, axis=0).reshape(-1, num_keypoints),
        )

    def transform(self, results: Dict) -> Optional[dict]:
        """Add ``other_keypoints`` and ``other_keypoints_visible``.

        Args:
            results (dict): The result dict, after ``TopdownAffine``.

        Returns:
            dict: The result dict.
        """
        if 'pasted_instances' in results:
            raise ValueError(
                'GetOtherInstances runs after InstancePaste: it would replace the pasted '
                "people's keypoints in `other_keypoints` (and the multi-joint target would "
                'miss them); place InstancePaste after GetOtherInstances'
            )
        num_keypoints = self._num_keypoints(results)
        target = f'the target ({describe_sample(results)})'
        check_finite_keypoints(None, results.get('keypoints_visible'), 'GetOtherInstances', target)
        dataset = results.get('dataset', None)
        if dataset is None or getattr(dataset, 'bbox_file', None):
            results['other_keypoints'] = np.zeros((0, num_keypoints, 2), dtype=np.float32)
            results['other_keypoints_visible'] = np.zeros((0, num_keypoints), dtype=np.float32)
            return results

        if 'input_size' in results and tuple(results['input_size']) != self.input_size:
            raise ValueError(
                f'GetOtherInstances(input_size={self.input_size}) does not match '
                f'TopdownAffine(input_size={tuple(results["input_size"])})'
            )

        keypoints, visible = self._collect(results, num_keypoints)

        keypoints, visible = keypoints_into_crop(
            results, keypoints, visible, 'GetOtherInstances', self.input_size, self.use_udp
        )

        inside = inside_crop(keypoints, self.input_size)
        visible = (visible * inside).astype(np.float32)

        if self.max_instances is not None and keypoints.shape[0] > self.max_instances:
            # people with most joints in the crop shape the multi-joint target most
            order = np.argsort(-(visible > 0).sum(axis=1), kind='stable')
            keep = np.sort(order[: self.max_instances])
            keypoints, visible = keypoints[keep], visible[keep]

        results['other_keypoints'] = keypoints
        results['other_keypoints_visible'] = visible
        return results

    def __repr__(self) -> str:
        """print the basic information of the transform.

        Returns:
            str: Formatted string.
        """
        repr_str = self.__class__.__name__
        repr_str += f'(input_size={self.input_size}, '
        repr_str += f'use_udp={self.use_udp}, '
        repr_str += f'max_instances={self.max_instances})'
        return repr_str
