# Copyright (c) dag_mmpose contributors. All rights reserved.
"""What ``import dag_mmpose`` puts into mmpose's registries, and that the tests add nothing."""

from mmpose.registry import DATASETS, HOOKS, KEYPOINT_CODECS, METRICS, MODELS, TRANSFORMS

import dag_mmpose  # noqa: F401

EXPECTED = {
    'MODELS': {
        'ADAM',
        'CFANeck',
        'DAGLoss',
        'DualSampleDataPreprocessor',
        'DualSampleEstimator',
        'FGMHGCNHead',
        'HRNetWithStages',
        'IGPGCNHead',
    },
    'TRANSFORMS': {
        'GetOtherInstances',
        'InstancePaste',
        'LoadInitialPose',
        'MaskJoints',
        'OccludedTwin',
        'PackDualPoseInputs',
        'PartPaste',
    },
    'KEYPOINT_CODECS': {'DAGHeatmap', 'LegacyMSRAHeatmap'},
    'HOOKS': {'RefinementVisualizationHook'},
    'METRICS': {'OccludedKeypointMetric', 'OPECCocoMetric'},
    'DATASETS': {'OCPoseDataset'},
}
REGISTRIES = {
    'DATASETS': DATASETS,
    'MODELS': MODELS,
    'TRANSFORMS': TRANSFORMS,
    'KEYPOINT_CODECS': KEYPOINT_CODECS,
    'HOOKS': HOOKS,
    'METRICS': METRICS,
}


def _ours(registry) -> set:
    return {
        name
        for name, cls in registry.module_dict.items()
        if getattr(cls, '__module__', '').startswith(('dag_mmpose', 'tests'))
    }


def test_registered_modules():
    # run with the whole suite, this also proves that no test module registered a helper
    # class into mmpose's global registries at import time
    for name, registry in REGISTRIES.items():
        assert _ours(registry) == EXPECTED[name], name


def test_no_private_names():
    for name, registry in REGISTRIES.items():
        assert not [key for key in registry.module_dict if key.startswith('_')], name
