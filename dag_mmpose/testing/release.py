# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Our ``dag-release`` model against what the authors' release computes.

``tools/misc/make_dag_release_fixture.py`` runs the release's own test path on fixed inputs
and stores its checkpoint, the inputs and every stage's output (``.npz``). This module
converts that checkpoint with ``tools/model_converters/dag_release2mmpose.py``, runs our
model on the same inputs through mmpose's ``TopdownPoseEstimator.predict`` and returns our
outputs at the same stages, so that a test or ``tools/analysis/compare_dag_release.py`` can
compare them.
"""

import contextlib
import copy
import importlib.util
import io
import json
import os.path as osp
from typing import Dict, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from torch import nn

from ..utils.config import drop_pretrained
from .repo import REPO_ROOT

__all__ = [
    'STAGES',
    'build_converted',
    'SWITCHES',
    'build_model',
    'convert_fixture',
    'converter',
    'fixture_checkpoint',
    'fixture_config',
    'load_fixture',
    'release_outputs',
    'run_ours',
    'stage_differences',
    'switch_effects',
]

_W32 = osp.join(
    REPO_ROOT,
    'configs/body_2d_keypoint/dag/coco/td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py',
)
#: the compared stages, in the order the test path computes them
STAGES = (
    'heatmaps',
    'flipped_heatmaps',
    'multi_heatmaps',
    'initial_keypoints',
    'initial_scores',
    'points',
    'offsets',
    'keypoints',
    'scores',
)


def converter():
    """``tools/model_converters/dag_release2mmpose.py`` as a module."""
    path = osp.join(REPO_ROOT, 'tools', 'model_converters', 'dag_release2mmpose.py')
    spec = importlib.util.spec_from_file_location('dag_release2mmpose', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_fixture(path: str) -> Dict:
    """The fixture's arrays, and its ``meta`` as a dict."""
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays['meta'] = json.loads(str(arrays['meta']))
    return arrays


def fixture_checkpoint(fixture: Dict) -> Dict[str, Dict[str, torch.Tensor]]:
    """The release checkpoint the fixture holds, as ``torch.load`` gives it."""
    checkpoint: Dict[str, Dict[str, torch.Tensor]] = dict(state_dict={}, gcn_state_dict={})
    for key, value in fixture.items():
        if key.startswith('ckpt/'):
            _, part, name = key.split('/', 2)
            checkpoint[part][name] = torch.from_numpy(np.array(value))
    return checkpoint


def release_outputs(fixture: Dict, mode: str) -> Dict[str, np.ndarray]:
    """The release's outputs at every stage in ``mode`` ('eval' or 'batch')."""
    outputs = {}
    for stage in STAGES:
        key = f'{mode}/{stage}' if f'{mode}/{stage}' in fixture else f'release/{stage}'
        outputs[stage] = fixture[key]
    return outputs


def fixture_config(meta: Dict) -> Config:
    """Our ``dag-release`` config for the fixture's architecture: the W32 release config
    with the fixture's HRNet widths, depths and sizes (W32 / W48 fixtures only change
    widths and sizes)."""
    cfg = Config.fromfile(_W32)
    drop_pretrained(cfg.model)
    model = cfg.model
    extra = model.backbone.extra
    for index, stage in enumerate(('stage2', 'stage3', 'stage4')):
        extra[stage].num_modules = meta['num_modules'][index]
        extra[stage].num_blocks = tuple(meta['num_blocks'][index])
        extra[stage].num_channels = tuple(meta['channels'][index])
    width = meta['channels'][0][0]
    up_scale = meta['up_scale']
    input_size = tuple(meta['image_size'])
    heatmap_size = tuple(s * up_scale for s in meta['heatmap_size'])
    model.neck.in_channels = width
    model.neck.upsample_factor = up_scale
    model.head.pose_cfg.in_channels = width
    model.head.pose_cfg.decoder.input_size = input_size
    model.head.pose_cfg.decoder.heatmap_size = heatmap_size
    model.head.multi_cfg.in_channels = width
    model.head.gcn_cfg.hidden_channels = meta['gcn_channels']
    test = meta['test']
    model.test_cfg.update(flip_test=test['flip'], shift_heatmap=test['shift_heatmap'])
    return cfg


