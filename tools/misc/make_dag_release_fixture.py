# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Run the authors' DAG release on fixed inputs and write what it computes, for the
equivalence tests of ``tools/model_converters/dag_release2mmpose.py``.

It needs a checkout of the release (``whffams2/A-comprehensive-framework-for-occluded-human-
pose-estimation``, read at commit d3b3a8e) and ``pip install yacs``; the release's code runs
unchanged, on the CPU. Two products:

- ``--fixture``: a small release model (HRNet widths 8-64, 64x32 input, 2x heatmaps as
  released) with random weights, its checkpoint in the release's format (``state_dict`` and
  ``gcn_state_dict`` with ``module.`` prefixes), fixed inputs (normalized crops, centres,
  scales, boxes) and the release's test path on them (``core.function_dag.gcn_validate``,
  with flip test, shifted heatmaps and ``POST_PROCESS``, as ``tools/test_dag.py`` runs it):
  the heatmaps of both passes, the multi-joint heatmaps, the initial pose and scores
  (``get_final_preds``), the regressed points, the GCN's offsets and the final keypoints.
  Twice: with the GCN in eval mode (``eval/``) and in training mode as ``test_dag.py``
  leaves it (``batch/``: its BatchNorms use the batch's statistics); the stages before the
  GCN's graph layers are the same both times and stored once (``release/``). Written to
  ``<out>/dag_release_fixture.npz``. ``--arch w32`` / ``w48`` writes the same for a
  full-size random-weight model (tens of MB: not for the repository; for
  ``tools/analysis/compare_dag_release.py``).
- ``--key-lists``: every key and shape of the released W32 and W48 checkpoints at 256x192
  (``<out>/dag_release_keys_w32_256x192.txt`` ...), one ``<part> <key> <shape>`` per line.

The release draws a random ``r`` in every forward (a fresh ``nn.Linear(1, 1)``); each run
here starts from ``torch.manual_seed(seed)``, so a model with ``instance_scale='random'``
seeded the same way draws the same ``r``.

Example::

    python tools/misc/make_dag_release_fixture.py ../release --out tests/data \\
        --fixture --key-lists
"""

import argparse
import json
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

import numpy as np
import torch
from torch import nn

# the release's COCO test settings (experiments/coco/DAG/*.yaml), and our small architecture
_YAML = 'experiments/coco/DAG/{arch}_256x192_gcn_adam_lr1e-3.yaml'
_SMALL = dict(
    image_size=(32, 64),  # (w, h); HRNet needs multiples of 32
    heatmap_size=(8, 16),
    channels=(8, 16, 32, 64),
)
_FLIP_PAIRS = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('release', help='checkout of the authors DAG release')
    parser.add_argument('--out', default='tests/data', help='output folder')
    parser.add_argument('--fixture', action='store_true', help='write the test-path fixture')
    parser.add_argument('--key-lists', action='store_true', help='write W32 / W48 key lists')
    parser.add_argument(
        '--arch', default='small', choices=['small', 'w32', 'w48'], help='fixture model'
    )
    parser.add_argument('--batch-size', type=int, default=6, help='fixture samples')
    parser.add_argument('--seed', type=int, default=0, help='seed of weights, inputs, r')
    args = parser.parse_args()
    if not (args.fixture or args.key_lists):
        parser.error('nothing to do: give --fixture and / or --key-lists')
    return args


def import_release(release: str):
    """The release's modules (its ``lib`` on the path, as its tools put it)."""
    lib = osp.join(osp.abspath(release), 'lib')
    if not osp.isfile(osp.join(lib, 'models', 'pose_dag.py')):
        raise SystemExit(
            f'{release} is not a checkout of the DAG release (no lib/models/pose_dag.py)'
        )
    sys.path.insert(0, lib)
    try:
        import yacs  # noqa: F401
    except ImportError:
        raise SystemExit('the release reads its configs with yacs: pip install yacs') from None
    import core.function_dag as function_dag
    import models.pose_dag as pose_dag
    from config import cfg as default_cfg
    from utils.graph_utils import adj_mx_from_skeleton

    return default_cfg, pose_dag, function_dag, adj_mx_from_skeleton


def release_cfg(default_cfg, release: str, arch: str):
    """The release's COCO config of ``arch`` ('w32', 'w48'); 'small' shrinks W32's."""
    cfg = default_cfg.clone()
    cfg.defrost()
    cfg.merge_from_file(osp.join(release, _YAML.format(arch='w32' if arch == 'small' else arch)))
    if arch == 'small':
        cfg.MODEL.IMAGE_SIZE = list(_SMALL['image_size'])
        cfg.MODEL.HEATMAP_SIZE = list(_SMALL['heatmap_size'])
        channels = list(_SMALL['channels'])
        for index, stage in enumerate(('STAGE2', 'STAGE3', 'STAGE4')):
            stage_cfg = cfg.MODEL.EXTRA[stage]
            stage_cfg.NUM_MODULES = 1
            stage_cfg.NUM_BLOCKS = [1] * (index + 2)
            stage_cfg.NUM_CHANNELS = channels[: index + 2]
    cfg.freeze()
    return cfg


def build_release(cfg, pose_dag, adj_mx_from_skeleton) -> Tuple[nn.Module, nn.Module]:
    """The release's pose model and GCN, built as ``tools/test_dag.py`` builds them."""
    model = pose_dag.get_pose_net(cfg, is_train=False)
    adjacencies = adj_mx_from_skeleton(cfg.GCN.EDGE, cfg.GCN.ext_1, cfg.GCN.ext_2, cfg.GCN.ext_3)
    gcn = pose_dag.get_gcn_net(cfg, *adjacencies, is_train=True)
    return model, gcn


def randomize(model: nn.Module, gcn: nn.Module, seed: int) -> None:
    """Random weights that exercise every part: BatchNorm affine and running statistics
    away from (1, 0, 0, 1), the GCN's hop gates away from 1 (at 1 the release's second hop
    is off), the non-local output BatchNorm away from its zero init, one joint's heatmap
    below zero everywhere (the decoders' no-response case) and the output layer scaled
    down to offsets of a trained model's size. Everything is rounded
    to multiples of 1/64 so the fixture compresses."""
    gen = torch.Generator().manual_seed(seed)

    def uniform(shape, low, high):
        return torch.rand(shape, generator=gen) * (high - low) + low

    with torch.no_grad():
        for module in (*model.modules(), *gcn.modules()):
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                shape = module.weight.shape
                module.weight.copy_(uniform(shape, 0.5, 1.5))
                module.bias.copy_(uniform(shape, -0.1, 0.1))
                module.running_mean.copy_(uniform(shape, -0.1, 0.1))
                module.running_var.copy_(uniform(shape, 0.5, 1.5))
        for name, param in gcn.named_parameters():
            if 'Lamda' in name:
                param.copy_(uniform(param.shape, 0.2, 1.2))
        model.kpt_layer.bias[0] = -50.0
        for part in (model, gcn):
            for tensor in (*part.parameters(), *part.buffers()):
                if tensor.is_floating_point():
                    tensor.copy_(torch.round(tensor * 64) / 64)
        # offsets of a trained model's size (a tenth of the box), not of several boxes
        gcn.gconv_output.W.div_(64)
        gcn.gconv_output.bias.div_(64)


def make_inputs(cfg, batch_size: int, seed: int) -> Dict[str, np.ndarray]:
    """Normalized crops (as the release's loader gives them), and per sample a box
    (x, y, w, h) with its centre and scale (``/ 200``) as the release's ``_xywh2cs``."""
    rng = np.random.default_rng(seed)
    width, height = cfg.MODEL.IMAGE_SIZE
    images = np.round(rng.standard_normal((batch_size, 3, height, width)) * 16) / 16
    images = images.astype(np.float32)
    boxes = np.stack(
        [
            rng.uniform(20, 300, batch_size),
            rng.uniform(20, 200, batch_size),
            rng.uniform(30, 220, batch_size),
            rng.uniform(60, 300, batch_size),
        ],
        axis=1,
    ).astype(np.float32)
    aspect = width / height
    centers, scales = [], []
    for x, y, w, h in boxes:
        centers.append([x + w * 0.5, y + h * 0.5])
        if w > aspect * h:
            h = w / aspect
        elif w < aspect * h:
            w = h * aspect
        scales.append([w / 200.0 * 1.25, h / 200.0 * 1.25])
    return dict(
        images=images,
        centers=np.asarray(centers, dtype=np.float32),
        scales=np.asarray(scales, dtype=np.float32),
        boxes=boxes,
    )


class _Dataset:
    """What ``gcn_validate`` asks of its dataset: the flip pairs, the length and an
    ``evaluate`` that here only keeps the predictions."""

    flip_pairs = _FLIP_PAIRS

    def __init__(self, size: int) -> None:
        self.size = size
        self.preds = None

    def __len__(self) -> int:
        return self.size

    def evaluate(self, config, preds, *args, **kwargs):
        self.preds = preds.copy()
        return OrderedDict(AP=0.0), 0.0


def run_test_path(cfg, model, gcn, function_dag, inputs, mode: str, seed: int) -> Dict:
    """``gcn_validate`` on one batch, with the GCN in eval (``'eval'``) or training
    (``'batch'``) mode, recording each stage through hooks and wrappers."""
    records: Dict[str, List] = dict(model=[], points=[], offsets=[], initial=[])

    def keep(name):
        # copies: gcn_validate changes some outputs in place later (flip_back swaps the
        # flipped heatmaps' joint pairs in their own memory)
        def hook(module, args, output):
            if isinstance(output, tuple):
                records[name].append(tuple(t.detach().clone() for t in output))
            else:
                records[name].append(output.detach().clone())

        return hook

    hooks = [
        model.register_forward_hook(keep('model')),
        gcn.FC.register_forward_hook(keep('points')),
        gcn.register_forward_hook(keep('offsets')),
    ]
    original_get_final_preds = function_dag.get_final_preds

    def get_final_preds(*args, **kwargs):
        preds, maxvals = original_get_final_preds(*args, **kwargs)
        records['initial'].append((preds.copy(), maxvals.copy()))
        return preds, maxvals

    function_dag.get_final_preds = get_final_preds
    batch_size = len(inputs['images'])
    num_joints = cfg.MODEL.NUM_JOINTS
    heatmap_w, heatmap_h = (s * cfg.MODEL.UP_SCALE for s in cfg.MODEL.HEATMAP_SIZE)
    target = torch.zeros(batch_size, num_joints, heatmap_h, heatmap_w)
    weight = torch.ones(batch_size, num_joints, 1)
    meta = dict(
        center=torch.from_numpy(inputs['centers']),
        scale=torch.from_numpy(inputs['scales']),
        score=torch.ones(batch_size),
        bbox=[torch.from_numpy(inputs['boxes'][:, i]) for i in range(4)],
        image=[f'sample_{i}.jpg' for i in range(batch_size)],
    )
    batch = (torch.from_numpy(inputs['images']), target, weight, target, weight, weight, meta)
    dataset = _Dataset(batch_size)
    model.eval()
    gcn.train(mode == 'batch')
    torch.manual_seed(seed)
    try:
        function_dag.gcn_validate(cfg, [batch], dataset, model, gcn, None, '', '', None)
    finally:
        function_dag.get_final_preds = original_get_final_preds
        for hook in hooks:
            hook.remove()
    (heatmaps, multi, _), (flipped, _, _) = records['model']
    initial, initial_scores = records['initial'][0]
    return dict(
        heatmaps=heatmaps.detach().numpy(),
        flipped_heatmaps=flipped.detach().numpy(),
        multi_heatmaps=multi.detach().numpy(),
        initial_keypoints=initial.astype(np.float32),
        initial_scores=initial_scores[..., 0].astype(np.float32),
        points=records['points'][0].detach().reshape(batch_size, num_joints, 2).numpy(),
        offsets=records['offsets'][0].detach().numpy(),
        keypoints=dataset.preds[..., :2].astype(np.float32),
        scores=dataset.preds[..., 2].astype(np.float32),
    )


def drawn_scales(seed: int, count: int) -> List[float]:
    """The ``r`` of the release's first ``count`` forwards after ``torch.manual_seed(seed)``:
    each is the weight of a fresh ``nn.Linear(1, 1)``."""
    torch.manual_seed(seed)
    return [float(nn.Linear(1, 1, bias=False).weight) for _ in range(count)]


def write_fixture(args, default_cfg, pose_dag, function_dag, adj_mx_from_skeleton) -> str:
    # the release calls .cuda() on tensors and modules; on this CPU run those are no-ops
    torch.Tensor.cuda = lambda self, *a, **k: self
    nn.Module.cuda = lambda self, *a, **k: self
    cfg = release_cfg(default_cfg, args.release, args.arch)
    model, gcn = build_release(cfg, pose_dag, adj_mx_from_skeleton)
    randomize(model, gcn, args.seed)
    # the checkpoint as the release writes it (DataParallel's `module.` prefixes), before
    # the training-mode run updates the GCN's running statistics
    arrays: Dict[str, np.ndarray] = {}
    for part, module in (('state_dict', model), ('gcn_state_dict', gcn)):
        for key, value in module.state_dict().items():
            arrays[f'ckpt/{part}/module.{key}'] = value.detach().numpy().copy()
    inputs = make_inputs(cfg, args.batch_size, args.seed)
    arrays.update({f'inputs/{k}': v for k, v in inputs.items()})
    # the pose model runs in eval mode both times, so only the GCN's stages differ
    shared = ('heatmaps', 'flipped_heatmaps', 'multi_heatmaps', 'initial_keypoints',
              'initial_scores', 'points')  # fmt: skip
    for mode in ('eval', 'batch'):
        outputs = run_test_path(cfg, model, gcn, function_dag, inputs, mode, args.seed)
        for key, value in outputs.items():
            if key not in shared:
                arrays[f'{mode}/{key}'] = value
            elif mode == 'eval':
                arrays[f'release/{key}'] = value
            elif not np.array_equal(arrays[f'release/{key}'], value):
                raise RuntimeError(f'the release computed another {key} with the GCN in {mode}')
    meta = dict(
        arch=args.arch,
        image_size=list(cfg.MODEL.IMAGE_SIZE),
        heatmap_size=list(cfg.MODEL.HEATMAP_SIZE),
        up_scale=int(cfg.MODEL.UP_SCALE),
        channels=[list(cfg.MODEL.EXTRA[s].NUM_CHANNELS) for s in ('STAGE2', 'STAGE3', 'STAGE4')],
        num_modules=[cfg.MODEL.EXTRA[s].NUM_MODULES for s in ('STAGE2', 'STAGE3', 'STAGE4')],
        num_blocks=[list(cfg.MODEL.EXTRA[s].NUM_BLOCKS) for s in ('STAGE2', 'STAGE3', 'STAGE4')],
        gcn_channels=int(cfg.GCN.CHANNELS),
        seed=args.seed,
        instance_scales=drawn_scales(args.seed, 2),
        flip_pairs=_FLIP_PAIRS,
        test=dict(
            flip=bool(cfg.TEST.FLIP_TEST),
            shift_heatmap=bool(cfg.TEST.SHIFT_HEATMAP),
            post_process=bool(cfg.TEST.POST_PROCESS),
        ),  # fmt: skip
        release_commit='d3b3a8e',
    )
    arrays['meta'] = np.array(json.dumps(meta))
    name = 'dag_release_fixture.npz' if args.arch == 'small' else f'dag_release_{args.arch}.npz'
    path = osp.join(args.out, name)
    np.savez_compressed(path, **arrays)
    return path


def write_key_lists(args, default_cfg, pose_dag, adj_mx_from_skeleton) -> List[str]:
    paths = []
    for arch in ('w32', 'w48'):
        cfg = release_cfg(default_cfg, args.release, arch)
        model, gcn = build_release(cfg, pose_dag, adj_mx_from_skeleton)
        lines = [
            f'# the checkpoint of the DAG release at {arch.upper()} 256x192 (commit d3b3a8e), '
            'as tools/train_dag.py saves it: <part> <key> <shape>'
        ]
        for part, module in (('state_dict', model), ('gcn_state_dict', gcn)):
            for key, value in module.state_dict().items():
                shape = 'x'.join(str(s) for s in value.shape) or 'scalar'
                lines.append(f'{part} module.{key} {shape}')
        path = osp.join(args.out, f'dag_release_keys_{arch}_256x192.txt')
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        paths.append(path)
    return paths


def main() -> None:
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    default_cfg, pose_dag, function_dag, adj_mx_from_skeleton = import_release(args.release)
    if args.fixture:
        path = write_fixture(args, default_cfg, pose_dag, function_dag, adj_mx_from_skeleton)
        print(f'wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB)')
    if args.key_lists:
        for path in write_key_lists(args, default_cfg, pose_dag, adj_mx_from_skeleton):
            print(f'wrote {path}')


if __name__ == '__main__':
    main()
