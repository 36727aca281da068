# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Rows of the trained-base protocol and their runs: each row a config started from the
cached base as its paper starts (:mod:`.trained_base`), each run one (row, seed) trained
once, evaluated on val and test, and kept as ``result.json`` beside the per-image records
of its test evaluations (for the bootstrap over images, :mod:`.stats`).

A row names its reference: the figure reported for it is the difference to that reference
on the same seed (the same base), so the base's own seed-to-seed spread cancels."""

import copy
import os
import os.path as osp
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

from mmengine.config import Config, ConfigDict

from ..utils.config import loader_dataset_cfg
from ..utils.json_io import dump_json, load_json
from .experiments import evaluate_split, last_checkpoint, train_cfg_once
from .synthetic import limited_train_data
from .trained_base import (
    base_cfg,
    config_hash,
    dslope_cfg,
    finetune_cfg,
    opec_cfg,
    train_with_curve,
)

__all__ = [
    'OCCLUDED_TEST_SEED',
    'ROW_KINDS',
    'Row',
    'Schedule',
    'evaluate',
    'occluded_test_cfg',
    'row_cfg',
    'run_row',
]

ROW_KINDS = ('finetune', 'scratch', 'opec', 'dslope', 'evaluate')


@dataclass
class Schedule:
    """The rows' schedules: fine-tunes (DAG, the baseline, D-Slope from the base),
    OPEC-Net's CFA + GCN training on the frozen base, and the data-limited rows
    (``Row(limited=True)``): ``limited_train_images`` train images
    (:func:`~dag_mmpose.benchmark.synthetic.limited_train_data`), ``limited_epochs``
    epochs from scratch and ``limited_finetune_epochs`` from the base (each long enough for
    the baseline to overfit), validated every ``limited_val_interval`` epochs."""

    finetune_epochs: int = 5
    finetune_lr: float = 5e-4
    opec_epochs: int = 5
    opec_lr: float = 1e-3
    limited_train_images: int = 20
    limited_epochs: int = 300
    limited_finetune_epochs: int = 100
    limited_val_interval: int = 10

    def epochs(self, row: 'Row') -> int:
        """The epochs ``row`` trains (``'opec'`` rows: ``opec_epochs``; ``'dslope'`` rows
        from ``init``: their config's own)."""
        if row.kind == 'opec':
            return self.opec_epochs
        if row.limited:
            return self.limited_epochs if row.kind == 'scratch' else self.limited_finetune_epochs
        return self.finetune_epochs


@dataclass
class Row:
    """One table row.

    Args:
        name: Row label.
        kind: ``'finetune'``, ``'opec'``, ``'dslope'`` (see :mod:`.trained_base`),
            ``'scratch'`` (the config's own recipe from scratch, its step milestones moved
            to the same fractions of the row's epochs) or ``'evaluate'`` (no training: the
            run of row ``source`` evaluated with other ``test_cfg`` values, e.g. OPEC-Net's
            reference ``refine=False``).
        config: Config file (not needed for ``'evaluate'``).
        reference: The row it is paired with (``None``: the table's first row).
        options: ``--cfg-options``-style overrides (``{'model.neck.spatial_downsample': 2}``),
            ``drop_steps`` (train pipeline step types to remove, e.g. ``['InstancePaste']``)
            and, for ``'dslope'``, ``start`` / ``mode`` / ``mimic`` of :func:`dslope_cfg`.
        test_cfg: Updates of the model's ``test_cfg`` for this row's evaluations.
        source: For ``'evaluate'``: the trained row whose checkpoint it evaluates.
        occluded_test: Also evaluate on the fixed-seed occluded copy of the test crops
            (:func:`occluded_test_cfg`, split ``'test_occluded'``).
        limited: Train on the data-limited split for the schedule's ``limited_epochs``
            (``'finetune'`` and ``'scratch'`` rows), keeping the val curve.
    """

    name: str
    kind: str
    config: Optional[str] = None
    reference: Optional[str] = None
    options: Dict[str, Any] = field(default_factory=dict)
    test_cfg: Dict[str, Any] = field(default_factory=dict)
    source: Optional[str] = None
    occluded_test: bool = False
    limited: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ROW_KINDS:
            raise ValueError(
                f'row {self.name!r}: kind must be one of {ROW_KINDS}, got {self.kind!r}'
            )
        if (self.kind == 'evaluate') != (self.source is not None):
            raise ValueError(f"row {self.name!r}: `source` is given exactly for kind 'evaluate'")
        if self.kind != 'evaluate' and not self.config:
            raise ValueError(f'row {self.name!r} ({self.kind}) needs a config')
        if self.limited and self.kind not in ('finetune', 'scratch'):
            raise ValueError(f'row {self.name!r}: only finetune and scratch rows can be limited')


