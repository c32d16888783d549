"""The dashboard's computations, free of Streamlit so they can be tested and timed directly.

:mod:`hotspots.ui.dashboard` wraps these in ``st.cache_data`` keyed by the store fingerprint and
the parameters; everything here is a plain function of its arguments and the store's contents
(and, for the Corridors view, of the SRN graph the dashboard builds once per process).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hotspots import (
    base_layers,
    corridor_lines,
    corridor_map,
    count_symbols,
    density_image,
    leaflet,
    maps,
    wording,
)
from hotspots.config import Settings
from hotspots.errors import NoDataError, ParameterError
from hotspots.legend import Legend
from hotspots.months import missing_months, month_range, previous_period

if TYPE_CHECKING:
    import networkx as nx
    from shapely.geometry.base import BaseGeometry

#: Crime groups as offered in the sidebar, with their labels.
GROUP_LABELS: dict[str, str] = {
    "acquisitive": "Acquisitive",
    "soc": "SOC-linked (Drugs, Possession of weapons)",
    "violence": "Violence and sexual offences",
    "asb": "Anti-social behaviour",
    "other": "Other (criminal damage, public order, other crime)",
}

#: What "SOC-linked" means in police.uk data, said wherever SOC-linked counts appear.
SOC_NOTE = ("police.uk has no serious-organised-crime marker: Drugs and Possession of weapons "
            "are the SOC-linked proxy.")

CELL_M = 100.0
KERNEL = "quartic"
SYMBOL_CELL_M = 1000.0
FORCE_AREA = "force"


@dataclass(frozen=True)
class Params:
    """One dashboard selection.

    Attributes
    ----------
    area : str
        ``"force"`` or a district name.
    start, end : str
        First and last month, ``YYYY-MM``.
    groups : tuple of str
        Crime groups (used when ``types`` is empty).
    types : tuple of str
        Crime types; when given, they alone select the crimes.
    bandwidth : float, str or tuple of float
        Metres, or ``"arcgis"``; several metres for the multi-scale KDE (which ``auto`` may
        choose).
    top : float
        Share of the study area marked as hotspot.
    bandwidth_rule : str
        How a bandwidth in metres was chosen, for the legend (e.g. the auto back-test's
        reason); empty: the surface's own rule (``fixed`` or the named rule).
    """

    area: str
    start: str
    end: str
    groups: tuple[str, ...]
    types: tuple[str, ...] = ()
    bandwidth: float | str | tuple[float, ...] = 500.0
    top: float = 0.05
    bandwidth_rule: str = ""

    def selection(self) -> dict[str, list[str] | None]:
        """Return ``groups``/``types`` keyword arguments for ``load_incidents``."""
        if self.types:
            return {"groups": None, "types": list(self.types)}
        if not self.groups:
            raise NoDataError("choose at least one crime group or crime type")
        return {"groups": list(self.groups), "types": None}

    def crimes(self) -> str:
        """The crime selection in words."""
        if not self.groups and not self.types:
            return "no crime chosen"
        return wording.crimes_label(self.groups, self.types)

    def area_label(self) -> str:
        """The area in words."""
        return "Warwickshire (force area)" if self.area == FORCE_AREA else self.area


@dataclass
class Analysis:
    """Result of :func:`run_analysis`: counts, hotspot areas and the coloured surface."""

    params: Params
    incidents: int
    mapped: int
    no_location: int
    in_study: int
    areas: gpd.GeoDataFrame
    image: density_image.DensityImage
    bandwidth: float | tuple[float, ...]
    bandwidth_rule: str
    kernel: str
    cell: float
    study_km2: float
    missing_months: list[str] = field(default_factory=list)

    @property
    def hotspot_incidents(self) -> int:
        """Mapped incidents inside the hotspot areas."""
        return int(self.areas["incidents"].sum()) if len(self.areas) else 0

    @property
    def hotspot_km2(self) -> float:
        """Total area of the hotspot areas, km²."""
        return float(self.areas["area_km2"].sum()) if len(self.areas) else 0.0

    @property
    def share(self) -> float:
        """Share of the study area's mapped incidents that fall in hotspot areas (NaN if none)."""
        return self.hotspot_incidents / self.in_study if self.in_study else float("nan")

    @property
    def pai(self) -> float:
        """In-sample PAI of all hotspot areas together: share of incidents / share of area."""
        if not self.in_study or not self.hotspot_km2:
            return float("nan")
        return self.share / (self.hotspot_km2 / self.study_km2)

    def method(self) -> str:
        """The legend's one-line method statement."""
        return wording.method_statement(
            kernel=self.kernel, bandwidth=self.bandwidth, bandwidth_rule=self.bandwidth_rule,
            cell=self.cell, top=self.params.top, start=self.params.start, end=self.params.end,
            crimes=self.params.crimes(), missing=self.missing_months)


