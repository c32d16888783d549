"""The Streamlit dashboard: sidebar selection and four views.

Hotspots: offline hotspot map (KDE, Gi*, emerging, clusters), summary and monthly trend.
Corridors: the Strategic Road Network coloured by network kernel density, junctions sized by
nearby incidents, a ranked junction table and the corridor band chart. Evaluation: back-test
measures and near-repeat tables (:mod:`hotspots.ui.evaluation`). Disruption: suggested stop-check
sites (:mod:`hotspots.ui.disruption`). The area, period and crime filters are shared by all views.

Run with ``streamlit run app.py``. Heavy work lives in :mod:`hotspots.ui.compute` (no Streamlit)
and is cached here with ``st.cache_data`` keyed by the store fingerprint and the parameters (the
SRN graph with ``st.cache_resource``, once per process). Library errors
(:class:`~hotspots.errors.HotspotsError`) are shown with ``st.error`` and the rest of the page
keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from hotspots import count_symbols, leaflet, wording
from hotspots.config import Settings, load_settings
from hotspots.errors import HotspotsError, NoDataError
from hotspots.months import missing_months
from hotspots.ui import compute, downloads, meeting
from hotspots.ui.compute import FORCE_AREA, GROUP_LABELS, SOC_NOTE, Params

if TYPE_CHECKING:
    import networkx as nx

MAP_HEIGHT = 660
DEFAULT_MONTHS = 3
BANDWIDTH_DEFAULT = 500
HOTSPOTS, CORRIDORS = "Hotspots", "Corridors"
DISRUPTION = "Disruption"  # drawn by hotspots.ui.disruption
EVALUATION = "Evaluation"  # drawn by hotspots.ui.evaluation
VIEWS = (HOTSPOTS, CORRIDORS, DISRUPTION, EVALUATION)
#: View-specific widgets keep their value while the other view is shown.
_KEEP = "page"
# Tighter page for shared screens: less empty space above the title and between blocks.
_PAGE_CSS = """<style>
.block-container { padding-top: 1.2rem; padding-bottom: 1.5rem; }
h1 { padding-top: 0; padding-bottom: 0.2rem; }
[data-testid="stMetricValue"] { font-size: 1.9rem; }
</style>"""
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")

SOURCES = (
    ("Crime", "police.uk street-level crime", leaflet.ATTRIBUTION["police_uk"]),
    ("Boundaries", "Office for National Statistics", leaflet.ATTRIBUTION["ons"]),
    ("Motorways", "OS OpenRoads", leaflet.ATTRIBUTION["os_roads"]),
    ("SRN junctions", "National Highways", leaflet.ATTRIBUTION["national_highways"]),
    ("Service areas (when shown)", "OpenStreetMap", leaflet.ATTRIBUTION["osm"]),
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
             _settings: Settings) -> tuple[count_symbols.CountLayer, ...]:
    params = Params(area=area, start=start, end=end, groups=("acquisitive",))
    return compute.symbol_layers(params, _settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _neighbours(fingerprint: str, settings_key: str, params: Params, _settings: Settings
                ) -> count_symbols.CountLayer:
    return compute.neighbour_layer(params, _settings)


@st.cache_data(show_spinner=False, max_entries=24)
def _map_html(fingerprint: str, settings_key: str, params: Params, months: tuple[str, ...],
              layers: Layers, _settings: Settings) -> str:
    analysis = _analysis(fingerprint, settings_key, params, months, _settings)
    counts: list[count_symbols.CountLayer] = []
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


@st.cache_resource(show_spinner="Building the SRN road graph...")
def _srn_graph(settings_key: str, _settings: Settings) -> nx.MultiDiGraph:
    """The SRN graph around the force area, built (or read from its cache file) once per
    process."""
    return compute.corridor_graph(_settings)


@st.cache_data(show_spinner=False, max_entries=16)
def _cor_incidents(fingerprint: str, settings_key: str, sel: Params, neighbours: bool,
                   _settings: Settings) -> pd.DataFrame:
    return compute.corridor_incidents(sel, neighbours, _settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _cor_counts(fingerprint: str, settings_key: str, sel: Params, neighbours: bool,
                _settings: Settings) -> compute.CorridorCounts:
    return compute.corridor_counts(
        _cor_incidents(fingerprint, settings_key, sel, neighbours, _settings), sel)


@st.cache_data(show_spinner=False, max_entries=32)
def _cor_network(fingerprint: str, settings_key: str, sel: Params, neighbours: bool,
                 bandwidth: float, _settings: Settings) -> compute.NetworkDensity:
    inc = _cor_incidents(fingerprint, settings_key, sel, neighbours, _settings)
    return compute.network_density(inc, _srn_graph(settings_key, _settings), sel, bandwidth,
                                   _settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _cor_junctions(fingerprint: str, settings_key: str, sel: Params, neighbours: bool,
                   radius: float, months: tuple[str, ...], _settings: Settings) -> pd.DataFrame:
    inc = _cor_incidents(fingerprint, settings_key, sel, neighbours, _settings)
    return compute.corridor_junctions(inc, _srn_graph(settings_key, _settings), sel, radius,
                                      months, _settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _cor_bands(fingerprint: str, settings_key: str, sel: Params, neighbours: bool,
               _settings: Settings) -> pd.DataFrame:
    inc = _cor_incidents(fingerprint, settings_key, sel, neighbours, _settings)
    return compute.corridor_band_table(inc, _srn_graph(settings_key, _settings), sel, _settings)


@st.cache_data(show_spinner=False, max_entries=4)
def _force_months(fingerprint: str, settings_key: str, _settings: Settings
                  ) -> dict[str, tuple[str, ...]]:
    return compute.force_months(_settings)


def _neighbour_notes(fingerprint: str, settings_key: str, cp: compute.CorridorParams,
                     months: tuple[str, ...], settings: Settings) -> list[str]:
    if not cp.neighbours:
        return []
    return compute.neighbour_gaps(_force_months(fingerprint, settings_key, settings),
                                  cp.crimes_params(), months, settings.force)


@st.cache_data(show_spinner=False, max_entries=16)
def _cor_map_html(fingerprint: str, settings_key: str, cp: compute.CorridorParams,
                  months: tuple[str, ...], _settings: Settings) -> str:
    sel = cp.crimes_params()
    return compute.corridor_map_page(
        cp, _cor_network(fingerprint, settings_key, sel, cp.neighbours, cp.bandwidth, _settings),
        _cor_junctions(fingerprint, settings_key, sel, cp.neighbours, cp.radius, months,
                       _settings),
        _cor_counts(fingerprint, settings_key, sel, cp.neighbours, _settings), _settings, months,
        notes=_neighbour_notes(fingerprint, settings_key, cp, months, _settings))


@st.cache_data(show_spinner=False, max_entries=4)
def _forces(fingerprint: str, settings_key: str, _settings: Settings) -> tuple[str, ...]:
    from hotspots.store import store_forces

    return tuple(store_forces(_settings.store_dir))


# ----------------------------------------------------------------------------------- widgets


@dataclass(frozen=True)
class Layers:
    """Optional map layers chosen in the sidebar."""

    counts: bool = False
    neighbours: bool = False
    services: bool = False


@dataclass(frozen=True)
class CorridorControls:
    """The Corridors view's own sidebar controls."""

    neighbours: bool = False
    radius: float = compute.JUNCTION_RADIUS_M
    bandwidth: float = compute.NKDE_BANDWIDTH_M


