# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The on-disk format of an instance pool (``docs/instance_pool.md``): its file names, format
name and version, and reading an existing ``index.json``, shared by
:class:`~dag_mmpose.datasets.instance_pool.InstancePool` (the reader) and
:class:`~dag_mmpose.datasets.instance_pool.InstancePoolWriter`."""

import json
import os.path as osp
from typing import Any, Optional

__all__ = [
    'CHANNEL_ORDER',
    'DATA_FILE_PREFIX',
    'DATA_FILE_SUFFIX',
    'INDEX_FILE',
    'POOL_FORMAT',
    'POOL_VERSION',
    'index_error',
    'indexed_data_file',
    'is_pool_index',
    'read_index',
]

INDEX_FILE = 'index.json'
# data files are named ``crops-<token>.u8``, a new token per build; ``crops.u8`` is the
# name earlier builds used (still read, and cleaned up by the next build)
DATA_FILE_PREFIX = 'crops'
DATA_FILE_SUFFIX = '.u8'
POOL_FORMAT = 'dag_mmpose.instance_pool'
POOL_VERSION = 1
CHANNEL_ORDER = 'bgra'


def read_index(index_path: str) -> Optional[Any]:
    """The parsed ``index.json`` (``None`` when it cannot be read as JSON)."""
    try:
        with open(index_path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_pool_index(index: Any) -> bool:
    """Whether a parsed ``index.json`` is an instance pool's (whatever its version)."""
    return isinstance(index, dict) and index.get('format') == POOL_FORMAT


def indexed_data_file(index_path: str) -> Optional[str]:
    """The data file an existing pool index names, if it is one a writer made; else
    ``None``. Files named by an ``index.json`` of another format are never ours."""
    index = read_index(index_path)
    name = index.get('data_file') if is_pool_index(index) else None
    is_ours = (
        isinstance(name, str)
        and osp.basename(name) == name
        and name.startswith(DATA_FILE_PREFIX)
        and name.endswith(DATA_FILE_SUFFIX)
    )
    return name if is_ours else None


def index_error(path: str, problem: str) -> ValueError:
    """The error about a malformed pool index at ``path``."""
    return ValueError(f'malformed instance pool index {path}: {problem}')