def _settings_store(settings: Settings) -> Path:
    return Path(settings.store_dir)


def run_analysis(params: Params, settings: Settings, months_present: Sequence[str]) -> Analysis:
    """Load the selection, estimate the density surface and find the hotspot areas.

    Parameters
    ----------
    params : Params
    settings : Settings
    months_present : sequence of str
        Months the store holds (to state gaps honestly).

    Returns
    -------
    Analysis

    Raises
    ------
    HotspotsError
        No incidents, an unknown area, bad parameters, a damaged store.
    """
    from hotspots.models.areas import hotspot_areas
    from hotspots.models.kde import kernel_density
    from hotspots.query import load_incidents
    from hotspots.spatial.boundaries import area_geometry
    from hotspots.spatial.grid import Grid

    if params.start > params.end:
        raise ParameterError(f"the period starts ({params.start}) after it ends ({params.end})")
    if not 0 < params.top < 1:
        raise ParameterError(f"hotspot share {params.top!r} must be between 0 and 1")
    inc = load_incidents(_settings_store(settings), start=params.start, end=params.end,
                         area=params.area, forces=[settings.force], settings=settings,
                         **params.selection())
    has_loc = inc["has_location"].fillna(False).astype(bool)
    mapped = inc[has_loc]
    if mapped.empty:
        raise NoDataError(f"no mapped {params.crimes()} incidents in {params.area_label()} for "
                          f"{wording.period_label(params.start, params.end)}; widen the period, "
                          "area or crime selection")
    geom = area_geometry(params.area, settings)
    grid = Grid.from_geometry(geom, CELL_M)
    surface = kernel_density(mapped["x"].to_numpy(), mapped["y"].to_numpy(), cell=CELL_M,
                             bandwidth=params.bandwidth, kernel=KERNEL, grid=grid)
    areas = hotspot_areas(surface, mapped, top=params.top, study_area=geom)
    method = areas.attrs.get("method", {})
    study_km2 = float(method.get("study_area_km2", geom.area / 1e6))
    in_study = int(method.get("incidents_in_study_area", len(mapped)))
    image = density_image.density_image(surface.values, surface.grid, mask=geom)
    return Analysis(
        params=params, incidents=int(len(inc)), mapped=int(len(mapped)),
        no_location=int((~has_loc).sum()), in_study=in_study, areas=areas, image=image,
        bandwidth=surface.bandwidths or float(surface.bandwidth),
        bandwidth_rule=params.bandwidth_rule or str(surface.bandwidth_rule),
        kernel=str(surface.kernel), cell=float(surface.grid.cell), study_km2=study_km2,
        missing_months=missing_months(params.start, params.end, months_present))


def monthly_counts(params: Params, settings: Settings, months_present: Sequence[str]
                   ) -> pd.DataFrame:
    """Count the selection per calendar month over everything the store holds.

    Parameters
    ----------
    params : Params
        Area and crimes are used; the period is marked in the ``selected`` column.
    settings : Settings
    months_present : sequence of str
        Months the store holds.

    Returns
    -------
    pandas.DataFrame
        One row per calendar month from the first to the last stored month: ``month``
        (``YYYY-MM``), ``label`` ("Jan 2025"), ``incidents`` (float; NaN where the store has no
        data for that month, so a chart shows a gap rather than a zero or a bridged line),
        ``has_data`` and ``selected`` (inside the chosen period).
    """
    from hotspots.query import load_incidents

    if not months_present:
        raise NoDataError("the incident store holds no months")
    first, last = min(months_present), max(months_present)
    inc = load_incidents(_settings_store(settings), start=first, end=last, area=params.area,
                         forces=[settings.force], settings=settings, **params.selection())
    counts = inc.groupby(inc["month"].astype(str)).size()
    months = month_range(first, last)
    have = set(months_present)
    values = [float(counts.get(m, 0)) if m in have else np.nan for m in months]
    return pd.DataFrame({
        "month": months,
        "label": [wording.period_label(m, m) for m in months],
        "incidents": values,
        "has_data": [m in have for m in months],
        "selected": [params.start <= m <= params.end for m in months],
    })


