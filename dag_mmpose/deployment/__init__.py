# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Export of dag_mmpose models as one graph (``tools/deployment/pytorch2onnx.py``)."""

from .export import PoseExportWrapper, export_inputs, export_onnx

__all__ = ['PoseExportWrapper', 'export_inputs', 'export_onnx']
