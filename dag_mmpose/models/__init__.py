# Copyright (c) dag_mmpose contributors. All rights reserved.
from . import backbones, data_preprocessors, distillers, heads, losses, necks, utils  # noqa: F401
