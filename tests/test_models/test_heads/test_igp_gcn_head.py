# Copyright (c) dag_mmpose contributors. All rights reserved.
from typing import List, Optional, Tuple
from unittest import TestCase

import numpy as np
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from torch import nn

import dag_mmpose  # noqa: F401  (registers the modules)
from dag_mmpose.models.heads import IGPGCNHead
from dag_mmpose.testing import mirror_exact_simcc_cfg, no_host_transfer

INPUT_SIZE = (48, 64)  # (w, h)
HEATMAP_SIZE = (12, 16)  # (W, H)
C = 8
LEVELS = (8, 4)
COCO = dict(from_file='configs/_base_/datasets/coco.py')
KL_LOSS = dict(type='KLDiscretLoss', use_target_weight=True, beta=10.0, label_softmax=True)


def _heatmap_cfg() -> dict:
    return dict(
        type='HeatmapHead',
        in_channels=C,
        out_channels=17,
        deconv_out_channels=None,
        decoder=dict(
            type='MSRAHeatmap', input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2.0
        ),
    )


def _head(pose_cfg: Optional[dict] = 'heatmap', **kwargs) -> IGPGCNHead:
    kwargs.setdefault('metainfo', COCO)
    kwargs.setdefault('level_channels', LEVELS)
    kwargs.setdefault('stage_weights', (0.5, 1.0))
    kwargs.setdefault('hidden_channels', 16)
    torch.manual_seed(0)
    head = IGPGCNHead(pose_cfg=_heatmap_cfg() if pose_cfg == 'heatmap' else pose_cfg, **kwargs)
    head.init_weights()
    return head


def _feats(size: Tuple[int, int] = HEATMAP_SIZE, seed: int = 0) -> Tuple[torch.Tensor, ...]:
    """A CFANeck output stand-in: (r_1, r_2, H, base), all at ``size`` = (W, H)."""
    generator = torch.Generator().manual_seed(seed)
    width, height = size
    channels = (*LEVELS, 17, C)
    return tuple(torch.rand(2, c, height, width, generator=generator) for c in channels)


def _samples(
    weights: Optional[np.ndarray] = None,
    coords: Optional[np.ndarray] = None,
    simcc: bool = False,
    initial: Optional[Tuple[np.ndarray, np.ndarray]] = None,
) -> List[PoseDataSample]:
    meta = parse_pose_metainfo(COCO)
    rng = np.random.RandomState(0)
    samples = []
    for index in range(2):
        metainfo = dict(flip_indices=meta['flip_indices'], input_size=INPUT_SIZE)
        if initial is not None:
            metainfo.update(
                initial_keypoints=initial[0][index : index + 1],
                initial_keypoint_scores=initial[1][index : index + 1],
            )
        sample = PoseDataSample(metainfo=metainfo)
        shape = (17, HEATMAP_SIZE[1], HEATMAP_SIZE[0])
        sample.gt_fields = PixelData(heatmaps=torch.from_numpy(rng.rand(*shape)).float())
        w = np.ones((1, 17)) if weights is None else weights[index : index + 1]
        xy = rng.rand(1, 17, 2) if coords is None else coords[index : index + 1]
        labels = InstanceData(
            keypoint_weights=torch.from_numpy(w).float(),
            keypoint_labels=torch.from_numpy(xy).float(),
        )
        if simcc:
            for key, size in (('keypoint_x_labels', INPUT_SIZE[0]), ('keypoint_y_labels', 64)):
                labels.set_field(torch.from_numpy(rng.rand(1, 17, size * 2)).float(), key)
        sample.gt_instance_labels = labels
        samples.append(sample)
    return samples


def _total(losses: dict) -> torch.Tensor:
    return sum(v for k, v in losses.items() if k.startswith('loss'))


