"""Back-test arithmetic (hit rate, PAI, PEI, RRI), folds around gaps, auto without peeking."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from support import synthetic

from hotspots.errors import NoDataError, ParameterError
from hotspots.models.evaluate import (
    MEASURE_COLUMNS,
    capture_curve,
    choose,
    crime_noun,
    evaluate,
    evaluate_store,
    measure,
    plan_folds,
    summarise,
)
from hotspots.models.scoring import Method, default_methods

ALL = np.ones((2, 5), dtype=bool)


def at(df: pd.DataFrame, coverage: float) -> dict:
    return df[np.isclose(df["coverage"], coverage)].iloc[0].to_dict()


# ---------------------------------------------------------------------------- arithmetic
SCORES = np.array([[9, 8, 7, 6, 5], [4, 3, 2, 1, 0]], dtype=float)
TEST = np.array([[3, 0, 1, 0, 0], [0, 0, 0, 4, 2]], dtype=float)  # n = 10
TRAIN = np.array([[5, 1, 0, 0, 0], [0, 0, 0, 2, 2]], dtype=float)  # m = 10


def test_hit_rate_pai_pei_rri_on_a_hand_made_grid():
    df = measure(SCORES, TEST, ALL, coverages=[0.1, 0.2, 0.5], train_counts=TRAIN)
    assert list(df.columns) == list(MEASURE_COLUMNS)
    # 10 % of 10 cells: the cell scoring 9 holds 3 of 10; the best single cell holds 4.
    one = at(df, 0.1)
    assert (one["cells"], one["hits"], one["incidents"]) == (1, 3, 10)
    assert one["hit_rate"] == pytest.approx(0.3)
    assert one["pai"] == pytest.approx(0.3 / 0.1)
    assert one["pei"] == pytest.approx(3 / 4)
    assert one["rri"] == pytest.approx((3 / 5) / (10 / 10))
    # 20 %: cells 9 and 8 hold 3 + 0; the best two cells hold 4 + 3; training 5 + 1.
    two = at(df, 0.2)
    assert (two["cells"], two["hits"], two["best_hits"], two["train_hits"]) == (2, 3, 7, 6)
    assert two["pai"] == pytest.approx(0.3 / 0.2)
    assert two["pei"] == pytest.approx(3 / 7)
    assert two["rri"] == pytest.approx((3 / 6) / (10 / 10))
    # 50 %: the top five hold 3 + 0 + 1 + 0 + 0; the best five hold every incident.
    half = at(df, 0.5)
    assert half["hit_rate"] == pytest.approx(0.4)
    assert half["pai"] == pytest.approx(0.8)
    assert half["pei"] == pytest.approx(0.4)


def test_pei_is_pai_over_the_best_pai_with_the_same_area():
    df = measure(SCORES, TEST, ALL, coverages=[0.2])
    r = at(df, 0.2)
    best_pai = (r["best_hits"] / r["incidents"]) / r["area_share"]
    assert r["pei"] == pytest.approx(r["pai"] / best_pai)


def test_rri_compares_test_and_training_shares_of_the_flagged_cells():
    # Training 20 incidents, 10 in the flagged cell; test 10, 2 there: the share fell 50 % -> 20 %.
    scores = np.array([[1.0, 0.0]])
    df = measure(scores, [[2, 8]], [[True, True]], coverages=[0.5], train_counts=[[10, 10]])
    assert at(df, 0.5)["rri"] == pytest.approx((2 / 10) / (10 / 20))


def test_cells_tied_at_the_threshold_are_all_flagged():
    scores = np.array([[5, 5, 5, 1, 0], [0, 0, 0, 0, 0]], dtype=float)
    r = at(measure(scores, TEST, ALL, coverages=[0.2]), 0.2)  # k = 2, three cells tie at 5
    assert r["cells"] == 3
    assert r["hits"] == 3 + 0 + 1
    assert r["pai"] == pytest.approx(0.4 / 0.3)


def test_zero_scores_are_never_flagged_and_the_shortfall_is_charged_in_pai_requested():
    scores = np.array([[5, 5, 5, 1, 0], [0, 0, 0, 0, 0]], dtype=float)
    r = at(measure(scores, TEST, ALL, coverages=[0.5]), 0.5)  # k = 5, only 4 cells above 0
    assert (r["cells"], r["area_share"]) == (4, 0.4)
    assert r["pai"] == pytest.approx(0.4 / 0.4)
    assert r["pai_requested"] == pytest.approx(0.4 / 0.5)


def test_only_study_cells_are_flagged_and_counted():
    mask = ALL.copy()
    mask[0, 0] = False  # the top-scoring cell and its 3 test incidents leave the study area
    r = at(measure(SCORES, TEST, mask, coverages=[0.2]), 0.2)  # N = 9, k = 2: cells 8 and 7
    assert (r["cells"], r["incidents"], r["hits"]) == (2, 7, 1)
    assert r["pai"] == pytest.approx((1 / 7) / (2 / 9))


def test_no_test_incidents_leaves_rates_undefined_not_zero():
    r = at(measure(SCORES, np.zeros((2, 5)), ALL, coverages=[0.2]), 0.2)
    assert math.isnan(r["hit_rate"]) and math.isnan(r["pai"]) and math.isnan(r["pei"])


def test_bad_coverage_is_a_one_line_parameter_error():
    with pytest.raises(ParameterError, match="0.05 for 5 %"):
        measure(SCORES, TEST, ALL, coverages=[0.0])


def test_capture_curve_steps_at_the_end_of_each_group_of_ties():
    cov, hit = capture_curve([[3, 2, 2, 1]], [[1, 2, 0, 1]], [[True] * 4])
    np.testing.assert_allclose(cov, [0, 0.25, 0.75, 1])
    np.testing.assert_allclose(hit, [0, 0.25, 0.75, 1])
    lv, h = capture_curve([[3, 2, 2, 1]], [[1, 2, 0, 1]], [[True] * 4], levels=[0.5, 1.0])
    np.testing.assert_allclose(h, [0.5, 1.0])


def test_capture_curve_matches_measure_at_each_coverage():
    cov, hit = capture_curve(SCORES, TEST, ALL)
    for c in (0.1, 0.3, 0.6):
        assert np.interp(c, cov, hit) == pytest.approx(at(measure(SCORES, TEST, ALL,
                                                                  coverages=[c]), c)["hit_rate"])


def test_summary_line_reads_like_the_tasking_example():
    assert summarise(0.41, 0.05, 8.2, crimes="burglaries") == (
        "this map would have captured 41% of next month's burglaries in 5% of the area "
        "(PAI 8.2)")
    assert crime_noun(types=["Burglary"]) == "burglaries"
    assert crime_noun(groups=["acquisitive"]) == "acquisitive crimes"
    assert crime_noun(types=["Burglary", "Robbery"]) == "crimes"


# ---------------------------------------------------------------------------- folds and gaps
def test_a_fold_spanning_a_gap_is_skipped_with_its_reason():
    months = ["2024-01", "2024-02", "2024-03", "2024-04", "2025-01", "2025-02", "2025-03"]
    folds, skipped = plan_folds(months, train_months=2)
    assert [f["test"] for f in folds] == ["2024-03", "2024-04", "2025-03"]
    assert folds[-1]["train"] == ["2025-01", "2025-02"]
    why = {s["test"]: s for s in skipped}
    assert "gap" in why["2025-01"]["reason"]
    assert why["2025-01"]["missing"] == ["2024-11", "2024-12"]
    assert why["2025-02"]["missing"] == ["2024-12"]
    assert "not enough history" in why["2024-02"]["reason"]
    assert "missing from the data" in why["2024-07"]["reason"]
    # Every calendar month from the first possible test month is either a fold or skipped.
    assert len(folds) + len(skipped) == 15


BOX = shapely.box(0, 0, 2000, 2000)


def test_evaluate_skips_and_lists_a_fold_across_a_gap():
    months = ["2024-02", "2024-03", "2024-04", "2025-01", "2025-02"]
    inc = synthetic(months, {m: (1000, 1000) for m in months})
    res = evaluate(inc, study_area=BOX, train_months=1, coverages=[0.05],
                   methods=default_methods(bandwidths=[300], prospective_bandwidths=[],
                                           gistar=False), fallback="KDE 300 m")
    assert res.summary["periods"].iloc[0] == ["2024-03", "2024-04", "2025-02"]
    d = res.to_dict()
    gap = next(s for s in d["skipped"] if s["test"] == "2025-01")
    assert gap["missing"] == ["2024-12"] and "gap" in gap["reason"]
    assert {s["test"] for s in d["skipped"]} >= {"2024-05", "2024-12", "2025-01"}


def test_a_month_listed_as_covered_but_without_incidents_is_a_zero_not_a_gap():
    months = ["2025-01", "2025-02", "2025-03"]
    inc = synthetic(["2025-01", "2025-03"], {m: (1000, 1000) for m in months})
    methods = default_methods(bandwidths=[300], prospective_bandwidths=[], gistar=False)
    res = evaluate(inc, months=months, study_area=BOX, train_months=1, coverages=[0.05],
                   methods=methods, fallback="KDE 300 m")
    assert res.skipped[-1]["test"] == "2025-01"
    assert [f["test"] for f in res.auto] == ["2025-02", "2025-03"]
    with pytest.raises(NoDataError, match="no month has 1 complete"):
        evaluate(inc, study_area=BOX, train_months=1, methods=methods, fallback="KDE 300 m")


# ---------------------------------------------------------------------------- auto
def half(side: str):
    """A method that ignores the data and scores one half of the grid."""

    def score(train, grid, window, study_area):
        xc, _ = grid.centres(mesh=True)
        west = xc < 1000
        return np.where(west if side == "west" else ~west, 1.0, 0.0)

    return score


def split(months: dict[str, tuple[int, int]], seed: int = 1) -> pd.DataFrame:
    """Per month, (west, east) incidents scattered 60 m around the two halves' centres."""
    rng = np.random.default_rng(seed)
    rows = []
    for m, (n_west, n_east) in months.items():
        for n, cx in ((n_west, 500), (n_east, 1500)):
            rows.append(pd.DataFrame({"x": cx + rng.normal(0, 60, n),
                                      "y": 1000 + rng.normal(0, 60, n), "month": m,
                                      "has_location": True}))
    return pd.concat(rows, ignore_index=True)


