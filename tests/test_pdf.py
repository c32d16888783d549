"""PDF drawing of the pack: the monthly trend chart."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pypdf import PdfReader

from hotspots.errors import NoDataError, ParameterError
from hotspots.pdf import monthly_chart_png

CREATED = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Monthly chart
# --------------------------------------------------------------------------------------------


def small_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (400, 280), (200, 220, 240)).save(buf, format="PNG")
    return buf.getvalue()


def monthly_with_gap() -> pd.DataFrame:
    months = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 4)]
    counts = [float(m[5:]) * 10 if (m.startswith("2025") or m <= "2024-04") else np.nan
              for m in months]
    return pd.DataFrame({"month": months, "incidents": counts})


def pdf_text(path: Path) -> list[str]:
    return [p.extract_text() for p in PdfReader(path).pages]


def test_monthly_chart_is_a_png_and_refuses_bad_months():
    img = Image.open(io.BytesIO(monthly_chart_png(monthly_with_gap(), dpi=100)))
    assert img.size == (1000, 360)
    with pytest.raises(ParameterError, match="YYYY-MM"):
        monthly_chart_png(pd.DataFrame({"month": ["2025/01"], "incidents": [1]}))
    with pytest.raises(NoDataError):
        monthly_chart_png(pd.DataFrame({"month": [], "incidents": []}))