class TestIGPGCNHead(TestCase):
    def test_forward_shapes(self):
        base, poses = _head()(_feats())
        self.assertEqual(tuple(base.shape), (2, 17, 16, 12))
        self.assertEqual([tuple(p.shape) for p in poses], [(2, 17, 2)] * 2)

    def test_loss_terms_and_weights(self):
        head = _head().train()
        losses = head.loss(_feats(), _samples())
        self.assertEqual(
            set(losses), {'loss_p1', 'loss_p2', 'loss_soft_argmax', 'loss_kpt', 'acc_pose'}
        )
        # each term is its weight times mmpose's L1 on [-1, 1] coordinates
        coords = 2 * torch.cat([s.gt_instance_labels.keypoint_labels for s in _samples()]) - 1
        torch.manual_seed(0)
        with torch.no_grad():
            base_outputs = head.pose_head.forward(_feats()[-1:])
            keypoints, scores = head._initial_pose(_feats(), _samples())[1:3]
            result = head._run_gcn(_feats(), keypoints, scores)
        ones = torch.ones(2, 17)
        for index, weight in ((0, 0.5), (1, 1.0)):
            expected = weight * head.coord_loss(result.poses[index], coords, ones)
            torch.testing.assert_close(losses[f'loss_p{index + 1}'].detach(), expected)
        expected = head.coord_loss(result.sampling_points, coords, ones)
        torch.testing.assert_close(losses['loss_soft_argmax'].detach(), expected)
        self.assertEqual(tuple(base_outputs.shape), (2, 17, 16, 12))

    def test_loss_is_zero_at_the_ground_truth_and_ignores_unlabelled_joints(self):
        head = _head().train()
        with torch.no_grad():
            keypoints, scores = head._initial_pose(_feats(), _samples())[1:3]
            result = head._run_gcn(_feats(), keypoints, scores)
        # targets equal to the predictions, except on joints that are not labelled
        weights = np.ones((2, 17))
        weights[:, :5] = 0
        for name, pred in (('loss_p2', result.poses[-1]), ('loss_soft_argmax', None)):
            pred = result.sampling_points if pred is None else pred
            coords = ((pred.numpy() + 1) / 2).astype(np.float64)
            coords[:, :5] += 7.0  # far off, but unlabelled
            losses = head.loss(_feats(), _samples(weights=weights, coords=coords))
            self.assertLess(losses[name].item(), 1e-6, name)

    def test_every_parameter_gets_gradient(self):
        head = _head().train()
        _total(head.loss(_feats(), _samples())).backward()
        for name, param in head.named_parameters():
            self.assertIsNotNone(param.grad, name)
            self.assertGreater(param.grad.abs().sum().item(), 0, name)

    def test_gcn_input_is_the_detached_decoded_pose(self):
        """The GCN sees (x, y, score) of the base decoder, without a path back to it."""
        head = _head().train()
        seen = {}
        head.gcn.input_layer.register_forward_hook(lambda m, args, out: seen.update(x=args[0]))
        feats = tuple(f.requires_grad_() for f in _feats())
        head.loss(feats, _samples())
        preds = head.pose_head.predict(feats[-1:], _samples())
        self.assertFalse(seen['x'].requires_grad)
        kpts = torch.from_numpy(preds[0].keypoints[0])
        normalized = 2 * kpts / torch.tensor(INPUT_SIZE) - 1
        torch.testing.assert_close(seen['x'][0, :, :2], normalized.float())
        torch.testing.assert_close(
            seen['x'][0, :, 2], torch.from_numpy(preds[0].keypoint_scores[0]).float()
        )

    def test_score_threshold_rule(self):
        head = _head().eval()
        feats, samples = _feats(), _samples()
        with torch.no_grad():
            low = head.predict(feats, samples, dict(score_thr=0.2, output_initial=True))
            every = head.predict(feats, samples, dict(refine_joints='all'))
            none = head.predict(feats, samples, dict(refine=False))
            base = head.pose_head.predict(feats[-1:], samples)
        for one, all_, plain, exp in zip(low, every, none, base):
            np.testing.assert_array_equal(plain.keypoints, exp.keypoints)
            np.testing.assert_array_equal(one.keypoint_scores, exp.keypoint_scores)
            np.testing.assert_array_equal(one.initial_keypoints, exp.keypoints)
            replaced = exp.keypoint_scores[0] < 0.2
            np.testing.assert_array_equal(one.keypoints[0, ~replaced], exp.keypoints[0, ~replaced])
            np.testing.assert_allclose(one.keypoints[0, replaced], all_.keypoints[0, replaced])
            self.assertGreater(np.abs(all_.keypoints - exp.keypoints).max(), 0.1)
        # the threshold matters: at 0 nothing is replaced, at 2 everything
        with torch.no_grad():
            kept = head.predict(feats, samples, dict(score_thr=0.0))
            replaced_all = head.predict(feats, samples, dict(score_thr=2.0))
        np.testing.assert_array_equal(kept[0].keypoints, base[0].keypoints)
        np.testing.assert_array_equal(replaced_all[0].keypoints, every[0].keypoints)
        with self.assertRaisesRegex(ValueError, 'refine_joints'):
            head.predict(feats, samples, dict(refine_joints='some'))

    def test_flip_test_gives_mirrored_result(self):
        size = HEATMAP_SIZE
        head = _head(mirror_exact_simcc_cfg(C, size)).eval()
        flip_indices = parse_pose_metainfo(COCO)['flip_indices']
        feats, feats_mirror = _feats(seed=1), _feats(seed=2)
        test_cfg = dict(flip_test=True, refine_joints='all', output_initial=True)
        with torch.no_grad():
            pred = head.predict([feats, feats_mirror], _samples(), test_cfg)
            pred_mirror = head.predict([feats_mirror, feats], _samples(), test_cfg)
        for one, mirror in zip(pred, pred_mirror):
            self.assertGreater(np.abs(one.keypoints - one.initial_keypoints).max(), 0.01)
            for key in ('keypoints', 'initial_keypoints'):
                mirrored = mirror.get(key)[:, flip_indices].copy()
                mirrored[..., 0] = size[0] - 1 - mirrored[..., 0]
                np.testing.assert_allclose(one.get(key), mirrored, atol=1e-4, err_msg=key)

    def test_simcc_base_head(self):
        pose_cfg = dict(
            type='SimCCHead',
            in_channels=C,
            out_channels=17,
            input_size=INPUT_SIZE,
            in_featuremap_size=HEATMAP_SIZE,
            simcc_split_ratio=2.0,
            deconv_out_channels=None,
            loss=KL_LOSS,
            decoder=dict(
                type='SimCCLabel', input_size=INPUT_SIZE, sigma=(4.0, 4.0), simcc_split_ratio=2.0
            ),
        )
        head = _head(pose_cfg).train()
        losses = head.loss(_feats(), _samples(simcc=True))
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
        head.eval()
        with torch.no_grad():
            preds = head.predict([_feats(), _feats(seed=3)], _samples(), dict(flip_test=True))
        self.assertEqual(preds[0].keypoints.shape, (1, 17, 2))

    def test_no_host_transfer_and_refine_false_is_the_base(self):
        """End to end and as a refiner, forward, loss and the flip-tested refinement never copy
        a tensor to the host (the initial pose is decoded in torch); ``refine=False`` is the
        base head's own predict, bit for bit, whatever its codec."""
        for decoder in ('MSRAHeatmap', 'DARK', 'UDPHeatmap'):
            cfg = _heatmap_cfg()
            if decoder == 'DARK':
                cfg['decoder'].update(unbiased=True)
            else:
                cfg['decoder']['type'] = decoder
            with self.subTest(decoder):
                head = _head(cfg).train()
                with no_host_transfer():
                    head.forward(_feats())
                    losses = head.loss(_feats(), _samples())
                    with torch.no_grad():
                        head.eval()._predict_with_flip([_feats(), _feats(seed=3)], _samples(), {})
                self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
                for flip_test in (False, True):
                    feats = [_feats(), _feats(seed=3)] if flip_test else _feats()
                    base_feats = [f[-1:] for f in feats] if flip_test else feats[-1:]
                    test_cfg = dict(flip_test=flip_test, refine=False, output_initial=True)
                    with torch.no_grad():
                        preds = head.predict(feats, _samples(), test_cfg)
                        expected = head.pose_head.predict(base_feats, _samples(), test_cfg)
                    for pred, exp in zip(preds, expected):
                        np.testing.assert_array_equal(pred.keypoints, exp.keypoints)
                        np.testing.assert_array_equal(pred.initial_keypoints, exp.keypoints)
                        np.testing.assert_array_equal(pred.keypoint_scores, exp.keypoint_scores)
        rng = np.random.RandomState(0)
        initial = (rng.uniform(0, 40, (2, 17, 2)).astype(np.float32),
                   rng.uniform(0, 1, (2, 17)).astype(np.float32))  # fmt: skip
        refiner = _head(pose_cfg=None, num_keypoints=17, input_size=INPUT_SIZE).train()
        with no_host_transfer():
            refiner.forward(_feats(), _samples(initial=initial))
            losses = refiner.loss(_feats(), _samples(initial=initial))
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()))

    def test_freeze_base(self):
        head = _head(freeze_base=True).train()
        self.assertFalse(head.pose_head.training)
        self.assertFalse(any(p.requires_grad for p in head.pose_head.parameters()))
        losses = head.loss(_feats(), _samples())
        self.assertNotIn('loss_kpt', losses)
        _total(losses).backward()
        for name, param in head.gcn.named_parameters():
            self.assertIsNotNone(param.grad, name)
        self.assertTrue(all(p.grad is None for p in head.pose_head.parameters()))

    def test_refiner_mode_reads_the_given_poses(self):
        rng = np.random.RandomState(0)
        keypoints = rng.uniform(0, 40, (2, 17, 2)).astype(np.float32)
        scores = rng.uniform(0, 1, (2, 17)).astype(np.float32)
        head = _head(pose_cfg=None, num_keypoints=17, input_size=INPUT_SIZE).eval()
        samples = _samples(initial=(keypoints, scores))
        seen = {}
        head.gcn.input_layer.register_forward_hook(lambda m, args, out: seen.update(x=args[0]))
        with torch.no_grad():
            preds = head.predict(_feats(), samples, dict(refine=False))
            head.predict(_feats(), samples)
        for index, pred in enumerate(preds):
            np.testing.assert_array_equal(pred.keypoints[0], keypoints[index])
            np.testing.assert_array_equal(pred.keypoint_scores[0], scores[index])
        normalized = 2 * keypoints / np.array(INPUT_SIZE) - 1
        np.testing.assert_allclose(seen['x'][..., :2].numpy(), normalized, atol=1e-6)
        np.testing.assert_allclose(seen['x'][..., 2].numpy(), scores)
        head.train()
        losses = head.loss(_feats(), samples)
        self.assertEqual(set(losses), {'loss_p1', 'loss_p2', 'loss_soft_argmax'})
        with self.assertRaisesRegex(KeyError, 'LoadInitialPose'):
            head.predict(_feats(), _samples())

    def test_bad_configs_and_inputs(self):
        with self.assertRaisesRegex(ValueError, 'needs input_size'):
            IGPGCNHead(num_keypoints=17, metainfo=COCO)
        with self.assertRaisesRegex(ValueError, '3 stage_weights for 2 levels'):
            IGPGCNHead(pose_cfg=_heatmap_cfg(), metainfo=COCO, level_channels=LEVELS)
        head = _head()
        with self.assertRaisesRegex(ValueError, '4 tensors, got 3'):
            head(_feats()[1:])
        wrong = (torch.rand(2, 5, 16, 12), *_feats()[1:])
        with self.assertRaisesRegex(ValueError, r'channels \(5, 4\)'):
            head(wrong)
        samples = _samples()
        for sample in samples:
            del sample.gt_instance_labels.keypoint_labels
        with self.assertRaisesRegex(KeyError, 'keypoint_coords.*RegressionLabel'):
            head.loss(_feats(), samples)

    def test_errors_name_this_head(self):
        """The shared label helpers used to say "FGMHGCNHead.loss needs ..." here."""
        samples = _samples()
        del samples[0].gt_instance_labels.keypoint_weights
        with self.assertRaisesRegex(KeyError, r'^.IGPGCNHead\.loss needs'):
            _head().loss(_feats(), samples)
        samples = _samples()
        del samples[1].gt_fields.heatmaps
        with self.assertRaisesRegex(KeyError, r'^.IGPGCNHead\.loss needs `gt_fields.heatmaps`'):
            _head().loss(_feats(), samples)
        # a label FGMHGCNHead also reads: no word of FGMHGCNHead's switches (use_gcn=True)
        samples = _samples()
        samples[0].gt_instance_labels.keypoint_coords = torch.zeros(1, 17, 2)
        with self.assertRaisesRegex(
            KeyError, r'^.IGPGCNHead\.loss needs `gt_instance_labels.keypoint_coords` in every'
        ) as raised:
            _head().loss(_feats(), samples)
        self.assertNotIn('FGMHGCNHead', str(raised.exception))
        self.assertNotIn('use_gcn', str(raised.exception))
        samples = _samples()
        samples[0].gt_instance_labels.keypoint_weights = torch.ones(1, 12)
        with self.assertRaisesRegex(
            ValueError, r'IGPGCNHead expects .* \(1, 17\).* sample 0 has \(1, 12\)'
        ):
            _head().loss(_feats(), samples)
        nan = float('nan')
        for kwargs, name in (
            (dict(stage_weights=(0.5, nan)), 'stage_weights'),
            (dict(soft_argmax_weight=nan), 'soft_argmax_weight'),
            (dict(pose_cfg=None, num_keypoints=17, input_size=(48, -64)), 'input_size'),
        ):
            with self.assertRaisesRegex(ValueError, f'IGPGCNHead: {name}'):
                _head(**kwargs)

    def test_plain_checkpoint_keys_load_into_the_base_head(self):
        plain = MODELS.build(_heatmap_cfg())
        state = {f'head.{k}': v for k, v in plain.state_dict().items()}
        model = nn.Module()
        model.head = _head()
        head = model.head
        incompatible = model.load_state_dict(state, strict=False)
        self.assertEqual(incompatible.unexpected_keys, [])
        self.assertTrue(all(k.startswith('head.gcn.') for k in incompatible.missing_keys))
        for name, value in plain.state_dict().items():
            self.assertTrue(torch.equal(head.pose_head.state_dict()[name], value), name)

    def test_registered(self):
        head = MODELS.build(
            dict(
                type='IGPGCNHead',
                pose_cfg=_heatmap_cfg(),
                metainfo=COCO,
                level_channels=LEVELS,
                stage_weights=(0.5, 1.0),
            )
        )
        self.assertIsInstance(head, IGPGCNHead)


