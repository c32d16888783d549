"""The Hotspots view's map methods (KDE, Gi*, emerging, clusters), auto bandwidth and back-tests.

The pure functions at the top (auto choice, back-test recipes and their wording, the model
results) need no Streamlit and are tested directly; the functions after them draw the switcher
and the back-test line and cache everything heavy with ``st.cache_data`` keyed by the store
fingerprint, the settings key and the parameters, as :mod:`hotspots.ui.dashboard` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from hotspots import maps, model_maps
from hotspots.config import Settings
from hotspots.errors import HotspotsError, NoDataError, ParameterError
from hotspots.models.evaluate import (
    FALLBACK_LABEL,
    EvaluationResult,
    Method,
    choose,
    default_methods,
    plan_folds,
    score_kde,
    score_kde_multiscale,
    summarise,
)
from hotspots.spatial.grid import Grid
from hotspots.ui import compute
from hotspots.ui.compute import Params
from hotspots.ui.dashboard import _KEEP, md_escape, show_error

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from hotspots.ui.dashboard import Layers

KDE, GISTAR, EMERGING, CLUSTERS = "kde", "gistar", "emerging", "clusters"
METHODS = (KDE, GISTAR, EMERGING, CLUSTERS)
METHOD_LABELS = {KDE: "KDE", GISTAR: "Gi*", EMERGING: "Emerging hot spots", CLUSTERS: "Clusters"}
CORRECTIONS = ("fdr_bh", "bonferroni", "none")
CORRECTION_LABELS = {"fdr_bh": "Benjamini-Hochberg FDR", "bonferroni": "Bonferroni",
                     "none": "None"}
CLUSTER_METHODS = ("dbscan", "hdbscan")
CLUSTER_LABELS = {"dbscan": "DBSCAN (250 m)", "hdbscan": "HDBSCAN"}
#: The bandwidth radio's back-tested option (resolved to metres before the analysis runs).
AUTO = "auto"
FALLBACK_BANDWIDTH = 500.0
#: Emerging patterns that flag a cell as hot next month: hot in the final step.
HOT_NOW = ("new hot spot", "consecutive hot spot", "intensifying hot spot",
           "persistent hot spot", "diminishing hot spot", "sporadic hot spot",
           "oscillating hot spot")
#: Coverage that flags every cell a map marks (cells scoring above zero), for maps whose area
#: is set by the method (Gi*, emerging, clusters) rather than by a share of the area.
MAP_COVERAGE = 1.0
#: What a method's ranked areas are called in the table, the files and the snapshot.
AREA_NAMES = {KDE: "Hotspot areas", GISTAR: "Gi* hot spot areas (90%+ confidence)",
              EMERGING: "Emerging hot spot areas", CLUSTERS: "Clusters"}
#: One area's name in a legend.
AREA_LEGENDS = {KDE: "Hotspot area", GISTAR: "Gi* hot spot area",
                EMERGING: "Emerging hot spot area", CLUSTERS: "Cluster"}


@dataclass(frozen=True)
class MapMethod:
    """The map method chosen above the map and its own options.

    Attributes
    ----------
    name : {"kde", "gistar", "emerging", "clusters"}
    correction : {"fdr_bh", "bonferroni", "none"}
        Multiple-testing correction of Gi* and emerging hot spots.
    cluster_method : {"dbscan", "hdbscan"}
    """

    name: str = KDE
    correction: str = "fdr_bh"
    cluster_method: str = "dbscan"


@dataclass(frozen=True)
class MapAreas:
    """The ranked areas a map shows, with the words that go with them.

    Attributes
    ----------
    method : str
        The map method (:data:`METHODS`).
    name : str
        What the areas are called (:data:`AREA_NAMES`).
    areas : geopandas.GeoDataFrame
        :func:`hotspots.models.areas.hotspot_areas`'s columns (plus the method's own, e.g.
        ``confidence``, ``pattern`` or ``crime_mix``), EPSG:27700, ranked by incidents.
    statement : str
        The map legend's statement of method and parameters, then how the areas were drawn
        from the result (plain text).
    legend : str
        One area's name in a legend (:data:`AREA_LEGENDS`).
    """

    method: str
    name: str
    areas: gpd.GeoDataFrame
    statement: str
    legend: str = "Hotspot area"


@dataclass(frozen=True)
class AutoChoice:
    """The bandwidth ``auto`` gives the map, and why.

    Attributes
    ----------
    bandwidth : float or tuple of float
        Metres; several for the multi-scale KDE.
    label : str
        The back-test method chosen (e.g. ``"KDE 750 m"``, ``"KDE multi-scale 300-1000 m"``).
    reason : str
        From :func:`hotspots.models.evaluate.choose`.
    rule : str
        What the legend says in brackets after the bandwidth.
    folds : tuple of str
        Test months the choice learnt from.
    overall : str
        What ``auto`` picks among every method from the same folds (the same as ``label``
        unless that is a method the map cannot draw).
    """

    bandwidth: float | tuple[float, ...]
    label: str
    reason: str
    rule: str
    folds: tuple[str, ...]
    overall: str


# ----------------------------------------------------------------------------- pure: auto


def kde_methods() -> list[Method]:
    """The KDE candidates of the back-test registry the map can draw: every fixed bandwidth
    and the multi-scale KDE."""
    return [m for m in default_methods() if m.name in ("kde", "kde_multiscale")]


def method_bandwidth(method: Method) -> float | tuple[float, ...]:
    """The map bandwidth of a KDE candidate: metres, or a tuple for the multi-scale KDE."""
    if method.name == "kde_multiscale":
        return tuple(float(b) for b in method.params["bandwidths"])
    return float(method.params["bandwidth"])


def auto_rule(coverage: float) -> str:
    """The legend's reason for an auto bandwidth, e.g. ``"auto: best back-tested PAI at 5% on
    earlier months"``."""
    return f"auto: best back-tested PAI at {maps.format_share(coverage)} on earlier months"


