# Copyright (c) dag_mmpose contributors. All rights reserved.
__version__ = '0.1.0'

# Supported ranges of the OpenMMLab packages, checked when dag_mmpose is imported.
# (min inclusive, max exclusive)
MMPOSE_RANGE = ('1.3.0', '1.4.0')
MMCV_RANGE = ('2.0.1', '2.2.0')
MMENGINE_RANGE = ('0.10.0', '1.0.0')
