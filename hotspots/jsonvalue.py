"""Plain JSON values from numpy, pandas and shapely ones, for every ``--json`` and export."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry


def json_value(v: Any) -> Any:
    """Plain JSON value: numpy scalars to Python, NaN/NA to None, timestamps to ISO 8601."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, Mapping):
        return {str(k): json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [json_value(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, (pd.Timestamp, datetime)):
        return v.isoformat()
    if isinstance(v, BaseGeometry):
        return v.wkt
    if isinstance(v, str):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)
