"""The corridor map: the SRN coloured by network density and junctions sized by incidents.

Drawn on the hotspot map's base (:func:`hotspots.maps.build_map`): runs of equal colour class
(:mod:`hotspots.corridor_lines`, approximate alignments dashed) and the SRN junctions as circles
whose area grows with the incidents around them, with escaped popups.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import folium
import shapely
from branca.element import Element
from shapely.geometry.base import BaseGeometry

from hotspots.base_layers import BaseLayers
from hotspots.config import Settings
from hotspots.corridor_lines import CorridorLines
from hotspots.geojson import collection, feature
from hotspots.leaflet import ATTRIBUTION, SOC_COLOUR, GeoJsonLayer, esc
from hotspots.legend import Legend
from hotspots.maps import build_map

__all__ = [
    "JUNCTION_RADIUS_PX",
    "JunctionMarkers",
    "corridor_map",
    "junction_markers",
    "junction_popup_html",
]


NETWORK_CASING_COLOUR = "#4a4a4a"


JUNCTION_RADIUS_PX = (4.0, 18.0)  # circle radius of the smallest and the largest count


#: Junction circles: Okabe-Ito vermillion, apart from every colour of the density ramp.
JUNCTION_COLOUR = SOC_COLOUR


def _count_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(value):,}"


def _change_text(change: Any, pct: Any) -> str:
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return "–"
    text = f"{int(change):+,}".replace("-", "−")
    if pct is not None and isinstance(pct, (int, float)) and math.isfinite(pct):
        text += f" ({pct:+.0f}%)".replace("-", "−")
    return text


def _counts_of(value: Any) -> dict[str, int]:
    if isinstance(value, Mapping):
        return {str(k): int(v) for k, v in value.items() if v}
    return {}


def junction_popup_html(row: Mapping[str, Any], *, radius_m: float, period: str,
                        previous_period: str = "", rank: int | None = None,
                        total: int | None = None, group_labels: Mapping[str, str] | None = None,
                        force_labels: Mapping[str, str] | None = None) -> str:
    """Return the escaped popup HTML for one SRN junction.

    Parameters
    ----------
    row : mapping
        One row of :func:`hotspots.spatial.corridors.junction_stats`: ``name``, ``alias``,
        ``incidents``, ``by_group``, ``by_force``, ``previous``, ``change``, ``change_pct``,
        ``change_note``.
    radius_m : float
        The counting radius, metres.
    period, previous_period : str
        The periods in words ("Oct–Dec 2025").
    rank, total : int, optional
        Shown as "Rank 1 of 45".
    group_labels, force_labels : mapping, optional
        Display names of crime groups and forces.

    Returns
    -------
    str
    """
    glab = dict(group_labels or {})
    flab = dict(force_labels or {})
    name = str(row.get("name", "") or "SRN junction")
    alias = str(row.get("alias", "") or "")
    rows: list[tuple[str, str, bool]] = [("Incidents", _count_text(row.get("incidents")), False)]
    for group, n in _counts_of(row.get("by_group")).items():
        rows.append((glab.get(group, group), f"{n:,}", True))
    forces = _counts_of(row.get("by_force"))
    if len(forces) > 1:
        for force, n in forces.items():
            rows.append((f"recorded by {flab.get(force, force)}", f"{n:,}", True))
    if rank is not None:
        rows.append(("Rank", f"{rank:,}" + (f" of {total:,}" if total else ""), False))
    note = str(row.get("change_note", "") or "")
    previous = row.get("previous")
    if previous is not None and not (isinstance(previous, float) and math.isnan(previous)):
        rows.append((f"Previous period{f' ({previous_period})' if previous_period else ''}",
                     _count_text(previous), False))
        rows.append(("Change", _change_text(row.get("change"), row.get("change_pct")), False))
    table = "".join(f"<tr><th{' class=hs-ind' if ind else ''}>{esc(k)}</th>"
                    f"<td>{esc(v)}</td></tr>" for k, v, ind in rows)
    head = f"<b>{esc(name)}</b>" + (f" ({esc(alias)})" if alias else "")
    where = f"Within {radius_m:,.0f} m of the junction, {period}"
    foot = f"<div class='hs-note'>{esc(note)}</div>" if note else ""
    return (f"<div class='hs-pop'>{head}<div class='hs-note hs-tight'>{esc(where)}</div>"
            f"<table>{table}</table>{foot}</div>")


@dataclass(frozen=True)
class JunctionMarkers:
    """SRN junctions as WGS84 GeoJSON circles sized by incidents, with rank labels.

    Attributes
    ----------
    circles : dict
        FeatureCollection of points (largest first); ``properties``: ``popup``, ``tooltip``
        (escaped), ``style`` (``radius``, ``fillOpacity``).
    labels : dict
        FeatureCollection of points carrying the rank as ``label``.
    largest : int
        Largest count.
    radius_m : float
        Counting radius, metres.
    """

    circles: dict
    labels: dict
    largest: int
    radius_m: float


def junction_markers(junctions: Any, *, radius_m: float, period: str,
                     previous_period: str = "", label_top: int = 10,
                     group_labels: Mapping[str, str] | None = None,
                     force_labels: Mapping[str, str] | None = None) -> JunctionMarkers:
    """Make sized junction circles (area proportional to the count) with escaped popups.

    Parameters
    ----------
    junctions : pandas.DataFrame
        Output of :func:`hotspots.spatial.corridors.junction_stats` (``lon``, ``lat``, ...),
        ranked: the row order is the rank.
    radius_m : float
        Counting radius, metres (said in the popups and tooltips).
    period, previous_period : str
        The periods in words.
    label_top : int
        Junctions ranked 1..``label_top`` with at least one incident get a rank label.
    group_labels, force_labels : mapping, optional
        Display names of crime groups and forces.

    Returns
    -------
    JunctionMarkers
    """
    if junctions is None or len(junctions) == 0:
        return JunctionMarkers(circles=collection([]), labels=collection([]), largest=0,
                               radius_m=float(radius_m))
    counts = junctions["incidents"].fillna(0).astype(int).to_numpy()
    largest = int(counts.max())
    r0, r1 = JUNCTION_RADIUS_PX
    total = len(junctions)
    circles, labels = [], []
    for rank, (row, n) in enumerate(zip(junctions.to_dict("records"), counts, strict=True), 1):
        point = shapely.Point(float(row["lon"]), float(row["lat"]))
        radius = r0 + (r1 - r0) * math.sqrt(n / largest) if n and largest else 3.0
        popup = junction_popup_html(row, radius_m=radius_m, period=period,
                                    previous_period=previous_period, rank=rank, total=total,
                                    group_labels=group_labels, force_labels=force_labels)
        tip = (f"{row['name']}: {int(n):,} incident{'' if n == 1 else 's'} within "
               f"{radius_m:,.0f} m")
        circles.append((n, feature(point, {
            "popup": popup, "tooltip": esc(tip), "rank": rank,
            "style": {"radius": round(radius, 1), "fillOpacity": 0.25 if n else 0.0}})))
        if n and rank <= label_top:
            labels.append(feature(point, {"label": esc(rank), "rank": rank}))
    circles.sort(key=lambda item: -item[0])  # big ones first: small ones stay clickable
    return JunctionMarkers(circles=collection(f for _, f in circles),
                           labels=collection(labels), largest=largest,
                           radius_m=float(radius_m))


def corridor_map(*, base: BaseLayers, view: BaseGeometry, lines: CorridorLines,
                 junctions: JunctionMarkers | None = None, legend: Legend | None = None,
                 settings: Settings, show_services: bool = False,
                 title: str = "SRN corridor map") -> folium.Map:
    """Build the corridor map: the SRN coloured by network density, junctions sized by counts.

    Drawn on the hotspot map's base (boundaries, district names, motorway names), without its
    plain motorway and junction layers. Each road line has a dark casing; approximate
    alignments are dashed, casing included.

    Parameters
    ----------
    base : BaseLayers
    view : shapely geometry
        The study area in BNG; the map opens fitted to it.
    lines : CorridorLines
        From :func:`corridor_lines`.
    junctions : JunctionMarkers, optional
        From :func:`junction_markers`.
    legend : Legend, optional
        Give it ``network=lines.classes``, ``roads=False`` and a ``junction_key``.
    settings : Settings
    show_services : bool
        Show the service areas layer on opening.
    title : str
        Page title.

    Returns
    -------
    folium.Map
        Pass it to :func:`offline_html` for the page.
    """
    net = folium.FeatureGroup(name="SRN network density", overlay=True, control=True,
                              show=True)
    casing = GeoJsonLayer(lines.data, name="SRN (casing)", control=False, interactive=False,
                          style={"color": NETWORK_CASING_COLOUR, "weight": 7.5, "opacity": 0.95,
                                  "lineJoin": "round"},
                          feature_style=("dashArray", "lineCap"),
                          attribution=esc(ATTRIBUTION["hapms"]))
    casing.add_to(net)
    GeoJsonLayer(casing, name="SRN (density)", control=False,
                 style={"weight": 4.5, "opacity": 1.0, "lineJoin": "round"},
                 feature_style=("color", "dashArray", "lineCap", "className"),
                 attribution=esc(ATTRIBUTION["national_highways"])).add_to(net)
    overlays: list[Element] = [net]
    if junctions is not None and junctions.circles["features"]:
        jgroup = folium.FeatureGroup(
            name=esc(f"SRN junctions (incidents within {junctions.radius_m:,.0f} m)"),
            overlay=True, control=True, show=True)
        GeoJsonLayer(junctions.circles, name="Junction circles", control=False,
                     point_style={"radius": 4, "color": JUNCTION_COLOUR, "weight": 2,
                                   "fillColor": JUNCTION_COLOUR, "fillOpacity": 0.25,
                                   "className": "hs-junction"},
                     feature_style=("radius", "fillOpacity"),
                     attribution=esc(ATTRIBUTION["police_uk"])).add_to(jgroup)
        GeoJsonLayer(junctions.labels, name="Junction ranks", point="label",
                     label_class="hs-rank", control=False, interactive=False).add_to(jgroup)
        overlays.append(jgroup)
    return build_map(base=base, view=view, legend=legend, settings=settings,
                     show_services=show_services, title=title, roads=False, overlays=overlays)