def neighbours_caption(forces: Sequence[str], own: str) -> str:
    """Say next to the neighbours toggle which forces' rows it adds and which are missing."""
    others = [compute.force_label(f) for f in forces if f != own]
    names = (", ".join(others[:-1]) + " and " + others[-1]) if len(others) > 1 else \
        (others[0] if others else "no neighbouring force")
    text = f"police.uk rows of {names} within 10 km of the county."
    missing = [compute.force_label(f) for f in compute.EXPECTED_NEIGHBOURS if f not in forces]
    if "West Midlands" in missing:
        text += (" West Midlands Police is missing from the shipped data: the Birmingham, "
                 "Solihull and Coventry side of the border has no incidents.")
        missing.remove("West Midlands")
    if missing:
        text += f" Also missing: {', '.join(missing)}."
    return text


def _month_label(month: str) -> str:
    return wording.period_label(month, month)


def _sidebar(months: Sequence[str], types: Sequence[str], districts: Sequence[str],
             forces: Sequence[str] = (), own_force: str = ""
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
            corridor = _corridor_controls(forces, own_force)
            params = Params(area=area, start=start, end=end, groups=tuple(groups),
                            types=tuple(chosen_types))
            return view, params, layers, corridor
        if view in (DISRUPTION, EVALUATION):  # their own controls: in their own modules
            return view, Params(area=area, start=start, end=end, groups=tuple(groups),
                                types=tuple(chosen_types)), layers, corridor

        st.header("Method")
        mode = st.radio("Bandwidth", ["auto", "fixed", "arcgis"], horizontal=True, key="bw_mode",
                        persist_state=_KEEP,
                        format_func={"auto": "Auto (back-tested)", "fixed": "Fixed (metres)",
                                     "arcgis": "ArcGIS Pro rule"}.get,
                        help="Search radius of the quartic kernel. Auto: the bandwidth (or "
                             "the multi-scale mean of 300-1,000 m) whose maps best predicted "
                             "the next month on earlier months (PAI at 5% of the area; see the "
                             "Evaluation view). The ArcGIS Pro rule derives "
                             "it from the spread of the incidents (spatial Silverman variant).")
        bandwidth: float | str | tuple[float, ...]
        if mode == "fixed":
            bandwidth = float(st.slider("Bandwidth, metres", 100, 3000, BANDWIDTH_DEFAULT,
                                        step=50, key="bandwidth", persist_state=_KEEP))
        else:
            bandwidth = mode  # "arcgis", or "auto": resolved by hotspots.ui.methods
        top = st.slider("Hotspot share of the area, %", 1.0, 20.0, 5.0, step=0.5, key="top",
                        persist_state=_KEEP,
                        help="Hotspot areas are the densest cells covering this share of the "
                             "study area.")

        st.header("Layers")
        show_counts = st.checkbox("Acquisitive and SOC-linked counts (1 km squares)",
                                  value=False, key="show_counts", persist_state=_KEEP,
                                  help="Circles: acquisitive; diamonds: SOC-linked. One symbol "
                                       "per 1 km square, sized by its count.")
        show_neighbours = st.checkbox(
            "Neighbouring forces' incidents (context, 1 km squares)", value=False,
            key="show_neighbours", persist_state=_KEEP,
            help="The selected crimes recorded by neighbouring forces near the border (grey "
                 "circles). Context only: they are not in the surface or the summary. Forces "
                 "with no data in the store (e.g. West Midlands) cannot be shown.")
        show_services = st.checkbox("Motorway service areas (OpenStreetMap)", value=False,
                                    key="show_services", persist_state=_KEEP)
    params = Params(area=area, start=start, end=end, groups=tuple(groups),
                    types=tuple(chosen_types), bandwidth=bandwidth, top=float(top) / 100.0)
    return view, params, Layers(counts=show_counts, neighbours=show_neighbours,
                                services=show_services), corridor


def _corridor_controls(forces: Sequence[str], own_force: str) -> CorridorControls:
    """The Corridors view's sidebar section (inside ``st.sidebar``)."""
    st.header("Corridors")
    neighbours = st.toggle(
        "Include neighbouring forces' near-border incidents", value=False,
        key="cor_neighbours", persist_state=_KEEP,
        help="Adds the selected crimes recorded by neighbouring forces near the county border "
             "to the network density and the junction counts. The corridor bands count "
             "incidents inside the area only.")
    st.caption(md_escape(neighbours_caption(forces, own_force)))
    radius = st.slider("Junction radius, metres", 500, 5000, int(compute.JUNCTION_RADIUS_M),
                       step=250, key="cor_radius", persist_state=_KEEP,
                       help="Incidents within this straight-line distance of a junction count "
                            "for it (an incident can count for two close junctions).")
    bandwidth = st.slider("Network density bandwidth, metres", 200, 3000,
                          int(compute.NKDE_BANDWIDTH_M), step=100, key="cor_bandwidth",
                          persist_state=_KEEP,
                          help="How far along the road each incident's quartic kernel reaches "
                               "(network kernel density, 100 m lixels).")
    return CorridorControls(neighbours=bool(neighbours), radius=float(radius),
                            bandwidth=float(bandwidth))


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
                        f"{wording.format_share(p.top)} of the study area.")
    share = "–" if analysis.share != analysis.share else f"{analysis.share:.0%}"
    cols[3].metric("Share in hotspots", share,
                   help="Share of the mapped incidents in the study area that fall inside the "
                        "hotspot areas.")
    pai = "–" if analysis.pai != analysis.pai else f"{analysis.pai:.1f}"
    cols[4].metric("PAI (in-sample)", pai,
                   help="Predictive Accuracy Index: share of incidents / share of area. "
                        "In-sample: measured on the same incidents the surface came from.")


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
    table = pd.DataFrame({
        "Rank": top["rank"].astype(int).astype(str),
        "Incidents": top["incidents"].map(lambda v: f"{int(v):,}"),
        "Share": top["share"].map(wording.format_share_1dp),
        "km²": top["area_km2"].map(lambda v: f"{float(v):.2f}"),
        "PAI": top["pai"].map(lambda v: "–" if v != v else f"{float(v):.1f}"),
    })
    for col, (heading, fmt) in _AREA_EXTRAS.items():
        if col in top.columns:
            table[heading] = top[col].map(fmt).map(md_escape)
    if {"first_month", "last_month"} <= set(top.columns):
        table["Months"] = [md_escape(wording.period_label(a, b)) for a, b in
                           zip(top["first_month"], top["last_month"], strict=True)]
    # st.table renders Markdown in cells: escape data so a location cannot become a link or
    # an image fetched from elsewhere.
    table["Top locations"] = top["top_locations"].astype(str).map(md_escape)
    return table.set_index("Rank")


