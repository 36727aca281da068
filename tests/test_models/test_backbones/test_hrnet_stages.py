# Copyright (c) dag_mmpose contributors. All rights reserved.
from unittest import TestCase

import torch
from mmpose.models.backbones import HRNet
from mmpose.registry import MODELS

from dag_mmpose.models.backbones import HRNetWithStages


def _extra(multiscale_output: bool = False) -> dict:
    return dict(
        stage1=dict(
            num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1,), num_channels=(8,)
        ),
        stage2=dict(
            num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1), num_channels=(8, 16)
        ),
        stage3=dict(
            num_modules=1,
            num_branches=3,
            block='BASIC',
            num_blocks=(1, 1, 1),
            num_channels=(8, 16, 32),
        ),
        stage4=dict(
            num_modules=1,
            num_branches=4,
            block='BASIC',
            num_blocks=(1, 1, 1, 1),
            num_channels=(8, 16, 32, 64),
            multiscale_output=multiscale_output,
        ),
    )


class TestHRNetWithStages(TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.x = torch.rand(2, 3, 128, 96)

    def _plain_and_tapped(self, **kwargs):
        plain = HRNet(extra=_extra())
        tapped = HRNetWithStages(extra=_extra(), **kwargs)
        # a plain HRNet state dict loads as is: the same parameters under the same names
        tapped.load_state_dict(plain.state_dict(), strict=True)
        plain.eval()
        tapped.eval()
        return plain, tapped

    def test_outputs_are_stage4_then_the_tapped_stages(self):
        plain, tapped = self._plain_and_tapped(extra_stage_outputs=('stage3',))
        kept = {}
        plain.stage3.register_forward_hook(lambda m, a, out: kept.update(stage3=list(out)))
        with torch.no_grad():
            expected = plain(self.x)
            outputs = tapped(self.x)
        self.assertEqual(len(outputs), 1 + 3)
        self.assertTrue(torch.equal(outputs[0], expected[0]))
        for got, want in zip(outputs[1:], kept['stage3']):
            self.assertTrue(torch.equal(got, want))
        # HRNet-W32-like: stage-3 branch 0 has the size and channels of the stage-4 map
        self.assertEqual(outputs[1].shape, outputs[0].shape)
        self.assertEqual([tuple(o.shape[1:]) for o in outputs[2:]], [(16, 16, 12), (32, 8, 6)])
        self.assertEqual(tapped._stage_outputs, {})

    def test_several_stages_in_the_given_order(self):
        _, tapped = self._plain_and_tapped(extra_stage_outputs=('stage3', 'stage2'))
        with torch.no_grad():
            outputs = tapped(self.x)
        self.assertEqual([o.size(1) for o in outputs], [8, 8, 16, 32, 8, 16])

    def test_gradient_reaches_the_stage_through_the_extra_output(self):
        tapped = HRNetWithStages(extra=_extra())
        tapped.train()
        outputs = tapped(self.x)
        outputs[1].sum().backward()
        self.assertGreater(tapped.stage3[0].branches[0][0].conv1.weight.grad.abs().sum(), 0)
        self.assertIsNone(tapped.stage4[0].branches[0][0].conv1.weight.grad)

    def test_stage4_branches_are_the_maps_before_the_fusion(self):
        plain, tapped = self._plain_and_tapped(extra_stage_outputs=('stage4_branches', 'stage3'))
        with torch.no_grad():
            expected = plain(self.x)
            outputs = tapped(self.x)
        # the fused map (the head's input) as a plain HRNet gives it, then the four branches,
        # then stage 3
        self.assertEqual(len(outputs), 1 + 4 + 3)
        self.assertTrue(torch.equal(outputs[0], expected[0]))
        branches = outputs[1:5]
        self.assertEqual(
            [tuple(o.shape[1:]) for o in branches],
            [(8, 32, 24), (16, 16, 12), (32, 8, 6), (64, 4, 3)],
        )
        # they are what stage 4's last module fuses into the head's input
        fuse = tapped.stage4[-1].fuse_layers[0]
        with torch.no_grad():
            fused = branches[0] + sum(fuse[j](branches[j]) for j in range(1, 4))
        self.assertTrue(torch.allclose(torch.relu(fused), outputs[0], atol=1e-6))
        # and not stage 4's inputs (stage 3 after the transition): the branches have run
        self.assertFalse(torch.equal(branches[1], outputs[6]))
        self.assertEqual(tapped._stage_outputs, {})

    def test_bad_stage_names_raise(self):
        with self.assertRaisesRegex(ValueError, r"unknown stages \['stage5'\]"):
            HRNetWithStages(extra=_extra(), extra_stage_outputs=('stage5',))
        with self.assertRaisesRegex(TypeError, 'sequence of stage names'):
            HRNetWithStages(extra=_extra(), extra_stage_outputs='stage3')

    def test_build_from_registry(self):
        import dag_mmpose  # noqa: F401

        backbone = MODELS.build(dict(type='HRNetWithStages', extra=_extra()))
        self.assertIsInstance(backbone, HRNet)
        self.assertEqual(backbone.extra_stage_outputs, ('stage3',))
