# Copyright (c) dag_mmpose contributors. All rights reserved.
"""tools/install.sh: the pinned versions and what a newcomer sees when a pin cannot install."""

import os
import re
import subprocess
import sys

import pytest

from dag_mmpose.testing.repo import REPO_ROOT

INSTALL = os.path.join(REPO_ROOT, 'tools', 'install.sh')


def _pins():
    """``{'TORCH_VERSION': '2.14.1', ...}``: the defaults the script installs."""
    with open(INSTALL) as f:
        text = f.read()
    pins = {}
    for name, value in re.findall(r'^(\w+_VERSION)=(\S+)$', text, re.M):
        # TORCH_VERSION="${TORCH_VERSION:-2.14.1}" (overridable) or MMCV_VERSION=2.1.0
        default = re.fullmatch(r'"\$\{\w+:-([^}]+)\}"', value)
        pins[name] = default.group(1) if default else value
    return pins


@pytest.mark.machine_pins
def test_torch_pins_are_the_installed_ones():
    # The env the suite runs in was made by this script, so the pins and the installed
    # packages must agree; a pin the machine cannot install would have stopped CI earlier.
    import torch
    import torchvision

    pins = _pins()
    assert pins['TORCH_VERSION'] == torch.__version__.split('+')[0]
    assert pins['TORCHVISION_VERSION'] == torchvision.__version__.split('+')[0]


def test_readme_names_the_pinned_torch():
    pins = _pins()
    with open(os.path.join(REPO_ROOT, 'README.md')) as f:
        readme = f.read()
    assert f'torch {pins["TORCH_VERSION"]} + torchvision {pins["TORCHVISION_VERSION"]}' in readme


@pytest.mark.slow
def test_uninstallable_pin_names_package_version_and_pip_reason(tmp_path):
    env = dict(
        os.environ,
        DAG_VENV=str(tmp_path / 'venv'),
        DAG_WHEEL_CACHE=str(tmp_path / 'wheels'),
        PYTHON=sys.executable,
        TORCH_VERSION='0.0.1',
        # No index: pip answers from the local files at once, with no network round trip.
        PIP_NO_INDEX='1',
    )
    result = subprocess.run(['bash', INSTALL], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    err = result.stderr
    assert 'pip install failed for:' in err and 'torch==0.0.1' in err, err[-3000:]
    # pip's own reason, repeated under the summary (which requirement pip names first
    # depends on the resolver's order, so only that it is pip's ERROR line).
    said = err.split('pip said:', 1)[1]
    assert re.search(r'^ +ERROR: ', said, re.M), err[-3000:]
    assert 'FAILED at step: numpy, torch 0.0.1' in err, err[-3000:]


def test_mmcv_route_option():
    """`--mmcv lite|full` (or DAG_MMCV): anything else stops before touching a venv."""
    result = subprocess.run(['bash', INSTALL, '--mmcv', 'compiled'], capture_output=True, text=True)
    assert result.returncode == 2
    assert "--mmcv must be 'lite' or 'full', got 'compiled'" in result.stderr
    result = subprocess.run(
        ['bash', INSTALL], env=dict(os.environ, DAG_MMCV='fast'), capture_output=True, text=True
    )
    assert result.returncode == 2 and "got 'fast'" in result.stderr
    result = subprocess.run(['bash', INSTALL, '--what'], capture_output=True, text=True)
    assert result.returncode == 2 and 'unknown argument --what' in result.stderr
    result = subprocess.run(['bash', INSTALL, '--help'], capture_output=True, text=True)
    assert result.returncode == 0 and 'bash tools/install.sh --mmcv full' in result.stdout
    assert 'set -euo' not in result.stdout
