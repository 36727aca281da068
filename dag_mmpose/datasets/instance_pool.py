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
import os
import os.path as osp
import uuid
from collections import OrderedDict
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    'INDEX_FILE',
    'DATA_FILE_PREFIX',
    'POOL_FORMAT',
    'POOL_VERSION',
    'InstancePool',
    'InstancePoolWriter',
]

INDEX_FILE = 'index.json'
# data files are named ``crops-<token>.u8``, a new token per build; ``crops.u8`` is the
# name earlier builds used (still read, and cleaned up by the next build)
DATA_FILE_PREFIX = 'crops'
DATA_FILE_SUFFIX = '.u8'
POOL_FORMAT = 'dag_mmpose.instance_pool'
POOL_VERSION = 1
CHANNEL_ORDER = 'bgra'


def _read_index(index_path: str) -> Optional[Any]:
    """The parsed ``index.json`` (``None`` when it cannot be read as JSON)."""
    try:
        with open(index_path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _is_pool_index(index: Any) -> bool:
    return isinstance(index, dict) and index.get('format') == POOL_FORMAT


def _indexed_data_file(index_path: str) -> Optional[str]:
    """The data file an existing pool index names, if it is one a writer made; else
    ``None``. Files named by an ``index.json`` of another format are never ours."""
    index = _read_index(index_path)
    name = index.get('data_file') if _is_pool_index(index) else None
    is_ours = (
        isinstance(name, str)
        and osp.basename(name) == name
        and name.startswith(DATA_FILE_PREFIX)
        and name.endswith(DATA_FILE_SUFFIX)
    )
    return name if is_ours else None


def _error(path: str, problem: str) -> ValueError:
    return ValueError(f'malformed instance pool index {path}: {problem}')


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
            raise _error(self.index_file, f'not valid json ({e})') from None
        self._parse(index)
        self._data: Optional[np.memmap] = None

    def _parse(self, index: Any) -> None:
        """Validate ``index`` and keep it as arrays."""
        path = self.index_file
        if not isinstance(index, dict):
            raise _error(path, 'the top level must be a json object')
        missing = [
            k
            for k in (
                'format',
                'version',
                'num_keypoints',
                'margin',
                'data_file',
                'data_bytes',
                'channel_order',
                'instances',
            )
            if k not in index
        ]
        if missing:
            raise _error(path, f'missing keys {missing}')
        if index['format'] != POOL_FORMAT:
            raise _error(path, f'format is {index["format"]!r}, expected {POOL_FORMAT!r}')
        if index['version'] != POOL_VERSION:
            raise _error(
                path,
                f'format version {index["version"]!r} is not supported '
                f'(this dag_mmpose reads version {POOL_VERSION}); rebuild the pool',
            )
        if index['channel_order'] != CHANNEL_ORDER:
            raise _error(
                path, f'channel_order is {index["channel_order"]!r}, expected {CHANNEL_ORDER!r}'
            )
        num_keypoints, margin = index['num_keypoints'], index['margin']
        sizes = (
            ('num_keypoints', num_keypoints),
            ('margin', margin),
            ('data_bytes', index['data_bytes']),
        )
        for name, value in sizes:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise _error(path, f'{name} must be an int >= 0, got {value!r}')
        data_file = index['data_file']
        if not isinstance(data_file, str) or not data_file or osp.basename(data_file) != data_file:
            raise _error(
                path, f'data_file must be a file name inside the pool folder, got {data_file!r}'
            )
        names = index.get('keypoint_names')
        if names is not None and (not isinstance(names, list) or len(names) != num_keypoints):
            raise _error(path, f'keypoint_names must be null or a list of {num_keypoints} names')
        instances = index['instances']
        if not isinstance(instances, list):
            raise _error(path, '`instances` must be a list')
        if not instances:
            raise ValueError(f'instance pool {path} is empty: it lists no person')

        self.data_file = osp.join(self.pool_dir, data_file)
        if not osp.isfile(self.data_file):
            raise FileNotFoundError(f'instance pool data file not found: {self.data_file}')
        data_size = osp.getsize(self.data_file)
        if data_size != index['data_bytes']:
            raise _error(
                path,
                f'its data file {self.data_file} has {data_size} bytes, but the index was '
                f'written with {index["data_bytes"]}: the data file is not the one this index '
                'describes (changed or truncated since); rebuild the pool',
            )

        num = len(instances)
        offsets = np.zeros(num, np.int64)
        sizes = np.zeros((num, 2), np.int64)
        keypoints = np.zeros((num, num_keypoints, 3), np.float32)
        image_ids, ann_ids = [], []
        for i, item in enumerate(instances):
            where = f'instance {i}'
            if not isinstance(item, dict):
                raise _error(path, f'{where} is not a json object')
            missing = [
                k
                for k in ('offset', 'height', 'width', 'keypoints', 'image_id', 'ann_id')
                if k not in item
            ]
            if missing:
                raise _error(path, f'{where} misses keys {missing}')
            for key in ('offset', 'height', 'width'):
                value = item[key]
                low = 0 if key == 'offset' else 2 * margin + 1
                if not isinstance(value, int) or isinstance(value, bool) or value < low:
                    raise _error(path, f'{where}: {key} must be an int >= {low}, got {value!r}')
            end = item['offset'] + item['height'] * item['width'] * 4
            if end > data_size:
                raise _error(
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
                raise _error(path, f'{where}: keypoints must be {num_keypoints} [x, y, v] triples')
            if not np.all(np.isfinite(kpts)):
                raise _error(path, f'{where}: keypoints must be finite')
            offsets[i] = item['offset']
            sizes[i] = (item['height'], item['width'])
            keypoints[i] = kpts.reshape(num_keypoints, 3)
            image_ids.append(item['image_id'])
            ann_ids.append(item['ann_id'])

        self.num_keypoints = num_keypoints
        self.keypoint_names = list(names) if names is not None else None
        self.margin = margin
        self.offsets = offsets
        self.sizes = sizes
        self.keypoints = keypoints
        self.image_ids = image_ids
        self.ann_ids = ann_ids
        self.meta = {k: v for k, v in index.items() if k != 'instances'}

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
        if osp.exists(index_path) and not _is_pool_index(_read_index(index_path)):
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
            replaced = _indexed_data_file(index_path)
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
