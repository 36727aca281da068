# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Fail early, and say why, when the installed OpenMMLab stack is outside the tested range."""

import importlib.metadata
import importlib.util
import os
import warnings
from importlib import import_module
from typing import Tuple

from mmengine.utils import digit_version

from dag_mmpose.version import MMCV_RANGE, MMENGINE_RANGE, MMPOSE_RANGE

_INSTALL_HINT = (
    'Run `bash tools/install.sh` from the dag_mmpose repository, or see README "Install".'
)


def check_version(package: str, installed: str, supported: Tuple[str, str]) -> None:
    """Raise ``ImportError`` naming ``package`` when ``installed`` is not in ``supported``.

    Args:
        package (str): The package name, used in the message.
        installed (str): The installed version string.
        supported (tuple[str, str]): ``(min_inclusive, max_exclusive)``, compared with
            mmengine's ``digit_version``: a pre-release (``2.0.1rc1``) is below its release.
    """
    low, high = supported
    if not digit_version(low) <= digit_version(installed) < digit_version(high):
        raise ImportError(
            f'dag_mmpose supports {package}>={low},<{high}, but {package}=={installed} is '
            f'installed. {_INSTALL_HINT}'
        )


def mmcv_route() -> str:
    """Which mmcv serves ``mmcv.ops``: ``'full'`` (its compiled ``mmcv._ext``), ``'lite'``
    (mmcv-lite with the stand-ins of ``packages/dag_mmcv_ext``) or ``'missing'`` (mmcv-lite
    alone: ``mmcv.ops`` cannot import). Finds the module without importing it."""
    spec = importlib.util.find_spec('mmcv._ext')
    if spec is None:
        return 'missing'
    folder = os.path.basename(os.path.dirname(spec.origin or ''))
    return 'lite' if folder == 'dag_mmcv_ext' else 'full'


def check_mmcv_ops() -> str:
    """Raise ``ImportError`` when mmcv has neither compiled ops nor the stand-ins, and warn
    when both mmcv and mmcv-lite are installed (their files overwrite each other); return
    :func:`mmcv_route`."""
    route = mmcv_route()
    if route == 'missing':
        raise ImportError(
            'mmcv has no compiled ops (`mmcv._ext`): this is mmcv-lite without the '
            "stand-ins that serve mmcv.ops' imports. Install them with `pip install "
            'packages/dag_mmcv_ext` from the dag_mmpose repository (what `bash '
            'tools/install.sh` does), or full mmcv with `bash tools/install.sh --mmcv full`.'
        )
    installed = {name for name in ('mmcv', 'mmcv-lite') if _has_distribution(name)}
    if len(installed) == 2:
        warnings.warn(
            'both mmcv and mmcv-lite are installed: they write the same files, so which one '
            'you have is unclear. Keep one: `pip uninstall -y mmcv mmcv-lite` and run `bash '
            'tools/install.sh` (lite) or `bash tools/install.sh --mmcv full`.',
            stacklevel=2,
        )
    return route


def _has_distribution(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def check_openmmlab_versions() -> None:
    """Check mmengine, mmcv and mmpose against the ranges in ``dag_mmpose.version``, and
    that ``mmcv.ops`` can import (:func:`check_mmcv_ops`)."""
    for package, supported in (
        ('mmengine', MMENGINE_RANGE),
        ('mmcv', MMCV_RANGE),
        ('mmpose', MMPOSE_RANGE),
    ):
        try:
            module = import_module(package)
        except ImportError as err:
            raise ImportError(
                f'dag_mmpose needs {package} ({supported[0]} <= version < '
                f'{supported[1]}), which cannot be imported: {err}. '
                f'{_INSTALL_HINT}'
            ) from err
        check_version(package, module.__version__, supported)
        if package == 'mmcv':
            check_mmcv_ops()
