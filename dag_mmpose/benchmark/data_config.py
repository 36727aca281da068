# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Point configs at the generated benchmark's data."""

import os.path as osp
from typing import Any

from ..utils.config import POOL_TRANSFORMS, pipeline_steps
from .synthetic.layout import LAYOUTS

__all__ = ['synthetic_dataset_cfg', 'use_demo_data']


def synthetic_dataset_cfg(
    root: str, layout: str = 'coco', split: str = 'val', detections: bool = False, **kwargs
) -> dict:
    """An mmpose dataset config (top-down) for one split of the generated data
    (:mod:`dag_mmpose.benchmark.synthetic`).

    Args:
        root (str): Dataset root given to :func:`generate_coco_style` / :func:`generate_all`.
        layout (str): ``'coco'``, ``'crowdpose'`` or ``'ochuman'``.
        split (str): One of the layout's splits.
        detections (bool): Use the split's person detection file as ``bbox_file`` (and
            ``test_mode=True``, which mmpose requires with it).
        **kwargs: Further dataset arguments (``pipeline``, ``test_mode``, ...).

    Returns:
        dict: ``dict(type=..., data_root=..., data_mode='topdown', ann_file=...,
        data_prefix=dict(img=...), [bbox_file=...], **kwargs)`` for
        ``mmpose.registry.DATASETS.build``.

    Example:
        >>> cfg = synthetic_dataset_cfg('data/synthetic_coco', 'coco', 'val', pipeline=[])
        >>> cfg['ann_file'], cfg['data_prefix']
        ('annotations/person_keypoints_val.json', {'img': 'images/val/'})
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {sorted(LAYOUTS)}, got {layout!r}')
    spec = LAYOUTS[layout]
    if split not in spec.splits:
        raise ValueError(f'the {layout} layout has splits {spec.splits}, got {split!r}')
    cfg = dict(
        type=spec.dataset_type,
        data_root=root,
        data_mode='topdown',
        ann_file=spec.ann_file.format(split=split),
        data_prefix=dict(img=spec.img_dir.format(split=split) + '/'),
    )
    if detections:
        # mmpose does not join ``bbox_file`` to ``data_root``, and reads it in test mode only.
        cfg['bbox_file'] = spec.detection_path(root, split)
        cfg['test_mode'] = True
    cfg.update(kwargs)
    return cfg


def use_demo_data(cfg: Any, root: str, pool_dir: str = 'instance_pool') -> None:
    """Point a COCO-layout config at the demo data (in place): the three dataloaders, the
    val / test evaluators and the pool of ``InstancePaste`` / ``PartPaste`` (at any depth).

    The data is what :func:`dag_mmpose.benchmark.synthetic.generate_demo_data` writes.

    Args:
        cfg (mmengine.Config): A config such as the demo configs.
        root (str): The root given to :func:`dag_mmpose.benchmark.synthetic.generate_demo_data`.
        pool_dir (str): Its ``pool_dir``.
    """
    root = osp.join(root, '')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    for split in ('val', 'test'):
        evaluators = cfg[f'{split}_evaluator']
        for evaluator in evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]:
            evaluator['ann_file'] = LAYOUTS['coco'].ann_path(root, split)
    for step in pipeline_steps(cfg.train_dataloader.dataset.pipeline):
        if step['type'] in POOL_TRANSFORMS:
            step['pool'] = osp.join(root, pool_dir, '')
