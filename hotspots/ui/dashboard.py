"""The Streamlit dashboard page: the sidebar's shared selection, then one of four views.

Hotspots: offline hotspot map (KDE, Gi*, emerging, clusters), summary and monthly trend
(:mod:`hotspots.ui.hotspot_view`). Corridors: the Strategic Road Network coloured by network
kernel density, junctions sized by nearby incidents, a ranked junction table and the corridor
band chart (:mod:`hotspots.ui.corridors`). Evaluation: back-test measures and near-repeat tables
(:mod:`hotspots.ui.evaluation`). Disruption: suggested stop-check sites
(:mod:`hotspots.ui.disruption`). The area, period and crime filters are shared by all views.

Run with ``streamlit run app.py``. Heavy work lives in :mod:`hotspots.ui.compute` and
:mod:`hotspots.ui.corridor_compute` (no Streamlit) and is cached by the views with
``st.cache_data`` keyed by the store fingerprint and the parameters (the SRN graph with
``st.cache_resource``, once per process; :mod:`hotspots.ui.common`). Library errors
(:class:`~hotspots.errors.HotspotsError`) are shown with ``st.error`` and the rest of the page
keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from hotspots import wording
from hotspots.config import Settings, load_settings
from hotspots.errors import HotspotsError, NoDataError
from hotspots.months import missing_months
from hotspots.store import store_fingerprint
from hotspots.ui import auth, basemap, corridors, disruption, evaluation, hotspot_view, meeting
from hotspots.ui.common import (
    CORRIDORS,
    DEFAULT_MONTHS,
    DISRUPTION,
    EVALUATION,
    VIEWS,
    Layers,
    load_srn_graph,
    md_escape,
    settings_cache_key,
    show_error,
)
from hotspots.ui.compute import (
    FORCE_AREA,
    GROUP_LABELS,
    SOC_NOTE,
    Params,
    Scope,
    context_only_forces,
    default_scope,
    scopes,
)
from hotspots.ui.corridors import CorridorControls

#: Session-state key of the force / region picker.
SCOPE_KEY = "scope"
_SCOPE_READ = "_hs_scope_read"

# Tighter page for shared screens: less empty space above the title and between blocks.
_PAGE_CSS = """<style>
.block-container { padding-top: 1.2rem; padding-bottom: 1.5rem; }
h1 { padding-top: 0; padding-bottom: 0.2rem; }
[data-testid="stMetricValue"] { font-size: 1.9rem; }
</style>"""


# ----------------------------------------------------------------------------------- caching


@st.cache_resource(show_spinner="Building the incident store from the shipped data...")
def _ensure_store(settings_key: str, _settings: Settings) -> dict | None:
    """Build the store from the shipped data on first run (once per process)."""
    from hotspots.ingest import build_default_store

    report = build_default_store(_settings)
    return report.to_dict() if report is not None else None


@st.cache_data(show_spinner=False, max_entries=16)
def _store_info(fingerprint: str, settings_key: str, forces: tuple[str, ...],
                _settings: Settings
                ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Months held for the forces, crime types held, the forces' districts."""
    from hotspots.query import available_months, crime_types
    from hotspots.spatial.boundaries import district_names

    return (tuple(available_months(settings=_settings, forces=list(forces))),
            tuple(crime_types(settings=_settings)),
            tuple(district_names(_settings, list(forces))))


@st.cache_data(show_spinner=False, max_entries=4)
def _forces(fingerprint: str, settings_key: str, _settings: Settings) -> tuple[str, ...]:
    from hotspots.store import store_forces

    return tuple(store_forces(_settings.store_dir))


@st.cache_data(show_spinner=False, max_entries=4)
def _scopes(fingerprint: str, settings_key: str, _settings: Settings) -> tuple[Scope, ...]:
    """The force / region picker's choices for the store's forces."""
    held = _forces(fingerprint, settings_key, _settings)
    return tuple(scopes(_settings, held, context_only_forces(_settings, held)))