def auto_choice(result: EvaluationResult, end: str) -> AutoChoice:
    """Pick the map's KDE bandwidth from the back-test folds whose test month is not after ``end``.

    The rule is ``auto``'s (highest mean PAI at the requested area at the selection coverage,
    ties to the larger bandwidth) over the KDE candidates the map can draw (every fixed
    bandwidth and the multi-scale KDE), so on the shipped data the map draws what ``hotspots
    evaluate``'s ``auto`` picks; folds after the map's last month are never used. With no such
    fold the stated fallback (KDE 500 m) is used.

    Parameters
    ----------
    result : EvaluationResult
        :func:`hotspots.models.evaluate.evaluate_store` with the default methods.
    end : str
        The map's last month, ``YYYY-MM``.

    Returns
    -------
    AutoChoice
    """
    cov = float(result.params["select_coverage"])
    detail = result.detail[(result.detail["label"] != "auto")
                           & np.isclose(result.detail["coverage"].astype(float), cov)
                           & (result.detail["test"].astype(str) <= end)]
    candidates = kde_methods()
    label, reason = choose(detail, candidates, fallback=FALLBACK_LABEL)
    overall, _ = choose(detail, default_methods(), fallback=FALLBACK_LABEL)
    bandwidth = method_bandwidth(next(m for m in candidates if m.label == label))
    folds = tuple(sorted(detail["test"].astype(str).unique()))
    rule = auto_rule(cov) if folds else \
        f"auto: no back-test month up to {maps.period_label(end, end)}, fallback"
    return AutoChoice(bandwidth=bandwidth, label=label, reason=reason, rule=rule, folds=folds,
                      overall=overall)


# ----------------------------------------------------------------------------- pure: recipes


def _fine_from_coarse(values: np.ndarray, coarse: Grid, fine: Grid) -> np.ndarray:
    """Give each cell of ``fine`` the value of the ``coarse`` cell holding its centre."""
    x, y = fine.centres(mesh=True)
    row, col = coarse.cell_index(x.ravel(), y.ravel())
    out = np.zeros(fine.n_cells, dtype=float)
    ok = row >= 0
    out[ok] = values[row[ok], col[ok]]
    return out.reshape(fine.shape)


def _mapped_xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    x = frame["x"].to_numpy(dtype=float, na_value=np.nan)
    y = frame["y"].to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def score_gistar_hot(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                     study_area: BaseGeometry | None = None, *, cell: float,
                     distance: float | None = None, correction: str = "fdr_bh") -> np.ndarray:
    """Score the back-test grid by the Gi* map's hot cells: bin +1..+3 inside, 0 elsewhere.

    Gi* runs on the training incidents exactly as the map does (``cell``, ``distance``,
    ``correction``); each 100 m back-test cell takes the bin of the Gi* cell holding its centre,
    cold and not significant cells score 0, so at coverage 1 the flagged area is the map's hot
    cells at 90 % confidence or more.
    """
    from hotspots.models.gistar import gi_star_grid

    x, y = _mapped_xy(train)
    if not x.size:
        return np.zeros(grid.shape)
    res = gi_star_grid(x, y, study_area=study_area, cell=cell, distance=distance,
                       correction=correction)
    return _fine_from_coarse(np.maximum(res.bin.astype(float), 0.0), res.grid, grid)


