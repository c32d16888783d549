"""What a tasking pack and a report hold, computed from the incident store in steps: the
selection's incidents, the surface and areas, the change on the previous period, the classes,
the monthly trend, the junctions, the disruption sites, the map, the back-test and the words."""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from hotspots import defaults, registry, wording
from hotspots import methods as mm
from hotspots.config import Settings
from hotspots.errors import HotspotsError, NoDataError, ParameterError
from hotspots.jsonvalue import json_value
from hotspots.method_spec import MapAreas, MapMethod
from hotspots.models.areas import hotspot_areas
from hotspots.models.kde import Surface, kernel_density
from hotspots.models.patrol import DEFAULT_RULE, PatrolRule, patrol_areas
from hotspots.months import month_range, previous_period, shift_month
from hotspots.pack import DATA_CAVEATS, disruption_frame
from hotspots.pack_areas import (
    CLASSES_COMPUTED,
    CLASSES_SUPPLIED,
    add_changes,
    add_districts,
    add_no_changes,
    change_note,
    check_shown_areas,
    class_note,
    hotspot_classes,
    hotspot_table,
)
from hotspots.pack_backtest import (
    accuracy_note,
    accuracy_summary,
    back_test,
    evaluate_pack_methods,
)
from hotspots.pack_profile import (
    ProfileDetails,
    apply_recommendations,
    change_test,
    change_words,
    draft_recommendations,
    intelligence_gaps,
    key_findings,
    terms_of_reference,
)
from hotspots.query import available_months, load_incidents, no_data_error
from hotspots.review import BUFFER_M, Review, tasking_review
from hotspots.schema import mapped_rows
from hotspots.selection import Selection
from hotspots.snapshot import render_map_png
from hotspots.spatial.corridors import corridor_bands, junction_stats
from hotspots.spatial.grid import Grid
from hotspots.spatial.places import load_places
from hotspots.spatial.srn_graph import srn_graph_for

__all__ = ["PackInputs", "build_pack_inputs"]


