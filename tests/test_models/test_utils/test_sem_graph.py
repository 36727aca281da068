# Copyright (c) dag_mmpose contributors. All rights reserved.
"""OPEC-Net's graph layers: SemGraphConv, node attention, the residual block and IGP-GCN."""

from unittest import TestCase

import torch

from dag_mmpose.models.utils import (
    NodeAttention,
    ProgressiveGCN,
    ResidualSemGraphBlock,
    SemGraphConv,
    skeleton_mask,
)

# 0 - 1 - 2 - 3, and 1 - 4
LINKS = [(0, 1), (1, 2), (2, 3), (1, 4)]


class TestSemGraphConv(TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.mask = skeleton_mask(LINKS, 5)

    def test_mask_is_symmetric_with_self_loops(self):
        expected = torch.eye(5, dtype=torch.bool)
        for i, j in LINKS:
            expected[i, j] = expected[j, i] = True
        self.assertTrue(torch.equal(self.mask, expected))
        with self.assertRaisesRegex(ValueError, 'outside'):
            skeleton_mask([(0, 5)], 5)

    def test_masked_softmax_sums_to_one_over_each_joints_neighbours(self):
        layer = SemGraphConv(3, 4, self.mask)
        with torch.no_grad():
            layer.edge_logits.copy_(torch.randn(layer.edge_logits.shape))
        weights = layer.edge_weights()
        torch.testing.assert_close(weights.sum(dim=1), torch.ones(5))
        self.assertTrue(torch.all(weights[~self.mask] == 0))
        self.assertTrue(torch.all(weights[self.mask] > 0))
        # at init (every logit 1) a joint weighs its neighbours and itself equally
        fresh = SemGraphConv(3, 4, self.mask).edge_weights()
        torch.testing.assert_close(fresh[1, [0, 1, 2, 4]], torch.full((4,), 0.25))

    def test_output_is_the_formula(self):
        layer = SemGraphConv(3, 4, self.mask)
        with torch.no_grad():
            layer.edge_logits.copy_(torch.randn(layer.edge_logits.shape))
        x = torch.randn(2, 5, 3)
        weights = layer.edge_weights()
        expected = torch.zeros(2, 5, 4)
        for i in range(5):
            expected[:, i] = weights[i, i] * x[:, i] @ layer.weight[0] + layer.bias
            for j in range(5):
                if j != i:
                    expected[:, i] += weights[i, j] * x[:, j] @ layer.weight[1]
        torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-6)

    def test_gradients_reach_the_edge_logits(self):
        layer = SemGraphConv(3, 4, self.mask)
        layer(torch.randn(2, 5, 3)).pow(2).sum().backward()
        for name, param in layer.named_parameters():
            self.assertGreater(param.grad.abs().sum().item(), 0, name)

    def test_bad_mask_raises(self):
        with self.assertRaisesRegex(ValueError, 'diagonal'):
            SemGraphConv(3, 4, torch.zeros(5, 5, dtype=torch.bool))


class TestNodeAttentionAndBlock(TestCase):
    def test_node_attention_gates_each_joint(self):
        torch.manual_seed(0)
        attention = NodeAttention(8, 5)
        x = torch.randn(2, 5, 8)
        gates = attention.fc(x.mean(dim=1))
        self.assertEqual(tuple(gates.shape), (2, 5))
        torch.testing.assert_close(attention(x), x * (1 + gates[:, :, None]))

    def test_block_joins_features_first(self):
        torch.manual_seed(0)
        block = ResidualSemGraphBlock(12, skeleton_mask(LINKS, 5))
        out = block(torch.randn(2, 5, 8), torch.randn(2, 5, 4))
        self.assertEqual(tuple(out.shape), (2, 5, 12))
        with self.assertRaisesRegex(ValueError, '12.*10 channels'):
            block(torch.randn(2, 5, 8), torch.randn(2, 5, 2))


class TestProgressiveGCN(TestCase):
    def test_one_pose_per_level_and_every_parameter_learns(self):
        torch.manual_seed(0)
        gcn = ProgressiveGCN(3, 2, LINKS, 5, level_channels=(16, 8, 8), hidden_channels=16)
        self.assertEqual([b.channels for b in gcn.level_blocks], [32, 40, 48])
        feats = [torch.randn(4, 5, c) for c in (16, 8, 8)]
        poses = gcn(torch.randn(4, 5, 3), feats)
        self.assertEqual([tuple(p.shape) for p in poses], [(4, 5, 2)] * 3)
        sum(p.pow(2).sum() for p in poses).backward()
        for name, param in gcn.named_parameters():
            self.assertIsNotNone(param.grad, name)
            self.assertGreater(param.grad.abs().sum().item(), 0, name)

    def test_checks_its_inputs(self):
        gcn = ProgressiveGCN(3, 2, LINKS, 5, level_channels=(16, 8), hidden_channels=16)
        with self.assertRaisesRegex(ValueError, r'channels \(16, 8\), got \(16, 4\)'):
            gcn(torch.randn(2, 5, 3), [torch.randn(2, 5, 16), torch.randn(2, 5, 4)])
        with self.assertRaisesRegex(ValueError, 'built for 5 joints'):
            gcn(torch.randn(2, 4, 3), [torch.randn(2, 4, 16), torch.randn(2, 4, 8)])
        with self.assertRaisesRegex(ValueError, 'at least one level'):
            ProgressiveGCN(3, 2, LINKS, 5, level_channels=())
