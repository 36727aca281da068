# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Stand-ins for the compiled ops of mmcv (``mmcv._ext``), for an mmcv-lite installation.

mmcv-lite is mmcv without its compiled extension ``mmcv/_ext``. Its Python tree is complete,
but ``mmcv.ops`` asserts at import that ``mmcv._ext`` holds every op it wraps, and mmpose,
mmdet and dag_mmpose import ``mmcv.ops``. The top-down pose path never calls a compiled op;
a detector in front of it calls two, ``nms`` and ``roi_align``.

This package makes ``import mmcv._ext`` resolve to :mod:`dag_mmcv_ext.ops` when, and only
when, mmcv has no compiled ``_ext`` of its own: :func:`install` appends a finder to
``sys.meta_path``, after Python's own path finder, so a real ``mmcv/_ext*.so`` is always
found first. ``dag_mmcv_ext.pth`` (installed beside this package in site-packages) calls
:func:`install` at interpreter start, so every import order works (``import mmpose.models``
with or without ``import dag_mmpose``). The finder imports nothing heavy: torch and
torchvision load only when ``mmcv._ext`` itself is imported. ``pip uninstall dag-mmcv-ext``
removes both files, and with them the stand-ins.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import os.path as osp
import sys
from typing import Optional, Sequence

__all__ = ['STANDIN_NAME', 'install', 'is_installed']
__version__ = '0.1.0'

STANDIN_NAME = 'mmcv._ext'
_OPS_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'ops.py')


class _StandInFinder(importlib.abc.MetaPathFinder):
    """Finds ``mmcv._ext`` as :mod:`dag_mmcv_ext.ops` (the finder after Python's own)."""

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target=None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != STANDIN_NAME:
            return None
        # a compiled extension in mmcv's own folder always wins (full mmcv)
        if importlib.machinery.PathFinder.find_spec(fullname, path) is not None:
            return None
        return importlib.util.spec_from_file_location(fullname, _OPS_FILE)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(mmcv._ext -> {_OPS_FILE})'


def is_installed() -> bool:
    """Whether the finder is in ``sys.meta_path``."""
    return any(isinstance(finder, _StandInFinder) for finder in sys.meta_path)


def install() -> None:
    """Append the finder to ``sys.meta_path`` (once)."""
    if not is_installed():
        sys.meta_path.append(_StandInFinder())
