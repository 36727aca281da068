# Copyright (c) dag_mmpose contributors. All rights reserved.
import math
import warnings
from typing import Optional, Tuple
from unittest import TestCase

import torch
import torch.nn.functional as F
from torch import Tensor

from dag_mmpose.models.necks import ADAM


def _randomise(neck: ADAM, gamma: float = 0.5) -> ADAM:
    """Move the parameters away from the identity init so every path matters."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        if neck.use_channel_attention:
            neck.channel_fc.weight.copy_(
                0.1 * torch.randn(neck.channel_fc.weight.shape, generator=generator)
            )
            neck.channel_fc.bias.copy_(
                1 + 0.1 * torch.randn(neck.channel_fc.bias.shape, generator=generator)
            )
        if neck.use_spatial_attention:
            neck.gamma.fill_(gamma)
    return neck


def _naive_adam(neck: ADAM, x: Tensor, center: Optional[Tuple[int, int]] = None) -> Tensor:
    """ADAM written out with an explicit N x N attention matrix (paper eq. 1-2).

    ``center`` is the (row, col) of the body-center feature; ``None`` means
    the map center (H // 2, W // 2).
    """
    x = x.float()
    b, c, h, w = x.shape
    if neck.use_channel_attention:
        row, col = (h // 2, w // 2) if center is None else center
        x = x * neck.channel_fc(x[:, :, row, col])[:, :, None, None]
    if neck.use_spatial_attention:
        s = neck.spatial_downsample
        src = x if s == 1 else F.adaptive_avg_pool2d(x, (math.ceil(h / s), math.ceil(w / s)))
        query = neck.query_conv(src).flatten(2)  # (B, C_qk, N)
        key = neck.key_conv(src).flatten(2)  # (B, C_qk, N)
        value = neck.value_conv(src).flatten(2)  # (B, C, N)
        scale = 1 / math.sqrt(query.size(1)) if neck.qk_scale is None else neck.qk_scale
        attn = torch.softmax(scale * query.transpose(1, 2) @ key, dim=-1)  # (B, N, N)
        out = (value @ attn.transpose(1, 2)).view(b, c, *src.shape[-2:])
        if s > 1:
            out = F.interpolate(out, size=(h, w), mode='bilinear', align_corners=False)
        x = x + neck.gamma * out
    return x


def _cpu_autocast_supports(dtype: torch.dtype) -> bool:
    """Whether CPU autocast really computes a matmul in ``dtype``."""
    a = torch.ones(2, 2)
    with warnings.catch_warnings():
        # Older torch warns and disables autocast for unsupported CPU dtypes.
        warnings.simplefilter('ignore')
        try:
            with torch.autocast('cpu', dtype=dtype):
                return (a @ a).dtype == dtype
        except (RuntimeError, TypeError):
            return False


class TestADAM(TestCase):
    def _check_outputs(self, neck: ADAM, inputs: Tuple[Tensor, ...]) -> None:
        outputs = neck(inputs)
        self.assertIsInstance(outputs, tuple)
        self.assertEqual(len(outputs), 2)
        multi_feats, target_feats = outputs
        self.assertIsInstance(multi_feats, Tensor)
        self.assertIsInstance(target_feats, Tensor)
        self.assertEqual(multi_feats.shape, inputs[neck.in_index].shape)
        self.assertEqual(target_feats.shape, inputs[neck.in_index].shape)
        self.assertEqual(target_feats.dtype, inputs[neck.in_index].dtype)

    def test_shapes_hrnet_like(self):
        neck = _randomise(ADAM(in_channels=32))
        self._check_outputs(neck, (torch.rand(2, 32, 16, 12),))

    def test_shapes_resnet_like(self):
        neck = _randomise(ADAM(in_channels=2048))
        self._check_outputs(neck, (torch.rand(1, 2048, 8, 6),))

    def test_shapes_cspnext_like(self):
        neck = _randomise(ADAM(in_channels=768, spatial_downsample=2))
        self._check_outputs(neck, (torch.rand(2, 768, 8, 6),))

    def test_batch_of_one(self):
        neck = _randomise(ADAM(in_channels=32, spatial_downsample=2))
        x = torch.randn(1, 32, 16, 12)
        _, target_feats = neck((x,))
        self.assertEqual(target_feats.shape, x.shape)
        torch.testing.assert_close(target_feats, _naive_adam(neck, x), rtol=1e-5, atol=1e-5)

    def test_in_index_selects_map(self):
        inputs = (torch.rand(2, 16, 32, 24), torch.rand(2, 32, 16, 12))
        multi_feats, _ = ADAM(in_channels=16, in_index=0)(inputs)
        self.assertIs(multi_feats, inputs[0])
        multi_feats, _ = ADAM(in_channels=32)(inputs)
        self.assertIs(multi_feats, inputs[1])
        multi_feats, _ = ADAM(in_channels=32, in_index=1)(list(inputs))
        self.assertIs(multi_feats, inputs[1])

    def test_identity_at_init(self):
        x = torch.randn(2, 32, 16, 12)
        for downsample in (1, 2):
            with self.subTest(spatial_downsample=downsample):
                neck = ADAM(in_channels=32, spatial_downsample=downsample)
                multi_feats, target_feats = neck((x,))
                self.assertTrue(torch.equal(multi_feats, x))
                self.assertTrue(torch.equal(target_feats, x))

    def test_fuse_input_as_released(self):
        """F_t = conv1x1(cat[F_m, attended]): the identity at init, then it mixes F_m in."""
        x = torch.randn(2, 32, 16, 12)
        neck = ADAM(in_channels=32, use_spatial_attention=False, fuse_input=True)
        neck.init_weights()
        self.assertEqual(tuple(neck.fusion_conv.weight.shape), (32, 64, 1, 1))
        self.assertTrue(torch.allclose(neck((x,))[1], x, atol=1e-6))
        neck((x,))[1].sum().backward()
        for name, param in neck.named_parameters():
            self.assertGreater(param.grad.abs().sum().item(), 0, name)
        with torch.no_grad():
            neck.fusion_conv.weight[:, :32] = torch.eye(32)[:, :, None, None]
        self.assertTrue(torch.allclose(neck((x,))[1], 2 * x, atol=1e-5))

    def test_attention_index_attends_another_map(self):
        """The release: attend the stage-3 map, fuse it with the stage-4 map (F_m)."""
        stage4, stage3 = torch.randn(2, 32, 16, 12), torch.randn(2, 32, 16, 12)
        neck = _randomise(
            ADAM(
                in_channels=32,
                in_index=0,
                attention_index=1,
                use_spatial_attention=False,
                fuse_input=True,
            )
        )
        # it starts as the identity on F_m (stage 4), whatever stage 3 holds
        self.assertTrue(torch.equal(neck((stage4, stage3))[1], stage4))
        neck((stage4, stage3))[1].sum().backward()
        self.assertGreater(neck.fusion_conv.weight.grad[:, 32:].abs().sum().item(), 0)
        with torch.no_grad():
            neck.fusion_conv.weight.normal_(std=0.1)
            neck.fusion_conv.bias.normal_(std=0.1)
        multi_feats, target_feats = neck((stage4, stage3))
        self.assertIs(multi_feats, stage4)
        attended = _naive_adam(neck, stage3)
        expected = neck.fusion_conv(torch.cat([stage4, attended], dim=1))
        torch.testing.assert_close(target_feats, expected, rtol=1e-5, atol=1e-5)
        # without fusion F_t is the attended stage-3 map (spatial attention on too)
        neck = _randomise(ADAM(in_channels=32, in_index=0, attention_index=1))
        multi_feats, target_feats = neck((stage4, stage3))
        self.assertIs(multi_feats, stage4)
        torch.testing.assert_close(target_feats, _naive_adam(neck, stage3), rtol=1e-5, atol=1e-5)

    def _release_neck(self, **kwargs) -> ADAM:
        neck = ADAM(
            in_channels=8,
            in_index=0,
            attention_index=1,
            use_spatial_attention=False,
            fuse_input=True,
            **kwargs,
        )
        with torch.no_grad():
            for param in neck.parameters():
                param.normal_(std=0.3)
        return neck

    def _release_attended(self, neck: ADAM, stage3: Tensor, r: float) -> Tensor:
        """The release's channel attention: X3 * atn(r * v), v the centre feature."""
        h, w = stage3.shape[-2:]
        instance = stage3[:, :, h // 2, w // 2] * r
        return stage3 * neck.channel_fc(instance)[:, :, None, None]

    def test_instance_scale(self):
        """None: r = 1 (ours); a number: that r; 'random': the weight a fresh
        nn.Linear(1, 1) draws, one per forward, as the release computes it."""
        stage4, stage3 = torch.randn(2, 8, 6, 4), torch.randn(2, 8, 6, 4)
        for scale in (None, 0.0, -0.4):
            neck = self._release_neck(instance_scale=scale)
            r = 1.0 if scale is None else scale
            expected = neck.fusion_conv(
                torch.cat([stage4, self._release_attended(neck, stage3, r)], dim=1)
            )
            torch.testing.assert_close(neck((stage4, stage3))[1], expected)
        neck = self._release_neck(instance_scale='random')
        torch.manual_seed(3)
        draws = [torch.nn.Linear(1, 1, bias=False).weight.item() for _ in range(2)]
        self.assertNotAlmostEqual(draws[0], draws[1])
        torch.manual_seed(3)
        outputs = [neck((stage4, stage3))[1] for _ in range(2)]
        for r, out in zip(draws, outputs):
            attended = self._release_attended(neck, stage3, r)
            expected = neck.fusion_conv(torch.cat([stage4, attended], dim=1))
            torch.testing.assert_close(out, expected)
        for bad in ('uniform', float('nan'), True):
            with self.assertRaisesRegex((ValueError, TypeError), 'instance_scale'):
                ADAM(in_channels=8, instance_scale=bad)
        with self.assertRaisesRegex(ValueError, 'use_channel_attention=True'):
            ADAM(in_channels=8, use_channel_attention=False, instance_scale=0.0)

    def test_release_outputs(self):
        """``multi_features='attended'``: F_m is the attended stage-3 map;
        ``upsample_factor=2``: both outputs upsampled bilinearly afterwards."""
        stage4, stage3 = torch.randn(2, 8, 6, 4), torch.randn(2, 8, 6, 4)
        neck = self._release_neck(instance_scale=0.3)
        multi, target = neck((stage4, stage3))
        self.assertIs(multi, stage4)
        neck.multi_features = 'attended'
        attended, fused = neck((stage4, stage3))
        torch.testing.assert_close(attended, self._release_attended(neck, stage3, 0.3))
        torch.testing.assert_close(fused, target)
        neck.upsample_factor = 2
        up_attended, up_fused = neck((stage4, stage3))
        self.assertEqual(tuple(up_fused.shape), (2, 8, 12, 8))
        for up, low in ((up_attended, attended), (up_fused, fused)):
            expected = F.interpolate(low, scale_factor=2, mode='bilinear', align_corners=False)
            torch.testing.assert_close(up, expected)
        # upsampling alone also runs (no attention, no fusion)
        plain = ADAM(
            in_channels=8, use_channel_attention=False, use_spatial_attention=False,
            upsample_factor=2,
        )  # fmt: skip
        self.assertEqual(tuple(plain((stage4,))[0].shape), (2, 8, 12, 8))
        with self.assertRaisesRegex(ValueError, 'multi_features'):
            ADAM(in_channels=8, multi_features='stage3')
        with self.assertRaisesRegex(ValueError, 'upsample_factor'):
            ADAM(in_channels=8, upsample_factor=0)

    def test_attention_index_errors_name_the_map(self):
        stage4 = torch.randn(2, 32, 16, 12)
        neck = ADAM(in_channels=32, in_index=0, attention_index=1, fuse_input=True)
        with self.assertRaisesRegex(IndexError, 'attention_index=1'):
            neck((stage4,))
        with self.assertRaisesRegex(ValueError, 'backbone output 1 has 64 channels'):
            neck((stage4, torch.randn(2, 64, 16, 12)))
        with self.assertRaisesRegex(ValueError, r'must be of one size.*\(2, 32, 8, 6\)'):
            neck((stage4, torch.randn(2, 32, 8, 6)))
        with self.assertRaisesRegex(TypeError, 'attention_index'):
            ADAM(in_channels=32, attention_index='stage3')

    def test_init_weights_keeps_identity(self):
        neck = ADAM(in_channels=32)
        neck.init_weights()
        x = torch.randn(2, 32, 16, 12)
        self.assertTrue(torch.equal(neck((x,))[1], x))

    def test_gradients(self):
        neck = ADAM(in_channels=32, spatial_downsample=2)
        x = torch.randn(2, 32, 16, 12)
        neck((x,))[1].sum().backward()
        for name, param in neck.named_parameters():
            self.assertIsNotNone(param.grad, name)
        # gamma = 0 cuts the Q / K / V convs off: zero, but present, gradients.
        for name in ('channel_fc.weight', 'channel_fc.bias', 'gamma'):
            self.assertGreater(neck.get_parameter(name).grad.abs().sum().item(), 0, name)

        neck.zero_grad()
        with torch.no_grad():
            neck.gamma.fill_(0.5)
        neck((x,))[1].sum().backward()
        for name, param in neck.named_parameters():
            self.assertGreater(param.grad.abs().sum().item(), 0, name)

    def test_matches_naive_attention(self):
        x = torch.randn(2, 32, 9, 7)
        for downsample in (1, 2):
            for qk_scale in (1.0, None):
                with self.subTest(spatial_downsample=downsample, qk_scale=qk_scale):
                    neck = _randomise(
                        ADAM(in_channels=32, spatial_downsample=downsample, qk_scale=qk_scale)
                    )
                    torch.testing.assert_close(
                        neck((x,))[1], _naive_adam(neck, x), rtol=1e-5, atol=1e-5
                    )

    def test_matches_naive_attention_padded_widths(self):
        # (C, qk_reduction) -> (C_qk, common width): Q / K padded, V padded, both padded.
        for channels, reduction, widths in ((40, 2, (24, 40)), (4, 1, (8, 8)), (20, 1, (24, 24))):
            with self.subTest(in_channels=channels, qk_reduction=reduction):
                neck = _randomise(ADAM(in_channels=channels, qk_reduction=reduction))
                self.assertEqual((neck.qk_channels, neck.attention_channels), widths)
                x = torch.randn(2, channels, 6, 5)
                torch.testing.assert_close(
                    neck((x,))[1], _naive_adam(neck, x), rtol=1e-5, atol=1e-5
                )

    def test_center_location(self):
        neck = _randomise(ADAM(in_channels=32, center_yx=(0.0, 1.0)))
        x = torch.randn(2, 32, 9, 7)
        torch.testing.assert_close(
            neck((x,))[1], _naive_adam(neck, x, center=(0, 6)), rtol=1e-5, atol=1e-5
        )

    def test_fused_cpu_kernel_accepts_shapes(self):
        try:
            from torch.nn.attention import SDPBackend, sdpa_kernel
        except ImportError:
            self.skipTest('torch.nn.attention.sdpa_kernel needs torch >= 2.3')
        # Restricting SDPA to flash attention makes a fallback to the N x N
        # math path an error instead of a silent slowdown.
        for channels in (32, 20, 2048):
            with self.subTest(in_channels=channels):
                neck = _randomise(ADAM(in_channels=channels))
                x = torch.randn(1, channels, 8, 6, requires_grad=True)
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    neck((x,))[1].sum().backward()
                self.assertIsNotNone(x.grad)

    def _check_autocast_finite(self, dtype: torch.dtype) -> None:
        neck = _randomise(ADAM(in_channels=32), gamma=1.0)
        x = 1e4 * torch.randn(2, 32, 16, 12).clamp(-3, 3)
        # A float32 input, and the half-precision map an autocast backbone hands over.
        for inputs in (x, x.to(dtype)):
            with self.subTest(input_dtype=inputs.dtype), torch.autocast('cpu', dtype=dtype):
                multi_feats, target_feats = neck((inputs,))
                self.assertIs(multi_feats, inputs)
                self.assertEqual(target_feats.dtype, torch.float32)
                self.assertTrue(torch.isfinite(target_feats).all())
                # The float32 result overflows float16: the finite output is no accident.
                self.assertGreater(target_feats.abs().max().item(), 65504)

    def test_bf16_autocast_finite(self):
        if not _cpu_autocast_supports(torch.bfloat16):
            self.skipTest('this torch has no bfloat16 CPU autocast')
        self._check_autocast_finite(torch.bfloat16)

    def test_fp16_autocast_finite(self):
        if not _cpu_autocast_supports(torch.float16):
            self.skipTest('this torch has no float16 CPU autocast')
        self._check_autocast_finite(torch.float16)

    def test_autocast_matches_float32(self):
        if not _cpu_autocast_supports(torch.bfloat16):
            self.skipTest('this torch has no bfloat16 CPU autocast')
        neck = _randomise(ADAM(in_channels=32, spatial_downsample=2))
        x = torch.randn(2, 32, 16, 12)
        expected = neck((x,))[1]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            actual = neck((x,))[1]
        torch.testing.assert_close(actual, expected, rtol=0, atol=0)

    def test_ablation_switches(self):
        x = torch.randn(2, 32, 16, 12)
        neck = _randomise(ADAM(in_channels=32, use_channel_attention=False))
        self.assertFalse(hasattr(neck, 'channel_fc'))
        torch.testing.assert_close(neck((x,))[1], _naive_adam(neck, x), rtol=1e-5, atol=1e-5)
        neck = _randomise(ADAM(in_channels=32, use_spatial_attention=False))
        self.assertFalse(hasattr(neck, 'gamma'))
        torch.testing.assert_close(neck((x,))[1], _naive_adam(neck, x), rtol=1e-5, atol=1e-5)
        neck = ADAM(in_channels=32, use_channel_attention=False, use_spatial_attention=False)
        self.assertEqual(len(list(neck.parameters())), 0)
        self.assertIs(neck((x,))[1], x)

    def test_qk_channels(self):
        for channels, reduction, expected in (
            (32, 8, 8),
            (48, 8, 8),
            (2048, 8, 256),
            (768, 8, 96),
            (100, 8, 16),
            (64, 1, 64),
        ):
            with self.subTest(in_channels=channels, qk_reduction=reduction):
                neck = ADAM(in_channels=channels, qk_reduction=reduction)
                self.assertEqual(neck.qk_channels, expected)
                self.assertEqual(neck.query_conv.out_channels, expected)
                self.assertEqual(neck.value_conv.out_channels, channels)

    def test_bad_channel_count_raises(self):
        neck = ADAM(in_channels=32)
        with self.assertRaisesRegex(ValueError, r'32 channels.*has 16 channels'):
            neck((torch.rand(2, 16, 8, 6),))

    def test_bad_inputs_raise(self):
        neck = ADAM(in_channels=32)
        with self.assertRaisesRegex(TypeError, 'tuple or list.*Tensor'):
            neck(torch.rand(2, 32, 8, 6))
        with self.assertRaisesRegex(ValueError, r'\(B, C, H, W\)'):
            neck((torch.rand(32, 8, 6),))
        with self.assertRaisesRegex(IndexError, 'in_index=2'):
            ADAM(in_channels=32, in_index=2)((torch.rand(2, 32, 8, 6),))

    def test_bad_arguments_raise(self):
        for kwargs in (
            dict(in_channels=0),
            dict(in_channels=32, center_yx=(0.5, 1.5)),
            dict(in_channels=32, qk_reduction=0),
            dict(in_channels=32, qk_scale=0.0),
            dict(in_channels=32, spatial_downsample=0),
        ):
            with self.subTest(**kwargs), self.assertRaises(ValueError):
                ADAM(**kwargs)

    def test_build_from_config(self):
        from mmpose.registry import MODELS

        import dag_mmpose  # noqa: F401

        neck = MODELS.build(dict(type='ADAM', in_channels=32, spatial_downsample=2))
        self.assertIsInstance(neck, ADAM)
        self.assertEqual(neck.spatial_downsample, 2)
