# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Convert a checkpoint of the authors' DAG release (HRNet code base) into an mmpose
checkpoint of the matching ``dag-release`` config.

The release saves ``{'state_dict', 'gcn_state_dict', 'best_state_dict',
'best_gcn_state_dict', ...}`` (``tools/train_dag.py``; the first two with DataParallel's
``module.`` prefixes), or the two ``*_best.pth`` state dicts alone (``model_best.pth``
with ``--gcn gcn_best.pth``). Every tensor is placed into the model of the config (by
default the ``dag-release`` COCO config whose HRNet width and heatmap size fit the
checkpoint), or dropped when the release uses it in training only (the keypoint-context
head) or never (an unused ``final_layer``); a checkpoint that does not fit is refused,
naming the keys and shapes. The report (every key used, dropped or unplaced) is written
beside the output as ``<output>.report.json``.

Example::

    python tools/model_converters/dag_release2mmpose.py \\
        models/pytorch/pose_dag/DAG_w32_256x192.pth work_dirs/dag_w32_256x192.pth
    python tools/test.py \\
        configs/body_2d_keypoint/dag/coco/td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py \\
        work_dirs/dag_w32_256x192.pth
"""

import argparse
import json
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_COCO = osp.join(_REPO, 'configs', 'body_2d_keypoint', 'dag', 'coco')
#: (HRNet width, input (w, h)) -> the dag-release config of that checkpoint
RELEASE_CONFIGS = {
    (32, (192, 256)): 'td-hm_hrnet-w32_dag-release-8xb64-210e_coco-256x192.py',
    (32, (288, 384)): 'td-hm_hrnet-w32_dag-release-8xb32-210e_coco-384x288.py',
    (48, (192, 256)): 'td-hm_hrnet-w48_dag-release-8xb32-210e_coco-256x192.py',
    (48, (288, 384)): 'td-hm_hrnet-w48_dag-release-8xb32-210e_coco-384x288.py',
}
_BACKBONE = ('conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition', 'stage')
#: release modules it does not test with, and why
DROPPED = {
    'context_head': 'training only (the keypoint-context loss)',
    'context_predictor': 'training only (the keypoint-context loss)',
    'final_layer': 'never called by the release',
}


class ConversionError(ValueError):
    """The checkpoint does not fit the release model of the config."""


def strip_module(state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Drop DataParallel's ``module.`` prefix, where every key has it."""
    if state_dict and all(key.startswith('module.') for key in state_dict):
        return {key[len('module.') :]: value for key, value in state_dict.items()}
    return dict(state_dict)


def release_state_dicts(
    checkpoint: dict, gcn_checkpoint: Optional[dict] = None, source: str = 'checkpoint'
) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
    """The pose model's and the GCN's state dicts of a release checkpoint, unprefixed.

    Args:
        checkpoint (dict): What ``torch.load`` gives for the release checkpoint: a dict with
            ``state_dict`` / ``gcn_state_dict`` (or ``best_state_dict`` /
            ``best_gcn_state_dict``), or a bare pose-model state dict (``model_best.pth``).
        gcn_checkpoint (dict, optional): A bare GCN state dict (``gcn_best.pth``).
        source (str): The file, for the errors.
    """
    if not isinstance(checkpoint, dict):
        raise ConversionError(f'{source}: expected a dict, got {type(checkpoint).__name__}')
    pose = gcn = None
    for key in ('state_dict', 'best_state_dict'):
        if isinstance(checkpoint.get(key), dict):
            pose = checkpoint[key]
            break
    for key in ('gcn_state_dict', 'best_gcn_state_dict'):
        if isinstance(checkpoint.get(key), dict):
            gcn = checkpoint[key]
            break
    if pose is None and all(isinstance(v, Tensor) for v in checkpoint.values()):
        pose = checkpoint  # model_best.pth
    if gcn_checkpoint is not None:
        if gcn is not None:
            raise ConversionError(
                f'{source} holds a gcn_state_dict already; give --gcn only with a bare '
                'pose-model state dict (model_best.pth)'
            )
        gcn = gcn_checkpoint.get('gcn_state_dict', gcn_checkpoint)
    if pose is None or gcn is None:
        keys = sorted(checkpoint)[:8]
        raise ConversionError(
            f'{source}: not a DAG release checkpoint: it needs the pose model and the GCN '
            "('state_dict' + 'gcn_state_dict', or their 'best_*' variants, or "
            f'model_best.pth with --gcn gcn_best.pth); its top-level keys start {keys}'
        )
    return strip_module(pose), strip_module(gcn)


