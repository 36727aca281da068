# Copyright (c) dag_mmpose contributors. All rights reserved.
import math

import numpy as np
import pytest

from dag_mmpose.utils.checks import check_finite, check_interval, check_number, check_size

NAN, INF = float('nan'), float('inf')


def test_check_number_accepts_and_converts():
    assert check_number(1, 'x', 'Owner', ge=0) == 1.0
    assert isinstance(check_number(np.float32(0.5), 'x', 'Owner', ge=0, le=1), float)
    assert check_number(3, 'n', 'Owner', ge=0, integer=True) == 3
    assert check_number(np.int64(3), 'n', 'Owner', integer=True) == 3


@pytest.mark.parametrize(
    'value, bounds, message',
    [
        (NAN, dict(ge=0), r'Owner: x must be a finite number >= 0, got nan'),
        (INF, dict(), r'x must be a finite number, got inf'),
        (-INF, dict(le=0), r'x must be a finite number <= 0'),
        (0.0, dict(gt=0), r'x must be a finite number > 0, got 0.0'),
        (1.5, dict(ge=0, le=1), r'x must be a finite number in \[0, 1\], got 1.5'),
        (1.0, dict(ge=0, lt=1), r'in \[0, 1\)'),
        (True, dict(), r'x must be a finite number, got True'),
        ('1', dict(), r"got '1'"),
        (None, dict(), 'got None'),
        (1.5, dict(integer=True), r'x must be an integer, got 1.5'),
        (2.0, dict(integer=True), r'x must be an integer, got 2.0'),
        (-1, dict(integer=True, ge=0), r'x must be an integer >= 0, got -1'),
    ],
)
def test_check_number_refuses(value, bounds, message):
    with pytest.raises(ValueError, match=message):
        check_number(value, 'x', 'Owner', **bounds)


def test_check_interval():
    assert check_interval([1, 2], 'r', 'Owner') == (1.0, 2.0)
    assert check_interval((3, 3), 'n', 'Owner', integer=True) == (3, 3)
    for value, message in (
        ((2, 1), r'must be \(min, max\) with min <= max'),
        ((1, NAN), 'must be a finite number'),
        ((NAN, 1), 'must be a finite number'),
        ((1, 2, 3), r'must be a \(min, max\) pair'),
        (1.0, r'must be a \(min, max\) pair'),
    ):
        with pytest.raises(ValueError, match='Owner: r ' + message):
            check_interval(value, 'r', 'Owner')
    with pytest.raises(ValueError, match=r'r must be a finite number > 0'):
        check_interval((0, 1), 'r', 'Owner', gt=0)


def test_check_size():
    assert check_size((192, 256), 'input_size', 'Owner') == (192, 256)
    for value in ((192,), (192, 0), (192.0, 256), [NAN, 1], 'ab'):
        with pytest.raises(ValueError, match='Owner: input_size'):
            check_size(value, 'input_size', 'Owner')


def test_check_finite_names_what_and_where():
    values = np.zeros((4, 2))
    np.testing.assert_array_equal(check_finite(values, 'points'), values)
    values[2, 1] = NAN
    values[3, 0] = -INF
    with pytest.raises(
        ValueError, match=r'points: 2 value\(s\) are NaN or infinite \(at index 2, 3\)'
    ):
        check_finite(values, 'points')
    with pytest.raises(ValueError, match=r'\(at knee, ankle\)'):
        check_finite(values, 'points', where=['hip', 'x', 'knee', 'ankle'])
    with pytest.raises(ValueError, match='score: 1 value'):
        check_finite(math.nan, 'score')
    with pytest.raises(ValueError, match="expected numbers, got 'abc'"):
        check_finite('abc', 'field')
