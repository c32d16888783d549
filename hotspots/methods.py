"""What every map method shares: auto's bandwidth, back-test recipes and ranked areas.

The dashboard's map switcher, ``hotspots report --method`` and the pack call these; each one
looks the method up in :mod:`hotspots.registry` and calls its spec, so none of them knows a
method by name. Also here: which KDE surface ``auto`` draws for a period (:func:`auto_choice`,
:func:`resolve_auto`) and the words of a back-test's result. Plain frames and parameters in and
out; no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from hotspots import defaults, method_kde, registry, wording
from hotspots.errors import HotspotsError, ParameterError, StoreError
from hotspots.method_spec import (
    MAP_COVERAGE,
    MapAreas,
    MapMethod,
    MethodSpec,
)
from hotspots.models.clusters import CLUSTER_METHODS
from hotspots.models.evaluate import (
    FALLBACK_LABEL,
    EvaluationResult,
    choose,
    evaluate_store,
    summarise,
)
from hotspots.models.patrol import (
    DEFAULT_RULE,
    INTENSITY_BANDWIDTH,
    PatrolRule,
    masked_intensity,
    patrol_areas,
    patrol_recipe,
)
from hotspots.models.scoring import Method
from hotspots.models.significance import CORRECTIONS
from hotspots.months import missing_months
from hotspots.schema import mapped_rows
from hotspots.spatial.grid import Grid

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from hotspots.selection import Selection

#: The bandwidth radio's back-tested option (resolved to metres before the analysis runs).
AUTO = defaults.BANDWIDTH
FALLBACK_BANDWIDTH = defaults.FIXED_BANDWIDTH_M


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
    every = registry.backtest_methods()
    candidates = method_kde.drawable(every)
    label, reason = choose(detail, candidates, fallback=FALLBACK_LABEL)
    overall, _ = choose(detail, every, fallback=FALLBACK_LABEL)
    bandwidth = method_kde.candidate_bandwidth(next(m for m in candidates if m.label == label))
    folds = tuple(sorted(detail["test"].astype(str).unique()))
    rule = auto_rule(cov) if folds else \
        f"auto: no back-test month up to {wording.period_label(end, end)}, fallback"
    return AutoChoice(bandwidth=bandwidth, label=label, reason=reason, rule=rule, folds=folds,
                      overall=overall)


# ----------------------------------------------------------------------------- pure: recipes


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


def spec_of(method: MapMethod | str) -> MethodSpec:
    """The registry spec of a map method (or its name)."""
    return registry.get(method if isinstance(method, str) else method.name)


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
    return spec_of(method).recipe(method, bandwidth=bandwidth, cell=cell, distance=distance)


def recipe_words(method: MapMethod, label: str, *, top: float, cell: float | None = None
                 ) -> str:
    """Say how the back-tested map is made, e.g. ``"KDE 300 m, top 5% of the area"``."""
    return spec_of(method).recipe_words(method, label, top=top, cell=cell)


def _model_spec(method: MapMethod, what: str) -> MethodSpec:
    spec = spec_of(registry.check(method))
    if spec.result is None:
        raise ParameterError(f"the {spec.label} map is the density surface: no model {what}")
    return spec


def model_result(method: MapMethod, incidents: pd.DataFrame, *,
                 study_area: BaseGeometry | None, months_held: Sequence[str]
                 ) -> gpd.GeoDataFrame:
    """Run a model map's method (Gi*, emerging, clusters, ...) on a period's incidents.

    As the matching ``hotspots`` command runs it (:attr:`MethodSpec.result`).

    Parameters
    ----------
    method : MapMethod
        Not the density surface (that is :func:`hotspots.method_kde.density_areas`).
    incidents : pandas.DataFrame
        Canonical incidents of the period and crime selection, mapped or not.
    study_area : shapely geometry, optional
        EPSG:27700.
    months_held : sequence of str
        The months the source holds, ``YYYY-MM``.

    Returns
    -------
    geopandas.GeoDataFrame
        The method's cells or hulls, with ``attrs["params"]``.
    """
    spec = _model_spec(method, "result")
    return spec.result(method, incidents, study_area=study_area, months_held=months_held)


def model_statement(method: MapMethod, result: gpd.GeoDataFrame, *, start: str, end: str,
                    crimes: str, missing: Sequence[str] = ()) -> str:
    """The one-line method statement of a model map, as its legend prints it.

    ``missing``: months of the period the data lacks (said, never read as zero).
    """
    spec = _model_spec(method, "statement")
    return spec.statement(result.attrs.get("params") or {}, start=start, end=end,
                          crimes=crimes, missing=list(missing))


def rule_of(areas: gpd.GeoDataFrame) -> PatrolRule:
    """The rule that drew ``areas``: their patrol rule, or ``PatrolRule(0)`` for the method's
    own areas."""
    info = dict(areas.attrs.get("method") or {})
    if int(info.get("n_areas") or 0) > 0:
        return PatrolRule(int(info["n_areas"]), float(info["max_area_km2"]))
    return PatrolRule(0)


def rule_recipe(method: MapMethod | str, base: Method, rule: PatrolRule, how: str
                ) -> tuple[Method, str]:
    """``base`` as the map's back-test under ``rule``: patrol areas over its score (measured
    at coverage 1), with the words of how each month's map is made; unchanged in share mode."""
    if not rule.patrol:
        return base, how
    spec = spec_of(method)
    # A density map's own words name its share of the area, which patrol areas replace.
    how = f"{base.label}, {rule.words()}" if spec.density else f"{how}; {rule.words()}"
    return patrol_recipe(base, rule, dense=spec.density), how


