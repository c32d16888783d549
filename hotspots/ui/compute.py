"""The dashboard's selection and the Hotspots view's computations, free of Streamlit so they can
be tested and timed directly.

:class:`Params` (one sidebar selection) and the crime-group words are shared by every view; the
density analysis, monthly counts, count layers and hotspot map are the Hotspots view's, which
:mod:`hotspots.ui.hotspot_view` and :mod:`hotspots.ui.common` wrap in ``st.cache_data`` keyed by
the store fingerprint and the parameters. Everything here is a plain function of its arguments
and the store's contents. The Corridors view's computations are
:mod:`hotspots.ui.corridor_compute`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hotspots import (
    base_layers,
    count_symbols,
    defaults,
    density_image,
    leaflet,
    maps,
    wording,
)
from hotspots import forces as force_registry
from hotspots.config import Settings
from hotspots.errors import NoDataError, ParameterError, StoreError
from hotspots.forces import title as force_title
from hotspots.legend import Legend
from hotspots.method_kde import CELL_M, KERNEL, density_areas
from hotspots.models.patrol import MAX_AREA_KM2, N_AREAS, PatrolRule
from hotspots.months import missing_months, month_range
from hotspots.pack_areas import with_trend
from hotspots.query import select
from hotspots.selection import Selection
from hotspots.spatial.places import load_places

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
        Share of the study area marked as hotspot when ``n_areas`` is 0.
    n_areas : int
        Patrol areas to draw (0: the method's own areas, e.g. the KDE's top share).
    max_area_km2 : float
        Size cap of each patrol area.
    bandwidth_rule : str
        How a bandwidth in metres was chosen, for the legend (e.g. the auto back-test's
        reason); empty: the surface's own rule (``fixed`` or the named rule).
    forces : tuple of str
        The forces selected (slugs): one force, or a region's forces; empty: the settings'
        force.
    region : str
        The region they were chosen as (its slug), or "".
    forces_name : str
        The forces or region in words for titles (:attr:`Selection.forces_name`); empty: the
        forces' titles.
    """

    area: str
    start: str
    end: str
    groups: tuple[str, ...]
    types: tuple[str, ...] = ()
    bandwidth: float | str | tuple[float, ...] = defaults.FIXED_BANDWIDTH_M
    top: float = defaults.TOP
    bandwidth_rule: str = ""
    n_areas: int = N_AREAS
    max_area_km2: float = MAX_AREA_KM2
    forces: tuple[str, ...] = ()
    region: str = ""
    forces_name: str = ""

    def force_list(self, settings: Settings) -> list[str]:
        """The selected forces' slugs (the settings' force when none is given)."""
        return list(self.forces) or [settings.force]

    def scope(self) -> dict[str, object]:
        """The forces part of the selection, to carry into another ``Params``."""
        return {"forces": self.forces, "region": self.region, "forces_name": self.forces_name}

    def rule(self) -> PatrolRule:
        """How the map's areas are drawn (:class:`~hotspots.models.patrol.PatrolRule`)."""
        return PatrolRule(self.n_areas, self.max_area_km2)

    def selection(self) -> dict[str, list[str] | None]:
        """Return ``groups``/``types`` keyword arguments for ``load_incidents``."""
        if self.types:
            return {"groups": None, "types": list(self.types)}
        if not self.groups:
            raise NoDataError("choose at least one crime group or crime type")
        return {"groups": list(self.groups), "types": None}

    def to_selection(self, settings: Settings) -> Selection:
        """The dashboard's choice as a validated :class:`~hotspots.selection.Selection` of its
        forces or region, for the library calls behind every view."""
        self.selection()  # no crime chosen: the dashboard's own message
        where = ({"region": self.region} if self.region
                 else {"forces": list(self.force_list(settings))})
        return Selection.build(settings, start=self.start, end=self.end, area=self.area,
                               groups=self.groups, types=self.types, **where)

    def crimes(self) -> str:
        """The crime selection in words."""
        if not self.groups and not self.types:
            return "no crime chosen"
        return wording.crimes_label(self.groups, self.types)

    def scope_name(self) -> str:
        """The forces or region in words (``"Essex"``, ``"Eastern"``)."""
        if self.forces_name:
            return self.forces_name
        titles = [force_title(f) for f in self.forces]
        if not titles:
            return "Force area"
        return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]

    def area_name(self) -> str:
        """The area for a title: the forces' (or region's) name, or the district."""
        return self.scope_name() if self.area == FORCE_AREA else self.area

    def area_label(self) -> str:
        """The area in words, e.g. ``"Essex (force area)"`` or ``"Colchester"``."""
        if self.area != FORCE_AREA:
            return self.area
        if not self.forces:
            return "force area"
        return f"{self.scope_name()} ({'force areas' if len(self.forces) > 1 else 'force area'})"


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
    by_force: dict[str, int] = field(default_factory=dict)

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
        """The legend's one-line method statement (and the patrol areas' rule)."""
        text = wording.method_statement(
            kernel=self.kernel, bandwidth=self.bandwidth, bandwidth_rule=self.bandwidth_rule,
            cell=self.cell, top=None if self.params.rule().patrol else self.params.top,
            start=self.params.start, end=self.params.end,
            crimes=self.params.crimes(), missing=self.missing_months)
        rule = str(self.areas.attrs.get("method", {}).get("method", ""))
        if self.params.rule().patrol and rule:
            text = f"{text.rstrip('.')}. Areas: {rule}."
        return text


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
    if params.start > params.end:
        raise ParameterError(f"the period starts ({params.start}) after it ends ({params.end})")
    if not 0 < params.top < 1:
        raise ParameterError(f"hotspot share {params.top!r} must be between 0 and 1")
    rule = params.rule()
    sel = params.to_selection(settings)
    inc = select(sel)
    has_loc = inc["has_location"].fillna(False).astype(bool)
    mapped = inc[has_loc]
    if mapped.empty:
        raise NoDataError(wording.no_data_message(params.crimes(), params.area_label(),
                                                  params.start, params.end, months_present))
    geom = sel.geometry
    surface, areas = density_areas(mapped, geom, bandwidth=params.bandwidth, top=params.top,
                                   cell=CELL_M, kernel=KERNEL, rule=rule,
                                   places=load_places(settings) if rule.patrol else None)
    if rule.patrol:
        areas = with_trend(areas, sel, months_present)
    if len(sel.all_forces) > 1:
        areas = label_forces(areas, sel.all_forces, settings)
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
        missing_months=missing_months(params.start, params.end, months_present),
        by_force=force_counts(inc, sel.all_forces))


