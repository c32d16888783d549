"""The Corridors view's computations, free of Streamlit so they can be tested and timed directly.

The SRN graph around the force area, the selection's incidents of the period and the previous
one, network kernel density, junction rankings, corridor bands and the corridor map.
:mod:`hotspots.ui.corridors` wraps these in ``st.cache_data`` keyed by the store fingerprint and
the parameters; everything here is a plain function of its arguments, the store's contents and
the SRN graph the dashboard builds once per process (:func:`hotspots.ui.common.load_srn_graph`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from hotspots import base_layers, corridor_lines, corridor_map, defaults, leaflet, wording
from hotspots.config import Settings
from hotspots.errors import NoDataError
from hotspots.legend import Legend
from hotspots.months import missing_months, month_range, previous_period
from hotspots.schema import mapped_rows
from hotspots.ui.compute import FORCE_AREA, Params

if TYPE_CHECKING:
    import networkx as nx
    from shapely.geometry.base import BaseGeometry

#: Short crime-group names for the junction table and popups.
GROUP_SHORT: dict[str, str] = {"acquisitive": "Acquisitive", "soc": "SOC-linked",
                               "violence": "Violence", "asb": "ASB", "other": "Other"}
JUNCTION_RADIUS_M = defaults.JUNCTION_RADIUS_M
NKDE_BANDWIDTH_M = 1000.0
NKDE_LIXEL_M = 100.0
NKDE_BAND_M = 500.0
NKDE_KERNEL = "quartic"
#: Roads are drawn within this distance of the force area (the neighbours' data reach 10 km).
CORRIDOR_DRAW_BUFFER_M = 15_000.0
#: How the corridor bands are measured (the chart's caption, as the CLI states it).
BAND_METHOD = "distance to nearest SRN road; LQ = share of incidents / share of the force area"
#: Forces whose absence from the store is worth saying next to the neighbours toggle.
EXPECTED_NEIGHBOURS = ("leicestershire", "northamptonshire", "thames-valley", "west-mercia",
                       "west-midlands")


_EXTENT_CACHE: dict[str, BaseGeometry] = {}


def corridor_extent(settings: Settings, forces: Sequence[str] = ()) -> BaseGeometry:
    """The selected forces' area buffered by :data:`CORRIDOR_DRAW_BUFFER_M` (EPSG:27700),
    prepared (default: ``settings.force``).

    The Corridors view draws the SRN within this extent: the neighbours' incidents reach
    10 km beyond the force area, the largest bandwidth 3 km and the largest junction radius
    5 km, so cutting the network 15 km out changes no density, count or band inside it.
    """
    from hotspots.spatial.boundaries import area_geometry

    chosen = tuple(forces) or (settings.force,)
    key = f"{Path(settings.data_dir).resolve()}|{','.join(chosen)}"
    if key not in _EXTENT_CACHE:
        extent = area_geometry(FORCE_AREA, settings, forces=list(chosen)).buffer(
            CORRIDOR_DRAW_BUFFER_M)
        shapely.prepare(extent)
        _EXTENT_CACHE[key] = extent
    return _EXTENT_CACHE[key]


def corridor_graph(settings: Settings, forces: Sequence[str] = ()) -> nx.MultiDiGraph:
    """The SRN graph of the Corridors and Disruption views: every selected force's (default
    ``settings.force``), from :func:`hotspots.spatial.srn_graph.srn_graph_for` (the national
    HAPMS sections of the forces' areas plus 10 km, cached on disk); the dashboard keeps it in
    memory once per process and forces.
    """
    from hotspots.spatial.srn_graph import srn_graph_for

    return srn_graph_for(settings, list(forces) or [settings.force])


@dataclass(frozen=True)
class CorridorParams:
    """One Corridors view selection: the shared filters and the corridor controls.

    Attributes
    ----------
    area, start, end, groups, types
        As in :class:`Params`.
    neighbours : bool
        Add neighbouring forces' near-border incidents.
    radius : float
        Junction radius, metres.
    bandwidth : float
        Network kernel density bandwidth along the network, metres.
    """

    area: str
    start: str
    end: str
    groups: tuple[str, ...]
    types: tuple[str, ...] = ()
    neighbours: bool = False
    radius: float = JUNCTION_RADIUS_M
    bandwidth: float = NKDE_BANDWIDTH_M
    forces: tuple[str, ...] = ()
    region: str = ""
    forces_name: str = ""

    @classmethod
    def from_params(cls, params: Params, *, neighbours: bool = False,
                    radius: float = JUNCTION_RADIUS_M,
                    bandwidth: float = NKDE_BANDWIDTH_M) -> CorridorParams:
        """Take the shared filters of a hotspot selection (its surface settings are dropped)."""
        return cls(area=params.area, start=params.start, end=params.end, groups=params.groups,
                   types=params.types, neighbours=bool(neighbours), radius=float(radius),
                   bandwidth=float(bandwidth), **params.scope())

    def crimes_params(self) -> Params:
        """The area, period and crimes as a :class:`Params` (default surface settings), which
        is also the cache key of everything that does not depend on the corridor controls."""
        return Params(area=self.area, start=self.start, end=self.end, groups=self.groups,
                      types=self.types, forces=self.forces, region=self.region,
                      forces_name=self.forces_name)


@dataclass(frozen=True)
class CorridorCounts:
    """Incidents of the selected period behind the Corridors view."""

    incidents: int
    mapped: int
    no_location: int
    by_force: dict[str, int]


@dataclass(frozen=True)
class NetworkDensity:
    """Network kernel density along the SRN, aggregated for the map, with its parameters."""

    lines: corridor_lines.CorridorLines
    points: int
    snapped: int
    bandwidth: float
    lixel: float
    band: float
    kernel: str


def corridor_incidents(sel: Params, neighbours: bool, settings: Settings) -> pd.DataFrame:
    """Load the selected crimes of the period and of the previous period for the corridors.

    Junction change compares with the previous period of equal length, so that is loaded too
    (``hotspots corridors`` loads every month; nothing before the previous period is used).
    Without neighbours: the force's own incidents in the area.
    With neighbours and the force area: every stored row of every force (``area="none"``), as
    ``hotspots corridors --neighbours``; with a district: the force's incidents in the district
    plus the other forces' rows.

    Parameters
    ----------
    sel : Params
        Area, period and crimes.
    neighbours : bool
    settings : Settings

    Returns
    -------
    pandas.DataFrame
        ``month``, ``crime_group``, ``force``, ``has_location``, ``x``, ``y``, from the first
        month of the previous period to the last of the period.
    """
    from hotspots.query import load_incidents
    from hotspots.spatial.boundaries import area_geometry
    from hotspots.store import store_forces

    store = Path(settings.store_dir)
    kw = {**sel.selection(), "start": previous_period(sel.start, sel.end)[0], "end": sel.end}
    own = sel.force_list(settings)
    geom = area_geometry(sel.area, settings, forces=own)
    if not neighbours:
        inc = load_incidents(store, area=sel.area, forces=own, settings=settings,
                             geometry=geom, **kw)
    elif sel.area == FORCE_AREA:
        inc = load_incidents(store, area="none", forces="all", settings=settings, **kw)
    else:
        parts = [load_incidents(store, area=sel.area, forces=own, geometry=geom,
                                settings=settings, **kw)]
        others = [f for f in store_forces(store) if f not in own]
        if others:
            parts.append(load_incidents(store, area="none", forces=others, settings=settings,
                                        **kw))
        inc = pd.concat(parts, ignore_index=True)
    cols = ["month", "crime_group", "force", "has_location", "x", "y"]
    out = inc[cols].reset_index(drop=True)
    out["has_location"] = out["has_location"].fillna(False).astype(bool)
    return out


def _in_period(inc: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    month = inc["month"].astype(str)
    return inc[(month >= start) & (month <= end)]


def corridor_counts(inc: pd.DataFrame, sel: Params, held: Sequence[str] = ()
                    ) -> CorridorCounts:
    """Count the period's incidents: all, mapped, without location, per force.

    Raises
    ------
    NoDataError
        No mapped incident in the period.
    """
    period = _in_period(inc, sel.start, sel.end)
    mapped = int(period["has_location"].sum())
    if not mapped:
        raise NoDataError(wording.no_data_message(sel.crimes(), sel.area_label(), sel.start,
                                                  sel.end, held))
    by_force = period["force"].astype(str).value_counts()
    return CorridorCounts(incidents=int(len(period)), mapped=mapped,
                          no_location=int(len(period) - mapped),
                          by_force={str(k): int(v) for k, v in by_force.items()})


def network_density(inc: pd.DataFrame, graph: nx.MultiDiGraph, sel: Params, bandwidth: float,
                    settings: Settings) -> NetworkDensity:
    """Network kernel density of the period's incidents along the SRN, merged for the map.

    Parameters
    ----------
    inc : pandas.DataFrame
        From :func:`corridor_incidents`.
    graph : networkx.MultiDiGraph
        From :func:`corridor_graph` (or :func:`hotspots.spatial.srn_graph.build_srn_graph`).
    sel : Params
        Period and crimes.
    bandwidth : float
        Metres along the network.
    settings : Settings

    Returns
    -------
    NetworkDensity
    """
    from hotspots.spatial.network_kde import network_kde

    period = _in_period(inc, sel.start, sel.end)
    located = mapped_rows(period)
    lix = network_kde(graph, located["x"].to_numpy(float), located["y"].to_numpy(float),
                      lixel=NKDE_LIXEL_M, bandwidth=float(bandwidth), kernel=NKDE_KERNEL,
                      band=NKDE_BAND_M)
    clip = corridor_extent(settings, sel.force_list(settings))
    return NetworkDensity(lines=corridor_lines.corridor_lines(lix, clip=clip),
                          points=int(len(located)),
                          snapped=int(lix.attrs.get("n_snapped", 0)),
                          bandwidth=float(lix.attrs.get("bandwidth_m", bandwidth)),
                          lixel=float(lix.attrs.get("lixel_m", NKDE_LIXEL_M)),
                          band=float(lix.attrs.get("band_m", NKDE_BAND_M)),
                          kernel=str(lix.attrs.get("kernel", NKDE_KERNEL)))


def corridor_junctions(inc: pd.DataFrame, graph: nx.MultiDiGraph, sel: Params, radius: float,
                       months_present: Sequence[str], settings: Settings) -> pd.DataFrame:
    """Rank the SRN junctions whose radius reaches the area by incidents within the radius.

    Parameters
    ----------
    inc : pandas.DataFrame
        From :func:`corridor_incidents` (the period and the previous period).
    graph : networkx.MultiDiGraph
    sel : Params
        Area, period and crimes.
    radius : float
        Metres, straight line.
    months_present : sequence of str
        Months the store holds (gaps are never read as zeros).
    settings : Settings

    Returns
    -------
    pandas.DataFrame
        :func:`hotspots.spatial.corridors.junction_stats` rows of the junctions within
        ``radius`` of the area, ranked, with ``rank`` first; ``attrs`` as junction_stats plus
        ``area``.
    """
    from hotspots.spatial.corridors import junction_stats

    stats = junction_stats(inc, graph, radius=float(radius), period=(sel.start, sel.end),
                           months=list(months_present))
    geom = sel.to_selection(settings).geometry
    near = shapely.dwithin(geom, shapely.points(stats["x"].to_numpy(), stats["y"].to_numpy()),
                           float(radius))
    out = stats[near].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.attrs = {**stats.attrs, "area": sel.area_label()}
    return out


def corridor_band_table(inc: pd.DataFrame, graph: nx.MultiDiGraph, sel: Params,
                        settings: Settings) -> pd.DataFrame:
    """Incidents of the period by distance band from the SRN, inside the area, with LQ.

    Returns
    -------
    pandas.DataFrame
        :func:`hotspots.spatial.corridors.corridor_bands` for the area.
    """
    from hotspots.spatial.corridors import corridor_bands

    return corridor_bands(_in_period(inc, sel.start, sel.end), graph,
                          sel.to_selection(settings).geometry)


def _groups_text(value: object) -> str:
    if not isinstance(value, dict):
        return ""
    order = list(GROUP_SHORT)
    items = sorted(((k, int(v)) for k, v in value.items() if v),
                   key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))
    return " · ".join(f"{GROUP_SHORT.get(k, k)} {v:,}" for k, v in items)


def junction_table(junctions: pd.DataFrame, forces: Sequence[str] = ()) -> pd.DataFrame:
    """The ranked junction table as shown: one row per junction, plain values.

    Parameters
    ----------
    junctions : pandas.DataFrame
        From :func:`corridor_junctions`.
    forces : sequence of str
        The selected forces: with two or more, a ``Force`` column names the force area
        holding each junction.

    Returns
    -------
    pandas.DataFrame
        ``Rank``, ``Junction`` (name, alias in brackets), [``Force``], ``Incidents``,
        ``By group``, ``Previous``, ``Change``, ``Change %`` (nullable numbers) and ``Note``.
    """
    def num(col: str) -> pd.Series:
        return pd.to_numeric(junctions[col], errors="coerce")

    alias = junctions["alias"].fillna("").astype(str)
    name = junctions["name"].astype(str) + np.where(alias != "", " (" + alias + ")", "")
    out = pd.DataFrame({
        "Rank": junctions["rank"].astype(int),
        "Junction": name,
        "Incidents": junctions["incidents"].astype(int),
        "By group": junctions["by_group"].map(_groups_text),
        "Previous": num("previous").round().astype("Int64"),
        "Change": num("change").round().astype("Int64"),
        "Change %": num("change_pct").astype(float),
        "Note": junctions["change_note"].fillna("").astype(str),
    })
    if len(forces) > 1:
        held = junctions["force"] if "force" in junctions else pd.Series("", junctions.index)
        out.insert(2, "Force", [wording.force_name(f) if f else "" for f in
                                held.fillna("").astype(str)])
    return out


def force_months(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Return the months each force has in the store (to state a neighbour's missing month)."""
    from hotspots.store import read_store

    pairs = read_store(Path(settings.store_dir), columns=["force", "month"]).drop_duplicates()
    return {str(f): tuple(sorted(g["month"].astype(str))) for f, g in pairs.groupby("force")}


def neighbour_gaps(months_by_force: dict[str, Sequence[str]], sel: Params,
                   months_present: Sequence[str], own_force: str | Sequence[str]
                   ) -> list[str]:
    """Say which neighbouring force lacks which month of the period or the previous period.

    A month the store holds for some force but not for a neighbour counts as no incidents for
    that neighbour; the sentence says so where it matters.
    """
    held = set(months_present)
    wanted = [m for m in month_range(previous_period(sel.start, sel.end)[0], sel.end)
              if m in held]
    own = {own_force} if isinstance(own_force, str) else set(own_force)
    out = []
    for force, have in sorted(months_by_force.items()):
        if force in own:
            continue
        lack = [m for m in wanted if m not in set(have)]
        if lack:
            out.append(f"{wording.force_name(force)} has no data for "
                       f"{wording.missing_months_label(lack)}")
    return out


def corridor_map_page(cp: CorridorParams, network: NetworkDensity, junctions: pd.DataFrame,
                      counts: CorridorCounts, settings: Settings,
                      months_present: Sequence[str], *, notes: Sequence[str] = ()) -> str:
    """Build the corridor map and render it to self-contained, offline HTML.

    Parameters
    ----------
    cp : CorridorParams
    network : NetworkDensity
    junctions : pandas.DataFrame
        From :func:`corridor_junctions`.
    counts : CorridorCounts
    settings : Settings
    months_present : sequence of str
    notes : sequence of str
        Further plain-text notes for the legend (e.g. a neighbour's missing month).

    Returns
    -------
    str
    """
    from hotspots.spatial.boundaries import area_geometry

    sel = cp.crimes_params()
    crimes = sel.crimes()
    method = wording.network_statement(
        bandwidth=network.bandwidth, lixel=network.lixel, band=network.band, start=cp.start,
        end=cp.end, crimes=crimes, kernel=network.kernel,
        missing=missing_months(cp.start, cp.end, months_present))
    chosen = sel.force_list(settings)
    own = "; ".join(f"{wording.force_name(f)} {counts.by_force.get(f, 0):,}" for f in chosen)
    others = sorted(wording.force_name(f) for f in counts.by_force if f not in chosen)
    if cp.neighbours:
        forces = (f"Incidents by force: {own} and, near the border, "
                  f"{', '.join(others) if others else 'no neighbouring force'}.")
    else:
        forces = f"Incidents by force: {own} (neighbouring forces not included)."
    legend_notes = [
        forces,
        f"{network.snapped:,} of {network.points:,} mapped incidents lie within "
        f"{network.band:,.0f} m of the SRN. Simple method: density next to junctions reads "
        "high.",
        *notes]
    if counts.no_location:
        legend_notes.append(f"{counts.no_location:,} of {counts.incidents:,} incidents have no "
                            "location and are not mapped.")
    pp = junctions.attrs.get("previous_period")
    markers = corridor_map.junction_markers(
        junctions, radius_m=cp.radius, period=wording.period_label(cp.start, cp.end),
        previous_period=wording.period_label(*pp) if pp else "", group_labels=GROUP_SHORT,
        force_labels={f: wording.force_name(f) for f in counts.by_force})
    legend = Legend(
        title=f"{crimes[:1].upper()}{crimes[1:]} along the SRN, {sel.area_label()}",
        method=method, roads=False, network=network.lines.classes,
        junction_key=(f"SRN junction, sized by incidents within {cp.radius:,.0f} m (largest "
                      f"{markers.largest:,}); number = rank in the table"),
        marking=settings.marking, notes=tuple(legend_notes))
    own = cp.crimes_params().force_list(settings)
    m = corridor_map.corridor_map(base=base_layers.load_base_layers(settings, own),
                          view=area_geometry(cp.area, settings, forces=own), lines=network.lines,
                          junctions=markers, legend=legend, settings=settings,
                          title=f"SRN corridors: {crimes}, {sel.area_label()}, "
                                f"{wording.period_label(cp.start, cp.end)}")
    return leaflet.offline_html(m)