def _neighbours(scope: Scope, settings: Settings) -> tuple[str, ...]:
    """The registry's neighbours of the chosen forces (not themselves)."""
    from hotspots.forces import registry

    forces = registry(settings)
    near = {n for f in scope.forces if f in forces for n in forces[f].neighbours}
    return tuple(sorted(near - set(scope.forces)))


# ----------------------------------------------------------------------------------- the scope


def current_scope(choices: Sequence[Scope], settings: Settings) -> Scope:
    """The picker's value on this run: the widget's, else the link's ``force=`` / ``region=``
    (when the store holds it), else the default (:func:`default_scope`)."""
    by_value = {c.value: c for c in choices}
    chosen = st.session_state.get(SCOPE_KEY)
    if chosen in by_value:
        return by_value[chosen]
    if not st.session_state.get(_SCOPE_READ):
        found = meeting.scope_from_url(choices)
        if found is not None:
            return found
    scope = default_scope(settings, choices)
    if scope is None:
        raise NoDataError("the incident store holds no force of England and Wales; load "
                          "police.uk files with `hotspots ingest`")
    return scope


def _scope_picker(choices: Sequence[Scope], scope: Scope) -> Scope:
    """The Force / region selectbox (first in the selection)."""
    by_value = {c.value: c for c in choices}
    st.session_state[_SCOPE_READ] = True
    if st.session_state.get(SCOPE_KEY) not in by_value:
        st.session_state[SCOPE_KEY] = scope.value
    value = st.selectbox(
        "Force or region", list(by_value), key=SCOPE_KEY,
        format_func=lambda v: by_value[v].label,
        help="The forces whose incidents the views analyse: the forces the store holds, and "
             "the regions (ROCU, or your own [regions] in hotspots.toml) of which it holds at "
             "least two forces. Districts follow the choice.")
    return by_value[value]


# ----------------------------------------------------------------------------------- sidebar


def _month_label(month: str) -> str:
    return wording.period_label(month, month)


def _sidebar(months: Sequence[str], types: Sequence[str], districts: Sequence[str],
             forces: Sequence[str] = (), choices: Sequence[Scope] = (),
             scope: Scope | None = None, expected: Sequence[str] = ()
             ) -> tuple[str, Params, Layers, CorridorControls]:
    """Draw the sidebar; return the view, the selection, the optional layers and the corridor
    controls (the controls of the view not shown keep their values, at their defaults here)."""
    layers, corridor = Layers(), CorridorControls()
    with st.sidebar:
        view = st.radio("View", list(VIEWS), horizontal=True, key="view",
                        help="Hotspots: where the selected crimes concentrate. Corridors: crime "
                             "along the Strategic Road Network and around its junctions. "
                             "Evaluation: how well each method would have predicted the next "
                             "month. Disruption: where to put stop-checks. All use the "
                             "selection below.")
        st.header("Selection")
        if scope is not None and len(choices) > 1:
            scope = _scope_picker(choices, scope)
        elif scope is not None:
            st.caption(f"Force: {md_escape(scope.label)} (the only force the store holds)")
        own_force = tuple(scope.forces) if scope is not None else ()
        whole = (f"{scope.name} ({'force areas' if len(scope.forces) > 1 else 'force area'})"
                 if scope is not None else "Force area")
        if st.session_state.get("area", FORCE_AREA) not in (FORCE_AREA, *districts):
            st.session_state["area"] = FORCE_AREA  # a district of the forces chosen before
        area = st.selectbox(
            "Area", [FORCE_AREA, *districts], key="area",
            format_func=lambda a: whole if a == FORCE_AREA else a)
        where = ({} if scope is None else
                 {"forces": scope.forces, "region": scope.region, "forces_name": scope.name})
        default = (months[max(0, len(months) - DEFAULT_MONTHS)], months[-1])
        held = st.session_state.get("period")
        if held is not None and not set(held) <= set(months):
            del st.session_state["period"]  # months of the forces chosen before
        if len(months) > 1:
            start, end = st.select_slider("Months", options=list(months), value=default,
                                          format_func=_month_label, key="period")
        else:
            start = end = months[0]
            st.caption(f"Months: {md_escape(_month_label(months[0]))} (the only month held)")
        gap = missing_months(months[0], months[-1], months)
        if gap:
            st.caption("No police.uk data is held for "
                       f"{md_escape(wording.missing_months_label(gap))}: the slider skips it "
                       "and the monthly chart shows the gap.")
        groups = st.multiselect("Crime groups", list(GROUP_LABELS), default=["acquisitive"],
                                format_func=lambda g: GROUP_LABELS.get(g, g), key="groups")
        st.caption(SOC_NOTE)
        chosen_types = st.multiselect(
            "Crime types (optional)", list(types), default=[], key="types",
            help="Pick crime types to analyse them alone: they replace the group selection.")

        if view == CORRIDORS:
            corridor = corridors.controls(forces, own_force, expected)
            params = Params(area=area, start=start, end=end, groups=tuple(groups),
                            types=tuple(chosen_types), **where)
            return view, params, layers, corridor
        if view in (DISRUPTION, EVALUATION):  # their own controls: in their own modules
            return view, Params(area=area, start=start, end=end, groups=tuple(groups),
                                types=tuple(chosen_types), **where), layers, corridor

        bandwidth, top, layers, rule = hotspot_view.controls()
    params = Params(area=area, start=start, end=end, groups=tuple(groups),
                    types=tuple(chosen_types), bandwidth=bandwidth, top=top,
                    n_areas=rule.n_areas, max_area_km2=rule.max_area_km2, **where)
    return view, params, layers, corridor