def _graph_conv(src: str, dst: str, tensors: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """The release's ``ExtendSkeletonGraphConv`` at ``src`` -> ours at ``dst``: ``W`` (2,
    in, out) into the self / neighbour ``Linear`` weights (out, in), ``Lamda1..H`` (J, out)
    stacked into the modulation (H, J, out), the bias."""
    out = {
        f'{dst}.self_weight.weight': tensors[f'{src}.W'][0].t().contiguous(),
        f'{dst}.neighbor_weight.weight': tensors[f'{src}.W'][1].t().contiguous(),
        f'{dst}.bias': tensors[f'{src}.bias'],
    }
    hops = sorted(
        (int(m.group(1)), key)
        for key in tensors
        if (m := re.fullmatch(re.escape(src) + r'\.Lamda(\d+)', key))
    )
    out[f'{dst}.modulation'] = torch.stack([tensors[key] for _, key in hops])
    return out


def _gcn_plan(gcn: Dict[str, Tensor]) -> List[Tuple[str, str, str]]:
    """(kind, release prefix, our prefix) for every module of the release GCN."""
    plan = [
        ('copy', 'level_conv', 'head.point_sampler.level_conv'),
        ('copy', 'FC.0.0', 'head.point_sampler.point_mlp.0'),
        ('copy', 'FC.1.0', 'head.point_sampler.point_mlp.2'),
        ('copy', 'FC.2', 'head.point_sampler.point_mlp.4'),
        ('graph', 'gconv_input.0.gconv', 'head.gcn.input_layer.conv'),
        ('copy', 'gconv_input.0.bn', 'head.gcn.input_layer.bn'),
    ]
    blocks = sorted({int(k.split('.')[1]) for k in gcn if k.startswith('gconv_layers.')})
    residual = [(f'gconv_layers.{i}', f'head.gcn.blocks.{i}') for i in blocks]
    residual.append(('gconv_layer_last', 'head.gcn.late_blocks.0'))
    for src, dst in residual:
        for layer in (1, 2):
            plan.append(('graph', f'{src}.gconv{layer}.gconv', f'{dst}.layer{layer}.conv'))
            plan.append(('copy', f'{src}.gconv{layer}.bn', f'{dst}.layer{layer}.bn'))
        plan.append(('copy', f'{src}.bn', f'{dst}.norm'))
    for src, dst in (('theta', 'query'), ('phi', 'key'), ('g', 'value'), ('W.0', 'out_proj')):
        plan.append(('conv1x1', f'non_local.{src}', f'head.gcn.late_blocks.1.{dst}'))
    plan.append(('copy', 'non_local.W.1', 'head.gcn.late_blocks.1.norm'))
    plan.append(('graph', 'gconv_output', 'head.gcn.output_layer'))
    return plan


def convert(
    pose: Dict[str, Tensor], gcn: Dict[str, Tensor]
) -> Tuple[Dict[str, Tensor], Dict[str, List]]:
    """Map the release's pose-model and GCN state dicts onto our ``dag-release`` model.

    Returns:
        tuple: the mmpose state dict, and a report: ``used`` ([release key, our keys]),
        ``dropped`` ([release key, reason]) and ``unplaced`` (release keys no rule knows).
    """
    state: Dict[str, Tensor] = {}
    used: List[List] = []
    dropped: List[List[str]] = []
    unplaced: List[str] = []
    pose_rules = {
        'channel_att.atn': 'neck.channel_fc',
        'concat_predict': 'neck.fusion_conv',
        'kpt_layer': 'head.pose_head.final_layer',
        'parts_predictor': 'head.multi_head.final_layer',
    }
    for key, value in pose.items():
        top = key.split('.')[0]
        module, _, param = key.rpartition('.')
        if top in DROPPED:
            dropped.append([f'state_dict:{key}', DROPPED[top]])
        elif top.startswith(_BACKBONE):
            state[f'backbone.{key}'] = value
            used.append([f'state_dict:{key}', [f'backbone.{key}']])
        elif module in pose_rules:
            state[f'{pose_rules[module]}.{param}'] = value
            used.append([f'state_dict:{key}', [f'{pose_rules[module]}.{param}']])
        else:
            unplaced.append(f'state_dict:{key}')

    placed = set()
    for kind, src, dst in _gcn_plan(gcn):
        keys = [k for k in gcn if k.startswith(src + '.')]
        if not keys:
            continue
        if kind == 'graph':
            try:
                mapped = _graph_conv(src, dst, gcn)
            except (KeyError, IndexError, RuntimeError) as exc:
                raise ConversionError(
                    f'gcn_state_dict: graph conv {src} is incomplete ({exc})'
                ) from exc
            state.update(mapped)
            for key in keys:
                used.append([f'gcn_state_dict:{key}', sorted(mapped)])
        else:
            for key in keys:
                param = key[len(src) + 1 :]
                value = gcn[key]
                if kind == 'conv1x1' and param == 'weight':
                    value = value.reshape(value.shape[0], -1)
                state[f'{dst}.{param}'] = value
                used.append([f'gcn_state_dict:{key}', [f'{dst}.{param}']])
        placed.update(keys)
    if any(k.startswith('non_local.') for k in gcn):
        # the release adds the non-local block's output as it is: gamma = 1
        state['head.gcn.late_blocks.1.gamma'] = torch.ones(1)
    unplaced += [f'gcn_state_dict:{k}' for k in gcn if k not in placed]
    return state, dict(used=used, dropped=dropped, unplaced=unplaced)


def infer_config(pose: Dict[str, Tensor], gcn: Dict[str, Tensor]) -> str:
    """The dag-release config of the checkpoint's HRNet width and input size (from the point
    MLP's input, the 2x heatmap's pixels: (w / 2) * (h / 2))."""
    try:
        width = int(pose['transition1.0.0.weight'].shape[0])
        pixels = int(gcn['FC.0.0.weight'].shape[1])
    except KeyError as exc:
        raise ConversionError(f'cannot tell the architecture: no {exc} in the checkpoint') from exc
    for (config_width, (w, h)), name in RELEASE_CONFIGS.items():
        if config_width == width and (w // 2) * (h // 2) == pixels:
            return osp.join(_COCO, name)
    raise ConversionError(
        f'no dag-release config for HRNet width {width} with a {pixels}-pixel point-MLP input '
        f'(known: {sorted(RELEASE_CONFIGS)}); give --config'
    )


def check_against_model(state: Dict[str, Tensor], config: str) -> Dict[str, Tuple[int, ...]]:
    """Build the model of ``config`` (random weights, nothing downloaded) and check that
    ``state`` gives every one of its tensors with its shape. Returns the model's shapes."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import dag_mmpose  # noqa: F401  (registers the modules)
    from dag_mmpose.utils.config import drop_pretrained

    init_default_scope('mmpose')
    cfg = Config.fromfile(config)
    drop_pretrained(cfg.model)
    model = MODELS.build(cfg.model)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = sorted(
        f'{k}: checkpoint {tuple(state[k].shape)}, model {expected[k]}'
        for k in set(state) & set(expected)
        if tuple(state[k].shape) != expected[k]
    )
    if missing or extra or wrong:
        lines = [f'the checkpoint does not fit {osp.basename(config)}:']
        for title, items in (
            ('shapes differ', wrong),
            ('model tensors the checkpoint lacks', [f'{k} {expected[k]}' for k in missing]),
            ('converted tensors the model lacks', [f'{k} {tuple(state[k].shape)}' for k in extra]),
        ):
            if items:
                lines.append(f'  {title} ({len(items)}):')
                lines += [f'    {item}' for item in items[:20]]
                if len(items) > 20:
                    lines.append(f'    ... {len(items) - 20} more')
        raise ConversionError('\n'.join(lines))
    return expected


def load(path: str) -> dict:
    """``torch.load`` with the safe loader (``dag_mmpose`` allows numpy scalars, which the
    release's ``perf`` entry is)."""
    import dag_mmpose  # noqa: F401  (its checkpoint allow-list)

    if not osp.isfile(path):
        raise ConversionError(f'{path}: no such file')
    return torch.load(path, map_location='cpu', weights_only=True)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='release checkpoint (e.g. DAG_w32_256x192.pth)')
    parser.add_argument('dst', help='mmpose checkpoint to write')
    parser.add_argument('--gcn', help="the GCN's state dict when src is model_best.pth")
    parser.add_argument('--config', help='dag-release config (default: by width and size)')
    parser.add_argument('--verbose', action='store_true', help='print every key mapping')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing dst')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if osp.exists(args.dst) and not args.overwrite:
            raise ConversionError(f'{args.dst} exists; give --overwrite to replace it')
        if osp.abspath(args.dst) in {osp.abspath(args.src), osp.abspath(args.gcn or '')}:
            raise ConversionError('the output would overwrite an input')
        gcn_checkpoint = load(args.gcn) if args.gcn else None
        pose, gcn = release_state_dicts(load(args.src), gcn_checkpoint, args.src)
        state, report = convert(pose, gcn)
        if report['unplaced']:
            raise ConversionError(
                f'{args.src}: {len(report["unplaced"])} tensors no rule places: '
                + ', '.join(report['unplaced'][:20])
            )
        config = args.config or infer_config(pose, gcn)
        check_against_model(state, config)
    except ConversionError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    meta = dict(
        converted_from=osp.abspath(args.src),
        gcn_from=osp.abspath(args.gcn) if args.gcn else None,
        config=osp.relpath(config, _REPO) if config.startswith(_REPO) else config,
        converter='tools/model_converters/dag_release2mmpose.py',
    )
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    tmp = args.dst + '.tmp'
    torch.save(dict(state_dict=state, meta=meta), tmp)
    os.replace(tmp, args.dst)
    report_path = args.dst + '.report.json'
    with open(report_path, 'w') as f:
        json.dump(dict(meta, **report), f, indent=1)
    for src, dst in report['used'] if args.verbose else []:
        print(f'{src} -> {", ".join(dst)}')
    for src, why in report['dropped']:
        print(f'dropped {src}: {why}')
    print(
        f'{len(report["used"])} release tensors placed into {len(state)} tensors of '
        f'{osp.basename(config)}, {len(report["dropped"])} dropped, 0 unplaced; wrote '
        f'{args.dst} and {report_path}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
