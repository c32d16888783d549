"""The dashboard's Corridors view: the SRN coloured by network kernel density, junctions sized by
nearby incidents, the ranked junction table and the corridor band chart, and its sidebar section.

The computations are :mod:`hotspots.ui.corridor_compute`'s, cached here with ``st.cache_data``
keyed by the store fingerprint and the parameters, on the SRN graph built once per process
(:func:`hotspots.ui.common.load_srn_graph`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st

from hotspots import wording
from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.ui import corridor_compute, downloads, meeting
from hotspots.ui.common import (
    KEEP,
    MAP_HEIGHT,
    load_srn_graph,
    md_escape,
    show_error,
    show_header,
    show_sources,
)
from hotspots.ui.compute import FORCE_AREA, SOC_NOTE, Params, force_counts_line
from hotspots.ui.corridor_compute import (
    BAND_METHOD,
    EXPECTED_NEIGHBOURS,
    JUNCTION_RADIUS_M,
    NKDE_BANDWIDTH_M,
    CorridorCounts,
    CorridorParams,
    NetworkDensity,
    junction_table,
)

# ----------------------------------------------------------------------------------- caching


@st.cache_data(show_spinner=False, max_entries=16)
def _cor_incidents(fingerprint: str, settings_key: str, sel: Params, neighbours: bool,
                   _settings: Settings) -> pd.DataFrame:
    return corridor_compute.corridor_incidents(sel, neighbours, _settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _cor_counts(fingerprint: str, settings_key: str, sel: Params, neighbours: bool,
                _settings: Settings) -> CorridorCounts:
    from hotspots.query import available_months

    return corridor_compute.corridor_counts(
        _cor_incidents(fingerprint, settings_key, sel, neighbours, _settings), sel,
        held=available_months(settings=_settings, forces=sel.force_list(_settings)))


@st.cache_data(show_spinner=False, max_entries=32)
def _cor_network(fingerprint: str, settings_key: str, sel: Params, neighbours: bool,
                 bandwidth: float, _settings: Settings) -> NetworkDensity:
    inc = _cor_incidents(fingerprint, settings_key, sel, neighbours, _settings)
    graph = load_srn_graph(settings_key, _settings, tuple(sel.force_list(_settings)))
    return corridor_compute.network_density(inc, graph, sel, bandwidth, _settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _cor_junctions(fingerprint: str, settings_key: str, sel: Params, neighbours: bool,
                   radius: float, months: tuple[str, ...], _settings: Settings) -> pd.DataFrame:
    inc = _cor_incidents(fingerprint, settings_key, sel, neighbours, _settings)
    graph = load_srn_graph(settings_key, _settings, tuple(sel.force_list(_settings)))
    return corridor_compute.corridor_junctions(inc, graph, sel, radius, months, _settings)


@st.cache_data(show_spinner=False, max_entries=32)
def _cor_bands(fingerprint: str, settings_key: str, sel: Params, neighbours: bool,
               _settings: Settings) -> pd.DataFrame:
    inc = _cor_incidents(fingerprint, settings_key, sel, neighbours, _settings)
    graph = load_srn_graph(settings_key, _settings, tuple(sel.force_list(_settings)))
    return corridor_compute.corridor_band_table(inc, graph, sel, _settings)


@st.cache_data(show_spinner=False, max_entries=4)
def _force_months(fingerprint: str, settings_key: str, _settings: Settings
                  ) -> dict[str, tuple[str, ...]]:
    return corridor_compute.force_months(_settings)


def _neighbour_notes(fingerprint: str, settings_key: str, cp: CorridorParams,
                     months: tuple[str, ...], settings: Settings) -> list[str]:
    if not cp.neighbours:
        return []
    return corridor_compute.neighbour_gaps(_force_months(fingerprint, settings_key, settings),
                                           cp.crimes_params(), months,
                                           cp.crimes_params().force_list(settings))


@st.cache_data(show_spinner=False, max_entries=16)
def _cor_map_html(fingerprint: str, settings_key: str, cp: CorridorParams,
                  months: tuple[str, ...], _settings: Settings) -> str:
    sel = cp.crimes_params()
    return corridor_compute.corridor_map_page(
        cp, _cor_network(fingerprint, settings_key, sel, cp.neighbours, cp.bandwidth, _settings),
        _cor_junctions(fingerprint, settings_key, sel, cp.neighbours, cp.radius, months,
                       _settings),
        _cor_counts(fingerprint, settings_key, sel, cp.neighbours, _settings), _settings, months,
        notes=_neighbour_notes(fingerprint, settings_key, cp, months, _settings))


# ----------------------------------------------------------------------------------- widgets


@dataclass(frozen=True)
class CorridorControls:
    """The Corridors view's own sidebar controls."""

    neighbours: bool = False
    radius: float = JUNCTION_RADIUS_M
    bandwidth: float = NKDE_BANDWIDTH_M


def neighbours_caption(forces: Sequence[str], own: str | Sequence[str],
                       expected: Sequence[str] = EXPECTED_NEIGHBOURS) -> str:
    """Say next to the neighbours toggle which forces' rows it adds and which of the
    ``expected`` neighbours (the selected forces', from the registry) are missing."""
    own = (own,) if isinstance(own, str) else tuple(own)
    others = [wording.force_name(f) for f in forces if f not in own]
    names = (", ".join(others[:-1]) + " and " + others[-1]) if len(others) > 1 else \
        (others[0] if others else "no neighbouring force")
    text = f"police.uk rows of {names} within 10 km of the force area."
    missing = [wording.force_name(f) for f in expected if f not in forces and f not in own]
    if "West Midlands" in missing:
        text += (" West Midlands Police is missing from the shipped data: its side of the "
                 "border has no incidents.")
        missing.remove("West Midlands")
    if missing:
        text += f" Also missing: {', '.join(missing)}."
    return text


