"""The Streamlit dashboard: sidebar selection, offline hotspot map, summary and monthly trend.

Run with ``streamlit run app.py``. Heavy work lives in :mod:`hotspots.ui.compute` (no Streamlit)
and is cached here with ``st.cache_data`` keyed by the store fingerprint and the parameters.
Library errors (:class:`~hotspots.errors.HotspotsError`) are shown with ``st.error`` and the
rest of the page keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from hotspots import maps
from hotspots.config import Settings, load_settings
from hotspots.errors import HotspotsError, NoDataError
from hotspots.ui import compute
from hotspots.ui.compute import FORCE_AREA, GROUP_LABELS, SOC_NOTE, Params

MAP_HEIGHT = 660
DEFAULT_MONTHS = 3
BANDWIDTH_DEFAULT = 500
# Tighter page for shared screens: less empty space above the title and between blocks.
_PAGE_CSS = """<style>
.block-container { padding-top: 1.2rem; padding-bottom: 1.5rem; }
h1 { padding-top: 0; padding-bottom: 0.2rem; }
[data-testid="stMetricValue"] { font-size: 1.9rem; }
</style>"""
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")

SOURCES = (
    ("Crime", "police.uk street-level crime", maps.ATTRIBUTION["police_uk"]),
    ("Boundaries", "Office for National Statistics", maps.ATTRIBUTION["ons"]),
    ("Motorways", "OS OpenRoads", maps.ATTRIBUTION["os_roads"]),
    ("SRN junctions", "National Highways", maps.ATTRIBUTION["national_highways"]),
    ("Service areas (when shown)", "OpenStreetMap", maps.ATTRIBUTION["osm"]),
)


def md_escape(text: object) -> str:
    """Escape Markdown so that data strings show as typed (no links, images or markup)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def show_error(exc: Exception) -> None:
    """Show a library error in the page (Markdown-escaped: messages can quote data)."""
    st.error(md_escape(str(exc)))


# ----------------------------------------------------------------------------------- caching


def _settings_key(settings: Settings) -> str:
    return "|".join(str(v) for v in (settings.store_dir, settings.data_dir, settings.force,
                                     settings.tiles_url, settings.tiles_attribution,
                                     settings.marking, sorted(settings.crime_groups.items())))


@st.cache_resource(show_spinner="Building the incident store from the shipped data...")
def _ensure_store(settings_key: str, _settings: Settings) -> dict | None:
    """Build the store from the shipped data on first run (once per process)."""
    from hotspots.ingest import build_default_store

    report = build_default_store(_settings)
    return report.to_dict() if report is not None else None


@st.cache_data(show_spinner=False, max_entries=64)
def _analysis(fingerprint: str, settings_key: str, params: Params, months: tuple[str, ...],
              _settings: Settings) -> compute.Analysis:
    return compute.run_analysis(params, _settings, months)


@st.cache_data(show_spinner=False, max_entries=64)
def _monthly(fingerprint: str, settings_key: str, area: str, groups: tuple[str, ...],
             types: tuple[str, ...], start: str, end: str, months: tuple[str, ...],
             _settings: Settings) -> pd.DataFrame:
    params = Params(area=area, start=start, end=end, groups=groups, types=types)
    return compute.monthly_counts(params, _settings, months)