def score_emerging_hot(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                       study_area: BaseGeometry | None = None, *, cell: float | None = None,
                       correction: str = "fdr_bh") -> np.ndarray:
    """Score the back-test grid by the emerging map's cells hot in the last training month.

    Emerging hot spots run on the training months as time steps (``months_held`` = the
    window); cells whose pattern is hot in the final step (:data:`HOT_NOW`: every hot class but
    historical) score 1.
    """
    from hotspots.models.emerging import emerging_hotspots

    if not len(train):
        return np.zeros(grid.shape)
    res = emerging_hotspots(train, study_area=study_area, cell=cell, correction=correction,
                            months_held=list(window))
    coarse = Grid.from_dict(res.attrs["params"]["grid"])
    hot = np.zeros(coarse.shape)
    flag = res["pattern"].astype(str).isin(HOT_NOW).to_numpy()
    hot[res["row"].to_numpy()[flag], res["col"].to_numpy()[flag]] = 1.0
    return _fine_from_coarse(hot, coarse, grid)


def hull_cells(hulls: Sequence[BaseGeometry], grid: Grid) -> np.ndarray:
    """Return a bool ``(ny, nx)`` array: cells whose square overlaps a hull (touching is not).

    Parameters
    ----------
    hulls : sequence of shapely polygons
        EPSG:27700.
    grid : Grid

    Returns
    -------
    numpy.ndarray
    """
    out = np.zeros(grid.shape, dtype=bool)
    c = grid.cell
    for hull in hulls:
        if hull is None or hull.is_empty:
            continue
        xmin, ymin, xmax, ymax = hull.bounds
        c0 = max(0, int(math.floor((xmin - grid.x0) / c)))
        c1 = min(grid.nx, int(math.ceil((xmax - grid.x0) / c)))
        r0 = max(0, int(math.floor((ymin - grid.y0) / c)))
        r1 = min(grid.ny, int(math.ceil((ymax - grid.y0) / c)))
        if c0 >= c1 or r0 >= r1:
            continue
        cols, rows = np.meshgrid(np.arange(c0, c1), np.arange(r0, r1))
        x0 = grid.x0 + cols.ravel() * c
        y0 = grid.y0 + rows.ravel() * c
        boxes = shapely.box(x0, y0, x0 + c, y0 + c)
        hit = shapely.intersects(hull, boxes) & ~shapely.touches(hull, boxes)
        out[rows.ravel()[hit], cols.ravel()[hit]] = True
    return out


def score_cluster_hulls(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                        study_area: BaseGeometry | None = None, *,
                        method: str = "dbscan") -> np.ndarray:
    """Score the back-test grid by the cluster map: 1 in cells a cluster hull overlaps."""
    from hotspots.models.clusters import find_clusters

    if not len(train):
        return np.zeros(grid.shape)
    try:
        clusters = find_clusters(train, method=method)
    except NoDataError:
        return np.zeros(grid.shape)
    return hull_cells(list(clusters.geometry), grid).astype(float)