def _hotspot_table(areas: pd.DataFrame, name: str, statement: str) -> None:
    if not len(areas):
        st.info(f"No {name.lower()} for this selection." if name != "Hotspot areas" else
                "No hotspot areas: the surface is flat or empty at this share.")
        st.caption(md_escape(statement))
        return
    st.table(area_table(areas))
    shown = f"The {min(len(areas), 10)} with most incidents, of {len(areas):,}. " \
        if len(areas) > 10 else ""
    st.caption(md_escape(f"{name}. {shown}Share and PAI are in-sample (the period's own "
                         f"incidents). {statement}") + " Click an area on the map for its "
               "details.")


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


# ----------------------------------------------------------------------------------- corridors


def _corridor_summary(cp: compute.CorridorParams, counts: compute.CorridorCounts,
                      network: compute.NetworkDensity | None, junctions: pd.DataFrame | None,
                      own_force: str) -> None:
    cols = st.columns(4)
    cols[0].metric("Incidents", f"{counts.incidents:,}",
                   help="All incidents matching the selection in the period"
                        + (", including neighbouring forces' near-border incidents."
                           if cp.neighbours else f" ({compute.force_label(own_force)} only)."))
    if network is not None:
        share = network.snapped / network.points if network.points else 0.0
        cols[1].metric(f"Within {network.band:,.0f} m of the SRN",
                       f"{network.snapped:,} ({share:.0%})",
                       help="Mapped incidents close enough to the SRN to be snapped to it for "
                            "the network density.")
    if junctions is not None and len(junctions) and int(junctions["incidents"].iloc[0]):
        top = junctions.iloc[0]
        # Metric values render Markdown: escape the junction name (data).
        cols[2].metric("Busiest junction",
                       f"{md_escape(top['name'])} · {int(top['incidents']):,}",
                       help=f"Most incidents within {cp.radius:,.0f} m of the junction in the "
                            "period; the table below ranks them all.")
    neighbours = sum(n for f, n in counts.by_force.items() if f != own_force)
    cols[3].metric("Neighbouring forces' incidents",
                   f"{neighbours:,}" if cp.neighbours else "Not included",
                   help="Near-border incidents recorded by neighbouring forces, added with the "
                        "toggle in the sidebar.")


