# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Keypoint codec of DAG: target heatmaps, multi-joint heatmaps and normalized coordinates."""

from typing import Optional, Tuple

import numpy as np
from mmpose.codecs import MSRAHeatmap, UDPHeatmap
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.codecs.utils import (
    generate_gaussian_heatmaps,
    generate_udp_gaussian_heatmaps,
    generate_unbiased_gaussian_heatmaps,
)
from mmpose.registry import KEYPOINT_CODECS

from ..datasets.transforms.keypoint_utils import check_finite_keypoints, other_people
from ..utils.checks import check_number, check_size
from .legacy_msra_heatmap import LegacyMSRAHeatmap


@KEYPOINT_CODECS.register_module()
class DAGHeatmap(BaseKeypointCodec):
    """Encode the targets of DAG: target-joint heatmaps, multi-joint heatmaps and the
    target pose normalized to [-1, 1].

    DAG supervises the backbone ("multi-joint features") with the joints of *every*
    annotated person in the crop and the attention output ("target features") with the
    joints of the crop's own person only; the graph refinement is supervised with
    coordinates normalized over the crop.

    The target heatmaps, their weights and :meth:`decode` are delegated to mmpose's
    :class:`~mmpose.codecs.MSRAHeatmap` (or :class:`~mmpose.codecs.UDPHeatmap` when
    ``use_udp=True``), so they are exactly what a stock mmpose heatmap recipe produces.

    Note:

        - keypoint number: K
        - other people in the crop: M
        - input size: [w, h]
        - heatmap size: [W, H]

    Encoded:

        - heatmaps (np.ndarray): target-person heatmaps in shape (K, H, W). Only when
          ``with_target_heatmaps=True``.
        - keypoint_weights (np.ndarray): target-person weights in shape (1, K). Only when
          ``with_target_heatmaps=True``.
        - multi_heatmaps (np.ndarray): multi-joint heatmaps in shape (K, H, W): the target
          person's Gaussians with peak 1 and every other person's with peak
          ``other_peak``, merged by element-wise maximum.
        - multi_keypoint_weights (np.ndarray): weights of the multi-joint heatmaps in shape
          (1, K): per joint, the maximum weight over all people.
        - keypoint_coords (np.ndarray): the target keypoints normalized over the input crop,
          in shape (1, K, 2), float32: ``u = 2 * x / w - 1``, ``v = 2 * y / h - 1``. The
          same formula is used with ``use_udp=True``, so a head inverts it with
          ``x = (u + 1) * w / 2``, ``y = (v + 1) * h / 2`` whatever the codec setting.

    Args:
        input_size (Tuple[int, int]): Input image size in [w, h].
        heatmap_size (Tuple[int, int]): Heatmap size in [W, H].
        sigma (float): Sigma of the Gaussians, in heatmap pixels.
        other_peak (float): Peak value of the other people's Gaussians in the multi-joint
            heatmaps. Must lie in [0, 1]. Defaults to 0.5 (the released DAG value).
        use_udp (bool): Encode with UDP (``generate_udp_gaussian_heatmaps``) and decode
            like :class:`~mmpose.codecs.UDPHeatmap`. Defaults to ``False``.
        unbiased (bool): Encode and decode with DarkPose like
            :class:`~mmpose.codecs.MSRAHeatmap` with ``unbiased=True``. Only valid with
            ``use_udp=False`` (UDP decoding is already distribution-aware). Defaults to
            ``False``.
        blur_kernel_size (int): Gaussian blur kernel size of the DarkPose / UDP heatmap
            modulation in :meth:`decode`. Defaults to 11.
        legacy_decode (bool): Decode like
            :class:`~dag_mmpose.codecs.LegacyMSRAHeatmap` (the original HRNet code's
            ``get_final_preds``, which the authors' DAG release uses) instead of mmpose's
            ``MSRAHeatmap``; encoding is unchanged. Only with ``use_udp=False`` and
            ``unbiased=False``. Defaults to ``False``.
        with_target_heatmaps (bool): Emit ``heatmaps`` and ``keypoint_weights``. Set it to
            ``False`` to combine this codec with another one that supervises the base head
            (e.g. ``SimCCLabel`` in ``GenerateTarget(encoder=[...])``): combined encoders
            must not both emit the same item, and two ``keypoint_weights`` would be stacked
            into a (2, 1, K) label that no longer matches the other labels. Defaults to
            ``True``.

    Note:
        With combined encoders ``GenerateTarget`` wraps ``keypoint_weights`` in a list
        even when one encoder emits it, so ``PackPoseInputs`` delivers the base codec's
        weights as (1, 1, K) instead of (1, K); the other encoders' requirements are
        read with ``results[key]``, so ``GetOtherInstances`` must be in the pipeline.
        A stock ``SimCCHead`` / ``RTMCCHead`` fails on (B, 1, K) weights in its accuracy
        metric, so a head that wraps one must reshape them to (B, K) first.

    Example:
        >>> import numpy as np
        >>> codec = DAGHeatmap(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.)
        >>> keypoints = np.full((1, 17, 2), 100., dtype=np.float32)
        >>> others = np.full((2, 17, 2), 40., dtype=np.float32)
        >>> encoded = codec.encode(keypoints, np.ones((1, 17)), others, np.ones((2, 17)))
        >>> encoded['multi_heatmaps'].shape, encoded['keypoint_coords'].shape
        ((17, 64, 48), (1, 17, 2))
        >>> float(encoded['multi_heatmaps'][0, 10, 10])
        0.5
    """

    # GenerateTarget passes these sample keys (or None when absent) to ``encode``
    auxiliary_encode_keys = {'other_keypoints', 'other_keypoints_visible'}

    field_mapping_table = dict(heatmaps='heatmaps', multi_heatmaps='multi_heatmaps')
    label_mapping_table = dict(
        keypoint_weights='keypoint_weights',
        multi_keypoint_weights='multi_keypoint_weights',
        keypoint_coords='keypoint_coords',
    )

    def __init__(
        self,
        input_size: Tuple[int, int],
        heatmap_size: Tuple[int, int],
        sigma: float,
        other_peak: float = 0.5,
        use_udp: bool = False,
        unbiased: bool = False,
        blur_kernel_size: int = 11,
        with_target_heatmaps: bool = True,
        legacy_decode: bool = False,
    ) -> None:
        super().__init__()
        owner = 'DAGHeatmap'
        input_size = check_size(input_size, 'input_size', owner)
        heatmap_size = check_size(heatmap_size, 'heatmap_size', owner)
        sigma = check_number(sigma, 'sigma', owner, gt=0)
        other_peak = check_number(other_peak, 'other_peak', owner, ge=0, le=1)
        blur_kernel_size = check_number(blur_kernel_size, 'blur_kernel_size', owner, gt=0,
                                        integer=True)  # fmt: skip
        if blur_kernel_size % 2 == 0:
            raise ValueError(f'{owner}: blur_kernel_size must be odd, got {blur_kernel_size}')
        if use_udp and unbiased:
            raise ValueError(
                'DAGHeatmap: `unbiased=True` (DarkPose) applies to MSRA encoding only; '
                'with `use_udp=True` decoding is already distribution-aware, so leave '
                '`unbiased=False`.'
            )
        if legacy_decode and (use_udp or unbiased):
            raise ValueError(
                'DAGHeatmap: legacy_decode=True decodes as the original HRNet code (quarter '
                'offset); it does not combine with use_udp or unbiased'
            )
        self.legacy_decode = bool(legacy_decode)
        self.input_size = tuple(input_size)
        self.heatmap_size = tuple(heatmap_size)
        self.sigma = sigma
        self.other_peak = other_peak
        self.use_udp = use_udp
        self.unbiased = unbiased
        self.blur_kernel_size = blur_kernel_size
        self.with_target_heatmaps = with_target_heatmaps

        # the target-person part must be bit-identical to mmpose's own codecs, so it is
        # delegated to them instead of being re-derived here
        if use_udp:
            self._target_codec = UDPHeatmap(
                input_size=input_size,
                heatmap_size=heatmap_size,
                heatmap_type='gaussian',
                sigma=sigma,
                blur_kernel_size=blur_kernel_size,
            )
        else:
            target_codec = LegacyMSRAHeatmap if legacy_decode else MSRAHeatmap
            self._target_codec = target_codec(
                input_size=input_size,
                heatmap_size=heatmap_size,
                sigma=sigma,
                unbiased=unbiased,
                blur_kernel_size=blur_kernel_size,
            )
        self.scale_factor = self._target_codec.scale_factor

        if not with_target_heatmaps:
            # instance attributes shadow the class tables, so GenerateTarget merges only
            # the items this codec really emits with those of the other encoders
            self.field_mapping_table = dict(multi_heatmaps='multi_heatmaps')
            self.label_mapping_table = dict(
                multi_keypoint_weights='multi_keypoint_weights',
                keypoint_coords='keypoint_coords',
            )

    def _gaussians(
        self, keypoints: np.ndarray, keypoints_visible: np.ndarray
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Unit-peak Gaussians of several people, max-merged, with mmpose's generator
        matching the target codec.

        Args:
            keypoints (np.ndarray): Keypoints in input-crop pixels, shape (N, K, 2).
            keypoints_visible (np.ndarray): Visibility in shape (N, K).

        Returns:
            tuple:
            - heatmaps (np.ndarray): Heatmaps in shape (K, H, W).
            - weights (np.ndarray): Per-person weights in shape (N, K); 0 for unlabelled
              joints and for joints whose Gaussian misses the heatmap.
        """
        if self.use_udp:
            generate = generate_udp_gaussian_heatmaps
        elif self.unbiased:
            generate = generate_unbiased_gaussian_heatmaps
        else:
            generate = generate_gaussian_heatmaps
        return generate(
            heatmap_size=self.heatmap_size,
            keypoints=keypoints / self.scale_factor,
            keypoints_visible=keypoints_visible,
            sigma=self.sigma,
        )

    @staticmethod
    def _check_pair(name: str, keypoints: np.ndarray, vis_name: str, visible: np.ndarray) -> None:
        """Raise a ValueError naming the key when a keypoint / visibility pair is not
        (N, K, D>=2) / (N, K)."""
        if keypoints.ndim != 3 or keypoints.shape[2] < 2:
            raise ValueError(
                f'DAGHeatmap: `{name}` must have shape (N, K, 2), got {keypoints.shape}'
            )
        if visible.shape != keypoints.shape[:2]:
            raise ValueError(
                f'DAGHeatmap: `{vis_name}` must have shape {keypoints.shape[:2]} to match '
                f'`{name}` {keypoints.shape}, got {visible.shape}'
            )

    def encode(
        self,
        keypoints: np.ndarray,
        keypoints_visible: Optional[np.ndarray] = None,
        other_keypoints: Optional[np.ndarray] = None,
        other_keypoints_visible: Optional[np.ndarray] = None,
    ) -> dict:
        """Encode the target person and the other people of the crop.

        Coordinates are input-crop pixels (after ``TopdownAffine``).

        Args:
            keypoints (np.ndarray): Target keypoints in shape (1, K, D), D >= 2; only
                (x, y) is used.
            keypoints_visible (np.ndarray, optional): Target visibility in shape (1, K).
                ``None`` means all visible.
            other_keypoints (np.ndarray, optional): Keypoints of the other people in
                shape (M, K, D), e.g. from ``GetOtherInstances``. ``None`` or M = 0 means
                no other people.
            other_keypoints_visible (np.ndarray, optional): Their visibility in shape
                (M, K). ``None`` with ``other_keypoints`` given means all visible.

        Returns:
            dict: ``heatmaps`` (K, H, W) and ``keypoint_weights`` (1, K) (only with
            ``with_target_heatmaps``), ``multi_heatmaps`` (K, H, W),
            ``multi_keypoint_weights`` (1, K) and ``keypoint_coords`` (1, K, 2), all
            float32.
        """
        keypoints = np.asarray(keypoints)
        if keypoints.ndim != 3 or keypoints.shape[0] != 1:
            raise ValueError(
                'DAGHeatmap encodes one target instance: `keypoints` must have shape '
                f'(1, K, 2), got {keypoints.shape}'
            )
        if keypoints_visible is None:
            keypoints_visible = np.ones(keypoints.shape[:2], dtype=np.float32)
        keypoints_visible = np.asarray(keypoints_visible)
        self._check_pair('keypoints', keypoints, 'keypoints_visible', keypoints_visible)
        num_keypoints = keypoints.shape[1]

        other_keypoints, other_keypoints_visible = other_people(
            other_keypoints, other_keypoints_visible, num_keypoints, 'DAGHeatmap'
        )
        self._check_pair(
            'other_keypoints',
            other_keypoints,
            'other_keypoints_visible',
            other_keypoints_visible,
        )
        if other_keypoints.shape[1] != num_keypoints:
            raise ValueError(
                f'DAGHeatmap: `other_keypoints` {other_keypoints.shape} must have the same '
                f'number of keypoints as `keypoints` {keypoints.shape}'
            )
        # a NaN joint would become a NaN coordinate target, and a NaN loss
        check_finite_keypoints(keypoints[..., :2], keypoints_visible, 'DAGHeatmap', 'the target')
        check_finite_keypoints(
            other_keypoints[..., :2], other_keypoints_visible, 'DAGHeatmap', 'the other people'
        )

        target = self._target_codec.encode(keypoints[..., :2], keypoints_visible)
        heatmaps = target['heatmaps']
        keypoint_weights = target['keypoint_weights']

        multi_heatmaps = heatmaps.copy()
        multi_keypoint_weights = np.asarray(keypoint_weights, dtype=np.float32).copy()
        if other_keypoints.shape[0] > 0:
            other_heatmaps, other_weights = self._gaussians(
                other_keypoints[..., :2], other_keypoints_visible
            )
            # generators merge people by maximum and p * max(a, b) == max(p * a, p * b),
            # so scaling the merged unit-peak maps equals merging peak-p Gaussians
            np.maximum(multi_heatmaps, self.other_peak * other_heatmaps, out=multi_heatmaps)
            multi_keypoint_weights = np.maximum(
                multi_keypoint_weights, other_weights.max(axis=0, keepdims=True)
            ).astype(np.float32)

        w, h = self.input_size
        keypoint_coords = (keypoints[..., :2] * np.array([2.0 / w, 2.0 / h]) - 1.0).astype(
            np.float32
        )

        encoded = dict(
            multi_heatmaps=multi_heatmaps.astype(np.float32, copy=False),
            multi_keypoint_weights=multi_keypoint_weights,
            keypoint_coords=keypoint_coords,
        )
        if self.with_target_heatmaps:
            encoded['heatmaps'] = heatmaps
            encoded['keypoint_weights'] = keypoint_weights
        return encoded

    def decode(self, encoded: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Decode target heatmaps exactly like ``MSRAHeatmap`` (``UDPHeatmap`` when
        ``use_udp=True``, ``LegacyMSRAHeatmap`` when ``legacy_decode=True``).

        Args:
            encoded (np.ndarray): Target heatmaps in shape (K, H, W).

        Returns:
            tuple:
            - keypoints (np.ndarray): Keypoints in input-crop pixels, shape (1, K, 2).
            - scores (np.ndarray): Heatmap maxima in shape (1, K).
        """
        if np.ndim(encoded) != 3:
            raise ValueError(
                f'DAGHeatmap.decode expects heatmaps of shape (K, H, W), got {np.shape(encoded)}'
            )
        return self._target_codec.decode(encoded)
