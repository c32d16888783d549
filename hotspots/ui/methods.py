"""The Hotspots view's map method switcher, auto bandwidth and back-test line (Streamlit).

The pure parts (auto choice, back-test recipes and their wording, model results as areas) are
:mod:`hotspots.methods`, shared with ``hotspots report``; here they are fed the dashboard's
selection (:class:`hotspots.ui.compute.Params`) and cached with ``st.cache_data`` keyed by the
store fingerprint, the settings key and the parameters, as :mod:`hotspots.ui.dashboard` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import streamlit as st

from hotspots import base_layers, count_symbols, methods, model_maps, wording
from hotspots.config import Settings
from hotspots.errors import HotspotsError, NoDataError, ParameterError
from hotspots.methods import (
    AUTO,
    CLUSTER_LABELS,
    CLUSTER_METHODS,
    CLUSTERS,
    CORRECTION_LABELS,
    CORRECTIONS,
    EMERGING,
    FALLBACK_BANDWIDTH,
    GISTAR,
    KDE,
    MAP_COVERAGE,
    METHOD_LABELS,
    METHODS,
    MapAreas,
    MapMethod,
    auto_choice,
    backtest_lines,
    fallback_choice,
    recipe,
    recipe_words,
)
from hotspots.models.evaluate import EvaluationResult, plan_folds
from hotspots.months import missing_months, month_range
from hotspots.ui import compute
from hotspots.ui.compute import Params
from hotspots.ui.dashboard import _KEEP, md_escape, show_error

if TYPE_CHECKING:
    from hotspots.ui.dashboard import Layers


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
                          f"{wording.period_label(params.start, params.end)}; widen the period, "
                          "area or crime selection")
    return inc


def _run(params: Params, settings: Settings, method: MapMethod,
         months_held: Sequence[str]) -> gpd.GeoDataFrame:
    from hotspots.spatial.boundaries import area_geometry

    inc = load_selection(params, settings, mapped_only=method.name != CLUSTERS)
    return methods.model_result(method, inc, study_area=area_geometry(params.area, settings),
                                months_held=months_held)


def gistar_cells(params: Params, settings: Settings, correction: str = "fdr_bh"
                 ) -> gpd.GeoDataFrame:
    """Gi* on grid cells for the selection (as ``hotspots gistar``): the cell squares."""
    return _run(params, settings, MapMethod(GISTAR, correction=correction), ())


def emerging_cells(params: Params, settings: Settings, months_held: Sequence[str],
                   correction: str = "fdr_bh") -> gpd.GeoDataFrame:
    """Emerging hot spots for the selection (as ``hotspots emerging``), gaps never zeros."""
    return _run(params, settings, MapMethod(EMERGING, correction=correction), months_held)


def cluster_hulls(params: Params, settings: Settings, method: str = "dbscan"
                  ) -> gpd.GeoDataFrame:
    """Density clusters of the selection (``find_clusters`` with its reported defaults)."""
    return _run(params, settings, MapMethod(CLUSTERS, cluster_method=method), ())


def model_areas(method: MapMethod, result: gpd.GeoDataFrame, params: Params,
                settings: Settings, months_held: Sequence[str]) -> MapAreas:
    """A Gi*, emerging or cluster result as ranked areas (:func:`hotspots.methods.model_areas`
    on the selection's period)."""
    from hotspots.spatial.boundaries import area_geometry

    if method.name not in (GISTAR, EMERGING, CLUSTERS):
        raise ParameterError(f"{method.name!r} areas come from the density analysis")
    return methods.model_areas(method, result, load_selection(params, settings), start=params.start,
                               end=params.end, crimes=params.crimes(),
                               study_area=area_geometry(params.area, settings),
                               months_held=months_held)


def model_layer(method: MapMethod, result: gpd.GeoDataFrame, params: Params,
                months_held: Sequence[str], unmapped: int = 0) -> model_maps.ModelLayer:
    """Turn a model result into its map layer with the selection's words."""
    crimes, area = params.crimes(), params.area_label()
    missing = missing_months(params.start, params.end, months_held)
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
                 f"{wording.format_metres(float(p.get('cell_m', 0)))}")
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
    counts: list[count_symbols.CountLayer] = []
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
        layer, base=base_layers.load_base_layers(_settings),
        view=area_geometry(sel.area, _settings),
        settings=_settings, counts=counts, show_services=layers.services, notes=notes,
        title=f"Hotspots ({METHOD_LABELS[method.name]}): {sel.crimes()}, {sel.area_label()}, "
              f"{wording.period_label(sel.start, sel.end)}")


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
    except HotspotsError as exc:
        choice = fallback_choice(str(exc))
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
    n = len(month_range(params.start, params.end))
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