def recipe(method: MapMethod, *, bandwidth: float | str | tuple[float, ...] = FALLBACK_BANDWIDTH,
           cell: float | None = None, distance: float | None = None) -> Method:
    """Return the back-test method that makes the map the way the shown map was made.

    Parameters
    ----------
    method : MapMethod
    bandwidth : float, "arcgis" or tuple of float
        KDE bandwidth (metres) or rule; several for the multi-scale KDE.
    cell, distance : float, optional
        Gi* / emerging cell and neighbourhood, metres, as used by the shown map.

    Returns
    -------
    Method
    """
    if method.name == KDE:
        if isinstance(bandwidth, tuple):
            bws = [float(b) for b in bandwidth]
            return Method("kde_multiscale", maps.bandwidth_label(bandwidth), score_kde_multiscale,
                          {"bandwidths": bws, "kernel": "quartic"}, float(np.mean(bws)))
        if isinstance(bandwidth, str):
            label = f"KDE ({maps.bandwidth_rule_label(bandwidth)})"
            return Method("kde", label, score_kde, {"bandwidth": bandwidth, "kernel": "quartic"})
        return Method("kde", f"KDE {float(bandwidth):g} m", score_kde,
                      {"bandwidth": float(bandwidth), "kernel": "quartic"}, float(bandwidth))
    if method.name == GISTAR:
        if cell is None:
            raise ParameterError("the Gi* back-test needs the map's cell size")
        return Method("gistar_map", f"Gi* hot cells ({maps.format_metres(cell)}, 90%+)",
                      score_gistar_hot, {"cell": float(cell), "distance": distance,
                                         "correction": method.correction})
    if method.name == EMERGING:
        return Method("emerging", "emerging hot spots (hot in the last month)",
                      score_emerging_hot, {"cell": cell, "correction": method.correction})
    if method.name == CLUSTERS:
        return Method("clusters", f"{method.cluster_method.upper()} cluster hulls",
                      score_cluster_hulls, {"method": method.cluster_method})
    raise ParameterError(f"unknown map method {method.name!r}; choose one of "
                         + ", ".join(METHODS))


def recipe_words(method: MapMethod, label: str, *, top: float, cell: float | None = None
                 ) -> str:
    """Say how the back-tested map is made, e.g. ``"KDE 300 m, top 5% of the area"``."""
    if method.name == KDE:
        return f"{label}, top {maps.format_share(top)} of the area"
    corr = model_maps.CORRECTION_SHORT.get(method.correction, method.correction)
    if method.name == GISTAR:
        return f"Gi* hot cells at 90% or more ({maps.format_metres(cell or 0)} cells, {corr})"
    if method.name == EMERGING:
        return f"emerging hot spots hot in the last month ({corr})"
    return f"{method.cluster_method.upper()} cluster hulls (cells they overlap)"


def months_label(months: Sequence[str]) -> str:
    """Month runs in words, e.g. ``"Apr 2024, Apr–Dec 2025"``."""
    return maps.missing_months_label(list(months))


def backtest_lines(result: EvaluationResult, *, how: str, train_months: int
                   ) -> tuple[str, str]:
    """Return the back-test's headline and its method line, plain text.

    Parameters
    ----------
    result : EvaluationResult
        A back-test of the map's own recipe (one method, one coverage).
    how : str
        How each month's map is made (:func:`recipe_words`).
    train_months : int
        Training window, months.

    Returns
    -------
    headline, detail : str
        ``"This map would have captured 41% of next month's burglaries in 5% of the area (PAI
        8.2)"`` and how it was measured: test months, window, skipped months.
    """
    label = next(lab for lab in result.summary["label"] if lab != "auto")
    row = result.row(label)
    text = summarise(row["hit_rate"], row["area_share"], row["pai"],
                     crimes=result.params.get("crimes", "crimes"))
    if 0 < float(row["area_share"]) < 0.0005:  # "0.0%" would read as no area at all
        text = text.replace(" in 0.0% of the area", " in under 0.05% of the area")
    periods = list(row.get("periods") or [])
    n = len(periods)
    detail = (f"Back-test: {how}, made from the {train_months} month"
              f"{'' if train_months == 1 else 's'} before each test month; mean over {n} test "
              f"month{'' if n == 1 else 's'} ({months_label(periods)}).")
    gaps = [s for s in result.skipped if "gap" in s["reason"] or "missing" in s["reason"]]
    if gaps:
        detail += (" Months whose window or test month falls in the gap in the data ("
                   + months_label(sorted({m for s in gaps for m in s["missing"]}))
                   + " missing) are not tested.")
    return text[:1].upper() + text[1:] + ".", detail


# ----------------------------------------------------------------------------- pure: models


def load_selection(params: Params, settings: Settings, *, mapped_only: bool = True
                   ) -> pd.DataFrame:
    """The selection's incidents of the period, as the CLI loads them (force's own rows)."""
    from hotspots.query import load_incidents

    inc = load_incidents(settings.store_dir, start=params.start, end=params.end,
                         area=params.area, forces=[settings.force], mapped_only=mapped_only,
                         settings=settings, **params.selection())
    if inc.empty:
        raise NoDataError(f"no mapped {params.crimes()} incidents in {params.area_label()} for "
                          f"{maps.period_label(params.start, params.end)}; widen the period, "
                          "area or crime selection")
    return inc


