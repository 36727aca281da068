# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The README's main-job data: the COCO layout plus an instance pool of its train people."""

import hashlib
import os
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


def limited_train_data(root: str, num_train: int, pool_dir: str = 'instance_pool') -> str:
    """A data-limited copy of the demo data: the first ``num_train`` train images (the
    generated images are independent draws, so they are a random sample), the same val and
    test splits, and an instance pool cut from those train images only (``InstancePaste``
    must not paste people the small split does not have).

    Written once into ``<root>_train<num_train>`` beside ``root``: the train annotation
    file, copies of the val / test ones, links to ``root``'s image and detection folders,
    and the pool; kept on later calls when ``limited.json`` records the same source files.

    Args:
        root (str): Data of :func:`generate_demo_data`.
        num_train (int): Train images to keep (at most the split's).
        pool_dir (str): Pool folder, relative to the roots.

    Returns:
        str: The limited copy's root.

    Raises:
        ValueError: ``num_train`` is not in [1, images of the train split].
        FileExistsError: The copy's folder exists and holds something else.
    """
    import shutil

    from dag_mmpose.datasets.instance_pool_builder import build_instance_pool
    from dag_mmpose.utils.json_io import dump_json, load_json

    spec = LAYOUTS['coco']
    train = load_json(spec.ann_path(root, 'train'))
    if not 1 <= num_train <= len(train['images']):
        raise ValueError(
            f'num_train must be in [1, {len(train["images"])}] (the train images of '
            f'{spec.ann_path(root, "train")}), got {num_train}'
        )
    out = f'{osp.normpath(root)}_train{num_train}'
    record_file = osp.join(out, 'limited.json')
    sources = {}
    for split in ('train', 'val', 'test'):
        with open(spec.ann_path(root, split), 'rb') as f:
            sources[split] = hashlib.sha256(f.read()).hexdigest()
    record = dict(source=osp.abspath(root), num_train=num_train, source_sha256=sources)
    if osp.exists(record_file) and load_json(record_file) == record:
        return out
    if osp.exists(out) and os.listdir(out):
        if not osp.exists(record_file):
            raise FileExistsError(f'{out} exists and is not a limited copy of {root}')
        shutil.rmtree(out)  # a copy of other source files: made again
    images = train['images'][:num_train]
    kept = {image['id'] for image in images}
    train = dict(
        train, images=images, annotations=[a for a in train['annotations'] if a['image_id'] in kept]
    )
    os.makedirs(osp.dirname(spec.ann_path(out, 'train')), exist_ok=True)
    dump_json(train, spec.ann_path(out, 'train'))
    for split in ('val', 'test'):
        shutil.copyfile(spec.ann_path(root, split), spec.ann_path(out, split))
    for folder in ('images', 'person_detection_results'):
        os.symlink(osp.abspath(osp.join(root, folder)), osp.join(out, folder))
    build_instance_pool(
        spec.ann_path(out, 'train'),
        spec.img_path(out, 'train'),
        osp.join(out, pool_dir),
        progress=False,
        **DEMO_POOL_FILTERS,
    )
    dump_json(record, record_file)
    return out
