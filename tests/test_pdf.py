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



# --------------------------------------------------------------------------------------------
# Tables and text
# --------------------------------------------------------------------------------------------


def test_table_columns_fit_each_heading_word_and_number():
    from datetime import datetime

    from hotspots.pdf import column_widths, pack_document

    pdf = pack_document("OFFICIAL", "t", datetime(2025, 1, 1))
    pdf.add_page()
    frame = pd.DataFrame({"rank": [1, 10], "name": ["Rugby town centre: Regent Street", "x"],
                          "incidents": [1234, 6], "previous": [1000, 2], "change": [234, 4]})
    cols = [("rank", "Rank", 4, "int", "CENTER"), ("name", "Area (place: streets)", 58, "", "LEFT"),
            ("incidents", "Incidents", 8, "int", "RIGHT"),
            ("previous", "Previous", 8, "int", "RIGHT"), ("change", "Change", 7, "signed", "RIGHT")]
    widths = column_widths(pdf, frame, cols, 8, 273.0)
    assert sum(widths) == pytest.approx(273.0)
    pdf.set_font("DejaVu", "B", 8)
    for (_, heading, *_), w in zip(cols, widths, strict=True):
        for word in heading.split():
            assert pdf.get_string_width(word) + 2.4 < w, f"{word!r} would break in {w:.1f} mm"
    with pytest.raises(ParameterError, match="columns need"):
        column_widths(pdf, frame, cols, 8, 40.0)


def test_code_names_never_reach_the_reader():
    from hotspots.pdf import plain

    assert plain("Back-test (hotspots.models.evaluate) on this area") == \
        "Back-test on this area"
    assert "hotspots." not in plain("Reach: hotspots.spatial.roads.drive_times (network)")
    assert plain("Hotspots in Rugby") == "Hotspots in Rugby"