def gistar_cells(params: Params, settings: Settings, correction: str = "fdr_bh"
                 ) -> gpd.GeoDataFrame:
    """Gi* on grid cells for the selection (as ``hotspots gistar``): the cell squares."""
    from hotspots.models.gistar import gi_star_grid
    from hotspots.spatial.boundaries import area_geometry

    inc = load_selection(params, settings)
    res = gi_star_grid(inc["x"].to_numpy(), inc["y"].to_numpy(),
                       study_area=area_geometry(params.area, settings), correction=correction)
    return res.to_frame()


def emerging_cells(params: Params, settings: Settings, months_held: Sequence[str],
                   correction: str = "fdr_bh") -> gpd.GeoDataFrame:
    """Emerging hot spots for the selection (as ``hotspots emerging``), gaps never zeros."""
    from hotspots.models.emerging import emerging_hotspots
    from hotspots.spatial.boundaries import area_geometry

    inc = load_selection(params, settings)
    return emerging_hotspots(inc, study_area=area_geometry(params.area, settings),
                             correction=correction, months_held=list(months_held))


def cluster_hulls(params: Params, settings: Settings, method: str = "dbscan"
                  ) -> gpd.GeoDataFrame:
    """Density clusters of the selection (``find_clusters`` with its reported defaults)."""
    from hotspots.models.clusters import find_clusters

    return find_clusters(load_selection(params, settings, mapped_only=False), method=method)


def model_areas(method: MapMethod, result: gpd.GeoDataFrame, params: Params,
                settings: Settings, months_held: Sequence[str]) -> MapAreas:
    """A Gi*, emerging or cluster result as ranked areas, for the table and the downloads.

    Gi*: hot cells at 90 % confidence or more after the map's correction, joined where they
    share an edge; emerging: cells of each hot spot pattern, joined within the pattern;
    clusters: the hulls. Each area counts the selection's incidents inside it, with its share,
    in-sample PAI and most frequent map points, as the kernel density areas do.
    """
    from hotspots.models.areas import cluster_areas, emerging_areas, gistar_areas
    from hotspots.spatial.boundaries import area_geometry

    statement = model_statement(method, result, params, months_held)
    if method.name == GISTAR:
        areas = gistar_areas(result, load_selection(params, settings))
    elif method.name == EMERGING:
        areas = emerging_areas(result, load_selection(params, settings))
    elif method.name == CLUSTERS:
        km2 = area_geometry(params.area, settings).area / 1e6
        areas = cluster_areas(result, study_area_km2=km2)
    else:
        raise ParameterError(f"{method.name!r} areas come from the density analysis")
    rule = str(areas.attrs.get("method", {}).get("method", ""))
    if rule:
        statement = f"{statement.rstrip('.')}. Areas: {rule}."
    return MapAreas(method=method.name, name=AREA_NAMES[method.name], areas=areas,
                    statement=statement, legend=AREA_LEGENDS[method.name])


def model_statement(method: MapMethod, result: gpd.GeoDataFrame, params: Params,
                    months_held: Sequence[str]) -> str:
    """The one-line method statement of a model map, as its legend prints it."""
    crimes = params.crimes()
    missing = compute.missing_months(months_held, params.start, params.end)
    p = result.attrs.get("params") or {}
    if method.name == GISTAR:
        return model_maps.gistar_statement(p, start=params.start, end=params.end,
                                           crimes=crimes, missing=missing)
    if method.name == EMERGING:
        return model_maps.emerging_statement(p, crimes=crimes)
    if method.name == CLUSTERS:
        return model_maps.cluster_statement(p, start=params.start, end=params.end,
                                            crimes=crimes, missing=missing)
    raise ParameterError(f"{method.name!r} has no model statement (KDE states its own)")


def model_layer(method: MapMethod, result: gpd.GeoDataFrame, params: Params,
                months_held: Sequence[str], unmapped: int = 0) -> model_maps.ModelLayer:
    """Turn a model result into its map layer with the selection's words."""
    crimes, area = params.crimes(), params.area_label()
    missing = compute.missing_months(months_held, params.start, params.end)
    if method.name == GISTAR:
        return model_maps.gistar_layer(result, crimes=crimes, area=area, start=params.start,
                                       end=params.end, missing=missing, unmapped=unmapped)
    if method.name == EMERGING:
        return model_maps.emerging_layer(result, crimes=crimes, area=area, unmapped=unmapped)
    if method.name == CLUSTERS:
        return model_maps.cluster_layer(result, crimes=crimes, area=area, start=params.start,
                                        end=params.end, missing=missing)
    raise ParameterError(f"{method.name!r} has no model layer (KDE is the density map)")