def _junction_panel(junctions: pd.DataFrame, cp: compute.CorridorParams) -> None:
    if not len(junctions):
        st.info(f"No SRN junction lies within {cp.radius:,.0f} m of this area.")
        return
    table = compute.junction_table(junctions)
    # st.dataframe shows cell values as plain text (no Markdown or HTML is interpreted), so data
    # strings such as junction names cannot become links or markup here.
    st.dataframe(
        table, hide_index=True, width="stretch", key="junction_table",
        height=min(len(table) + 1, 13) * 35 + 3,
        column_config={
            "Rank": st.column_config.NumberColumn(width="small"),
            "Junction": st.column_config.TextColumn(width="medium"),
            "Incidents": st.column_config.NumberColumn(
                help=f"Within {cp.radius:,.0f} m, {wording.period_label(cp.start, cp.end)}",
                format="localized"),
            "By group": st.column_config.TextColumn(width="medium"),
            "Previous": st.column_config.NumberColumn(
                help="Same radius, the equally long period just before", format="localized"),
            "Change": st.column_config.NumberColumn(format="%+d"),
            "Change %": st.column_config.NumberColumn(format="%+.0f%%"),
            "Note": st.column_config.TextColumn(width="medium"),
        })
    pp = junctions.attrs.get("previous_period")
    previous = f" ({md_escape(wording.period_label(*pp))})" if pp else ""
    st.caption(f"{len(table):,} junctions whose {cp.radius:,.0f} m radius reaches "
               f"{md_escape(junctions.attrs.get('area', ''))}, ranked by incidents within the "
               f"radius (straight line). Change: against the previous period of equal "
               f"length{previous}; a note says when it cannot be measured.")


