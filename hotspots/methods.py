"""Map methods (KDE, Gi*, emerging hot spots, clusters): auto bandwidth, back-test recipes, areas.

What the dashboard's map switcher and ``hotspots report --method`` share: which KDE surface
``auto`` draws for a period, the back-test recipe that makes each month's map the way a shown
map was made (and the words for its result), and a model result turned into the ranked areas
that the hotspot table, the downloads and the tasking pack show. Plain frames and parameters in
and out; no Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hotspots import wording
from hotspots.errors import NoDataError, ParameterError
from hotspots.models.evaluate import (
    FALLBACK_LABEL,
    EvaluationResult,
    Method,
    choose,
    default_methods,
    score_kde,
    score_kde_multiscale,
    summarise,
)
from hotspots.months import missing_months
from hotspots.spatial.grid import Grid

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from hotspots.config import Settings

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
    return f"auto: best back-tested PAI at {wording.format_share(coverage)} on earlier months"


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
        f"auto: no back-test month up to {wording.period_label(end, end)}, fallback"
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


def _mapped(incidents: pd.DataFrame) -> pd.DataFrame:
    """The incidents a map can place (:func:`hotspots.schema.located_xy`)."""
    from hotspots.schema import located_xy

    return incidents[located_xy(incidents)[0]]


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

    mapped = _mapped(train)
    if mapped.empty:
        return np.zeros(grid.shape)
    res = gi_star_grid(mapped["x"].to_numpy(dtype=float), mapped["y"].to_numpy(dtype=float),
                       study_area=study_area, cell=cell, distance=distance,
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
            return Method("kde_multiscale", wording.bandwidth_label(bandwidth),
                          score_kde_multiscale, {"bandwidths": bws, "kernel": "quartic"},
                          float(np.mean(bws)))
        if isinstance(bandwidth, str):
            label = f"KDE ({wording.bandwidth_rule_label(bandwidth)})"
            return Method("kde", label, score_kde, {"bandwidth": bandwidth, "kernel": "quartic"})
        return Method("kde", f"KDE {float(bandwidth):g} m", score_kde,
                      {"bandwidth": float(bandwidth), "kernel": "quartic"}, float(bandwidth))
    if method.name == GISTAR:
        if cell is None:
            raise ParameterError("the Gi* back-test needs the map's cell size")
        return Method("gistar_map", f"Gi* hot cells ({wording.format_metres(cell)}, 90%+)",
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
        return f"{label}, top {wording.format_share(top)} of the area"
    corr = wording.CORRECTION_SHORT.get(method.correction, method.correction)
    if method.name == GISTAR:
        return f"Gi* hot cells at 90% or more ({wording.format_metres(cell or 0)} cells, {corr})"
    if method.name == EMERGING:
        return f"emerging hot spots hot in the last month ({corr})"
    return f"{method.cluster_method.upper()} cluster hulls (cells they overlap)"


def months_label(months: Sequence[str]) -> str:
    """Month runs in words, e.g. ``"Apr 2024, Apr–Dec 2025"``."""
    return wording.missing_months_label(list(months))


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




# ----------------------------------------------------------------------------- models


def check_method(method: MapMethod) -> MapMethod:
    """Return ``method`` if its name and options are known, else raise a one-line error."""
    if method.name not in METHODS:
        raise ParameterError(f"unknown map method {method.name!r}; choose one of "
                             + ", ".join(METHODS))
    if method.correction not in CORRECTIONS:
        raise ParameterError(f"unknown correction {method.correction!r}; choose one of "
                             + ", ".join(CORRECTIONS))
    if method.cluster_method not in CLUSTER_METHODS:
        raise ParameterError(f"unknown clustering {method.cluster_method!r}; choose one of "
                             + ", ".join(CLUSTER_METHODS))
    return method


def model_result(method: MapMethod, incidents: pd.DataFrame, *,
                 study_area: BaseGeometry | None, months_held: Sequence[str]
                 ) -> gpd.GeoDataFrame:
    """Run a Gi*, emerging or cluster map's model on a period's incidents.

    As ``hotspots gistar``, ``hotspots emerging`` and ``hotspots clusters`` run them: Gi* on
    the study area's default grid (cell = shorter side / 50, rounded to 100 m), emerging hot
    spots with ``months_held`` as the time steps (a month the data lacks is dropped, never a
    zero), clusters with their reported defaults (incidents without a location are counted by
    the clustering, not clustered).

    Parameters
    ----------
    method : MapMethod
        Not ``"kde"`` (the density surface is :func:`hotspots.models.kde.kernel_density`).
    incidents : pandas.DataFrame
        Canonical incidents of the period and crime selection, mapped or not.
    study_area : shapely geometry, optional
        EPSG:27700.
    months_held : sequence of str
        The months the source holds, ``YYYY-MM``.

    Returns
    -------
    geopandas.GeoDataFrame
        Gi* cells, emerging cells or cluster hulls, with ``attrs["params"]``.
    """
    check_method(method)
    if method.name == GISTAR:
        from hotspots.models.gistar import gi_star_grid

        mapped = _mapped(incidents)
        res = gi_star_grid(mapped["x"].to_numpy(), mapped["y"].to_numpy(),
                           study_area=study_area, correction=method.correction)
        return res.to_frame()
    if method.name == EMERGING:
        from hotspots.models.emerging import emerging_hotspots

        return emerging_hotspots(_mapped(incidents), study_area=study_area,
                                 correction=method.correction, months_held=list(months_held))
    if method.name == CLUSTERS:
        from hotspots.models.clusters import find_clusters

        return find_clusters(incidents, method=method.cluster_method)
    raise ParameterError("the KDE map is the density surface: no model result")


def model_statement(method: MapMethod, result: gpd.GeoDataFrame, *, start: str, end: str,
                    crimes: str, missing: Sequence[str] = ()) -> str:
    """The one-line method statement of a Gi*, emerging or cluster map, as its legend prints it.

    ``missing``: months of the period the data lacks (said, never read as zero).
    """
    p = result.attrs.get("params") or {}
    if method.name == GISTAR:
        return wording.gistar_statement(p, start=start, end=end, crimes=crimes,
                                        missing=list(missing))
    if method.name == EMERGING:
        return wording.emerging_statement(p, crimes=crimes)
    if method.name == CLUSTERS:
        return wording.cluster_statement(p, start=start, end=end, crimes=crimes,
                                         missing=list(missing))
    raise ParameterError(f"{method.name!r} has no model statement (KDE states its own)")


def area_recipe(method: MapMethod | str, areas: gpd.GeoDataFrame) -> tuple[Method, str]:
    """The back-test recipe of a map whose areas are ``areas``, and how it makes each map.

    The cell size, neighbourhood, correction and clustering come from the model parameters
    the areas carry (``attrs["method"]["model"]``, as :func:`model_areas` leaves them), so
    each test month's map is made the way the shown one was.

    Parameters
    ----------
    method : MapMethod or str
        The method that made ``areas`` ("gistar", "emerging" or "clusters").
    areas : geopandas.GeoDataFrame

    Returns
    -------
    recipe, how : Method, str
        :func:`recipe` and :func:`recipe_words` (e.g. ``"Gi* hot cells at 90% or more
        (1,100 m cells, FDR)"``).
    """
    model = dict(dict(areas.attrs.get("method") or {}).get("model") or {})
    name = method if isinstance(method, str) else method.name
    method = MapMethod(name) if isinstance(method, str) else method
    if model.get("correction") in CORRECTIONS:
        method = replace(method, correction=str(model["correction"]))
    if name == CLUSTERS and model.get("method") in CLUSTER_METHODS:
        method = replace(method, cluster_method=str(model["method"]))
    check_method(method)
    cell, distance = model.get("cell_m"), model.get("distance_m")
    cell = None if cell is None else float(cell)
    distance = None if distance is None else float(distance)
    m = recipe(method, cell=cell, distance=distance)
    return m, recipe_words(method, m.label, top=MAP_COVERAGE, cell=cell)


def model_areas(method: MapMethod, result: gpd.GeoDataFrame, incidents: pd.DataFrame, *,
                start: str, end: str, crimes: str, study_area: BaseGeometry | None,
                months_held: Sequence[str]) -> MapAreas:
    """A Gi*, emerging or cluster result as ranked areas, for the table, downloads and pack.

    Gi*: hot cells at 90 % confidence or more after the map's correction, joined where they
    share an edge; emerging: cells of each hot spot pattern, joined within the pattern;
    clusters: the hulls. Each area counts the period's mapped incidents inside it, with its
    share, in-sample PAI and most frequent map points, as the kernel density areas do.

    Parameters
    ----------
    method : MapMethod
    result : geopandas.GeoDataFrame
        :func:`model_result`.
    incidents : pandas.DataFrame
        The period's incidents the result was made from.
    start, end : str
        The period, ``YYYY-MM``.
    crimes : str
        The crime selection in words.
    study_area : shapely geometry, optional
        EPSG:27700 (the clusters' share of the area).
    months_held : sequence of str
        Months the source holds.

    Returns
    -------
    MapAreas
    """
    from hotspots.models.areas import cluster_areas, emerging_areas, gistar_areas

    check_method(method)
    statement = model_statement(method, result, start=start, end=end, crimes=crimes,
                                missing=missing_months(start, end, months_held))
    if method.name == GISTAR:
        areas = gistar_areas(result, _mapped(incidents))
    elif method.name == EMERGING:
        areas = emerging_areas(result, _mapped(incidents))
    elif method.name == CLUSTERS:
        if study_area is None:
            raise ParameterError("cluster areas need the study area (their share of it)")
        areas = cluster_areas(result, study_area_km2=study_area.area / 1e6)
    else:
        raise ParameterError(f"{method.name!r} areas come from the density analysis")
    rule = str(areas.attrs.get("method", {}).get("method", ""))
    if rule:
        statement = f"{statement.rstrip('.')}. Areas: {rule}."
    return MapAreas(method=method.name, name=AREA_NAMES[method.name], areas=areas,
                    statement=statement, legend=AREA_LEGENDS[method.name])


# ----------------------------------------------------------------------------- auto from a store


def fallback_choice(why: str) -> AutoChoice:
    """The stated fallback (KDE 500 m) when ``auto`` cannot back-test, with the reason."""
    return AutoChoice(bandwidth=FALLBACK_BANDWIDTH, label=FALLBACK_LABEL, reason=why,
                      rule="auto: no back-test possible for this selection, fallback",
                      folds=(), overall=FALLBACK_LABEL)


def resolve_auto(store_dir: str | Path | None = None, *, end: str, area: str | None = None,
                 groups: Sequence[str] | None = None, types: Sequence[str] | None = None,
                 settings: Settings | None = None) -> AutoChoice:
    """The KDE surface ``auto`` draws for a map ending in ``end``, as the dashboard picks it.

    Back-tests the default methods on the selection's whole history
    (:func:`hotspots.models.evaluate.evaluate_store`: 3-month windows, next-month test) and
    applies :func:`auto_choice` to the folds whose test month is not after ``end``. When the
    back-test cannot run (too little history), the fallback KDE 500 m with the reason.

    Parameters
    ----------
    store_dir : path-like, optional
        Default ``settings.store_dir``.
    end : str
        The map's last month, ``YYYY-MM``.
    area : str, optional
        District name, or None/"force".
    groups, types : sequence of str, optional
        One of the two.
    settings : Settings, optional

    Returns
    -------
    AutoChoice
    """
    from hotspots.errors import HotspotsError
    from hotspots.models.evaluate import evaluate_store

    if not groups and not types:
        raise ParameterError("choose crimes with groups=[...] or types=[...]")
    try:
        res = evaluate_store(store_dir, area=area, settings=settings, groups=groups,
                             types=types)
    except HotspotsError as exc:
        # The map itself says when the selection has no data; here only auto falls back.
        return fallback_choice(str(exc))
    return auto_choice(res, end)


def describe_auto(choice: AutoChoice) -> dict[str, Any]:
    """``auto``'s choice as JSON-ready values: label, bandwidth(s), reason, folds, rule."""
    bw = choice.bandwidth
    return {"label": choice.label,
            "bandwidth": list(bw) if isinstance(bw, tuple) else float(bw),
            "reason": choice.reason, "rule": choice.rule, "folds": list(choice.folds),
            "overall": choice.overall}
