# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Config helpers for building models offline (tests, benchmarks, CI)."""

from typing import Any


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