def result_metrics(method: MapMethod, result: gpd.GeoDataFrame
                   ) -> list[tuple[str, str, str]]:
    """The three headline figures of a model map, as ``(label, value, help)``.

    Gi*: hot cells at 90 % or more, at 99 %, cold cells. Emerging: cells with a hot pattern,
    of which new, consecutive or intensifying, cells with a cold pattern. Clusters: clusters,
    incidents in them, the largest.
    """
    p = result.attrs.get("params", {})
    if method.name == GISTAR:
        hot, cold = p.get("hot", {}), p.get("cold", {})
        cells = (f"{int(p.get('n_cells') or len(result)):,} cells of "
                 f"{maps.format_metres(float(p.get('cell_m', 0)))}")
        return [
            ("Hot cells (90%+)", f"{int(hot.get('90', 0)):,}",
             f"Cells with significantly more incidents around them than the area's average, "
             f"at 90% confidence or more after the correction; of {cells}."),
            ("Hot cells at 99%", f"{int(hot.get('99', 0)):,}",
             "The most confident hot cells (corrected p <= 0.01)."),
            ("Cold cells (90%+)", f"{int(cold.get('90', 0)):,}",
             "Cells significantly quieter than the area's average (not the same as safe).")]
    if method.name == EMERGING:
        pattern = result["pattern"].astype(str)
        hot = int(pattern.str.endswith("hot spot").sum())
        rising = int(pattern.isin(("new hot spot", "consecutive hot spot",
                                   "intensifying hot spot")).sum())
        cold = int(pattern.str.endswith("cold spot").sum())
        steps = int(p.get("n_periods", 0))
        return [
            ("Cells with a hot pattern", f"{hot:,}",
             f"Any hot spot class over the {steps} time steps (ArcGIS Pro's definitions)."),
            ("New, consecutive or intensifying", f"{rising:,}",
             "Hot spots that have appeared or are getting stronger: the ones to watch."),
            ("Cells with a cold pattern", f"{cold:,}", "Any cold spot class.")]
    if method.name == CLUSTERS:
        mapped = int(p.get("mapped", 0))
        inside = int(p.get("clustered_incidents", 0))
        share = f" ({inside / mapped:.0%})" if mapped else ""
        largest = int(result["incidents"].max()) if len(result) else 0
        return [
            ("Clusters", f"{len(result):,}",
             f"Found by {str(p.get('method', '')).upper()}, numbered by size on the map."),
            ("Incidents in clusters", f"{inside:,}{share}",
             f"Of {mapped:,} mapped incidents; the rest are noise (in no cluster)."),
            ("Largest cluster", f"{largest:,} incidents", "Cluster 1 on the map.")]
    raise ParameterError(f"{method.name!r} has no model summary (KDE has the density one)")


# ----------------------------------------------------------------------------- cached


@st.cache_data(show_spinner="Back-testing the methods on earlier months (once per selection)...",
               max_entries=16)
def evaluation(fingerprint: str, settings_key: str, area: str, groups: tuple[str, ...],
               types: tuple[str, ...], _settings: Settings) -> EvaluationResult:
    """Every default method back-tested on the selection's whole history (as ``hotspots
    evaluate``): 3-month windows, 1/2/5/10 % of the area, ``auto`` chosen on earlier folds."""
    from hotspots.models.evaluate import evaluate_store

    sel = Params(area=area, start="", end="", groups=groups, types=types)
    return evaluate_store(_settings.store_dir, area=area, settings=_settings, **sel.selection())


@st.cache_data(show_spinner="Back-testing this map on earlier months...", max_entries=32)
def _backtest(fingerprint: str, settings_key: str, area: str, groups: tuple[str, ...],
              types: tuple[str, ...], method: MapMethod, bandwidth: float | str | tuple[float, ...],
              cell: float | None, distance: float | None, train_months: int, coverage: float,
              _settings: Settings) -> EvaluationResult:
    from hotspots.models.evaluate import evaluate_store

    sel = Params(area=area, start="", end="", groups=groups, types=types)
    m = recipe(method, bandwidth=bandwidth, cell=cell, distance=distance)
    return evaluate_store(_settings.store_dir, area=area, settings=_settings, methods=[m],
                          fallback=m.label, coverages=(coverage,), select_coverage=coverage,
                          train_months=train_months, **sel.selection())