def symbol_layers(params: Params, settings: Settings) -> tuple[count_symbols.CountLayer, ...]:
    """Acquisitive (circles) and SOC-linked (diamonds) incidents per 1 km square.

    Uses the same area and period as ``params`` whatever its crime selection, so the two groups
    can be read together against any surface.
    """
    from hotspots.query import load_incidents

    out = []
    specs = (("acquisitive", "Acquisitive", "circle", leaflet.ACQUISITIVE_COLOUR, "acquisitive"),
             ("soc", "SOC-linked (Drugs, Possession of weapons)", "diamond", leaflet.SOC_COLOUR,
              "SOC-linked"))
    for group, name, shape, colour, noun in specs:
        inc = load_incidents(_settings_store(settings), start=params.start, end=params.end,
                             groups=[group], area=params.area, forces=[settings.force],
                             mapped_only=True, settings=settings)
        out.append(count_symbols.count_layer(inc["x"].to_numpy(), inc["y"].to_numpy(), name=name,
                                             cell=SYMBOL_CELL_M, shape=shape, colour=colour,
                                             noun=noun))
    return tuple(out)


NEIGHBOUR_COLOUR = "#7F7F7F"
NEIGHBOUR_LAYER = "Neighbouring forces (context)"
NEIGHBOUR_NOTE = ("Neighbouring forces' incidents are context only: they are not in the "
                  "density surface, the hotspot areas or the summary.")


def neighbour_layer(params: Params, settings: Settings) -> count_symbols.CountLayer:
    """The selected crimes recorded by neighbouring forces near the border, per 1 km square.

    The store holds neighbours' rows only near the force boundary (a buffer at ingest); they
    are context for the map and take no part in the analysis.
    """
    from hotspots.query import load_incidents
    from hotspots.store import store_forces

    store = _settings_store(settings)
    others = [f for f in store_forces(store) if f != settings.force]
    if not others:
        return count_symbols.CountLayer(name=NEIGHBOUR_LAYER, points=(), cell=SYMBOL_CELL_M,
                                        colour=NEIGHBOUR_COLOUR)
    inc = load_incidents(store, start=params.start, end=params.end, forces=others,
                         mapped_only=True, settings=settings, **params.selection())
    return count_symbols.count_layer(inc["x"].to_numpy(), inc["y"].to_numpy(), name=NEIGHBOUR_LAYER,
                                     cell=SYMBOL_CELL_M, shape="circle", colour=NEIGHBOUR_COLOUR,
                                     noun="neighbouring-force")


def map_page(analysis: Analysis, settings: Settings, *,
             counts: Sequence[count_symbols.CountLayer] = (), show_services: bool = False) -> str:
    """Build the map for an analysis and render it to self-contained, offline HTML."""
    from hotspots.spatial.boundaries import area_geometry

    p = analysis.params
    n = len(analysis.areas)
    hot_line = (f"Hotspot areas (top {wording.format_share(p.top)} of area): {n:,}, holding "
                f"{analysis.share:.0%} of mapped incidents (PAI {analysis.pai:.1f})"
                if n else f"No hotspot areas (top {wording.format_share(p.top)} of area)")
    notes = []
    if any(c.shape == "diamond" for c in counts):
        notes.append(SOC_NOTE)
    if any(c.name == NEIGHBOUR_LAYER for c in counts):
        notes.append(NEIGHBOUR_NOTE)
    if analysis.no_location:
        notes.append(f"{analysis.no_location:,} of {analysis.incidents:,} incidents have no "
                     "location and are not mapped.")
    legend = Legend(
        title=f"{p.crimes()[:1].upper()}{p.crimes()[1:]} hotspots, {p.area_label()}",
        method=analysis.method(), density=analysis.image, hotspots_line=hot_line,
        counts=tuple(counts), marking=settings.marking, notes=tuple(notes))
    m = maps.build_map(base=base_layers.load_base_layers(settings),
                       view=area_geometry(p.area, settings), density=analysis.image,
                       hotspots=analysis.areas, counts=counts, legend=legend, settings=settings,
                       show_services=show_services,
                       title=f"Hotspots: {p.crimes()}, {p.area_label()}, "
                             f"{wording.period_label(p.start, p.end)}")
    return leaflet.offline_html(m)


