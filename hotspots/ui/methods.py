"""The Hotspots view's map method switcher, auto bandwidth and back-test line (Streamlit).

The pure parts (auto choice, back-test recipes and their wording, model results as areas) are
:mod:`hotspots.methods`, shared with ``hotspots report``; here they are fed the dashboard's
selection (:class:`hotspots.ui.compute.Params`) and cached with ``st.cache_data`` keyed by the
store fingerprint, the settings key and the parameters, as every view does
(:mod:`hotspots.ui.common`). The Hotspots view (:mod:`hotspots.ui.hotspot_view`) draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import geopandas as gpd
import pandas as pd
import streamlit as st

from hotspots import base_layers, defaults, methods, model_maps, registry, wording
from hotspots.config import Settings
from hotspots.errors import HotspotsError, NoDataError, ParameterError
from hotspots.method_spec import (
    CLUSTER_LABELS,
    CORRECTION_LABELS,
    MAP_COVERAGE,
    MapAreas,
    MapMethod,
)
from hotspots.methods import (
    AUTO,
    FALLBACK_BANDWIDTH,
    auto_choice,
    backtest_lines,
    fallback_choice,
    recipe,
    recipe_words,
    rule_recipe,
)
from hotspots.models.clusters import CLUSTER_METHODS
from hotspots.models.evaluate import EvaluationResult, plan_folds
from hotspots.models.patrol import PatrolRule
from hotspots.models.significance import CORRECTIONS
from hotspots.months import missing_months, month_range
from hotspots.pack_areas import with_trend
from hotspots.query import select
from hotspots.spatial.places import load_places
from hotspots.ui import compute
from hotspots.ui.common import (
    KEEP,
    Layers,
    backtest_methods,
    load_count_layers,
    md_escape,
    show_error,
)
from hotspots.ui.compute import Params

# ----------------------------------------------------------------------------- pure: models


def switcher_options() -> list[str]:
    """The map switcher's options: every registered map method, in the registry's order."""
    return registry.names()


def switcher_label(name: str) -> str:
    """A switcher option's label (the method's name for people)."""
    return registry.get(name).label


def load_selection(params: Params, settings: Settings, *, mapped_only: bool = True
                   ) -> pd.DataFrame:
    """The selection's incidents of the period, as the CLI loads them (force's own rows)."""
    inc = select(params.to_selection(settings), mapped_only=mapped_only)
    if inc.empty:
        raise NoDataError(f"no mapped {params.crimes()} incidents in {params.area_label()} for "
                          f"{wording.period_label(params.start, params.end)}; widen the period, "
                          "area or crime selection")
    return inc


def model_run(method: MapMethod, params: Params, settings: Settings,
              months_held: Sequence[str] = ()) -> gpd.GeoDataFrame:
    """A model map's result for the selection, as its ``hotspots`` command makes it
    (:func:`hotspots.methods.model_result`); gaps in ``months_held`` are never zeros."""
    spec = methods.spec_of(method)
    inc = load_selection(params, settings, mapped_only=spec.mapped_only)
    return methods.model_result(method, inc, study_area=params.to_selection(settings).geometry,
                                months_held=months_held)


def model_areas(method: MapMethod, result: gpd.GeoDataFrame, params: Params,
                settings: Settings, months_held: Sequence[str]) -> MapAreas:
    """A model map's result as ranked areas (:func:`hotspots.methods.model_areas` on the
    selection's period, under the params' area rule); patrol areas carry their change on the
    previous period."""
    rule = params.rule()
    sel = params.to_selection(settings)
    shown = methods.model_areas(method, result, load_selection(params, settings),
                                start=params.start, end=params.end, crimes=params.crimes(),
                                study_area=sel.geometry, months_held=months_held, rule=rule,
                                places=load_places(settings) if rule.patrol else None)
    if rule.patrol:
        shown = replace(shown, areas=with_trend(shown.areas, sel, months_held))
    return shown


def model_layer(method: MapMethod, result: gpd.GeoDataFrame, params: Params,
                months_held: Sequence[str], unmapped: int = 0) -> model_maps.ModelLayer:
    """Turn a model result into its map layer with the selection's words."""
    spec = methods.spec_of(method)
    if spec.layer is None:
        raise ParameterError(f"the {spec.label} map is the density surface: no model layer")
    return spec.layer(result, crimes=params.crimes(), area=params.area_label(),
                      start=params.start, end=params.end,
                      missing=missing_months(params.start, params.end, months_held),
                      unmapped=unmapped)


