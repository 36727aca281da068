# Copyright (c) dag_mmpose contributors. All rights reserved.
"""dag_mmpose: DAG for occluded human pose estimation as an MMPose 1.x plugin.

``import dag_mmpose`` checks the installed mmengine / mmcv / mmpose versions and registers
every DAG module into mmpose's own registries (``MODELS``, ``TRANSFORMS``,
``KEYPOINT_CODECS``, ``HOOKS``), so configs only need::

    custom_imports = dict(imports=['dag_mmpose'], allow_failed_imports=False)

It also makes two fixes to the installed stack, each documented where it is made: torch's
``weights_only`` loader learns the exact types mmengine Runner checkpoints hold
(:mod:`dag_mmpose.utils.checkpoint`, for ``--resume`` / ``load_from`` on torch >= 2.6), and
mmpose's visualizer draws keypoints again under numpy >= 2.4
(:mod:`dag_mmpose.engine.visualizer_compat`).
"""
from .utils.version_check import check_openmmlab_versions

check_openmmlab_versions()

from .utils.checkpoint import register_checkpoint_safe_globals  # noqa: E402

register_checkpoint_safe_globals()

from . import codecs, datasets, engine, models  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