@dataclass
class PackInputs:
    """Everything a tasking pack and a report need, computed from the store.

    Attributes
    ----------
    title, area, period, crimes : str
        Words for the cover and the map.
    start, end : str
        Period, ``YYYY-MM``.
    surface : Surface
    areas : geopandas.GeoDataFrame
        Hotspot polygons (:func:`hotspots.models.areas.hotspot_areas`), EPSG:27700, with the
        hotspot table's extra columns (``district``, ``previous``, ``change``, ``change_pct``,
        ``change_note``, ``class``: the emerging hot spot pattern, or the classes given).
    hotspot_table : pandas.DataFrame
        The areas without geometry plus ``lon``/``lat`` of a point inside each.
    junctions, corridors : pandas.DataFrame
        :func:`~hotspots.spatial.corridors.junction_stats` (junctions with incidents only) and
        :func:`~hotspots.spatial.corridors.corridor_bands`.
    monthly : pandas.DataFrame
        ``month``, ``label``, ``incidents`` (NaN where the store has no data), ``has_data``,
        ``selected``.
    geometry : shapely geometry
        The study area, EPSG:27700.
    map_png : bytes
        A4 map.
    method_notes, caveats : list of str
    summary : dict of str to str
    params : dict
        Every parameter and count, JSON-ready.
    disruption : pandas.DataFrame, optional
        Disruption points, given or chosen.
    accuracy : str or mapping, optional
        The back-test statement (computed, or as given); None when the section is left out.
    omitted : dict of str to str
        Why a section (or the hotspot ``classes``) is absent.
    """

    title: str
    area: str
    period: str
    crimes: str
    start: str
    end: str
    surface: Any
    areas: gpd.GeoDataFrame
    hotspot_table: pd.DataFrame
    junctions: pd.DataFrame
    corridors: pd.DataFrame
    monthly: pd.DataFrame
    geometry: BaseGeometry
    map_png: bytes
    method_notes: list[str]
    caveats: list[str]
    summary: dict[str, str]
    params: dict[str, Any]
    marking: str
    created: datetime
    disruption: pd.DataFrame | None = None
    accuracy: str | Mapping[str, Any] | None = None
    omitted: dict[str, str] = field(default_factory=dict)
    force: str = ""
    details: ProfileDetails | None = None
    findings: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    review: Review | None = None
    drafts: dict[str, list[str]] = field(default_factory=dict)
    recommendations: dict[str, list[str]] = field(default_factory=dict)
    recommendations_edited: bool = False
    sources: list[str] = field(default_factory=list)

    def with_recommendations(self, overrides: Mapping[str, str | Sequence[str]] | None
                             ) -> PackInputs:
        """A copy with the analyst's recommendations in place of the drafts
        (:func:`hotspots.pack_profile.apply_recommendations`; the drafts are kept)."""
        recs = apply_recommendations(self.drafts, overrides)
        return replace(self, recommendations=recs,
                       recommendations_edited=recs != apply_recommendations(self.drafts, None))

    def pack_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`hotspots.pack.write_tasking_pack`."""
        return {"title": self.title, "area": self.area, "period": self.period,
                "crimes": self.crimes, "marking": self.marking, "created": self.created,
                "map_png": self.map_png, "summary": self.summary,
                "hotspots": self.hotspot_table, "junctions": self.junctions,
                "corridors": self.corridors, "disruption": self.disruption,
                "monthly": self.monthly, "monthly_period": (self.start, self.end),
                "accuracy": self.accuracy, "method_notes": self.method_notes,
                "caveats": self.caveats, "omitted": self.omitted, "force": self.force,
                "details": self.details, "findings": self.findings, "terms": self.terms,
                "changes": self.changes, "gaps": self.gaps, "review": self.review,
                "recommendations": self.recommendations,
                "recommendations_edited": self.recommendations_edited,
                "sources": self.sources}


def _one_line(exc: BaseException) -> str:
    """An exception as one line: the message of a HotspotsError, else the type and message."""
    text = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, HotspotsError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def build_pack_inputs(selection: Selection, store_dir: str | os.PathLike | None = None, *,
                      cell: float = defaults.CELL_M,
                      bandwidth: float | str | Sequence[float] = defaults.BANDWIDTH,
                      kernel: str = defaults.KERNEL, top: float = defaults.TOP,
                      bandwidth_rule: str = "", method: Any = None,
                      radius: float = defaults.JUNCTION_RADIUS_M, marking: str | None = None,
                      created: datetime | None = None, disruption: pd.DataFrame | None = None,
                      disruption_sites: int = 0,
                      accuracy: str | Mapping[str, Any] | bool | None = None,
                      classes: Mapping[int, str] | bool | None = None,
                      shown: MapAreas | None = None,
                      rule: PatrolRule = DEFAULT_RULE,
                      details: ProfileDetails | None = None,
                      recommendations: Mapping[str, str | Sequence[str]] | None = None,
                      review: bool | gpd.GeoDataFrame = True,
                      review_buffer_m: float = BUFFER_M,
                      map_size: str = "a4") -> PackInputs:
    """Compute what a tasking pack holds from the incident store.

    Kernel density and hotspot areas for the period, each area's count in the previous period
    of equal length (only when the store has every one of its months), each area's emerging
    hot spot class, monthly counts over everything the store holds, SRN junction counts and
    corridor bands, a back-test accuracy statement, and the A4 map. Neither the classes nor
    the back-test read any month after ``end``.

    Parameters
    ----------
    selection : Selection
        Force, area, period and crimes (its settings give the marking and the data).
    store_dir : path-like, optional
        Default ``selection.settings.store_dir``.
    cell, bandwidth, kernel, top : optional
        Surface and hotspot parameters (defaults: 100 m cells, fixed 500 m quartic, top 5%);
        several bandwidths give the multi-scale KDE; ``"auto"`` the surface the dashboard's
        auto draws (:func:`hotspots.methods.resolve_auto`, folds up to ``end`` only), stated
        as such and reported under ``params["auto"]``.
    bandwidth_rule : str
        How a bandwidth in metres was chosen, for the method statement (e.g. the dashboard's
        "auto: best back-tested PAI at 5% on earlier months"); default the surface's own rule.
    method : MapMethod or str, optional
        The map method (:class:`hotspots.methods.MapMethod` or its name: "kde", "gistar",
        "emerging", "clusters"); default the density surface. Another method's pack shows its
        areas (made from the period's incidents unless ``areas`` are given) and back-tests
        maps made the same way (:func:`hotspots.methods.area_recipe`).
    radius : float
        Junction radius, metres (default 2000).
    rule : PatrolRule, default 10 areas of at most 1 km²
        How the areas are drawn when ``shown`` is not given: patrol areas named by place and
        street (:mod:`hotspots.models.patrol`), or ``PatrolRule(0)`` for the method's own
        areas (the KDE's densest ``top`` share of the area).
    marking, created : str, datetime, optional
        Protective marking (default ``settings.marking``) and creation time stamped on the map
        and the pack (default now, UTC).
    disruption : pandas.DataFrame, optional
        Disruption points with a ``rationale`` and ``x``/``y``, computed elsewhere; used for
        the map's sites and the pack's disruption section.
    disruption_sites : int
        When ``disruption`` is not given and this is above 0, choose this many sites with
        :mod:`hotspots.models.disruption` (maximal covering of the period's mapped incidents'
        harm within a 10-minute drive; see :func:`hotspots.pack.disruption_frame`). 0: no
        disruption section.
    accuracy : str, mapping or bool, optional
        Back-test statement (text, or label -> value pairs) to print instead of the computed
        one; ``False`` leaves the accuracy section out (``omitted`` says so). Default
        (``None``/``True``): :func:`hotspots.pack_backtest.back_test` on the selection, test
        months up to ``end`` only; when no fold ends by ``end`` the section is omitted saying
        so.
    classes : mapping of int to str or bool, optional
        Hotspot rank -> class, to print instead of the computed ones; ``False`` leaves the
        class column out (``omitted["classes"]`` says so). Default: each area's emerging hot
        spot pattern (:func:`hotspots.pack_areas.hotspot_classes`, every month the store
        holds up to ``end``).
    shown : MapAreas, optional
        The map's own areas (another method's, e.g. Gi*), with their statement, name and
        legend: they replace the density hotspot areas on the map, in the table, the change
        (not for clusters), the classes and the disruption demand; the back-test is the KDE
        methods' (``auto``), saying so, unless ``method`` made them.

    details : ProfileDetails, optional
        Author, owner, version, dates and handling note of the cover (default: not stated,
        version 1.0, today, review in four weeks).
    recommendations : mapping, optional
        The analyst's own recommendations by P (:func:`PackInputs.with_recommendations`);
        default the drafts made from the findings.
    review : bool or geopandas.GeoDataFrame
        The tasking review of the previous period (:func:`hotspots.review.tasking_review`):
        True (default) for the previous period's top five patrol areas, the analyst's tasked
        areas as polygons (EPSG:27700), or False to leave it out.
    review_buffer_m : float
        Width of the review's displacement buffer, metres (default 500).
    map_size : str
        Size of the map PNG (:data:`hotspots.snapshot.SIZES`): ``"a4"`` (300 dpi, the
        report's ``map.png``), or ``"a4_pack"`` (200 dpi) when only the pack needs it.

    An error inside the back-test, the classes or the review (e.g. too few months) does not
    stop the pack: the part is left out and ``omitted`` holds the one-line reason.

    Returns
    -------
    PackInputs

    Raises
    ------
    ParameterError
        Bad months or parameters.
    NoDataError
        No mapped incident matches the selection.
    """
    settings = selection.settings
    start, end = selection.start, selection.end
    marking, created = _check_request(selection, marking=marking, created=created)
    sel = _load_selection(settings.store_dir if store_dir is None else Path(store_dir),
                          selection)
    density, shown, change, areas, found = _hotspots(
        sel, method, cell=cell, bandwidth=bandwidth, kernel=kernel, top=top,
        bandwidth_rule=bandwidth_rule, areas=None if shown is None else shown.areas,
        statement="" if shown is None else shown.statement,
        name="" if shown is None else shown.name,
        legend="Hotspot area" if shown is None else shown.legend, classes=classes,
        settings=settings, rule=rule)
    graph = srn_graph_for(settings, selection.all_forces)
    junctions, corridors = _junctions_and_corridors(sel, graph, radius=radius)
    title, method_text = _title_and_method(sel, density, shown, top=top)
    disruption, no_disruption = _disruption_sites(disruption, disruption_sites, sel, graph,
                                                  areas)
    map_png = _map_png(sel, density.surface, shown, areas, title=title, marking=marking,
                       method_text=method_text, junctions=junctions, disruption=disruption,
                       created=created, settings=settings, size=map_size)
    figures = _figures(sel, areas, shown.method)
    checked = _accuracy(accuracy, sel, cell=cell, top=top, density=density, shown=shown)
    reviewed, no_review = _review(review, sel, buffer_m=review_buffer_m, settings=settings)
    hotspot_rows = hotspot_table(areas, found.source)
    prof = _profile(selection, sel, hotspot_rows, figures, junctions, disruption, checked,
                    reviewed, no_review, change, found, details=details, created=created)
    inputs = PackInputs(
        title=title, area=sel.area_words, period=sel.period, crimes=sel.crimes, start=start,
        end=end, surface=density.surface, areas=areas, junctions=junctions,
        hotspot_table=hotspot_rows, corridors=corridors,
        monthly=_monthly_counts(sel), geometry=sel.geometry, map_png=map_png,
        method_notes=_method_notes(sel, shown, figures, change, method_text=method_text,
                                   top=top, cell=cell, radius=radius,
                                   extra=(_disruption_note(disruption), found.note,
                                          checked.note)),
        caveats=_caveats(sel), summary=_summary(sel, areas, figures, junctions, radius=radius,
                                                back_test=checked.summary),
        params=_params(sel, density, shown, figures, change, areas=areas, top=top,
                       radius=radius, accuracy_info=checked.info, class_info=found.info,
                       marking=marking, created=created),
        marking=marking, created=created, disruption=disruption, accuracy=checked.statement,
        omitted={k: v for k, v in (("classes", found.omitted), ("disruption", no_disruption),
                                   ("accuracy", checked.omitted), ("review", no_review)) if v},
        review=reviewed, **prof)
    return inputs.with_recommendations(recommendations)


# --------------------------------------------------------------------------------------------
# The steps of build_pack_inputs, in the order it takes them
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    """The selection's incidents, loaded once, and the words for it."""

    store: Path
    start: str
    end: str
    have: list[str]  # months the store holds, sorted
    groups: list[str] | None
    types: list[str] | None
    everything: pd.DataFrame  # every month the store holds: the trend and previous periods
    months: pd.Series  # everything's month, as text
    period_inc: pd.DataFrame
    mapped: pd.DataFrame
    geometry: BaseGeometry  # the study area, EPSG:27700
    area_words: str
    crimes: str
    period: str
    cur_months: list[str]
    missing_now: list[str]
    forces: tuple[str, ...] = ()  # the selection's forces: their boundaries on the map


@dataclass(frozen=True)
class _Density:
    surface: Surface
    grid: Grid
    bandwidth_rule: str
    auto_info: dict[str, Any] | None
    evaluation: Any  # the back-test auto chose from, reused for the accuracy section


@dataclass(frozen=True)
class _Areas:
    """The areas the map shows, before the change, district and class are added."""

    areas: gpd.GeoDataFrame
    shown: bool  # another method's areas, not the density hotspot areas
    own: tuple[Any, str] | None  # (recipe, how) when the back-test makes its maps the same way
    statement: str
    name: str
    legend: str
    method: dict[str, Any]  # areas.attrs["method"] as made
    clusters: bool


@dataclass(frozen=True)
class _Change:
    prev_months: list[str]
    note: str  # why the change is not computed, "" when it is


@dataclass(frozen=True)
class _Classes:
    column: list[str] | None = None  # class of each area, in the areas' order
    source: str | None = None  # "emerging" or "supplied"; None without classes
    info: dict[str, Any] | None = None
    note: str = ""
    omitted: str = ""


@dataclass(frozen=True)
class _Accuracy:
    statement: str | Mapping[str, Any] | None = None
    info: dict[str, Any] | None = None
    note: str = ""
    summary: str = ""
    omitted: str = ""


@dataclass(frozen=True)
class _Figures:
    incidents: int
    mapped: int
    hot_km2: float
    study_km2: float
    share: float
    pai: float


def _check_request(selection: Selection, *, marking: str | None, created: datetime | None
                   ) -> tuple[str, datetime]:
    """Check the crimes; the marking on one line and the creation time (UTC)."""
    if not selection.groups and not selection.types:
        raise ParameterError("choose crimes with groups=[...] or types=[...]")
    marking = " ".join(str(selection.settings.marking if marking is None else marking).split())
    if not marking:
        raise ParameterError("the protective marking is empty; give one, e.g. OFFICIAL")
    created = created or datetime.now(UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return marking, created


def _load_selection(store: Path, selection: Selection) -> _Loaded:
    """Every month of the selection's incidents, the period's and the mapped ones.

    Raises
    ------
    NoDataError
        The store is empty, or no mapped incident matches in the period.
    """
    settings, start, end = selection.settings, selection.start, selection.end
    have = available_months(store, settings=settings)
    if not have:
        raise NoDataError(f"{store}: the incident store holds no months")
    crime_filter = selection.crime_filter
    # The whole span, once: the trend and the junctions' previous period need it.
    everything = load_incidents(store, area=selection.area, forces=list(selection.all_forces),
                                settings=settings, geometry=selection.geometry, **crime_filter)
    months = everything["month"].astype(str)
    period_inc = everything[((months >= start) & (months <= end)).to_numpy(bool)]
    mapped = mapped_rows(period_inc)
    cur_months = month_range(start, end)
    missing_now = [m for m in cur_months if m not in set(have)]
    if mapped.empty:
        raise no_data_error(selection, store)
    return _Loaded(store=store, start=start, end=end, have=have,
                   groups=crime_filter["groups"], types=crime_filter["types"],
                   everything=everything, months=months, period_inc=period_inc, mapped=mapped,
                   geometry=selection.geometry, area_words=selection.area_label,
                   crimes=selection.crimes, period=selection.period_label,
                   cur_months=cur_months, missing_now=missing_now,
                   forces=tuple(selection.all_forces))


def _hotspots(sel: _Loaded, method: MapMethod | str | None, *, cell: float,
              bandwidth: float | str | Sequence[float], kernel: str, top: float,
              bandwidth_rule: str, areas: gpd.GeoDataFrame | None, statement: str, name: str,
              legend: str, classes: Mapping[int, str] | bool | None, settings: Settings,
              rule: PatrolRule = DEFAULT_RULE
              ) -> tuple[_Density, _Areas, _Change, gpd.GeoDataFrame, _Classes]:
    """The surface, the areas the map shows, the previous period, and the areas with their
    change, district and class."""
    map_kind = registry.check(MapMethod(method) if isinstance(method, str)
                              else method or MapMethod(registry.default().name))
    density = _density_surface(sel, cell=cell, bandwidth=bandwidth, kernel=kernel, top=top,
                               bandwidth_rule=bandwidth_rule)
    places = load_places(settings) if rule.patrol else None
    shown = _map_areas(map_kind, sel, density.surface, top=top, areas=areas,
                       statement=statement, name=name, legend=legend, rule=rule,
                       places=places)
    change = _previous_period(sel, clusters=shown.clusters)
    annotated, found = _annotate_areas(shown, sel, density.grid, change, classes=classes,
                                       settings=settings)
    return density, shown, change, annotated, found


def _density_surface(sel: _Loaded, *, cell: float, bandwidth: float | str | Sequence[float],
                     kernel: str, top: float, bandwidth_rule: str) -> _Density:
    """The period's kernel density; ``"auto"`` resolved as the dashboard does."""
    grid = Grid.from_geometry(sel.geometry, cell)
    auto_info = None
    evaluation = None
    if isinstance(bandwidth, str) and bandwidth.strip().lower() == mm.AUTO:
        # One back-test serves auto's choice and the accuracy section: the folds up to ``end``
        # are self-contained, so this is resolve_auto's choice without a second run.
        try:
            evaluation = evaluate_pack_methods(sel.everything, months_held=sel.have,
                                               end=sel.end, study_area=sel.geometry, cell=cell,
                                               top=top, groups=sel.groups, types=sel.types)
        except HotspotsError as exc:
            choice = mm.fallback_choice(str(exc))
        else:
            choice = mm.auto_choice(evaluation, sel.end)
        bandwidth, bandwidth_rule = choice.bandwidth, bandwidth_rule or choice.rule
        auto_info = mm.describe_auto(choice)
    surface = kernel_density(sel.mapped["x"].to_numpy(), sel.mapped["y"].to_numpy(), cell=cell,
                             bandwidth=bandwidth, kernel=kernel, grid=grid)
    return _Density(surface=surface, grid=grid, bandwidth_rule=bandwidth_rule,
                    auto_info=auto_info, evaluation=evaluation)


def _map_areas(map_kind: MapMethod, sel: _Loaded, surface: Surface, *, top: float,
               areas: gpd.GeoDataFrame | None, statement: str, name: str, legend: str,
               rule: PatrolRule = DEFAULT_RULE, places: gpd.GeoDataFrame | None = None
               ) -> _Areas:
    """The areas the map shows: those given, the map method's, or the density hotspot areas.

    Areas of another method (given, or made here for Gi*, emerging or clusters from the
    period's incidents) replace the density hotspot areas on the map (shaded, no surface), in
    the hotspot table, the change on the previous period (not for clusters, which are groups
    of incidents rather than fixed places), the classes and the disruption demand. The
    back-test stays that of the kernel density methods (``auto``) and says so, unless the map
    method made them: then it is that method's own (``own``).
    """
    density = registry.get(map_kind.name).density
    if areas is None and not density:
        model = mm.model_result(map_kind, sel.period_inc, study_area=sel.geometry,
                                months_held=sel.have)
        made = mm.model_areas(map_kind, model, sel.period_inc, start=sel.start, end=sel.end,
                              crimes=sel.crimes, study_area=sel.geometry, months_held=sel.have,
                              rule=rule, places=places)
        areas, statement, name, legend = made.areas, made.statement, made.name, made.legend
    shown = areas is not None
    own = None
    if shown:
        areas = check_shown_areas(areas, statement, name)
        if not density:
            own = mm.area_recipe(map_kind, areas)
    elif rule.patrol:
        areas = patrol_areas(surface.values, surface.grid, sel.mapped, study_area=sel.geometry,
                             rule=rule, places=places, basis="kernel density")
    else:
        areas = hotspot_areas(surface, sel.mapped, top=top, study_area=sel.geometry)
    return _Areas(areas=areas, shown=shown, own=own, statement=statement, name=name,
                  legend=legend, method=dict(areas.attrs.get("method", {})),
                  # Clusters are groups of this period's incidents, not fixed places.
                  clusters=shown and "cluster" in areas.columns)


def _previous_period(sel: _Loaded, *, clusters: bool) -> _Change:
    """The previous period of equal length, and why it is not compared ("" when it is): it
    is compared only when the store holds every month of both periods."""
    prev_months = month_range(*previous_period(sel.start, sel.end))
    note = change_note(sel.cur_months, prev_months, set(sel.have))
    if clusters:
        note = ("clusters are groups of this period's incidents, not fixed places: no "
                "previous count")
    return _Change(prev_months=prev_months, note=note)


def _previous_mapped(sel: _Loaded, change: _Change) -> pd.DataFrame:
    """The previous period's mapped incidents."""
    prev = sel.everything[(sel.months >= change.prev_months[0]).to_numpy(bool)
                          & (sel.months <= change.prev_months[-1]).to_numpy(bool)]
    return mapped_rows(prev)


def _annotate_areas(shown: _Areas, sel: _Loaded, grid: Grid, change: _Change, *,
                    classes: Mapping[int, str] | bool | None, settings: Settings
                    ) -> tuple[gpd.GeoDataFrame, _Classes]:
    """A copy of the shown areas with the change, district and class columns."""
    areas = shown.areas.copy()
    found = _Classes()
    if len(areas):
        add_changes(areas, None if change.note else _previous_mapped(sel, change), grid,
                    change.note)
        add_districts(areas, settings, forces=sel.forces or None)
        found = _classes(areas, classes, sel)
        if found.source is not None:
            areas["class"] = found.column
    else:
        add_no_changes(areas)
    areas.attrs["method"] = {**shown.method,
                             "previous_period": (change.prev_months[0], change.prev_months[-1]),
                             "change_note": change.note}
    return areas, found


def _classes(areas: gpd.GeoDataFrame, classes: Mapping[int, str] | bool | None,
             sel: _Loaded) -> _Classes:
    """The class of each area: as supplied by rank, none (``classes=False``), or the emerging
    hot spot pattern of the cells it overlaps (:func:`hotspots.pack_areas.hotspot_classes`
    over every month the store holds up to ``end``, gaps dropped), weighted by the cells'
    incidents: the most common pattern other than "no pattern detected", else "no pattern
    detected". A failed analysis leaves the classes out with the reason."""
    if isinstance(classes, Mapping):
        return _Classes(column=[classes.get(int(r), "") for r in areas["rank"]],
                        source=CLASSES_SUPPLIED, info={"source": CLASSES_SUPPLIED})
    if classes is False:
        return _Classes(omitted="not asked for (classes=False)")
    try:
        upto = sel.everything[(sel.months <= sel.end).to_numpy(bool)]
        found, class_params = hotspot_classes(areas, upto, months_held=sel.have,
                                              study_area=sel.geometry)
    except Exception as exc:  # noqa: BLE001 - a failed class must not stop the pack
        return _Classes(omitted=f"emerging hot spot classes not computed: {_one_line(exc)}")
    info = {"source": "emerging hot spot analysis",
            "cell_m": class_params.get("cell_m"),
            "periods": list(class_params.get("periods") or []),
            "gaps": list(class_params.get("gaps") or []),
            "by_class": pd.Series(found).value_counts().to_dict()}
    return _Classes(column=found, source=CLASSES_COMPUTED, info=info,
                    note=class_note(class_params, crimes=sel.crimes, end=sel.end))


def _junctions_and_corridors(sel: _Loaded, graph: nx.MultiDiGraph, *, radius: float
                             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SRN junctions with incidents within ``radius`` (with their previous period), and the
    period's corridor bands."""
    junctions = junction_stats(sel.everything, graph, radius=radius, period=(sel.start, sel.end),
                               months=sel.have)
    junctions = junctions[junctions["incidents"] > 0].reset_index(drop=True)
    return junctions, corridor_bands(sel.period_inc, graph, sel.geometry)


def _title_and_method(sel: _Loaded, density: _Density, shown: _Areas, *, top: float
                      ) -> tuple[str, str]:
    """The pack's title and the map's statement of method and parameters."""
    surface = density.surface
    method_text = wording.method_statement(
        kernel=surface.kernel, bandwidth=surface.bandwidths or surface.bandwidth,
        bandwidth_rule=density.bandwidth_rule or surface.bandwidth_rule, cell=surface.grid.cell,
        top=None if shown.method.get("n_areas") else top, start=sel.start, end=sel.end,
        crimes=sel.crimes, missing=sel.missing_now)
    if shown.method.get("n_areas"):  # the density's patrol areas: say how they were drawn
        method_text = f"{method_text}. Areas: {shown.method['method']}"
    title = f"{sel.crimes[:1].upper()}{sel.crimes[1:]} hotspots"
    if shown.shown:
        method_text = shown.statement.rstrip(". ")
        title = f"{sel.crimes[:1].upper()}{sel.crimes[1:]}: {shown.name}"
    return title, method_text


def _disruption_sites(disruption: pd.DataFrame | None, n_sites: int, sel: _Loaded,
                      graph: nx.MultiDiGraph, areas: gpd.GeoDataFrame
                      ) -> tuple[pd.DataFrame | None, str]:
    """The disruption points given, or ``n_sites`` chosen; else None and why there are none."""
    if disruption is not None:
        return disruption, ""
    if not n_sites:
        return None, "no disruption analysis asked for or supplied"
    try:
        # The disruption model is optional: without it the pack says so and goes on.
        dmod = importlib.import_module("hotspots.models.disruption")
        cmod = importlib.import_module("hotspots.models.coverage")
    except ImportError:
        return None, "the disruption model (hotspots.models.disruption) is not installed"
    cov = cmod.build_coverage(sel.period_inc, graph, hotspots=areas, study_area=sel.geometry,
                              period=(sel.start, sel.end), months=sel.have)
    plan = dmod.choose_sites(cov, k=min(int(n_sites), len(cov.free)))
    return disruption_frame(plan, str(graph.graph.get("source", "")),
                            graph.graph.get("osm_services", ())), ""


def _disruption_note(disruption: pd.DataFrame | None) -> str:
    return "" if disruption is None else str(disruption.attrs.get("method") or "")


def _map_png(sel: _Loaded, surface: Surface, shown: _Areas, areas: gpd.GeoDataFrame, *,
             title: str, marking: str, method_text: str, junctions: pd.DataFrame,
             disruption: pd.DataFrame | None, created: datetime, settings: Settings,
             size: str = "a4") -> bytes:
    """The A4 map: the surface (none under another method's areas), areas, sites, junctions."""
    sites = disruption if disruption is not None and len(disruption) else None
    map_method = method_text
    if sites is not None and disruption.attrs.get("method"):
        map_method += ". " + str(disruption.attrs["method"])
    # A site from the OpenStreetMap services layer puts OpenStreetMap's attribution on the map.
    osm = sites is not None and "attribution" in sites and bool(
        sites["attribution"].astype(str).str.contains("OpenStreetMap").any())
    return render_map_png(None if shown.shown else surface, areas, area_geometry=sel.geometry,
                          title=title, period=sel.period, groups=sel.types or sel.groups,
                          method_text=map_method, marking=marking, size=size,
                          area=sel.area_words, sites=sites, junctions=junctions,
                          services=osm, created=created, hotspots_label=shown.legend if shown.shown
                          else "Hotspot area", forces=sel.forces or None, settings=settings)


def _figures(sel: _Loaded, areas: gpd.GeoDataFrame, method: Mapping[str, Any]) -> _Figures:
    """Counts, and the hotspot areas' share of incidents and PAI (in-sample)."""
    n_inc, n_mapped = int(len(sel.period_inc)), int(len(sel.mapped))
    n_in_study = int(method.get("incidents_in_study_area", n_mapped))
    hot_inc = int(areas["incidents"].sum()) if len(areas) else 0
    hot_km2 = float(areas["area_km2"].sum()) if len(areas) else 0.0
    study_km2 = float(method.get("study_area_km2", sel.geometry.area / 1e6))
    share = hot_inc / n_in_study if n_in_study else float("nan")
    pai = share / (hot_km2 / study_km2) if hot_km2 and n_in_study else float("nan")
    return _Figures(incidents=n_inc, mapped=n_mapped, hot_km2=hot_km2, study_km2=study_km2,
                    share=share, pai=pai)


def _accuracy(accuracy: str | Mapping[str, Any] | bool | None, sel: _Loaded, *,
              cell: float, top: float, density: _Density, shown: _Areas) -> _Accuracy:
    """The accuracy section: as supplied, left out, or computed.

    Computed: :func:`hotspots.pack_backtest.back_test` on the selection with test months up
    to ``end`` only (rolling origin, 3 training months, next-month test), quoting the pack's
    own KDE when its bandwidth is among those back-tested (fixed quartic 200, 300, 500, 750 or
    1000 m) and ``auto`` otherwise, at the pack's hotspot share, with ``auto``'s choice over
    those months; a failed back-test leaves the section out with the reason.
    """
    if accuracy is False:
        return _Accuracy(omitted="not asked for (accuracy=False)")
    if accuracy is not None and accuracy is not True:
        if not accuracy:
            return _Accuracy(omitted="an empty back-test statement was supplied")
        return _Accuracy(statement=accuracy, info={"source": "supplied"})
    try:
        statement, why, info = back_test(
            sel.everything, months_held=sel.have, end=sel.end, study_area=sel.geometry,
            cell=cell, top=top, surface=None if shown.shown else density.surface,
            groups=sel.groups, types=sel.types, shown_recipe=shown.own, res=density.evaluation)
    except Exception as exc:  # noqa: BLE001 - a failed back-test must not stop the pack
        return _Accuracy(omitted=f"back-test not computed: {_one_line(exc)}")
    if statement is None:
        return _Accuracy(omitted=why)
    return _Accuracy(statement=statement, info=info,
                     note=accuracy_note(info, top=top, cell=cell, own=shown.own,
                                        shown_name=shown.name if shown.shown else None),
                     summary=accuracy_summary(info))


def _method_notes(sel: _Loaded, shown: _Areas, figures: _Figures, change: _Change, *,
                  method_text: str, top: float, cell: float, radius: float,
                  extra: Sequence[str]) -> list[str]:
    """Method and parameter statements; ``extra`` (disruption, classes, accuracy) after
    them, empty ones left out."""
    method = shown.method
    thr = method.get("threshold_density")
    how = (f"Hotspot areas: the densest {top:.0%} of the study area's {cell:g} m cells "
           f"({method.get('study_cells', 0):,} cells; threshold "
           f"{(thr if thr is not None else float('nan')):.1f} incidents per km²), joined where "
           "cells share an edge and ranked by the mapped incidents they contain."
           if not shown.shown else
           f"{shown.name[:1].upper()}{shown.name[1:]}: {method.get('method', '')}. The "
           "table, map and disruption demand use these areas, not the density surface.")
    prev = change.prev_months
    return [
        method_text + ".",
        how + " Share = the "
        "area's incidents / all mapped incidents in the study area. PAI (in-sample) = share of "
        "incidents / share of the study area: it says how concentrated the period's crime "
        "is, not how well it forecasts.",
        f"Change: the same polygons counted in the previous period of equal length "
        f"({wording.period_label(prev[0], prev[-1])}). Months without published data "
        "are never read as zero: " + (f"not computed here ({change.note})." if change.note
                                      else "every month of both periods has data."),
        f"Junctions: incidents within {radius:,.0f} m straight-line of each SRN junction node "
        "(an incident near two junctions counts for both), compared with the previous period "
        "of equal length where the store holds it.",
        "Corridor bands: straight-line distance from each mapped incident to the nearest SRN "
        "road; location quotient = share of incidents / share of the area.",
        f"Counts: {figures.incidents:,} incidents in the period, {figures.mapped:,} mapped; "
        "rows without a location count in totals and trends but are not mapped.",
        *(n for n in extra if n),
    ]


def _summary(sel: _Loaded, areas: gpd.GeoDataFrame, figures: _Figures,
             junctions: pd.DataFrame, *, radius: float, back_test: str) -> dict[str, str]:
    """The cover's key figures, label -> text."""
    n_inc, n_mapped = figures.incidents, figures.mapped
    hot_km2, study_km2 = figures.hot_km2, figures.study_km2
    summary = {
        "Incidents": f"{n_inc:,} ({n_mapped:,} mapped; {n_inc - n_mapped:,} without a "
                     "location, counted but not mapped)",
        "Hotspot areas": (f"{len(areas):,}, covering {hot_km2:,.1f} km² "
                          f"({hot_km2 / study_km2:.1%} of the area) and holding "
                          f"{figures.share:.1%} of mapped incidents (PAI {figures.pai:.1f}, "
                          "in-sample)")
        if len(areas) else "none selected",
        "Busiest SRN junction": (f"{junctions['name'].iloc[0]}: "
                                 f"{int(junctions['incidents'].iloc[0]):,} incidents within "
                                 f"{radius:,.0f} m") if len(junctions) else "none near",
    }
    if sel.missing_now:
        summary["Missing months"] = ("the store has no data for "
                                     f"{wording.missing_months_label(sel.missing_now)}")
    if back_test:
        summary["Back-test"] = back_test
    return summary


def _store_span(sel: _Loaded) -> list[str]:
    return month_range(min(sel.have), max(sel.have))


def _monthly_counts(sel: _Loaded) -> pd.DataFrame:
    """Monthly counts over everything the store holds; months it lacks are NaN, not zero."""
    counts = sel.months.value_counts()
    span_all = _store_span(sel)
    held = set(sel.have)
    return pd.DataFrame({
        "month": span_all,
        "label": [wording.period_label(m, m) for m in span_all],
        "incidents": [float(counts.get(m, 0)) if m in held else np.nan for m in span_all],
        "has_data": [m in held for m in span_all],
        "selected": [sel.start <= m <= sel.end for m in span_all],
    })


def _caveats(sel: _Loaded) -> list[str]:
    """:data:`hotspots.pack.DATA_CAVEATS`, with the store's gaps third when it has any."""
    gaps_all = [m for m in _store_span(sel) if m not in set(sel.have)]
    caveats = list(DATA_CAVEATS)
    if gaps_all:
        caveats.insert(2, f"The store has no data for {wording.missing_months_label(gaps_all)}: "
                          "trends show the gap and no comparison bridges it.")
    return caveats


def _params(sel: _Loaded, density: _Density, shown: _Areas, figures: _Figures,
            change: _Change, *, areas: gpd.GeoDataFrame, top: float,
            radius: float, accuracy_info: dict[str, Any] | None,
            class_info: dict[str, Any] | None, marking: str, created: datetime
            ) -> dict[str, Any]:
    """Every parameter and count, JSON-ready."""
    share, pai = figures.share, figures.pai
    return {
        "store": str(sel.store), "area": sel.area_words, "start": sel.start, "end": sel.end,
        "groups": sel.groups, "types": sel.types,
        "months_missing_in_period": sel.missing_now,
        "previous_period": [change.prev_months[0], change.prev_months[-1]],
        "change_note": change.note, "incidents": figures.incidents, "mapped": figures.mapped,
        "without_location": figures.incidents - figures.mapped, "hotspots": int(len(areas)),
        "share_in_hotspots": None if math.isnan(share) else round(share, 4),
        "pai": None if math.isnan(pai) else round(pai, 3), "top": top,
        "surface": density.surface.params(), "junction_radius_m": float(radius),
        "map_method": shown.name if shown.shown else "kernel density",
        "auto": density.auto_info,
        "areas_method": json_value(shown.method) if shown.shown else None,
        "accuracy": accuracy_info, "classes": class_info,
        "marking": marking, "created": created.astimezone(UTC).isoformat(timespec="seconds"),
    }


def _review(review: bool | gpd.GeoDataFrame, sel: _Loaded, *, buffer_m: float,
            settings: Settings) -> tuple[Review | None, str]:
    """The tasking review of the previous period, or None and why not."""
    if review is False:
        return None, "not asked for (review=False)"
    targets = review if isinstance(review, gpd.GeoDataFrame) else None
    try:
        return tasking_review(sel.everything, start=sel.start, end=sel.end,
                              months_held=sel.have, study_area=sel.geometry, targets=targets,
                              places=load_places(settings), buffer_m=buffer_m), ""
    except HotspotsError as exc:
        return None, _one_line(exc)


def _profile(selection: Selection, sel: _Loaded, table: pd.DataFrame, figures: _Figures,
             junctions: pd.DataFrame, disruption: pd.DataFrame | None, checked: _Accuracy,
             reviewed: Review | None, no_review: str, change: _Change, found: _Classes, *,
             details: ProfileDetails | None, created: datetime) -> dict[str, Any]:
    """The problem profile's parts: force, details, findings, terms of reference, change
    statements, gaps, recommendation drafts and the extra data sources."""
    held = set(sel.have)
    counts = sel.months.value_counts()
    prev = change.prev_months
    last_year = [shift_month(m, -12) for m in sel.cur_months]
    prev_total = (int(sum(counts.get(m, 0) for m in prev)) if not change.note else None)
    ly_missing = [m for m in last_year if m not in held]
    ly_total = None if ly_missing else int(sum(counts.get(m, 0) for m in last_year))
    ly_words = wording.period_label(last_year[0], last_year[-1])
    ly_note = (f"the store has no data for {wording.missing_months_label(ly_missing)}"
               if ly_missing else "")
    totals = {"incidents": figures.incidents, "mapped": figures.mapped,
              "study_km2": figures.study_km2, "previous": prev_total,
              "previous_period": f"the previous period ({wording.period_label(prev[0], prev[-1])})",
              "previous_note": change.note, "last_year": ly_total,
              "last_year_period": f"the same period last year ({ly_words})",
              "last_year_note": ly_note}
    overall = (reviewed.table.iloc[-1] if reviewed is not None else None)
    review_line = (f"Last period's tasking (the previous period's top {len(reviewed.table) - 1} "
                   f"areas): {overall['verdict']}; {overall['chance']} (tasked areas "
                   f"{int(overall['r_before'])} → {int(overall['r_after'])}, buffer "
                   f"{int(overall['d_before'])} → {int(overall['d_after'])})."
                   if overall is not None else "")
    acc = (f"How well such maps predicted the next month: {checked.summary}."
           if checked.summary else "")
    busiest = (f"Busiest SRN junction: {junctions['name'].iloc[0]}, "
               f"{int(junctions['incidents'].iloc[0]):,} incidents within "
               f"{float(junctions.attrs.get('radius_m', 0)):,.0f} m." if len(junctions) else "")
    classes = (pd.Series(found.column).value_counts().to_dict() if found.column else None)
    findings = key_findings(crimes=sel.crimes, area=sel.area_words, period=sel.period,
                            table=table, totals=totals, accuracy=acc, review=review_line,
                            junction=busiest, classes=classes)
    changes = _change_lines(table, totals, area=sel.area_words)
    sources = []
    if disruption is not None and "attribution" in disruption:
        sources = [f"Disruption sites: {a}" for a in
                   dict.fromkeys(disruption["attribution"].astype(str))
                   if "OpenStreetMap" in a]
    force = selection.forces_name
    terms = terms_of_reference(
        crimes=sel.crimes, area=sel.area_words, period=sel.period,
        selection=[f"force: {force}", f"area: {sel.area_words}", f"period: {sel.period}",
                   f"crimes: {sel.crimes}",
                   f"{figures.incidents:,} incidents, {figures.mapped:,} with a location"],
        sources=["police.uk street-level crime (Home Office, monthly): positions moved to "
                 "anonymous map points, month only, no offender or victim details, published "
                 "about two months late, some months missing.",
                 "ONS force and district boundaries; OpenStreetMap places and streets for "
                 "names; OS OpenRoads and National Highways data for the strategic road "
                 "network (trunk-road alignments approximate).",
                 "Nothing from local intelligence, tasking records or partner data: see the "
                 "gaps at the end."])
    details = details or ProfileDetails.build(issued=created)
    top_types = (sel.period_inc["crime_type"].astype(str).value_counts().head(3).index.tolist()
                 if "crime_type" in sel.period_inc else [])
    drafts = draft_recommendations(
        table=table, crimes=sel.crimes, area=sel.area_words,
        sites=[str(n) for n in disruption["name"].head(3)] if disruption is not None
        and len(disruption) else [],
        junction=str(junctions["name"].iloc[0]) if len(junctions) else "",
        review_reading=(f"{overall['verdict']}." if overall is not None else ""),
        review_date=f"{details.review:%d %B %Y}" if details.review else "",
        top_types=[t.lower() for t in top_types])
    gaps = intelligence_gaps(
        missing=[f"Months without data in the period: "
                 f"{wording.missing_months_label(sel.missing_now)}."] if sel.missing_now else [],
        last_year_note=ly_note, review_note=no_review)
    return {"force": force, "details": details, "findings": findings, "terms": terms,
            "changes": changes, "gaps": gaps, "drafts": drafts, "sources": sources}


def _change_lines(table: pd.DataFrame, totals: Mapping[str, Any], *, area: str) -> list[str]:
    """The change section's statements: the whole area against the previous period and the
    same period last year, and the areas whose change is beyond chance."""
    now = int(totals["incidents"])
    out = []
    for key in ("previous", "last_year"):
        when = totals[f"{key}_period"]
        before = totals[key]
        if before is None:
            out.append(f"{area} against {when}: not compared ({totals[f'{key}_note']}).")
            continue
        p, verdict = change_test(now, int(before))
        out.append(f"{area} against {when}: {change_words(now, before)}; {verdict} "
                   f"(exact test of two Poisson counts, p = {p:.2f}).")
    if len(table) and "change_test" in table:
        for rec in table.to_dict("records"):
            if str(rec.get("change_test", "")).endswith("beyond chance"):
                out.append(f"Area {int(rec['rank'])} ({rec.get('name') or rec.get('locations')})"
                           f": {change_words(rec['incidents'], rec['previous'])}, "
                           f"{rec['change_test']}.")
        if not any(str(t).endswith("beyond chance") for t in table["change_test"]):
            out.append("No patrol area's change on the previous period is beyond chance for "
                       "its counts.")
    out.append("Beyond chance: a two-sided exact test that both periods have the same rate "
               "(the later count given the total is binomial with p = 1/2), at 5%. With ten "
               "areas tested, about two packs in five show one such area by chance alone.")
    return out
