"""The map method switcher, the auto bandwidth, the back-test line and the Evaluation view.

Pure functions on hand-made frames first; then the dashboard under streamlit.testing on the
shipped data (the session's store, built once).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest
from support import map_page

from hotspots import method_clusters, method_emerging, method_gistar, method_spec
from hotspots import methods as mt
from hotspots.models.evaluate import EvaluationResult, evaluate
from hotspots.models.gistar import gi_star_grid
from hotspots.models.scoring import default_methods
from hotspots.spatial.grid import Grid
from hotspots.ui import evaluation as ev

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 180
X0, Y0 = 428_000.0, 265_000.0
AREA = box(X0, Y0, X0 + 2000, Y0 + 2000)
AUTO_TEXT = "(auto: best back-tested PAI at 5% on earlier months)"


def _incidents(months: tuple[str, ...], seed: int = 0, n: int = 80) -> pd.DataFrame:
    """A stable hotspot (the same corner every month) over a thin uniform background."""
    rng = np.random.default_rng(seed)
    frames = []
    for month in months:
        x = np.concatenate([rng.normal(X0 + 500, 80, n), rng.uniform(X0, X0 + 2000, n // 4)])
        y = np.concatenate([rng.normal(Y0 + 500, 80, n), rng.uniform(Y0, Y0 + 2000, n // 4)])
        frames.append(pd.DataFrame({
            "x": x, "y": y, "has_location": True, "month": month,
            "occurred": pd.Timestamp(f"{month}-01"), "date_precision": "month",
            "crime_type": "Burglary", "crime_group": "acquisitive", "location": "On or near A",
            "harm": 10.0}))
    return pd.concat(frames, ignore_index=True)


def _result(rows: list[tuple[str, str, float]], coverage: float = 0.05) -> EvaluationResult:
    detail = pd.DataFrame([{"method": label.split()[0].lower(), "label": label, "test": test,
                            "coverage": coverage, "pai_requested": v} for label, test, v in rows])
    return EvaluationResult(summary=pd.DataFrame(), detail=detail, auto=[], default={},
                            skipped=[], params={"select_coverage": coverage}, methods=[])


# ------------------------------------------------------------------------------ auto


def test_auto_choice_uses_only_folds_up_to_the_map_period():
    rows = [("KDE 300 m", "2025-04", 12.0), ("KDE 750 m", "2025-04", 10.0),
            ("KDE 300 m", "2025-05", 12.0), ("KDE 750 m", "2025-05", 11.0),
            # later months favour 750 m strongly: a map ending in May must not see them
            ("KDE 300 m", "2025-06", 1.0), ("KDE 750 m", "2025-06", 30.0)]
    may = mt.auto_choice(_result(rows), "2025-05")
    assert (may.bandwidth, may.label, may.folds) == (300.0, "KDE 300 m",
                                                      ("2025-04", "2025-05"))
    assert may.rule == "auto: best back-tested PAI at 5% on earlier months"
    assert "over 2 earlier folds" in may.reason
    june = mt.auto_choice(_result(rows), "2025-06")
    assert june.bandwidth == 750.0 and len(june.folds) == 3


def test_auto_choice_ties_go_to_the_wider_bandwidth_and_other_methods_are_not_drawn():
    rows = [("KDE 500 m", "2025-04", 9.0), ("KDE 1000 m", "2025-04", 9.0),
            ("Gi* hot cells", "2025-04", 20.0)]
    choice = mt.auto_choice(_result(rows), "2025-12")
    assert choice.bandwidth == 1000.0  # a tie goes to the smoother surface
    assert choice.overall == "Gi* hot cells"  # reported, but the map draws a KDE


def test_auto_choice_draws_the_multiscale_kde_when_it_leads_on_earlier_months():
    ms = "KDE multi-scale 300-1000 m"
    rows = [("KDE 500 m", "2025-04", 9.0), ("KDE 750 m", "2025-04", 9.5), (ms, "2025-04", 9.8),
            ("prospective KDE 500 m", "2025-04", 9.7)]
    choice = mt.auto_choice(_result(rows), "2025-12")
    assert choice.label == choice.overall == ms  # the map draws what auto picks
    assert choice.bandwidth == (300.0, 500.0, 750.0, 1000.0)
    m = mt.recipe(mt.MapMethod(name="kde"), bandwidth=choice.bandwidth)
    assert (m.name, m.label) == ("kde_multiscale", ms)
    assert m.params == {"bandwidths": [300.0, 500.0, 750.0, 1000.0], "kernel": "quartic"}
    # A method the map cannot draw leads: the best drawable KDE is drawn, the lead reported.
    rows.append(("prospective KDE 300 m", "2025-04", 11.0))
    choice = mt.auto_choice(_result(rows), "2025-12")
    assert (choice.label, choice.overall) == (ms, "prospective KDE 300 m")


def test_auto_choice_without_an_earlier_fold_falls_back_to_500_m():
    choice = mt.auto_choice(_result([("KDE 300 m", "2025-04", 12.0)]), "2024-02")
    assert choice.bandwidth == mt.FALLBACK_BANDWIDTH == 500.0
    assert choice.folds == ()
    assert choice.rule == "auto: no back-test month up to Feb 2024, fallback"


# ------------------------------------------------------------------------------ recipes


def test_gistar_recipe_scores_exactly_the_hot_cells_of_the_map():
    train = _incidents(("2025-01", "2025-02", "2025-03"))
    fine = Grid.from_geometry(AREA, 100.0)
    scores = method_gistar.score_gistar_hot(train, fine, ["2025-01", "2025-02", "2025-03"], AREA,
                                 cell=200.0, correction="fdr_bh")
    res = gi_star_grid(train["x"], train["y"], study_area=AREA, cell=200.0)
    hot = np.maximum(res.bin, 0).astype(float)
    # Each 200 m Gi* cell is four 100 m cells of the back-test grid (both grids aligned).
    expected = np.kron(hot, np.ones((2, 2)))[:fine.ny, :fine.nx]
    assert hot.max() > 0 and (hot == 0).any()
    np.testing.assert_array_equal(scores, expected)
    empty = method_gistar.score_gistar_hot(train.iloc[:0], fine, ["2025-01"], AREA, cell=200.0)
    assert not empty.any()


def test_hull_cells_flags_overlapping_cells_only():
    grid = Grid.from_bounds(X0, Y0, X0 + 1000, Y0 + 1000, 100.0)
    inner = box(X0 + 150, Y0 + 150, X0 + 250, Y0 + 250)  # overlaps 2 x 2 cells
    edge = box(X0 + 500, Y0 + 500, X0 + 600, Y0 + 600)  # exactly one cell; touches 8 more
    flags = method_spec.hull_cells([inner, edge], grid)
    assert flags.sum() == 5
    assert flags[1:3, 1:3].all() and flags[5, 5]
    assert not flags[4, 5] and not flags[6, 6]


def test_cluster_and_emerging_recipes_flag_the_hotspot_corner():
    train = _incidents(("2025-01", "2025-02", "2025-03"))
    fine = Grid.from_geometry(AREA, 100.0)
    window = ["2025-01", "2025-02", "2025-03"]
    hulls = method_clusters.score_cluster_hulls(train, fine, window, AREA, method="dbscan")
    emerging = method_emerging.score_emerging_hot(train, fine, window, AREA, cell=200.0)
    row, col = fine.cell_index(np.array([X0 + 500]), np.array([Y0 + 500]))
    for scores in (hulls, emerging):
        assert set(np.unique(scores)) <= {0.0, 1.0}
        assert scores[row[0], col[0]] == 1.0  # the stable hotspot
        assert 0 < scores.mean() < 0.5


def test_recipe_labels_and_words():
    kde = mt.recipe(mt.MapMethod(), bandwidth=750.0)
    assert (kde.label, kde.params["bandwidth"]) == ("KDE 750 m", 750.0)
    assert mt.recipe(mt.MapMethod(), bandwidth="arcgis").label == "KDE (ArcGIS Pro rule)"
    gi = mt.recipe(mt.MapMethod("gistar", correction="bonferroni"), cell=1100.0,
                   distance=1650.0)
    assert gi.label == "Gi* hot cells (1,100 m, 90%+)"
    assert gi.params == {"cell": 1100.0, "distance": 1650.0, "correction": "bonferroni"}
    assert mt.recipe_words(mt.MapMethod("gistar"), gi.label, top=0.05, cell=1100.0) == \
        "Gi* hot cells at 90% or more (1,100 m cells, Benjamini-Hochberg FDR)"
    assert mt.recipe_words(mt.MapMethod(), "KDE 300 m", top=0.025) == \
        "KDE 300 m, top 2.5% of the area"
    with pytest.raises(Exception, match="cell size"):
        mt.recipe(mt.MapMethod("gistar"))
    with pytest.raises(Exception, match="unknown map method"):
        mt.recipe(mt.MapMethod("lsoa"))


def test_backtest_lines_state_the_mean_the_months_and_the_gap():
    months = ("2024-01", "2024-02", "2024-03", "2024-04", "2024-05",
              "2024-09", "2024-10", "2024-11", "2024-12")
    inc = _incidents(months)
    m = mt.recipe(mt.MapMethod(), bandwidth=300.0)
    res = evaluate(inc, months=months, study_area=AREA, methods=[m], fallback=m.label,
                   coverages=(0.05,), select_coverage=0.05, crimes="burglaries")
    headline, detail = mt.backtest_lines(res, how="KDE 300 m, top 5% of the area",
                                         train_months=3)
    row = res.row("KDE 300 m")
    assert headline == (f"This map would have captured {row['hit_rate']:.0%} of next month's "
                        f"burglaries in {row['area_share']:.0%} of the area "
                        f"(PAI {row['pai']:.1f}).")
    assert detail.startswith("Back-test: KDE 300 m, top 5% of the area, made from the 3 months "
                             "before each test month; mean over 3 test months (Apr–May 2024, "
                             "Dec 2024).")
    assert "(Jun–Aug 2024 missing) are not tested" in detail


# ------------------------------------------------------------------------------ evaluation


def _skipped_result() -> EvaluationResult:
    skipped = [
        {"test": "2024-01", "train": [], "missing": [], "reason": "not enough history: x"},
        {"test": "2024-02", "train": [], "missing": [], "reason": "not enough history: x"},
        *({"test": f"2024-{m:02d}", "train": [], "missing": [f"2024-{m:02d}"],
           "reason": f"test month 2024-{m:02d} is missing from the data"}
          for m in range(5, 13)),
        {"test": "2025-01", "train": [], "missing": ["2024-11", "2024-12"],
         "reason": "training window spans a gap: 2024-11, 2024-12 missing from the data"},
    ]
    return EvaluationResult(summary=pd.DataFrame(), detail=pd.DataFrame(), auto=[],
                            default={}, skipped=skipped, params={"train_months": 3},
                            methods=[])


def test_skipped_months_are_said_plainly():
    assert ev.skipped_lines(_skipped_result()) == [
        "Jan–Feb 2024: fewer than 3 months of data before them (the data start there).",
        "May–Dec 2024: no police.uk data is held for these months, so there is nothing to "
        "test against.",
        "Jan 2025: their 3-month training window would reach into Nov–Dec 2024, which has no "
        "data; a window is never stretched over missing months, and missing months are never "
        "read as zero crime."]


def test_capture_curves_and_measures_table_on_a_small_back_test():
    months = ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06")
    inc = _incidents(months)
    res = evaluate(inc, months=months, study_area=AREA, crimes="burglaries")
    table = ev.measures_table(res, 0.05)
    assert list(table.columns) == list(ev.TABLE_COLUMNS)
    assert table["Method"].iloc[0] == "auto (chosen month by month)"
    assert len(table) == len(res.summary["label"].unique())
    auto = res.row("auto", 0.05)
    assert table["Hit rate"].iloc[0] == pytest.approx(auto["hit_rate"] * 100)
    assert table["PAI"].iloc[0] == pytest.approx(auto["pai"])
    assert (table["Test months"] == 3).all()
    with pytest.raises(Exception, match="no back-test result"):
        ev.measures_table(res, 0.5)

    labels = ev.curve_labels(res)
    assert labels[0] == "auto" and "Gi* hot cells" in labels
    curves = ev.capture_curves(inc, months, AREA, labels=labels, auto=res.auto)
    assert set(curves["label"]) == set(labels)
    for _, c in curves.groupby("label"):
        h = c.sort_values("coverage")["hit_rate"].to_numpy()
        assert h[0] == 0.0 and (np.diff(h) >= -1e-12).all() and h[-1] <= 1.0
    at5 = curves[(curves["label"] == "KDE 1000 m") & np.isclose(curves["coverage"], 0.05)]
    assert at5["hit_rate"].iloc[0] > 0.05  # a stable hotspot beats chance


def test_knox_frame_drops_empty_time_bands():
    from hotspots.models.nearrepeat import knox_test

    res = knox_test(_incidents(("2025-01", "2025-02")), permutations=19)
    ratio, p, dropped = ev.knox_frame(res)
    assert list(ratio.columns) == ["same month", "1 month"]
    assert dropped == ["2 months", "3 months", "over 3 months"]
    assert ratio.index[0] == "same location" and ratio.index.name == "Distance"
    assert p.shape == ratio.shape
    assert all(re.fullmatch(r"\d+\.\d\d|–", v) for v in ratio.to_numpy().ravel())
    assert any("30 days apart" in n for n in ev.knox_notes(res))


# ------------------------------------------------------------------------------ the app


@pytest.fixture
def app(app_env) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _legend(page: str) -> str:
    m = re.search(r"div\.innerHTML = (\".*?\");\n", page)
    assert m, "no legend in the map"
    return re.sub(r"<[^>]+>", " ", json.loads(m.group(1)))


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_default_bandwidth_is_auto_and_the_map_states_its_back_test(app, store_dir,
                                                                     shipped_settings):
    from hotspots.models.evaluate import evaluate_store

    legend = _legend(map_page(app))
    m = re.search(r"bandwidth ([\d,]+) m " + re.escape(AUTO_TEXT), legend)
    assert m, legend[:400]
    settings = shipped_settings
    expected = mt.auto_choice(evaluate_store(store_dir, groups=["acquisitive"],
                                             settings=settings), "2025-12")
    assert float(m.group(1).replace(",", "")) == expected.bandwidth
    lines = [_unescape(x.value) for x in app.markdown]
    # The default areas are patrol areas: their back-test says the area they flagged.
    assert any(re.fullmatch(r"\*\*This map would have captured \d+% of next month's "
                            r"acquisitive crimes in (under )?[\d.]+% of the area \(PAI [\d.]+\)"
                            r"\.\*\*", line)
               for line in lines), lines
    captions = " ".join(_unescape(c.value) for c in app.caption)
    # The line under the map back-tests the drawn surface over auto's own folds.
    folds = expected.folds
    assert folds and max(folds) <= "2025-12"
    assert (f"Back-test: KDE {expected.bandwidth:g} m, up to 10 patrol areas of at most 1 km² "
            f"each, made from the 3 "
            f"months before each test month; mean over {len(folds)} test months "
            f"({mt.months_label(folds)}).") in captions
    assert app.radio(key="hs_method").value == "kde"


@pytest.mark.parametrize(("method", "statement", "metric"), [
    ("gistar", "Getis-Ord Gi*, {cell:,.0f} m cells, 8-cell neighbourhood (distance "
               "{distance:,.0f} m), Benjamini-Hochberg FDR, 90/95/99% bins, Oct–Dec 2025, "
               "acquisitive crime", "Hot cells (90%+)"),
    ("emerging", "Emerging hot spot analysis (space-time Gi* + Mann-Kendall trend), {cell:,.0f} m "
                 "cells", "Cells with a hot pattern"),
    ("clusters", "DBSCAN, eps 250 m (default: fixed 250 m), min_samples", "Clusters"),
])
def test_switching_method_changes_map_legend_and_metrics(app, shipped_settings, method,
                                                         statement, metric):
    from hotspots.models.gistar import default_cell
    from hotspots.spatial.boundaries import area_geometry

    # The default cell is the Gi* rule on the force area's bounds; 8 neighbours at 1.5 cells.
    cell = default_cell(area_geometry(None, shipped_settings).bounds)
    statement = statement.format(cell=cell, distance=1.5 * cell)
    kde_page = map_page(app)
    app.radio(key="hs_method").set_value(method).run()
    _ok(app)
    page = map_page(app)
    legend = _legend(page)
    assert page != kde_page and "Kernel density" not in legend
    assert statement in legend, legend[:500]
    assert len(page.encode()) < 3_000_000
    assert metric in _metrics(app) and "Hotspot areas" not in _metrics(app)
    assert any("would have captured" in _unescape(x.value) for x in app.markdown)
    app.radio(key="hs_method").set_value("kde").run()
    _ok(app)
    assert "Kernel density" in _legend(map_page(app))


def test_auto_draws_the_multiscale_kde_for_vehicle_crime_as_the_cli_auto_picks(app, store_dir,
                                                                               shipped_settings):
    from hotspots.models.evaluate import evaluate_store

    app.multiselect(key="types").set_value(["Vehicle crime"]).run()
    _ok(app)
    res = evaluate_store(store_dir, types=["Vehicle crime"], settings=shipped_settings)
    choice = mt.auto_choice(res, "2025-12")
    # The selection is chosen because the CLI's auto picks the multi-scale KDE for it.
    assert res.default["method"] == "kde_multiscale", "pick a selection auto draws multi-scale"
    assert choice.label == res.default["label"]
    *most, last = (f"{b:,.0f}" for b in res.default["params"]["bandwidths"])
    assert choice.bandwidth == tuple(res.default["params"]["bandwidths"])
    legend = _legend(map_page(app))
    assert (f"multi-scale: mean of the bandwidths {', '.join(most)} and {last} m, each surface "
            f"scaled to the same total {AUTO_TEXT}") in legend, legend[:500]
    captions = " ".join(_unescape(c.value) for c in app.caption)
    assert f"Back-test: {choice.label}, up to 10 patrol areas of at most 1 km²" in captions
    assert "cannot draw" not in captions


def test_method_options_reach_the_legend(app):
    app.radio(key="hs_method").set_value("gistar").run()
    app.selectbox(key="hs_correction").select("bonferroni").run()
    _ok(app)
    assert "Bonferroni correction" in _legend(map_page(app))
    app.radio(key="hs_method").set_value("clusters").run()
    app.radio(key="hs_cluster").set_value("hdbscan").run()
    _ok(app)
    assert "HDBSCAN, min_cluster_size" in _legend(map_page(app))


def test_emerging_with_too_few_months_says_so(app):
    app.radio(key="hs_method").set_value("emerging").run()
    app.select_slider(key="period").set_range("2025-12", "2025-12").run()
    assert not app.exception
    errors = [_unescape(e.value) for e in app.error]
    assert errors and "at least 3" in errors[0], errors
    assert not app.get("iframe") and not app.get("component_instance")


def test_fixed_bandwidth_overrides_auto(app):
    app.radio(key="bw_mode").set_value("fixed").run()
    app.slider(key="bandwidth").set_value(650).run()
    _ok(app)
    assert "bandwidth 650 m (fixed)" in _legend(map_page(app))
    captions = " ".join(_unescape(c.value) for c in app.caption)
    assert "Back-test: KDE 650 m, up to 10 patrol areas of at most 1 km² each" in captions


def _measures(at: AppTest) -> pd.DataFrame:
    tables = [d.value for d in at.dataframe if "PAI at requested area" in d.value.columns]
    assert len(tables) == 1, "the measures table is missing"
    return tables[0]


def test_evaluation_view_renders_the_table_chart_folds_and_knox(app, store_dir,
                                                                shipped_settings):
    from hotspots.models.evaluate import evaluate_store

    # The view shows the back-test of the selection (acquisitive crime, force area).
    res = evaluate_store(store_dir, groups=["acquisitive"], settings=shipped_settings)
    app.radio(key="view").set_value("Evaluation").run()
    _ok(app)
    table = _measures(app)
    assert list(table.columns) == list(ev.TABLE_COLUMNS)
    assert len(table) == len(default_methods()) + 1  # every method, and auto first
    assert table["Method"].iloc[0] == "auto (chosen month by month)"
    assert (table["Test months"] == len(res.default["periods"])).all()
    assert len(res.default["periods"]) > 1
    assert table["Area flagged"].iloc[0] == pytest.approx(5.0, abs=0.2)
    app.radio(key="ev_coverage").set_value(0.01).run()
    _ok(app)
    narrow = _measures(app)
    assert narrow["Area flagged"].iloc[0] == pytest.approx(1.0, abs=0.1)
    assert narrow["Hit rate"].iloc[0] < table["Hit rate"].iloc[0]
    text = " ".join(_unescape(x.value) for x in app.markdown)
    assert f"Auto's choice for next month's map: {res.default['label']}." in text
    assert "Not tested: May–Dec 2024: no police.uk data is held" in text
    assert "Not tested: Jan–Mar 2025: their 3-month training window" in text
    assert len(app.get("vega_lite_chart")) == 1
    knox = [d.value for d in app.dataframe if "same month" in d.value.columns]
    assert len(knox) == 2  # burglary and vehicle crime
    for table in knox:
        assert list(table.index)[:2] == ["same location", "0–100 m"]
    assert not [r for r in app.sidebar.radio if r.key == "bw_mode"]  # not this view's control


def test_backtest_line_never_says_zero_area():
    summary = pd.DataFrame([{"method": "clusters", "label": "DBSCAN cluster hulls",
                             "coverage": 1.0, "hit_rate": 0.012, "pai": 35.7,
                             "area_share": 0.0003, "periods": ["2025-04"], "n_periods": 1}])
    res = EvaluationResult(summary=summary, detail=pd.DataFrame(), auto=[], default={},
                           skipped=[], params={"select_coverage": 1.0, "crimes": "burglaries"},
                           methods=[])
    headline, detail = mt.backtest_lines(res, how="DBSCAN cluster hulls", train_months=3)
    assert headline == ("This map would have captured 1% of next month's burglaries in under "
                        "0.05% of the area (PAI 35.7).")
    assert "mean over 1 test month (Apr 2025)" in detail


def test_a_period_too_long_to_back_test_says_so(app):
    app.select_slider(key="period").set_range("2025-01", "2025-12").run()
    _ok(app)
    captions = " ".join(_unescape(c.value) for c in app.caption)
    assert "No back-test for this map: no month has 12 complete months of data before it" \
        in captions
    assert not any("would have captured" in _unescape(x.value) for x in app.markdown)


def test_share_of_the_area_stays_available_beside_the_default_patrol_areas(app):
    tables = [t.value for t in app.table]
    assert tables and "Area" in tables[-1].columns and "Trend" in tables[-1].columns
    assert len(tables[-1]) <= 10
    app.radio(key="area_mode").set_value("share").run()
    _ok(app)
    captions = " ".join(_unescape(c.value) for c in app.caption)
    assert "top 5% of the area" in captions
    assert "Area" not in app.table[-1].value.columns
