# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The trained-base protocol of ``tools/analysis/ablation.py``: one baseline trained to a
val plateau per base seed, cached, and every row started from it as its paper starts:

- ``finetune`` (DAG's parts, and the baseline itself): the row's model loads the base (the
  added parts start as the identity, so at step 0 it predicts what the base predicts) and
  everything is fine-tuned on one short schedule;
- ``opec`` (OPEC-Net, its paper and release): the base is frozen (backbone and base head),
  only CFA + IGP-GCN train (Adam 1e-3, a warm-up epoch, cosine, gradient clip 1.0); the
  reference is the same checkpoint evaluated with ``refine=False``, the base bit for bit;
- ``dslope`` (D-Slope, its release): GNet is the base (``gnet_checkpoint``), ENet starts from
  the base or from the weights the base itself started from (``init.pth``), with the
  release's heatmap-loss units; its reference is the same network from the same start
  trained alone on the same twins.

A base is trained once per (config, data, epochs, seed) into ``WORK_DIR/base/<name>-<hash>/
seed<N>``: ``init.pth`` (the weights before the first step), the last checkpoint and
``base.json`` with its val curve (val AP, occ/AP and mean train loss per epoch)."""

import hashlib
import json
import os.path as osp
import time
from typing import Any, Dict, List, Optional, Tuple

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner, save_checkpoint

from ..utils.config import loader_dataset_cfg
from ..utils.json_io import dump_json, load_json
from .experiments import experiment_cfg, last_checkpoint

__all__ = [
    'RELEASE_HEATMAP_LOSS_WEIGHT',
    'CurveRecorder',
    'base_cfg',
    'config_hash',
    'dslope_cfg',
    'finetune_cfg',
    'opec_cfg',
    'train_base',
    'train_with_curve',
]

# D-Slope's release (HRNet's JointsMSELoss) halves the per-joint MSE that mmpose's
# KeypointMSELoss averages: its mimic weights 1e-3 / 1e-5 are relative to that
RELEASE_HEATMAP_LOSS_WEIGHT = 0.5


def config_hash(cfg: Config) -> str:
    """sha256 of a config's content, its work folder and checkpoint to load left out."""
    content = cfg.to_dict()
    for key in ('work_dir', 'load_from'):
        content.pop(key, None)
    text = json.dumps(content, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _cosine_schedule(cfg: Config, epochs: int, lr: float, warmup_iters: int) -> None:
    """Adam at ``lr``, a linear warm-up of ``warmup_iters`` steps, cosine to 0 by the end."""
    cfg.optim_wrapper.optimizer = dict(type='Adam', lr=lr)
    cfg.param_scheduler = [
        dict(type='LinearLR', begin=0, end=warmup_iters, start_factor=0.01, by_epoch=False),
        dict(type='CosineAnnealingLR', begin=0, end=epochs, T_max=epochs, by_epoch=True,
             convert_to_iter_based=True),
    ]  # fmt: skip


def base_cfg(path: str, data_root: str, work_dir: str, seed: int, epochs: int) -> Config:
    """The baseline config on its own recipe, lengthened to ``epochs`` (its step milestones
    moved to the same fractions of the schedule), validated after every epoch."""
    cfg = experiment_cfg(path, data_root, work_dir, seed, epochs)
    old = None
    for step in cfg.param_scheduler:
        if step.type == 'MultiStepLR':
            old = old or step.end
            step.milestones = [round(m * epochs / old) for m in step.milestones]
            step.end = epochs
    cfg.train_cfg.val_interval = 1
    return cfg


class CurveRecorder(Hook):
    """Keeps a training run's val curve: after every val pass, the epoch, the mean train loss
    since the previous pass and the val metrics, written to ``curve_file``; with
    ``init_file``, also the weights before the first step."""

    priority = 'VERY_LOW'

    def __init__(self, curve_file: str, init_file: Optional[str] = None) -> None:
        self.curve_file = curve_file
        self.init_file = init_file
        self.curve: List[Dict[str, float]] = []
        self._loss = 0.0
        self._steps = 0

    def before_train(self, runner) -> None:
        if self.init_file:
            save_checkpoint({'state_dict': runner.model.state_dict()}, self.init_file)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if outputs and 'loss' in outputs:
            loss = outputs['loss']
            self._loss += float(loss.detach() if hasattr(loss, 'detach') else loss)
            self._steps += 1

    def after_val_epoch(self, runner, metrics=None) -> None:
        point = dict(epoch=runner.epoch, train_loss=self._loss / max(self._steps, 1))
        point.update({k: float(v) for k, v in (metrics or {}).items()})
        self.curve.append(point)
        self._loss, self._steps = 0.0, 0
        dump_json(self.curve, self.curve_file, indent=1)


def train_with_curve(cfg: Config, init_file: Optional[str] = None) -> Tuple[str, CurveRecorder]:
    """Train ``cfg`` with its val passes (``train_cfg.val_interval``), keeping the curve in
    ``<work_dir>/curve.json`` (and the starting weights in ``init_file``); the last
    checkpoint and the recorder (``recorder.curve``)."""
    runner = Runner.from_cfg(cfg)
    recorder = CurveRecorder(osp.join(cfg.work_dir, 'curve.json'), init_file)
    runner.register_hook(recorder)
    runner.train()
    return last_checkpoint(cfg), recorder


def train_base(path: str, data_root: str, work_root: str, seed: int, epochs: int) -> Dict[str, Any]:
    """Train the base of ``seed`` unless a finished one of the same settings is cached; its
    record: ``checkpoint``, ``init``, ``curve`` (per epoch), ``minutes``, ``settings``."""
    probe = base_cfg(path, data_root, 'unused', seed, epochs)
    digest = config_hash(probe)
    # one folder per config content, seeds inside (named by the seed-0 content)
    folder = config_hash(base_cfg(path, data_root, 'unused', 0, epochs))[:10]
    stem = osp.splitext(osp.basename(path))[0]
    work_dir = osp.join(work_root, 'base', f'{stem}-{folder}', f'seed{seed}')
    record_file = osp.join(work_dir, 'base.json')
    settings = dict(
        config=osp.abspath(path),
        config_sha256=digest,
        data_root=osp.abspath(data_root),
        images={
            split: len(load_json(_ann_file(probe, split))['images']) for split in ('train', 'val')
        },
        epochs=epochs,
        seed=seed,
    )
    if osp.exists(record_file):
        record = load_json(record_file)
        if record.get('settings') == settings and osp.exists(record['checkpoint']):
            return record
    cfg = base_cfg(path, data_root, work_dir, seed, epochs)
    start = time.time()
    checkpoint, recorder = train_with_curve(cfg, init_file=osp.join(work_dir, 'init.pth'))
    record = dict(
        settings=settings,
        checkpoint=checkpoint,
        init=recorder.init_file,
        curve=recorder.curve,
        minutes=(time.time() - start) / 60,
    )
    dump_json(record, record_file, indent=1)
    return record


def _ann_file(cfg: Config, split: str) -> str:
    dataset = loader_dataset_cfg(cfg, split)
    return osp.join(dataset.get('data_root', ''), dataset.ann_file)


def finetune_cfg(
    path: str,
    base: Dict[str, Any],
    data_root: str,
    work_dir: str,
    seed: int,
    epochs: int,
    lr: float,
    aug_prob: Optional[float] = None,
) -> Config:
    """A row fine-tuned from the base: every weight the base has loaded (heads map the base
    head's keys), the rest as the row's model initializes them; Adam at ``lr``, 50 linear
    warm-up steps (about one epoch of the demo data), cosine to 0."""
    cfg = experiment_cfg(path, data_root, work_dir, seed, epochs, aug_prob)
    cfg.load_from = base['checkpoint']
    _cosine_schedule(cfg, epochs, lr, warmup_iters=50)
    return cfg


def opec_cfg(
    path: str,
    base: Dict[str, Any],
    data_root: str,
    work_dir: str,
    seed: int,
    epochs: int,
    lr: float = 1e-3,
) -> Config:
    """OPEC-Net on the frozen base: backbone (all four stages) and base head frozen, CFA +
    IGP-GCN trained with Adam at ``lr``, a warm-up epoch, cosine, gradient clip 1.0."""
    cfg = experiment_cfg(path, data_root, work_dir, seed, epochs)
    cfg.load_from = base['checkpoint']
    cfg.model.backbone.frozen_stages = 4
    cfg.model.head.freeze_base = True
    steps = _steps_per_epoch(cfg)
    _cosine_schedule(cfg, epochs, lr, warmup_iters=steps)
    cfg.optim_wrapper.clip_grad = dict(max_norm=1.0)
    return cfg


def _steps_per_epoch(cfg: Config) -> int:
    images = len(load_json(_ann_file(cfg, 'train'))['annotations'])
    return max(1, images // int(cfg.train_dataloader.batch_size))


def dslope_cfg(
    path: str,
    base: Dict[str, Any],
    data_root: str,
    work_dir: str,
    seed: int,
    epochs: int,
    lr: float,
    start: str = 'base',
    mode: Optional[str] = None,
    mimic: str = 'all',
) -> Config:
    """D-Slope (``DualSampleEstimator`` config) or the network alone on the twins (a plain
    model config): GNet the base, ENet (or the network alone) from ``start`` (``'base'``:
    the fine-tuning reading; ``'init'``: the weights the base started from, the HRNet
    codebase's ``MODEL.PRETRAINED`` reading, on the config's own from-scratch schedule);
    heatmap loss in the release's units; ``mimic='heatmap'`` mimics the heatmaps alone."""
    if start not in ('base', 'init'):
        raise ValueError(f"start must be 'base' or 'init', got {start!r}")
    if mimic not in ('all', 'heatmap'):
        raise ValueError(f"mimic must be 'all' or 'heatmap', got {mimic!r}")
    cfg = experiment_cfg(path, data_root, work_dir, seed, epochs if start == 'base' else None)
    dual = cfg.model.type == 'DualSampleEstimator'
    network = cfg.model.enet if dual else cfg.model
    network.head.loss.loss_weight = RELEASE_HEATMAP_LOSS_WEIGHT
    weights = base['checkpoint'] if start == 'base' else base['init']
    if dual:
        cfg.model.gnet_checkpoint = base['checkpoint']
        network.init_cfg = dict(type='Pretrained', checkpoint=weights)
        if mode is not None:
            cfg.model.mode = mode
        if mimic == 'heatmap':
            cfg.model.mimic_modules = ['head.final_layer']
    elif mode is not None or mimic != 'all':
        raise ValueError(f'{path} is not a DualSampleEstimator: mode and mimic do not apply')
    else:
        cfg.load_from = weights
    if start == 'base':
        _cosine_schedule(cfg, epochs, lr, warmup_iters=50)
    return cfg
