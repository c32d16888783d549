"""The dashboard's Hotspots view: summary, hotspot map (KDE, Gi*, emerging, clusters), monthly
trend and the ranked hotspot areas, and its sidebar section (bandwidth, hotspot share, layers).

The density analysis is :mod:`hotspots.ui.compute`'s, cached here with ``st.cache_data`` keyed
by the store fingerprint and the parameters; the other map methods are
:mod:`hotspots.ui.methods`'s.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import altair as alt
import pandas as pd
import streamlit as st

from hotspots import defaults, registry, wording
from hotspots.config import Settings
from hotspots.errors import HotspotsError, NoDataError
from hotspots.method_spec import MapAreas, MapMethod
from hotspots.models.patrol import MAX_AREA_KM2, N_AREAS, PatrolRule
from hotspots.spatial.boundaries import district_names
from hotspots.ui import compute, downloads, live_map, meeting, methods
from hotspots.ui.common import (
    KEEP,
    MAP_HEIGHT,
    Layers,
    load_count_layers,
    md_escape,
    show_error,
    show_header,
    show_sources,
)
from hotspots.ui.compute import FORCE_AREA, GROUP_LABELS, SOC_NOTE, Params

#: Bandwidth of the "Fixed (metres)" slider before it is moved.
BANDWIDTH_DEFAULT = int(defaults.FIXED_BANDWIDTH_M)


# ----------------------------------------------------------------------------------- caching


@st.cache_data(show_spinner=False, max_entries=64)
def _analysis(fingerprint: str, settings_key: str, params: Params, months: tuple[str, ...],
              _settings: Settings) -> compute.Analysis:
    return compute.run_analysis(params, _settings, months)


@st.cache_data(show_spinner=False, max_entries=64)
def _monthly(fingerprint: str, settings_key: str, area: str, groups: tuple[str, ...],
             types: tuple[str, ...], start: str, end: str, months: tuple[str, ...],
             _settings: Settings, forces: tuple[str, ...] = ()) -> pd.DataFrame:
    params = Params(area=area, start=start, end=end, groups=groups, types=types,
                    forces=forces)
    return compute.monthly_counts(params, _settings, months)


@st.cache_data(show_spinner=False, max_entries=64)
def _map_html(fingerprint: str, settings_key: str, params: Params, months: tuple[str, ...],
              layers: Layers, _settings: Settings) -> str:
    analysis = _analysis(fingerprint, settings_key, params, months, _settings)
    counts = load_count_layers(fingerprint, settings_key, params, layers, _settings)
    return compute.map_page(analysis, _settings, counts=counts, show_services=layers.services)


# ----------------------------------------------------------------------------------- warm-up

#: Hotspots reruns in progress in this process: the warm-up waits while there are any, so a
#: sergeant's click never queues behind it.
_RUNNING = [0]
_RUNNING_LOCK = threading.Lock()


def _warm_tasks(settings: Settings, key: str, fingerprint: str, months: tuple[str, ...],
                params: Params, layers: Layers) -> Iterator[Callable[[], object]]:
    """What a meeting asks for next, most likely first: every area with the selection on
    screen, then the other map methods there, then each crime group alone (the caches hold
    them all: see their ``max_entries``)."""
    areas = [params.area, *(a for a in (FORCE_AREA, *district_names(settings))
                            if a != params.area)]
    kde = MapMethod(name=registry.default().name)
    others = [MapMethod(name=n) for n in registry.names() if n != kde.name]

    def kde_map(p: Params) -> None:
        p = methods.resolve_bandwidth(settings, key, fingerprint, p)
        _map_html(fingerprint, key, p, months, layers, settings)
        _monthly(fingerprint, key, p.area, p.groups, p.types, p.start, p.end, months, settings)
        methods.warm(kde, settings, key, fingerprint, months, p, layers)

    for area in areas:
        yield lambda a=area: kde_map(replace(params, area=a))
    for area in areas:
        for m in others:
            yield lambda a=area, m=m: methods.warm(m, settings, key, fingerprint, months,
                                                   replace(params, area=a), layers)
    for group in GROUP_LABELS:
        if (group,) != params.groups:
            for area in areas:
                yield lambda a=area, g=group: kde_map(replace(params, area=a, groups=(g,),
                                                              types=()))


class _NotWarmUp(logging.Filter):
    """Drop Streamlit's "missing ScriptRunContext" notes from the warm-up thread (it has no
    page to draw on, by design)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != _WARM_THREAD


_WARM_THREAD = "hotspots-warm-up"