@st.cache_data(show_spinner=False, max_entries=32)
def _symbols(fingerprint: str, settings_key: str, area: str, start: str, end: str,
             _settings: Settings) -> tuple[maps.CountLayer, ...]:
    params = Params(area=area, start=start, end=end, groups=("acquisitive",))
    return compute.symbol_layers(params, _settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _neighbours(fingerprint: str, settings_key: str, params: Params, _settings: Settings
                ) -> maps.CountLayer:
    return compute.neighbour_layer(params, _settings)


@st.cache_data(show_spinner=False, max_entries=24)
def _map_html(fingerprint: str, settings_key: str, params: Params, months: tuple[str, ...],
              layers: Layers, _settings: Settings) -> str:
    analysis = _analysis(fingerprint, settings_key, params, months, _settings)
    counts: list[maps.CountLayer] = []
    if layers.counts:
        counts.extend(_symbols(fingerprint, settings_key, params.area, params.start, params.end,
                               _settings))
    if layers.neighbours:
        counts.append(_neighbours(fingerprint, settings_key, params, _settings))
    return compute.map_page(analysis, _settings, counts=counts, show_services=layers.services)


@st.cache_data(show_spinner=False, max_entries=4)
def _store_info(fingerprint: str, settings_key: str, _settings: Settings
                ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    from hotspots.query import available_months, crime_types
    from hotspots.spatial.boundaries import district_names

    return (tuple(available_months(settings=_settings)),
            tuple(crime_types(settings=_settings)),
            tuple(district_names(_settings)))


# ----------------------------------------------------------------------------------- widgets


@dataclass(frozen=True)
class Layers:
    """Optional map layers chosen in the sidebar."""

    counts: bool = False
    neighbours: bool = False
    services: bool = False


def _month_label(month: str) -> str:
    return maps.period_label(month, month)


def _sidebar(months: Sequence[str], types: Sequence[str], districts: Sequence[str]
             ) -> tuple[Params, Layers]:
    """Draw the sidebar; return the selection and the optional layers."""
    with st.sidebar:
        st.header("Selection")
        area = st.selectbox(
            "Area", [FORCE_AREA, *districts], key="area",
            format_func=lambda a: "Warwickshire (force area)" if a == FORCE_AREA else a)
        default = (months[max(0, len(months) - DEFAULT_MONTHS)], months[-1])
        if len(months) > 1:
            start, end = st.select_slider("Months", options=list(months), value=default,
                                          format_func=_month_label, key="period")
        else:
            start = end = months[0]
            st.caption(f"Months: {md_escape(_month_label(months[0]))} (the only month held)")
        gap = compute.missing_months(months, months[0], months[-1])
        if gap:
            st.caption("No police.uk data is held for "
                       f"{md_escape(maps.missing_months_label(gap))}: the slider skips it "
                       "and the monthly chart shows the gap.")
        groups = st.multiselect("Crime groups", list(GROUP_LABELS), default=["acquisitive"],
                                format_func=lambda g: GROUP_LABELS.get(g, g), key="groups")
        st.caption(SOC_NOTE)
        chosen_types = st.multiselect(
            "Crime types (optional)", list(types), default=[], key="types",
            help="Pick crime types to analyse them alone: they replace the group selection.")

        st.header("Method")
        mode = st.radio("Bandwidth", ["fixed", "arcgis"], horizontal=True, key="bw_mode",
                        format_func=lambda m: "Fixed (metres)" if m == "fixed"
                        else "ArcGIS Pro rule",
                        help="Search radius of the quartic kernel. The ArcGIS Pro rule derives "
                             "it from the spread of the incidents (spatial Silverman variant).")
        bandwidth: float | str
        if mode == "fixed":
            bandwidth = float(st.slider("Bandwidth, metres", 100, 3000, BANDWIDTH_DEFAULT,
                                        step=50, key="bandwidth"))
        else:
            bandwidth = "arcgis"
        top = st.slider("Hotspot share of the area, %", 1.0, 20.0, 5.0, step=0.5, key="top",
                        help="Hotspot areas are the densest cells covering this share of the "
                             "study area.")

        st.header("Layers")
        show_counts = st.checkbox("Acquisitive and SOC-linked counts (1 km squares)",
                                  value=False, key="show_counts",
                                  help="Circles: acquisitive; diamonds: SOC-linked. One symbol "
                                       "per 1 km square, sized by its count.")
        show_neighbours = st.checkbox(
            "Neighbouring forces' incidents (context, 1 km squares)", value=False,
            key="show_neighbours",
            help="The selected crimes recorded by neighbouring forces near the border (grey "
                 "circles). Context only: they are not in the surface or the summary. Forces "
                 "with no data in the store (e.g. West Midlands) cannot be shown.")
        show_services = st.checkbox("Motorway service areas (OpenStreetMap)", value=False,
                                    key="show_services")
    params = Params(area=area, start=start, end=end, groups=tuple(groups),
                    types=tuple(chosen_types), bandwidth=bandwidth, top=float(top) / 100.0)
    return params, Layers(counts=show_counts, neighbours=show_neighbours,
                          services=show_services)


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
                   help=f"Contiguous groups of the densest cells covering the top "
                        f"{maps.format_share(p.top)} of the study area.")
    share = "–" if analysis.share != analysis.share else f"{analysis.share:.0%}"
    cols[3].metric("Share in hotspots", share,
                   help="Share of the mapped incidents in the study area that fall inside the "
                        "hotspot areas.")
    pai = "–" if analysis.pai != analysis.pai else f"{analysis.pai:.1f}"
    cols[4].metric("PAI (in-sample)", pai,
                   help="Predictive Accuracy Index: share of incidents / share of area. "
                        "In-sample: measured on the same incidents the surface came from.")


def _monthly_chart(df: pd.DataFrame) -> None:
    import altair as alt

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
    runs = maps.missing_months_label(df.loc[~df["has_data"], "month"].tolist())
    if runs:
        missing = df.loc[~df["has_data"]].reset_index(drop=True)
        mid = missing.iloc[[len(missing) // 2]].assign(text="no data published", y=top * 0.55)
        layers.append(alt.Chart(mid).mark_text(angle=270, color="#555555", fontSize=11)
                      .encode(x=alt.X("label:N", sort=order), y="y:Q", text="text:N"))
    st.altair_chart(alt.layer(*layers).properties(height=260), width="stretch")
    if runs:
        st.caption(f"Grey band: no police.uk data published for {md_escape(runs)}. "
                   "The chart leaves the gap empty rather than joining across it.")


def _hotspot_table(analysis: compute.Analysis) -> None:
    areas = analysis.areas
    if not len(areas):
        st.info("No hotspot areas: the surface is flat or empty at this share.")
        return
    top = areas.head(10)
    table = pd.DataFrame({
        "Rank": top["rank"].astype(int).astype(str),
        "Incidents": top["incidents"].map(lambda v: f"{int(v):,}"),
        "Share": top["share"].map(maps.format_share_1dp),
        "km²": top["area_km2"].map(lambda v: f"{float(v):.2f}"),
        "PAI": top["pai"].map(lambda v: f"{float(v):.1f}"),
        # st.table renders Markdown in cells: escape data so a location cannot become a link
        # or an image fetched from elsewhere.
        "Top locations": top["top_locations"].astype(str).map(md_escape),
    })
    st.table(table.set_index("Rank"))
    if len(areas) > len(top):
        st.caption(f"The 10 areas with most incidents, of {len(areas):,}. Click an area on the "
                   "map for its details.")


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


def _sources() -> None:
    st.caption("  \n".join(f"**{md_escape(what)}** ({md_escape(who)}): {md_escape(text)}"
                           for what, who, text in SOURCES))


# ----------------------------------------------------------------------------------- page


def main() -> None:
    """Draw the dashboard (the body of ``app.py``)."""
    st.set_page_config(page_title="Hotspots: Warwickshire", layout="wide",
                       initial_sidebar_state="expanded")
    st.html(_PAGE_CSS)
    try:
        settings = load_settings()
        key = _settings_key(settings)
        _ensure_store(key, settings)
        from hotspots.store import store_fingerprint

        fingerprint = store_fingerprint(settings.store_dir)
        months, types, districts = _store_info(fingerprint, key, settings)
        if not months:
            raise NoDataError("the incident store holds no months; load data with "
                              "`hotspots ingest`")
    except HotspotsError as exc:
        st.title("Crime hotspots")
        show_error(exc)
        return

    params, layers = _sidebar(months, types, districts)

    head, mark = st.columns([5, 1], vertical_alignment="center")
    with head:
        st.title("Crime hotspots", anchor=False)
        st.markdown("**" + md_escape(f"{params.crimes()[:1].upper()}{params.crimes()[1:]}")
                    + "** · " + md_escape(params.area_label()) + " · "
                    + md_escape(maps.period_label(params.start, params.end)))
    with mark:
        if settings.marking:
            st.badge(md_escape(settings.marking), color="gray")

    analysis = None
    try:
        analysis = _analysis(fingerprint, key, params, months, settings)
    except HotspotsError as exc:
        show_error(exc)
    if analysis is not None:
        _summary(analysis)
        try:
            html = _map_html(fingerprint, key, params, months, layers, settings)
        except HotspotsError as exc:
            show_error(exc)
        else:
            st.iframe(html, height=MAP_HEIGHT, alt="Hotspot map")
            st.download_button(
                "Download this map (HTML, works offline)", html.encode("utf-8"),
                file_name=f"hotspots-{params.area.replace(' ', '-').lower()}-"
                          f"{params.start}-{params.end}.html",
                mime="text/html", key="download_map", on_click="ignore")

    left, right = st.columns([1, 1])
    with left:
        st.subheader("Incidents per month", anchor=False)
        try:
            if not params.groups and not params.types:
                raise NoDataError("choose at least one crime group or crime type")
            _monthly_chart(_monthly(fingerprint, key, params.area, params.groups, params.types,
                                    params.start, params.end, months, settings))
        except HotspotsError as exc:
            show_error(exc)
    with right:
        st.subheader("Hotspot areas", anchor=False)
        if analysis is not None:
            _hotspot_table(analysis)
        else:
            st.info("No analysis for this selection.")
    _about(settings)
    _sources()
