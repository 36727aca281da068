# Copyright (c) dag_mmpose contributors. All rights reserved.
from . import backbones, heads, losses, necks, utils  # noqa: F401