def _band_chart(bands: pd.DataFrame, cp: compute.CorridorParams) -> None:
    import altair as alt

    mapped = int(bands.attrs.get("mapped_in_area", int(bands["incidents"].sum())))
    # Only the plotted columns, and no attrs: the chart data must be plain JSON (no Infinity).
    bands = pd.DataFrame({c: bands[c].to_numpy() for c in
                          ("band", "incidents", "share", "area_share", "lq")})
    order = bands["band"].tolist()
    long = pd.concat([
        bands.assign(measure="Share of incidents", value=bands["share"]),
        bands.assign(measure="Share of area", value=bands["area_share"]),
    ], ignore_index=True)
    x = alt.X("band:N", sort=order, title="Distance to the nearest SRN road",
              axis=alt.Axis(labelAngle=0))
    tips = [alt.Tooltip("band:N", title="Band"),
            alt.Tooltip("incidents:Q", title="Incidents", format=",.0f"),
            alt.Tooltip("share:Q", title="Share of incidents", format=".1%"),
            alt.Tooltip("area_share:Q", title="Share of area", format=".1%"),
            alt.Tooltip("lq:Q", title="Location quotient", format=".2f")]
    shares = (alt.Chart(long).mark_bar()
              .encode(x=x, xOffset=alt.XOffset("measure:N", sort=["Share of incidents",
                                                                  "Share of area"]),
                      y=alt.Y("value:Q", title="Share", axis=alt.Axis(format="%")),
                      color=alt.Color("measure:N", title=None,
                                      scale=alt.Scale(domain=["Share of incidents",
                                                              "Share of area"],
                                                      range=["#0072B2", "#b0b0b0"]),
                                      legend=alt.Legend(orient="top-left", fillColor="white",
                                                        padding=4)),
                      tooltip=tips)
              .properties(height=300, title=alt.TitleParams(
                  "Share of the area's incidents and of its area", anchor="start",
                  fontSize=13)))
    base = alt.Chart(bands.assign(one=1.0))
    lq = (base.mark_bar(color="#0072B2")
          .encode(x=x, y=alt.Y("lq:Q", title="Location quotient (LQ)"), tooltip=tips))
    labels = (base.mark_text(dy=-7, fontSize=12, color="#333333")
              .encode(x=x, y="lq:Q", text=alt.Text("lq:Q", format=".2f")))
    rule = base.mark_rule(color="#333333", strokeDash=[4, 3]).encode(y="one:Q")
    left, right = st.columns(2)
    with left:
        st.altair_chart(shares, width="stretch")
    with right:
        st.altair_chart(alt.layer(lq, rule, labels).properties(
            height=300, title=alt.TitleParams("Location quotient: share of incidents / share "
                                              "of area", anchor="start", fontSize=13)),
            width="stretch")
    area = ("the force area" if cp.area == compute.FORCE_AREA
            else f"the area ({md_escape(cp.area)})")
    method = compute.BAND_METHOD.replace("the force area", area)
    st.caption(f"Method: {method}. Dashed line: LQ 1, crime in proportion to area. "
               f"{mapped:,} mapped incidents inside the area; incidents outside it (such as "
               "neighbouring forces') are not in the bands.")


