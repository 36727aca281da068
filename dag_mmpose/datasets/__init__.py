# Copyright (c) dag_mmpose contributors. All rights reserved.
from . import transforms  # noqa: F401