def _warm(tasks: Iterator[Callable[[], object]]) -> None:
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        _NotWarmUp())
    started, done = time.perf_counter(), 0
    for task in tasks:
        while _RUNNING[0]:
            time.sleep(0.05)
        try:
            task()
            done += 1
        except HotspotsError:
            continue  # a selection with nothing to map: its page says so when asked
        except Exception as exc:  # noqa: BLE001 - a warm-up failure must not stop the page
            print(f"hotspots: warm-up step failed: {exc!r}", file=sys.stderr, flush=True)
    print(f"hotspots: warm-up done: {done} selections in {time.perf_counter() - started:.1f} s",
          file=sys.stderr, flush=True)


@st.cache_resource(show_spinner=False)
def _warmer(fingerprint: str, key: str, _settings: Settings, _months: tuple[str, ...],
            _params: Params, _layers: Layers) -> threading.Thread:
    """Start, once per store version, the background warm-up of the caches (daemon thread)."""
    thread = threading.Thread(
        target=_warm, args=(_warm_tasks(_settings, key, fingerprint, _months, _params, _layers),),
        name=_WARM_THREAD, daemon=True)
    thread.start()
    return thread


# ----------------------------------------------------------------------------------- widgets


def _density_shown() -> bool:
    """Whether the map method chosen last is the density surface (the KDE)."""
    name = st.session_state.get("hs_method")
    spec = registry.get(name) if name in registry.names() else registry.default()
    return spec.density


def controls() -> tuple[float | str | tuple[float, ...], float, Layers, PatrolRule]:
    """Draw the Hotspots view's sidebar sections (inside ``st.sidebar``).

    Returns
    -------
    bandwidth : float or str
        Metres, ``"auto"`` (resolved by :func:`hotspots.ui.methods.resolve_bandwidth`) or
        ``"arcgis"``.
    top : float
        Hotspot share of the area (0-1), used when the areas are the top share.
    layers : Layers
        The optional map layers.
    rule : PatrolRule
        How the map's areas are drawn: patrol areas (default 10 of at most 1 km²) or the
        method's own areas (``n_areas == 0``).
    """
    st.header("Method")
    # The switcher above the map is drawn after the sidebar: its value from the last click
    # says whether the KDE's own controls apply (hidden under Gi*, emerging and clusters,
    # keeping their values).
    density = _density_shown()
    if density:
        mode = st.radio("Bandwidth", ["auto", "fixed", "arcgis"], horizontal=True, key="bw_mode",
                        persist_state=KEEP,
                        format_func={"auto": "Auto (back-tested)", "fixed": "Fixed (metres)",
                                     "arcgis": "ArcGIS Pro rule"}.get,
                        help="Search radius of the quartic kernel. Auto: the bandwidth (or "
                             "the multi-scale mean of 300-1,000 m) whose maps best predicted "
                             "the next month on earlier months (PAI at 5% of the area; see the "
                             "Evaluation view). The ArcGIS Pro rule derives "
                             "it from the spread of the incidents (spatial Silverman variant).")
    else:
        mode = str(st.session_state.get("bw_mode") or "auto")
    bandwidth: float | str | tuple[float, ...]
    if mode == "fixed" and not density:
        bandwidth = float(st.session_state.get("bandwidth") or BANDWIDTH_DEFAULT)
    elif mode == "fixed":
        bandwidth = float(st.slider("Bandwidth, metres", 100, 3000, BANDWIDTH_DEFAULT,
                                    step=50, key="bandwidth", persist_state=KEEP))
    else:
        bandwidth = mode  # "arcgis", or "auto": resolved by hotspots.ui.methods
    kind = st.radio("Hotspot areas", ["patrol", "share"], horizontal=True, key="area_mode",
                    persist_state=KEEP,
                    format_func={"patrol": "Patrol areas", "share": "Share of the area"}.get,
                    help="Patrol areas (default): a handful of ranked, compact areas a "
                         "meeting can task, each grown from a peak of the map's prediction "
                         "and chosen to hold the most of it. Share of the area: the method's "
                         "own areas (the KDE's densest share of the area; every Gi* hot cell, "
                         "emerging hot pattern or cluster).")
    if kind == "share" and not density:
        rule = PatrolRule(0)
        top = float(st.session_state.get("top") or defaults.TOP * 100)
    elif kind == "share":
        rule = PatrolRule(0)
        top = st.slider("Hotspot share of the area, %", 1.0, 20.0, defaults.TOP * 100,
                        step=0.5, key="top", persist_state=KEEP,
                        help="KDE hotspot areas are the densest cells covering this share of "
                             "the study area.")
    else:
        top = defaults.TOP * 100
        n = st.slider("Patrol areas", 1, 20, N_AREAS, key="n_areas", persist_state=KEEP,
                      help=f"How many areas to rank (default {N_AREAS}).")
        size = st.select_slider("Largest patrol area, km²", [0.25, 0.5, 1.0, 1.5, 2.0, 4.0],
                                value=MAX_AREA_KM2, key="max_area", persist_state=KEEP,
                                help="Each area is at most this big (default 1 km²: about ten "
                                     "minutes' walk across).")
        rule = PatrolRule(int(n), float(size))

    st.header("Layers")
    show_counts = st.checkbox("Acquisitive and SOC-linked counts (1 km squares)",
                              value=False, key="show_counts", persist_state=KEEP,
                              help="Circles: acquisitive; diamonds: SOC-linked. One symbol "
                                   "per 1 km square, sized by its count.")
    show_neighbours = st.checkbox(
        "Neighbouring forces' incidents (context, 1 km squares)", value=False,
        key="show_neighbours", persist_state=KEEP,
        help="The selected crimes recorded by neighbouring forces near the border (grey "
             "circles). Context only: they are not in the surface or the summary. Forces "
             "with no data in the store (e.g. West Midlands) cannot be shown.")
    show_services = st.checkbox("Motorway service areas (OpenStreetMap)", value=False,
                                key="show_services", persist_state=KEEP)
    return bandwidth, float(top) / 100.0, Layers(counts=show_counts, neighbours=show_neighbours,
                                                 services=show_services), rule