def _corridor_about() -> None:
    with st.expander("Method, data and caveats"):
        st.markdown(
            "- **Network kernel density** (Xie & Yan 2008, \"simple\" method, as in "
            "spNetwork): every SRN road is cut into 100 m *lixels*; incidents within 500 m of "
            "the network are snapped to the nearest road, and each spreads a quartic kernel "
            "along the network, in both directions, up to the bandwidth. Values are incidents "
            "per km of road. The kernel is not split at junctions, so density next to "
            "junctions reads high compared with the corrected methods of Okabe & Sugihara "
            "(2012).\n"
            "- **Alignments**: motorways are OS OpenRoads centre lines (surveyed, solid). Trunk "
            "A-roads, and motorway links beyond the OpenRoads extract, have no line in the "
            "data: their alignment is derived from National Highways junctions and WebTRIS "
            "traffic-counter sites (approximate, drawn dashed), straight between sites and good "
            "to a few hundred metres.\n"
            "- **Junctions** count incidents within the radius in a straight line; an incident "
            "can count for two close junctions. The change compares with the previous period "
            "of equal length; months without published data are never read as zero.\n"
            "- **Corridor bands** use the distance to the nearest SRN road. The location "
            "quotient (LQ) is the band's share of incidents divided by its share of the area: "
            "above 1, more crime than the band's area would suggest.\n"
            "- **Neighbouring forces**: police.uk rows within 10 km of the county, for the "
            "network density and the junctions. West Midlands Police is not in the shipped "
            "data, so the Birmingham, Solihull and Coventry side of the border is empty.\n"
            f"- {SOC_NOTE}")


def _corridors_view(settings: Settings, key: str, fingerprint: str, months: tuple[str, ...],
                    params: Params, controls: CorridorControls) -> None:
    """The Corridors view: SRN density map, junction ranking and corridor bands."""
    cp = compute.CorridorParams.from_params(params, neighbours=controls.neighbours,
                                            radius=controls.radius,
                                            bandwidth=controls.bandwidth)
    sel = cp.crimes_params()
    forces = (f"{compute.force_label(settings.force)} and neighbouring forces' incidents"
              if cp.neighbours else f"{compute.force_label(settings.force)} incidents only")
    head, mark = st.columns([5, 1], vertical_alignment="center")
    with head:
        st.title("SRN corridors", anchor=False)
        st.markdown("**" + md_escape(f"{sel.crimes()[:1].upper()}{sel.crimes()[1:]}")
                    + "** · " + md_escape(sel.area_label()) + " · "
                    + md_escape(wording.period_label(cp.start, cp.end)) + " · "
                    + md_escape(forces))
    with mark:
        if settings.marking:
            st.badge(md_escape(settings.marking), color="gray")

    counts = network = junctions = bands = None
    try:
        sel.selection()  # no crime chosen: one clear message, not one per panel
        counts = _cor_counts(fingerprint, key, sel, cp.neighbours, settings)
        network = _cor_network(fingerprint, key, sel, cp.neighbours, cp.bandwidth, settings)
        junctions = _cor_junctions(fingerprint, key, sel, cp.neighbours, cp.radius, months,
                                   settings)
    except HotspotsError as exc:
        show_error(exc)
    if counts is not None:
        _corridor_summary(cp, counts, network, junctions, settings.force)
    if network is not None and junctions is not None:
        try:
            html = _cor_map_html(fingerprint, key, cp, months, settings)
        except HotspotsError as exc:
            show_error(exc)
        else:
            st.iframe(meeting.map_page(html), height=MAP_HEIGHT, alt="Corridor map")
            downloads.corridors_panel(settings, key, fingerprint, months, cp, junctions, html)

    st.subheader("Junctions ranked by nearby incidents", anchor=False)
    if junctions is not None:
        _junction_panel(junctions, cp)
    else:
        st.info("No junction ranking for this selection.")
    st.subheader("Incidents by distance from the SRN", anchor=False)
    if counts is not None:  # computed last: the map and the table are on screen meanwhile
        try:
            bands = _cor_bands(fingerprint, key, sel, cp.neighbours, settings)
        except HotspotsError as exc:
            show_error(exc)
    if bands is not None:
        _band_chart(bands, cp)
    elif counts is None:
        st.info("No corridor bands for this selection.")
    _corridor_about()
    _sources()