_DSLOPE_KEYS = ('start', 'mode', 'mimic')


def row_cfg(
    row: Row,
    base: Dict[str, Any],
    data_root: str,
    work_dir: str,
    seed: int,
    schedule: Schedule,
) -> Config:
    """The training config of a (row, seed), started from ``base`` (:func:`train_base`);
    a limited row's on :func:`limited_train_data` of ``data_root``, validated every
    ``schedule.limited_val_interval`` epochs."""
    options = dict(row.options)
    special = {k: options.pop(k) for k in _DSLOPE_KEYS if k in options}
    drop = set(options.pop('drop_steps', ()))
    if special and row.kind != 'dslope':
        raise ValueError(f'row {row.name!r}: {sorted(special)} apply to dslope rows only')
    epochs = schedule.epochs(row)
    if row.limited:
        data_root = limited_train_data(data_root, schedule.limited_train_images)
    if row.kind == 'finetune':
        cfg = finetune_cfg(
            row.config, base, data_root, work_dir, seed, epochs, schedule.finetune_lr
        )
    elif row.kind == 'scratch':
        cfg = base_cfg(row.config, data_root, work_dir, seed, epochs)
    elif row.kind == 'opec':
        cfg = opec_cfg(row.config, base, data_root, work_dir, seed, epochs, schedule.opec_lr)
    elif row.kind == 'dslope':
        cfg = dslope_cfg(
            row.config, base, data_root, work_dir, seed,
            schedule.finetune_epochs, schedule.finetune_lr, **special,
        )  # fmt: skip
    else:
        raise ValueError(f'row {row.name!r}: kind {row.kind!r} is not trained')
    if row.limited:
        cfg.train_cfg.val_interval = schedule.limited_val_interval
    if drop:
        pipeline = loader_dataset_cfg(cfg, 'train').pipeline
        missing = drop - {step.type for step in pipeline}
        if missing:
            raise ValueError(
                f'row {row.name!r}: drop_steps {sorted(missing)} are not in the train pipeline '
                f'of {row.config}'
            )
        pipeline[:] = [step for step in pipeline if step.type not in drop]
    cfg.merge_from_dict(options)
    return cfg


#: the seed of the occluded test copy: every run sees the same occluders on the same crops
OCCLUDED_TEST_SEED = 0


def occluded_test_cfg(cfg: Config) -> Config:
    """``cfg`` testing on an occluded copy of its test crops, the analogue of D-Slope's
    occluded validation set: the train pipeline's ``OccludedTwin`` (its patches, every crop
    occluded, the twin in place of the crop) after the test pipeline's ``TopdownAffine``,
    drawn with the fixed seed :data:`OCCLUDED_TEST_SEED` whatever the run's seed; labels
    and visibility flags stay the clean crop's.

    Raises:
        ValueError: The config's train pipeline has no ``OccludedTwin``.
    """
    cfg = copy.deepcopy(cfg)
    twins = [s for s in loader_dataset_cfg(cfg, 'train').pipeline if s.type == 'OccludedTwin']
    if not twins:
        raise ValueError(
            'occluded_test_cfg: the train pipeline has no OccludedTwin whose patches the '
            'occluded test copy could use'
        )
    test = loader_dataset_cfg(cfg, 'test')
    steps = [s.type for s in test.pipeline]
    if 'TopdownAffine' not in steps:
        raise ValueError(f'occluded_test_cfg: no TopdownAffine in the test pipeline {steps}')
    twin = ConfigDict(twins[0], twin_key='img', clean_prob=0.0)
    test.pipeline.insert(steps.index('TopdownAffine') + 1, twin)
    cfg.randomness = dict(seed=OCCLUDED_TEST_SEED)
    return cfg


def evaluate(
    cfg: Config,
    checkpoint: str,
    split: str,
    per_image_file: Optional[str] = None,
    test_cfg: Optional[Dict[str, Any]] = None,
) -> Dict[str, float]:
    """Metrics of ``checkpoint`` on the ``val`` or ``test`` split (``coco/AP`` as ``AP``),
    with ``test_cfg`` updates, writing the per-image records of the occlusion metric."""
    cfg = copy.deepcopy(cfg)
    # on both splits' evaluators: evaluate_split reads the one of ``split``
    for key in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg[key] if isinstance(cfg[key], list) else [cfg[key]]
        for metric in evaluators:
            if metric.type == 'OccludedKeypointMetric':
                metric.per_image_file = per_image_file
    if test_cfg:
        model = cfg.model.enet if cfg.model.type == 'DualSampleEstimator' else cfg.model
        model.test_cfg = dict(model.get('test_cfg', {}), **test_cfg)
    return evaluate_split(cfg, checkpoint, split)