def area_recipe(method: MapMethod | str, areas: gpd.GeoDataFrame) -> tuple[Method, str]:
    """The back-test recipe of a map whose areas are ``areas``, and how it makes each map.

    The cell size, neighbourhood, correction and clustering come from the model parameters
    the areas carry (``attrs["method"]["model"]``, as :func:`model_areas` leaves them), so
    each test month's map is made the way the shown one was.

    Parameters
    ----------
    method : MapMethod or str
        The method that made ``areas``.
    areas : geopandas.GeoDataFrame

    Returns
    -------
    recipe, how : Method, str
        :func:`recipe` and :func:`recipe_words` (e.g. ``"Gi* hot cells at 90% or more
        (1,100 m cells, FDR)"``).
    """
    model = dict(dict(areas.attrs.get("method") or {}).get("model") or {})
    method = MapMethod(method) if isinstance(method, str) else method
    spec = spec_of(method)
    if "correction" in spec.options and model.get("correction") in CORRECTIONS:
        method = replace(method, correction=str(model["correction"]))
    if "cluster_method" in spec.options and model.get("method") in CLUSTER_METHODS:
        method = replace(method, cluster_method=str(model["method"]))
    registry.check(method)
    cell, distance = model.get("cell_m"), model.get("distance_m")
    cell = None if cell is None else float(cell)
    distance = None if distance is None else float(distance)
    m = recipe(method, cell=cell, distance=distance)
    return rule_recipe(method, m, rule_of(areas),
                       recipe_words(method, m.label, top=MAP_COVERAGE, cell=cell))