def _data_samples(fixture: Dict, input_size: Tuple[int, int]):
    flip_indices = list(range(17))
    for i, j in fixture['meta']['flip_pairs']:
        flip_indices[i], flip_indices[j] = j, i
    samples = []
    for index, (center, scale, box) in enumerate(
        zip(fixture['inputs/centers'], fixture['inputs/scales'], fixture['inputs/boxes'])
    ):
        sample = PoseDataSample(
            metainfo=dict(
                id=index,
                input_size=input_size,
                input_center=center.astype(np.float64),
                input_scale=scale.astype(np.float64) * 200.0,
                flip_indices=flip_indices,
            )
        )
        x, y, w, h = box.astype(np.float64)
        sample.gt_instances = InstanceData(
            bboxes=np.array([[x, y, x + w, y + h]]), bbox_scores=np.ones(1)
        )
        samples.append(sample)
    return samples


def run_ours(
    model: nn.Module, fixture: Dict, mode: str, instance_scale='random'
) -> Dict[str, np.ndarray]:
    """Our model's outputs at the fixture's stages, on its inputs.

    Args:
        model (nn.Module): Our ``dag-release`` model with the converted weights.
        fixture (dict): :func:`load_fixture`'s.
        mode (str): ``'eval'`` (the GCN's running statistics) or ``'batch'`` (each batch's,
            ``test_cfg['gcn_norm_stats']='batch'``).
        instance_scale: The neck's ``instance_scale`` for the run; ``'random'`` (after
            ``torch.manual_seed`` of the fixture's seed) draws the release's ``r``.

    Returns:
        dict: stage -> array, in the release's frames (image pixels for keypoints).
    """
    model.eval()
    model.neck.instance_scale = instance_scale
    model.test_cfg['gcn_norm_stats'] = 'batch' if mode == 'batch' else 'running'
    model.test_cfg['output_initial'] = True
    head = model.head
    input_size = tuple(head.input_size)
    images = torch.from_numpy(fixture['inputs/images'])
    samples = _data_samples(fixture, input_size)
    seed = fixture['meta']['seed']
    records: Dict[str, list] = dict(heatmaps=[], points=[], offsets=[])
    hooks = [
        head.pose_head.register_forward_hook(lambda m, a, out: records['heatmaps'].append(out)),
        head.point_sampler.register_forward_hook(lambda m, a, out: records['points'].append(out)),
        head.gcn.register_forward_hook(lambda m, a, out: records['offsets'].append(out)),
    ]
    try:
        with torch.no_grad():
            torch.manual_seed(seed)
            results = model.predict(images, samples)
            # the multi-joint branch (training only) on the first pass's features, which
            # drew the first r after the seed
            torch.manual_seed(seed)
            multi = head.forward_multi(model.extract_feat(images))
    finally:
        for hook in hooks:
            hook.remove()
    keypoints = np.concatenate([r.pred_instances.keypoints for r in results])
    scores = np.concatenate([r.pred_instances.keypoint_scores for r in results])
    initial = np.concatenate([r.pred_instances.initial_keypoints for r in results])
    centers = np.stack([s.metainfo['input_center'] for s in samples])[:, None]
    scales = np.stack([s.metainfo['input_scale'] for s in samples])[:, None]
    initial = initial / np.asarray(input_size) * scales + centers - 0.5 * scales
    return dict(
        heatmaps=records['heatmaps'][0].numpy(),
        # None without flip test
        flipped_heatmaps=records['heatmaps'][1].numpy() if len(records['heatmaps']) > 1 else None,
        multi_heatmaps=multi.numpy(),
        initial_keypoints=initial,
        initial_scores=scores,
        points=records['points'][0][1].numpy(),
        offsets=records['offsets'][0].numpy(),
        keypoints=keypoints,
        scores=scores,
    )