def force_counts_line(by_force: dict[str, int]) -> str:
    """Incidents per force in words, e.g. ``"Incidents by force: Essex 120; West Mercia
    98."``."""
    parts = [f"{force_title(f)} {n:,}" for f, n in by_force.items()]
    return f"Incidents by force: {'; '.join(parts)}."


def force_counts(incidents: pd.DataFrame, forces: Sequence[str]) -> dict[str, int]:
    """Incidents per selected force (slug -> count, in the order of ``forces``; 0 for a force
    with none)."""
    counts = incidents["force"].astype(str).value_counts() if len(incidents) else pd.Series()
    return {f: int(counts.get(f, 0)) for f in forces}


def label_forces(areas: gpd.GeoDataFrame, forces: Sequence[str], settings: Settings
                 ) -> gpd.GeoDataFrame:
    """A copy of ``areas`` with ``force``: the title of the force whose area holds a point
    inside each area ("" when none does), for a map of several forces."""
    from hotspots.spatial.boundaries import force_area

    out = areas.copy()
    if not len(out):
        out["force"] = pd.Series(dtype="object")
        return out
    inner = out.geometry.representative_point().to_numpy()
    label = np.full(len(out), "", dtype=object)
    for f in forces:
        geom = force_area(f, settings)
        hit = shapely.contains(geom, inner) & (label == "")
        label[hit] = force_title(f)
    out["force"] = label
    return out


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
    sel = params.to_selection(settings)
    inc = load_incidents(_settings_store(settings), start=first, end=last, area=sel.area,
                         forces=list(sel.all_forces), settings=settings,
                         geometry=sel.geometry, **params.selection())
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
    forces = params.force_list(settings)
    geom = Selection.build(settings, start=params.start, end=params.end, area=params.area,
                           forces=forces, require_crimes=False).geometry
    specs = (("acquisitive", "Acquisitive", "circle", leaflet.ACQUISITIVE_COLOUR, "acquisitive"),
             ("soc", "SOC-linked (Drugs, Possession of weapons)", "diamond", leaflet.SOC_COLOUR,
              "SOC-linked"))
    for group, name, shape, colour, noun in specs:
        inc = load_incidents(_settings_store(settings), start=params.start, end=params.end,
                             groups=[group], area=params.area, forces=forces,
                             mapped_only=True, settings=settings, geometry=geom)
        out.append(count_symbols.count_layer(inc["x"].to_numpy(), inc["y"].to_numpy(), name=name,
                                             cell=SYMBOL_CELL_M, shape=shape, colour=colour,
                                             noun=noun))
    return tuple(out)


