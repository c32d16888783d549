"""Prospective KDE: age weights, the time window, gaps in the months, and the exact surface."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import NoDataError, ParameterError
from hotspots.models.prospective import (
    age_weights,
    incident_ages,
    prospective_density,
)
from hotspots.spatial.grid import Grid


def frame(rows: list[tuple[float, float, str]], precision: str = "month") -> pd.DataFrame:
    """Incident frame from (x, y, month) rows; occurred is the month's first day."""
    x, y, m = zip(*rows, strict=True)
    return pd.DataFrame({
        "x": np.array(x, dtype=float), "y": np.array(y, dtype=float),
        "month": pd.array(m, dtype="string"),
        "occurred": pd.to_datetime([f"{v}-01" for v in m]),
        "date_precision": pd.array([precision] * len(m), dtype="string"),
        "has_location": np.ones(len(m), dtype=bool),
    })


def quartic(d: float, h: float) -> float:
    return 3 / (math.pi * h * h) * (1 - (d / h) ** 2) ** 2 if d < h else 0.0


def test_age_weights_are_reciprocal_of_one_plus_age():
    np.testing.assert_allclose(age_weights([0, 1, 2, 9]), [1, 1 / 2, 1 / 3, 1 / 10])


def test_negative_age_is_refused():
    with pytest.raises(ParameterError, match="age 0"):
        age_weights([0, -1])


def test_ages_in_months_count_back_from_as_of():
    inc = frame([(0, 0, "2025-03"), (0, 0, "2025-01"), (0, 0, "2024-12"), (0, 0, "2025-04")])
    np.testing.assert_array_equal(incident_ages(inc, "2025-03"), [0, 2, 3, -1])


def test_ages_in_weeks_count_seven_day_steps_back_from_the_month_end():
    inc = frame([(0, 0, "2025-03")] * 3, precision="day")
    inc["occurred"] = pd.to_datetime(["2025-03-31", "2025-03-25", "2025-03-24"])
    np.testing.assert_array_equal(incident_ages(inc, "2025-03", unit="week"), [0, 0, 1])


def test_week_ages_refuse_month_precision_dates():
    with pytest.raises(ParameterError, match="unit='month'"):
        incident_ages(frame([(0, 0, "2025-03")]), "2025-03", unit="week")


def test_surface_is_the_age_weighted_sum_of_quartic_kernels():
    grid = Grid(0.0, 0.0, 100.0, 10, 10)
    # Cell (row 4, col 4) has its centre at (450, 450).
    inc = frame([(450, 450, "2025-03"), (550, 450, "2025-02"), (450, 250, "2025-01")])
    s = prospective_density(inc, as_of="2025-03", window=3, bandwidth=300, grid=grid)
    h = 300.0
    want = 1e6 * (1 * quartic(0, h) + quartic(100, h) / 2 + quartic(200, h) / 3)
    assert s.values[4, 4] == pytest.approx(want, rel=1e-12)
    assert s.total_weight == pytest.approx(1 + 1 / 2 + 1 / 3)


def test_incidents_outside_the_window_do_not_count():
    grid = Grid(0.0, 0.0, 100.0, 10, 10)
    base = [(450, 450, "2025-03")]
    months = ["2025-01", "2025-02", "2025-03", "2025-04"]
    s0 = prospective_density(frame(base), as_of="2025-03", window=2, bandwidth=300, grid=grid,
                             months=months)
    # Age 2 (too old for a 2-month window) and age -1 (after as_of) add nothing.
    more = base + [(450, 450, "2025-01"), (450, 450, "2025-04")]
    s1 = prospective_density(frame(more), as_of="2025-03", window=2, bandwidth=300, grid=grid,
                             months=months)
    np.testing.assert_array_equal(s0.values, s1.values)
    assert s1.params()["incidents_by_age"] == [1, 0]


def test_a_window_month_missing_from_the_data_is_an_error_naming_it():
    inc = frame([(450, 450, "2025-01"), (450, 450, "2024-11")])
    with pytest.raises(NoDataError, match="2024-12"):
        prospective_density(inc, as_of="2025-01", window=3, bandwidth=300)


def test_a_month_the_source_covers_but_with_no_incidents_is_a_zero_not_a_gap():
    inc = frame([(450, 450, "2025-01"), (450, 450, "2024-11")])
    s = prospective_density(inc, as_of="2025-01", window=3, bandwidth=300,
                            months=["2024-11", "2024-12", "2025-01"])
    assert s.params()["incidents_by_age"] == [1, 0, 1]
    assert s.params()["window_months"] == ["2024-11", "2024-12", "2025-01"]


def test_params_state_the_weighting_and_window():
    inc = frame([(450, 450, "2025-03"), (460, 450, "2025-02")])
    p = prospective_density(inc, as_of="2025-03", window=2, bandwidth=300).params()
    assert "1 / (1 + age)" in p["temporal_weighting"]
    assert (p["as_of"], p["window"], p["age_unit"]) == ("2025-03", 2, "month")
    assert p["weighted"] and p["bandwidth_m"] == 300


def test_input_frame_is_not_modified():
    inc = frame([(450, 450, "2025-03"), (460, 450, "2025-02")])
    before = inc.copy()
    prospective_density(inc, as_of="2025-03", window=2, bandwidth=300)
    pd.testing.assert_frame_equal(inc, before)


def test_nothing_in_the_window_is_a_one_line_error():
    inc = frame([(450, 450, "2025-03")])
    with pytest.raises(NoDataError, match="no mapped incidents"):
        prospective_density(inc, as_of="2025-05", window=2, bandwidth=300,
                            months=["2025-03", "2025-04", "2025-05"])