# ----------------------------------------------------------------------------------- page


def main() -> None:
    """Draw the dashboard (the body of ``app.py``)."""
    st.set_page_config(page_title="Hotspots: Warwickshire", layout="wide",
                       initial_sidebar_state=meeting.sidebar_state())
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

    meeting.restore_view(months, types, districts)  # a link's view, before the widgets
    view, params, layers, corridor = _sidebar(months, types, districts,
                                              _forces(fingerprint, key, settings),
                                              settings.force)
    meeting.present(view, params, settings)  # URL kept; meeting mode title and styles
    if view == CORRIDORS:
        _corridors_view(settings, key, fingerprint, months, params, corridor)
    elif view == DISRUPTION:
        from hotspots.ui.disruption import disruption_view  # imports this module

        disruption_view(settings, key, fingerprint, months, params, lambda: _srn_graph(key,
                                                                                      settings))
    elif view == EVALUATION:
        from hotspots.ui.evaluation import evaluation_view  # imports this module

        evaluation_view(settings, key, fingerprint, months, params)
    else:
        _hotspots_view(settings, key, fingerprint, months, params, layers)


def _hotspots_view(settings: Settings, key: str, fingerprint: str, months: tuple[str, ...],
                   params: Params, layers: Layers) -> None:
    """The Hotspots view: summary, density map, monthly trend and hotspot table."""
    head, mark = st.columns([5, 1], vertical_alignment="center")
    with head:
        st.title("Crime hotspots", anchor=False)
        st.markdown("**" + md_escape(f"{params.crimes()[:1].upper()}{params.crimes()[1:]}")
                    + "** · " + md_escape(params.area_label()) + " · "
                    + md_escape(wording.period_label(params.start, params.end)))
    with mark:
        if settings.marking:
            st.badge(md_escape(settings.marking), color="gray")

    from hotspots.methods import AREA_NAMES
    from hotspots.ui import methods  # imports this module

    params = methods.resolve_bandwidth(settings, key, fingerprint, params)  # "auto" -> metres
    analysis = None
    shown: methods.MapAreas | None = None
    try:
        analysis = _analysis(fingerprint, key, params, months, settings)
    except HotspotsError as exc:
        show_error(exc)
    if analysis is not None:
        method = methods.method_controls()  # KDE, Gi*, emerging or clusters
        shown = methods.MapAreas(methods.KDE, AREA_NAMES[methods.KDE], analysis.areas,
                                 analysis.method())
        if method.name != methods.KDE:
            try:
                shown = methods.map_areas(method, settings, key, fingerprint, months, params)
            except HotspotsError:
                shown = None  # the map says why
        if method.name == methods.KDE:
            _summary(analysis)
        else:
            methods.model_summary(method, settings, key, fingerprint, months, params, analysis)
        try:
            html = (_map_html(fingerprint, key, params, months, layers, settings)
                    if method.name == methods.KDE else methods.model_map_html(
                        method, settings, key, fingerprint, months, params, layers,
                        analysis.no_location))
        except HotspotsError as exc:
            show_error(exc)
        else:
            st.iframe(meeting.map_page(html), height=MAP_HEIGHT, alt="Hotspot map")
            methods.backtest_caption(method, settings, key, fingerprint, params, months)
            # Always one slot, filled or not, so the elements after it keep their places
            # across reruns (a shifting element list makes Streamlit redraw the map twice).
            note = st.empty()
            if method.name == methods.KDE and (text := _share_note(analysis)):
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
                                    params.start, params.end, months, settings))
        except HotspotsError as exc:
            show_error(exc)
    with right:
        st.subheader("Hotspot areas", anchor=False)
        if shown is not None:
            _hotspot_table(shown.areas, shown.name, shown.statement)
        else:
            st.info("No hotspot areas for this selection.")
    _about(settings)
    _sources()
