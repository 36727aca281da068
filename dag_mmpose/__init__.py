# Copyright (c) dag_mmpose contributors. All rights reserved.
"""dag_mmpose: DAG for occluded human pose estimation as an MMPose 1.x plugin.

``import dag_mmpose`` checks the installed mmengine / mmcv / mmpose versions and registers
every DAG module into mmpose's own registries (``MODELS``, ``TRANSFORMS``,
``KEYPOINT_CODECS``, ``HOOKS``), so configs only need::

    custom_imports = dict(imports=['dag_mmpose'], allow_failed_imports=False)

It also applies the fixes to the installed stack that :mod:`dag_mmpose.compat` lists, each only
for the versions that need it: torch's ``weights_only`` loader learns the exact types mmengine
Runner checkpoints hold (``--resume`` / ``load_from`` on torch >= 2.6), and mmpose's
visualizer draws keypoints again under numpy >= 2.4.
"""

from .utils.version_check import check_openmmlab_versions

check_openmmlab_versions()

from .compat import apply_patches  # noqa: E402

apply_patches()

from . import codecs, datasets, engine, evaluation, models  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
