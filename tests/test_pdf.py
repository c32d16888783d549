"""PDF drawing of the pack: the monthly trend chart."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from PIL import Image
from support import monthly_with_gap

from hotspots.errors import NoDataError, ParameterError
from hotspots.pdf import monthly_chart_png

# --------------------------------------------------------------------------------------------
# Monthly chart
# --------------------------------------------------------------------------------------------


def test_monthly_chart_is_a_png_and_refuses_bad_months():
    img = Image.open(io.BytesIO(monthly_chart_png(monthly_with_gap(), dpi=100)))
    assert img.size == (1000, 360)
    with pytest.raises(ParameterError, match="YYYY-MM"):
        monthly_chart_png(pd.DataFrame({"month": ["2025/01"], "incidents": [1]}))
    with pytest.raises(NoDataError):
        monthly_chart_png(pd.DataFrame({"month": [], "incidents": []}))