# ----------------------------------------------------------------------------------- page


def main() -> None:
    """Draw the dashboard (the body of ``app.py``)."""
    # Before any other Streamlit call, so before the settings name the force.
    st.set_page_config(page_title="Hotspots", layout="wide",
                       initial_sidebar_state=meeting.sidebar_state())
    auth.gate()  # sign-in and role (deployment mode) or the local-mode note, before any data
    st.html(_PAGE_CSS)
    try:
        settings = basemap.served(load_settings())
        key = settings_cache_key(settings)
        _ensure_store(key, settings)
        fingerprint = store_fingerprint(settings.store_dir)
        choices = _scopes(fingerprint, key, settings)
        scope = current_scope(choices, settings)
        # The views' settings name the picker's first force, so every library default that
        # reads ``settings.force`` follows the picker; the forces themselves are in Params.
        settings = settings.with_(force=scope.forces[0])
        key = settings_cache_key(settings)
        months, types, districts = _store_info(fingerprint, key, scope.forces, settings)
        if not months:
            raise NoDataError("the incident store holds no months; load data with "
                              "`hotspots ingest`")
    except HotspotsError as exc:
        st.title("Crime hotspots")
        show_error(exc)
        return

    meeting.restore_view(months, types, districts, choices)  # a link's view, before widgets
    view, params, layers, corridor = _sidebar(months, types, districts,
                                              _forces(fingerprint, key, settings),
                                              choices, scope, _neighbours(scope, settings))
    meeting.present(view, params, settings)  # URL kept; meeting mode title and styles
    basemap.coverage_note(settings, params.area)
    if view == CORRIDORS:
        corridors.corridors_view(settings, key, fingerprint, months, params, corridor)
    elif view == DISRUPTION:
        own = tuple(params.force_list(settings))
        disruption.disruption_view(settings, key, fingerprint, months, params,
                                   lambda: load_srn_graph(key, settings, own))
    elif view == EVALUATION:
        evaluation.evaluation_view(settings, key, fingerprint, months, params)
    else:
        hotspot_view.hotspots_view(settings, key, fingerprint, months, params, layers)
