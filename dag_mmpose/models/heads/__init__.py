# Copyright (c) dag_mmpose contributors. All rights reserved.
from .fgmh_gcn_head import FGMHGCNHead

__all__ = ['FGMHGCNHead']
