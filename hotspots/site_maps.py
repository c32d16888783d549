"""Suggested disruption sites on an offline map: numbered sites, catchments, demand and the SRN."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element
from shapely.geometry.base import BaseGeometry

from hotspots.base_layers import BaseLayers
from hotspots.corridor_lines import APPROXIMATE_DASH
from hotspots.count_symbols import CountLayer, count_layer
from hotspots.errors import ParameterError
from hotspots.geojson import collection, feature, wgs84_geoms
from hotspots.leaflet import (
    ACQUISITIVE_COLOUR,
    ATTRIBUTION,
    GeoJsonLayer,
    LegendControl,
    esc,
    offline_html,
)
from hotspots.legend import Legend
from hotspots.legend import legend_html as legend_html_base
from hotspots.maps import build_map
from hotspots.spatial.crs import BNG
from hotspots.wording import catchment_statement, format_share_or_dash, reach_text

if TYPE_CHECKING:
    import networkx as nx

    from hotspots.config import Settings
    from hotspots.models.coverage import Coverage
    from hotspots.models.disruption import SitePlan

__all__ = [
    "CATCHMENT_BUFFER_M",
    "CATCHMENT_COLOUR",
    "COVERED_COLOUR",
    "DEMAND_CELL_M",
    "UNCOVERED_COLOUR",
    "demand_layers",
    "disruption_map",
    "disruption_map_page",
    "legend_html",
    "site_catchments",
    "site_popup_html",
    "srn_lines",
]

#: Catchment = the area within this distance of the incident locations a site reaches.
CATCHMENT_BUFFER_M = 500.0
#: Gaps narrower than this between the discs of one catchment are filled (morphological closing).
CATCHMENT_CLOSE_M = 1000.0
#: Demand is drawn as one sized circle per square of this size (never one per incident).
DEMAND_CELL_M = 1000.0
#: Okabe-Ito colours (safe for the common colour-vision deficiencies).
CATCHMENT_COLOUR = "#009E73"  # bluish green
COVERED_COLOUR = ACQUISITIVE_COLOUR  # blue
UNCOVERED_COLOUR = "#E69F00"  # orange
ROAD_COLOUR = "#4a4a4a"
#: Left padding when the map opens, pixels: the legend's width.
LEGEND_CLEARANCE_PX = 335
COVERED_LAYER = "Within reach of a site"
UNCOVERED_LAYER = "Out of reach of every site"

_GRAPH_KINDS = ("junction", "services", "slip")
_OUTLINE_PANE = "hsCatchOutline"
_CSS = """
.hs-legend { max-width: 320px; }
.leaflet-marker-icon.hs-site { z-index: 2000 !important; }
.leaflet-marker-icon.hs-exist { z-index: 1900 !important; }
.hs-site span, .hs-exist span { position: absolute; transform: translate(-50%, -50%);
  white-space: nowrap; text-align: center; font-weight: 700; box-sizing: border-box; }
