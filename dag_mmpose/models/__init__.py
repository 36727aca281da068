# Copyright (c) dag_mmpose contributors. All rights reserved.
from . import heads, losses, necks, utils  # noqa: F401