def test_auto_never_uses_the_test_fold():
    # West holds 60 % in February and March, east all of April: with April in its history,
    # auto would pick east for April (means 0.8 vs 1.2); learning only from earlier folds it
    # must pick west.
    methods = [Method("test", "west half", half("west"), smoothness=1.0),
               Method("test", "east half", half("east"), smoothness=2.0)]
    kw = dict(study_area=BOX, train_months=1, coverages=[0.5], methods=methods,
              fallback="east half")
    plan = {"2025-01": (30, 20), "2025-02": (30, 20), "2025-03": (30, 20), "2025-04": (0, 50)}
    res = evaluate(split(plan), **kw)
    d = res.detail
    april = d[d["test"] == "2025-04"].set_index("label")["pai_requested"]
    peek = d[d["label"] != "auto"].groupby("label")["pai_requested"].mean()
    assert peek["east half"] > peek["west half"]  # what peeking would see
    log = {a["test"]: a for a in res.auto}
    assert log["2025-04"]["chosen"] == "west half"
    assert log["2025-04"]["learnt_from"] == ["2025-02", "2025-03"]
    assert april["auto"] == april["west half"] < april["east half"]
    assert log["2025-02"]["chosen"] == "east half"  # the fallback: nothing earlier
    # Changing the test month's data cannot change the choice made for it.
    again = evaluate(split({**plan, "2025-04": (50, 0)}), **kw)
    assert [a["chosen"] for a in again.auto] == [a["chosen"] for a in res.auto]


