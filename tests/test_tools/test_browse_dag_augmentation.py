# Copyright (c) dag_mmpose contributors. All rights reserved.
"""tools/browse_dag_augmentation.py on the demo DAG config and a small generated dataset."""

import importlib.util
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from dag_mmpose.benchmark.synthetic import generate_demo_data
from dag_mmpose.testing.repo import REPO_ROOT

TOOL = osp.join(REPO_ROOT, 'tools', 'browse_dag_augmentation.py')
DAG_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'demo', 'td-hm_hrnet-tiny_dag-1xb32-10e_synthetic-coco-128x96.py'
)
PLAIN_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'demo', 'td-hm_hrnet-tiny-1xb32-10e_synthetic-coco-128x96.py'
)
# demo crop 96x128 -> panels 192x256; 4 px gaps, 28 px header, 40 px legend
PANEL_W, PANEL_H = 192, 256
MASK_RED = (0, 0, 255)
PASTE_CYAN = (255, 255, 0)


def _grid_shape(num_samples: int):
    return 28 + num_samples * (PANEL_H + 4) + 40, 3 * PANEL_W + 16, 3


def _crop_column(grid: np.ndarray) -> np.ndarray:
    return grid[28:-40, 4 : 4 + PANEL_W]


def _count(img: np.ndarray, color) -> int:
    return int((img == np.array(color, np.uint8)).all(axis=-1).sum())


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('browse_dag_augmentation', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> str:
    # data/synthetic_coco under a folder the CLI runs in, so that the demo config's relative
    # instance pool path resolves
    root = tmp_path_factory.mktemp('browse') / 'data' / 'synthetic_coco'
    generate_demo_data(str(root), num_images=[8, 2, 2])
    return str(root) + '/'


@pytest.mark.slow
def test_cli_on_demo_dag_config(data_root, tool_env, tmp_path):
    out = tmp_path / 'grid.png'
    result = subprocess.run(
        [
            sys.executable,
            TOOL,
            DAG_CONFIG,
            '--num-samples',
            '3',
            '--out',
            str(out),
            '--seed',
            '1',
            '--cfg-options',
            f'train_dataloader.dataset.data_root={data_root}',
        ],
        cwd=osp.dirname(osp.dirname(osp.dirname(data_root))),
        env=tool_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    grid = cv2.imread(str(out))
    assert grid is not None
    assert grid.shape == _grid_shape(3)
    # the heatmap columns differ from the crop column: targets were drawn
    crop = _crop_column(grid).astype(int)
    target = grid[28:-40, 8 + PANEL_W : 8 + 2 * PANEL_W].astype(int)
    assert np.abs(crop - target).mean() > 5


def test_mask_joints_and_instance_paste(tool, data_root, tmp_path):
    pytest.importorskip('dag_mmpose.datasets.transforms.instance_paste')
    from dag_mmpose.datasets import build_instance_pool

    pool = tmp_path / 'pool'
    # the generated people are small (192x256 images) and often overlap
    build_instance_pool(
        osp.join(data_root, 'annotations', 'person_keypoints_train.json'),
        osp.join(data_root, 'images', 'train'),
        str(pool),
        min_area=300,
        max_overlap=0.5,
        progress=False,
    )
    config = tmp_path / 'dag_paste.py'
    config.write_text(f"""_base_ = [{DAG_CONFIG!r}]
codec = dict(type='DAGHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=1.5)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GetOtherInstances', input_size=codec['input_size']),
    dict(type='MaskJoints', prob=1.0),
    dict(type='InstancePaste', pool={str(pool)!r}, prob=1.0),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline, data_root={data_root!r}))
""")
    out = tmp_path / 'sub' / 'grid.png'
    assert tool.main([str(config), '--num-samples', '2', '--out', str(out)]) == str(out)
    grid = cv2.imread(str(out))
    assert grid.shape == _grid_shape(2)
    crop = _crop_column(grid)
    assert _count(crop, MASK_RED) > 50
    assert _count(crop, PASTE_CYAN) > 50


def test_config_without_dag_codec_is_a_clear_error(tool, data_root, tmp_path):
    with pytest.raises(SystemExit, match='no GenerateTarget with a DAGHeatmap'):
        tool.main(
            [
                PLAIN_CONFIG,
                '--out',
                str(tmp_path / 'x.png'),
                '--cfg-options',
                f'train_dataloader.dataset.data_root={data_root}',
            ]
        )
    assert not (tmp_path / 'x.png').exists()


def test_draw_row_outlines_boxes_and_pastes(tool):
    """Crop pixels map to panel pixels by the panel scale; missing keys are skipped."""
    crop = np.full((128, 96, 3), 90, np.uint8)
    keypoints = np.array([[[70.0, 110.0], [85.0, 120.0]]], np.float32)
    results = dict(
        img=crop,
        transformed_keypoints=keypoints,
        keypoints_visible=np.ones((1, 2)),
        masked_boxes=np.array([[10.0, 20.0, 30.0, 40.0]], np.float32),
        pasted_instances=[
            dict(corners=np.array([[50, 10], [90, 10], [90, 60], [50, 60]], np.float32))
        ],
        heatmaps=np.zeros((2, 32, 24), np.float32),
        multi_heatmaps=np.ones((2, 32, 24), np.float32),
    )
    metainfo = dict(skeleton_links=[(0, 1)])
    panels = tool.draw_row(results, (PANEL_W, PANEL_H), metainfo, 'label')
    assert [p.shape for p in panels] == [(PANEL_H, PANEL_W, 3)] * 3
    panel = panels[0]
    # box edges at 2x: x 20..59, y 40..79
    assert (panel[40, 25:55] == MASK_RED).all() and (panel[79, 25:55] == MASK_RED).all()
    assert (panel[45:75, 20] == MASK_RED).all() and (panel[45:75, 59] == MASK_RED).all()
    assert (panel[60, 30] == 90).all()  # inside the box: the crop
    assert _count(panel[:, 90:], PASTE_CYAN) > 100
    # a heatmap of ones is red over the whole panel, zeros leave the crop visible
    assert panels[2][200, 100, 2] > 100 and panels[2][200, 100, 0] < 60
    assert panels[1][200, 100, 2] < 100

    # nothing to outline: no masked_boxes / pasted_instances / other people
    for key in ('masked_boxes', 'pasted_instances'):
        results.pop(key)
    panels = tool.draw_row(results, (PANEL_W, PANEL_H), metainfo, 'label')
    assert _count(panels[0], MASK_RED) == 0 and _count(panels[0], PASTE_CYAN) == 0


DSLOPE_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'demo', 'td-hm_hrnet-tiny_dslope-1xb32-10e_synthetic-coco-128x96.py'
)
OCC_AUG_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'demo', 'td-hm_hrnet-tiny_occ-aug-1xb32-10e_synthetic-coco-128x96.py'
)
TWIN_MAGENTA = (255, 0, 255)


