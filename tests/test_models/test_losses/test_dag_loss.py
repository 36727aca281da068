# Copyright (c) dag_mmpose contributors. All rights reserved.
from unittest import TestCase

import torch
import torch.nn.functional as F
from mmpose.registry import MODELS

import dag_mmpose  # noqa: F401  (registers DAGLoss)
from dag_mmpose.models.losses import DAGLoss

B, K, H, W = 2, 17, 16, 12


def _inputs(weights: torch.Tensor, requires_grad: bool = False) -> list:
    """Arguments of DAGLoss.forward with random predictions and targets."""
    torch.manual_seed(0)
    multi_pred = torch.rand(B, K, H, W, requires_grad=requires_grad)
    target_pred = torch.rand(B, K, H, W, requires_grad=requires_grad)
    pose_pred = torch.rand(B, K, 2, requires_grad=requires_grad)
    return [
        multi_pred,
        torch.rand(B, K, H, W),
        weights,
        target_pred,
        torch.rand(B, K, H, W),
        weights,
        pose_pred,
        torch.rand(B, K, 2) * 2 - 1,
        weights,
    ]


NAMES = (
    'multi_pred',
    'multi_gt',
    'multi_weights',
    'target_pred',
    'target_gt',
    'target_weights',
    'coord_pred',
    'coord_gt',
    'coord_weights',
)


def _call(loss: DAGLoss, *args) -> dict:
    """Call with the nine inputs of _inputs, by name (DAGLoss takes keywords only)."""
    return loss(**dict(zip(NAMES, args)))


class TestDAGLoss(TestCase):
    def test_per_term_keys(self):
        losses = _call(DAGLoss(), *_inputs(torch.ones(B, K)))
        self.assertEqual(set(losses), {'loss_multi', 'loss_target', 'loss_coord'})
        for value in losses.values():
            self.assertEqual(value.ndim, 0)

    def test_default_weights(self):
        args = _inputs(torch.ones(B, K))
        losses = _call(DAGLoss(), *args)
        self.assertTrue(torch.allclose(losses['loss_multi'], 0.5 * F.mse_loss(args[0], args[1])))
        self.assertTrue(torch.allclose(losses['loss_target'], 0.5 * F.mse_loss(args[3], args[4])))
        self.assertTrue(torch.allclose(losses['loss_coord'], 0.01 * F.l1_loss(args[6], args[7])))

    def test_no_labelled_joint_gives_zero_not_nan(self):
        args = _inputs(torch.zeros(B, K), requires_grad=True)
        losses = _call(DAGLoss(), *args)
        for name, value in losses.items():
            self.assertEqual(value.item(), 0.0, name)
        sum(losses.values()).backward()
        for tensor in (args[0], args[3], args[6]):
            self.assertTrue(torch.isfinite(tensor.grad).all())

    def test_unlabelled_joints_are_masked(self):
        weights = torch.ones(B, K)
        weights[:, 3] = 0
        args = _inputs(weights)
        before = _call(DAGLoss(), *args)
        for index in (0, 3, 6):
            args[index] = args[index].clone()
            args[index][:, 3] += 100.0
        after = _call(DAGLoss(), *args)
        for name in before:
            self.assertTrue(torch.allclose(before[name], after[name]), name)

    def test_custom_sub_losses(self):
        loss = DAGLoss(
            multi_loss=dict(type='KeypointMSELoss', use_target_weight=True, loss_weight=2.0),
            target_loss=dict(type='KLDiscretLoss', use_target_weight=True),
            coord_loss=dict(type='SmoothL1Loss', use_target_weight=True, loss_weight=0.1),
        )
        weights = torch.ones(B, K)
        multi = torch.rand(B, K, H, W)
        simcc_pred = (torch.rand(B, K, 24), torch.rand(B, K, 32))
        simcc_gt = (torch.rand(B, K, 24), torch.rand(B, K, 32))
        pose = torch.rand(B, K, 2)
        losses = _call(
            loss, multi, multi * 0, weights, simcc_pred, simcc_gt, weights, pose, pose * 0, weights
        )
        self.assertTrue(torch.allclose(losses['loss_multi'], 2.0 * (multi**2).mean()))
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
        # all-zero weights give zero with the KL loss too
        zero = torch.zeros(B, K)
        losses = _call(loss, multi, multi, zero, simcc_pred, simcc_gt, zero, pose, pose, zero)
        self.assertEqual(losses['loss_target'].item(), 0.0)

    def test_positional_arguments_are_refused(self):
        # three same-shaped (pred, gt, weights) triples: a positional swap would train wrong
        with self.assertRaises(TypeError):
            DAGLoss()(*_inputs(torch.ones(B, K)))

    def test_optional_terms_are_skipped(self):
        args = dict(zip(NAMES, _inputs(torch.ones(B, K))))
        only_target = {k: v for k, v in args.items() if k.startswith('target_')}
        self.assertEqual(set(DAGLoss()(**only_target)), {'loss_target'})
        with_coord = {k: v for k, v in args.items() if not k.startswith('multi_')}
        self.assertEqual(set(DAGLoss()(**with_coord)), {'loss_target', 'loss_coord'})

    def test_defaults_not_shared(self):
        first, second = DAGLoss(), DAGLoss()
        self.assertIsNot(first.multi_loss, first.target_loss)
        first.multi_loss.loss_weight = 3.0
        self.assertEqual(second.multi_loss.loss_weight, 0.5)
        self.assertEqual(first.target_loss.loss_weight, 0.5)

    def test_registered(self):
        self.assertIsInstance(MODELS.build(dict(type='DAGLoss')), DAGLoss)