# ----------------------------------------------------------------------------------- panels


def _summary(analysis: compute.Analysis) -> None:
    p = analysis.params
    cols = st.columns(5)
    cols[0].metric("Incidents", f"{analysis.incidents:,}",
                   help="All incidents matching the selection, mapped or not.")
    cols[1].metric("No location (not mapped)", f"{analysis.no_location:,}",
                   help="Recorded without coordinates: counted here and in the trend, never "
                        "mapped." + (" District views cannot include them: they cannot be "
                                     "placed in a district." if p.area != FORCE_AREA else ""))
    cols[2].metric("Hotspot areas", f"{len(analysis.areas):,}",
                   help=(f"Patrol areas: {p.rule().words()}, grown from the density's peaks."
                         if p.rule().patrol else
                         f"Contiguous groups of the densest cells covering the top "
                         f"{wording.format_share(p.top)} of the study area."))
    share = "–" if analysis.share != analysis.share else f"{analysis.share:.0%}"
    cols[3].metric("Share in hotspots", share,
                   help="Share of the mapped incidents in the study area that fall inside the "
                        "hotspot areas.")
    pai = "–" if analysis.pai != analysis.pai else f"{analysis.pai:.1f}"
    cols[4].metric("PAI (in-sample)", pai,
                   help="Predictive Accuracy Index: share of incidents / share of area. "
                        "In-sample: measured on the same incidents the surface came from.")
    if len(analysis.by_force) > 1:
        st.caption(md_escape(compute.force_counts_line(analysis.by_force)))


def _share_note(analysis: compute.Analysis) -> str:
    """Why nearly every incident is in a hotspot, when it is ("" otherwise)."""
    if not (analysis.share == analysis.share and analysis.share >= 0.99):
        return ""
    # A small bandwidth puts every incident's own cell among the densest: the in-sample share
    # then reads 100%, which looks like an error unless the page says why.
    return (f"{analysis.share:.1%} of mapped incidents lie inside the hotspot areas: at this "
            "bandwidth each incident's own cell is among the densest "
            f"{wording.format_share(analysis.params.top)}. In-sample share and PAI flatter small "
            "bandwidths; the back-test line under the map says how well the map would have "
            "predicted the next month.")


