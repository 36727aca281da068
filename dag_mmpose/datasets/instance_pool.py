# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The instance pool of ``InstancePaste``: segmented people cut out of a COCO-format dataset.

A pool is a folder with two files (the format is documented in ``docs/instance_pool.md``):

- ``index.json``: format name and version, the number and names of the keypoints, the
  margin around each person and one entry per person (byte offset, height, width,
  keypoints in crop pixels, source image id and annotation id);
- ``crops-<token>.u8`` (the name the index's ``data_file`` gives): the raw 4-channel uint8
  crops (color in BGR order like ``cv2`` / mmcv read images, then alpha = the person's
  mask), concatenated in index order.

Every build writes a data file of a new name and commits by replacing ``index.json`` in one
``os.replace``: an index only ever names the data file written with it, so a failed or
interrupted rebuild leaves the previous pool whole, never old ids over new pixels.

Nothing is pickled: :class:`InstancePool` parses the json and reads the crops through an
``np.memmap`` that each process opens on its first access, so dataloader workers share the
page cache instead of copying crops. :func:`~dag_mmpose.datasets.instance_pool_builder.
build_instance_pool` writes a pool from any COCO-format annotation file with person
segmentations (polygons or RLE) through :class:`InstancePoolWriter`.

:class:`InstancePoolWriter` (from :mod:`~dag_mmpose.datasets.instance_pool_writer`) and the
format's names (from :mod:`~dag_mmpose.datasets.instance_pool_format`) are exported here too.

Example:
    >>> import tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as pool_dir:
    ...     with InstancePoolWriter(pool_dir, num_keypoints=1, margin=0) as writer:
    ...         writer.add(np.full((4, 3, 4), 255, np.uint8), [[1., 2., 2.]])
    ...     pool = InstancePool(pool_dir)
    ...     rgba, keypoints = pool[0]
    >>> len(pool), rgba.shape, keypoints.tolist()
    (1, (4, 3, 4), [[1.0, 2.0, 2.0]])
"""

import json
import os.path as osp
from typing import Any, List, Optional, Tuple

import numpy as np

from .instance_pool_format import (
    CHANNEL_ORDER,
    DATA_FILE_PREFIX,
    INDEX_FILE,
    POOL_FORMAT,
    POOL_VERSION,
    index_error,
)
from .instance_pool_writer import InstancePoolWriter

__all__ = [
    'INDEX_FILE',
    'DATA_FILE_PREFIX',
    'POOL_FORMAT',
    'POOL_VERSION',
    'InstancePool',
    'InstancePoolWriter',
]

# the keys of an index and of each of its instances
_INDEX_KEYS = (
    'format',
    'version',
    'num_keypoints',
    'margin',
    'data_file',
    'data_bytes',
    'channel_order',
    'instances',
)
_INSTANCE_KEYS = ('offset', 'height', 'width', 'keypoints', 'image_id', 'ann_id')


class InstancePool:
    """Read-only access to an instance pool written by :func:`build_instance_pool`.

    The index is parsed and validated at construction; the crop data file is mapped
    (``np.memmap``, read-only) on the first :meth:`__getitem__` of each process. Pickling
    keeps the path and the parsed index only, so dataloader workers never copy crops.

    Args:
        pool_dir (str): The pool folder holding ``index.json`` and its data file.

    Raises:
        FileNotFoundError: The folder, its index or its data file does not exist.
        ValueError: The index is malformed (not json, wrong format or version, missing keys,
            bad shapes, crops beyond the end of the data file), the data file's size is not
            the ``data_bytes`` the index was written with, or it lists no person.

    Attributes:
        num_keypoints (int): K, the keypoints stored per person (0: none).
        keypoint_names (list[str] | None): Their names, when the source dataset gave them.
        margin (int): Pixels of context around each person's mask box inside its crop.
        sizes (np.ndarray): (N, 2) int64 ``(height, width)`` of every crop.
        keypoints (np.ndarray): (N, K, 3) float32 ``(x, y, v)`` in crop pixels, v as in
            COCO (0 unlabelled).
        image_ids (list): Source image id of every person.
        ann_ids (list): Source annotation id of every person.
        meta (dict): The rest of the index (source files, filters, counts).
    """

    def __init__(self, pool_dir: str) -> None:
        self.pool_dir = str(pool_dir)
        if not osp.isdir(self.pool_dir):
            raise FileNotFoundError(f'instance pool directory not found: {self.pool_dir}')
        self.index_file = osp.join(self.pool_dir, INDEX_FILE)
        if not osp.isfile(self.index_file):
            raise FileNotFoundError(
                f'instance pool index not found: {self.index_file} (build the pool with '
                'tools/build_instance_pool.py)'
            )
        try:
            with open(self.index_file, encoding='utf-8') as f:
                index = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise index_error(self.index_file, f'not valid json ({e})') from None
        self._parse(index)
        self._data: Optional[np.memmap] = None

    def _parse(self, index: Any) -> None:
        """Validate ``index`` and keep it as arrays."""
        self._check_header(index)
        num_keypoints, margin = index['num_keypoints'], index['margin']
        names = index.get('keypoint_names')
        data_size = self._check_data_file(index)
        offsets, sizes, keypoints, image_ids, ann_ids = self._parse_instances(
            index['instances'], num_keypoints, margin, data_size
        )
        self.num_keypoints = num_keypoints
        self.keypoint_names = list(names) if names is not None else None
        self.margin = margin
        self.offsets = offsets
        self.sizes = sizes
        self.keypoints = keypoints
        self.image_ids = image_ids
        self.ann_ids = ann_ids
        self.meta = {k: v for k, v in index.items() if k != 'instances'}

    def _check_header(self, index: Any) -> None:
        """Check everything of the index but its data file and its instances' entries."""
        path = self.index_file
        if not isinstance(index, dict):
            raise index_error(path, 'the top level must be a json object')
        missing = [k for k in _INDEX_KEYS if k not in index]
        if missing:
            raise index_error(path, f'missing keys {missing}')
        if index['format'] != POOL_FORMAT:
            raise index_error(path, f'format is {index["format"]!r}, expected {POOL_FORMAT!r}')
        if index['version'] != POOL_VERSION:
            raise index_error(
                path,
                f'format version {index["version"]!r} is not supported '
                f'(this dag_mmpose reads version {POOL_VERSION}); rebuild the pool',
            )
        if index['channel_order'] != CHANNEL_ORDER:
            raise index_error(
                path, f'channel_order is {index["channel_order"]!r}, expected {CHANNEL_ORDER!r}'
            )
        num_keypoints = index['num_keypoints']
        for name in ('num_keypoints', 'margin', 'data_bytes'):
            value = index[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise index_error(path, f'{name} must be an int >= 0, got {value!r}')
        data_file = index['data_file']
        if not isinstance(data_file, str) or not data_file or osp.basename(data_file) != data_file:
            raise index_error(
                path, f'data_file must be a file name inside the pool folder, got {data_file!r}'
            )
        names = index.get('keypoint_names')
        if names is not None and (not isinstance(names, list) or len(names) != num_keypoints):
            raise index_error(
                path, f'keypoint_names must be null or a list of {num_keypoints} names'
            )
        if not isinstance(index['instances'], list):
            raise index_error(path, '`instances` must be a list')
        if not index['instances']:
            raise ValueError(f'instance pool {path} is empty: it lists no person')

    def _check_data_file(self, index: dict) -> int:
        """Set ``data_file`` (its path) and return its size, checked against the index."""
        self.data_file = osp.join(self.pool_dir, index['data_file'])
        if not osp.isfile(self.data_file):
            raise FileNotFoundError(f'instance pool data file not found: {self.data_file}')
        data_size = osp.getsize(self.data_file)
        if data_size != index['data_bytes']:
            raise index_error(
                self.index_file,
                f'its data file {self.data_file} has {data_size} bytes, but the index was '
                f'written with {index["data_bytes"]}: the data file is not the one this index '
                'describes (changed or truncated since); rebuild the pool',
            )
        return data_size

    def _parse_instances(
        self, instances: List[Any], num_keypoints: int, margin: int, data_size: int
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, list, list]:
        """The instances' byte offsets (N,), crop sizes (N, 2), keypoints (N, K, 3), image
        ids and annotation ids, each entry checked."""
        num = len(instances)
        offsets = np.zeros(num, np.int64)
        sizes = np.zeros((num, 2), np.int64)
        keypoints = np.zeros((num, num_keypoints, 3), np.float32)
        image_ids, ann_ids = [], []
        for i, item in enumerate(instances):
            keypoints[i] = self._parse_instance(i, item, num_keypoints, margin, data_size)
            offsets[i] = item['offset']
            sizes[i] = (item['height'], item['width'])
            image_ids.append(item['image_id'])
            ann_ids.append(item['ann_id'])
        return offsets, sizes, keypoints, image_ids, ann_ids

    def _parse_instance(
        self, i: int, item: Any, num_keypoints: int, margin: int, data_size: int
    ) -> np.ndarray:
        """Check instance ``i`` of the index and return its keypoints, (K, 3) float32."""
        path, where = self.index_file, f'instance {i}'
        if not isinstance(item, dict):
            raise index_error(path, f'{where} is not a json object')
        missing = [k for k in _INSTANCE_KEYS if k not in item]
        if missing:
            raise index_error(path, f'{where} misses keys {missing}')
        for key in ('offset', 'height', 'width'):
            value = item[key]
            low = 0 if key == 'offset' else 2 * margin + 1
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise index_error(path, f'{where}: {key} must be an int >= {low}, got {value!r}')
        end = item['offset'] + item['height'] * item['width'] * 4
        if end > data_size:
            raise index_error(
                path,
                f'{where} ends at byte {end}, beyond the end of '
                f'{self.data_file} ({data_size} bytes)',
            )
        try:
            kpts = np.asarray(item['keypoints'], dtype=np.float32)
        except (TypeError, ValueError):
            kpts = None
        if (
            kpts is None
            or kpts.size != num_keypoints * 3
            or (num_keypoints and kpts.shape != (num_keypoints, 3))
        ):
            raise index_error(path, f'{where}: keypoints must be {num_keypoints} [x, y, v] triples')
        if not np.all(np.isfinite(kpts)):
            raise index_error(path, f'{where}: keypoints must be finite')
        return kpts.reshape(num_keypoints, 3)

    def __len__(self) -> int:
        return len(self.offsets)

    def _memmap(self) -> np.memmap:
        if self._data is None:
            if not osp.isfile(self.data_file):
                raise FileNotFoundError(
                    f'instance pool data file {self.data_file} is gone: the pool was rebuilt '
                    'after this reader parsed its index; open the pool again'
                )
            self._data = np.memmap(self.data_file, dtype=np.uint8, mode='r')
        return self._data

    def __getitem__(self, idx: int) -> Tuple[np.ndarray, np.ndarray]:
        """One person of the pool.

        Args:
            idx (int): Index in ``[-len, len)``.

        Returns:
            tuple:
            - rgba (np.ndarray): (h, w, 4) uint8 read-only view of the crop, BGR + alpha.
            - keypoints (np.ndarray): (K, 3) float32 copy of ``(x, y, v)`` in crop pixels.
        """
        num = len(self)
        if not -num <= idx < num:
            raise IndexError(f'instance pool index {idx} out of range for {num} people')
        idx = int(idx) % num
        h, w = (int(v) for v in self.sizes[idx])
        start = int(self.offsets[idx])
        rgba = np.asarray(self._memmap()[start : start + h * w * 4]).reshape(h, w, 4)
        return rgba, self.keypoints[idx].copy()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_data'] = None  # mapped again on first access in the new process
        return state

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(pool_dir={self.pool_dir!r}, num_instances='
            f'{len(self)}, num_keypoints={self.num_keypoints})'
        )