def model_areas(method: MapMethod, result: gpd.GeoDataFrame, incidents: pd.DataFrame, *,
                start: str, end: str, crimes: str, study_area: BaseGeometry | None,
                months_held: Sequence[str], rule: PatrolRule = DEFAULT_RULE,
                places: gpd.GeoDataFrame | None = None) -> MapAreas:
    """A model map's result as ranked areas, for the table, downloads and pack.

    Gi*: hot cells at 90 % confidence or more after the map's correction, joined where they
    share an edge; emerging: cells of each hot spot pattern, joined within the pattern;
    clusters: the hulls (:attr:`MethodSpec.areas`). Each area counts the period's mapped
    incidents inside it, with its share, in-sample PAI and most frequent map points, as the
    kernel density areas do.

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
    rule : PatrolRule, default 10 areas of at most 1 km²
        Patrol areas grown on the incidents' density (300 m) inside the cells the model flags
        (:attr:`MethodSpec.cells`), or ``PatrolRule(0)`` for the method's own areas above.
    places : geopandas.GeoDataFrame, optional
        Place points naming the patrol areas.

    Returns
    -------
    MapAreas
    """
    spec = _model_spec(method, "areas")
    statement = model_statement(method, result, start=start, end=end, crimes=crimes,
                                missing=missing_months(start, end, months_held))
    if rule.patrol and spec.cells is not None and study_area is not None:
        mapped = mapped_rows(incidents)
        grid = Grid.from_geometry(study_area, method_kde.CELL_M)
        intensity = masked_intensity(spec.cells(result, grid), mapped, grid)
        areas = patrol_areas(intensity, grid, mapped, study_area=study_area, rule=rule,
                             places=places, basis=f"incident density (quartic, "
                                                  f"{INTENSITY_BANDWIDTH:g} m) in the "
                                                  f"{spec.label} map's cells")
        areas.attrs["method"]["model"] = dict(result.attrs.get("params") or {})
    else:
        areas = spec.areas(result, incidents, study_area=study_area)
    rule = str(areas.attrs.get("method", {}).get("method", ""))
    if rule:
        statement = f"{statement.rstrip('.')}. Areas: {rule}."
    return MapAreas(method=spec.name, name=spec.area_name, areas=areas,
                    statement=statement, legend=spec.area_legend)

# ----------------------------------------------------------------------------- auto from a store


def fallback_choice(why: str) -> AutoChoice:
    """The stated fallback (KDE 500 m) when ``auto`` cannot back-test, with the reason."""
    return AutoChoice(bandwidth=FALLBACK_BANDWIDTH, label=FALLBACK_LABEL, reason=why,
                      rule="auto: no back-test possible for this selection, fallback",
                      folds=(), overall=FALLBACK_LABEL)


def resolve_auto(selection: Selection, store_dir: str | Path | None = None) -> AutoChoice:
    """The KDE surface ``auto`` draws for the selection's map, as the dashboard picks it.

    Back-tests the registry's methods on the selection's whole history
    (:func:`hotspots.models.evaluate.evaluate_store`: 3-month windows, next-month test) and
    applies :func:`auto_choice` to the folds whose test month is not after the selection's
    last month. When the back-test cannot run (too little history), the fallback KDE 500 m
    with the reason.

    Parameters
    ----------
    selection : Selection
        Area and crimes; ``end`` is the map's last month.
    store_dir : path-like, optional
        Default the selection's ``settings.store_dir``.

    Returns
    -------
    AutoChoice
    """
    if not selection.groups and not selection.types:
        raise ParameterError("choose crimes with groups=[...] or types=[...]")
    settings = selection.settings
    try:
        res = evaluate_store(store_dir or settings.store_dir, area=selection.area,
                             settings=settings, forces=list(selection.all_forces),
                             methods=registry.backtest_methods(), **selection.crime_filter)
    except StoreError:
        raise  # a damaged store is named, not hidden behind the fallback
    except HotspotsError as exc:
        # The map itself says when the selection has no data; here only auto falls back.
        return fallback_choice(str(exc))
    return auto_choice(res, selection.end)


def describe_auto(choice: AutoChoice) -> dict[str, Any]:
    """``auto``'s choice as JSON-ready values: label, bandwidth(s), reason, folds, rule."""
    bw = choice.bandwidth
    return {"label": choice.label,
            "bandwidth": list(bw) if isinstance(bw, tuple) else float(bw),
            "reason": choice.reason, "rule": choice.rule, "folds": list(choice.folds),
            "overall": choice.overall}