def _monthly_chart(df: pd.DataFrame) -> None:
    order = df["label"].tolist()
    top = float(df["incidents"].max()) if df["incidents"].notna().any() else 1.0
    data = df.assign(period=df["selected"].map({True: "Selected period",
                                                False: "Other months"}),
                     gap_top=top * 1.08)
    x = alt.X("label:N", sort=order, title=None, axis=alt.Axis(labelAngle=-50))
    gaps = (alt.Chart(data).transform_filter("!datum.has_data")
            .mark_bar(color="#d9d9d9", opacity=0.7)
            .encode(x=x, y=alt.Y("gap_top:Q"),
                    tooltip=[alt.Tooltip("label:N", title="Month"),
                             alt.Tooltip("has_data:N", title="Data published")]))
    bars = (alt.Chart(data).transform_filter("datum.has_data")
            .mark_bar()
            .encode(x=x, y=alt.Y("incidents:Q", title="Incidents per month"),
                    color=alt.Color("period:N", title=None,
                                    scale=alt.Scale(domain=["Selected period", "Other months"],
                                                    range=["#0072B2", "#9e9e9e"]),
                                    legend=alt.Legend(orient="top")),
                    tooltip=[alt.Tooltip("label:N", title="Month"),
                             alt.Tooltip("incidents:Q", title="Incidents", format=",.0f")]))
    layers = [gaps, bars]
    runs = wording.missing_months_label(df.loc[~df["has_data"], "month"].tolist())
    if runs:
        missing = df.loc[~df["has_data"]].reset_index(drop=True)
        mid = missing.iloc[[len(missing) // 2]].assign(text="no data published", y=top * 0.55)
        layers.append(alt.Chart(mid).mark_text(angle=270, color="#555555", fontSize=11)
                      .encode(x=alt.X("label:N", sort=order), y="y:Q", text="text:N"))
    st.altair_chart(alt.layer(*layers).properties(height=260), width="stretch")
    if runs:
        st.caption(f"Grey band: no police.uk data published for {md_escape(runs)}. "
                   "The chart leaves the gap empty rather than joining across it.")


#: Method-specific columns of the hotspot table: source column -> (heading, format).
_AREA_EXTRAS = {
    "confidence": ("Confidence", lambda v: f"{int(v)}%"),
    "pattern": ("Pattern", lambda v: str(v)),
    "crime_mix": ("Crime mix", lambda v: str(v)),
}


def area_table(areas: pd.DataFrame, rows: int = 10) -> pd.DataFrame:
    """The first ``rows`` ranked areas as display strings, data escaped for Markdown.

    Parameters
    ----------
    areas : pandas.DataFrame
        :func:`hotspots.models.areas.hotspot_areas` (or the Gi*, emerging or cluster areas:
        their own columns are added, e.g. Confidence, Pattern, Crime mix).
    rows : int, default 10

    Returns
    -------
    pandas.DataFrame
        Indexed by rank.
    """
    top = areas.head(rows)
    table = pd.DataFrame({"Rank": top["rank"].astype(int).astype(str)})
    named = "name" in top.columns
    if named:  # patrol areas: named by place and streets
        table["Area"] = top["name"].astype(str).map(md_escape)
    if "force" in top.columns:  # a map of several forces: the force holding each area
        table["Force"] = top["force"].astype(str).map(md_escape)
    table["Incidents"] = top["incidents"].map(lambda v: f"{int(v):,}")
    table["Share"] = top["share"].map(wording.format_share_1dp)
    table["km²"] = top["area_km2"].map(lambda v: f"{float(v):.2f}")
    if "previous" in top.columns:
        # "–" where the previous count is unknown (a gap in the data)
        table["Trend"] = [md_escape(wording.trend_label(a, b))
                          for a, b in zip(top["incidents"], top["previous"], strict=True)]
    table["PAI"] = top["pai"].map(lambda v: "–" if v != v else f"{float(v):.1f}")
    for col, (heading, fmt) in _AREA_EXTRAS.items():
        if col in top.columns:
            table[heading] = top[col].map(fmt).map(md_escape)
    if {"first_month", "last_month"} <= set(top.columns):
        table["Months"] = [md_escape(wording.period_label(a, b)) for a, b in
                           zip(top["first_month"], top["last_month"], strict=True)]
    # st.table renders Markdown in cells: escape data so a location cannot become a link or
    # an image fetched from elsewhere.
    if not named:
        table["Top locations"] = top["top_locations"].astype(str).map(md_escape)
    return table.set_index("Rank")


def _hotspot_table(areas: pd.DataFrame, name: str, statement: str) -> None:
    if not len(areas):
        st.info(f"No {name.lower()} for this selection." if name != "Hotspot areas" else
                "No hotspot areas: the surface is flat or empty at this share.")
        st.caption(md_escape(statement))
        return
    rows = len(areas) if "name" in areas.columns else 10
    st.table(area_table(areas, rows))
    shown = f"The {min(len(areas), rows)} with most incidents, of {len(areas):,}. " \
        if len(areas) > rows else ""
    trend = (" Trend: the change on the previous period of equal length (– where a month of "
             "either period has no data)." if "previous" in areas.columns else "")
    st.caption(md_escape(f"{name}. {shown}Share and PAI are in-sample (the period's own "
                         f"incidents).{trend} {statement}") + " Click an area on the map for "
               "its details.")


def _about(settings: Settings) -> None:
    with st.expander("Method, data and caveats"):
        st.markdown(
            "- **Kernel density** (quartic kernel) is evaluated at the centre of every 100 m "
            "cell of the national grid; values are incidents per km². The **hotspot areas** are "
            "the densest cells covering the chosen share of the area, joined where they share "
            "an edge and ranked by the incidents inside them.\n"
            "- **PAI** (Predictive Accuracy Index) = share of incidents / share of area. It is "
            "*in-sample* here: measured on the incidents the surface was made from, so it "
            "flatters; test it on a later period before relying on it.\n"
            f"- {SOC_NOTE}\n"
            "- police.uk places each crime on an anonymous map point (\"On or near ...\") and "
            "gives the month, not the date.\n"
            "- Incidents without a location are counted in the totals and the monthly chart "
            "but cannot be mapped.")
        if settings.tiles_url:
            st.caption("Basemap: " + md_escape(settings.tiles_attribution))
        else:
            st.caption("No basemap tiles are loaded: the map is drawn from the shipped "
                       "boundaries and roads, and works with no network.")


# ----------------------------------------------------------------------------------- the view


def hotspots_view(settings: Settings, key: str, fingerprint: str, months: tuple[str, ...],
                  params: Params, layers: Layers) -> None:
    """The Hotspots view: summary, density map, monthly trend and hotspot table.

    After the first page of a store version, the caches of what a meeting asks for next are
    filled in the background (:func:`_warm_tasks`), paused while a page is being drawn.
    """
    with _RUNNING_LOCK:
        _RUNNING[0] += 1
    try:
        _hotspots_view(settings, key, fingerprint, months, params, layers)
    finally:
        with _RUNNING_LOCK:
            _RUNNING[0] -= 1
    if settings.warm_up:
        _warmer(fingerprint, key, settings, months, params, layers)


def _hotspots_view(settings: Settings, key: str, fingerprint: str, months: tuple[str, ...],
                   params: Params, layers: Layers) -> None:
    show_header("Crime hotspots", params.crimes(), params.area_label(),
                wording.period_label(params.start, params.end), marking=settings.marking)
    params = methods.resolve_bandwidth(settings, key, fingerprint, params)  # "auto" -> metres
    analysis = None
    shown: MapAreas | None = None
    try:
        analysis = _analysis(fingerprint, key, params, months, settings)
    except HotspotsError as exc:
        show_error(exc)
    if analysis is not None:
        method = methods.method_controls()  # every registered map method
        density = registry.get(method.name).density
        kde = registry.default()
        shown = MapAreas(kde.name, kde.area_name, analysis.areas, analysis.method())
        if not density:
            try:
                shown = methods.map_areas(method, settings, key, fingerprint, months, params)
            except HotspotsError:
                shown = None  # the map says why
        if density:
            _summary(analysis)
        else:
            methods.model_summary(method, settings, key, fingerprint, months, params, analysis)
        try:
            html = (_map_html(fingerprint, key, params, months, layers, settings)
                    if density else methods.model_map_html(
                        method, settings, key, fingerprint, months, params, layers,
                        analysis.no_location))
        except HotspotsError as exc:
            show_error(exc)
        else:
            live_map.show_map(meeting.map_page(html), view_key="hotspots", height=MAP_HEIGHT,
                              fit_key=params.area, fit_on_change=meeting.is_on())
            methods.backtest_caption(method, settings, key, fingerprint, params, months)
            # Always one slot, filled or not, so the elements after it keep their places
            # across reruns (a shifting element list makes Streamlit redraw the map twice).
            note = st.empty()
            if density and (text := _share_note(analysis)):
                note.caption(text)
            downloads.hotspots_panel(settings, key, fingerprint, months, params, layers,
                                     analysis, html, shown)

    left, right = st.columns([1, 1])
    with left:
        st.subheader("Incidents per month", anchor=False)
        try:
            if not params.groups and not params.types:
                raise NoDataError("choose at least one crime group or crime type")
            _monthly_chart(_monthly(fingerprint, key, params.area, params.groups, params.types,
                                    params.start, params.end, months, settings,
                                    params.forces))
        except HotspotsError as exc:
            show_error(exc)
    with right:
        st.subheader("Hotspot areas", anchor=False)
        if shown is not None:
            _hotspot_table(shown.areas, shown.name, shown.statement)
        else:
            st.info("No hotspot areas for this selection.")
    _about(settings)
    show_sources()
