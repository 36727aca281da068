# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The generated occluded-pose benchmark: its data (:mod:`.synthetic`), configs pointed at it
(:mod:`.data_config`), the experiment runner behind ``tools/run_demo.py`` and
``tools/analysis/ablation.py`` (:mod:`.experiments`), and the ablation's trained-base
protocol: the cached base and each method's start (:mod:`.trained_base`), rows and runs
(:mod:`.paired_runs`), intervals (:mod:`.stats`) and tables (:mod:`.report`).

Not imported by ``import dag_mmpose``; it uses the runtime package (datasets, utils), never
the other way round (``tests/test_layering.py``).
"""

from .data_config import synthetic_dataset_cfg, use_demo_data
from .experiments import AUGMENTATIONS, evaluate_split, experiment_cfg, train_cfg_once

__all__ = [
    'AUGMENTATIONS',
    'evaluate_split',
    'experiment_cfg',
    'synthetic_dataset_cfg',
    'train_cfg_once',
    'use_demo_data',
]