def _sel(params: Params) -> Params:
    return Params(area=params.area, start=params.start, end=params.end, groups=params.groups,
                  types=params.types)


@st.cache_data(show_spinner=False, max_entries=32)
def _model_result(fingerprint: str, settings_key: str, sel: Params, method: MapMethod,
                  months: tuple[str, ...], _settings: Settings) -> gpd.GeoDataFrame:
    if method.name == GISTAR:
        return gistar_cells(sel, _settings, method.correction)
    if method.name == EMERGING:
        return emerging_cells(sel, _settings, months, method.correction)
    if method.name == CLUSTERS:
        return cluster_hulls(sel, _settings, method.cluster_method)
    raise ParameterError(f"{method.name!r} is drawn by the density map")


@st.cache_data(show_spinner=False, max_entries=24)
def _model_areas(fingerprint: str, settings_key: str, sel: Params, method: MapMethod,
                 months: tuple[str, ...], _settings: Settings) -> MapAreas:
    result = _model_result(fingerprint, settings_key, sel, method, months, _settings)
    return model_areas(method, result, sel, _settings, months)


@st.cache_data(show_spinner=False, max_entries=24)
def _model_html(fingerprint: str, settings_key: str, sel: Params, method: MapMethod,
                months: tuple[str, ...], layers: Layers, unmapped: int, _settings: Settings
                ) -> str:
    from hotspots.spatial.boundaries import area_geometry
    from hotspots.ui.dashboard import _neighbours, _symbols

    result = _model_result(fingerprint, settings_key, sel, method, months, _settings)
    layer = model_layer(method, result, sel, months, unmapped)
    counts: list[maps.CountLayer] = []
    if layers.counts:
        counts.extend(_symbols(fingerprint, settings_key, sel.area, sel.start, sel.end,
                               _settings))
    if layers.neighbours:
        counts.append(_neighbours(fingerprint, settings_key, sel, _settings))
    notes = []
    if any(c.shape == "diamond" for c in counts):
        notes.append(compute.SOC_NOTE)
    if any(c.name == compute.NEIGHBOUR_LAYER for c in counts):
        notes.append(compute.NEIGHBOUR_NOTE)
    return model_maps.model_map_page(
        layer, base=maps.load_base_layers(_settings), view=area_geometry(sel.area, _settings),
        settings=_settings, counts=counts, show_services=layers.services, notes=notes,
        title=f"Hotspots ({METHOD_LABELS[method.name]}): {sel.crimes()}, {sel.area_label()}, "
              f"{maps.period_label(sel.start, sel.end)}")


# ----------------------------------------------------------------------------- Streamlit


def resolve_bandwidth(settings: Settings, key: str, fingerprint: str, params: Params) -> Params:
    """Turn the ``auto`` bandwidth into metres and its legend reason (other choices unchanged).

    The back-test runs once per store, area and crime selection (cached); the bandwidth is
    chosen from the folds up to the period's last month. When the back-test cannot run (no
    crime chosen, too little history) the stated fallback, 500 m, is used and the legend says
    so; errors about the selection itself are left to the analysis to show.
    """
    if params.bandwidth != AUTO:
        return params
    try:
        params.selection()
        res = evaluation(fingerprint, key, params.area, params.groups, params.types, settings)
        choice = auto_choice(res, params.end)
    except HotspotsError:
        return replace(params, bandwidth=FALLBACK_BANDWIDTH,
                       bandwidth_rule="auto: no back-test possible for this selection, "
                                      "fallback")
    return replace(params, bandwidth=choice.bandwidth, bandwidth_rule=choice.rule)


