# Copyright (c) dag_mmpose contributors. All rights reserved.
from .adam import ADAM
from .cfa import CFANeck

__all__ = ['ADAM', 'CFANeck']
