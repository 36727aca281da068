# Copyright (c) dag_mmpose contributors. All rights reserved.
"""Helpers for tests and benchmarks (not imported by ``import dag_mmpose``)."""

from .config_batch import (
    build_pipeline,
    crop_size,
    dataset_metainfo,
    pack_batch,
    size_entries,
    two_people_samples,
    type_name,
    write_keypoint_results,
)
from .models import DEMO_MODELS, build_demo_model, demo_config
from .refinement import mirror_exact_simcc_cfg, no_host_transfer, randomize_output_layer

__all__ = [
    'DEMO_MODELS',
    'build_demo_model',
    'demo_config',
    'build_pipeline',
    'crop_size',
    'dataset_metainfo',
    'mirror_exact_simcc_cfg',
    'no_host_transfer',
    'pack_batch',
    'randomize_output_layer',
    'size_entries',
    'two_people_samples',
    'type_name',
    'write_keypoint_results',
]
