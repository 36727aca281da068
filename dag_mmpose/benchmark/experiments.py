# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Train and evaluate demo-style configs on generated data, for ``tools/run_demo.py`` and
``tools/analysis/ablation.py``: one seed, one work folder, the test (or val) split's metrics."""

import os.path as osp
import time
from typing import Dict, Optional, Tuple

from mmengine.config import Config
from mmengine.runner import Runner

from ..utils.config import loader_dataset_cfg
from .data_config import use_demo_data

__all__ = ['AUGMENTATIONS', 'evaluate_split', 'experiment_cfg', 'last_checkpoint', 'train_cfg_once']

# the occlusion augmentations whose probability ``experiment_cfg(aug_prob=...)`` sets
AUGMENTATIONS = ('MaskJoints', 'InstancePaste')


def experiment_cfg(
    path: str,
    data_root: str,
    work_dir: str,
    seed: int,
    epochs: Optional[int] = None,
    aug_prob: Optional[float] = None,
) -> Config:
    """A demo config pointed at generated data, seeded, saving only its last checkpoint.

    Args:
        path (str): Config file (COCO layout, e.g. ``configs/demo/*.py``).
        data_root (str): Generated data (``dag_mmpose.benchmark.synthetic.generate_demo_data``).
        work_dir (str): Work folder of this run.
        seed (int): ``randomness.seed``.
        epochs (int, optional): Override ``train_cfg.max_epochs``.
        aug_prob (float, optional): Override the ``prob`` of every :data:`AUGMENTATIONS`
            step of the train pipeline.

    Raises:
        ValueError: ``aug_prob`` is given for a config without those steps, or is outside
            [0, 1].
    """
    cfg = Config.fromfile(path)
    use_demo_data(cfg, data_root)
    if aug_prob is not None:
        if not 0.0 <= aug_prob <= 1.0:
            raise ValueError(f'aug_prob must be in [0, 1], got {aug_prob}')
        steps = [s for s in loader_dataset_cfg(cfg, 'train').pipeline if s.type in AUGMENTATIONS]
        if not steps:
            raise ValueError(
                f'aug_prob={aug_prob} given, but {path} trains without {AUGMENTATIONS}'
            )
        for step in steps:
            step.prob = aug_prob
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
        cfg.train_cfg.val_interval = epochs
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir
    cfg.default_hooks.checkpoint.save_best = None
    cfg.default_hooks.checkpoint.interval = cfg.train_cfg.max_epochs
    return cfg


def last_checkpoint(cfg: Config) -> str:
    """The checkpoint a run of ``cfg`` saves at its last epoch (:func:`experiment_cfg` saves
    only that one)."""
    return osp.join(cfg.work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')


def train_cfg_once(cfg: Config) -> Tuple[str, float]:
    """Train ``cfg`` without validation passes (splits are evaluated afterwards by
    :func:`evaluate_split`); returns the last checkpoint and the training minutes."""
    start = time.time()
    train_cfg = cfg.copy()
    train_cfg.val_cfg = train_cfg.val_dataloader = train_cfg.val_evaluator = None
    runner = Runner.from_cfg(train_cfg)
    runner.train()
    return last_checkpoint(cfg), (time.time() - start) / 60


def evaluate_split(
    cfg: Config, checkpoint: Optional[str] = None, split: str = 'test'
) -> Dict[str, float]:
    """Metrics of the model in ``cfg`` on the ``test`` or ``val`` split (freshly initialized
    without ``checkpoint``). ``coco/AP`` is returned as ``AP``; the occlusion metric's keys
    (``occ/PCK@0.1`` ...) as they are."""
    if split not in ('test', 'val'):
        raise ValueError(f"split must be 'test' or 'val', got {split!r}")
    cfg = cfg.copy()
    if split == 'val':
        cfg.test_dataloader = cfg.val_dataloader
        cfg.test_evaluator = cfg.val_evaluator
    cfg.load_from = checkpoint
    state = 'trained' if checkpoint else 'untrained'
    cfg.work_dir = osp.join(cfg.work_dir, f'{split}_{state}')
    metrics = Runner.from_cfg(cfg).test()
    return {
        key[len('coco/') :] if key.startswith('coco/') else key: v for key, v in metrics.items()
    }
