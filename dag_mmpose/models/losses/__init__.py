# Copyright (c) dag_mmpose contributors. All rights reserved.
from .dag_loss import DAGLoss

__all__ = ['DAGLoss']
