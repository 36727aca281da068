# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The demo models of each method, built offline with random weights, for the compile and
export tests and benchmarks."""

import copy
import logging
import os.path as osp
from typing import Tuple

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from torch import nn

from ..utils.config import drop_pretrained
from .repo import REPO_ROOT

__all__ = ['DEMO_MODELS', 'build_demo_model', 'demo_config']

_DEMO = osp.join(REPO_ROOT, 'configs', 'demo')
_STEM = 'td-hm_hrnet-tiny{}-1xb32-10e_synthetic-coco-128x96.py'

#: name -> demo config variant; 'opec-couplegraph' is OPEC-Net's CoupleGraph refiner built on
#: the OPEC demo (its initial poses are inputs)
DEMO_MODELS = {
    'baseline': '',
    'dag': '_dag',
    'dag-release': '_dag-release',
    'opec': '_opec',
    'opec-couplegraph': '_opec',
    'dslope': '_dslope',
}


def demo_config(name: str) -> Config:
    """The demo config of ``name`` (a key of :data:`DEMO_MODELS`), pretrained weights
    dropped; the CoupleGraph refiner's head replaces the OPEC demo's."""
    cfg = Config.fromfile(osp.join(_DEMO, _STEM.format(DEMO_MODELS[name])))
    if name == 'opec-couplegraph':
        head = cfg.model.head
        cfg.model.head = dict(
            type='IGPGCNHead',
            pose_cfg=None,
            num_keypoints=17,
            input_size=tuple(cfg.codec['input_size']),
            metainfo=copy.deepcopy(head.metainfo),
            level_channels=tuple(head.level_channels),
            hidden_channels=head.hidden_channels,
            couple_graph=True,
        )
    drop_pretrained(cfg.model)
    return cfg


def build_demo_model(name: str, seed: int = 0) -> Tuple[nn.Module, Config]:
    """The demo model of ``name`` with seeded random weights (``init_weights``), in eval
    mode, and its config."""
    init_default_scope('mmpose')
    cfg = demo_config(name)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # init_weights reports every parameter
    try:
        torch.manual_seed(seed)
        model = MODELS.build(cfg.model)
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model.eval(), cfg
