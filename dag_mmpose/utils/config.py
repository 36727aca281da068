# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Config helpers: build shipped configs offline, read their datasets and pipelines."""

from typing import Any, Dict, Iterator, List

# the pipeline steps that paste from an instance pool (``pool=...``)
POOL_TRANSFORMS = ('InstancePaste', 'PartPaste')


def drop_pretrained(node: Any) -> Any:
    """Remove every ``init_cfg`` of type ``Pretrained`` from a config, in place, at any depth,
    and ``DualSampleEstimator``'s ``gnet_checkpoint`` (weights it loads into GNet).

    Useful to build a shipped config without downloading its ImageNet or COCO weights.

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
        if node.get('gnet_checkpoint'):
            node['gnet_checkpoint'] = None
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