def test_auto_ties_go_to_the_smoother_method():
    methods = [Method("kde", "sharp", half("west"), smoothness=200.0),
               Method("kde", "smooth", half("west"), smoothness=750.0),
               Method("kde", "worse", half("east"), smoothness=1000.0)]
    hist = pd.DataFrame({"label": ["sharp", "smooth", "worse"], "test": ["2025-01"] * 3,
                         "pai_requested": [3.0, 3.0, 1.0]})
    assert choose(hist, methods, fallback="worse")[0] == "smooth"
    assert choose(hist.iloc[:0], methods, fallback="worse")[0] == "worse"


def test_auto_rows_repeat_the_chosen_methods_figures():
    months = ["2025-01", "2025-02", "2025-03", "2025-04"]
    inc = synthetic(months, {m: (700 + 100 * i, 1000) for i, m in enumerate(months)})
    res = evaluate(inc, study_area=BOX, train_months=1, coverages=[0.02, 0.05, 0.1],
                   methods=default_methods(bandwidths=[200, 500], prospective_bandwidths=[],
                                           gistar=False), fallback="KDE 500 m")
    d = res.detail.set_index(["label", "test", "coverage"])
    for a in res.auto:
        for c in (0.02, 0.05, 0.1):
            assert d.loc[("auto", a["test"], c), "hits"] == d.loc[(a["chosen"], a["test"], c),
                                                                  "hits"]


