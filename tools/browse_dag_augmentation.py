# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Draw what DAG's and D-Slope's augmentations and targets do to a config's training
samples: one PNG.

Builds the config's dataset, runs its pipeline up to and including ``GenerateTarget``
(which must hold a ``DAGHeatmap`` codec, or follow an ``OccludedTwin``) on
``--num-samples`` random samples and writes one grid image, a row per sample:

(a) the augmented crop with the boxes painted by ``MaskJoints`` outlined in red
    (``masked_boxes``), the people pasted by ``InstancePaste`` outlined in cyan
    (``pasted_instances``; skipped when absent), the target's labelled joints and
    skeleton, and the other people's labelled joints as small yellow dots;
(twin) with an ``OccludedTwin`` (D-Slope): the occluded twin beside the clean crop, what
    its occluders painted outlined in magenta (``twin_boxes``), the same joints (the twin
    shares the crop's labels); with ``twin_key='img'`` the crop is the twin and (a) shows
    the outlines;
(b) the target-joint heatmaps (maximum over the K joints) over the crop;
(c) with a ``DAGHeatmap``: the multi-joint heatmaps (every person in the crop, others at
    a lower peak).

Panels are ``--panel-height`` pixels high and as wide as the crop's aspect ratio gives
(``panel_w = round(input_w * panel_height / input_h)``); with a 4-pixel gap, a 28-pixel
header and a 40-pixel legend the grid is ``C * panel_w + 4 * (C + 1)`` pixels wide for C
columns (3 for DAG, 3 for D-Slope, 4 for both) and ``28 + N * (panel_height + 4) + 40``
pixels high.

Example::

    python tools/browse_dag_augmentation.py \\
        configs/demo/td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py \\
        --num-samples 4 --out dag_augmentation.png \\
        --cfg-options train_dataloader.dataset.data_root=data/synthetic_coco/
"""

import argparse
import os
import os.path as osp
import random
import sys
from typing import Any, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import build_from_cfg, init_default_scope
from mmpose.datasets.transforms import GenerateTarget
from mmpose.registry import DATASETS

from dag_mmpose.codecs import DAGHeatmap
from dag_mmpose.datasets.transforms import OccludedTwin

GAP = 4
HEADER = 28
LEGEND = 40
CROP, TWIN, TARGET, MULTI = (
    'augmented crop',
    'occluded twin',
    'target heatmaps',
    'multi-joint heatmaps',
)
COLUMNS = (CROP, TARGET, MULTI)
MASK_COLOUR = (0, 0, 255)  # BGR
PASTE_COLOUR = (255, 255, 0)
OTHER_COLOUR = (0, 255, 255)  # yellow
TWIN_COLOUR = (255, 0, 255)  # magenta
FONT = cv2.FONT_HERSHEY_SIMPLEX


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a PNG grid of DAG-augmented training samples and their targets'
    )
    parser.add_argument('config', help='config file whose pipeline has a DAGHeatmap codec')
    parser.add_argument('--num-samples', type=int, default=4, help='rows of the grid')
    parser.add_argument('--out', default='dag_augmentation.png', help='output PNG path')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the sample choice and of the augmentations'
    )
    parser.add_argument(
        '--phase',
        default='train',
        choices=['train', 'val', 'test'],
        help="which dataloader's dataset to browse",
    )
    parser.add_argument(
        '--panel-height', type=int, default=256, help='height of each panel in pixels'
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_dataloader.dataset.data_root=data/synthetic_coco/)',
    )
    args = parser.parse_args(argv)
    if args.num_samples < 1:
        parser.error(f'--num-samples must be >= 1, got {args.num_samples}')
    if args.panel_height < 16:
        parser.error(f'--panel-height must be >= 16, got {args.panel_height}')
    return args


def find_target(transforms: List[Any]) -> Tuple[int, Any, Tuple[str, ...]]:
    """Index of the ``GenerateTarget`` to stop after, its codec (the ``DAGHeatmap`` when it
    holds one) and the grid's columns.

    Raises:
        ValueError: The pipeline has neither a ``GenerateTarget`` with a ``DAGHeatmap``
            nor an ``OccludedTwin`` before its ``GenerateTarget``.
    """
    for i, transform in enumerate(transforms):
        if not isinstance(transform, GenerateTarget):
            continue
        encoders = transform.encoder if isinstance(transform.encoder, list) else [transform.encoder]
        dag = [e for e in encoders if isinstance(e, DAGHeatmap)]
        twins = [t for t in transforms[:i] if isinstance(t, OccludedTwin)]
        if not dag and not twins:
            continue
        columns = [CROP]
        if any(t.twin_key != 'img' for t in twins):
            columns.append(TWIN)
        columns.append(TARGET)
        if dag:
            columns.append(MULTI)
        return i, (dag or encoders)[0], tuple(columns)
    names = [type(t).__name__ for t in transforms]
    raise ValueError(
        'the pipeline has no GenerateTarget with a DAGHeatmap encoder and no OccludedTwin, '
        f'so there are no multi-joint targets or twins to show (pipeline: {names}). Use a '
        'DAG or D-Slope config, e.g. '
        'configs/demo/td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py.'
    )


def legend(with_twin: bool = False) -> Tuple[str, str]:
    """The two lines under the grid."""
    boxes = 'red: MaskJoints boxes   cyan: InstancePaste people'
    if with_twin:
        boxes = 'red / cyan: MaskJoints / InstancePaste   magenta: twin occluders'
    return boxes, 'dots + skeleton: target joints   small yellow dots: other people'


def _unwrap(dataset: Any) -> Any:
    """The dataset that runs the pipeline (through ``RepeatDataset`` and the like)."""
    while not hasattr(dataset, 'pipeline') and hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    if type(dataset).__name__ == 'CombinedDataset':
        raise ValueError('CombinedDataset is not supported: browse one of its datasets')
    if not hasattr(dataset, 'pipeline'):
        raise ValueError(f'{type(dataset).__name__} has no pipeline to run')
    return dataset


def _to_bgr_uint8(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] < 3:
        img = np.repeat(img[..., :1], 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


def _text(
    img: np.ndarray,
    text: str,
    org: Tuple[int, int],
    scale: float = 0.45,
    color: Tuple[int, int, int] = (255, 255, 255),
    background: bool = False,
) -> None:
    if background:
        (w, h), base = cv2.getTextSize(text, FONT, scale, 1)
        x, y = org
        img[max(y - h - 3, 0) : y + base, max(x - 2, 0) : x + w + 2] //= 3
    cv2.putText(img, text, org, FONT, scale, color, 1, cv2.LINE_AA)


def _overlay(crop: np.ndarray, heatmaps: Optional[np.ndarray]) -> np.ndarray:
    """The crop with the maximum over K of the heatmaps blended in (JET colors)."""
    if heatmaps is None or np.size(heatmaps) == 0:
        out = crop // 3
        _text(out, 'n/a', (8, crop.shape[0] // 2))
        return out
    heat = np.clip(np.asarray(heatmaps, dtype=np.float32).max(axis=0), 0, 1)
    heat = cv2.resize(heat, crop.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    color = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
    alpha = (0.2 + 0.7 * heat)[..., None]
    return (crop * (1 - alpha) + color * alpha).astype(np.uint8)


def _crop_panel(results: dict, crop: np.ndarray, scale: np.ndarray, metainfo: dict) -> np.ndarray:
    """Panel (a): the crop with masked boxes, pasted people and keypoints drawn."""
    panel = crop.copy()
    thickness = max(1, round(float(scale.mean())))

    def point(p: np.ndarray) -> Tuple[int, int]:
        # pixel centers: crop pixel i covers [i * s, (i + 1) * s) in the panel
        x, y = (np.asarray(p, dtype=np.float64) + 0.5) * scale - 0.5
        return int(round(x)), int(round(y))

    for key, colour in (('masked_boxes', MASK_COLOUR), ('twin_boxes', TWIN_COLOUR)):
        boxes = results.get(key, None)
        for x1, y1, x2, y2 in np.zeros((0, 4)) if boxes is None else np.asarray(boxes):
            cv2.rectangle(
                panel,
                (int(round(x1 * scale[0])), int(round(y1 * scale[1]))),
                (int(round(x2 * scale[0])) - 1, int(round(y2 * scale[1])) - 1),
                colour,
                thickness,
            )

    for pasted in results.get('pasted_instances', None) or []:
        corners = pasted.get('corners', None) if isinstance(pasted, dict) else None
        if corners is not None:
            pts = np.array([point(c) for c in np.asarray(corners)], dtype=np.int32)
            cv2.polylines(panel, [pts], True, PASTE_COLOUR, thickness, cv2.LINE_AA)
        elif isinstance(pasted, dict) and pasted.get('bbox', None) is not None:
            x1, y1, x2, y2 = np.asarray(pasted['bbox'], dtype=np.float64)
            cv2.rectangle(
                panel,
                (int(x1 * scale[0]), int(y1 * scale[1])),
                (int(x2 * scale[0]) - 1, int(y2 * scale[1]) - 1),
                PASTE_COLOUR,
                thickness,
            )

    others = results.get('other_keypoints', None)
    others_visible = results.get('other_keypoints_visible', None)
    if others is not None and others_visible is not None and np.size(others):
        for p in np.asarray(others)[np.asarray(others_visible) > 0]:
            cv2.circle(panel, point(p), 3, (0, 0, 0), -1, cv2.LINE_AA)
            cv2.circle(panel, point(p), 2, OTHER_COLOUR, -1, cv2.LINE_AA)

    keypoints = results.get('transformed_keypoints', None)
    if keypoints is None or np.ndim(keypoints) != 3:
        keypoints = results.get('keypoints', None)
    if keypoints is None or np.ndim(keypoints) != 3:
        return panel
    visible = np.asarray(results['keypoints_visible'])
    if visible.ndim == 3:
        visible = visible[..., 0]
    kpt_colors = metainfo.get('keypoint_colors', None)
    link_colors = metainfo.get('skeleton_link_colors', None)
    for kpts, vis in zip(np.asarray(keypoints)[..., :2], visible):
        for j, (a, b) in enumerate(metainfo.get('skeleton_links', None) or []):
            if vis[a] > 0 and vis[b] > 0:
                # mmpose's metainfo colors are RGB
                color = (
                    tuple(int(c) for c in link_colors[j][::-1])
                    if link_colors is not None and len(link_colors) > j
                    else (0, 255, 0)
                )
                cv2.line(panel, point(kpts[a]), point(kpts[b]), color, thickness, cv2.LINE_AA)
        for j, (p, v) in enumerate(zip(kpts, vis)):
            if v <= 0:
                continue
            color = (
                tuple(int(c) for c in kpt_colors[j][::-1])
                if kpt_colors is not None and len(kpt_colors) > j
                else (0, 255, 0)
            )
            cv2.circle(panel, point(p), 3 + thickness, (0, 0, 0), -1, cv2.LINE_AA)
            cv2.circle(panel, point(p), 2 + thickness, color, -1, cv2.LINE_AA)
    return panel


def draw_row(
    results: dict,
    panel_size: Tuple[int, int],
    metainfo: dict,
    label: str,
    columns: Sequence[str] = COLUMNS,
    twin_key: str = 'img_twin',
) -> List[np.ndarray]:
    """The panels of one sample (one per column), each ``panel_size`` (w, h)."""

    def resized(key: str) -> Tuple[np.ndarray, np.ndarray]:
        img = _to_bgr_uint8(results[key])
        img_h, img_w = img.shape[:2]
        scale = np.array([panel_size[0] / img_w, panel_size[1] / img_h])
        return cv2.resize(img, panel_size, interpolation=cv2.INTER_LINEAR), scale

    crop, scale = resized('img')
    panels = []
    for column in columns:
        if column == CROP:
            # the twin's occluders are drawn on the twin when it has a panel of its own
            shown = dict(results, twin_boxes=None) if TWIN in columns else results
            panel = _crop_panel(shown, crop, scale, metainfo)
            _text(panel, label, (4, 14), scale=0.4, background=True)
        elif column == TWIN:
            twin, twin_scale = resized(twin_key)
            shown = dict(results, masked_boxes=None, pasted_instances=None)
            panel = _crop_panel(shown, twin, twin_scale, metainfo)
            state = 'occluded' if results.get('twin_occluded', True) else 'left clean'
            _text(panel, f'twin {state}', (4, 14), scale=0.4, background=True)
        elif column == TARGET:
            panel = _overlay(crop, results.get('heatmaps', None))
        else:
            panel = _overlay(crop, results.get('multi_heatmaps', None))
            visible = results.get('other_keypoints_visible', None)
            num_others = 0 if visible is None else int((np.asarray(visible) > 0).any(axis=1).sum())
            _text(panel, f'{num_others} other people', (4, 14), scale=0.4, background=True)
        panels.append(panel)
    return panels


def compose_grid(
    rows: List[List[np.ndarray]],
    panel_size: Tuple[int, int],
    columns: Sequence[str] = COLUMNS,
    legend_lines: Sequence[str] = legend(),
) -> np.ndarray:
    """Rows of panels under column headers, with a legend below."""
    panel_w, panel_h = panel_size
    width = len(columns) * panel_w + (len(columns) + 1) * GAP
    height = HEADER + len(rows) * (panel_h + GAP) + LEGEND
    grid = np.full((height, width, 3), 32, dtype=np.uint8)
    for c, name in enumerate(columns):
        x = GAP + c * (panel_w + GAP)
        (text_w, _), _ = cv2.getTextSize(name, FONT, 0.5, 1)
        _text(grid, name, (x + max((panel_w - text_w) // 2, 0), HEADER - 9), scale=0.5)
    for r, row in enumerate(rows):
        y = HEADER + r * (panel_h + GAP)
        for c, panel in enumerate(row):
            x = GAP + c * (panel_w + GAP)
            grid[y : y + panel_h, x : x + panel_w] = panel
    y = height - LEGEND + 15
    for line in legend_lines:
        _text(grid, line, (GAP + 2, y), scale=0.4, color=(220, 220, 220))
        y += 16
    return grid


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Run the tool; return the path of the written PNG."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpose'))

    np.random.seed(args.seed)
    random.seed(args.seed)
    dataset = build_from_cfg(cfg[f'{args.phase}_dataloader'].dataset, DATASETS)
    try:
        runner = _unwrap(dataset)
        target_idx, codec, columns = find_target(runner.pipeline.transforms)
    except ValueError as e:
        sys.exit(f'browse_dag_augmentation: {args.config}: {e}')
    twin_keys = [t.twin_key for t in runner.pipeline.transforms if isinstance(t, OccludedTwin)]
    # stop after GenerateTarget: PackPoseInputs would drop the keys drawn here
    runner.pipeline.transforms = runner.pipeline.transforms[: target_idx + 1]

    if len(dataset) == 0:
        sys.exit(f'browse_dag_augmentation: the {args.phase} dataset is empty')
    indices = np.random.RandomState(args.seed).choice(
        len(dataset), args.num_samples, replace=args.num_samples > len(dataset)
    )

    input_w, input_h = codec.input_size
    panel_h = args.panel_height
    panel_size = (round(input_w * panel_h / input_h), panel_h)
    metainfo = dict(getattr(runner, 'metainfo', {}) or {})
    rows = []
    for idx in indices:
        results = dataset[int(idx)]
        flip = ' flip' if results.get('flip', False) else ''
        label = f'#{int(idx)} img {results.get("img_id", "?")}{flip}'
        rows.append(
            draw_row(results, panel_size, metainfo, label, columns, (twin_keys or ['img'])[-1])
        )

    grid = compose_grid(rows, panel_size, columns, legend(bool(twin_keys)))
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    if not cv2.imwrite(args.out, grid, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        sys.exit(f'browse_dag_augmentation: could not write {args.out}')
    print(f'wrote {args.out} ({grid.shape[1]}x{grid.shape[0]}, {len(rows)} samples)')
    return args.out


if __name__ == '__main__':
    main()