NEIGHBOUR_COLOUR = "#7F7F7F"
NEIGHBOUR_LAYER = "Neighbouring forces (context)"
NEIGHBOUR_NOTE = ("Neighbouring forces' incidents are context only: they are not in the "
                  "density surface, the hotspot areas or the summary.")


def neighbour_layer(params: Params, settings: Settings) -> count_symbols.CountLayer:
    """The selected crimes recorded by the other forces the store holds, per 1 km square.

    The shipped store holds neighbours' rows only near the force boundary (a buffer at
    ingest); they are context for the map and take no part in the analysis.
    """
    from hotspots.query import load_incidents
    from hotspots.store import store_forces

    store = _settings_store(settings)
    chosen = set(params.force_list(settings))
    others = [f for f in store_forces(store) if f not in chosen]
    if not others:
        return count_symbols.CountLayer(name=NEIGHBOUR_LAYER, points=(), cell=SYMBOL_CELL_M,
                                        colour=NEIGHBOUR_COLOUR)
    # Every held row of theirs: near-border context, outside the selected forces' area.
    inc = load_incidents(store, start=params.start, end=params.end, forces=others, area="none",
                         mapped_only=True, settings=settings, **params.selection())
    return count_symbols.count_layer(inc["x"].to_numpy(), inc["y"].to_numpy(), name=NEIGHBOUR_LAYER,
                                     cell=SYMBOL_CELL_M, shape="circle", colour=NEIGHBOUR_COLOUR,
                                     noun="neighbouring-force")


def map_page(analysis: Analysis, settings: Settings, *,
             counts: Sequence[count_symbols.CountLayer] = (), show_services: bool = False) -> str:
    """Build the map for an analysis and render it to self-contained, offline HTML."""
    p = analysis.params
    n = len(analysis.areas)
    what = (p.rule().words() if p.rule().patrol
            else f"top {wording.format_share(p.top)} of area")
    hot_line = (f"Hotspot areas ({what}): {n:,}, holding "
                f"{analysis.share:.0%} of mapped incidents (PAI {analysis.pai:.1f})"
                if n else f"No hotspot areas ({what})")
    notes = []
    if any(c.shape == "diamond" for c in counts):
        notes.append(SOC_NOTE)
    if any(c.name == NEIGHBOUR_LAYER for c in counts):
        notes.append(NEIGHBOUR_NOTE)
    if len(analysis.by_force) > 1:
        notes.append(force_counts_line(analysis.by_force))
    if analysis.no_location:
        notes.append(f"{analysis.no_location:,} of {analysis.incidents:,} incidents have no "
                     "location and are not mapped.")
    legend = Legend(
        title=f"{p.crimes()[:1].upper()}{p.crimes()[1:]} hotspots, {p.area_label()}",
        method=analysis.method(), density=analysis.image, hotspots_line=hot_line,
        counts=tuple(counts), marking=settings.marking, notes=tuple(notes))
    m = maps.build_map(base=base_layers.load_base_layers(settings, p.force_list(settings)),
                       view=p.to_selection(settings).geometry, density=analysis.image,
                       hotspots=analysis.areas, counts=counts, legend=legend, settings=settings,
                       show_services=show_services,
                       title=f"Hotspots: {p.crimes()}, {p.area_label()}, "
                             f"{wording.period_label(p.start, p.end)}")
    return leaflet.offline_html(m)