def test_unknown_fallback_is_a_parameter_error():
    inc = synthetic(["2025-01", "2025-02"], {"2025-01": (500, 500), "2025-02": (500, 500)})
    with pytest.raises(ParameterError, match="fallback"):
        evaluate(inc, study_area=BOX, train_months=1, fallback="KDE 9 m",
                 methods=default_methods(bandwidths=[300], gistar=False))


def test_rows_without_location_are_counted_not_mapped():
    months = ["2025-01", "2025-02"]
    inc = synthetic(months, {m: (1000, 1000) for m in months})
    unmapped = inc.iloc[:3].assign(x=np.nan, y=np.nan, has_location=False)
    both = pd.concat([inc, unmapped], ignore_index=True)
    kw = dict(study_area=BOX, train_months=1, coverages=[0.05], fallback="KDE 300 m",
              methods=default_methods(bandwidths=[300], prospective_bandwidths=[],
                                      gistar=False))
    res, ref = evaluate(both, **kw), evaluate(inc, **kw)
    assert res.params["incidents_without_location"] == 3
    assert res.params["incidents_mapped"] == len(inc)
    pd.testing.assert_frame_equal(res.detail, ref.detail)


def test_input_frame_is_not_modified():
    months = ["2025-01", "2025-02", "2025-03"]
    inc = synthetic(months, {m: (1000, 1000) for m in months})
    before = inc.copy()
    evaluate(inc, study_area=BOX, train_months=1, coverages=[0.05], fallback="KDE 300 m",
             methods=default_methods(bandwidths=[300], gistar=False))
    pd.testing.assert_frame_equal(inc, before)


# ---------------------------------------------------------------------------- shipped data
@pytest.fixture(scope="module")
def burglary(store, shipped_settings):
    return store, evaluate_store(store, types=["Burglary"], settings=shipped_settings)


def test_shipped_folds_are_the_months_with_three_whole_months_before_them(shipped_settings,
                                                                          burglary):
    from hotspots.query import available_months

    store, res = burglary
    have = set(available_months(store, settings=shipped_settings))
    want = [m for m in sorted(have)
            if all(str(pd.Period(m, "M") - k) in have for k in (1, 2, 3))]
    d = res.to_dict()
    assert want and all(r["periods"] == want for r in d["results"])
    reasons = {s["test"]: s["reason"] for s in d["skipped"]}
    assert "gap" in reasons["2025-01"] and "gap" in reasons["2025-03"]
    assert "missing from the data" in reasons["2024-08"]


