# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The README's main-job data: the COCO layout plus an instance pool of its train people."""

import os.path as osp
from typing import List, Sequence

from .layout import LAYOUTS
from .splits import generate_all

# Filters for pools cut from the generated data: its stick people are smaller (median area
# ~2700 px at 256x192) and overlap more than COCO's, so the COCO defaults keep almost nobody.
DEMO_POOL_FILTERS = dict(min_area=1000, min_keypoints=8, max_overlap=0.5)


def generate_demo_data(
    root: str,
    num_images: Sequence[int] = (600, 100, 100),
    seed: int = 0,
    pool_dir: str = 'instance_pool',
    progress: bool = False,
    variety: str = 'upright',
) -> List[str]:
    """The README's main-job data: the COCO layout plus an instance pool of its train people.

    Both are kept when they already exist, so repeated runs cost nothing.

    Args:
        root (str): Dataset root, e.g. ``data/synthetic_coco``.
        num_images (Sequence[int]): Images of the train / val / test splits.
        seed (int): Base seed.
        pool_dir (str): Pool folder, relative to ``root``, for ``InstancePaste``.
        progress (bool): Show the pool builder's progress bar.
        variety (str): ``'upright'`` (the fast setting the demo trains on) or ``'full'``
            (the whole benchmark).

    Returns:
        list[str]: One human-readable line per split and one for the pool.
    """
    from dag_mmpose.datasets.instance_pool_builder import build_instance_pool, format_summary

    lines = [
        str(summary)
        for summary in generate_all(root, 'coco', num_images, seed=seed, variety=variety)
    ]
    pool = osp.join(root, pool_dir)
    if osp.exists(osp.join(pool, 'index.json')):
        lines.append(f'pool: kept existing {pool}')
    else:
        spec = LAYOUTS['coco']
        summary = build_instance_pool(
            spec.ann_path(root, 'train'),
            spec.img_path(root, 'train'),
            pool,
            progress=progress,
            **DEMO_POOL_FILTERS,
        )
        lines.append('pool: ' + format_summary(summary).replace('\n', '; '))
    return lines
