# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Fail early, and say why, when the installed OpenMMLab stack is outside the tested range."""

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


def check_openmmlab_versions() -> None:
    """Check mmengine, mmcv and mmpose against the ranges in ``dag_mmpose.version``."""
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
