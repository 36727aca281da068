# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Every fix dag_mmpose makes to the installed stack, in one place.

``import dag_mmpose`` calls :func:`apply_patches`. Each :class:`Patch` names the package whose
version decides, the version range that needs it (``[low, high)``, ``high`` being the first
release we expect to carry the upstream fix: a newer one leaves the patch off, so the fix
cannot mask upstream behavior) and a run-time check of the broken behavior itself. A patch
is applied only when both say so. :data:`APPLIED` records what happened, by name.

The patches:

- ``checkpoint_safe_globals`` (torch >= 2.4 with mmengine 0.10.x): torch >= 2.6 loads with
  ``weights_only=True`` and mmengine does not say otherwise, so ``--resume`` and
  ``load_from`` fail with ``UnpicklingError`` on every Runner checkpoint: its ``meta``
  holds numpy arrays (``dataset_meta``) and its ``message_hub`` holds ``HistoryBuffer``
  objects, which pickle their statistics methods as ``getattr(HistoryBuffer, 'mean')``.
  Rather than switching the safe loader off (``weights_only=False`` runs arbitrary code from
  the file), exactly those types are allow-listed, and ``builtins.getattr`` is mapped to
  :func:`history_buffer_getattr`, which resolves nothing but ``HistoryBuffer`` statistics.
- ``pose_visualizer_radius`` (mmpose 1.3.x under numpy >= 2.4):
  ``PoseLocalVisualizer._draw_instances_kpts`` passes ``radius=np.array([r])`` to
  ``OpencvBackendVisualizer.draw_circles``, which calls ``int(radius)``; numpy 2.4 turned
  that long-deprecated conversion into a ``TypeError``, so every keypoint drawing crashes
  (``tools/test.py --show-dir``, ``MMPoseInferencer(..., vis_out_dir=...)``,
  ``visualizer.add_datasample``). The patch hands ``draw_circles`` a scalar radius when the
  opencv backend gets a 1-element array.
"""

import functools
import pickle
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple, Union

import numpy as np
from mmengine.utils import digit_version

__all__ = ['APPLIED', 'PATCHES', 'Patch', 'apply_patches', 'history_buffer_getattr']


@dataclass(frozen=True)
class Patch:
    """One fix to an upstream package.

    Args:
        name (str): Key of the patch in :data:`APPLIED`.
        package (str): The package whose version decides (``torch``, ``mmpose`` ...).
        versions (Tuple[str, str]): ``[low, high)``: the versions of ``package`` that need it.
        needed (Callable[[], bool]): Whether the broken behavior is there at run time.
        apply (Callable[[], None]): Make the fix (idempotent).
    """

    name: str
    package: str
    versions: Tuple[str, str]
    needed: Callable[[], bool]
    apply: Callable[[], None]

    def applies_to(self, version: str) -> bool:
        """Whether ``version`` of :attr:`package` lies in :attr:`versions`."""
        low, high = self.versions
        return digit_version(low) <= digit_version(version) < digit_version(high)


# ------------------------------------------------------------- checkpoint_safe_globals

_BUILTIN_STATISTICS = {'min', 'max', 'current', 'mean'}


def history_buffer_getattr(obj: Any, name: str) -> Callable:
    """A ``getattr`` for ``torch.load``: only ``HistoryBuffer`` statistics methods.

    Args:
        obj: The object the checkpoint asks an attribute of.
        name (str): The attribute name.

    Returns:
        Callable: ``HistoryBuffer.<name>``.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    from mmengine.logging import HistoryBuffer

    # The built-in statistics are added to the registry lazily (on first instance), custom
    # ones by ``HistoryBuffer.register_statistics``.
    allowed = _BUILTIN_STATISTICS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'dag_mmpose refuses getattr({obj!r}, {name!r}) while loading a checkpoint with '
        'weights_only=True: only HistoryBuffer statistics methods are allowed.'
    )


def _numpy_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """numpy objects that pickled arrays, dtypes and scalars refer to, under the names
    written by numpy 2 (``numpy._core``) and numpy 1 (``numpy.core``)."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    allowed: List[Union[Callable, Tuple[Callable, str]]] = [np.ndarray, np.dtype]
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        allowed.append((multiarray._reconstruct, f'{module}._reconstruct'))
        allowed.append((multiarray.scalar, f'{module}.scalar'))
    # numpy >= 1.25 may also name the concrete dtype classes (numpy.dtypes.Float64DType).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            candidate = getattr(dtypes, name)
            if isinstance(candidate, type) and issubclass(candidate, np.dtype):
                allowed.append((candidate, f'numpy.dtypes.{name}'))
    return allowed


def _torch_has_safe_globals() -> bool:
    import torch

    return hasattr(torch.serialization, 'add_safe_globals')


_safe_globals_added = False


def _add_checkpoint_safe_globals() -> None:
    global _safe_globals_added
    import torch
    from mmengine.logging import HistoryBuffer

    if _safe_globals_added:
        return
    _safe_globals_added = True
    torch.serialization.add_safe_globals(
        [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr'), *_numpy_globals()]
    )


# -------------------------------------------------------------- pose_visualizer_radius

_PATCHED_FLAG = '_dag_mmpose_scalar_radius'


def _numpy_refuses_size_one_arrays() -> bool:
    try:
        int(np.array([1]))
    except TypeError:
        return True
    return False


def _scalar_radius_for_opencv() -> None:
    from mmpose.visualization.opencv_backend_visualizer import OpencvBackendVisualizer

    original = OpencvBackendVisualizer.draw_circles
    if getattr(original, _PATCHED_FLAG, False):
        return

    @functools.wraps(original)
    def draw_circles(self, center, radius, *args, **kwargs):
        if (
            getattr(self, 'backend', None) == 'opencv'
            and isinstance(radius, np.ndarray)
            and radius.size == 1
        ):
            radius = radius.item()
        return original(self, center, radius, *args, **kwargs)

    setattr(draw_circles, _PATCHED_FLAG, True)
    OpencvBackendVisualizer.draw_circles = draw_circles


# ----------------------------------------------------------------------------- apply

PATCHES: Tuple[Patch, ...] = (
    # torch < 2.4 has no allow-list and loads unrestricted anyway; the bound is on mmengine,
    # whose Runner would have to load its own checkpoints with the right allow-list.
    Patch(
        name='checkpoint_safe_globals',
        package='mmengine',
        versions=('0.10.0', '0.11.0'),
        needed=_torch_has_safe_globals,
        apply=_add_checkpoint_safe_globals,
    ),
    Patch(
        name='pose_visualizer_radius',
        package='mmpose',
        versions=('1.3.0', '1.4.0'),
        needed=_numpy_refuses_size_one_arrays,
        apply=_scalar_radius_for_opencv,
    ),
)

#: Name of each patch -> whether :func:`apply_patches` applied it.
APPLIED: Dict[str, bool] = {}


def apply_patches() -> Dict[str, bool]:
    """Apply each patch of :data:`PATCHES` whose version range and check say so.

    Idempotent: applying twice changes nothing more.

    Returns:
        Dict[str, bool]: :data:`APPLIED`, name -> applied.
    """
    from importlib import import_module

    for patch in PATCHES:
        version = import_module(patch.package).__version__
        applied = patch.applies_to(version) and patch.needed()
        if applied:
            patch.apply()
        APPLIED[patch.name] = applied
    return APPLIED
