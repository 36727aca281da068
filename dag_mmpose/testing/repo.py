# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Where the tests find the repository's files, and the metric names they check."""

import os.path as osp

from ..benchmark import use_demo_data

__all__ = ['COCO_KEYS', 'CROWDPOSE_KEYS', 'DEMO_CONFIG', 'REPO_ROOT', 'use_synthetic_coco']

#: the repository (an editable install's source tree)
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the DAG demo config, which the README's get-started trains; the tools are proven on it
DEMO_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'demo', 'td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py'
)
#: the metric names of mmpose's CocoMetric (without prefix) under COCO's protocol
COCO_KEYS = (
    'AP',
    'AP .5',
    'AP .75',
    'AP (M)',
    'AP (L)',
    'AR',
    'AR .5',
    'AR .75',
    'AR (M)',
    'AR (L)',
)
#: and under CrowdPose's
CROWDPOSE_KEYS = ('AP', 'AP .5', 'AP .75', 'AR', 'AR .5', 'AR .75', 'AP(E)', 'AP(M)', 'AP(H)')


def use_synthetic_coco(cfg, synthetic_root: str) -> None:
    """Point a demo config's data, evaluators and instance pool at the generated COCO-layout
    data of the ``synthetic_root`` fixture."""
    use_demo_data(cfg, osp.join(synthetic_root, 'data', 'synthetic_coco'))
