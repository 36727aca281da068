# Copyright (c) dag_mmpose contributors. All rights reserved.
import copy
from unittest import TestCase

import torch

from dag_mmpose.models.utils import (
    JointNonLocal,
    MultiHopGCN,
    MultiHopModulatedGraphConv,
    ResidualGraphBlock,
    hop_distances,
    k_hop_adjacency,
    multi_hop_adjacencies,
    skeleton_adjacency,
)

# 0 - 1 - 2 - 3 - 4
CHAIN = [(0, 1), (1, 2), (2, 3), (3, 4)]


def _pairs(matrix: torch.Tensor) -> set:
    """Set of (i, j) where the matrix is non-zero."""
    return {tuple(ij) for ij in torch.nonzero(matrix).tolist()}


class TestAdjacency(TestCase):
    """skeleton_adjacency, hop_distances, k_hop_adjacency, multi_hop_adjacencies."""

    def test_skeleton_adjacency_unit_diagonal_row_normalized(self):
        adj = skeleton_adjacency(CHAIN, 5)
        self.assertTrue(torch.allclose(adj.sum(dim=1), torch.ones(5)))
        # before normalization the diagonal is 1: an end joint has degree 2 (self + 1)
        self.assertAlmostEqual(adj[0, 0].item(), 0.5)
        self.assertAlmostEqual(adj[0, 1].item(), 0.5)
        self.assertAlmostEqual(adj[2, 2].item(), 1 / 3)
        self.assertEqual(_pairs(adj), _pairs(adj.T))

    def test_skeleton_adjacency_without_self_loops(self):
        adj = skeleton_adjacency(CHAIN, 5, self_loops=False)
        self.assertTrue(torch.all(torch.diagonal(adj) == 0))
        self.assertAlmostEqual(adj[0, 1].item(), 1.0)
        self.assertAlmostEqual(adj[2, 1].item(), 0.5)

    def test_hop_distances(self):
        dist = hop_distances([(0, 1), (1, 2)], 4)  # joint 3 isolated
        self.assertEqual(dist[0, 2].item(), 2)
        self.assertEqual(dist[2, 0].item(), 2)
        self.assertEqual(dist[1, 1].item(), 0)
        self.assertEqual(dist[0, 3].item(), -1)

    def test_one_hop_set_and_normalization(self):
        adj = k_hop_adjacency(CHAIN, 5, k=1)
        expected = {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (4, 3)}
        self.assertEqual(_pairs(adj), expected)
        self.assertTrue(torch.all(torch.diagonal(adj) == 0))
        self.assertTrue(torch.allclose(adj.sum(dim=1), torch.ones(5)))
        self.assertAlmostEqual(adj[1, 0].item(), 0.5)

    def test_two_hop_set_and_normalization(self):
        adj = k_hop_adjacency(CHAIN, 5, k=2)
        expected = {(0, 2), (2, 0), (1, 3), (3, 1), (2, 4), (4, 2)}
        self.assertEqual(_pairs(adj), expected)
        self.assertTrue(torch.all(torch.diagonal(adj) == 0))
        self.assertTrue(torch.allclose(adj.sum(dim=1), torch.ones(5)))
        self.assertAlmostEqual(adj[2, 0].item(), 0.5)

    def test_unnormalized_is_binary(self):
        adj = k_hop_adjacency(CHAIN, 5, k=2, normalize=False)
        self.assertEqual(set(adj.unique().tolist()), {0.0, 1.0})

    def test_joint_without_k_hop_neighbor_has_zero_row(self):
        adj = k_hop_adjacency(CHAIN, 5, k=4)
        self.assertEqual(_pairs(adj), {(0, 4), (4, 0)})
        self.assertTrue(torch.all(adj[1:4] == 0))
        self.assertFalse(torch.isnan(adj).any())

    def test_multi_hop_stack(self):
        adj = multi_hop_adjacencies(CHAIN, 5, num_hops=2)
        self.assertEqual(adj.shape, (2, 5, 5))
        self.assertTrue(torch.equal(adj[1], k_hop_adjacency(CHAIN, 5, k=2)))

    def test_invalid_arguments(self):
        with self.assertRaisesRegex(ValueError, 'outside'):
            skeleton_adjacency([(0, 5)], 5)
        with self.assertRaises(ValueError):
            k_hop_adjacency(CHAIN, 5, k=0)
        with self.assertRaises(ValueError):
            multi_hop_adjacencies(CHAIN, 5, num_hops=0)


