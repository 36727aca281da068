# Copyright (c) dag_mmpose contributors. All rights reserved.
from unittest import TestCase

import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import nn

import dag_mmpose  # noqa: F401
from dag_mmpose.models.necks import CFANeck


def _hrnet_like(batch: int = 2):
    """HRNet-W32 multiscale outputs at a 64x48 crop: 1/4, 1/8, 1/16, 1/32."""
    return tuple(
        torch.rand(batch, c, 16 // s, 12 // s) for c, s in ((32, 1), (64, 2), (128, 4), (256, 8))
    )


class TestCFANeck(TestCase):
    def test_hrnet_levels(self):
        neck = CFANeck(in_channels=(128, 64, 32), in_indices=(2, 1, 0), base_index=0)
        neck.init_weights()
        inputs = _hrnet_like()
        outputs = neck(inputs)
        self.assertEqual(
            [tuple(o.shape) for o in outputs],
            [(2, 256, 4, 3), (2, 128, 8, 6), (2, 128, 16, 12), (2, 17, 16, 12), (2, 32, 16, 12)],
        )
        self.assertIs(outputs[-1], inputs[0])
        # HRNet's channels differ from the CFA widths: 1x1 laterals
        self.assertTrue(all(isinstance(m, nn.Conv2d) for m in neck.laterals))

    def test_opec_resnet_levels_need_no_lateral(self):
        """OPEC-Net's levels (512 @ 1/16, 256 @ 1/8, 128 @ 1/4) join as they are."""
        neck = CFANeck(in_channels=(512, 256, 128), in_indices=(0, 1, 2), num_keypoints=12)
        self.assertTrue(all(isinstance(m, nn.Identity) for m in neck.laterals))
        inputs = (torch.rand(1, 512, 4, 3), torch.rand(1, 256, 8, 6), torch.rand(1, 128, 16, 12))
        outputs = neck(inputs)
        self.assertEqual(tuple(outputs[3].shape), (1, 12, 16, 12))
        self.assertIs(outputs[-1], inputs[-1])

    def test_forward_is_the_formula(self):
        torch.manual_seed(0)
        neck = CFANeck(in_channels=(16, 8), in_indices=(1, 0), out_channels=(8, 4), base_index=0)
        neck.init_weights()
        fine, coarse = torch.rand(2, 8, 8, 6), torch.rand(2, 16, 4, 3)
        r0, r1, heatmaps, base = neck((fine, coarse))
        torch.testing.assert_close(r0, F.relu(neck.level_convs[0](coarse)))
        up = F.relu(neck.upsamples[0](r0))
        gate_fc = neck.gates[0].fc
        gate = gate_fc(torch.cat([up, fine], dim=1).mean(dim=(2, 3)))[:, :, None, None]
        expected_r1 = F.relu(neck.level_convs[1](up * gate + fine))
        torch.testing.assert_close(r1, expected_r1)
        torch.testing.assert_close(heatmaps, neck.heatmap_conv(r1))
        self.assertIs(base, fine)

    def test_every_parameter_gets_gradient(self):
        neck = CFANeck(in_channels=(128, 64, 32), in_indices=(2, 1, 0), base_index=0)
        neck.init_weights()
        outputs = neck(_hrnet_like())
        sum(o.float().pow(2).mean() for o in outputs[:-1]).backward()
        for name, param in neck.named_parameters():
            self.assertGreater(param.grad.abs().sum().item(), 0, name)

    def test_detach_inputs_stops_the_gradient_at_the_backbone(self):
        inputs = tuple(x.requires_grad_() for x in _hrnet_like())
        for detach in (False, True):
            with self.subTest(detach_inputs=detach):
                neck = CFANeck(
                    in_channels=(128, 64, 32),
                    in_indices=(2, 1, 0),
                    base_index=0,
                    detach_inputs=detach,
                )
                for x in inputs:
                    x.grad = None
                outputs = neck(inputs)
                sum(o.pow(2).mean() for o in outputs[:-1]).backward()
                for x in inputs[:3]:
                    self.assertEqual(x.grad is None, detach)
                self.assertIs(outputs[-1], inputs[0])
                self.assertGreater(neck.heatmap_conv.weight.grad.abs().sum().item(), 0)

    def test_bad_inputs_name_the_problem(self):
        neck = CFANeck(in_channels=(128, 64, 32), in_indices=(2, 1, 0))
        with self.assertRaisesRegex(IndexError, 'multiscale_output=True'):
            neck((torch.rand(2, 32, 16, 12),))
        with self.assertRaisesRegex(ValueError, 'output 1 with 64 channels'):
            neck((torch.rand(2, 32, 16, 12), torch.rand(2, 32, 8, 6), torch.rand(2, 128, 4, 3)))
        with self.assertRaisesRegex(ValueError, 'twice the size'):
            neck((torch.rand(2, 32, 15, 12), torch.rand(2, 64, 8, 6), torch.rand(2, 128, 4, 3)))
        with self.assertRaisesRegex(ValueError, 'one length'):
            CFANeck(in_channels=(128, 64), in_indices=(2, 1, 0))

    def test_build_from_config(self):
        neck = MODELS.build(
            dict(type='CFANeck', in_channels=(128, 64, 32), in_indices=(2, 1, 0), base_index=0)
        )
        self.assertIsInstance(neck, CFANeck)