def convert_fixture(fixture: Dict, tmp_dir: str) -> Tuple[Config, Dict[str, torch.Tensor]]:
    """Our config of the fixture's architecture, and the fixture's checkpoint converted by
    the converter's command line (through a file in the release's format in ``tmp_dir``)."""
    module = converter()
    src = osp.join(tmp_dir, 'release.pth')
    dst = osp.join(tmp_dir, 'converted.pth')
    config = osp.join(tmp_dir, 'config.py')
    fixture_config(fixture['meta']).dump(config)
    torch.save(fixture_checkpoint(fixture), src)
    with contextlib.redirect_stdout(io.StringIO()):
        code = module.main([src, dst, '--config', config, '--overwrite'])
    if code != 0:
        raise RuntimeError('the converter refused the fixture checkpoint')
    state = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    return Config.fromfile(config), state


def build_model(cfg: Config, state: Dict[str, torch.Tensor]) -> nn.Module:
    """The model of ``cfg`` with ``state`` loaded (strict), in eval mode."""
    init_default_scope('mmpose')
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.load_state_dict(state, strict=True)
    return model.eval()


def build_converted(fixture: Dict, tmp_dir: str) -> nn.Module:
    """Our model of the fixture's architecture with the fixture's checkpoint converted."""
    return build_model(*convert_fixture(fixture, tmp_dir))


#: every release behaviour that a switch reproduces, and what our default does instead: the
#: config options that undo the switch, and the neck's instance scale and the release run
#: ('eval' / 'batch') the result is compared with
SWITCHES = {
    'gap 3: self link in the degree': dict(
        options={'model.head.gcn_cfg.self_links_in_degree': False}
    ),
    'gap 3: no eye-eye link': dict(
        options={
            'model.head.skeleton_links': [
                (0, 1),
                (0, 2),
                (1, 3),
                (2, 4),
                (4, 4),
                (3, 5),
                (4, 6),
                (5, 6),
                (5, 7),
                (5, 11),
                (6, 8),
                (6, 12),
                (7, 9),
                (8, 10),
                (11, 12),
                (11, 13),
                (12, 14),
                (13, 15),
                (14, 16),
                (1, 2),
            ]
        }
    ),  # fmt: skip
    'gap 4: box frame': dict(options={'model.head.coord_frame': 'crop'}),
    'gap 5: GCN on the original pass only': dict(options={'model.test_cfg.refine_flip': 'average'}),
    'gap 6: legacy decoding': dict(options={'model.head.pose_cfg.decoder.legacy_decode': False}),
    'gap 7: batch statistics': dict(options={}, release_mode='batch', ours_mode='eval'),
    'gap 8: r = 1 (ours) instead of the drawn r': dict(options={}, instance_scale=None),
    'gap 8: r = 0 (the expectation) instead of the drawn r': dict(options={}, instance_scale=0.0),
    'non-local: unscaled logits': dict(options={'model.head.gcn_cfg.non_local_cfg.qk_scale': None}),
    'gated hops': dict(options={'model.head.gcn_cfg.hop_combination': 'sum'}),
    'symmetrized adjacency': dict(options={'model.head.gcn_cfg.symmetric_adjacency': False}),
}


def switch_effects(fixture: Dict, cfg: Config, state: Dict[str, torch.Tensor]) -> Dict:
    """For every entry of :data:`SWITCHES`: the largest distance (image pixels) between
    the release's final keypoints and ours with that one switch back at our default."""
    effects = {}
    for name, switch in SWITCHES.items():
        variant = copy.deepcopy(cfg)
        variant.merge_from_dict(switch['options'])
        model = build_model(variant, state)
        ours = run_ours(
            model,
            fixture,
            switch.get('ours_mode', 'eval'),
            instance_scale=switch.get('instance_scale', 'random'),
        )
        release = release_outputs(fixture, switch.get('release_mode', 'eval'))
        distance = np.linalg.norm(ours['keypoints'] - release['keypoints'], axis=-1)
        effects[name] = dict(max=float(distance.max()), mean=float(distance.mean()))
    return effects


def stage_differences(release: Dict, ours: Dict) -> Dict[str, float]:
    """Largest absolute difference at every stage (shapes must agree)."""
    diffs = {}
    for stage in STAGES:
        a, b = np.asarray(release[stage], np.float64), np.asarray(ours[stage], np.float64)
        if a.shape != b.shape:
            raise ValueError(f'{stage}: release {a.shape}, ours {b.shape}')
        diffs[stage] = float(np.abs(a - b).max())
    return diffs
