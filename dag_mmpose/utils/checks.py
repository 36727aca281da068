# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Argument and data checks shared by every part: one way to say "out of range" or "not
finite", naming the owner, the argument and the value.

Constructors check their numbers with :func:`check_number` and ``(min, max)`` ranges with
:func:`check_interval`, so that a bad config fails when the pipeline or model is built, not
later in a dataloader worker; NaN never passes either (``nan < 0`` is False, so comparisons
alone let it through). :func:`check_finite` guards arrays read from files.

Example:
    >>> check_number(0.5, 'prob', 'MaskJoints', ge=0, le=1)
    0.5
    >>> check_interval((20, 30), 'rotation', 'InstancePaste')
    (20.0, 30.0)
    >>> check_number(float('nan'), 'sigma', 'DAGHeatmap', gt=0)
    Traceback (most recent call last):
    ...
    ValueError: DAGHeatmap: sigma must be a finite number > 0, got nan
"""

import math
from numbers import Real
from typing import Any, Optional, Sequence, Tuple

import numpy as np

__all__ = ['check_finite', 'check_interval', 'check_number', 'check_size']


def _bounds_text(
    ge: Optional[float], gt: Optional[float], le: Optional[float], lt: Optional[float]
) -> str:
    """``' in [0, 1]'``, ``' > 0'``, ... for the error message."""
    low = f'[{ge:g}' if ge is not None else (f'({gt:g}' if gt is not None else None)
    high = f'{le:g}]' if le is not None else (f'{lt:g})' if lt is not None else None)
    if low and high:
        return f' in {low}, {high}'
    if low:
        return f' >= {ge:g}' if ge is not None else f' > {gt:g}'
    if high:
        return f' <= {le:g}' if le is not None else f' < {lt:g}'
    return ''


def _within(
    value: float,
    ge: Optional[float],
    gt: Optional[float],
    le: Optional[float],
    lt: Optional[float],
) -> bool:
    return (
        (ge is None or value >= ge)
        and (gt is None or value > gt)
        and (le is None or value <= le)
        and (lt is None or value < lt)
    )


def _is_real(value: Any) -> bool:
    return isinstance(value, (Real, np.number)) and not isinstance(value, (bool, np.bool_))


def check_number(
    value: Any,
    name: str,
    owner: str,
    *,
    ge: Optional[float] = None,
    gt: Optional[float] = None,
    le: Optional[float] = None,
    lt: Optional[float] = None,
    integer: bool = False,
) -> float:
    """``value`` as a float (an int with ``integer=True``) after checking that it is a finite
    real number within the given bounds.

    Args:
        value: The argument.
        name (str): Its name, for the error.
        owner (str): The class or function it belongs to, for the error.
        ge, gt, le, lt (float, optional): Bounds (``>=``, ``>``, ``<=``, ``<``).
        integer (bool): Require an ``int`` (or numpy integer).

    Raises:
        ValueError: Naming ``owner``, ``name``, the bounds and the value.
    """
    kind = 'an integer' if integer else 'a finite number'
    if integer:
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    else:
        ok = _is_real(value) and math.isfinite(float(value))
    if not ok or not _within(float(value), ge, gt, le, lt):
        raise ValueError(
            f'{owner}: {name} must be {kind}{_bounds_text(ge, gt, le, lt)}, got {value!r}'
        )
    return int(value) if integer else float(value)


def check_interval(
    value: Any,
    name: str,
    owner: str,
    *,
    ge: Optional[float] = None,
    gt: Optional[float] = None,
    le: Optional[float] = None,
    lt: Optional[float] = None,
    integer: bool = False,
) -> Tuple[float, float]:
    """A ``(min, max)`` pair with ``min <= max``, both checked as by :func:`check_number`.

    Raises:
        ValueError: Naming ``owner``, ``name`` and the value.
    """
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f'{owner}: {name} must be a (min, max) pair, got {value!r}')
    low, high = (
        check_number(v, name, owner, ge=ge, gt=gt, le=le, lt=lt, integer=integer) for v in value
    )
    if low > high:
        raise ValueError(f'{owner}: {name} must be (min, max) with min <= max, got {value!r}')
    return low, high


def check_size(value: Any, name: str, owner: str) -> Tuple[int, int]:
    """A ``(width, height)`` pair of positive integers, as ``input_size`` / ``heatmap_size``.

    Raises:
        ValueError: Naming ``owner``, ``name`` and the value.
    """
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f'{owner}: {name} must be (width, height), got {value!r}')
    width, height = (check_number(v, name, owner, gt=0, integer=True) for v in value)
    return width, height


def check_finite(values: Any, what: str, where: Optional[Sequence[str]] = None) -> np.ndarray:
    """``values`` as a float64 array after checking that every entry is finite.

    Args:
        values: Numbers (any nesting numpy reads).
        what (str): What they are and where they come from (file, entry, field), for the
            error.
        where (Sequence[str], optional): Names of the entries along the first axis (joint
            names), to say which are not finite.

    Raises:
        ValueError: Naming ``what`` and the entries that are NaN or infinite.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f'{what}: expected numbers, got {values!r:.200}') from None
    bad = ~np.isfinite(array)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(array), -1).any(axis=1)) if array.ndim else []
        if where is not None and len(rows):
            detail = ', '.join(str(where[i]) if i < len(where) else str(i) for i in rows[:5])
            detail = f' (at {detail})'
        elif array.ndim and len(rows):
            detail = f' (at index {", ".join(str(i) for i in rows[:5])})'
        else:
            detail = ''
        raise ValueError(
            f'{what}: {int(bad.sum())} value(s) are NaN or infinite{detail}; '
            'every number must be finite'
        )
    return array