def method_controls() -> MapMethod:
    """Draw the map method switcher (above the map) with each method's own option."""
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        name = st.radio(
            "Map method", list(METHODS), horizontal=True, key="hs_method", persist_state=_KEEP,
            format_func=lambda m: METHOD_LABELS[m],
            help="KDE: density surface and the densest share of the area. Gi*: cells with "
                 "significantly more (hot) or fewer (cold) incidents around them than the "
                 "area's average. Emerging hot spots: Gi* month by month with a trend test. "
                 "Clusters: groups of incidents packed closely together (DBSCAN / HDBSCAN).")
    method = MapMethod(name=name or KDE)
    with right:
        if method.name in (GISTAR, EMERGING):
            corr = st.selectbox("Multiple-testing correction", list(CORRECTIONS),
                                key="hs_correction", persist_state=_KEEP,
                                format_func=lambda c: CORRECTION_LABELS[c],
                                help="Hundreds of cells are tested at once. FDR (default, as "
                                     "ArcGIS Pro): the expected share of false hot spots among "
                                     "those flagged stays under the level. Bonferroni: strict. "
                                     "None: each cell on its own.")
            method = replace(method, correction=corr or "fdr_bh")
        elif method.name == CLUSTERS:
            alg = st.radio("Clustering", list(CLUSTER_METHODS), horizontal=True,
                           key="hs_cluster", persist_state=_KEEP,
                           format_func=lambda c: CLUSTER_LABELS[c],
                           help="DBSCAN: incidents within 250 m of enough others. HDBSCAN: "
                                "no radius; keeps the most persistent dense groups.")
            method = replace(method, cluster_method=alg or "dbscan")
    return method


def model_summary(method: MapMethod, settings: Settings, key: str, fingerprint: str,
                  months: tuple[str, ...], params: Params, analysis: compute.Analysis) -> None:
    """The metrics row of a Gi*, emerging or cluster map (in place of the KDE's).

    The incident counts are the analysis's; the three others come from the model (cached).
    When the model cannot run, only the counts are shown: the map below says why.
    """
    cols = st.columns(5)
    cols[0].metric("Incidents", f"{analysis.incidents:,}",
                   help="All incidents matching the selection, mapped or not.")
    cols[1].metric("No location (not mapped)", f"{analysis.no_location:,}",
                   help="Recorded without coordinates: counted, never mapped.")
    try:
        result = _model_result(fingerprint, key, _sel(params), method, months, settings)
    except HotspotsError:
        return
    for col, (label, value, note) in zip(cols[2:], result_metrics(method, result),
                                         strict=True):
        col.metric(label, value, help=note)


def model_map_html(method: MapMethod, settings: Settings, key: str, fingerprint: str,
                   months: tuple[str, ...], params: Params, layers: Layers,
                   unmapped: int = 0) -> str:
    """The offline HTML of a Gi*, emerging or cluster map (cached)."""
    return _model_html(fingerprint, key, _sel(params), method, months, layers, int(unmapped),
                       settings)


def map_areas(method: MapMethod, settings: Settings, key: str, fingerprint: str,
              months: tuple[str, ...], params: Params) -> MapAreas:
    """The ranked areas of a Gi*, emerging or cluster map (cached)."""
    return _model_areas(fingerprint, key, _sel(params), method, months, settings)


def backtest_caption(method: MapMethod, settings: Settings, key: str, fingerprint: str,
                     params: Params, months: tuple[str, ...]) -> None:
    """Under the map: how well maps made this way predicted the next month (cached)."""
    cell = distance = None
    if method.name != KDE:
        try:
            result = _model_result(fingerprint, key, _sel(params), method, months, settings)
        except HotspotsError as exc:
            show_error(exc)
            return
        p = result.attrs.get("params", {})
        cell = p.get("cell_m")
        distance = p.get("distance_m")
    n = len(maps.month_range(params.start, params.end))
    if not plan_folds(months, n)[0]:
        st.caption(md_escape(f"No back-test for this map: no month has {n} complete months of "
                             "data before it. A shorter period back-tests maps made from "
                             "fewer months."))
        return
    coverage = params.top if method.name == KDE else MAP_COVERAGE
    bw = params.bandwidth if method.name == KDE else FALLBACK_BANDWIDTH
    try:
        res = _backtest(fingerprint, key, params.area, params.groups, params.types, method, bw,
                        cell, distance, n, float(coverage), settings)
    except HotspotsError as exc:
        st.caption(md_escape(f"No back-test for this map: {exc}."))
        return
    label = next(lab for lab in res.summary["label"] if lab != "auto")
    headline, detail = backtest_lines(
        res, how=recipe_words(method, label, top=params.top, cell=cell), train_months=n)
    st.markdown(f"**{md_escape(headline)}**")
    st.caption(md_escape(detail) + " Every method compared: the Evaluation view.")

