# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Batches made by a config's *own* pipelines, without a dataset on disk.

The config tests and ``tools/analysis/benchmark_model.py`` both need real packed inputs for
any top-down config (DAG or not, heatmap or SimCC): a synthetic image with two overlapping
annotated people goes through the config's train / val pipeline (minus ``LoadImage``), with
a two-person stand-in for the dataset so that ``GetOtherInstances`` finds the other person.
"""

import copy
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import DATASETS, TRANSFORMS

from ..utils.config import POOL_TRANSFORMS, loader_dataset_cfg, pipeline_steps
from ..utils.json_io import dump_json

# (w, h) sizes that must scale together when a config's crop size changes
SIZE_KEYS = ('input_size', 'heatmap_size', 'in_featuremap_size')
# metainfo items BaseCocoStyleDataset.get_data_info adds to every sample
METAINFO_KEYS = (
    'dataset_name',
    'upper_body_ids',
    'lower_body_ids',
    'flip_pairs',
    'dataset_keypoint_weights',
    'flip_indices',
    'skeleton_links',
)


def type_name(step: Dict[str, Any]) -> str:
    """The type of a pipeline step (``'mmdet.YOLOXHSVRandomAug'`` stays as written)."""
    name = step['type']
    return name if isinstance(name, str) else name.__name__


def crop_size(cfg: Config) -> Tuple[int, int]:
    """The ``(w, h)`` input size of the train pipeline's ``TopdownAffine``."""
    affine = [
        s for s in loader_dataset_cfg(cfg, 'train')['pipeline'] if type_name(s) == 'TopdownAffine'
    ]
    if not affine:
        raise ValueError('only top-down configs (with TopdownAffine) are supported')
    width, height = affine[0]['input_size']
    return int(width), int(height)


def size_entries(
    node: Any, found: Optional[List[Tuple[dict, str]]] = None
) -> List[Tuple[dict, str]]:
    """Every ``(dict, key)`` of ``node`` whose key is one of :data:`SIZE_KEYS`, any depth."""
    found = [] if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SIZE_KEYS and isinstance(value, (list, tuple)):
                found.append((node, key))
            else:
                size_entries(value, found)
    elif isinstance(node, (list, tuple)):
        for value in node:
            size_entries(value, found)
    return found


def dataset_metainfo(cfg: Config) -> Dict[str, Any]:
    """The parsed metainfo of the config's training dataset (config or class default)."""
    dataset = cfg.train_dataloader.dataset
    metainfo = dataset.get('metainfo')
    while metainfo is None and 'dataset' in dataset:
        dataset = dataset['dataset']
        metainfo = dataset.get('metainfo')
    if metainfo is None:
        metainfo = DATASETS.get(dataset['type']).METAINFO
    return parse_pose_metainfo(copy.deepcopy(dict(metainfo)))


class TwoPeopleDataset:
    """The few ``BaseCocoStyleDataset`` members DAG transforms read from
    ``results['dataset']``: two annotated people in one image."""

    def __init__(self, infos: List[Dict[str, Any]], metainfo: Dict[str, Any]) -> None:
        self.infos = infos
        self.metainfo = metainfo

    def __len__(self) -> int:
        return len(self.infos)

    def get_data_info(self, idx: int) -> Dict[str, Any]:
        return copy.deepcopy(self.infos[idx])


def two_people_samples(cfg: Config, seed: int = 0) -> List[Dict[str, Any]]:
    """Data infos as ``BaseCocoStyleDataset.prepare_data`` + ``LoadImage`` give them: one per
    person of a random image (twice the crop size) with two overlapping people of the config's
    dataset, each with one unlabelled joint.

    Args:
        cfg (Config): A top-down config.
        seed (int): Seed of the image and the keypoints.

    Returns:
        list[dict]: Two samples, each with ``img``, ``dataset`` and the annotation keys.
    """
    meta = dataset_metainfo(cfg)
    num_keypoints = meta['num_keypoints']
    w_in, h_in = crop_size(cfg)
    img_h, img_w = int(h_in * 1.5), int(w_in * 2)
    rng = np.random.RandomState(seed)
    img = rng.randint(0, 256, (img_h, img_w, 3), dtype=np.uint8)

    infos = []
    for idx, x0 in enumerate((0.25 * img_w, 0.45 * img_w)):
        box = np.array([[x0, 0.15 * img_h, x0 + 0.3 * img_w, 0.85 * img_h]], dtype=np.float32)
        keypoints = np.stack(
            [
                rng.uniform(box[0, 0], box[0, 2], num_keypoints),
                rng.uniform(box[0, 1], box[0, 3], num_keypoints),
            ],
            axis=-1,
        )[None].astype(np.float32)
        visible = np.ones((1, num_keypoints), dtype=np.float32)
        visible[0, idx] = 0
        info = dict(
            img_id=1,
            id=idx + 1,
            img_path='synthetic.jpg',
            category_id=1,
            iscrowd=0,
            segmentation=None,
            bbox=box,
            bbox_score=np.ones(1, dtype=np.float32),
            num_keypoints=int(visible.sum()),
            keypoints=keypoints,
            keypoints_visible=visible,
        )
        info.update({key: copy.deepcopy(meta[key]) for key in METAINFO_KEYS})
        infos.append(info)

    dataset = TwoPeopleDataset(infos, meta)
    samples = []
    for idx in range(len(dataset)):
        sample = dataset.get_data_info(idx)
        sample.update(
            dataset=dataset, img=img.copy(), img_shape=(img_h, img_w), ori_shape=(img_h, img_w)
        )
        samples.append(sample)
    return samples


