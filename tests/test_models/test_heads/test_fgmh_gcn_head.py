# Copyright (c) dag_mmpose contributors. All rights reserved.
import copy
from typing import List, Optional, Tuple
from unittest import TestCase

import numpy as np
import torch
from mmengine.runner.checkpoint import load_state_dict
from mmengine.structures import InstanceData, PixelData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from torch import nn

import dag_mmpose  # noqa: F401  (registers the DAG modules)
from dag_mmpose.models.heads import FGMHGCNHead
from dag_mmpose.testing import mirror_exact_simcc_cfg, no_host_transfer, randomize_output_layer

INPUT_SIZE = (48, 64)  # (w, h)
HEATMAP_SIZE = (12, 16)  # (W, H)
C = 8
COCO = dict(from_file='configs/_base_/datasets/coco.py')
CROWDPOSE = dict(from_file='configs/_base_/datasets/crowdpose.py')
KL_LOSS = dict(
    type='DAGLoss',
    target_loss=dict(type='KLDiscretLoss', use_target_weight=True, beta=10.0, label_softmax=True),
)
SIMCC_DECODER = dict(
    type='SimCCLabel', input_size=INPUT_SIZE, sigma=(4.0, 4.0), simcc_split_ratio=2.0
)


def _heatmap_cfg(
    num_keypoints: int = 17, decoder_type: str = 'MSRAHeatmap', **decoder_kwargs
) -> dict:
    return dict(
        type='HeatmapHead',
        in_channels=C,
        out_channels=num_keypoints,
        deconv_out_channels=None,
        decoder=dict(
            type=decoder_type,
            input_size=INPUT_SIZE,
            heatmap_size=HEATMAP_SIZE,
            sigma=2.0,
            **decoder_kwargs,
        ),
    )


def _simcc_cfg(num_keypoints: int = 17) -> dict:
    return dict(
        type='SimCCHead',
        in_channels=C,
        out_channels=num_keypoints,
        input_size=INPUT_SIZE,
        in_featuremap_size=HEATMAP_SIZE,
        simcc_split_ratio=2.0,
        deconv_out_channels=None,
        decoder=SIMCC_DECODER,
    )


def _mirror_exact_cfg() -> dict:
    return mirror_exact_simcc_cfg(C, HEATMAP_SIZE)


def _rtmcc_cfg(num_keypoints: int = 17) -> dict:
    return dict(
        type='RTMCCHead',
        in_channels=C,
        out_channels=num_keypoints,
        input_size=INPUT_SIZE,
        in_featuremap_size=HEATMAP_SIZE,
        simcc_split_ratio=2.0,
        final_layer_kernel_size=1,
        gau_cfg=dict(
            hidden_dims=16,
            s=8,
            expansion_factor=2,
            dropout_rate=0.0,
            drop_path=0.0,
            act_fn='SiLU',
            use_rel_bias=False,
            pos_enc=False,
        ),
        decoder=SIMCC_DECODER,
    )


def _head(pose_cfg: Optional[dict] = None, **kwargs) -> FGMHGCNHead:
    kwargs.setdefault('metainfo', COCO)
    kwargs.setdefault('gcn_cfg', dict(hidden_channels=16, num_blocks=1))
    torch.manual_seed(0)
    head = FGMHGCNHead(pose_cfg=pose_cfg or _heatmap_cfg(), **kwargs)
    head.init_weights()
    return head


def _feats(batch_size: int = 2, seed: int = 0, requires_grad: bool = False) -> Tuple:
    """(F_m, F_t) stand-ins, each (B, C, H, W)."""
    generator = torch.Generator().manual_seed(seed)
    return tuple(
        torch.rand(
            batch_size, C, HEATMAP_SIZE[1], HEATMAP_SIZE[0], generator=generator
        ).requires_grad_(requires_grad)
        for _ in range(2)
    )


def _samples(
    batch_size: int = 2, num_keypoints: int = 17, labelled: bool = True, simcc: bool = False
) -> List[PoseDataSample]:
    """Data samples with every label FGMHGCNHead.loss reads."""
    meta = parse_pose_metainfo(COCO if num_keypoints == 17 else CROWDPOSE)
    rng = np.random.RandomState(0)
    samples = []
    for _ in range(batch_size):
        sample = PoseDataSample(
            metainfo=dict(flip_indices=meta['flip_indices'], input_size=INPUT_SIZE)
        )
        shape = (num_keypoints, HEATMAP_SIZE[1], HEATMAP_SIZE[0])
        sample.gt_fields = PixelData(
            heatmaps=torch.from_numpy(rng.rand(*shape)).float(),
            multi_heatmaps=torch.from_numpy(rng.rand(*shape)).float(),
        )
        weights = torch.full((1, num_keypoints), float(labelled))
        labels = InstanceData(
            keypoint_weights=weights,
            multi_keypoint_weights=weights.clone(),
            keypoint_coords=torch.from_numpy(rng.uniform(-1, 1, (1, num_keypoints, 2))).float(),
        )
        if simcc:
            labels.keypoint_x_labels = torch.from_numpy(
                rng.rand(1, num_keypoints, INPUT_SIZE[0] * 2)
            ).float()
            labels.keypoint_y_labels = torch.from_numpy(
                rng.rand(1, num_keypoints, INPUT_SIZE[1] * 2)
            ).float()
        sample.gt_instance_labels = labels
        samples.append(sample)
    return samples


def _total(losses: dict) -> torch.Tensor:
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def _predict_with_base(head: FGMHGCNHead, test_cfg: dict) -> Tuple[list, list]:
    """The head's predictions and its base head's own, for the same features and test_cfg
    (two feature tuples with ``flip_test``)."""
    flip_test = test_cfg.get('flip_test', False)
    feats = [_feats(), _feats(seed=3)] if flip_test else _feats()
    base_feats = [f[-1:] for f in feats] if flip_test else feats[-1:]
    with torch.no_grad():
        preds = head.predict(feats, _samples(), test_cfg)
        expected = head.pose_head.predict(base_feats, _samples(), test_cfg)
    return preds, expected