def result_metrics(method: MapMethod, result: gpd.GeoDataFrame
                   ) -> list[tuple[str, str, str]]:
    """The three headline figures of a model map, as ``(label, value, help)``
    (:attr:`hotspots.method_spec.MethodSpec.metrics`)."""
    spec = methods.spec_of(method)
    if spec.metrics is None:
        raise ParameterError(f"the {spec.label} map has no model summary (see its legend)")
    return spec.metrics(result)


# ----------------------------------------------------------------------------- cached


@st.cache_data(show_spinner="Back-testing this map on earlier months...", max_entries=128)
def _backtest(fingerprint: str, settings_key: str, area: str, groups: tuple[str, ...],
              types: tuple[str, ...], method: MapMethod, bandwidth: float | str | tuple[float, ...],
              cell: float | None, distance: float | None, train_months: int, coverage: float,
              rule: PatrolRule, _settings: Settings, forces: tuple[str, ...] = ()
              ) -> EvaluationResult:
    from hotspots.models.evaluate import evaluate_store

    sel = Params(area=area, start="", end="", groups=groups, types=types)
    m, _ = rule_recipe(method, recipe(method, bandwidth=bandwidth, cell=cell,
                                      distance=distance), rule, "")
    return evaluate_store(_settings.store_dir, area=area, settings=_settings, methods=[m],
                          forces=list(forces) or None,
                          fallback=m.label, coverages=(coverage,), select_coverage=coverage,
                          train_months=train_months, **sel.selection())


def _sel(params: Params) -> Params:
    return Params(area=params.area, start=params.start, end=params.end, groups=params.groups,
                  types=params.types, **params.scope())


def _sel_rule(params: Params) -> Params:
    """The model's selection and the area rule (what the areas and the map depend on)."""
    return replace(_sel(params), n_areas=params.n_areas, max_area_km2=params.max_area_km2)


@st.cache_data(show_spinner=False, max_entries=48)
def _model_result(fingerprint: str, settings_key: str, sel: Params, method: MapMethod,
                  months: tuple[str, ...], _settings: Settings) -> gpd.GeoDataFrame:
    return model_run(method, sel, _settings, months)


@st.cache_data(show_spinner=False, max_entries=48)
def _model_areas(fingerprint: str, settings_key: str, sel: Params, method: MapMethod,
                 months: tuple[str, ...], _settings: Settings) -> MapAreas:
    result = _model_result(fingerprint, settings_key, _sel(sel), method, months, _settings)
    return model_areas(method, result, sel, _settings, months)