def test_shipped_results_are_means_of_their_periods_and_serialise(burglary):
    _, res = burglary
    d = json.loads(json.dumps(res.to_dict()))
    assert {"results", "default"} <= set(d)
    for r in d["results"]:
        assert {"method", "params", "coverage", "hit_rate", "pai", "pei", "periods"} <= set(r)
        pais = [p["pai"] for p in r["by_period"] if p["pai"] is not None]
        if pais:
            assert r["pai"] == pytest.approx(sum(pais) / len(pais))
    assert d["default"]["label"] in {m.label for m in default_methods()}
    assert d["summary"].startswith("this map would have captured")
    assert "burglaries" in d["summary"]


def test_shipped_kde_predicts_better_than_chance_and_capture_grows_with_area(burglary):
    _, res = burglary
    kde = res.summary[res.summary["label"] == "KDE 500 m"].sort_values("coverage")
    assert (kde["pai"] > 1).all()
    assert kde["hit_rate"].is_monotonic_increasing


def test_shipped_auto_learns_only_from_earlier_folds(burglary):
    _, res = burglary
    first, *rest = res.auto
    assert first["chosen"] == "KDE 500 m" and first["learnt_from"] == []
    for a in rest:
        assert a["learnt_from"] and max(a["learnt_from"]) < a["test"]


def test_auto_is_compared_with_the_best_fixed_kde_picked_in_hindsight(burglary):
    _, res = burglary
    cmp = res.against_best_kde()
    d = res.detail[np.isclose(res.detail["coverage"], 0.05)]
    learnt = [a["test"] for a in res.auto if a["learnt_from"]]
    assert cmp["learnt"]["months"] == learnt and len(cmp["all"]["months"]) == len(res.auto)
    for span, months in (("all", [a["test"] for a in res.auto]), ("learnt", learnt)):
        rows = d[d["test"].isin(months)]
        auto = rows.loc[rows["label"] == "auto", "pai_requested"].mean()
        kde = rows[rows["method"] == "kde"].groupby("label")["pai_requested"].mean()
        got = cmp[span]
        assert got["auto"] == pytest.approx(auto)
        assert got["best_kde"] == kde.idxmax() and got["best_kde_value"] == pytest.approx(
            kde.max())
        assert got["difference"] == pytest.approx(auto - kde.max(), abs=1e-9)
    assert res.to_dict()["auto_vs_best_kde"]["learnt"]["best_kde"] == cmp["learnt"]["best_kde"]


def test_hindsight_line_states_both_figures_and_the_verdict(burglary):
    from hotspots.ui.evaluation import hindsight_line

    _, res = burglary
    cmp = res.against_best_kde()["learnt"]
    line = hindsight_line(res)
    assert f"over the {len(cmp['months'])} test months" in line
    assert f"{cmp['auto']:.2f}" in line and cmp["best_kde"] in line
    verdict = ("matched" if cmp["difference"] == 0 else
               "beat it by" if cmp["difference"] > 0 else "fell short by")
    assert verdict in line


def test_evaluate_store_needs_a_crime_selection(shipped_settings, burglary):
    store, _ = burglary
    with pytest.raises(ParameterError, match="groups"):
        evaluate_store(Path(store), settings=shipped_settings)


def test_shipped_json_lists_the_multiscale_kde_and_auto_learns_it_from_earlier_folds(burglary):
    _, res = burglary
    d = json.loads(json.dumps(res.to_dict()))
    ms = [r for r in d["results"] if r["method"] == "kde_multiscale"]
    assert {r["coverage"] for r in ms} == {0.01, 0.02, 0.05, 0.1}
    assert ms[0]["params"]["bandwidths"] == [300.0, 500.0, 750.0, 1000.0]
    assert ms[0]["params"]["kernel"] == "quartic"
    # Whatever auto picks in a fold, it is what the earlier folds' means favoured.
    at5 = res.detail[np.isclose(res.detail["coverage"], 0.05) & (res.detail["label"] != "auto")]
    for a in res.auto[1:]:
        means = at5[at5["test"] < a["test"]].groupby("label")["pai_requested"].mean()
        assert means[a["chosen"]] == pytest.approx(means.max())
