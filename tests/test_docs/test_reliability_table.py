# Copyright (c) dag_mmpose contributors. All rights reserved.
"""docs/reliability.md: every row names a test that exists, and nothing is left silent."""

import os.path as osp
import re

from dag_mmpose.testing.repo import REPO_ROOT

TABLE = osp.join(REPO_ROOT, 'docs', 'reliability.md')
CATEGORIES = ('clear', 'handled', 'silent', 'unclear', 'loss', '(new)')


def _rows():
    rows = []
    with open(TABLE, encoding='utf-8') as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if len(cells) == 6 and cells[0].isdigit():
                rows.append(cells)
    return rows


def test_every_row_names_an_existing_test():
    rows = _rows()
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
    for number, _, _, _, _, test in rows:
        match = re.fullmatch(r'`(tests/[\w/]+\.py)::(test_\w+)`', test)
        assert match, f'row {number}: {test!r} is not `tests/...py::test_name`'
        path, name = match.groups()
        with open(osp.join(REPO_ROOT, path), encoding='utf-8') as f:
            assert re.search(rf'def {name}\(', f.read()), f'row {number}: no {name} in {path}'


def test_categories_and_nothing_left_silent():
    for number, _, _, before, now, _ in _rows():
        first = before.replace('**', '').split(':')[0].split(' ')[0]
        assert first in CATEGORIES, f'row {number}: before {before!r}'
        assert now.split(':')[0].split(' ')[0] in ('clear', 'handled', 'passed'), (
            f'row {number}: now {now!r}'
        )
