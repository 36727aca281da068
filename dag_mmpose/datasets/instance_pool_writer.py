# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Writing an instance pool (:class:`InstancePoolWriter`); read it with
:class:`~dag_mmpose.datasets.instance_pool.InstancePool`, which also exports the writer."""

import json
import os
import os.path as osp
import uuid
from collections import OrderedDict
from typing import Any, List, Optional, Sequence, Union

import numpy as np

from .instance_pool_format import (
    CHANNEL_ORDER,
    DATA_FILE_PREFIX,
    DATA_FILE_SUFFIX,
    INDEX_FILE,
    POOL_FORMAT,
    POOL_VERSION,
    indexed_data_file,
    is_pool_index,
    read_index,
)

__all__ = ['InstancePoolWriter']


class InstancePoolWriter:
    """Write an instance pool person by person; the index is written on :meth:`close`.

    Crops are appended to a data file of a new name (``crops-<token>.u8``) that no index
    refers to yet. :meth:`close` serializes the index, writes it beside and commits the pool
    by renaming it to ``index.json`` (one ``os.replace``); only then is the data file of the
    replaced pool removed (a build running beside keeps its own). Until that rename an
    existing pool in the folder stays whole and readable, whatever fails. Use it as a
    context manager: leaving the ``with`` block by an exception discards what was written.

    Args:
        out_dir (str): The pool folder (created if needed; an existing pool is replaced, an
            ``index.json`` of anything else is refused with a ``ValueError``).
        num_keypoints (int): K of every person (0 for a pool without keypoints).
        keypoint_names (Sequence[str], optional): Their names. Defaults to ``None``.
        margin (int): Pixels of context around each person's mask box in its crop; every
            crop must be larger than ``2 * margin`` in both sides and transparent within
            the margin. Defaults to 0.
        meta (dict, optional): Extra json-serializable entries of the index (source,
            filters). Defaults to ``None``.
    """

    def __init__(
        self,
        out_dir: str,
        num_keypoints: int,
        keypoint_names: Optional[Sequence[str]] = None,
        margin: int = 0,
        meta: Optional[dict] = None,
    ) -> None:
        if num_keypoints < 0 or margin < 0:
            raise ValueError(
                f'num_keypoints and margin must be >= 0, got {num_keypoints}, {margin}'
            )
        if keypoint_names is not None and len(keypoint_names) != num_keypoints:
            raise ValueError(f'{len(keypoint_names)} keypoint names for {num_keypoints} keypoints')
        self.out_dir = str(out_dir)
        index_path = osp.join(self.out_dir, INDEX_FILE)
        if osp.exists(index_path) and not is_pool_index(read_index(index_path)):
            raise ValueError(
                f'{index_path} exists and is not an instance pool index (not JSON, or no '
                f'"format": "{POOL_FORMAT}"): a pool build would replace it. Write the pool to '
                'an empty folder or a pool folder, or delete the file if it is a damaged pool '
                'index'
            )
        self.num_keypoints = int(num_keypoints)
        self.keypoint_names = list(keypoint_names) if keypoint_names is not None else None
        self.margin = int(margin)
        self.meta = dict(meta or {})
        self.instances: List[dict] = []
        self.offset = 0
        os.makedirs(self.out_dir, exist_ok=True)
        self.data_file = f'{DATA_FILE_PREFIX}-{uuid.uuid4().hex[:12]}{DATA_FILE_SUFFIX}'
        self._data_path = osp.join(self.out_dir, self.data_file)
        self._file = open(self._data_path, 'xb')

    def add(
        self,
        rgba: np.ndarray,
        keypoints: Union[np.ndarray, Sequence],
        image_id: Any = None,
        ann_id: Any = None,
    ) -> None:
        """Append one person.

        Args:
            rgba (np.ndarray): (h, w, 4) uint8 crop, BGR + alpha; the alpha must be 0
                within the margin.
            keypoints: (K, 3) ``(x, y, v)`` in crop pixels.
            image_id: Source image id (json-serializable). Defaults to ``None``.
            ann_id: Source annotation id (json-serializable). Defaults to ``None``.
        """
        rgba = np.ascontiguousarray(rgba)
        if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
            raise ValueError(f'a crop must be (h, w, 4) uint8, got {rgba.shape} {rgba.dtype}')
        h, w = rgba.shape[:2]
        if min(h, w) <= 2 * self.margin:
            raise ValueError(
                f'a crop of {h}x{w} pixels has no room inside its margin of {self.margin}'
            )
        m = self.margin
        if m and (
            rgba[:m, :, 3].any()
            or rgba[-m:, :, 3].any()
            or rgba[:, :m, 3].any()
            or rgba[:, -m:, 3].any()
        ):
            raise ValueError(f'the alpha of a crop must be 0 within its margin of {m} pixels')
        kpts = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
        if kpts.shape[0] != self.num_keypoints:
            raise ValueError(f'expected {self.num_keypoints} keypoints, got {kpts.shape[0]}')
        if not np.isfinite(kpts).all():
            raise ValueError(
                f'the keypoints of image {image_id!r}, annotation {ann_id!r} hold NaN or '
                'infinite values; a pool stores finite keypoints only'
            )
        self._file.write(rgba.tobytes())
        self.instances.append(
            OrderedDict(
                offset=self.offset,
                height=int(h),
                width=int(w),
                keypoints=[[round(float(x), 2), round(float(y), 2), int(v)] for x, y, v in kpts],
                image_id=image_id,
                ann_id=ann_id,
            )
        )
        self.offset += rgba.nbytes

    def __len__(self) -> int:
        return len(self.instances)

    def close(self) -> str:
        """Finish the pool: write its index and commit it.

        Returns:
            str: Path of the written ``index.json``.

        Raises:
            TypeError: ``meta``, an ``image_id`` or an ``ann_id`` is not json-serializable;
                nothing is committed and the folder's previous pool stays as it was.
        """
        self._file.close()
        index = OrderedDict(
            format=POOL_FORMAT,
            version=POOL_VERSION,
            data_file=self.data_file,
            data_bytes=self.offset,
            channel_order=CHANNEL_ORDER,
            num_keypoints=self.num_keypoints,
            keypoint_names=self.keypoint_names,
            margin=self.margin,
        )
        index.update((k, v) for k, v in self.meta.items() if k not in index)
        index['num_instances'] = len(self.instances)
        index['instances'] = self.instances
        index_path = osp.join(self.out_dir, INDEX_FILE)
        tmp_path = f'{index_path}.{self.data_file}.tmp'
        try:
            text = json.dumps(index, separators=(',', ':'))
            with open(tmp_path, 'w', encoding='utf-8') as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            replaced = indexed_data_file(index_path)
            os.replace(tmp_path, index_path)  # the commit
        except BaseException:
            if osp.exists(tmp_path):
                os.remove(tmp_path)
            self.discard()
            raise
        # the replaced pool's data (and an earlier version's temporary file) only: a build
        # running beside this one keeps its unfinished data file
        for name in (replaced, DATA_FILE_PREFIX + DATA_FILE_SUFFIX + '.tmp'):
            if name is not None and name != self.data_file:
                path = osp.join(self.out_dir, name)
                if osp.isfile(path):
                    os.remove(path)
        return index_path

    def discard(self) -> None:
        """Drop what was written so far; an existing pool in ``out_dir`` is kept."""
        self._file.close()
        if osp.exists(self._data_path):
            os.remove(self._data_path)

    def __enter__(self) -> 'InstancePoolWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()
