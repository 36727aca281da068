# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Config helpers: build shipped configs offline, and point configs at generated data."""

import os.path as osp
from typing import Any, Dict, Iterator, List

# the pipeline steps that paste from an instance pool (``pool=...``)
POOL_TRANSFORMS = ('InstancePaste', 'PartPaste')


def drop_pretrained(node: Any) -> Any:
    """Remove every ``init_cfg`` of type ``Pretrained`` from a config, in place, at any depth.

    Useful to build a shipped config without downloading its ImageNet weights.

    Args:
        node (dict | list | Any): A config (or part of one), e.g. ``cfg.model``.

    Returns:
        The same ``node``.
    """
    if isinstance(node, dict):
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            node['init_cfg'] = None
        elif isinstance(init_cfg, list):
            kept = [c for c in init_cfg if c.get('type') != 'Pretrained']
            node['init_cfg'] = kept or None
        for value in node.values():
            drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            drop_pretrained(value)
    return node


def loader_dataset_cfg(cfg: Any, split: str) -> Dict[str, Any]:
    """The dataset config of ``{split}_dataloader``, through wrappers (``RepeatDataset``)."""
    dataset = cfg[f'{split}_dataloader']['dataset']
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']
    return dataset


def pipeline_steps(pipeline: List[Any]) -> Iterator[Dict[str, Any]]:
    """Every step config of a pipeline, depth first, including the steps nested in a step's
    ``transforms`` (``OccludedTwin``, mmcv's ``RandomApply`` / ``RandomChoice``)."""
    for step in pipeline:
        if not isinstance(step, dict):
            continue
        yield step
        nested = step.get('transforms', None)
        if isinstance(nested, (list, tuple)):
            yield from pipeline_steps(nested)


def synthetic_dataset_cfg(
    root: str, layout: str = 'coco', split: str = 'val', detections: bool = False, **kwargs
) -> dict:
    """An mmpose dataset config (top-down) for one split of the generated data
    (:mod:`dag_mmpose.testing.synthetic`).

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
    from ..testing.synthetic.layout import LAYOUTS

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

    The data is what :func:`dag_mmpose.testing.synthetic.generate_demo_data` writes.

    Args:
        cfg (mmengine.Config): A config such as the demo configs.
        root (str): The root given to :func:`dag_mmpose.testing.synthetic.generate_demo_data`.
        pool_dir (str): Its ``pool_dir``.
    """
    from ..testing.synthetic.layout import LAYOUTS

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