class TestCoupleGraph(TestCase):
    def _poses(self, seed: int = 0):
        rng = np.random.RandomState(seed)
        keypoints = rng.uniform(0, 40, (2, 17, 2)).astype(np.float32)
        scores = rng.uniform(0, 1, (2, 17)).astype(np.float32)
        return keypoints, scores

    def _samples(self):
        initial, partner = self._poses(0), self._poses(1)
        samples = _samples(initial=initial)
        for index, sample in enumerate(samples):
            sample.set_metainfo(
                dict(
                    partner_keypoints=partner[0][index : index + 1],
                    partner_keypoint_scores=partner[1][index : index + 1],
                )
            )
        return samples, initial, partner

    def _head(self, **kwargs):
        return _head(
            pose_cfg=None, num_keypoints=17, input_size=INPUT_SIZE, couple_graph=True, **kwargs
        )

    def test_two_skeletons_and_a_link_between_the_same_joints(self):
        head = self._head()
        mask = head.gcn.input_layer.conv.mask
        self.assertEqual(tuple(mask.shape), (34, 34))
        for i, j in head.skeleton_links:
            self.assertTrue(mask[i, j] and mask[i + 17, j + 17])
        for i in range(17):
            self.assertTrue(mask[i, i + 17] and mask[i + 17, i])
        self.assertFalse(mask[0, 18])  # nose of one, left eye of the other: no link

    def test_the_gcn_sees_both_people_and_predicts_the_target(self):
        head = self._head().train()
        samples, initial, partner = self._samples()
        seen = {}
        head.gcn.input_layer.register_forward_hook(lambda m, args, out: seen.update(x=args[0]))
        losses = head.loss(_feats(), samples)
        self.assertEqual(set(losses), {'loss_p1', 'loss_p2', 'loss_soft_argmax'})
        _total(losses).backward()
        for name, param in head.gcn.named_parameters():
            self.assertIsNotNone(param.grad, name)
        self.assertEqual(tuple(seen['x'].shape), (2, 34, 3))
        for offset, (kpts, scores) in ((0, initial), (17, partner)):
            nodes = seen['x'][:, offset : offset + 17]
            normalized = 2 * kpts / np.array(INPUT_SIZE) - 1
            np.testing.assert_allclose(nodes[..., :2].detach().numpy(), normalized, atol=1e-6)
            np.testing.assert_allclose(nodes[..., 2].detach().numpy(), scores)
        head.eval()
        with torch.no_grad():
            preds = head.predict(_feats(), samples, dict(refine_joints='all'))
        self.assertEqual(preds[0].keypoints.shape, (1, 17, 2))

    def test_the_partner_changes_the_target(self):
        head = self._head().eval()
        samples, _, _ = self._samples()
        others, _, _ = self._samples()
        for sample in others:
            sample.set_metainfo(dict(partner_keypoints=sample.partner_keypoints + 5.0))
        with torch.no_grad():
            one = head.predict(_feats(), samples, dict(refine_joints='all'))
            two = head.predict(_feats(), others, dict(refine_joints='all'))
        self.assertGreater(np.abs(one[0].keypoints - two[0].keypoints).max(), 1e-4)

    def test_flip_test_gives_mirrored_result(self):
        head = self._head().eval()
        flip_indices = parse_pose_metainfo(COCO)['flip_indices']
        width = INPUT_SIZE[0]
        samples, initial, partner = self._samples()

        def mirrored(poses):
            kpts = poses[0][:, flip_indices].copy()
            kpts[..., 0] = width - 1 - kpts[..., 0]
            return kpts, poses[1][:, flip_indices].copy()

        mirror_samples = _samples(initial=mirrored(initial))
        partner_m = mirrored(partner)
        for index, sample in enumerate(mirror_samples):
            sample.set_metainfo(
                dict(
                    partner_keypoints=partner_m[0][index : index + 1],
                    partner_keypoint_scores=partner_m[1][index : index + 1],
                )
            )
        feats, feats_mirror = _feats(seed=1), _feats(seed=2)
        test_cfg = dict(flip_test=True, refine_joints='all')
        with torch.no_grad():
            pred = head.predict([feats, feats_mirror], samples, test_cfg)
            pred_mirror = head.predict([feats_mirror, feats], mirror_samples, test_cfg)
        for one, mirror in zip(pred, pred_mirror):
            expected = mirror.keypoints[:, flip_indices].copy()
            expected[..., 0] = width - 1 - expected[..., 0]
            np.testing.assert_allclose(one.keypoints, expected, atol=1e-4)

    def test_needs_the_refiner_mode_and_the_partner(self):
        with self.assertRaisesRegex(ValueError, 'couple_graph=True.*refiner mode'):
            _head(couple_graph=True)
        with self.assertRaisesRegex(KeyError, 'with_partner=True'):
            self._head().predict(_feats(), _samples(initial=self._poses()))