# ----------------------------------------------------------------------------------- corridors

#: Short crime-group names for the junction table and popups.
GROUP_SHORT: dict[str, str] = {"acquisitive": "Acquisitive", "soc": "SOC-linked",
                               "violence": "Violence", "asb": "ASB", "other": "Other"}
JUNCTION_RADIUS_M = 2000.0
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


def corridor_extent(settings: Settings) -> BaseGeometry:
    """The force area buffered by :data:`CORRIDOR_DRAW_BUFFER_M` (EPSG:27700), prepared.

    The Corridors view works on the SRN within this extent: the neighbours' incidents reach
    10 km beyond the county, the largest bandwidth 3 km and the largest junction radius 5 km,
    so cutting the network 15 km out changes no density, count or band inside the county, and
    saves about a third of the work.
    """
    from hotspots.spatial.boundaries import area_geometry

    key = str(Path(settings.data_dir).resolve())
    if key not in _EXTENT_CACHE:
        extent = area_geometry(FORCE_AREA, settings).buffer(CORRIDOR_DRAW_BUFFER_M)
        shapely.prepare(extent)
        _EXTENT_CACHE[key] = extent
    return _EXTENT_CACHE[key]


def corridor_graph(settings: Settings) -> nx.MultiDiGraph:
    """The SRN graph of the Corridors view: whole edges touching :func:`corridor_extent`.

    Built by :func:`hotspots.spatial.roads.build_srn_graph` (cached on disk by its inputs and
    the extent); the dashboard keeps it in memory once per process.
    """
    from hotspots.spatial.roads import build_srn_graph

    return build_srn_graph(settings, area=corridor_extent(settings))


def force_label(slug: str) -> str:
    """A force slug for people: ``"thames-valley"`` -> ``"Thames Valley"``."""
    return str(slug).replace("-", " ").title()


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

    @classmethod
    def from_params(cls, params: Params, *, neighbours: bool = False,
                    radius: float = JUNCTION_RADIUS_M,
                    bandwidth: float = NKDE_BANDWIDTH_M) -> CorridorParams:
        """Take the shared filters of a hotspot selection (its surface settings are dropped)."""
        return cls(area=params.area, start=params.start, end=params.end, groups=params.groups,
                   types=params.types, neighbours=bool(neighbours), radius=float(radius),
                   bandwidth=float(bandwidth))

    def crimes_params(self) -> Params:
        """The area, period and crimes as a :class:`Params` (default surface settings), which
        is also the cache key of everything that does not depend on the corridor controls."""
        return Params(area=self.area, start=self.start, end=self.end, groups=self.groups,
                      types=self.types)


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
    from hotspots.store import store_forces

    store = _settings_store(settings)
    kw = {**sel.selection(), "start": previous_period(sel.start, sel.end)[0], "end": sel.end}
    if not neighbours:
        inc = load_incidents(store, area=sel.area, forces=[settings.force], settings=settings,
                             **kw)
    elif sel.area == FORCE_AREA:
        inc = load_incidents(store, area="none", forces="all", settings=settings, **kw)
    else:
        parts = [load_incidents(store, area=sel.area, forces=[settings.force],
                                settings=settings, **kw)]
        others = [f for f in store_forces(store) if f != settings.force]
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


