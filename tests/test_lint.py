# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The repository stays clean under its configured linter (ruff, settings in pyproject.toml)."""
import os.path as osp
import shutil
import subprocess
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_ruff_clean():
    ruff = shutil.which('ruff', path=osp.dirname(sys.executable)) or shutil.which('ruff')
    assert ruff is not None, 'ruff is not installed (tools/install.sh installs it)'
    result = subprocess.run([ruff, 'check', REPO_ROOT], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