@st.cache_data(show_spinner=False, max_entries=48)
def _model_html(fingerprint: str, settings_key: str, sel: Params, method: MapMethod,
                months: tuple[str, ...], layers: Layers, unmapped: int, _settings: Settings
                ) -> str:
    result = _model_result(fingerprint, settings_key, _sel(sel), method, months, _settings)
    layer = model_layer(method, result, sel, months, unmapped)
    areas = None
    if sel.rule().patrol:
        try:
            areas = _model_areas(fingerprint, settings_key, sel, method, months, _settings).areas
        except HotspotsError:
            areas = None  # the model's own layer still draws
    counts = load_count_layers(fingerprint, settings_key, sel, layers, _settings)
    notes = []
    if any(c.shape == "diamond" for c in counts):
        notes.append(compute.SOC_NOTE)
    if any(c.name == compute.NEIGHBOUR_LAYER for c in counts):
        notes.append(compute.NEIGHBOUR_NOTE)
    if areas is not None and len(areas):
        notes.append("Numbered outlines, ranked as in the table: "
                     + str(areas.attrs.get("method", {}).get("method", "patrol areas")) + ".")
    return model_maps.model_map_page(
        layer, base=base_layers.load_base_layers(_settings, sel.force_list(_settings)),
        view=sel.to_selection(_settings).geometry,
        settings=_settings, counts=counts, show_services=layers.services, notes=notes,
        areas=areas,
        title=f"Hotspots ({methods.spec_of(method).label}): {sel.crimes()}, {sel.area_label()}, "
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
        res = backtest_methods(fingerprint, key, params.area, params.groups, params.types,
                               settings, params.forces)
        choice = auto_choice(res, params.end)
    except HotspotsError as exc:
        choice = fallback_choice(str(exc))
    return replace(params, bandwidth=choice.bandwidth, bandwidth_rule=choice.rule)


def method_controls() -> MapMethod:
    """Draw the map method switcher (above the map) with each method's own options."""
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        name = st.radio(
            "Map method", switcher_options(), horizontal=True, key="hs_method",
            persist_state=KEEP, format_func=switcher_label,
            help=" ".join(spec.help for spec in registry.specs() if spec.help))
    method = MapMethod(name=name or registry.default().name)
    options = methods.spec_of(method).options
    with right:
        if "correction" in options:
            corr = st.selectbox("Multiple-testing correction", list(CORRECTIONS),
                                key="hs_correction", persist_state=KEEP,
                                format_func=lambda c: CORRECTION_LABELS[c],
                                help="Hundreds of cells are tested at once. FDR (default, as "
                                     "ArcGIS Pro): the expected share of false hot spots among "
                                     "those flagged stays under the level. Bonferroni: strict. "
                                     "None: each cell on its own.")
            method = replace(method, correction=corr or defaults.CORRECTION)
        if "cluster_method" in options:
            alg = st.radio("Clustering", list(CLUSTER_METHODS), horizontal=True,
                           key="hs_cluster", persist_state=KEEP,
                           format_func=lambda c: CLUSTER_LABELS[c],
                           help="DBSCAN: incidents within 250 m of enough others. HDBSCAN: "
                                "no radius; keeps the most persistent dense groups.")
            method = replace(method, cluster_method=alg or defaults.CLUSTER_METHOD)
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
    return _model_html(fingerprint, key, _sel_rule(params), method, months, layers,
                       int(unmapped), settings)


def map_areas(method: MapMethod, settings: Settings, key: str, fingerprint: str,
              months: tuple[str, ...], params: Params) -> MapAreas:
    """The ranked areas of a Gi*, emerging or cluster map (cached)."""
    return _model_areas(fingerprint, key, _sel_rule(params), method, months, settings)


def _caption_inputs(method: MapMethod, settings: Settings, key: str, fingerprint: str,
                    params: Params, months: tuple[str, ...]) -> dict:
    """What the back-test under the map is made with (the model's cell and distance read from
    its cached result)."""
    cell = distance = None
    density = methods.spec_of(method).density
    if not density:
        result = _model_result(fingerprint, key, _sel(params), method, months, settings)
        p = result.attrs.get("params", {})
        cell = p.get("cell_m")
        distance = p.get("distance_m")
    rule = params.rule()
    return {"bandwidth": params.bandwidth if density else FALLBACK_BANDWIDTH, "cell": cell,
            "distance": distance, "train_months": len(month_range(params.start, params.end)),
            "coverage": float(params.top if density and not rule.patrol else MAP_COVERAGE),
            "rule": rule}


def _caption_backtest(method: MapMethod, settings: Settings, key: str, fingerprint: str,
                      params: Params, how: dict) -> EvaluationResult:
    return _backtest(fingerprint, key, params.area, params.groups, params.types, method,
                     how["bandwidth"], how["cell"], how["distance"], how["train_months"],
                     how["coverage"], how["rule"], settings, params.forces)


def warm(method: MapMethod, settings: Settings, key: str, fingerprint: str,
         months: tuple[str, ...], params: Params, layers: Layers) -> None:
    """Compute into the caches what the map of ``method`` shows for ``params``: its areas,
    its page and the back-test under it (``params.bandwidth`` already in metres).

    Raises
    ------
    HotspotsError
        When the selection cannot be mapped this way.
    """
    if not methods.spec_of(method).density:
        map_areas(method, settings, key, fingerprint, months, params)
        model_map_html(method, settings, key, fingerprint, months, params, layers)
    how = _caption_inputs(method, settings, key, fingerprint, params, months)
    if plan_folds(months, how["train_months"])[0]:
        _caption_backtest(method, settings, key, fingerprint, params, how)


def backtest_caption(method: MapMethod, settings: Settings, key: str, fingerprint: str,
                     params: Params, months: tuple[str, ...]) -> None:
    """Under the map: how well maps made this way predicted the next month (cached)."""
    try:
        how = _caption_inputs(method, settings, key, fingerprint, params, months)
    except HotspotsError as exc:
        show_error(exc)
        return
    n = how["train_months"]
    if not plan_folds(months, n)[0]:
        st.caption(md_escape(f"No back-test for this map: no month has {n} complete months of "
                             "data before it. A shorter period back-tests maps made from "
                             "fewer months."))
        return
    try:
        res = _caption_backtest(method, settings, key, fingerprint, params, how)
    except HotspotsError as exc:
        st.caption(md_escape(f"No back-test for this map: {exc}."))
        return
    base = recipe(method, bandwidth=how["bandwidth"], cell=how["cell"],
                  distance=how["distance"])
    _, words = rule_recipe(method, base, how["rule"],
                           recipe_words(method, base.label, top=params.top, cell=how["cell"]))
    headline, detail = backtest_lines(res, how=words, train_months=n)
    st.markdown(f"**{md_escape(headline)}**")
    st.caption(md_escape(detail) + " Every method compared: the Evaluation view.")
