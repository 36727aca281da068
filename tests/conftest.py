# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Shared fixtures: small generated datasets in every supported format (made once a session)."""

import os
import sys

import pytest

from dag_mmpose.benchmark.synthetic import generate_all, generate_demo_data
from dag_mmpose.testing.repo import REPO_ROOT


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """A folder holding ``data/synthetic_{coco,crowdpose,ochuman,ocpose}`` as the configs expect
    (relative paths in the demo configs resolve when it is the working directory)."""
    root = tmp_path_factory.mktemp('synthetic')
    data = root / 'data'
    # COCO layout plus the instance pool the DAG demo config pastes from
    generate_demo_data(str(data / 'synthetic_coco'), num_images=[12, 6, 6], seed=0)
    generate_all(str(data / 'synthetic_crowdpose'), 'crowdpose', num_images=[6, 6], seed=1)
    generate_all(str(data / 'synthetic_ochuman'), 'ochuman', num_images=[4, 4], seed=2)
    generate_all(str(data / 'synthetic_ocpose'), 'ocpose', num_images=[4, 4], seed=3)
    return str(root)


@pytest.fixture
def tool_env() -> dict:
    """Environment for running the repository's tools in a subprocess."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [REPO_ROOT, env.get('PYTHONPATH')]))
    env.setdefault('OMP_NUM_THREADS', '1')
    env['PYTHON'] = sys.executable
    return env