def run_row(
    row: Row,
    base: Dict[str, Any],
    data_root: str,
    work_root: str,
    seed: int,
    schedule: Schedule,
    rerun_stale: bool = False,
    trained: Optional[Callable[[str, int], Dict[str, Any]]] = None,
    train: bool = True,
) -> Optional[Dict[str, Any]]:
    """Train (unless a result of the same settings is kept) and evaluate one (row, seed).

    ``'evaluate'`` rows evaluate the kept run of their ``source`` (``trained(name, seed)``
    gives it). Returns ``dict(row, seed, settings, val, test, per_image, minutes)``; with
    ``train=False`` only a kept result (``None`` when there is none of these settings).

    Raises:
        SystemExit: A kept result of other settings, without ``rerun_stale``.
    """
    slug = re.sub(r'[^A-Za-z0-9.+=-]+', '_', row.name).strip('_')
    work_dir = osp.join(work_root, 'rows', slug)
    if row.limited:  # kept apart per split size and schedule, to compare them on val
        work_dir = osp.join(work_dir, f'n{schedule.limited_train_images}-e{schedule.epochs(row)}')
    work_dir = osp.join(work_dir, f'seed{seed}')
    result_file = osp.join(work_dir, 'result.json')
    if row.kind == 'evaluate':
        source = trained(row.source, seed)
        if source is None:
            return None
        cfg = Config(source['cfg'])
        cfg.work_dir = work_dir
        checkpoint = source['checkpoint']
        settings = dict(source=source['settings'], test_cfg=row.test_cfg)
    else:
        cfg = row_cfg(row, base, data_root, work_dir, seed, schedule)
        checkpoint = last_checkpoint(cfg)
        settings = dict(
            row=row.name,
            config_sha256=config_hash(cfg),
            base=None if row.kind == 'scratch' else base['settings'],
            seed=seed,
            test_cfg=row.test_cfg,
        )
    if osp.exists(result_file):
        stored = load_json(result_file)
        if stored.get('settings') == settings and (
            row.kind == 'evaluate' or osp.exists(stored['checkpoint'])
        ):
            return _with_occluded_test(row, stored, work_dir, result_file)
        if not train:
            return None
        if not rerun_stale:
            raise SystemExit(
                f'{result_file} was made with other settings; its numbers do not belong to '
                'this table. Pass --rerun-stale to run it again (the old result is kept as '
                'result.previous.json) or choose another --work-dir.'
            )
        os.replace(result_file, osp.join(work_dir, 'result.previous.json'))
    if not train:
        return None
    start = time.time()
    curve = None
    if row.limited:
        checkpoint, recorder = train_with_curve(cfg)
        curve = recorder.curve
    elif row.kind != 'evaluate':
        checkpoint, _ = train_cfg_once(cfg)
    train_minutes = (time.time() - start) / 60
    per_image = osp.join(work_dir, 'test_per_image.npz')
    result = dict(
        row=row.name,
        seed=seed,
        settings=settings,
        cfg=cfg.to_dict(),
        checkpoint=checkpoint,
        val=evaluate(cfg, checkpoint, 'val', test_cfg=row.test_cfg),
        test=evaluate(cfg, checkpoint, 'test', per_image, test_cfg=row.test_cfg),
        per_image=per_image,
        train_minutes=train_minutes,
    )
    if curve is not None:
        result['curve'] = curve
    dump_json(result, result_file, indent=1)
    return _with_occluded_test(row, result, work_dir, result_file)


def _with_occluded_test(row: Row, result: dict, work_dir: str, result_file: str) -> dict:
    """Add (once) the occluded test copy's metrics and per-image records to a result."""
    if not row.occluded_test or 'test_occluded' in result:
        return result
    cfg = Config(result['cfg'])
    cfg.work_dir = work_dir
    per_image = osp.join(work_dir, 'test_occluded_per_image.npz')
    result = dict(
        result,
        test_occluded=evaluate(
            occluded_test_cfg(cfg), result['checkpoint'], 'test', per_image, row.test_cfg
        ),
        per_image_test_occluded=per_image,
    )
    dump_json(result, result_file, indent=1)
    return result
