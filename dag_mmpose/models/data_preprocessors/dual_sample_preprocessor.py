# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Data preprocessing of a crop stacked with its occluded twin."""

from typing import List, Optional, Sequence, Union

import torch
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.registry import MODELS


@MODELS.register_module()
class DualSampleDataPreprocessor(PoseDataPreprocessor):
    """``PoseDataPreprocessor`` for inputs that stack a crop and its occluded twin.

    ``PackDualPoseInputs`` packs ``cat[crop, twin]`` (2C, H, W). Each half gets exactly what
    ``PoseDataPreprocessor`` does to a plain image (colour conversion, normalisation,
    padding), then the halves are stacked again: (B, 2C, H, W), crop first. Plain inputs of
    C channels (validation, test, inference) are preprocessed as by ``PoseDataPreprocessor``.
    mmengine's ``ImgDataPreprocessor`` alone would colour-convert a 6-channel input by
    keeping channels 2, 1, 0 only, silently dropping the twin.

    Args:
        image_channels (int): C, the channels of one image. Defaults to 3.
        mean, std, pad_size_divisor, pad_value, bgr_to_rgb, rgb_to_bgr, non_blocking:
            As ``PoseDataPreprocessor``, applied to each image.
        batch_augments (list[dict], optional): Not supported (``None`` only): a random batch
            augmentation would draw different geometry for a crop and its twin.
    """

    def __init__(
        self,
        image_channels: int = 3,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        pad_size_divisor: int = 1,
        pad_value: Union[float, int] = 0,
        bgr_to_rgb: bool = False,
        rgb_to_bgr: bool = False,
        non_blocking: Optional[bool] = False,
        batch_augments: Optional[List[dict]] = None,
    ) -> None:
        if batch_augments is not None:
            raise ValueError(
                'DualSampleDataPreprocessor does not take batch_augments: they would draw '
                'different geometry for a crop and its twin, whose labels must be shared'
            )
        if mean is not None and len(mean) not in (1, image_channels):
            raise ValueError(f'mean has {len(mean)} values, the images {image_channels} channels')
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            bgr_to_rgb=bgr_to_rgb,
            rgb_to_bgr=rgb_to_bgr,
            non_blocking=non_blocking,
        )
        self.image_channels = int(image_channels)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Preprocess a batch of plain or stacked inputs.

        Args:
            data (dict): ``inputs`` (a list of (C, H, W) or (2C, H, W) tensors, or a batch
                tensor) and ``data_samples``.
            training (bool): Whether this is a training batch.

        Returns:
            dict: ``inputs`` (B, C, H, W) or (B, 2C, H, W) and ``data_samples``.
        """
        inputs = data['inputs']
        stacked = isinstance(inputs, torch.Tensor)
        channels = {int(x.shape[-3]) for x in (inputs if not stacked else [inputs[0]])}
        c = self.image_channels
        if channels == {c}:
            return super().forward(data, training)
        if channels != {2 * c}:
            raise ValueError(
                f'DualSampleDataPreprocessor: inputs of {sorted(channels)} channels; expected '
                f'{c} (one image) or {2 * c} (a crop and its twin, PackDualPoseInputs)'
            )
        if stacked:
            clean, twin = inputs[:, :c], inputs[:, c:]
        else:
            clean, twin = [x[:c] for x in inputs], [x[c:] for x in inputs]
        clean = super().forward(dict(data, inputs=clean), training)
        twin = super().forward(dict(inputs=twin, data_samples=clean['data_samples']), training)
        return dict(
            inputs=torch.cat([clean['inputs'], twin['inputs']], dim=1),
            data_samples=clean['data_samples'],
        )