.hs-site span { font-size: 14px; line-height: 22px; min-width: 26px; height: 26px;
  padding: 0 4px; color: #fff; background: #000; border: 2px solid #fff; border-radius: 13px;
  box-shadow: 0 0 0 1.5px #000, 0 1px 4px rgba(0,0,0,0.5); }
.hs-exist span { font-size: 12px; line-height: 18px; min-width: 22px; height: 22px;
  padding: 0 3px; color: #000; background: #fff; border: 2.5px solid #000; border-radius: 2px;
  box-shadow: 0 1px 3px rgba(0,0,0,0.45); }
.hs-sw-site { flex: none; width: 20px; height: 20px; border-radius: 10px; background: #000;
  color: #fff; font-weight: 700; font-size: 11px; line-height: 20px; text-align: center; }
.hs-sw-exist { flex: none; width: 16px; height: 16px; border: 2.5px solid #000; background: #fff;
  font-weight: 700; font-size: 10px; line-height: 16px; text-align: center; margin: 0 2px; }
.hs-sw-catch { flex: none; width: 20px; height: 13px; border: 2px solid #009E73;
  background: rgba(0,158,115,0.16); }
.hs-sw-trunk { flex: none; width: 24px; height: 0; border-top: 3.5px dashed #4a4a4a; }
.hs-sw-cand { flex: none; width: 8px; height: 8px; border-radius: 50%; background: #bdbdbd;
  border: 1.5px solid #444; margin: 0 6px; }
.hs-pop td.hs-wrap { white-space: normal; text-align: left; }
"""


def _geojson(geoms: Sequence[BaseGeometry], props: Iterable[Mapping[str, Any]]) -> dict:
    """WGS84 FeatureCollection of BNG geometries (empty ones left out)."""
    wgs = wgs84_geoms(gpd.GeoSeries(list(geoms), crs=BNG))
    return collection(feature(g, p)
                      for g, p in zip(wgs, props, strict=True)
                      if g is not None and not g.is_empty)


def _names(frame: pd.DataFrame) -> list[str]:
    return [str(n) for n in frame["name"]] if len(frame) else []


def _rows_of(coverage: Coverage, names: Sequence[str]) -> list[int]:
    lookup = {str(n): i for i, n in enumerate(coverage.sites["name"])}
    missing = [n for n in names if n not in lookup]
    if missing:
        raise ParameterError(f"site(s) {', '.join(map(repr, missing[:3]))} are not in the "
                             "coverage: the plan and the coverage do not belong together")
    return [lookup[n] for n in names]


# ------------------------------------------------------------------------------------ layers


def site_catchments(coverage: Coverage, names: Sequence[str], *,
                    buffer_m: float = CATCHMENT_BUFFER_M,
                    close_m: float = CATCHMENT_CLOSE_M) -> gpd.GeoDataFrame:
    """The catchment of each site: the area within ``buffer_m`` of the demand points it reaches.

    A site's reach is the coverage model's (drive time or straight line); the catchment draws it
    on the map as the union of ``buffer_m`` discs around the incident locations within reach,
    with gaps narrower than ``close_m`` filled (a morphological closing), so it shows where the
    covered crime is, including separate patches near distant exits.

    Parameters
    ----------
    coverage : Coverage
        From :func:`hotspots.models.coverage.build_coverage`.
    names : sequence of str
        Site names (``coverage.sites["name"]``), in drawing order.
    buffer_m : float
        Disc radius around each covered location, metres.
    close_m : float
        Gaps narrower than this are filled, metres (0: none).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:27700, one row per name: ``name``, ``points`` (locations within reach),
        ``incidents`` (within reach), ``area_km2``, ``geometry`` (empty when nothing is in
        reach).

    Raises
    ------
    ParameterError
        A name not in the coverage, ``buffer_m`` not above 0 or ``close_m`` below 0.
    """
    if not buffer_m > 0 or not close_m >= 0:
        raise ParameterError(f"catchment buffer {buffer_m!r} must be above 0 metres and gap "
                             f"{close_m!r} at least 0")
    rows = _rows_of(coverage, list(names))
    px = coverage.demand["x"].to_numpy(float)
    py = coverage.demand["y"].to_numpy(float)
    inc = coverage.demand["incidents"].to_numpy(float)
    out = []
    for name, r in zip(names, rows, strict=True):
        idx = coverage.credit[r].indices
        if idx.size:
            discs = shapely.buffer(shapely.points(px[idx], py[idx]), buffer_m, quad_segs=4)
            geom = shapely.union_all(discs)
            if close_m > 0:
                geom = geom.buffer(close_m / 2, quad_segs=4).buffer(-close_m / 2, quad_segs=4)
            geom = geom.simplify(buffer_m / 16)
        else:
            geom = shapely.Polygon()
        out.append({"name": str(name), "points": int(idx.size),
                    "incidents": float(inc[idx].sum()), "area_km2": float(geom.area / 1e6),
                    "geometry": geom})
    return gpd.GeoDataFrame(out, columns=["name", "points", "incidents", "area_km2",
                                          "geometry"], geometry="geometry", crs=BNG)


def demand_layers(coverage: Coverage, names: Sequence[str], *, cell: float = DEMAND_CELL_M
                  ) -> tuple[CountLayer, CountLayer]:
    """The mapped incidents per ``cell``-metre square, split by whether a site reaches them.

    Parameters
    ----------
    coverage : Coverage
    names : sequence of str
        The sites in place: the chosen ones and the existing ones.
    cell : float
        Square size, metres.

    Returns
    -------
    (CountLayer, CountLayer)
        Within reach of at least one of ``names`` (blue), and out of reach of all (orange).
    """
    rows = _rows_of(coverage, list(names))
    n_pts = len(coverage.demand)
    within = (coverage.credit[rows].getnnz(axis=0) > 0) if rows else np.zeros(n_pts, bool)
    within = np.asarray(within).ravel()
    x = coverage.demand["x"].to_numpy(float)
    y = coverage.demand["y"].to_numpy(float)
    reps = np.rint(coverage.demand["incidents"].to_numpy(float)).astype(np.int64)
    layers = []
    for mask, name, colour, noun in ((within, COVERED_LAYER, COVERED_COLOUR, "within-reach"),
                                     (~within, UNCOVERED_LAYER, UNCOVERED_COLOUR,
                                      "out-of-reach")):
        layers.append(count_layer(np.repeat(x[mask], reps[mask]),
                                  np.repeat(y[mask], reps[mask]), name=name, cell=cell,
                                  shape="circle", colour=colour, noun=noun))
    return layers[0], layers[1]


def srn_lines(graph: nx.MultiDiGraph, *, clip: BaseGeometry | None = None
              ) -> tuple[dict, dict]:
    """The SRN roads the base map lacks: trunk A-roads, and approximate motorway alignments.

    The base layers draw the motorways; this adds the trunk roads' main carriageways
    (surveyed HAPMS sections in the national graph) and any alignment derived from junctions
    and traffic counters (a graph without the national layers), marked ``approximate``.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        SRN graph (EPSG:27700), e.g. the dashboard's cached graph.
    clip : shapely geometry, optional
        Keep only road pieces touching this area (EPSG:27700).

    Returns
    -------
    (dict, dict)
        WGS84 FeatureCollections: one (multi)line per road and alignment kind (escaped
        ``tooltip``, ``approximate``), and one ``label`` point per road (its ref, escaped).
    """
    from hotspots.spatial.road_lines import edge_table

    et = edge_table(graph)
    approx = et["geometry_source"] == "approximate"
    # road_class "trunk" is a main carriageway: slips and roundabouts are "link".
    et = et.assign(approximate=approx)[approx | (et["road_class"] == "trunk")]
    if clip is not None and len(et):
        et = et[shapely.intersects(et.geometry.to_numpy(), clip)]
    lines, line_props, points, point_props = [], [], [], []
    for ref, by_ref in et.groupby("ref", sort=True):
        longest = None
        for is_approx, part in by_ref.groupby("approximate", sort=True):
            merged = shapely.line_merge(shapely.union_all(part.geometry.to_numpy()))
            lines.append(merged.simplify(15.0))
            kind = "trunk road" if (part["road_class"] == "trunk").all() else "SRN road"
            line_props.append({"tooltip": esc(f"{ref} ({kind}"
                                              + (", approximate alignment)" if is_approx
                                                 else ")")),
                               "approximate": bool(is_approx)})
            piece = max(getattr(merged, "geoms", [merged]), key=lambda g: g.length)
            if longest is None or piece.length > longest.length:
                longest = piece
        points.append(longest.interpolate(0.5, normalized=True))
        point_props.append({"label": esc(ref)})
    return _geojson(lines, line_props), _geojson(points, point_props)


# ------------------------------------------------------------------------------------ text


def site_popup_html(row: Mapping[str, Any], *, reach: str, weight: str,
                    total: int | None = None) -> str:
    """Return the escaped popup HTML for one site of a plan.

    Parameters
    ----------
    row : mapping
        One row of ``SitePlan.sites`` or ``SitePlan.existing`` (``rank`` 0 for existing).
    reach : str
        The reach in words (see :func:`reach_text`).
    weight : {"harm", "count"}
        What the shares are of.
    total : int, optional
        Number of new sites, shown as "Rank 1 of 5".

    Returns
    -------
    str
    """
    rank = int(row.get("rank") or 0)
    of = "harm" if weight == "harm" else "incidents"
    roads = row.get("roads")
    roads_text = ", ".join(str(r) for r in roads) if isinstance(roads, (list, tuple)) \
        else str(roads or "")
    items: list[tuple[str, str]] = []
    if rank:
        items.append(("Rank", f"{rank}" + (f" of {total}" if total else "")))
    items += [("Kind", str(row.get("kind") or "")), ("Roads", roads_text or "–"),
              (f"Incidents {reach}", f"{int(row.get('covered') or 0):,}"),
              (f"Share of the {of}", format_share_or_dash(row.get("covered_share")))]
    if rank:
        items += [("Not reached by a higher rank" if rank > 1 else "Added by this site",
                   f"{int(row.get('marginal') or 0):,}"),
                  (f"Cumulative share, ranks 1–{rank}",
                   format_share_or_dash(row.get("cumulative_share")))]
    mix = row.get("crime_mix") or {}
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items)
    listing = ""
    if isinstance(mix, Mapping) and mix:
        listing = ("<div class='hs-sub'>Crime mix within reach</div><table>"
                   + "".join(f"<tr><th class='hs-ind'>{esc(t)}</th><td>{int(n):,}</td></tr>"
                             for t, n in list(mix.items())[:6]) + "</table>")
    head = (f"{rank}. {row.get('name', '')}" if rank else f"Existing site: {row.get('name', '')}")
    note = f"<div class='hs-note'>{esc(row.get('rationale') or '')}</div>"
    return (f"<div class='hs-pop'><b>{esc(head)}</b><table>{table}</table>{listing}{note}"
            "</div>")


def legend_html(legend: Legend, *, sites: int, existing: int, catchment: str,
                candidates: int = 0, trunk: bool = True) -> str:
    """The disruption map's legend: :func:`hotspots.legend.legend_html` plus the site keys.

    Parameters
    ----------
    legend : Legend
        Title, method, marking, demand layers (``counts``), road key and notes (plain text).
    sites, existing : int
        Number of new and of existing sites drawn.
    catchment : str
        What a catchment is (see :func:`catchment_statement`).
    candidates : int
        Other candidate sites drawn (0: no key row).
    trunk : bool
        Key the dashed trunk-road line.

    Returns
    -------
    str
        HTML, every text escaped.
    """
    body = legend_html_base(replace(legend, notes=()))
    end = "</details>"
    if not body.endswith(end):
        raise ParameterError("unexpected legend layout from hotspots.legend.legend_html")
    rows = []
    if trunk:
        rows.append("<div class='hs-key'><span class='hs-sw-trunk'></span>"
                    "<span>Trunk road (approximate alignment)</span></div>")
    rows.append("<div class='hs-key'><span class='hs-sw-site'>1</span><span>"
                + esc(f"Suggested site by rank, 1 adds the most ({sites} shown)")
                + "</span></div>")
    if existing:
        rows.append("<div class='hs-key'><span class='hs-sw-exist'>E</span><span>"
                    + esc(f"Existing site, counted first ({existing})") + "</span></div>")
    rows.append("<div class='hs-key'><span class='hs-sw-catch'></span><span>"
                + esc(catchment) + "</span></div>")
    if candidates:
        rows.append("<div class='hs-key'><span class='hs-sw-cand'></span><span>"
                    + esc(f"Other candidate sites, not chosen ({candidates:,})")
                    + "</span></div>")
    notes = [f"<div class='hs-note'>{esc(n)}</div>" for n in legend.notes]
    return body[:-len(end)] + "".join(rows + notes) + end


# ------------------------------------------------------------------------------------ map


def _site_points(frame: pd.DataFrame, *, label: str | None, reach: str, weight: str,
                 total: int) -> dict:
    """Label-marker features of plan rows: rank (or ``label``), tooltip, popup."""
    geoms, props = [], []
    for row in frame.to_dict("records"):
        geoms.append(shapely.Point(float(row["x"]), float(row["y"])))
        rank = int(row.get("rank") or 0)
        tip = (f"{rank}. {row['name']}: {int(row['covered']):,} incidents {reach}" if rank
               else f"Existing site {row['name']}: {int(row['covered']):,} incidents {reach}")
        props.append({"label": esc(label if label is not None else rank), "tooltip": esc(tip),
                      "popup": site_popup_html(row, reach=reach, weight=weight, total=total),
                      "rank": rank})
    # Highest rank drawn last: on top where markers overlap.
    order = sorted(range(len(geoms)), key=lambda i: -props[i]["rank"])
    return _geojson([geoms[i] for i in order], [props[i] for i in order])


def disruption_map(*, base: BaseLayers, view: BaseGeometry, coverage: Coverage,
                   plan: SitePlan, legend: Legend, graph: nx.MultiDiGraph | None = None,
                   settings: Settings, title: str = "Suggested disruption sites",
                   catchment_buffer_m: float = CATCHMENT_BUFFER_M,
                   catchment_close_m: float = CATCHMENT_CLOSE_M,
                   show_candidates: bool | None = None) -> folium.Map:
    """Build the disruption map: numbered sites, catchments, demand by square, the SRN.

    Layers, bottom to top: the hotspot map's base (boundaries, surveyed motorways, SRN
    junctions), trunk roads from the graph (dashed), one catchment per site, the other
    candidate sites (hidden unless user sites are among them), the mapped incidents per 1 km
    square split into within reach (blue) and out of reach (orange), then existing sites
    (squares marked E) and the new sites numbered by rank.

    Parameters
    ----------
    base : BaseLayers
        From :func:`hotspots.base_layers.load_base_layers`.
    view : shapely geometry
        Study area (EPSG:27700); the map opens on it and every site.
    coverage : Coverage
    plan : SitePlan
        Chosen on ``coverage``.
    legend : Legend
        Title, method, marking and notes; the demand layers and keys are added here.
    graph : networkx.MultiDiGraph, optional
        SRN graph for the trunk roads (not drawn without it).
    settings : Settings
    title : str
        Page title.
    catchment_buffer_m, catchment_close_m : float
        ``buffer_m`` and ``close_m`` of :func:`site_catchments`.
    show_candidates : bool, optional
        Show the other candidate sites on opening (default: when user sites are among them).

    Returns
    -------
    folium.Map
        Pass it to :func:`hotspots.leaflet.offline_html`.
    """
    params = coverage.params
    reach = reach_text(params)
    weight = str(params["weight"])
    chosen, existing = _names(plan.sites), _names(plan.existing)
    catch = site_catchments(coverage, [*existing, *chosen], buffer_m=catchment_buffer_m,
                            close_m=catchment_close_m)
    covered, uncovered = demand_layers(coverage, [*existing, *chosen])

    overlays: list[Element] = []
    roads = _trunk_roads(graph, view) if graph is not None else None
    if roads is not None:
        overlays.append(roads)
    overlays += _catchment_layers(catch, plan, reach)
    others, show = _other_candidates(coverage, {*chosen, *existing}, show_candidates)
    if len(others):
        overlays.append(_candidate_layer(others, show))
    overlays.append(_site_layers(plan, reach=reach, weight=weight))

    points = [shapely.Point(float(x), float(y)) for frame in (plan.sites, plan.existing)
              for x, y in zip(frame["x"], frame["y"], strict=True)]
    extent = shapely.union_all([view, *points]).envelope if points else view
    full = replace(legend, counts=(covered, uncovered), roads=True)
    m = build_map(base=base, view=extent, counts=(covered, uncovered), legend=None,
                  settings=settings, title=title, roads=True, overlays=overlays)
    # Open with the study area and the sites clear of the legend (bottom left): this fit runs
    # after build_map's own.
    w, s, e, n = wgs84_geoms(gpd.GeoSeries([extent], crs=BNG)).total_bounds
    m.fit_bounds([[s, w], [n, e]], padding_top_left=(LEGEND_CLEARANCE_PX, 12),
                 padding_bottom_right=(12, 12))
    m.get_root().header.add_child(Element(f"<style>{_CSS}</style>"), name="hs_site_css")
    LegendControl(legend_html(full, sites=len(chosen), existing=len(existing),
                              catchment=catchment_statement(params, catchment_buffer_m,
                                                            catchment_close_m),
                              candidates=len(others) if show else 0,
                              trunk=roads is not None)).add_to(m)
    return m


def _trunk_roads(graph: nx.MultiDiGraph, view: BaseGeometry) -> folium.FeatureGroup | None:
    """The trunk roads (approximate alignments dashed) and their names within 25 km of the
    view (None if there are none)."""
    lines, labels = srn_lines(graph, clip=view.buffer(25_000))
    if not lines["features"]:
        return None
    approx = any(f["properties"]["approximate"] for f in lines["features"])
    roads = folium.FeatureGroup(name="Trunk roads" + (" (dashed: approximate alignment)"
                                                      if approx else ""),
                                overlay=True, control=True, show=True)
    for dashed in (False, True):
        feats = [f for f in lines["features"] if f["properties"]["approximate"] == dashed]
        if not feats:
            continue
        style = {"color": ROAD_COLOUR, "weight": 3.5, "opacity": 0.9, "lineCap": "butt",
                 "className": "hs-trunk"}
        if dashed:
            style["dashArray"] = APPROXIMATE_DASH
        GeoJsonLayer({"type": "FeatureCollection", "features": feats}, name="Trunk roads",
                     control=False, style=style,
                     attribution=esc(ATTRIBUTION["national_highways"] if dashed
                                     else ATTRIBUTION["hapms"])).add_to(roads)
    GeoJsonLayer(labels, name="Trunk road names", point="label",
                 label_class="hs-mlabel", control=False, interactive=False).add_to(roads)
    return roads


def _catchment_layers(catch: gpd.GeoDataFrame, plan: SitePlan, reach: str) -> list[Element]:
    """The outline pane and the catchments group: fills below the demand circles, outlines
    above them (their own pane), so every catchment's boundary stays readable where the
    circles are dense."""
    ranks = {str(n): int(r) for n, r in zip(plan.sites["name"], plan.sites["rank"],
                                            strict=True)}
    tips = []
    for row in catch.itertuples():
        who = (f"Site {ranks[row.name]}, {row.name}" if row.name in ranks
               else f"Existing site {row.name}")
        tips.append({"tooltip": esc(f"Catchment of {who}: {int(row.incidents):,} incidents "
                                    f"{reach}"),
                     "rank": ranks.get(row.name, 0)})
    order = catch["area_km2"].to_numpy().argsort()[::-1]  # large first: small stay on top
    catch_data = _geojson([catch.geometry.iloc[i] for i in order], [tips[i] for i in order])
    pane = folium.map.CustomPane(_OUTLINE_PANE, z_index=460, pointer_events=False)
    catchments = folium.FeatureGroup(name="Site catchments", overlay=True, control=True,
                                     show=True)
    GeoJsonLayer(catch_data, name="Catchments", control=False,
                 style={"stroke": False, "fill": True, "fillColor": CATCHMENT_COLOUR,
                        "fillOpacity": 0.14},
                 attribution=esc(ATTRIBUTION["police_uk"])).add_to(catchments)
    GeoJsonLayer(catch_data, name="Catchment outlines", control=False, interactive=False,
                 style={"color": CATCHMENT_COLOUR, "weight": 2.5, "opacity": 0.95,
                        "fill": False, "className": "hs-catchment"},
                 pane=_OUTLINE_PANE).add_to(catchments)
    return [pane, catchments]


def _other_candidates(coverage: Coverage, placed: set[str], show_candidates: bool | None
                      ) -> tuple[pd.DataFrame, bool]:
    """The candidate sites not placed, and whether to show them on opening (by default when
    user sites are among them)."""
    others = coverage.sites[~coverage.sites["name"].astype(str).isin(placed)
                            & ~coverage.sites["existing"].to_numpy(bool)]
    if not len(others):
        return others, False
    user = ~others["kind"].astype(str).isin(_GRAPH_KINDS)
    return others, bool(user.any()) if show_candidates is None else bool(show_candidates)


def _candidate_layer(others: pd.DataFrame, show: bool) -> GeoJsonLayer:
    """Grey circles of the candidate sites not chosen."""
    cand = _geojson([shapely.Point(x, y) for x, y in zip(others["x"], others["y"],
                                                         strict=True)],
                    [{"tooltip": esc(f"Candidate site {n} ({k}), not chosen")}
                     for n, k in zip(others["name"], others["kind"], strict=True)])
    return GeoJsonLayer(
        cand, name=esc(f"Other candidate sites ({len(others):,})"), show=show,
        point_style={"radius": 4, "color": "#444444", "weight": 1.5,
                     "fillColor": "#bdbdbd", "fillOpacity": 1.0,
                     "className": "hs-candidate"})


def _site_layers(plan: SitePlan, *, reach: str, weight: str) -> folium.FeatureGroup:
    """Existing sites (squares marked E) and the new sites numbered by rank, as one group."""
    total = len(plan.sites)
    sites = folium.FeatureGroup(name="Suggested sites", overlay=True, control=True, show=True)
    if len(plan.existing):
        GeoJsonLayer(_site_points(plan.existing, label="E", reach=reach, weight=weight,
                                  total=total),
                     name="Existing sites", point="label", label_class="hs-exist",
                     control=False).add_to(sites)
    GeoJsonLayer(_site_points(plan.sites, label=None, reach=reach, weight=weight,
                              total=total),
                 name="Site ranks", point="label", label_class="hs-site",
                 control=False).add_to(sites)
    return sites


def disruption_map_page(**kwargs: Any) -> str:
    """Build the disruption map and render it to self-contained, offline HTML.

    Parameters
    ----------
    **kwargs
        As :func:`disruption_map`.

    Returns
    -------
    str
        The page (Leaflet inlined, no remote reference).
    """
    return offline_html(disruption_map(**kwargs))