def corridor_counts(inc: pd.DataFrame, sel: Params) -> CorridorCounts:
    """Count the period's incidents: all, mapped, without location, per force.

    Raises
    ------
    NoDataError
        No mapped incident in the period.
    """
    period = _in_period(inc, sel.start, sel.end)
    mapped = int(period["has_location"].sum())
    if not mapped:
        raise NoDataError(f"no mapped {sel.crimes()} incidents in {sel.area_label()} for "
                          f"{wording.period_label(sel.start, sel.end)}; widen the period, area "
                          "or crime selection")
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
        From :func:`corridor_graph` (or :func:`hotspots.spatial.roads.build_srn_graph`).
    sel : Params
        Period and crimes.
    bandwidth : float
        Metres along the network.
    settings : Settings

    Returns
    -------
    NetworkDensity
    """
    from hotspots.spatial.corridors import network_kde

    period = _in_period(inc, sel.start, sel.end)
    located = period[period["has_location"]]
    lix = network_kde(graph, located["x"].to_numpy(float), located["y"].to_numpy(float),
                      lixel=NKDE_LIXEL_M, bandwidth=float(bandwidth), kernel=NKDE_KERNEL,
                      band=NKDE_BAND_M)
    return NetworkDensity(lines=corridor_lines.corridor_lines(lix, clip=corridor_extent(settings)),
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
    from hotspots.spatial.boundaries import area_geometry
    from hotspots.spatial.corridors import junction_stats

    stats = junction_stats(inc, graph, radius=float(radius), period=(sel.start, sel.end),
                           months=list(months_present))
    geom = area_geometry(sel.area, settings)
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
    from hotspots.spatial.boundaries import area_geometry
    from hotspots.spatial.corridors import corridor_bands

    return corridor_bands(_in_period(inc, sel.start, sel.end), graph,
                          area_geometry(sel.area, settings))


def _groups_text(value: object) -> str:
    if not isinstance(value, dict):
        return ""
    order = list(GROUP_SHORT)
    items = sorted(((k, int(v)) for k, v in value.items() if v),
                   key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))
    return " · ".join(f"{GROUP_SHORT.get(k, k)} {v:,}" for k, v in items)


def junction_table(junctions: pd.DataFrame) -> pd.DataFrame:
    """The ranked junction table as shown: one row per junction, plain values.

    Returns
    -------
    pandas.DataFrame
        ``Rank``, ``Junction`` (name, alias in brackets), ``Incidents``, ``By group``,
        ``Previous``, ``Change``, ``Change %`` (nullable numbers) and ``Note``.
    """
    def num(col: str) -> pd.Series:
        return pd.to_numeric(junctions[col], errors="coerce")

    alias = junctions["alias"].fillna("").astype(str)
    name = junctions["name"].astype(str) + np.where(alias != "", " (" + alias + ")", "")
    return pd.DataFrame({
        "Rank": junctions["rank"].astype(int),
        "Junction": name,
        "Incidents": junctions["incidents"].astype(int),
        "By group": junctions["by_group"].map(_groups_text),
        "Previous": num("previous").round().astype("Int64"),
        "Change": num("change").round().astype("Int64"),
        "Change %": num("change_pct").astype(float),
        "Note": junctions["change_note"].fillna("").astype(str),
    })


def force_months(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Return the months each force has in the store (to state a neighbour's missing month)."""
    from hotspots.store import read_store

    pairs = read_store(_settings_store(settings), columns=["force", "month"]).drop_duplicates()
    return {str(f): tuple(sorted(g["month"].astype(str))) for f, g in pairs.groupby("force")}


def neighbour_gaps(months_by_force: dict[str, Sequence[str]], sel: Params,
                   months_present: Sequence[str], own_force: str) -> list[str]:
    """Say which neighbouring force lacks which month of the period or the previous period.

    A month the store holds for some force but not for a neighbour counts as no incidents for
    that neighbour; the sentence says so where it matters.
    """
    held = set(months_present)
    wanted = [m for m in month_range(previous_period(sel.start, sel.end)[0], sel.end)
              if m in held]
    out = []
    for force, have in sorted(months_by_force.items()):
        if force == own_force:
            continue
        lack = [m for m in wanted if m not in set(have)]
        if lack:
            out.append(f"{force_label(force)} has no data for "
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
    own = force_label(settings.force)
    others = sorted(force_label(f) for f in counts.by_force if f != settings.force)
    if cp.neighbours:
        forces = (f"Incidents: {own} and, near the border, "
                  f"{', '.join(others) if others else 'no neighbouring force'}.")
    else:
        forces = f"Incidents: {own} only (neighbouring forces not included)."
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
        force_labels={f: force_label(f) for f in counts.by_force})
    legend = Legend(
        title=f"{crimes[:1].upper()}{crimes[1:]} along the SRN, {sel.area_label()}",
        method=method, roads=False, network=network.lines.classes,
        junction_key=(f"SRN junction, sized by incidents within {cp.radius:,.0f} m (largest "
                      f"{markers.largest:,}); number = rank in the table"),
        marking=settings.marking, notes=tuple(legend_notes))
    m = corridor_map.corridor_map(base=base_layers.load_base_layers(settings),
                                  view=area_geometry(cp.area, settings), lines=network.lines,
                                  junctions=markers, legend=legend, settings=settings,
                                  title=f"SRN corridors: {crimes}, {sel.area_label()}, "
                                        f"{wording.period_label(cp.start, cp.end)}")
    return leaflet.offline_html(m)