def _assert_predicts_as_base(head: FGMHGCNHead, test_cfg: dict, tol: float = 0.0) -> None:
    """Keypoints and scores the base head's: bit for bit, or keypoints within ``tol`` px and
    ``tol`` relative (DARK / UDP: the head decodes in torch, mmpose in numpy; their blurs
    differ by float32 rounding, which DARK's Newton step magnifies on these untrained,
    noise-like heatmaps, where it lands hundreds of pixels away; the decoders' agreement
    is tested in test_torch_decoding.py)."""
    preds, expected = _predict_with_base(head, test_cfg)
    assert len(preds) == len(expected)
    for pred, exp in zip(preds, expected):
        np.testing.assert_allclose(pred.keypoints, exp.keypoints, atol=tol, rtol=tol)
        np.testing.assert_array_equal(pred.keypoint_scores, exp.keypoint_scores)


class _TinyBackbone(nn.Module):
    """Stand-in for backbone + neck (stride 4, or 1): returns (F_m, F_t).

    Not registered: configs name the class itself (``type=_TinyBackbone``), so importing the
    tests leaves mmpose's ``MODELS`` registry as it was.
    """

    def __init__(self, stride: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, C, kernel_size=stride, stride=stride)
        self.target = nn.Conv2d(C, C, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        multi = torch.relu(self.stem(x))
        return multi, self.target(multi)

    def init_weights(self) -> None:
        pass


class TestFGMHGCNHead(TestCase):
    def test_forward_shapes(self):
        head = _head()
        heatmaps, refined = head(_feats())
        self.assertEqual(heatmaps.shape, (2, 17, HEATMAP_SIZE[1], HEATMAP_SIZE[0]))
        self.assertEqual(refined.shape, (2, 17, 2))
        self.assertEqual(head.forward_multi(_feats()).shape, heatmaps.shape)

    def test_loss_keys(self):
        losses = _head().loss(_feats(), _samples())
        self.assertEqual(set(losses), {'loss_multi', 'loss_target', 'loss_coord', 'acc_pose'})
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()))

    def test_predict_shapes(self):
        head = _head().eval()
        with torch.no_grad():
            preds = head.predict(_feats(), _samples())
        self.assertEqual(len(preds), 2)
        for pred in preds:
            self.assertEqual(pred.keypoints.shape, (1, 17, 2))
            self.assertEqual(pred.keypoint_scores.shape, (1, 17))
            self.assertIsInstance(pred.keypoints, np.ndarray)

    def test_refinement_starts_as_the_identity(self):
        """Untrained, refine=True predicts exactly what the base head predicts."""
        bases = [
            ('MSRA', _heatmap_cfg(), {}, 0.0),
            ('DARK', _heatmap_cfg(unbiased=True), {}, 1e-3),
            ('UDP', _heatmap_cfg(decoder_type='UDPHeatmap'), {}, 1e-3),
            ('SimCC', _simcc_cfg(), dict(loss=KL_LOSS), 0.0),
            ('RTMCC', _rtmcc_cfg(), dict(loss=KL_LOSS), 0.0),
        ]
        for name, cfg, kwargs, atol in bases:
            for flip_test in (False, True):
                with self.subTest(name, flip_test=flip_test):
                    head = _head(cfg, **kwargs).eval()
                    with torch.no_grad():
                        self.assertFalse(head._refine(_feats()).offsets.any())
                    test_cfg = dict(flip_test=flip_test, shift_heatmap=True, refine=True)
                    _assert_predicts_as_base(head, test_cfg, atol)
                    # refine=False is the base head's own predict: bit for bit
                    _assert_predicts_as_base(head, dict(test_cfg, refine=False))

    def test_no_host_transfer_in_forward_loss_and_refinement(self):
        """The initial pose is decoded in torch: forward, loss (acc_pose included) and the
        refinement of predict (flip test too) never copy a tensor to the host."""
        bases = [
            ('MSRA', _heatmap_cfg(), {}),
            ('DARK', _heatmap_cfg(unbiased=True), {}),
            ('UDP', _heatmap_cfg(decoder_type='UDPHeatmap'), {}),
            ('SimCC', _simcc_cfg(), dict(loss=KL_LOSS)),
            ('RTMCC', _rtmcc_cfg(), dict(loss=KL_LOSS)),
        ]
        for name, cfg, kwargs in bases:
            with self.subTest(name):
                head = _head(cfg, **kwargs)
                simcc = name in ('SimCC', 'RTMCC')
                samples = _samples(simcc=simcc)
                flip = samples[0].metainfo['flip_indices']
                with no_host_transfer():
                    head.forward(_feats())
                    losses = head.loss(_feats(), samples)
                    with torch.no_grad():
                        head.eval()._refine_with_flip([_feats(), _feats(seed=3)], flip, {})
                self.assertTrue(torch.isfinite(_total(losses)))
                self.assertIn('acc_pose', losses)
        with self.assertRaisesRegex(AssertionError, 'host transfer .* Tensor.numpy'):
            with no_host_transfer():
                torch.zeros(1).numpy()

    def test_initial_pose_is_the_base_heads_prediction(self):
        """With a trained (here: random) GCN the initial pose and the scores are still the
        base head's own prediction, flip test included; only the keypoints move."""
        for flip_test in (False, True):
            with self.subTest(flip_test=flip_test):
                head = randomize_output_layer(_head()).eval()
                test_cfg = dict(flip_test=flip_test, shift_heatmap=True, output_initial=True)
                preds, expected = _predict_with_base(head, test_cfg)
                for pred, exp in zip(preds, expected):
                    np.testing.assert_array_equal(pred.initial_keypoints, exp.keypoints)
                    np.testing.assert_array_equal(pred.keypoint_scores, exp.keypoint_scores)
                    self.assertGreater(np.abs(pred.keypoints - exp.keypoints).max(), 0.01)

    def test_flip_scores_are_the_maxima_of_the_averaged_heatmaps(self):
        head = randomize_output_layer(_head()).eval()
        with torch.no_grad():  # heatmaps of some contrast, unlike the init's std 0.001
            head.pose_head.final_layer.weight.normal_(std=1.0)
        flip_indices = parse_pose_metainfo(COCO)['flip_indices']
        feats = [_feats(), _feats(seed=3)]
        with torch.no_grad():
            preds = head.predict(feats, _samples(), dict(flip_test=True))
            heatmaps = head.pose_head.forward(feats[0][-1:])
            flipped = head.pose_head.forward(feats[1][-1:]).flip(-1)[:, flip_indices]
        averaged = 0.5 * (heatmaps + flipped)
        expected = averaged.flatten(2).max(-1).values.numpy()
        mean_of_maxima = (
            0.5 * (heatmaps.flatten(2).max(-1).values + flipped.flatten(2).max(-1).values).numpy()
        )
        self.assertGreater(np.abs(expected - mean_of_maxima).max(), 1e-3)
        for index, pred in enumerate(preds):
            np.testing.assert_allclose(pred.keypoint_scores[0], expected[index], rtol=1e-6)

    def test_every_parameter_gets_gradient(self):
        """The first backward reaches every parameter (a zero-init output layer gives zero
        gradients behind it); after one update every gradient is non-zero."""
        for name, kwargs in [('default', {}), ('heatmap sampling', dict(sample_heatmaps=True))]:
            with self.subTest(name):
                head = _head(**kwargs).train()
                optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
                feats = _feats(requires_grad=True)
                _total(head.loss(feats, _samples())).backward()
                for param_name, param in head.named_parameters():
                    self.assertIsNotNone(param.grad, param_name)
                    self.assertTrue(torch.isfinite(param.grad).all(), param_name)
                for feat in feats:
                    self.assertGreater(feat.grad.abs().sum().item(), 0)
                optimizer.step()
                optimizer.zero_grad()
                _total(head.loss(_feats(), _samples())).backward()
                for param_name, param in head.named_parameters():
                    self.assertGreater(param.grad.abs().sum().item(), 0, param_name)

    def test_flip_test_gives_mirrored_result(self):
        head = randomize_output_layer(_head(_mirror_exact_cfg(), loss=KL_LOSS)).eval()
        flip_indices = parse_pose_metainfo(COCO)['flip_indices']
        feats, feats_mirror = _feats(seed=1), _feats(seed=2)
        test_cfg = dict(flip_test=True, output_initial=True)
        with torch.no_grad():
            pred = head.predict([feats, feats_mirror], _samples(), test_cfg)
            pred_mirror = head.predict([feats_mirror, feats], _samples(), test_cfg)
        for one, mirror in zip(pred, pred_mirror):
            self.assertGreater(np.abs(one.keypoints - one.initial_keypoints).max(), 0.01)
            for key in ('keypoints', 'initial_keypoints'):
                mirrored = mirror.get(key)[:, flip_indices].copy()
                mirrored[..., 0] = HEATMAP_SIZE[0] - 1 - mirrored[..., 0]
                np.testing.assert_allclose(one.get(key), mirrored, atol=1e-4, err_msg=key)
            np.testing.assert_allclose(
                one.keypoint_scores, mirror.keypoint_scores[:, flip_indices], atol=1e-6
            )

    def test_flip_test_in_topdown_estimator(self):
        """Image and its np.fliplr copy through a TopdownPoseEstimator with flip test."""
        torch.manual_seed(0)
        model = MODELS.build(
            dict(
                type='TopdownPoseEstimator',
                backbone=dict(type=_TinyBackbone, stride=1),
                head=dict(
                    type='FGMHGCNHead',
                    pose_cfg=_mirror_exact_cfg(),
                    metainfo=COCO,
                    gcn_cfg=dict(hidden_channels=16, num_blocks=1),
                    loss=KL_LOSS,
                ),
                test_cfg=dict(flip_test=True, shift_heatmap=False),
            )
        ).eval()
        randomize_output_layer(model)
        width, height = HEATMAP_SIZE
        image = np.random.RandomState(0).rand(height, width, 3)
        flip_indices = parse_pose_metainfo(COCO)['flip_indices']

        def predict(img: np.ndarray) -> np.ndarray:
            sample = PoseDataSample(
                metainfo=dict(
                    flip_indices=flip_indices,
                    input_size=HEATMAP_SIZE,
                    # the crop is the whole image, so crop pixels are image pixels
                    input_center=np.array([width / 2, height / 2]),
                    input_scale=np.array(HEATMAP_SIZE, dtype=np.float32),
                )
            )
            sample.gt_instances = InstanceData(
                bboxes=np.array([[0, 0, width, height]], dtype=np.float32),
                bbox_scores=np.ones(1, dtype=np.float32),
            )
            inputs = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()
            with torch.no_grad():
                return model.predict(inputs, [sample])[0].pred_instances.keypoints

        keypoints = predict(image)
        keypoints_mirror = predict(np.fliplr(image))
        mirrored = keypoints_mirror[:, flip_indices].copy()
        mirrored[..., 0] = width - 1 - mirrored[..., 0]
        np.testing.assert_allclose(keypoints, mirrored, atol=1e-4)

    def test_features_join_late_as_released(self):
        """feature_position='last': the GCN's input is the pose (and scores), the sampled
        features join before its last block; trains, predicts, starts as the identity."""
        for kwargs in (dict(), dict(use_scores=False, sample_heatmaps=True)):
            with self.subTest(**kwargs):
                head = _head(
                    feature_position='last',
                    gcn_cfg=dict(hidden_channels=16, num_blocks=2, non_local='once'),
                    **kwargs,
                ).train()
                self.assertEqual(
                    head.gcn.input_layer.conv.in_channels, 2 + kwargs.get('use_scores', True)
                )
                late = C + (17 if kwargs.get('sample_heatmaps') else 0)
                self.assertEqual(head.gcn.late_channels, late)
                optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
                _total(head.loss(_feats(), _samples())).backward()
                optimizer.step()
                optimizer.zero_grad()
                _total(head.loss(_feats(), _samples())).backward()
                for name, param in head.named_parameters():
                    self.assertGreater(param.grad.abs().sum().item(), 0, name)
        head = _head(feature_position='last').eval()
        with torch.no_grad():
            preds = head.predict(_feats(), _samples(), dict(output_initial=True))
        np.testing.assert_array_equal(preds[0].keypoints, preds[0].initial_keypoints)
        with self.assertRaisesRegex(ValueError, 'feature_position'):
            _head(feature_position='middle')

    def test_regressed_joint_features_as_released(self):
        """joint_features='regressed': the base heatmaps through a 3x3 conv, sampled at
        points an MLP regresses from them, are the GCN's joint features (release)."""
        head = _head(
            joint_features='regressed',
            regressor_channels=32,
            feature_position='last',
            use_scores=False,
            gcn_cfg=dict(hidden_channels=16, num_blocks=2, non_local='once'),
        ).train()
        sampler = head.point_sampler
        self.assertEqual(head.gcn.late_channels, 17)
        self.assertEqual(sampler.point_mlp[0].in_features, HEATMAP_SIZE[0] * HEATMAP_SIZE[1])
        # the head's init_cfg (Normal std 0.001 for convs) leaves the sampler at torch's init
        self.assertGreater(sampler.level_conv.weight.std().item(), 0.01)

        # the features are the conv's maps at the regressed points, joint by joint
        heatmaps = torch.rand(2, 17, HEATMAP_SIZE[1], HEATMAP_SIZE[0])
        feats, points = sampler(heatmaps)
        maps = sampler.level_conv(heatmaps)
        for b, k in ((0, 0), (1, 16)):
            point = sampler.point_mlp(maps[b, k].flatten())
            torch.testing.assert_close(points[b, k], point)
            # grid_sample's align_corners=False: u = -1 is the left edge of cell 0
            x = (point[0] + 1) * HEATMAP_SIZE[0] / 2 - 0.5
            y = (point[1] + 1) * HEATMAP_SIZE[1] / 2 - 0.5
            x0, y0 = int(torch.floor(x)), int(torch.floor(y))
            ax, ay = x - x0, y - y0
            expected = (
                (1 - ax) * (1 - ay) * maps[b, :, y0, x0]
                + ax * (1 - ay) * maps[b, :, y0, x0 + 1]
                + (1 - ax) * ay * maps[b, :, y0 + 1, x0]
                + ax * ay * maps[b, :, y0 + 1, x0 + 1]
            )
            torch.testing.assert_close(feats[b, k], expected, rtol=1e-5, atol=1e-6)

        # every parameter learns (the points through the GCN's loss only), and the
        # heatmaps are not detached: the GCN's loss reaches the base head as released
        optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
        _total(head.loss(_feats(), _samples())).backward()
        optimizer.step()
        optimizer.zero_grad()
        losses = head.loss(_feats(), _samples())
        losses['loss_coord'].backward()
        self.assertGreater(head.pose_head.final_layer.weight.grad.abs().sum().item(), 0)
        for name, param in sampler.named_parameters():
            self.assertGreater(param.grad.abs().sum().item(), 0, name)

        # it starts as the identity and predicts with flip test
        head = _head(joint_features='regressed', regressor_channels=32).eval()
        with torch.no_grad():
            preds = head.predict(_feats(), _samples(), dict(output_initial=True))
            flipped = head.predict([_feats(), _feats(seed=3)], _samples(), dict(flip_test=True))
        np.testing.assert_array_equal(preds[0].keypoints, preds[0].initial_keypoints)
        self.assertEqual(flipped[0].keypoints.shape, (1, 17, 2))

    def test_regressed_joint_features_errors(self):
        with self.assertRaisesRegex(ValueError, 'heatmap base head.*SimCCHead'):
            _head(_simcc_cfg(), joint_features='regressed', loss=KL_LOSS)
        with self.assertRaisesRegex(ValueError, 'sample_heatmaps'):
            _head(joint_features='regressed', sample_heatmaps=True)
        with self.assertRaisesRegex(ValueError, "'sampled' or 'regressed'"):
            _head(joint_features='argmax')
        head = _head(joint_features='regressed', regressor_channels=32)
        with self.assertRaisesRegex(ValueError, r'\(B, 17, 16, 12\).*\(2, 17, 8, 6\)'):
            head.point_sampler(torch.rand(2, 17, 8, 6))

    def test_crowdpose_14_joints(self):
        head = _head(_heatmap_cfg(14), metainfo=CROWDPOSE).train()
        losses = head.loss(_feats(), _samples(num_keypoints=14))
        _total(losses).backward()
        head.eval()
        with torch.no_grad():
            preds = head.predict(_feats(), _samples(num_keypoints=14), dict(flip_test=False))
            flipped = head.predict(
                [_feats(), _feats(seed=3)], _samples(num_keypoints=14), dict(flip_test=True)
            )
        self.assertEqual(preds[0].keypoints.shape, (1, 14, 2))
        self.assertEqual(flipped[0].keypoint_scores.shape, (1, 14))

    def test_batch_of_one(self):
        head = _head().train()
        losses = head.loss(_feats(batch_size=1), _samples(batch_size=1))
        _total(losses).backward()
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
        head.eval()
        with torch.no_grad():
            preds = head.predict(_feats(batch_size=1), _samples(batch_size=1))
        self.assertEqual(len(preds), 1)

    def test_all_joints_unlabelled(self):
        head = _head().train()
        losses = head.loss(_feats(), _samples(labelled=False))
        for key in ('loss_multi', 'loss_target', 'loss_coord'):
            self.assertEqual(losses[key].item(), 0.0, key)
        self.assertFalse(torch.isnan(losses['acc_pose']))
        _total(losses).backward()
        for name, param in head.named_parameters():
            self.assertTrue(param.grad is None or torch.isfinite(param.grad).all(), name)

    def test_autocast_outputs_finite(self):
        dtypes = [('cpu', torch.bfloat16), ('cpu', torch.float16)]
        if torch.cuda.is_available():
            dtypes += [('cuda', torch.float16), ('cuda', torch.bfloat16)]
        for device, dtype in dtypes:
            with self.subTest(device=device, dtype=dtype):
                head = _head().to(device).train()
                feats = tuple(f.to(device) for f in _feats())
                samples = [s.to(device) for s in _samples()]
                try:
                    with torch.autocast(device, dtype=dtype):
                        losses = head.loss(feats, samples)
                except RuntimeError as error:  # an op without a CPU kernel in this dtype
                    if device == 'cpu':
                        self.skipTest(f'{dtype} autocast on CPU unsupported: {error}')
                    raise
                self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
                _total(losses).backward()
                head.eval()
                with torch.no_grad(), torch.autocast(device, dtype=dtype):
                    preds = head.predict([feats, feats], samples, dict(flip_test=True))
                self.assertTrue(np.isfinite(preds[0].keypoints).all())
                self.assertTrue(np.isfinite(preds[0].keypoint_scores).all())

    def test_simcc_and_rtmcc_base_heads(self):
        for name, cfg in [('SimCCHead', _simcc_cfg()), ('RTMCCHead', _rtmcc_cfg())]:
            with self.subTest(name):
                head = _head(cfg, loss=KL_LOSS).train()
                optimizer = torch.optim.SGD(head.parameters(), lr=0.01)
                losses = head.loss(_feats(), _samples(simcc=True))
                self.assertEqual(
                    set(losses), {'loss_multi', 'loss_target', 'loss_coord', 'acc_pose'}
                )
                _total(losses).backward()
                for param_name, param in head.named_parameters():
                    self.assertIsNotNone(param.grad, param_name)
                optimizer.step()
                head.eval()
                with torch.no_grad():
                    preds = head.predict(
                        [_feats(), _feats(seed=3)], _samples(), dict(flip_test=True)
                    )
                self.assertEqual(preds[0].keypoints.shape, (1, 17, 2))
                self.assertTrue(np.isfinite(preds[0].keypoints).all())

    def test_simcc_with_heatmap_loss_raises(self):
        head = _head(_simcc_cfg())
        with self.assertRaisesRegex(ValueError, 'KLDiscretLoss'):
            head.loss(_feats(), _samples(simcc=True))

    def test_refine_false_equals_base_predict(self):
        for name, cfg in [('heatmap', _heatmap_cfg()), ('simcc', _simcc_cfg())]:
            for flip_test in (False, True):
                with self.subTest(name, flip_test=flip_test):
                    head = _head(cfg).eval()
                    _assert_predicts_as_base(head, dict(flip_test=flip_test, refine=False))

    def test_output_heatmaps(self):
        for name, cfg in [('heatmap', _heatmap_cfg()), ('simcc', _simcc_cfg())]:
            with self.subTest(name):
                head = _head(cfg).eval()
                with torch.no_grad():
                    preds, fields = head.predict(
                        [_feats(), _feats(seed=3)],
                        _samples(),
                        dict(flip_test=True, output_heatmaps=True),
                    )
                self.assertEqual(len(fields), 2)
                self.assertEqual(fields[0].heatmaps.shape[0], 17)
                self.assertEqual(preds[0].keypoints.shape, (1, 17, 2))

    def test_joint_features_sampled_at_their_cell(self):
        """A joint where the codec's encoder puts heatmap cell (row, col) samples exactly
        that cell's feature (MSRA: x = col w / W; UDP: x = col (w - 1) / (W - 1))."""
        (w, h), (W, H) = INPUT_SIZE, HEATMAP_SIZE
        for decoder_type, scale in [
            ('MSRAHeatmap', (w / W, h / H)),
            ('UDPHeatmap', ((w - 1) / (W - 1), (h - 1) / (H - 1))),
        ]:
            with self.subTest(decoder_type):
                head = _head(_heatmap_cfg(decoder_type=decoder_type))
                features = torch.zeros(1, 1, H, W)
                keypoints = torch.zeros(1, 17, 2)
                for joint in range(17):
                    row, col = joint % H, joint % W
                    features[0, 0, row, col] = joint + 1.0
                    keypoints[0, joint] = torch.tensor([col * scale[0], row * scale[1]])
                encoded = head.pose_head.decoder.encode(keypoints.numpy())['heatmaps']
                peaks = encoded.reshape(17, -1).argmax(-1)
                np.testing.assert_array_equal(peaks, [(j % H) * W + j % W for j in range(17)])
                sampled = head._sample_at(features, keypoints)
                self.assertTrue(torch.allclose(sampled[0, :, 0], torch.arange(1.0, 18.0)))

    def test_initial_pose_at_the_decoders_sub_pixel_precision(self):
        """MSRA's quarter offset: a peak with a stronger right neighbour decodes a quarter
        cell to the right, not on the heatmap grid."""
        head = _head()
        heatmaps = torch.zeros(1, 17, HEATMAP_SIZE[1], HEATMAP_SIZE[0])
        heatmaps[0, :, 5, 7] = 0.8
        heatmaps[0, :, 5, 8] = 0.4
        keypoints, scores = head._initial_pose(heatmaps)
        scale = INPUT_SIZE[0] / HEATMAP_SIZE[0]
        self.assertTrue(torch.allclose(keypoints[0, 0], torch.tensor([7.25 * scale, 5 * scale])))
        self.assertTrue(torch.allclose(scores, torch.full((1, 17), 0.8)))
        simcc_head = _head(_simcc_cfg())
        pred_x, pred_y = torch.zeros(1, 17, 96), torch.zeros(1, 17, 128)
        pred_x[..., 30], pred_y[..., 41] = 2.0, 1.0
        keypoints, scores = simcc_head._initial_pose((pred_x, pred_y))
        self.assertTrue(torch.allclose(keypoints[0, 3], torch.tensor([15.0, 20.5])))
        self.assertTrue(torch.allclose(scores, torch.ones(1, 17)))

    def test_initial_pose_under_bfloat16(self):
        """numpy has no bfloat16: the decoder gets float32 of the same values."""
        head = _head()
        heatmaps = torch.rand(2, 17, HEATMAP_SIZE[1], HEATMAP_SIZE[0]).bfloat16()
        keypoints, scores = head._initial_pose(heatmaps)
        expected, expected_scores = head._initial_pose(heatmaps.float())
        self.assertTrue(torch.equal(keypoints, expected))
        self.assertTrue(torch.equal(scores, expected_scores))

    def test_load_plain_heatmap_head_checkpoint(self):
        plain = nn.Module()
        torch.manual_seed(1)
        plain.head = MODELS.build(_heatmap_cfg())
        checkpoint = copy.deepcopy(plain.state_dict())
        self.assertIn('head.final_layer.weight', checkpoint)

        model = nn.Module()
        model.head = _head()
        result = model.load_state_dict(checkpoint, strict=False)
        self.assertEqual(result.unexpected_keys, [])
        dag_parts = ('head.multi_head.', 'head.gcn.')
        self.assertTrue(result.missing_keys)
        for key in result.missing_keys:
            self.assertTrue(key.startswith(dag_parts), key)
        self.assertTrue(
            torch.equal(model.head.pose_head.final_layer.weight, plain.head.final_layer.weight)
        )
        # mmengine's loader (used by load_from / init_cfg Pretrained) takes the same path
        model.head = _head()
        load_state_dict(model, checkpoint, strict=False)
        self.assertTrue(
            torch.equal(model.head.pose_head.final_layer.weight, plain.head.final_layer.weight)
        )

    def test_dag_checkpoint_round_trip(self):
        source = nn.Module()
        source.head = _head()
        target = nn.Module()
        torch.manual_seed(5)
        target.head = FGMHGCNHead(
            pose_cfg=_heatmap_cfg(), metainfo=COCO, gcn_cfg=dict(hidden_channels=16, num_blocks=1)
        )
        target.load_state_dict(source.state_dict(), strict=True)
        for (name, a), b in zip(source.state_dict().items(), target.state_dict().values()):
            self.assertTrue(torch.equal(a, b), name)

    def test_skeleton_arguments(self):
        head = _head(metainfo=None, skeleton_links=[(i, i + 1) for i in range(16)])
        self.assertEqual(len(head.skeleton_links), 16)
        with self.assertRaisesRegex(ValueError, 'keypoints'):
            _head(_heatmap_cfg(14), metainfo=COCO)
        with self.assertRaisesRegex(ValueError, 'exactly one'):
            _head(metainfo=None)
        with self.assertRaisesRegex(ValueError, 'outside'):
            _head(metainfo=None, skeleton_links=[(0, 17)])

    def test_skeleton_of_fewer_joints_is_an_error(self):
        """CrowdPose's 14-joint skeleton fits inside a 17-joint head's range, so nothing
        caught it: joints 14-16 had no neighbour in the graph."""
        from mmpose.datasets.datasets.utils import parse_pose_metainfo

        crowdpose = parse_pose_metainfo(dict(from_file='configs/_base_/datasets/crowdpose.py'))
        with self.assertRaisesRegex(ValueError, r'joints \[14, 15, 16\] of the 17 .* no link'):
            _head(metainfo=None, skeleton_links=crowdpose['skeleton_links'])

    def test_missing_label_names_its_source(self):
        samples = _samples()
        del samples[0].gt_fields.multi_heatmaps
        with self.assertRaisesRegex(KeyError, 'multi_heatmaps.*DAGHeatmap'):
            _head().loss(_feats(), samples)
        samples = _samples()
        del samples[1].gt_instance_labels.keypoint_coords
        with self.assertRaisesRegex(KeyError, 'keypoint_coords'):
            _head().loss(_feats(), samples)

    def test_multi_branch_resized_to_target(self):
        head = _head(
            multi_cfg=dict(
                type='HeatmapHead',
                in_channels=C,
                out_channels=17,
                deconv_out_channels=(8,),
                deconv_kernel_sizes=(4,),
            )
        )
        losses = head.loss(_feats(), _samples())
        self.assertTrue(torch.isfinite(losses['loss_multi']))

    def _box_samples(self, boxes, size=HEATMAP_SIZE) -> List[PoseDataSample]:
        """Samples whose crop is the image itself (input_center / input_scale), with
        ``boxes`` (x1, y1, x2, y2)."""
        samples = _samples(len(boxes))
        for sample, box in zip(samples, boxes):
            sample.set_metainfo(
                dict(
                    input_size=size,
                    input_center=np.array(size, dtype=np.float64) / 2,
                    input_scale=np.array(size, dtype=np.float64),
                )
            )
            sample.gt_instances = InstanceData(bboxes=np.array([box], dtype=np.float64))
        return samples

    def _gcn_inputs(self, head: FGMHGCNHead) -> list:
        inputs = []
        head.gcn.register_forward_hook(lambda m, args, out: inputs.append(args[0].clone()))
        return inputs

    def test_box_frame(self):
        """coord_frame='box': the GCN sees ((x - x0) / w - 0.5) * 2 over each person's box
        (mapped into the crop), its offsets are in box units, the loss in the crop frame."""
        head = randomize_output_layer(_head(coord_frame='box', use_scores=False)).eval()
        boxes = [(2.0, 1.0, 10.0, 13.0), (0.5, 3.0, 6.5, 9.0)]
        # the crop is the image at twice its resolution: the box maps with it
        samples = self._box_samples([[c / 2 for c in box] for box in boxes])
        for sample in samples:
            sample.set_metainfo(dict(input_size=INPUT_SIZE, input_scale=np.array(HEATMAP_SIZE)))
        inputs = self._gcn_inputs(head)
        test_cfg = dict(output_initial=True)
        with torch.no_grad():
            preds = head.predict(_feats(), samples, test_cfg)
        scale = INPUT_SIZE[0] / HEATMAP_SIZE[0]
        for pred, box, coords in zip(preds, boxes, inputs[0]):
            origin, extent = (
                np.array(box[:2]) * scale / 2,
                np.subtract(box[2:], box[:2]) * scale / 2,
            )
            initial = pred.initial_keypoints[0]
            np.testing.assert_allclose(
                coords[:, -2:].numpy(),
                ((initial - origin) / extent - 0.5) * 2,
                rtol=1e-5,
                atol=1e-5,
            )
        # the same offsets in the crop frame move the keypoints by crop units instead
        crop = randomize_output_layer(_head(use_scores=False)).eval()
        crop.load_state_dict(head.state_dict())
        with torch.no_grad():
            crop_preds = crop.predict(_feats(), samples, test_cfg)
        self.assertGreater(np.abs(crop_preds[0].keypoints - preds[0].keypoints).max(), 1e-3)
        # training: boxes from the samples, a finite loss in the crop frame
        head.train()
        samples = self._box_samples(boxes, size=INPUT_SIZE)
        losses = head.loss(_feats(), samples)
        self.assertTrue(torch.isfinite(losses['loss_coord']))
        with self.assertRaisesRegex(ValueError, 'forward'):
            head.forward(_feats())

    def test_box_frame_errors_name_the_sample(self):
        head = _head(coord_frame='box').eval()
        samples = self._box_samples([(1.0, 1.0, 5.0, 5.0), (3.0, 2.0, 3.0, 9.0)])
        samples[1].set_metainfo(dict(id=7))
        with self.assertRaisesRegex(ValueError, r'sample 7 has box \[3.0, 2.0, 3.0, 9.0\]'):
            head.predict(_feats(), samples, {})
        del samples[1].gt_instances
        with self.assertRaisesRegex(ValueError, 'sample 7 lacks gt_instances.bboxes'):
            head.predict(_feats(), samples, {})
        with self.assertRaisesRegex(ValueError, 'coord_frame'):
            _head(coord_frame='image')

    def test_box_frame_flip_test_is_mirror_symmetric(self):
        """With flip test the mirrored pass sees the box mirrored too: the GCN's inputs of
        the two passes are mirror images, and mirrored inputs give mirrored results."""
        head = randomize_output_layer(
            _head(_mirror_exact_cfg(), loss=KL_LOSS, coord_frame='box', use_scores=False)
        ).eval()
        flip_indices = parse_pose_metainfo(COCO)['flip_indices']
        width = HEATMAP_SIZE[0]
        box = (2.0, 1.0, 8.0, 14.0)
        mirror_box = (width - 1 - box[2], box[1], width - 1 - box[0], box[3])
        feats, feats_mirror = _feats(seed=1), _feats(seed=2)
        inputs = self._gcn_inputs(head)
        test_cfg = dict(flip_test=True, output_initial=True)
        with torch.no_grad():
            pred = head.predict([feats, feats_mirror], self._box_samples([box] * 2), test_cfg)
            mirror = head.predict(
                [feats_mirror, feats], self._box_samples([mirror_box] * 2), test_cfg
            )
        # the box-frame coordinates (the last two channels) of the two passes
        original, mirrored = inputs[0][..., -2:], inputs[1][..., -2:]
        expected = mirrored[:, flip_indices] * torch.tensor([-1.0, 1.0])
        torch.testing.assert_close(original, expected, rtol=1e-5, atol=1e-5)
        for one, other in zip(pred, mirror):
            flipped = other.keypoints[:, flip_indices].copy()
            flipped[..., 0] = width - 1 - flipped[..., 0]
            np.testing.assert_allclose(one.keypoints, flipped, atol=1e-4)

    def test_refine_flip_original(self):
        """refine_flip='original': the GCN runs once, on the original pass (as released);
        'average' (default) runs it on both passes."""
        head = randomize_output_layer(_head()).eval()
        inputs = self._gcn_inputs(head)
        feats = [_feats(seed=1), _feats(seed=2)]
        with torch.no_grad():
            original = head.predict(feats, _samples(), dict(flip_test=True, refine_flip='original'))
            self.assertEqual(len(inputs), 1)
            average = head.predict(feats, _samples(), dict(flip_test=True))
            self.assertEqual(len(inputs), 3)
            single = head._refine(feats[0])
        self.assertGreater(np.abs(original[0].keypoints - average[0].keypoints).max(), 1e-4)
        with self.assertRaisesRegex(ValueError, 'refine_flip'):
            head.predict(feats, _samples(), dict(flip_test=True, refine_flip='both'))
        self.assertEqual(single.offsets.shape, (2, 17, 2))

    def test_gcn_norm_stats(self):
        """'batch': the GCN's BatchNorms use the test batch's statistics (the release tests
        its GCN in training mode), the running statistics stay as they were."""
        head = randomize_output_layer(_head()).eval()
        with torch.no_grad():
            for module in head.gcn.modules():
                if isinstance(module, nn.BatchNorm1d):
                    module.running_mean.uniform_(-1, 1)
        before = copy.deepcopy(head.state_dict())
        feats = _feats(batch_size=4)
        with torch.no_grad():
            running = head.predict(feats, _samples(4), {})
            batch = head.predict(feats, _samples(4), dict(gcn_norm_stats='batch'))
            trained = copy.deepcopy(head.gcn).train()
            result = head._refine(feats)
            keypoints, scores = result.keypoints, result.scores
            coords = torch.cat(
                [2.0 * keypoints / keypoints.new_tensor(INPUT_SIZE) - 1.0, scores[..., None]], -1
            )
            joint = head._sample_at(feats[-1], keypoints)
            offsets = trained(torch.cat([joint, coords], dim=-1))
        self.assertGreater(np.abs(running[0].keypoints - batch[0].keypoints).max(), 1e-3)
        expected = result.keypoints + offsets * torch.tensor(INPUT_SIZE) / 2
        np.testing.assert_allclose(
            np.concatenate([p.keypoints for p in batch]), expected.numpy(), atol=1e-4
        )
        for key, value in head.state_dict().items():
            self.assertTrue(torch.equal(value, before[key]), key)
        self.assertFalse(head.gcn.training)
        with self.assertRaisesRegex(ValueError, 'gcn_norm_stats'):
            head.predict(feats, _samples(4), dict(gcn_norm_stats='train'))

    def test_registered(self):
        head = MODELS.build(
            dict(
                type='FGMHGCNHead',
                pose_cfg=_heatmap_cfg(),
                metainfo=COCO,
                gcn_cfg=dict(hidden_channels=16, num_blocks=1),
            )
        )
        self.assertIsInstance(head, FGMHGCNHead)


