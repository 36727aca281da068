# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The repository stays clean under its configured linter and formatter (ruff, pyproject.toml)."""

import os.path as osp
import shutil
import subprocess
import sys

from dag_mmpose.testing.repo import REPO_ROOT


def _ruff() -> str:
    ruff = shutil.which('ruff', path=osp.dirname(sys.executable)) or shutil.which('ruff')
    assert ruff is not None, 'ruff is not installed (tools/install.sh installs it)'
    return ruff


def test_ruff_clean():
    result = subprocess.run([_ruff(), 'check', REPO_ROOT], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_clean():
    # one formatting style for every file: run `ruff format .` to fix
    result = subprocess.run(
        [_ruff(), 'format', '--check', '--diff', REPO_ROOT], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