# ----------------------------------------------------------------------------------- the picker

#: Prefix of a region's value in the force / region picker (a force's value is its slug).
REGION_PREFIX = "region:"
#: Metres beyond another held force's area within which a force's rows all lie when the store
#: holds them only as that force's near-border context (the shipped build ingests its
#: neighbours within 12 km); 1 km more for the generalised outlines.
CONTEXT_REACH_M = 13_000.0


@dataclass(frozen=True)
class Scope:
    """One choice of the force / region picker.

    Attributes
    ----------
    value : str
        A force's slug, or :data:`REGION_PREFIX` and the region's slug.
    label : str
        As the picker shows it (``"Essex Police"``, ``"Region: Eastern (2 of 7 forces)"``).
    forces : tuple of str
        The forces it selects that the store holds.
    region : str
        The region's slug, or "".
    name : str
        The forces or region in words for titles (``"Essex"``, ``"Eastern"``).
    """

    value: str
    label: str
    forces: tuple[str, ...]
    region: str = ""
    name: str = ""


def context_only_forces(settings: Settings, held: Sequence[str]) -> list[str]:
    """The held forces (besides the configured one) whose located rows all lie near another
    held force's area: the near-border context rows the shipped build keeps of the
    neighbours, not a force's data."""
    from hotspots.spatial.boundaries import force_area
    from hotspots.store import read_store

    known = [f for f in held if f in force_registry.INFO]
    if len(known) < 2:
        return []
    out = []
    for f in known:
        if f == settings.force:
            continue  # the configured force is the analysis' own, whatever its rows
        try:
            rows = read_store(settings.store_dir, columns=["x", "y", "has_location"],
                              forces=[f])
        except StoreError:
            continue  # offered: the view names the damaged part and the fix
        located = rows[rows["has_location"].fillna(False).astype(bool)]
        if located.empty:
            continue
        x, y = located["x"].to_numpy(), located["y"].to_numpy()
        for other in known:
            if other == f or other in out:
                continue
            reach = force_area(other, settings).buffer(CONTEXT_REACH_M)
            shapely.prepare(reach)
            if shapely.contains_xy(reach, x, y).all():
                out.append(f)
                break
    return out


def scopes(settings: Settings, held: Sequence[str], context: Sequence[str] = ()
           ) -> list[Scope]:
    """The force / region picker's choices: each force the store holds (besides ``context``
    forces), then each region holding at least two of them (a region of the settings' own
    ``[regions]``: at least one), by title.

    Parameters
    ----------
    settings : Settings
    held : sequence of str
        Force slugs the store holds.
    context : sequence of str
        Held forces with near-border context rows only (:func:`context_only_forces`).
    """
    full = [f for f in held if f in force_registry.INFO and f not in set(context)]
    out = [Scope(value=f, label=force_registry.INFO[f].name, forces=(f,),
                 name=force_title(f)) for f in sorted(full, key=force_title)]
    own = {force_registry.region_slug(n, settings) for n in settings.regions}
    for slug, members in force_registry.regions(settings).items():
        have = tuple(f for f in members if f in full)
        if len(have) < (1 if slug in own else 2):
            continue
        name = force_registry.region_name(slug, settings)
        count = (f"{len(have)} forces" if len(have) == len(members)
                 else f"{len(have)} of {len(members)} forces held")
        out.append(Scope(value=REGION_PREFIX + slug, label=f"Region: {name} ({count})",
                         forces=have, region=slug, name=name))
    return out


def default_scope(settings: Settings, choices: Sequence[Scope]) -> Scope | None:
    """The picker's default: the configured force, else the store's only force, else the
    first force offered (None when nothing is offered)."""
    forces = [c for c in choices if not c.region]
    slug = force_registry.default_force(settings, [c.value for c in forces])
    return next((c for c in forces if c.value == slug), forces[0] if forces else
                (choices[0] if choices else None))
