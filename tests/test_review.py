"""The tasking review: the weighted displacement quotient on hand-made counts and areas."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from hotspots.errors import NoDataError, ParameterError
from hotspots.review import review_areas, tasking_review, weighted_displacement


def test_wdq_of_a_hand_worked_case_is_bowers_and_johnsons():
    # R 100 -> 50, D 40 -> 30, C 1000 -> 1000: S = 0.05 - 0.10 = -0.05, B = 0.03 - 0.04 = -0.01.
    m = weighted_displacement(r_before=100, r_after=50, d_before=40, d_after=30,
                              c_before=1000, c_after=1000)
    assert m["success"] == pytest.approx(-0.05)
    assert m["buffer_measure"] == pytest.approx(-0.01)
    assert m["wdq"] == pytest.approx(0.2)
    assert m["net_effect"] == pytest.approx(60.0)  # 50 fewer in R, 10 fewer in D
    assert m["odds_ratio"] == pytest.approx(2.0)
    assert m["or_low"] > 1 and m["beyond_chance"]
    assert "diffusion of benefit" in m["reading"] and "100 → 50" in m["reading"]


@pytest.mark.parametrize(("d_after", "word", "sign"), [
    (60, "displacement smaller than the fall", -1),   # B = +0.02, S = -0.05: WDQ -0.4
    (120, "displacement larger than the fall", -1),   # B = +0.08: WDQ -1.6
    (40, "no displacement or diffusion", 0),
])
def test_wdq_reads_displacement_when_the_buffer_rises(d_after, word, sign):
    m = weighted_displacement(r_before=100, r_after=50, d_before=40, d_after=d_after,
                              c_before=1000, c_after=1000)
    assert np.sign(m["wdq"]) == sign
    assert word in m["verdict"]


def test_wdq_is_undefined_without_a_fall_relative_to_the_comparison_area():
    # R doubles with C: no success, so nothing to displace.
    m = weighted_displacement(r_before=10, r_after=20, d_before=5, d_after=2,
                              c_before=100, c_after=200)
    assert m["success"] == 0 and math.isnan(m["wdq"])
    assert "WDQ not defined" in m["verdict"]


def test_small_counts_are_read_as_counts():
    m = weighted_displacement(r_before=3, r_after=1, d_before=2, d_after=1, c_before=50,
                              c_after=50)
    assert m["small"] and "read the counts" in m["chance"]


def test_bad_counts_are_refused():
    with pytest.raises(ParameterError, match="comparison area"):
        weighted_displacement(r_before=1, r_after=1, d_before=1, d_after=1, c_before=0,
                              c_after=3)
    with pytest.raises(ParameterError, match="r_before"):
        weighted_displacement(r_before=-1, r_after=1, d_before=1, d_after=1, c_before=1,
                              c_after=3)


def _points(n: int, x0: float, y0: float, w: float, month: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": x0 + rng.uniform(0, w, n), "y": y0 + rng.uniform(0, w, n),
                         "month": month, "has_location": True})


def test_review_counts_each_incident_in_one_of_area_buffer_and_comparison_area():
    study = box(0, 0, 10_000, 10_000)
    target = gpd.GeoDataFrame({"rank": [1], "name": ["High Street"]},
                              geometry=[box(4000, 4000, 5000, 5000)], crs=27700)
    # Before: 30 in the area, 10 in the 500 m ring, 100 far away; after: 10, 10, 100.
    before = pd.concat([_points(30, 4100, 4100, 800, "2025-01", 1),
                        _points(10, 3600, 3600, 300, "2025-01", 2),
                        _points(100, 7000, 7000, 2000, "2025-01", 3)])
    after = pd.concat([_points(10, 4100, 4100, 800, "2025-02", 4),
                       _points(10, 3600, 3600, 300, "2025-02", 5),
                       _points(100, 7000, 7000, 2000, "2025-02", 6)])
    review = review_areas(target, before=before, after=after, study_area=study,
                          before_months=("2025-01", "2025-01"),
                          after_months=("2025-02", "2025-02"), buffer_m=500)
    row = review.table.iloc[0]
    assert (row["r_before"], row["r_after"], row["d_before"], row["d_after"],
            row["c_before"], row["c_after"]) == (30, 10, 10, 10, 100, 100)
    assert row["wdq"] == pytest.approx(0.0)
    assert review.table.iloc[-1]["name"] == "All tasked areas together"
    assert "Bowers & Johnson (2003)" in review.method_words()
    assert "regression to the mean" in review.note


def test_review_of_a_period_with_a_missing_month_is_refused():
    study = box(0, 0, 10_000, 10_000)
    inc = _points(50, 0, 0, 10_000, "2025-02", 1)
    with pytest.raises(NoDataError, match="no data for Jan 2025"):
        tasking_review(inc, start="2025-02", end="2025-02", months_held=["2025-02"],
                       study_area=study)
