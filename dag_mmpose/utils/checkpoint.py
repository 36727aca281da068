# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Let ``torch.load(weights_only=True)`` read the checkpoints mmengine's Runner writes.

torch >= 2.6 loads with ``weights_only=True`` by default and mmengine 0.10.x does not say
otherwise, so ``--resume`` and ``load_from`` fail with ``UnpicklingError`` on every
Runner checkpoint: its ``meta`` holds numpy arrays (``dataset_meta``), and its
``message_hub`` holds :class:`~mmengine.logging.HistoryBuffer` objects, which pickle their
statistics methods as ``getattr(HistoryBuffer, 'mean')``.

Rather than switching the safe loader off (``weights_only=False`` runs arbitrary code from
the file), we allow-list exactly those types. ``builtins.getattr`` is *not* allowed in
general: the name is mapped to :func:`_history_buffer_getattr`, which only returns the
statistics methods of ``HistoryBuffer`` and refuses anything else.
"""
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

_registered = False
_BUILTIN_STATISTICS = {'min', 'max', 'current', 'mean'}


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """A ``getattr`` that only resolves ``HistoryBuffer`` statistics methods.

    Args:
        obj: The object the checkpoint asks an attribute of.
        name (str): The attribute name.

    Returns:
        Callable: ``HistoryBuffer.<name>``.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    import pickle

    # The built-in statistics are added to the registry lazily (on first instance), custom
    # ones by ``HistoryBuffer.register_statistics``.
    allowed = _BUILTIN_STATISTICS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'dag_mmpose refuses getattr({obj!r}, {name!r}) while loading a checkpoint with '
        'weights_only=True: only HistoryBuffer statistics methods are allowed.')


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


def register_checkpoint_safe_globals() -> None:
    """Allow-list what mmengine Runner checkpoints contain for ``weights_only`` loading.

    Called once by ``import dag_mmpose``; a no-op on torch versions without
    ``torch.serialization.add_safe_globals`` (< 2.4, which load unrestricted anyway).
    """
    global _registered
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if _registered or add_safe_globals is None:
        return
    add_safe_globals([
        HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'),
        *_numpy_globals(),
    ])
    _registered = True
