# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Packing a crop together with its occluded twin."""

import torch
from mmpose.datasets.transforms import PackPoseInputs
from mmpose.datasets.transforms.formatting import image_to_tensor
from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackDualPoseInputs(PackPoseInputs):
    """``PackPoseInputs`` for dual-sample training: the crop and its occluded twin (from
    ``OccludedTwin``) are packed into one input of twice the channels.

    ``inputs`` is ``cat[crop, twin]`` along the channel axis, (2C, H, W), both in the
    pipeline's colour order (BGR as ``LoadImage`` reads); the data samples are
    ``PackPoseInputs``' (the clean crop's labels, which the twin shares). One tensor keeps
    mmengine's collate, samplers and DDP unchanged; ``DualSampleDataPreprocessor`` normalises
    and colour-converts each half separately and ``DualSampleEstimator`` splits them.

    Required Keys:

        - img
        - ``twin_key``
        - what ``PackPoseInputs`` packs

    Args:
        twin_key (str): Where ``OccludedTwin`` put the twin. Defaults to ``'img_twin'``.
        **kwargs: ``PackPoseInputs``' arguments (``meta_keys``, ``pack_transformed``).
    """

    def __init__(self, twin_key: str = 'img_twin', **kwargs) -> None:
        super().__init__(**kwargs)
        self.twin_key = twin_key

    def transform(self, results: dict) -> dict:
        """Pack the crop, its twin and the labels.

        Args:
            results (dict): Result dict from the data pipeline.

        Returns:
            dict: ``inputs`` (2C, H, W) and ``data_samples``.
        """
        twin = results.get(self.twin_key, None)
        if twin is None:
            raise KeyError(
                f'PackDualPoseInputs: the sample has no {self.twin_key!r}; put OccludedTwin '
                '(after TopdownAffine) in the train pipeline, or pack test pipelines with '
                'PackPoseInputs'
            )
        img = results['img']
        if twin.shape != img.shape:
            raise ValueError(
                f'PackDualPoseInputs: the twin {self.twin_key!r} has shape {twin.shape}, the '
                f'crop {img.shape}'
            )
        packed = super().transform(results)
        packed['inputs'] = torch.cat([packed['inputs'], image_to_tensor(twin)], dim=0)
        return packed

    def __repr__(self) -> str:
        """print the basic information of the transform.

        Returns:
            str: Formatted string.
        """
        return (
            f'{self.__class__.__name__}(twin_key={self.twin_key!r}, meta_keys={self.meta_keys}, '
            f'pack_transformed={self.pack_transformed})'
        )
