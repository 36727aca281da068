# Copyright (c) dag_mmpose contributors. All rights reserved.
from .adam import ADAM

__all__ = ['ADAM']