def controls(forces: Sequence[str], own_force: str | Sequence[str],
             expected: Sequence[str] = EXPECTED_NEIGHBOURS) -> CorridorControls:
    """The Corridors view's sidebar section (inside ``st.sidebar``)."""
    st.header("Corridors")
    neighbours = st.toggle(
        "Include neighbouring forces' near-border incidents", value=False,
        key="cor_neighbours", persist_state=KEEP,
        help="Adds the selected crimes recorded by neighbouring forces near the force border "
             "to the network density and the junction counts. The corridor bands count "
             "incidents inside the area only.")
    st.caption(md_escape(neighbours_caption(forces, own_force, expected)))
    radius = st.slider("Junction radius, metres", 500, 5000, int(JUNCTION_RADIUS_M),
                       step=250, key="cor_radius", persist_state=KEEP,
                       help="Incidents within this straight-line distance of a junction count "
                            "for it (an incident can count for two close junctions).")
    bandwidth = st.slider("Network density bandwidth, metres", 200, 3000,
                          int(NKDE_BANDWIDTH_M), step=100, key="cor_bandwidth",
                          persist_state=KEEP,
                          help="How far along the road each incident's quartic kernel reaches "
                               "(network kernel density, 100 m lixels).")
    return CorridorControls(neighbours=bool(neighbours), radius=float(radius),
                            bandwidth=float(bandwidth))


# ----------------------------------------------------------------------------------- panels


def _corridor_summary(cp: CorridorParams, counts: CorridorCounts,
                      network: NetworkDensity | None, junctions: pd.DataFrame | None,
                      own: Sequence[str]) -> None:
    cols = st.columns(4)
    names = ", ".join(wording.force_name(f) for f in own)
    cols[0].metric("Incidents", f"{counts.incidents:,}",
                   help="All incidents matching the selection in the period"
                        + (", including neighbouring forces' near-border incidents."
                           if cp.neighbours else f" ({md_escape(names)} only)."))
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
    neighbours = sum(n for f, n in counts.by_force.items() if f not in own)
    cols[3].metric("Neighbouring forces' incidents",
                   f"{neighbours:,}" if cp.neighbours else "Not included",
                   help="Near-border incidents recorded by neighbouring forces, added with the "
                        "toggle in the sidebar.")


def _junction_panel(junctions: pd.DataFrame, cp: CorridorParams, own: Sequence[str]) -> None:
    if not len(junctions):
        st.info(f"No SRN junction lies within {cp.radius:,.0f} m of this area.")
        return
    table = junction_table(junctions, own)
    # st.dataframe shows cell values as plain text (no Markdown or HTML is interpreted), so data
    # strings such as junction names cannot become links or markup here.
    st.dataframe(
        table, hide_index=True, width="stretch", key="junction_table",
        height=min(len(table) + 1, 13) * 35 + 3,
        column_config={
            "Rank": st.column_config.NumberColumn(width="small"),
            "Junction": st.column_config.TextColumn(width="medium"),
            "Force": st.column_config.TextColumn(
                width="small", help="The force area holding the junction"),
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


def _band_chart(bands: pd.DataFrame, cp: CorridorParams) -> None:
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
    area = ("the force area" if cp.area == FORCE_AREA
            else f"the area ({md_escape(cp.area)})")
    method = BAND_METHOD.replace("the force area", area)
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
            "- **Alignments**: every motorway and trunk carriageway, slip road and roundabout "
            "is a National Highways HAPMS section (surveyed, 2 March 2020); junctions are "
            "named from National Highways HATRIS. Straight connectors join slip-road ends to "
            "their junction.\n"
            "- **Junctions** count incidents within the radius in a straight line; an incident "
            "can count for two close junctions. The change compares with the previous period "
            "of equal length; months without published data are never read as zero.\n"
            "- **Corridor bands** use the distance to the nearest SRN road. The location "
            "quotient (LQ) is the band's share of incidents divided by its share of the area: "
            "above 1, more crime than the band's area would suggest.\n"
            "- **Neighbouring forces**: police.uk rows within 10 km of the force area, for "
            "the network density and the junctions, where the store holds them (the caption "
            "beside the toggle names the neighbours missing).\n"
            f"- {SOC_NOTE}")


# ----------------------------------------------------------------------------------- the view


def corridors_view(settings: Settings, key: str, fingerprint: str, months: tuple[str, ...],
                   params: Params, ctl: CorridorControls) -> None:
    """The Corridors view: SRN density map, junction ranking and corridor bands."""
    cp = CorridorParams.from_params(params, neighbours=ctl.neighbours, radius=ctl.radius,
                                    bandwidth=ctl.bandwidth)
    sel = cp.crimes_params()
    own = sel.force_list(settings)
    names = ", ".join(wording.force_name(f) for f in own)
    forces = (f"{names} and neighbouring forces' incidents"
              if cp.neighbours else f"{names} incidents only")
    show_header("SRN corridors", sel.crimes(), sel.area_label(),
                wording.period_label(cp.start, cp.end), forces, marking=settings.marking)

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
        _corridor_summary(cp, counts, network, junctions, own)
        if len(own) > 1:
            st.caption(md_escape(force_counts_line(
                {f: counts.by_force.get(f, 0) for f in own})))
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
        _junction_panel(junctions, cp, own)
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
    show_sources()
