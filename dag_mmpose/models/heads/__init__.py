# Copyright (c) dag_mmpose contributors. All rights reserved.
from .fgmh_gcn_head import FGMHGCNHead
from .igp_gcn_head import IGPGCNHead

__all__ = ['FGMHGCNHead', 'IGPGCNHead']
