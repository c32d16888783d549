"""Knox near-repeat test: exact pair counts, planted and absent effects, units and limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.models import nearrepeat
from hotspots.models.nearrepeat import KnoxResult, distance_labels, knox_test, time_labels

X0, Y0 = 430_000.0, 260_000.0
DAY0 = pd.Timestamp("2025-01-01")


def dated(x, y, days, precision: str = "day") -> pd.DataFrame:
    occurred = DAY0 + pd.to_timedelta(np.asarray(days, dtype=float), unit="D")
    return pd.DataFrame({"x": np.asarray(x, float), "y": np.asarray(y, float),
                         "occurred": occurred, "date_precision": precision,
                         "has_location": True})


def random_pattern(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return dated(X0 + rng.uniform(0, 5000, n), Y0 + rng.uniform(0, 5000, n),
                 rng.integers(0, 365, n))


def planted_pattern() -> pd.DataFrame:
    """300 random burglaries plus, for 60 of them, a repeat within 50 m and 1-6 days later."""
    rng = np.random.default_rng(11)
    base = random_pattern(300, 12)
    src = base.iloc[:60]
    angle = rng.uniform(0, 2 * np.pi, 60)
    dist = rng.uniform(5, 50, 60)
    follow = dated(src["x"].to_numpy() + dist * np.cos(angle),
                   src["y"].to_numpy() + dist * np.sin(angle),
                   (src["occurred"] - DAY0).dt.days.to_numpy() + rng.integers(1, 7, 60))
    return pd.concat([base, follow], ignore_index=True)


DBANDS = (100, 200, 400, 800)
TBANDS = (7, 14, 21, 28)


def brute_force(frame: pd.DataFrame, dbands, tbands, unit="days") -> np.ndarray:
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    if unit == "days":
        t = frame["occurred"].to_numpy().astype("datetime64[D]").astype(np.int64)
    else:
        t = (frame["occurred"].dt.year * 12 + frame["occurred"].dt.month).to_numpy()
    out = np.zeros((len(dbands) + 1, len(tbands) + 1), dtype=np.int64)
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            d = np.hypot(x[i] - x[j], y[i] - y[j])
            dt = abs(int(t[i]) - int(t[j]))
            r = next((k for k, e in enumerate(dbands) if d <= e), len(dbands))
            c = next((k for k, e in enumerate(tbands) if dt <= e), len(tbands))
            out[r, c] += 1
    return out


def test_observed_table_equals_a_brute_force_count_of_every_pair():
    frame = random_pattern(80, 1)
    # Make a few exact repeats so the 0 m band is not empty.
    frame.loc[70:, ["x", "y"]] = frame.loc[:9, ["x", "y"]].to_numpy()
    res = knox_test(frame, distance_bands=(0, 250, 500, 1000), time_bands=(0, 10, 30),
                    time_unit="days", permutations=9)
    want = brute_force(frame, (0, 250, 500, 1000), (0, 10, 30))
    np.testing.assert_array_equal(res.observed.to_numpy(), want)
    assert res.observed.to_numpy().sum() == 80 * 79 // 2 == res.params["pairs_total"]
    assert list(res.observed.index) == ["same location", "0–250 m", "250–500 m",
                                        "500 m–1 km", "over 1 km"]
    assert list(res.observed.columns) == ["same day", "1–10 days", "11–30 days",
                                          "over 30 days"]


def test_planted_near_repeats_give_high_ratio_and_small_p_in_the_closest_cell():
    res = knox_test(planted_pattern(), distance_bands=DBANDS, time_bands=TBANDS,
                    time_unit="days", permutations=999, seed=0)
    assert res.ratio.loc["0–100 m", "0–7 days"] > 3
    assert res.p_value.loc["0–100 m", "0–7 days"] <= 0.002
    # Far and late cells carry no planted pairs: no excess there.
    assert res.p_value.loc["400–800 m", "22–28 days"] > 0.05
    assert res.params["min_p_value"] == pytest.approx(0.001)


def test_random_pattern_shows_no_near_repeat_effect():
    res = knox_test(random_pattern(360, 5), distance_bands=DBANDS, time_bands=TBANDS,
                    time_unit="days", permutations=999, seed=0)
    assert res.p_value.loc["0–100 m", "0–7 days"] > 0.05
    within = res.p_value.to_numpy()[:-1, :-1]
    assert 0.25 < within.mean() < 0.75
    assert np.nanmax(np.abs(res.ratio.to_numpy()[:-1, :-1] - 1)) < 1.5


def test_expected_is_the_mean_of_permutations_and_rows_keep_their_totals():
    res = knox_test(planted_pattern(), distance_bands=DBANDS, time_bands=TBANDS,
                    time_unit="days", permutations=199)
    # Shuffling keeps the multiset of times, so each time band's total over all distances is
    # fixed; shuffling times keeps locations, so each distance band's total is fixed too.
    np.testing.assert_allclose(res.expected.sum(axis=0), res.observed.sum(axis=0))
    np.testing.assert_allclose(res.expected.sum(axis=1), res.observed.sum(axis=1))
    np.testing.assert_allclose(res.ratio, res.observed / res.expected)
    assert ((res.p_value > 0) & (res.p_value <= 1)).all().all()


def test_same_seed_gives_the_same_table_and_another_seed_differs():
    frame = planted_pattern()
    kw = dict(distance_bands=DBANDS, time_bands=TBANDS, time_unit="days", permutations=99)
    a, b, c = knox_test(frame, seed=4, **kw), knox_test(frame, seed=4, **kw), \
        knox_test(frame, seed=5, **kw)
    pd.testing.assert_frame_equal(a.expected, b.expected)
    pd.testing.assert_frame_equal(a.p_value, b.p_value)
    assert not a.expected.equals(c.expected)
    pd.testing.assert_frame_equal(a.observed, c.observed)
    assert a.params["seed"] == 4


def month_frame() -> pd.DataFrame:
    """police.uk-like: month dates, crimes snapped to a few map points, a gap in 2024."""
    rng = np.random.default_rng(3)
    points = np.column_stack([X0 + rng.uniform(0, 3000, 40), Y0 + rng.uniform(0, 3000, 40)])
    months = pd.to_datetime(["2024-03-01", "2024-04-01", "2025-01-01", "2025-02-01",
                             "2025-03-01"])
    pick = rng.integers(0, 40, 200)
    return pd.DataFrame({"x": points[pick, 0], "y": points[pick, 1],
                         "occurred": months[rng.integers(0, 5, 200)],
                         "date_precision": "month", "has_location": True})


def test_month_data_uses_month_bands_and_notes_snapping_and_the_gap():
    frame = month_frame()
    res = knox_test(frame, permutations=19)
    p = res.params
    assert p["time_unit"] == "months" and p["date_precision"] == "month"
    assert list(res.observed.columns) == ["same month", "1 month", "2 months", "3 months",
                                          "over 3 months"]
    assert res.observed.index[0] == "same location"
    np.testing.assert_array_equal(
        res.observed.to_numpy(),
        brute_force(frame, (0, 100, 200, 400, 800), (0, 1, 2, 3), unit="months"))
    assert any("over-represented" in note for note in p["notes"])
    assert p["months_without_incidents"] == "2024-05..2024-12"
    assert any("2024-05..2024-12" in note for note in p["notes"])


def test_day_bands_on_month_data_are_refused_with_a_clear_message():
    frame = month_frame()
    with pytest.raises(ParameterError, match="dated only to the month") as info:
        knox_test(frame, time_unit="days")
    assert "\n" not in str(info.value)
    # One month-dated row among day-dated ones is enough to refuse day bands.
    mixed = random_pattern(50, 2)
    mixed.loc[0, "date_precision"] = "month"
    with pytest.raises(ParameterError, match="1 of 50"):
        knox_test(mixed, time_bands=TBANDS, time_unit="days")


def test_time_bands_without_a_unit_are_refused():
    with pytest.raises(ParameterError, match="time_unit"):
        knox_test(random_pattern(30, 1), time_bands=TBANDS)


def test_minute_data_counts_calendar_days_between_dates():
    frame = dated([X0, X0 + 10], [Y0, Y0], [0, 0])
    frame["occurred"] = pd.to_datetime(["2025-03-01 23:50", "2025-03-02 00:10"])
    frame["date_precision"] = "minute"
    res = knox_test(frame, distance_bands=(100,), time_bands=(0, 1), permutations=9,
                    time_unit="days")
    assert res.observed.loc["0–100 m", "1 day"] == 1
    assert res.params["date_precision"] == "minute"


def test_rows_without_location_or_date_are_left_out_and_counted():
    frame = random_pattern(40, 8)
    frame.loc[0, "has_location"] = False
    frame.loc[1, "x"] = np.nan
    frame.loc[2, "occurred"] = pd.NaT
    res = knox_test(frame, time_unit="days", permutations=9)
    p = res.params
    assert (p["used"], p["unmapped"], p["undated"]) == (37, 2, 1)
    assert p["pairs_total"] == 37 * 36 // 2


def test_input_frame_is_not_modified():
    frame = planted_pattern()
    before = frame.copy(deep=True)
    knox_test(frame, time_unit="days", permutations=9)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(distance_bands=(100, 50)), "increasing"),
    (dict(distance_bands=(-10, 100)), "increasing"),
    (dict(distance_bands=(0,)), "ending above 0"),
    (dict(distance_bands="far"), "metres"),
    (dict(time_bands=(7, 3.5), time_unit="days"), "whole days"),
    (dict(time_bands=(7, 7), time_unit="days"), "increasing"),
    (dict(time_unit="weeks"), "time_unit"),
    (dict(permutations=0), "permutations"),
    (dict(permutations=9.5), "permutations"),
])
def test_bad_parameters_raise_one_line_parameter_errors(kwargs, fragment):
    with pytest.raises(ParameterError, match=fragment) as info:
        knox_test(random_pattern(30, 1), **kwargs)
    assert "\n" not in str(info.value)


def test_too_few_incidents_and_missing_columns_raise_clear_errors():
    with pytest.raises(NoDataError, match="at least two"):
        knox_test(random_pattern(1, 1))
    with pytest.raises(InputError, match="date_precision"):
        knox_test(random_pattern(10, 1).drop(columns="date_precision"))


def test_too_many_pairs_for_memory_are_refused(monkeypatch):
    monkeypatch.setattr(nearrepeat, "MAX_PAIRS", 50)
    with pytest.raises(ParameterError, match="pairs within 800 m") as info:
        knox_test(random_pattern(200, 1), time_unit="days")
    assert "\n" not in str(info.value)
    monkeypatch.setattr(nearrepeat, "MAX_PAIRS", 10**9)
    monkeypatch.setattr(nearrepeat, "MAX_WORK", 1000)
    with pytest.raises(ParameterError, match="fewer permutations"):
        knox_test(random_pattern(200, 1), time_unit="days")


def test_band_labels_read_naturally():
    assert distance_labels([0, 100, 1000, 2000]) == ["same location", "0–100 m",
                                                     "100 m–1 km", "1–2 km", "over 2 km"]
    assert time_labels([7, 14], "days") == ["0–7 days", "8–14 days", "over 14 days"]
    assert time_labels([0, 1, 3], "months") == ["same month", "1 month", "2–3 months",
                                                "over 3 months"]


def test_long_frame_and_dict_are_json_ready():
    import json

    res = knox_test(planted_pattern(), time_unit="days", permutations=19)
    long = res.to_frame()
    assert len(long) == res.observed.size
    assert list(long.columns) == ["distance_band", "time_band", "observed", "expected",
                                  "ratio", "p_value"]
    row = long.iloc[res.observed.shape[1] + 1]
    assert row["observed"] == res.observed.iloc[1, 1]
    text = json.dumps(res.to_dict())
    assert '"cells"' in text and "NaN" not in text
    assert isinstance(res, KnoxResult)


# ------------------------------------------------------------------------ shipped data


def test_shipped_burglary_knox_table_is_complete_and_notes_police_uk_limits(shipped_settings,
                                                                            store):
    from hotspots.query import load_incidents

    inc = load_incidents(store, types=["Burglary"], settings=shipped_settings)
    res = knox_test(inc, permutations=99)
    p = res.params
    n = int(inc["has_location"].sum())
    assert p["used"] == n and p["time_unit"] == "months"
    assert res.observed.to_numpy().sum() == n * (n - 1) // 2 == p["pairs_total"]
    assert p["months_without_incidents"] == "2024-05..2024-12"
    assert any("snaps crimes" in note for note in p["notes"])
    np.testing.assert_allclose(res.expected.sum(axis=0), res.observed.sum(axis=0))
    with pytest.raises(ParameterError, match="dated only to the month"):
        knox_test(inc, time_unit="days")
