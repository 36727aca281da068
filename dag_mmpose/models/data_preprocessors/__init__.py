# Copyright (c) dag_mmpose contributors. All rights reserved.
from .dual_sample_preprocessor import DualSampleDataPreprocessor

__all__ = ['DualSampleDataPreprocessor']
