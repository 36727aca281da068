# Copyright (c) dag_mmpose contributors. All rights reserved.
"""The heatmap decoding of the original HRNet / SimpleBaseline code, which DAG's release kept."""

from typing import Tuple

import numpy as np
from mmpose.codecs import MSRAHeatmap
from mmpose.registry import KEYPOINT_CODECS


def legacy_refine(heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Argmax and quarter offset of (K, H, W) heatmaps as the original code's
    ``get_final_preds`` computes them, in heatmap pixels.

    - a joint whose maximum is <= 0 lies at (0, 0) (mmpose: -1);
    - the quarter offset towards the higher neighbour applies to both axes only when the
      maximum is inside on both, ``1 < x < W - 1`` and ``1 < y < H - 1`` (mmpose decides
      per axis), and ``sign(0) = 0`` leaves a tie where it is.

    Args:
        heatmaps (np.ndarray): Heatmaps in shape (K, H, W).

    Returns:
        tuple: locations (K, 2) float32 ``(x, y)`` and the maxima (K,).
    """
    num, height, width = heatmaps.shape
    flat = heatmaps.reshape(num, -1)
    index = np.argmax(flat, axis=1)
    scores = np.amax(flat, axis=1)
    locs = np.stack([index % width, index // width], axis=-1).astype(np.float32)
    locs *= (scores > 0.0)[:, None].astype(np.float32)
    for k in range(num):
        x, y = int(locs[k, 0]), int(locs[k, 1])
        if 1 < x < width - 1 and 1 < y < height - 1:
            diff = np.array(
                [
                    heatmaps[k, y, x + 1] - heatmaps[k, y, x - 1],
                    heatmaps[k, y + 1, x] - heatmaps[k, y - 1, x],
                ]
            )
            locs[k] += np.sign(diff) * 0.25
    return locs, scores


@KEYPOINT_CODECS.register_module()
class LegacyMSRAHeatmap(MSRAHeatmap):
    """:class:`~mmpose.codecs.MSRAHeatmap` with the decoding of the original HRNet /
    SimpleBaseline code (Xiao et al., ``get_final_preds`` with ``POST_PROCESS``), which the
    authors' DAG release uses for its initial pose.

    Encoding is mmpose's. Decoding differs from mmpose's ``refine_keypoints`` in two
    places (:func:`legacy_refine`): a joint without a positive response is put at heatmap
    pixel (0, 0), not -1, and the quarter offset is applied on both axes only when the
    maximum is inside on both (mmpose decides per axis). Interior joints with a positive
    maximum decode identically. ``unbiased=True`` (DARK) is refused: the original code has
    no DARK.

    Args:
        input_size (Tuple[int, int]): Input image size in [w, h].
        heatmap_size (Tuple[int, int]): Heatmap size in [W, H].
        sigma (float): Sigma of the Gaussians, in heatmap pixels.

    Example:
        >>> import numpy as np
        >>> codec = LegacyMSRAHeatmap(input_size=(8, 8), heatmap_size=(4, 4), sigma=1.)
        >>> heatmaps = np.zeros((1, 4, 4), dtype=np.float32)
        >>> heatmaps[0, 1, 2], heatmaps[0, 1, 3] = 1.0, 0.5
        >>> codec.decode(heatmaps)[0]  # mmpose's MSRAHeatmap: [[[4.5, 2.]]] (x refined)
        array([[[4., 2.]]], dtype=float32)
    """

    def __init__(self, input_size, heatmap_size, sigma, **kwargs) -> None:
        if kwargs.get('unbiased', False):
            raise ValueError(
                'LegacyMSRAHeatmap decodes as the original HRNet code, which has no DARK; '
                "use mmpose's MSRAHeatmap(unbiased=True) for DARK"
            )
        super().__init__(input_size, heatmap_size, sigma, **kwargs)

    def decode(self, encoded: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Decode (K, H, W) heatmaps: keypoints (1, K, 2) in input pixels, scores (1, K)."""
        if np.ndim(encoded) != 3:
            raise ValueError(
                f'LegacyMSRAHeatmap decodes heatmaps of shape (K, H, W), got {np.shape(encoded)}'
            )
        locs, scores = legacy_refine(np.asarray(encoded))
        return (locs * self.scale_factor)[None].astype(np.float32), scores[None]
