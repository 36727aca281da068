# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The drop-in configs (``configs/drop_in/``): DAG modules inside stock mmpose models.

Each config is loaded as shipped, shrunk to 128x96 crops (ResNet-50 then gives 4x3 maps
instead of 8x6; every size of the config is halved consistently), trained one step on two
samples of a generated COCO-style dataset through its own train pipeline and asked to
predict, with flip test, through its own val pipeline on detection boxes.
"""

import copy
import os.path as osp
import random
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple
from unittest import TestCase, mock

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpose.models.backbones.resnet import Bottleneck
from mmpose.registry import DATASETS, MODELS, TRANSFORMS
from mmpose.testing import get_coco_sample

import dag_mmpose  # noqa: F401  (registers the DAG modules)
from dag_mmpose.benchmark.synthetic import generate_coco_style
from dag_mmpose.models.necks import ADAM
from dag_mmpose.models.utils import MultiHopGCN
from dag_mmpose.testing.repo import REPO_ROOT

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'drop_in')
ADAM_CONFIG = osp.join(CONFIG_DIR, 'td-hm_res50_adam-8xb64-210e_coco-256x192.py')
SIMCC_CONFIG = osp.join(CONFIG_DIR, 'simcc_res50_fgmh-gcn-8xb64-210e_coco-256x192.py')

K = 17
# (size in the shipped config, size in the test): every occurrence of these keys anywhere in
# the config (codecs, pipelines, heads) must hold the shipped value, so the test also checks
# that the config's sizes agree with each other
SHRINK = dict(
    input_size=((192, 256), (96, 128)),
    heatmap_size=((48, 64), (24, 32)),
    in_featuremap_size=((6, 8), (3, 4)),
)
INPUT_SIZE = SHRINK['input_size'][1]

_DATA: Dict[str, Any] = {}


def setUpModule() -> None:
    """Generate 4 train images and 2 val images with person detections, once."""
    _DATA['tmp'] = tempfile.TemporaryDirectory()
    root = _DATA['tmp'].name
    generate_coco_style(root, num_images=4, split='train', seed=0)
    generate_coco_style(root, num_images=2, split='val', seed=0, detections=True)
    _DATA['root'] = root
    init_default_scope('mmpose')
    # one intra-op thread: on a shared 2-core machine, 2 OpenMP threads spin-wait for each
    # other whenever another process holds a core, which made this file 5x slower
    _DATA['threads'] = torch.get_num_threads()
    torch.set_num_threads(1)


def tearDownModule() -> None:
    torch.set_num_threads(_DATA.pop('threads'))
    _DATA.pop('tmp').cleanup()


def _seed(seed: int = 0) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _shrink(node: Any, path: str = 'cfg') -> int:
    """Replace the shipped sizes of :data:`SHRINK` in place; return how many were replaced.

    Raises:
        AssertionError: When a size key holds another value than the shipped one.
    """
    count = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SHRINK and value is not None:
                old, new = SHRINK[key]
                if tuple(value) != old:
                    raise AssertionError(f'{path}.{key} is {tuple(value)}, expected {old}')
                node[key] = new
                count += 1
            else:
                count += _shrink(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            count += _shrink(item, f'{path}[{i}]')
    return count


def _load_config(path: str) -> Config:
    """The shipped config without download, shrunk, reading the generated dataset."""
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None
    _shrink(cfg._cfg_dict)
    root = _DATA['root']
    train = cfg.train_dataloader.dataset
    train.update(
        data_root=root,
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='images/train/'),
    )
    val = cfg.val_dataloader.dataset
    val.update(
        data_root=root,
        ann_file='annotations/person_keypoints_val.json',
        bbox_file=osp.join(root, 'person_detection_results', 'val_detections.json'),
        data_prefix=dict(img='images/val/'),
    )
    return cfg


def _as_if_pretrained(backbone: torch.nn.Module) -> None:
    """Undo ResNet's ``zero_init_residual`` (last BN of every block at 0), which the
    ImageNet weights the configs load replace: with it every residual branch is cut off
    from the loss at step 1 and gets no gradient."""
    with torch.no_grad():
        for module in backbone.modules():
            if isinstance(module, Bottleneck):
                module.norm3.weight.fill_(1.0)


def _gated_parameters(model: torch.nn.Module) -> Set[str]:
    """Parameters whose first gradient is 0 by design: behind a residual gate
    ``x + gamma * f(x)`` with ``gamma`` starting at 0 (ADAM's spatial attention), and
    everything of a GCN behind its zero-init output layer (the refinement starts as the
    identity; the output layer's weights and bias get a gradient, its modulation multiplies
    their zero output). All of them get one once the first step has moved the gate."""
    gated = set()
    for name, module in model.named_modules():
        if isinstance(module, ADAM):
            for child in ('query_conv', 'key_conv', 'value_conv'):
                gated |= {
                    f'{name}.{child}.{p}' for p, _ in getattr(module, child).named_parameters()
                }
        if isinstance(module, MultiHopGCN):
            open_ = {'output_layer.self_weight.weight', 'output_layer.neighbor_weight.weight'}
            open_.add('output_layer.bias')
            gated |= {f'{name}.{p}' for p, _ in module.named_parameters() if p not in open_}
    return gated


def _multi_person_indices(dataset: Any, num: int) -> List[int]:
    """Indices of the first ``num`` samples whose image holds more than one person."""
    img_ids = [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]
    indices = [i for i, img_id in enumerate(img_ids) if img_ids.count(img_id) > 1]
    assert len(indices) >= num, 'the generated dataset has too few crowded images'
    return indices[:num]


class _DropInConfigTests:
    """Checks shared by both drop-in configs; subclasses set ``CONFIG`` and the model types."""

    CONFIG: str
    NECK: Optional[str]
    HEAD: str
    BASE_HEAD: str
    LOSS_KEYS: Sequence[str]

    @classmethod
    def setUpClass(cls) -> None:
        cls.cfg = _load_config(cls.CONFIG)
        _seed()
        cls.model = MODELS.build(cls.cfg.model)
        cls.model.init_weights()
        _as_if_pretrained(cls.model.backbone)
        cls.train_set = DATASETS.build(cls.cfg.train_dataloader.dataset)
        cls.val_set = DATASETS.build(cls.cfg.val_dataloader.dataset)
        _seed()
        cls.train_batch = pseudo_collate(
            [cls.train_set[i] for i in _multi_person_indices(cls.train_set, 2)]
        )
        cls.val_batch = pseudo_collate([cls.val_set[0]])

    # ------------------------------------------------------------------- the file itself

    def test_coco_recipe(self):
        with open(self.CONFIG, encoding='utf-8') as file:
            self.assertIn("_base_ = ['mmpose::_base_/default_runtime.py']\n", file.read())
        cfg = Config.fromfile(self.CONFIG)
        self.assertEqual(
            cfg.custom_imports, dict(imports=['dag_mmpose'], allow_failed_imports=False)
        )
        self.assertEqual(cfg.default_scope, 'mmpose')  # from mmpose's default_runtime
        self.assertEqual(
            cfg.model.backbone,
            dict(
                type='ResNet',
                depth=50,
                init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'),
            ),
        )
        self.assertGreater(_shrink(copy.deepcopy(cfg._cfg_dict)), 0)
        self.assertEqual(cfg.data_root, 'data/coco/')
        train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
        self.assertEqual(train.ann_file, 'annotations/person_keypoints_train2017.json')
        self.assertEqual(val.ann_file, 'annotations/person_keypoints_val2017.json')
        self.assertEqual(
            val.bbox_file,
            'data/coco/person_detection_results/COCO_val2017_detections_AP_H_56_person.json',
        )
        self.assertEqual(cfg.test_dataloader, cfg.val_dataloader)
        self.assertEqual(cfg.val_evaluator.type, 'CocoMetric')
        self.assertEqual(
            cfg.val_evaluator.ann_file, 'data/coco/annotations/person_keypoints_val2017.json'
        )
        self.assertTrue(cfg.model.test_cfg.flip_test)

    def test_model_structure(self):
        neck = type(self.model.neck).__name__ if self.model.with_neck else None
        self.assertEqual(neck, self.NECK)
        self.assertEqual(type(self.model.head).__name__, self.HEAD)
        base = getattr(self.model.head, 'pose_head', self.model.head)
        self.assertEqual(type(base).__name__, self.BASE_HEAD)
        self.assertEqual(type(self.model.backbone).__name__, 'ResNet')
        self.assertEqual(self.model.backbone.depth, 50)

    # ---------------------------------------------------------------------- training

    def test_train_step(self):
        """One optimizer step: finite losses, every parameter gets a gradient and moves.

        The only zero gradients allowed are those behind a residual gate that starts at 0
        (:func:`_gated_parameters`). The shared model is trained in place: the other tests
        do not depend on its initial weights.
        """
        model = self.model.train()
        optim_wrapper = build_optim_wrapper(model, self.cfg.optim_wrapper)
        before = {name: p.detach().clone() for name, p in model.named_parameters()}
        grads: Dict[str, Optional[Tuple[bool, bool]]] = {}
        step = optim_wrapper.step

        def record_grads_then_step(**kwargs):
            for name, p in model.named_parameters():
                grads[name] = (
                    None
                    if p.grad is None
                    else (bool(torch.isfinite(p.grad).all()), bool(p.grad.any()))
                )
            step(**kwargs)

        with mock.patch.object(optim_wrapper, 'step', side_effect=record_grads_then_step):
            log_vars = model.train_step(self.train_batch, optim_wrapper)

        self.assertEqual(
            sorted(k for k in log_vars if k.startswith('loss_')), sorted(self.LOSS_KEYS)
        )
        for key, value in log_vars.items():
            self.assertTrue(torch.isfinite(torch.as_tensor(value)).all(), key)
        self.assertGreater(float(log_vars['loss']), 0)
        self.assertTrue(0.0 <= float(log_vars['acc_pose']) <= 1.0)

        self.assertEqual(sorted(grads), sorted(before))
        self.assertEqual([name for name, g in grads.items() if g is None], [])
        self.assertEqual([name for name, g in grads.items() if not g[0]], [])
        zero = {name for name, g in grads.items() if not g[1]}
        gated = _gated_parameters(model)
        self.assertLessEqual(zero, gated)
        changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
        self.assertEqual(set(before) - changed, zero)

    # ------------------------------------------------------------------------ predict

    def test_test_step_with_flip(self):
        model = self.model.eval()
        crop_keypoints = []
        predict = model.head.predict

        def keep_crop_keypoints(*args, **kwargs):
            preds = predict(*args, **kwargs)
            # copied: the estimator maps them to the image in place
            crop_keypoints.append(np.array(preds[0].keypoints, copy=True))
            return preds

        with (
            mock.patch.object(model, 'extract_feat', wraps=model.extract_feat) as spy,
            mock.patch.object(model.head, 'predict', side_effect=keep_crop_keypoints),
            torch.no_grad(),
        ):
            results = model.test_step(self.val_batch)
        self.assertEqual(spy.call_count, 2)  # original and flipped input

        self.assertEqual(len(results), 1)
        pred = results[0].pred_instances
        keypoints = np.asarray(pred.keypoints)
        scores = np.asarray(pred.keypoint_scores)
        self.assertEqual(keypoints.shape, (1, K, 2))
        self.assertEqual(scores.shape, (1, K))
        self.assertTrue(np.isfinite(keypoints).all())
        self.assertTrue(np.isfinite(scores).all())

        # image coordinates: the head's crop pixels mapped through the crop's region of the
        # image (the padded detection box), which the keypoints lie in (with a margin for
        # the GCN offset)
        meta = results[0].metainfo
        self.assertEqual(tuple(meta['input_size']), INPUT_SIZE)
        center, scale = np.asarray(meta['input_center']), np.asarray(meta['input_scale'])
        crop = crop_keypoints[0]
        size = np.asarray(INPUT_SIZE, dtype=np.float64)
        self.assertTrue(((crop > -0.1 * size) & (crop < 1.1 * size)).all(), crop)
        np.testing.assert_allclose(
            keypoints, crop / size * scale + center - 0.5 * scale, rtol=1e-5, atol=1e-3
        )
        low, high = center - 0.6 * scale, center + 0.6 * scale
        self.assertTrue(((keypoints >= low) & (keypoints <= high)).all(), keypoints)


class TestResNet50ADAMConfig(_DropInConfigTests, TestCase):
    """``td-hm_res50_adam``: ResNet-50 -> ADAM -> stock HeatmapHead on F_t.

    That the head reads ADAM's output is shown by :meth:`test_train_step`: ADAM's channel
    attention and gate get gradients, which they would not if the head read F_m.
    """

    CONFIG = ADAM_CONFIG
    NECK = 'ADAM'
    HEAD = 'HeatmapHead'
    BASE_HEAD = 'HeatmapHead'
    LOSS_KEYS = ('loss_kpt',)

    def test_heatmaps_match_codec(self):
        """Three deconvolutions bring ResNet's 4x3 map to the codec's 32x24 heatmaps."""
        feats = (torch.zeros(1, 2048, 4, 3),) * 2
        with torch.no_grad():
            heatmaps = self.model.head.eval().forward(feats)
        self.assertEqual(tuple(heatmaps.shape), (1, K, 32, 24))
        self.assertEqual(self.model.head.decoder.heatmap_size, (24, 32))


class TestSimCCFGMHGCNConfig(_DropInConfigTests, TestCase):
    """``simcc_res50_fgmh-gcn``: ResNet-50 -> FGMHGCNHead(SimCCHead) with DAGLoss."""

    CONFIG = SIMCC_CONFIG
    NECK = None
    HEAD = 'FGMHGCNHead'
    BASE_HEAD = 'SimCCHead'
    LOSS_KEYS = ('loss_multi', 'loss_target', 'loss_coord')

    def test_packed_labels(self):
        """What the combined GenerateTarget + PackPoseInputs deliver to the head."""
        for sample in self.train_batch['data_samples']:
            labels, fields = sample.gt_instance_labels, sample.gt_fields
            self.assertEqual(tuple(fields.multi_heatmaps.shape), (K, 32, 24))
            self.assertNotIn('heatmaps', fields)
            self.assertEqual(tuple(labels.keypoint_x_labels.shape), (1, K, 192))
            self.assertEqual(tuple(labels.keypoint_y_labels.shape), (1, K, 256))
            self.assertEqual(tuple(labels.keypoint_coords.shape), (1, K, 2))
            self.assertEqual(tuple(labels.multi_keypoint_weights.shape), (1, K))
            # mmpose wraps the one `keypoint_weights` of combined encoders in a list and
            # stacks it: (1, 1, K); FGMHGCNHead reshapes it to (B, K)
            self.assertEqual(labels.keypoint_weights.numel(), K)
        # GetOtherInstances ran: other people's Gaussians (peak 0.5) are in the multi-joint
        # heatmaps of a sample from a crowded image
        peaks = [
            bool(torch.isclose(sample.gt_fields.multi_heatmaps, torch.tensor(0.5)).any())
            for sample in self.train_batch['data_samples']
        ]
        self.assertTrue(any(peaks))

    def test_multi_branch_matches_targets(self):
        """The multi-joint heatmaps come out at the DAGHeatmap size, not resized."""
        feats = (torch.zeros(1, 2048, 4, 3),) * 2
        with torch.no_grad():
            multi = self.model.head.eval().forward_multi(feats)
        self.assertEqual(tuple(multi.shape), (1, K, 32, 24))


class TestFGMHGCNHeadCombinedEncoderWeights(TestCase):
    """Regression: ``keypoint_weights`` packed as (1, 1, K) by combined encoders.

    ``GenerateTarget(encoder=[SimCCLabel, DAGHeatmap(with_target_heatmaps=False)])`` wraps
    the one ``keypoint_weights`` in a list and ``PackPoseInputs`` stacks it, so every sample
    holds (1, 1, K); concatenated these were (B, 1, K), which broke the SimCC accuracy and
    broadcast the L1 pose loss over a wrong shape.
    """

    INPUT = (48, 64)  # (w, h)

    def setUp(self):
        _seed()
        self.codecs = [
            dict(type='SimCCLabel', input_size=self.INPUT, sigma=4.0, simcc_split_ratio=2.0),
            dict(
                type='DAGHeatmap',
                input_size=self.INPUT,
                heatmap_size=(12, 16),
                sigma=2.0,
                with_target_heatmaps=False,
            ),
        ]
        self.head = MODELS.build(
            dict(
                type='FGMHGCNHead',
                pose_cfg=dict(
                    type='SimCCHead',
                    in_channels=8,
                    out_channels=K,
                    input_size=self.INPUT,
                    in_featuremap_size=(12, 16),
                    simcc_split_ratio=2.0,
                    deconv_out_channels=None,
                    decoder=self.codecs[0],
                ),
                metainfo=dict(from_file='configs/_base_/datasets/coco.py'),
                gcn_cfg=dict(hidden_channels=16, num_blocks=1),
                loss=dict(
                    type='DAGLoss',
                    target_loss=dict(type='KLDiscretLoss', use_target_weight=True),
                ),
            )
        )
        self.feats = (torch.rand(2, 8, 16, 12), torch.rand(2, 8, 16, 12))

    def _packed_samples(self) -> List[Any]:
        """Two samples through the real GenerateTarget and PackPoseInputs."""
        generate = TRANSFORMS.build(dict(type='GenerateTarget', encoder=self.codecs))
        pack = TRANSFORMS.build(dict(type='PackPoseInputs'))
        samples = []
        for seed in (0, 1):
            np.random.seed(seed)
            results = get_coco_sample(img_shape=self.INPUT[::-1], num_instances=1)
            results['keypoints_visible'][:, 3] = 0  # one unlabelled joint
            results['other_keypoints'] = np.zeros((0, K, 2), np.float32)
            results['other_keypoints_visible'] = np.zeros((0, K), np.float32)
            samples.append(pack(generate(results))['data_samples'])
        return samples

    @staticmethod
    def _with_weights_shape(samples: List[Any], shape: Tuple[int, ...]) -> List[Any]:
        samples = copy.deepcopy(samples)
        for sample in samples:
            labels = sample.gt_instance_labels
            labels.keypoint_weights = labels.keypoint_weights.reshape(shape)
        return samples

    def test_pipeline_packs_weights_with_extra_axis(self):
        """Documents the mmpose behavior the head must cope with."""
        for sample in self._packed_samples():
            self.assertEqual(tuple(sample.gt_instance_labels.keypoint_weights.shape), (1, 1, K))

    def test_loss_same_as_with_flat_weights(self):
        samples = self._packed_samples()
        losses = self.head.loss(self.feats, samples)
        expected = self.head.loss(self.feats, self._with_weights_shape(samples, (1, K)))
        self.assertEqual(sorted(losses), sorted(expected))
        for key in expected:
            torch.testing.assert_close(losses[key], expected[key], msg=key)
        self.assertEqual(losses['loss_coord'].ndim, 0)

    def test_weights_reach_loss_and_accuracy_as_b_by_k(self):
        calls = []
        loss_module = self.head.loss_module
        original = loss_module.forward

        def record(**kwargs):
            calls.append(kwargs)
            return original(**kwargs)

        with (
            mock.patch.object(loss_module, 'forward', side_effect=record),
            mock.patch(
                'dag_mmpose.models.heads.fgmh_gcn_head.base_head_accuracy',
                return_value=torch.tensor(1.0),
            ) as accuracy,
        ):
            self.head.loss(self.feats, self._packed_samples())
        for name in ('multi_weights', 'target_weights', 'coord_weights'):
            weights = calls[0][name]
            self.assertEqual(tuple(weights.shape), (2, K))
        # the accuracy's mask is weights > 0, taken from these (B, K) weights
        accuracy_weights = accuracy.call_args.args[2]
        self.assertEqual(tuple(accuracy_weights.shape), (2, K))
        self.assertFalse(bool((accuracy_weights[:, 3] > 0).any()))

    def test_two_weight_sets_raise(self):
        """Two encoders that both emit keypoint_weights give (2, 1, K): a clear error."""
        samples = self._packed_samples()
        for sample in samples:
            labels = sample.gt_instance_labels
            # set_field skips InstanceData's length check, which stops this in PackPoseInputs
            labels.set_field(labels.keypoint_weights.repeat(2, 1, 1), 'keypoint_weights')
        with self.assertRaisesRegex(ValueError, r'keypoint_weights.*\(2, 1, 17\)'):
            self.head.loss(self.feats, samples)