# The ablation switches (paper Table 2): name -> (head kwargs, loss keys)
SWITCHES = {
    'full': ({}, {'loss_multi', 'loss_target', 'loss_coord'}),
    'no multi branch': (dict(use_multi_branch=False), {'loss_target', 'loss_coord'}),
    'no gcn': (dict(use_gcn=False), {'loss_multi', 'loss_target'}),
}
# parameter-name prefix of each switchable part -> the switch that removes it
SWITCHED_PARTS = {'multi_head.': 'use_multi_branch', 'gcn.': 'use_gcn'}


def _switched_off(kwargs: dict) -> Tuple[str, ...]:
    """Parameter-name prefixes of the parts ``kwargs`` switches off."""
    return tuple(
        prefix for prefix, switch in SWITCHED_PARTS.items() if not kwargs.get(switch, True)
    )


class TestFGMHGCNHeadSwitches(TestCase):
    """``use_multi_branch`` / ``use_gcn``: one config line per paper component."""

    def test_switched_off_parts_are_not_built(self):
        for name, (kwargs, _) in SWITCHES.items():
            with self.subTest(name):
                head = _head(**kwargs)
                off = _switched_off(kwargs)
                self.assertEqual(head.multi_head is None, 'multi_head.' in off)
                self.assertEqual(head.gcn is None, 'gcn.' in off)
                names = [n for n, _ in head.named_parameters()]
                self.assertTrue(any(n.startswith('pose_head.') for n in names))
                for prefix in SWITCHED_PARTS:
                    built = any(n.startswith(prefix) for n in names)
                    self.assertEqual(built, prefix not in off, prefix)

    def test_both_off_asks_for_the_plain_head(self):
        with self.assertRaisesRegex(ValueError, "base head.*'HeatmapHead'"):
            _head(use_multi_branch=False, use_gcn=False)

    def test_every_parameter_gets_gradient_in_each_mode(self):
        """What DDP with find_unused_parameters=False needs: no parameter left out."""
        bases = [
            ('heatmap', _heatmap_cfg(), {}, False),
            ('simcc', _simcc_cfg(), dict(loss=KL_LOSS), True),
        ]
        for name, (kwargs, keys) in SWITCHES.items():
            for base, cfg, loss_kwargs, simcc in bases:
                with self.subTest(name, base=base):
                    head = _head(cfg, **kwargs, **loss_kwargs).train()
                    feats = _feats(requires_grad=True)
                    losses = head.loss(feats, _samples(simcc=simcc))
                    self.assertEqual(set(losses), keys | {'acc_pose'})
                    self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
                    _total(losses).backward()
                    for param_name, param in head.named_parameters():
                        self.assertIsNotNone(param.grad, param_name)
                        self.assertTrue(torch.isfinite(param.grad).all(), param_name)
                    # F_t always feeds the base head; F_m only the multi-joint branch
                    self.assertGreater(feats[-1].grad.abs().sum().item(), 0)
                    self.assertEqual(feats[0].grad is not None, head.multi_head is not None)

    def test_gcn_off_predicts_as_the_base_head(self):
        for name, cfg in [('heatmap', _heatmap_cfg()), ('simcc', _simcc_cfg())]:
            for flip_test in (False, True):
                with self.subTest(name, flip_test=flip_test):
                    head = _head(cfg, use_gcn=False).eval()
                    # refine / output_initial have nothing to act on without a GCN
                    test_cfg = dict(flip_test=flip_test, refine=True, output_initial=True)
                    _assert_predicts_as_base(head, test_cfg)
                    preds, _ = _predict_with_base(head, test_cfg)
                    self.assertNotIn('initial_keypoints', preds[0])

    def test_forward_in_each_mode(self):
        heatmap_shape = (2, 17, HEATMAP_SIZE[1], HEATMAP_SIZE[0])
        heatmaps, refined = _head(use_multi_branch=False)(_feats())
        self.assertEqual((heatmaps.shape, refined.shape), (heatmap_shape, (2, 17, 2)))
        head = _head(use_gcn=False)
        outputs = head(_feats())
        self.assertIsInstance(outputs, torch.Tensor)
        self.assertTrue(torch.equal(outputs, head.pose_head(_feats()[-1:])))
        with self.assertRaisesRegex(RuntimeError, 'use_multi_branch=False'):
            _head(use_multi_branch=False).forward_multi(_feats())

    def test_missing_labels_only_for_the_parts_built(self):
        def without(*keys: str) -> List[PoseDataSample]:
            samples = _samples()
            for sample in samples:
                for key in keys:
                    for field in (sample.gt_fields, sample.gt_instance_labels):
                        if key in field:
                            delattr(field, key)
            return samples

        multi_keys = ('multi_heatmaps', 'multi_keypoint_weights')
        # a switched-off part reads none of its labels
        losses = _head(use_multi_branch=False).loss(_feats(), without(*multi_keys))
        self.assertEqual(set(losses), {'loss_target', 'loss_coord', 'acc_pose'})
        losses = _head(use_gcn=False).loss(_feats(), without('keypoint_coords'))
        self.assertEqual(set(losses), {'loss_multi', 'loss_target', 'acc_pose'})
        # the parts that are built still name what they miss and why
        with self.assertRaisesRegex(KeyError, 'keypoint_coords.*use_gcn=True'):
            _head(use_multi_branch=False).loss(_feats(), without('keypoint_coords'))
        for key in multi_keys:
            with self.assertRaisesRegex(KeyError, f'{key}.*use_multi_branch=True'):
                _head(use_gcn=False).loss(_feats(), without(key))
        with self.assertRaisesRegex(KeyError, 'gt_fields.heatmaps'):
            _head(use_gcn=False).loss(_feats(), without('heatmaps'))

    def test_gcn_off_needs_no_skeleton(self):
        head = _head(use_gcn=False, metainfo=None)
        self.assertIsNone(head.skeleton_links)
        self.assertEqual(
            set(head.loss(_feats(), _samples())), {'loss_multi', 'loss_target', 'acc_pose'}
        )
        # a skeleton given anyway is still checked against the base head
        with self.assertRaisesRegex(ValueError, 'keypoints'):
            _head(_heatmap_cfg(14), use_gcn=False, metainfo=COCO)
        with self.assertRaisesRegex(ValueError, 'exactly one'):
            _head(use_gcn=False, skeleton_links=[(0, 1)])  # plus the default metainfo
        with self.assertRaisesRegex(ValueError, 'exactly one'):
            _head(use_multi_branch=False, metainfo=None)

    def test_plain_checkpoint_loads_in_each_mode(self):
        plain = nn.Module()
        torch.manual_seed(1)
        plain.head = MODELS.build(_heatmap_cfg())
        checkpoint = copy.deepcopy(plain.state_dict())
        for name, (kwargs, _) in SWITCHES.items():
            with self.subTest(name):
                model = nn.Module()
                model.head = _head(**kwargs)
                result = model.load_state_dict(checkpoint, strict=False)
                self.assertEqual(result.unexpected_keys, [])
                built = tuple(f'head.{p}' for p in SWITCHED_PARTS if p not in _switched_off(kwargs))
                self.assertTrue(result.missing_keys)
                for key in result.missing_keys:
                    self.assertTrue(key.startswith(built), key)
                self.assertTrue(
                    torch.equal(
                        model.head.pose_head.final_layer.weight, plain.head.final_layer.weight
                    )
                )

    def test_full_dag_checkpoint_loads_into_each_mode(self):
        """The keys of a switched-off part are unexpected (never moved into the base
        head); everything else loads."""
        source = nn.Module()
        source.head = _head()
        state = source.state_dict()
        for name, (kwargs, _) in SWITCHES.items():
            with self.subTest(name):
                torch.manual_seed(7)
                target = nn.Module()
                target.head = FGMHGCNHead(
                    pose_cfg=_heatmap_cfg(),
                    metainfo=COCO,
                    gcn_cfg=dict(hidden_channels=16, num_blocks=1),
                    **kwargs,
                )
                result = target.load_state_dict(state, strict=False)
                self.assertEqual(result.missing_keys, [])
                off = tuple(f'head.{p}' for p in _switched_off(kwargs))
                expected = sorted(k for k in state if off and k.startswith(off))
                self.assertEqual(sorted(result.unexpected_keys), expected)
                for key, value in target.state_dict().items():
                    self.assertTrue(torch.equal(value, state[key]), key)