def _browse_all_twins_occluded(tool, config, data_root, out, num_samples) -> np.ndarray:
    """The tool's grid for a config whose OccludedTwin (step 5) occludes every twin, run where
    the demo configs' relative pool path resolves."""
    tool.main(
        [
            config,
            '--num-samples',
            str(num_samples),
            '--out',
            str(out),
            '--cfg-options',
            f'train_dataloader.dataset.data_root={data_root}',
            'train_dataloader.dataset.pipeline.5.clean_prob=0.0',
        ]
    )
    return cv2.imread(str(out))


def test_dslope_config_shows_crop_and_twin_side_by_side(tool, data_root, tmp_path, monkeypatch):
    monkeypatch.chdir(osp.dirname(osp.dirname(osp.dirname(data_root))))
    grid = _browse_all_twins_occluded(tool, DSLOPE_CONFIG, data_root, tmp_path / 'twin.png', 3)
    assert grid.shape == _grid_shape(3)  # crop, twin, target heatmaps
    crop = _crop_column(grid)
    twin = grid[28:-40, 8 + PANEL_W : 8 + 2 * PANEL_W]
    # the occluders are outlined on the twin only, and the twin differs from the crop
    assert _count(twin, TWIN_MAGENTA) > 50
    assert _count(crop, TWIN_MAGENTA) == 0
    assert np.abs(crop.astype(int) - twin.astype(int)).mean() > 1


def test_twin_in_place_outlines_the_crop(tool, data_root, tmp_path, monkeypatch):
    monkeypatch.chdir(osp.dirname(osp.dirname(osp.dirname(data_root))))
    grid = _browse_all_twins_occluded(tool, OCC_AUG_CONFIG, data_root, tmp_path / 'in.png', 2)
    assert grid.shape == (28 + 2 * (PANEL_H + 4) + 40, 2 * PANEL_W + 12, 3)  # crop, targets
    assert _count(_crop_column(grid), TWIN_MAGENTA) > 50