def write_keypoint_results(
    samples: List[Dict[str, Any]], path: str, noise: float = 2.0, seed: int = 0
) -> str:
    """Write the samples' keypoints, moved by Gaussian noise of ``noise`` pixels, as a COCO
    keypoint results file (what ``LoadInitialPose`` reads), scores uniform in [0, 1].

    Returns:
        str: ``path``.
    """
    rng = np.random.RandomState(seed)
    entries = []
    for sample in samples:
        keypoints = np.asarray(sample['keypoints'], dtype=np.float64)[0]
        keypoints = keypoints + rng.normal(0.0, noise, keypoints.shape)
        scores = rng.uniform(0.0, 1.0, (len(keypoints), 1))
        pose = np.concatenate([keypoints, scores], axis=1)
        entries.append(
            dict(
                image_id=sample['img_id'],
                category_id=1,
                keypoints=pose.ravel().round(3).tolist(),
                score=1.0,
            )
        )
    return dump_json(entries, path)


def build_pipeline(
    cfg: Config,
    split: str,
    skip: Iterable[str] = (),
    pool: Optional[str] = None,
    pred_file: Optional[str] = None,
) -> List[Any]:
    """The config's ``split`` pipeline as transforms, without ``LoadImage``.

    Args:
        cfg (Config): The config.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        skip (Iterable[str]): Further step types to leave out, at any depth (e.g. the
            occlusion transforms inside ``OccludedTwin``). ``Albumentation`` (pixel values
            only) is left out too when its optional dependency is missing.
        pool (str, optional): Instance pool that ``InstancePaste`` / ``PartPaste`` steps (at
            any depth) use instead of the config's (built from the real dataset).
        pred_file (str, optional): Predictions that ``LoadInitialPose`` steps read instead of
            the config's (e.g. from :func:`write_keypoint_results`).

    Returns:
        list: The built transforms.
    """
    skip = {'LoadImage', *skip}  # the samples bring their image
    try:
        import albumentations  # noqa: F401
    except ImportError:
        skip.add('Albumentation')
    steps = _without(copy.deepcopy(loader_dataset_cfg(cfg, split)['pipeline']), skip)
    for step in pipeline_steps(steps):
        if type_name(step) in POOL_TRANSFORMS and pool is not None:
            step['pool'] = pool
        if type_name(step) == 'LoadInitialPose' and pred_file is not None:
            step['pred_file'] = pred_file
    return [TRANSFORMS.build(step) for step in steps]


def _without(steps: List[Any], skip: Iterable[str]) -> List[Any]:
    """``steps`` without those of the ``skip`` types, also in nested ``transforms`` lists
    (in place for the nested lists)."""
    kept = [step for step in steps if not isinstance(step, dict) or type_name(step) not in skip]
    for step in kept:
        if isinstance(step, dict) and isinstance(step.get('transforms', None), (list, tuple)):
            step['transforms'] = _without(step['transforms'], skip)
    return kept


def pack_batch(
    transforms: List[Any],
    samples: List[Dict[str, Any]],
    batch_size: Optional[int] = None,
    with_dataset: bool = True,
) -> dict:
    """Run ``samples`` (cycled to ``batch_size``) through ``transforms`` and collate them.

    Args:
        transforms (list): From :func:`build_pipeline`.
        samples (list[dict]): From :func:`two_people_samples`.
        batch_size (int, optional): Samples in the batch. Defaults to ``len(samples)``.
        with_dataset (bool): Keep ``dataset`` in the samples (test-time pipelines run
            without one, as with detection boxes). Defaults to ``True``.

    Returns:
        dict: ``pseudo_collate`` of the packed samples (``inputs``, ``data_samples``).
    """
    batch_size = len(samples) if batch_size is None else batch_size
    packed = []
    for i in range(batch_size):
        results = copy.deepcopy(samples[i % len(samples)])
        if not with_dataset:
            results.pop('dataset', None)
        for transform in transforms:
            results = transform(results)
            if results is None:
                raise RuntimeError(f'{transform!r} dropped the synthetic sample')
        packed.append(results)
    return pseudo_collate(packed)
