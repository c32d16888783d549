"""Emerging hot spots: Mann-Kendall, the 17 ArcGIS patterns, time steps and gaps, shipped data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from hotspots.errors import NoDataError, ParameterError
from hotspots.models.emerging import (
    PATTERNS,
    classify_patterns,
    emerging_hotspots,
    gi_star_space_time,
    mann_kendall,
)
from hotspots.models.gistar import default_cell, gi_star, grid_weights

T = 10




# ---------------------------------------------------------------------------- Mann-Kendall
def test_mann_kendall_matches_a_hand_computation_with_a_tie():
    mk = mann_kendall([1, 3, 2, 2, 5])
    # Pairs i < j: from 1: + + + +; from 3: - - +; from 2: 0 +; from 2: +  -> S = 5.
    assert mk.s == 5
    # n = 5: 5*4*15 = 300; one tie group of 2: 2*1*9 = 18; var = (300 - 18) / 18.
    assert mk.var_s == pytest.approx(282 / 18)
    assert mk.z == pytest.approx(4 / math.sqrt(282 / 18))  # continuity corrected: S - 1
    assert mk.p == pytest.approx(math.erfc(mk.z / math.sqrt(2)))
    assert mk.tau == pytest.approx(0.5) and mk.n == 5


def test_mann_kendall_of_a_falling_and_a_flat_series():
    down = mann_kendall([5, 4, 3, 2, 1])
    assert down.s == -10 and down.z == pytest.approx(-9 / math.sqrt(300 / 18))  # S + 1
    flat = mann_kendall([2, 2, 2, 2])
    assert flat.s == 0 and flat.var_s == 0 and flat.z == 0 and flat.p == 1


def test_mann_kendall_agrees_with_pymannkendall_on_tied_series():
    pmk = pytest.importorskip("pymannkendall")
    rng = np.random.default_rng(4)
    series = rng.integers(0, 5, size=(25, 16)).astype(float)
    series[3] = np.arange(16)  # a clean trend among them
    rows = mann_kendall(series)
    for i, s in enumerate(series):
        ref = pmk.original_test(s)
        assert rows.s[i] == ref.s and rows.var_s[i] == pytest.approx(ref.var_s)
        assert rows.z[i] == pytest.approx(ref.z) and rows.p[i] == pytest.approx(ref.p)
        assert rows.tau[i] == pytest.approx(ref.Tau)
        one = mann_kendall(s)
        assert one.z == pytest.approx(rows.z[i])


# ---------------------------------------------------------------------------- patterns
def steps(hot=(), cold=(), z_hot=3.0, n=T) -> tuple[np.ndarray, np.ndarray]:
    """Series of z and corrected p with significant hot/cold steps at the given indices."""
    z = np.zeros(n)
    p = np.full(n, 0.6)
    for i in hot:
        z[i], p[i] = z_hot, 0.001
    for i in cold:
        z[i], p[i] = -z_hot, 0.001
    return z, p


def every(n=T):
    return range(n)


def trend(lo, hi, n=T):
    return np.linspace(lo, hi, n), np.full(n, 0.001)


CASES = {
    "new hot spot": steps(hot=[9]),
    "consecutive hot spot": steps(hot=[7, 8, 9]),
    "intensifying hot spot": trend(2, 6),
    "persistent hot spot": (np.tile([3.0, 3.5], T // 2), np.full(T, 0.001)),
    "diminishing hot spot": trend(6, 2),
    "sporadic hot spot": steps(hot=[1, 4, 9]),
    "oscillating hot spot": steps(hot=[9], cold=[3]),
    "historical hot spot": steps(hot=range(9)),
    "new cold spot": steps(cold=[9]),
    "consecutive cold spot": steps(cold=[8, 9]),
    "intensifying cold spot": trend(-2, -6),
    "persistent cold spot": (np.tile([-3.0, -3.5], T // 2), np.full(T, 0.001)),
    "diminishing cold spot": trend(-6, -2),
    "sporadic cold spot": steps(cold=[0, 2, 5, 9]),
    "oscillating cold spot": steps(hot=[2, 5], cold=[9]),
    "historical cold spot": steps(cold=range(9)),
    "no pattern detected": steps(hot=[4]),
}


@pytest.mark.parametrize("expected", list(CASES))
def test_each_pattern_is_hit_by_its_constructed_series(expected):
    z, p = CASES[expected]
    assert str(classify_patterns(z, p)) == expected


def test_the_constructed_series_cover_every_pattern_and_classify_together():
    assert set(CASES) == set(PATTERNS) and len(PATTERNS) == 17
    z = np.vstack([CASES[k][0] for k in PATTERNS])
    p = np.vstack([CASES[k][1] for k in PATTERNS])
    assert classify_patterns(z, p).tolist() == list(PATTERNS)


def test_at_least_90_percent_of_steps_makes_a_hot_spot_persistent():
    z9, p9 = steps(hot=[0, 1, 2, 3, 4, 6, 7, 8, 9])  # 9 of 10, final included
    z8, p8 = steps(hot=[0, 1, 2, 4, 6, 7, 8, 9])  # 8 of 10
    assert str(classify_patterns(z9, p9)) == "persistent hot spot"
    assert str(classify_patterns(z8, p8)) == "sporadic hot spot"


def test_final_step_is_significant_at_90_percent_confidence():
    z, p = steps(hot=[9])
    p[9] = 0.10
    assert str(classify_patterns(z, p)) == "new hot spot"
    p[9] = 0.11
    assert str(classify_patterns(z, p)) == "no pattern detected"
    assert str(classify_patterns(z, p, alpha=0.2)) == "new hot spot"


def test_a_cold_history_makes_a_first_hot_spot_oscillating_not_new():
    z, p = steps(hot=[9], cold=[0])
    assert str(classify_patterns(z, p)) == "oscillating hot spot"


def test_hot_steps_before_the_final_run_make_it_sporadic_not_consecutive():
    z, p = steps(hot=[2, 8, 9])
    assert str(classify_patterns(z, p)) == "sporadic hot spot"


def test_a_given_trend_decides_intensifying_instead_of_the_z_scores():
    z, p = CASES["persistent hot spot"]
    assert str(classify_patterns(z, p, trend_z=[3.0], trend_p=[0.001])) == \
        "intensifying hot spot"
    assert str(classify_patterns(z, p, trend_z=[3.0], trend_p=[0.2])) == "persistent hot spot"


# ---------------------------------------------------------------------------- space-time Gi*
def test_space_time_gi_star_equals_gi_star_on_explicit_space_time_weights():
    from scipy import sparse

    rng = np.random.default_rng(6)
    ws = grid_weights(np.ones((6, 7), dtype=bool), cell=100, distance=150)
    ordinals = np.array([0, 1, 2, 5, 6, 7, 8])  # a gap between 2 and 5
    cube = rng.poisson(2, size=(7, 42)).astype(float)
    res = gi_star_space_time(cube, ws, ordinals=ordinals, time_window=2)
    diff = ordinals[:, None] - ordinals[None, :]
    links = sparse.csr_matrix(((diff >= 0) & (diff <= 2)).astype(float))
    ref = gi_star(cube.ravel(), sparse.kron(links, ws, format="csr"))
    assert np.abs(res.z.ravel() - ref.z).max() < 1e-10
    assert np.array_equal(res.bin.ravel(), ref.bin)
    # Step 3 (ordinal 5) follows the gap: itself only in time, so its spatial neighbourhood.
    assert (res.n_neighbours[3] == np.diff(ws.indptr)).all()
    assert (res.n_neighbours[5] == 3 * np.diff(ws.indptr)).all()


# ---------------------------------------------------------------------------- analysis
def frame(x, y, when, precision="month") -> pd.DataFrame:
    occurred = pd.to_datetime(pd.Series(when))
    return pd.DataFrame({"x": np.asarray(x, dtype=float), "y": np.asarray(y, dtype=float),
                         "occurred": occurred, "date_precision": precision,
                         "month": occurred.dt.strftime("%Y-%m"), "has_location": True})


def monthly(months, seed=0) -> pd.DataFrame:
    """40 scattered incidents a month over 1 x 1 km, plus a cluster near (150, 150)."""
    rng = np.random.default_rng(seed)
    parts = []
    for m in months:
        n, k = 40, 25
        x = np.concatenate([rng.uniform(0, 1000, n), rng.normal(150, 40, k)])
        y = np.concatenate([rng.uniform(0, 1000, n), rng.normal(150, 40, k)])
        parts.append(frame(np.clip(x, 1, 999), np.clip(y, 1, 999), [f"{m}-01"] * (n + k)))
    return pd.concat(parts, ignore_index=True)


AREA = shapely.box(0, 0, 1000, 1000)


def test_missing_months_are_dropped_as_time_steps_not_counted_as_zero():
    months = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-07"]
    data = monthly(months)
    out = emerging_hotspots(data, study_area=AREA, cell=100)
    params = out.attrs["params"]
    assert params["period"] == "month" and params["gaps"] == ["2025-06"]
    assert params["periods"] == months and params["n_periods"] == 6
    assert params["cube_mean"] == pytest.approx(len(data) / (100 * 6))
    # Held but empty, June becomes a real zero step.
    held = emerging_hotspots(data, study_area=AREA, cell=100,
                             months_held=months + ["2025-06"])
    assert held.attrs["params"]["gaps"] == [] and held.attrs["params"]["n_periods"] == 7
    assert held.attrs["params"]["cube_mean"] == pytest.approx(len(data) / (100 * 7))
    assert held["bins"].str.split().str.len().eq(7).all()


def test_steps_either_side_of_a_gap_are_not_time_neighbours():
    months = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-07"]
    data = monthly(months, seed=1)
    lagged = emerging_hotspots(data, study_area=AREA, cell=100, time_window=1)
    spatial = emerging_hotspots(data, study_area=AREA, cell=100, time_window=0)
    # July follows the gap, so its neighbourhood is spatial only either way.
    assert np.allclose(lagged["final_z"], spatial["final_z"])
    held = emerging_hotspots(data, study_area=AREA, cell=100, time_window=1,
                             months_held=months + ["2025-06"])
    assert not np.allclose(held["final_z"], spatial["final_z"])


def test_period_is_chosen_from_precision_and_span_and_reported():
    rng = np.random.default_rng(2)
    days = pd.date_range("2025-01-01", "2025-12-31", freq="D")
    when = rng.choice(days, 3000)
    year = emerging_hotspots(frame(rng.uniform(0, 1000, 3000), rng.uniform(0, 1000, 3000),
                                   when, precision="day"), study_area=AREA, cell=200)
    p = year.attrs["params"]
    assert p["period"] == "28D" and p["period_rule"].startswith("auto")
    assert p["n_periods"] == 13 and len(p["partial"]) == 1  # 365 = 13 x 28 + 1
    assert p["periods"][-1] == "2025-12-04"  # the last step ends on the last date
    quarter = pd.date_range("2025-01-01", "2025-03-31", freq="D")
    when = rng.choice(quarter, 1500)
    q = emerging_hotspots(frame(rng.uniform(0, 1000, 1500), rng.uniform(0, 1000, 1500),
                                when, precision="day"), study_area=AREA, cell=200)
    qp = q.attrs["params"]
    assert qp["period"] == "week" and qp["periods"][0] == "2025-01-06"
    assert qp["n_periods"] == 12 and qp["partial"] == ["2024-12-30", "2025-03-31"]
    with pytest.raises(ParameterError, match="month"):
        emerging_hotspots(monthly(["2025-01", "2025-02", "2025-03"]), period="week")


def test_dated_periods_touching_a_missing_month_are_gaps():
    rng = np.random.default_rng(3)
    days = pd.date_range("2025-01-01", "2025-06-30", freq="D")
    days = days[days.month != 3]
    when = rng.choice(days, 3000)
    out = emerging_hotspots(frame(rng.uniform(0, 1000, 3000), rng.uniform(0, 1000, 3000),
                                  when, precision="day"), study_area=AREA, cell=200,
                            period="week")
    p = out.attrs["params"]
    assert p["gaps"] and all(not s.startswith("2025-03") for s in p["periods"])
    assert "2025-02-24" in p["gaps"] and "2025-03-30" not in p["periods"]


def test_unmapped_rows_are_counted_and_the_input_is_not_modified():
    data = monthly(["2025-01", "2025-02", "2025-03", "2025-04"])
    data.loc[:2, "has_location"] = False
    data.loc[:2, ["x", "y"]] = np.nan
    before = data.copy()
    out = emerging_hotspots(data, study_area=AREA, cell=100)
    pd.testing.assert_frame_equal(data, before)
    p = out.attrs["params"]
    assert p["n_unmapped"] == 3 and out["count"].sum() == len(data) - 3
    assert p["n_analysed"] == len(data) - 3
    assert sum(p["patterns"].values()) == len(out) == p["n_locations"] == 100


def test_without_a_study_area_locations_are_cells_with_incidents():
    data = monthly(["2025-01", "2025-02", "2025-03", "2025-04"])
    out = emerging_hotspots(data, cell=100)
    assert (out["count"] > 0).all()
    assert "at least one incident" in out.attrs["params"]["locations"]


def test_too_few_steps_and_bad_parameters_raise_one_line_errors():
    with pytest.raises(NoDataError, match="time step"):
        emerging_hotspots(monthly(["2025-01", "2025-02"]), study_area=AREA, cell=100)
    data = monthly(["2025-01", "2025-02", "2025-03"])
    for kwargs in ({"period": "fortnight"}, {"trend_on": "harm"}, {"time_window": -1},
                   {"alpha": 1.5}, {"correction": "holm"}):
        with pytest.raises(ParameterError):
            emerging_hotspots(data, study_area=AREA, cell=100, **kwargs)


def test_trend_on_counts_is_reported_and_counts_trend_always_given():
    data = monthly(["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"])
    out = emerging_hotspots(data, study_area=AREA, cell=100, trend_on="counts")
    assert out.attrs["params"]["trend_on"] == "counts"
    assert {"trend_z", "trend_p", "count_trend_z", "count_trend_p"} <= set(out.columns)
    assert out["count_trend_p"].between(0, 1).all()


# ---------------------------------------------------------------------------- shipped data
def test_shipped_acquisitive_2025_gives_hot_cells_and_a_pattern_table(shipped_settings, store):
    from hotspots.query import available_months, load_incidents
    from hotspots.spatial.boundaries import area_geometry

    data = load_incidents(store, start="2025-01", end="2025-12", groups=["acquisitive"],
                          settings=shipped_settings)
    out = emerging_hotspots(data, study_area=area_geometry(None, shipped_settings),
                            months_held=available_months(store, settings=shipped_settings))
    p = out.attrs["params"]
    assert p["period"] == "month" and p["n_periods"] == 12 and p["gaps"] == []
    assert p["cell_m"] == default_cell(area_geometry(None, shipped_settings).bounds)
    assert p["correction"] == "fdr_bh"
    assert (out["n_hot"] > 0).any() and (out["final_bin"] > 0).any()
    table = out["pattern"].value_counts()
    assert table.sum() == p["n_locations"] and set(table.index) <= set(PATTERNS)
    assert any(name.endswith("hot spot") for name in table.index)
    assert p["n_analysed"] + p["n_outside_study"] + p["n_unmapped"] == len(data)


def test_shipped_data_across_the_missing_2024_months_respects_the_gap(shipped_settings, store):
    from hotspots.query import available_months, load_incidents
    from hotspots.spatial.boundaries import area_geometry

    data = load_incidents(store, groups=["acquisitive"], area="Rugby", settings=shipped_settings)
    out = emerging_hotspots(data, study_area=area_geometry("Rugby", shipped_settings),
                            months_held=available_months(store, settings=shipped_settings))
    p = out.attrs["params"]
    assert p["gaps"] == [f"2024-{m:02d}" for m in range(5, 13)]
    assert p["n_periods"] == 16 and p["periods"][3:5] == ["2024-04", "2025-01"]
