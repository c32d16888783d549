"""hotspots.months: YYYY-MM checks, indices, ranges, shifts, previous periods, gaps and runs."""

from __future__ import annotations

import numpy as np
import pytest

from hotspots.errors import ParameterError
from hotspots.months import (
    check_month,
    is_month,
    missing_months,
    month_index,
    month_index_of,
    month_name,
    month_range,
    month_runs,
    months_between,
    previous_period,
    shift_month,
    split_month,
)


def test_month_numbers_count_calendar_months_across_years():
    assert month_index("2025-01") - month_index("2024-12") == 1
    assert month_index("2025-04") - month_index("2024-04") == 12
    assert month_name(month_index("2024-11")) == "2024-11"


def test_index_and_name_are_inverse_at_the_year_boundary():
    assert month_index("2000-01") == 24000
    assert month_index("1999-12") == 23999
    assert month_name(24000) == "2000-01"
    assert month_name(23999) == "1999-12"
    assert split_month("2024-12") == (2024, 12)
    assert split_month("2025-01") == (2025, 1)
    years, months = np.array([2024, 2025]), np.array([12, 1])
    assert month_index_of(years, months).tolist() == [month_index("2024-12"),
                                                      month_index("2025-01")]


def test_range_is_inclusive_and_crosses_years():
    assert month_range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert month_range("2025-03", "2025-03") == ["2025-03"]
    assert month_range("2025-03", "2025-02") == []
    assert len(month_range("2023-01", "2025-12")) == 36


def test_shift_and_between():
    assert shift_month("2024-12", 1) == "2025-01"
    assert shift_month("2025-01", -1) == "2024-12"
    assert shift_month("2025-06", -18) == "2023-12"
    assert shift_month("2025-06", 0) == "2025-06"
    assert months_between("2024-12", "2025-01") == 1
    assert months_between("2025-03", "2025-03") == 0
    assert months_between("2025-03", "2024-03") == -12


def test_previous_period_of_equal_length():
    assert previous_period("2025-10", "2025-12") == ("2025-07", "2025-09")
    assert previous_period("2025-01", "2025-02") == ("2024-11", "2024-12")
    assert previous_period("2025-01", "2025-01") == ("2024-12", "2024-12")
    assert previous_period("2024-01", "2024-12") == ("2023-01", "2023-12")


def test_missing_months_and_runs():
    held = ["2024-03", "2024-04", "2025-01"]
    assert missing_months("2024-03", "2025-01", held) == month_range("2024-05", "2024-12")
    assert missing_months("2024-03", "2024-04", held) == []
    assert missing_months("2024-12", "2024-12", []) == ["2024-12"]
    assert month_runs(["2024-11", "2024-12", "2025-01", "2025-03"]) == [
        ["2024-11", "2024-12", "2025-01"], ["2025-03"]]
    assert month_runs(["2025-03"]) == [["2025-03"]]
    assert month_runs([]) == []


@pytest.mark.parametrize("bad", ["2025-13", "2025-00", "2025-1", "25-01", "2025/01", "",
                                 " 2025-01", "2025-01-01", None, 202501])
def test_bad_months_raise_one_line_parameter_errors(bad):
    assert not is_month(bad)
    for call in (lambda: check_month(bad, "start"), lambda: month_index(bad),
                 lambda: month_range(bad, "2025-01"), lambda: shift_month(bad, 1),
                 lambda: previous_period("2025-01", bad)):
        with pytest.raises(ParameterError) as info:
            call()
        message = str(info.value)
        assert "\n" not in message
        assert "is not a month in the form YYYY-MM" in message
    with pytest.raises(ParameterError, match=r"^start .* is not a month in the form YYYY-MM$"):
        check_month(bad, "start")


def test_check_month_returns_the_month():
    assert check_month("2025-01") == "2025-01"
    assert check_month("1999-12", "end") == "1999-12"
    assert is_month("2025-12")