class TestMultiHopModulatedGraphConv(TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.adj = multi_hop_adjacencies(CHAIN, 5, num_hops=2)

    def test_output_shape(self):
        layer = MultiHopModulatedGraphConv(3, 6, self.adj)
        self.assertEqual(layer(torch.rand(2, 5, 3)).shape, (2, 5, 6))

    def test_modulation_starts_at_one(self):
        layer = MultiHopModulatedGraphConv(3, 6, self.adj)
        self.assertEqual(layer.modulation.shape, (2, 5, 6))
        self.assertTrue(torch.all(layer.modulation == 1))

    def test_matches_equation(self):
        layer = MultiHopModulatedGraphConv(3, 4, self.adj)
        with torch.no_grad():
            layer.modulation.uniform_(0.5, 1.5)
            layer.bias.uniform_()
        x = torch.rand(2, 5, 3)
        w0, w1 = layer.self_weight.weight.T, layer.neighbor_weight.weight.T
        expected = (
            sum(layer.modulation[k] * (x @ w0 + self.adj[k] @ x @ w1) for k in range(2))
            + layer.bias
        )
        self.assertTrue(torch.allclose(layer(x), expected, atol=1e-6))

    def test_gated_hops_as_released(self):
        """Y = C1 + (1 - L1) * C2 with C_k = L_k * (X W0 + A_k X W1): at init (L = 1) the
        2-hop term is off."""
        layer = MultiHopModulatedGraphConv(3, 4, self.adj, hop_combination='gated')
        x = torch.rand(2, 5, 3)
        w0, w1 = layer.self_weight.weight.T, layer.neighbor_weight.weight.T
        hop = [x @ w0 + self.adj[k] @ x @ w1 for k in range(2)]
        self.assertTrue(torch.allclose(layer(x), hop[0] + layer.bias, atol=1e-6))
        with torch.no_grad():
            layer.modulation.uniform_(0.2, 0.8)
        lam = layer.modulation
        expected = lam[0] * hop[0] + (1 - lam[0]) * lam[1] * hop[1] + layer.bias
        self.assertTrue(torch.allclose(layer(x), expected, atol=1e-6))
        with self.assertRaisesRegex(ValueError, 'hop_combination'):
            MultiHopModulatedGraphConv(3, 4, self.adj, hop_combination='max')

    def test_adjacency_not_in_state_dict(self):
        layer = MultiHopModulatedGraphConv(3, 4, self.adj)
        self.assertNotIn('adjacencies', layer.state_dict())

    def test_bad_adjacency_shape(self):
        with self.assertRaises(ValueError):
            MultiHopModulatedGraphConv(3, 4, torch.rand(5, 5))


class TestResidualGraphBlock(TestCase):
    def test_shape_and_shortcut(self):
        block = ResidualGraphBlock(8, multi_hop_adjacencies(CHAIN, 5, 2))
        x = torch.rand(3, 5, 8)
        self.assertEqual(copy.deepcopy(block)(x).shape, x.shape)
        with torch.no_grad():
            for conv in (block.layer1.conv, block.layer2.conv):
                conv.self_weight.weight.zero_()
                conv.neighbor_weight.weight.zero_()
        block.eval()
        # with zero weights both layers output relu(bn(0)) = 0 in eval: identity block
        self.assertTrue(torch.allclose(block(x), x))

    def test_post_norm(self):
        """The release's form: BatchNorm and ReLU after the residual sum."""
        torch.manual_seed(0)
        block = ResidualGraphBlock(8, multi_hop_adjacencies(CHAIN, 5, 2), post_norm=True).eval()
        with torch.no_grad():
            block.norm.running_mean.uniform_(-1, 1)
            block.norm.bias.uniform_(-1, 1)
        x = torch.randn(3, 5, 8)
        plain = x + block.layer2(block.layer1(x))
        norm = block.norm
        expected = torch.relu(
            (plain - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps) * norm.weight
            + norm.bias
        )
        self.assertTrue(torch.allclose(block(x), expected, atol=1e-6))
        self.assertIsNone(ResidualGraphBlock(8, multi_hop_adjacencies(CHAIN, 5, 2)).norm)


class TestJointNonLocal(TestCase):
    def test_release_form(self):
        """``qk_scale=1.0, norm=True``: the embedded-Gaussian block of the release,
        ``x + BN(W_o softmax(Q K^T) V)`` with gamma 1."""
        torch.manual_seed(0)
        block = JointNonLocal(8, qk_scale=1.0, norm=True, init_gamma=1.0).eval()
        with torch.no_grad():
            block.norm.running_mean.uniform_(-1, 1)
            block.norm.weight.uniform_(0.5, 1.5)
        x = torch.randn(2, 5, 8)
        attention = torch.softmax(block.query(x) @ block.key(x).transpose(1, 2), dim=-1)
        out = block.out_proj(attention @ block.value(x))
        norm = block.norm
        out = (out - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps)
        expected = x + out * norm.weight + norm.bias
        self.assertTrue(torch.allclose(block(x), expected, atol=1e-5))
        # the default scales the logits by 1 / sqrt(d)
        default = JointNonLocal(8, norm=True, init_gamma=1.0).eval()
        default.load_state_dict(block.state_dict())
        self.assertFalse(torch.allclose(default(x), expected, atol=1e-3))
        with self.assertRaisesRegex(ValueError, 'qk_scale'):
            JointNonLocal(8, qk_scale=0.0)

    def test_identity_at_init_then_mixes_joints(self):
        torch.manual_seed(0)
        block = JointNonLocal(8)
        x = torch.rand(2, 5, 8)
        self.assertTrue(torch.equal(block(x), x))
        with torch.no_grad():
            block.gamma.fill_(1.0)
        out = block(x)
        self.assertEqual(out.shape, x.shape)
        self.assertFalse(torch.allclose(out, x))


class TestMultiHopGCN(TestCase):
    def test_output_shape(self):
        gcn = MultiHopGCN(5, 2, CHAIN, num_joints=5, hidden_channels=16, num_blocks=1)
        self.assertEqual(gcn(torch.rand(2, 5, 5)).shape, (2, 5, 2))

    def test_default_layout(self):
        gcn = MultiHopGCN(5, 2, CHAIN, num_joints=5)
        convs = [m for m in gcn.modules() if isinstance(m, MultiHopModulatedGraphConv)]
        self.assertEqual(len(convs), 10)  # input + 4 blocks x 2 + output
        self.assertEqual(sum(isinstance(m, JointNonLocal) for m in gcn.modules()), 4)
        self.assertEqual(convs[0].out_channels, 128)
        self.assertEqual(convs[0].modulation.shape[0], 2)  # hops

    def test_output_starts_at_zero(self):
        torch.manual_seed(0)
        for kwargs in ({}, dict(late_channels=3, non_local='once', hop_combination='gated')):
            gcn = MultiHopGCN(5, 2, CHAIN, num_joints=5, hidden_channels=16, **kwargs).train()
            late = torch.rand(4, 5, 3) if kwargs else None
            self.assertFalse(gcn(torch.rand(4, 5, 5), late).any(), kwargs)

    def test_release_layout(self):
        """One non-local block at the end; late features join before the last block."""
        gcn = MultiHopGCN(
            2, 2, CHAIN, num_joints=5, hidden_channels=16, non_local='once', late_channels=3
        )
        self.assertEqual(sum(isinstance(m, JointNonLocal) for m in gcn.modules()), 1)
        self.assertEqual(len(gcn.blocks), 3)  # three residual blocks before the join
        last, non_local = gcn.late_blocks
        self.assertIsInstance(last, ResidualGraphBlock)
        self.assertEqual(last.layer1.conv.in_channels, 19)
        self.assertEqual(non_local.out_proj.out_features, 19)
        self.assertEqual(gcn.output_layer.in_channels, 19)
        with torch.no_grad():
            gcn.output_layer.self_weight.weight.normal_()
        x, late = torch.rand(2, 5, 2), torch.rand(2, 5, 3, requires_grad=True)
        gcn(x, late).sum().backward()
        self.assertGreater(late.grad.abs().sum().item(), 0)
        with self.assertRaisesRegex(ValueError, 'late features'):
            gcn(x)
        with self.assertRaisesRegex(ValueError, 'late features'):
            MultiHopGCN(2, 2, CHAIN, num_joints=5, hidden_channels=16)(x, late)
        self.assertEqual(
            sum(
                isinstance(m, JointNonLocal)
                for m in MultiHopGCN(2, 2, CHAIN, 5, non_local=False).modules()
            ),
            0,
        )
        with self.assertRaisesRegex(ValueError, 'non_local'):
            MultiHopGCN(2, 2, CHAIN, num_joints=5, non_local='twice')

    def test_self_links_in_degree(self):
        """The release's COCO table links the right ear (4) to itself and counts that link
        in the ear's degree: its two neighbours get 1/3 each, not 1/2."""
        links = [(0, 1), (0, 2), (1, 3), (2, 4), (4, 4), (3, 5), (4, 6), (5, 6)]
        plain = k_hop_adjacency(links, 7, 1)
        release = k_hop_adjacency(links, 7, 1, self_links_in_degree=True)
        self.assertEqual(plain[4].tolist(), [0, 0, 0.5, 0, 0, 0, 0.5])
        self.assertTrue(torch.allclose(release[4], torch.tensor([0, 0, 1, 0, 0, 0, 1]) / 3))
        self.assertTrue(torch.equal(release[:4], plain[:4]))
        self.assertEqual(release.diagonal().abs().sum().item(), 0.0)
        # hops beyond the first have no self links
        both = multi_hop_adjacencies(links, 7, 2, self_links_in_degree=True)
        self.assertTrue(torch.equal(both[1], k_hop_adjacency(links, 7, 2)))
        gcn = MultiHopGCN(2, 2, links, num_joints=7, self_links_in_degree=True)
        self.assertTrue(torch.equal(gcn.output_layer.adjacencies, both))

    def test_symmetric_adjacency(self):
        gcn = MultiHopGCN(2, 2, CHAIN, num_joints=5, symmetric_adjacency=True)
        adj = gcn.output_layer.adjacencies
        self.assertTrue(torch.allclose(adj, adj.transpose(1, 2)))
        row = multi_hop_adjacencies(CHAIN, 5, 2)
        self.assertTrue(torch.allclose(adj, 0.5 * (row + row.transpose(1, 2))))

    def test_wrong_joint_count(self):
        gcn = MultiHopGCN(5, 2, CHAIN, num_joints=5, hidden_channels=16, num_blocks=1)
        with self.assertRaisesRegex(ValueError, '5 joints'):
            gcn(torch.rand(2, 4, 5))
