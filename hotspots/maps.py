"""The hotspot map: folium layers of the base, the density surface, hotspots and counts.

Every function here is pure (no Streamlit): the dashboard renders
:func:`hotspots.leaflet.offline_html` of :func:`build_map` in an iframe, and an export can write
the same string to a self-contained ``.html`` file.

Layers, bottom to top: a plain background (or the configured tile server), neighbouring districts
(faint, for orientation), the force area and its districts, the kernel density surface as a
semi-transparent PNG image, motorways and SRN junctions, hotspot polygons with popups, and
aggregated counts of acquisitive (circles) and SOC-linked (diamonds) incidents. A legend control
states the method and its parameters; the attribution control carries each source's statement.
The corridor, model and disruption maps draw on the same base (``overlays``).

Every string that comes from data or from the user is passed through :func:`html.escape` before it
reaches HTML (see :mod:`hotspots.leaflet` for what reaches the page's JavaScript).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element
from shapely.geometry.base import BaseGeometry

from hotspots.base_layers import BaseLayers
from hotspots.config import Settings
from hotspots.count_symbols import COUNT_PANE, CountLayer, CountSymbols
from hotspots.density_image import DensityImage, transformer
from hotspots.errors import ParameterError
from hotspots.geojson import collection, feature, wgs84_geoms
from hotspots.leaflet import (
    ATTRIBUTION,
    HOTSPOT_COLOUR,
    GeoJsonLayer,
    LegendControl,
    MapSetup,
    esc,
)
from hotspots.legend import Legend, legend_html
from hotspots.spatial.crs import BNG, WGS84
from hotspots.street_map import street_basemap
from hotspots.wording import format_share

__all__ = ["build_map", "hotspot_features", "hotspot_popup_html"]

_BASE_PANE = "hsBase"

#: The map's zoom range (Web Mercator levels): a region at least, a street block at most.
MIN_ZOOM, MAX_ZOOM = 6, 18

# The density image sits below the street lines (390) so the streets stay readable over it.
_DENSITY_PANE = "hsDensity"


# --------------------------------------------------------------------------------------------
# Hotspot areas
# --------------------------------------------------------------------------------------------


def _location_items(value: Any) -> list[str]:
    """Turn a hotspot's ``top_locations`` (list, tuples, dicts or text) into display lines."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(";") if p.strip()]
    items = []
    for item in value:
        if isinstance(item, Mapping):
            name = item.get("location", item.get("name", ""))
            count = item.get("incidents", item.get("count"))
            items.append(f"{name} ({count})" if count is not None else str(name))
        elif isinstance(item, (tuple, list, np.ndarray)) and len(item) == 2:
            items.append(f"{item[0]} ({item[1]})")
        else:
            items.append(str(item))
    return items


def hotspot_popup_html(row: Mapping[str, Any], total: int | None = None) -> str:
    """Return the escaped popup HTML for one hotspot area (rank, incidents, share, PAI, places).

    Parameters
    ----------
    row : mapping
        One row of :func:`hotspots.models.areas.hotspot_areas` output.
    total : int, optional
        Number of hotspot areas, shown as "1 of N".
    """
    rank = int(row["rank"])
    rows = [
        ("Incidents", f"{int(row['incidents']):,}"),
        ("Share of mapped incidents", format_share(float(row["share"]))),
        ("Area", f"{float(row['area_km2']):.2f} km²"),
        ("PAI (in-sample)", f"{float(row['pai']):.1f}"),
    ]
    if "peak_density" in row and row["peak_density"] is not None:
        rows.append(("Peak density", f"{float(row['peak_density']):,.0f} per km²"))
    head = f"Hotspot {rank}" + (f" of {int(total)}" if total else "")
    if row.get("name"):  # patrol areas are named by place and streets
        head += f": {row['name']}"
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    places = _location_items(row.get("top_locations"))
    listing = ("<div class='hs-sub'>Top locations</div><ol>"
               + "".join(f"<li>{esc(p)}</li>" for p in places[:5]) + "</ol>") if places else ""
    return f"<div class='hs-pop'><b>{esc(head)}</b><table>{table}</table>{listing}</div>"


def hotspot_features(areas: gpd.GeoDataFrame, label_top: int = 10) -> dict:
    """Return hotspot polygons (and rank labels) as WGS84 GeoJSON with escaped popups.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        Output of ``hotspot_areas`` (EPSG:27700) with ``rank``, ``incidents``, ``share``,
        ``area_km2``, ``pai``, ``peak_density``, ``top_locations``.
    label_top : int
        Rank labels are made for the areas ranked 1..``label_top``.

    Returns
    -------
    dict
        FeatureCollection: one polygon feature per area (``popup``, ``tooltip``), then a point
        feature carrying the rank as ``label`` for each of the first ``label_top`` areas.
    """
    if areas is None or len(areas) == 0:
        return collection([])
    geoms = wgs84_geoms(areas.geometry.buffer(0), 1.0)
    pts = wgs84_geoms(gpd.GeoSeries(areas.geometry.representative_point(), crs=areas.crs))
    total = len(areas)
    polys, labels = [], []
    for (_, row), g, p in zip(areas.iterrows(), geoms, pts, strict=True):
        rank = int(row["rank"])
        named = f" {row['name']}," if row.get("name") else ""
        tip = (f"Hotspot {rank}:{named} {int(row['incidents']):,} incidents "
               f"({format_share(row['share'])})")
        polys.append(feature(g, {"popup": hotspot_popup_html(row, total), "tooltip": esc(tip),
                                  "rank": rank}))
        if rank <= label_top:
            labels.append(feature(p, {"label": esc(rank), "rank": rank}))
    return collection(polys + labels)


_CSS = """
.leaflet-container { background: #dcdcd6;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.leaflet-control-attribution { font-size: 9.5px; line-height: 1.25; max-width: 62%;
  background: rgba(255,255,255,0.88) !important; }
.leaflet-control-layers { font-size: 12px; }
.hs-legend { background: rgba(255,255,255,0.95); padding: 5px 8px; border-radius: 6px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); max-width: 230px; font-size: 11px;
  line-height: 1.25; color: #1a1a1a; max-height: 42vh; overflow-y: auto; }
.hs-legend summary { cursor: pointer; }
.hs-legend summary .hs-title { display: inline; }
.hs-how { margin-top: 4px; outline: none; }
.hs-how-head { cursor: pointer; color: #0b5394; font-size: 11px; }
.hs-how-body { display: none; }
.hs-how:focus .hs-how-body, .hs-how:focus-within .hs-how-body { display: block; }
.hs-marking { font-weight: 700; letter-spacing: 0.04em; font-size: 11px; color: #1a1a1a;
  border: 1px solid #1a1a1a; display: inline-block; padding: 0 4px; margin: 4px 0 3px; }
.hs-title { font-weight: 700; font-size: 12px; margin: 2px 0 2px; }
.hs-method { color: #333; margin-bottom: 5px; }
.hs-sub { font-weight: 600; margin-top: 4px; }
.hs-ramp { height: 12px; border: 1px solid #888; border-radius: 2px; margin-top: 2px; }
.hs-ticks { display: flex; justify-content: space-between; font-size: 11px; color: #333; }
.hs-key { display: flex; align-items: center; gap: 6px; margin-top: 4px; }
.hs-sw-hot { flex: none; width: 16px; height: 11px; border: 2.5px solid #000;
  box-shadow: 0 0 0 1.5px #fff; background: rgba(255,255,255,0.1); }
.hs-sw-circ { flex: none; width: 12px; height: 12px; border-radius: 50%;
  border: 1px solid #fff; box-shadow: 0 0 0 1px #777; }
.hs-sw-dia { flex: none; width: 10px; height: 10px; transform: rotate(45deg); margin: 0 1px;
  border: 1px solid #fff; box-shadow: 0 0 0 1px #777; }
.hs-sw-mway { flex: none; width: 22px; height: 4px; background: #4a4a4a; }
.hs-sw-junc { flex: none; width: 8px; height: 8px; border-radius: 50%; background: #fff;
  border: 1.5px solid #333; margin-left: 6px; }
.hs-note { color: #444; font-size: 11px; margin-top: 5px; }
.hs-steps { display: flex; height: 10px; border: 1px solid #4a4a4a; margin-top: 3px; }
.hs-steps span { flex: 1; }
.hs-sw-line { flex: none; width: 24px; height: 4px; border: 1.5px solid #4a4a4a; }
.hs-sw-dash { flex: none; width: 27px; height: 7px; position: relative; margin-left: 6px;
  background: repeating-linear-gradient(90deg, #4a4a4a 0 8px, transparent 8px 13px); }
.hs-sw-dash::after { content: ""; position: absolute; left: 0; right: 0; top: 1.5px; height: 4px;
  background: repeating-linear-gradient(90deg, #ffffff 0 8px, transparent 8px 13px); }
.hs-sw-jn { flex: none; border-radius: 50%; background: rgba(213,94,0,0.25);
  border: 2px solid #D55E00; margin-right: -3px; }
.hs-label span, .hs-dlabel span, .hs-clabel span, .hs-mlabel span, .hs-rank span,
.hs-svc span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap; }
.hs-dlabel span { font-size: 13px; font-weight: 700; color: #2b2b2b; letter-spacing: 0.02em;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }
.hs-clabel span { font-size: 11px; color: #6b6b6b; font-style: italic;
  text-shadow: 0 0 2px #fff, 0 0 2px #fff; }
.hs-mlabel span { font-size: 10px; font-weight: 700; color: #fff; background: #4a4a4a;
  border: 1px solid #fff; border-radius: 3px; padding: 0 3px; }
.hs-rank span { font-size: 11px; font-weight: 700; color: #000; background: #fff;
  border: 1.5px solid #000; border-radius: 9px; min-width: 12px; text-align: center;
  padding: 0 3px; }
.hs-svc span { font-size: 9px; font-weight: 700; color: #333; background: #fff;
  border: 1px solid #333; padding: 0 2px; }
.hs-dia div { width: 70.7%; height: 70.7%; margin: 14.6%; transform: rotate(45deg);
  border: 1px solid #fff; box-shadow: 0 0 0 0.5px rgba(0,0,0,0.5); opacity: 0.9; }
.hs-pop { font-size: 12px; }
.hs-pop table { border-collapse: collapse; margin: 4px 0; }
.hs-pop th { text-align: left; font-weight: 600; padding: 1px 8px 1px 0; color: #444; }
.hs-pop td { text-align: right; padding: 1px 0; white-space: nowrap; }
.hs-pop th.hs-ind { padding-left: 10px; font-weight: 400; }
.hs-tight { margin-top: 1px; }
.hs-pop ol { margin: 2px 0 0 18px; padding: 0; }
"""


# --------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------


def _bounds_latlon(geom: BaseGeometry) -> list[list[float]]:
    xmin, ymin, xmax, ymax = geom.bounds
    w, s, e, n = transformer(BNG, WGS84).transform_bounds(xmin, ymin, xmax, ymax)
    return [[s, w], [n, e]]


def build_map(*, base: BaseLayers, view: BaseGeometry, density: DensityImage | None = None,
              hotspots: gpd.GeoDataFrame | None = None, counts: Sequence[CountLayer] = (),
              legend: Legend | None = None, settings: Settings,
              show_services: bool = False, title: str = "Hotspot map", roads: bool = True,
              overlays: Sequence[Element] = ()) -> folium.Map:
    """Build the hotspot map (no network needed once passed through :func:`offline_html`).

    Parameters
    ----------
    base : BaseLayers
        Boundaries and roads, from :func:`load_base_layers`.
    view : shapely geometry
        The study area in BNG; the map opens fitted to it.
    density : DensityImage, optional
        The density surface (see :func:`density_image`).
    hotspots : geopandas.GeoDataFrame, optional
        Hotspot areas (EPSG:27700), see :func:`hotspot_features`.
    counts : sequence of CountLayer
        Aggregated incident layers (e.g. acquisitive circles, SOC-linked diamonds).
    legend : Legend, optional
    settings : Settings
        ``tiles_url``/``tiles_attribution`` add a tile basemap; empty (the default) keeps the
        plain, offline background.
    show_services : bool
        Show the OpenStreetMap service areas layer on opening (it is always in the control).
    title : str
        Page title of the HTML document.
    roads : bool
        Draw the motorways and SRN junctions of the base layers (the corridor map draws its own
        road network instead; the motorway name labels stay).
    overlays : sequence of branca elements
        Further layers, drawn above the hotspot areas and below the count symbols and labels
        (e.g. the corridor map's road network and junctions).

    Returns
    -------
    folium.Map
        Pass it to :func:`offline_html` for the page.
    """
    m = _new_map(settings, title)
    # No street basemap under a tile server: the tiles carry the streets.
    streets = None if settings.tiles_url else street_basemap(
        settings, view, extra_labels=_district_labels(base))
    _add_base(m, base, settings, density=density, roads=roads, show_services=show_services)
    if streets is not None:
        streets.add_to(m)
    if hotspots is not None and len(hotspots):
        _add_hotspots(m, hotspots)
    for overlay in overlays:
        overlay.add_to(m)
    _add_counts(m, counts)
    _add_names(m, base, districts=streets is None)
    if legend is not None:
        LegendControl(legend_html(legend)).add_to(m)
    folium.LayerControl(position="topright", collapsed=True).add_to(m)
    m.fit_bounds(_bounds_latlon(view), padding=(12, 12))
    return m


def _new_map(settings: Settings, title: str) -> folium.Map:
    """An empty map with no CDN files, the page's title and styles, and the tile basemap if one
    is configured."""
    m = folium.Map(location=None, tiles=None, control_scale=True, zoom_snap=0.25,
                   zoom_delta=0.5, prefer_canvas=False)
    m.default_js = []  # instance attributes: the class-level CDN lists stay untouched
    m.default_css = []
    root = m.get_root()
    root.header.add_child(Element(f"<title>{esc(title)}</title>"), name="hs_title")
    root.header.add_child(Element(f"<style>{_CSS}</style>"), name="hs_css")
    if settings.tiles_url:
        if not settings.tiles_attribution.strip():
            raise ParameterError("tiles_url is set but tiles_attribution is empty: give the tile "
                                 "provider's attribution in hotspots.toml")
        folium.TileLayer(tiles=settings.tiles_url, attr=esc(settings.tiles_attribution),
                         name="Basemap", overlay=False, control=False).add_to(m)
    # Street zoom at most: beyond 18 a 100 m cell fills the screen and the scale reads metres.
    MapSetup("Leaflet", zooms=(MIN_ZOOM, MAX_ZOOM)).add_to(m)
    return m


def _add_base(m: folium.Map, base: BaseLayers, settings: Settings, *,
              density: DensityImage | None, roads: bool, show_services: bool) -> None:
    """Neighbours, the force area, the density image, districts, boundary, roads, services."""
    # Leaflet draws every vector layer of a pane in one SVG stacked above that pane's images, so
    # the opaque background fills get a pane of their own below the density image.
    folium.map.CustomPane(_BASE_PANE, z_index=350, pointer_events=True).add_to(m)
    ons = ATTRIBUTION["ons"] + " " + ATTRIBUTION["ons_national"]
    GeoJsonLayer(base.context, name="Neighbouring districts", control=False,
                 style={"color": "#9a9a94", "weight": 0.8, "fill": True,
                        "fillColor": "#e4e4df", "fillOpacity": 1.0},
                 attribution=esc(ons), pane=_BASE_PANE).add_to(m)
    county = GeoJsonLayer(base.county, name="Force area", control=False, interactive=False,
                          style={"color": "#1a1a1a", "weight": 0, "fill": True,
                                 "fillColor": "#fbfbf8",
                                 "fillOpacity": 0.0 if settings.tiles_url else 1.0},
                          pane=_BASE_PANE)
    county.add_to(m)
    if density is not None:
        folium.map.CustomPane(_DENSITY_PANE, z_index=380, pointer_events=False).add_to(m)
        folium.raster_layers.ImageOverlay(
            image=density.url, bounds=[list(density.bounds[0]), list(density.bounds[1])],
            name="Density surface", pixelated=False, interactive=False,
            attribution=esc(ATTRIBUTION["police_uk"]), className="hs-density",
            pane=_DENSITY_PANE).add_to(m)
    GeoJsonLayer(base.districts, name="Districts", interactive=False,
                 style={"color": "#3c3c3c", "weight": 1.2, "dashArray": "5 4", "fill": False}
                 ).add_to(m)
    GeoJsonLayer(county, name="Force boundary", control=False, interactive=False,
                 style={"color": "#1a1a1a", "weight": 2.5, "fill": False}).add_to(m)
    if roads:
        GeoJsonLayer(base.motorways, name="Motorways",
                     style={"color": "#4a4a4a", "weight": 3.5, "opacity": 0.9,
                            "className": "hs-mway"},
                     attribution=esc(ATTRIBUTION["hapms"])).add_to(m)
        GeoJsonLayer(base.junctions, name="SRN junctions",
                     point_style={"radius": 4, "color": "#262626", "weight": 1.5,
                                  "fillColor": "#ffffff", "fillOpacity": 1.0},
                     attribution=esc(ATTRIBUTION["national_highways"])).add_to(m)
    GeoJsonLayer(base.services, name="Service areas (OpenStreetMap)", point="label",
                 label_class="hs-svc", show=show_services,
                 attribution=esc(ATTRIBUTION["osm"])).add_to(m)


def _add_hotspots(m: folium.Map, hotspots: gpd.GeoDataFrame) -> None:
    """Hotspot outlines on a white halo, with their rank labels, as one toggleable group."""
    feats = hotspot_features(hotspots)
    polys = collection(f for f in feats["features"] if f["geometry"]["type"] != "Point")
    ranks = collection(f for f in feats["features"] if f["geometry"]["type"] == "Point")
    group = folium.FeatureGroup(name="Hotspot areas", overlay=True, control=True, show=True)
    halo = GeoJsonLayer(polys, name="Hotspot areas (halo)", control=False,
                        interactive=False, style={"color": "#ffffff", "weight": 5,
                                                  "opacity": 0.9, "fill": False})
    halo.add_to(group)
    GeoJsonLayer(halo, name="Hotspot areas (outline)", control=False,
                 style={"color": HOTSPOT_COLOUR, "weight": 2.2, "fill": True,
                        "fillColor": "#ffffff", "fillOpacity": 0.04,
                        "className": "hs-hotspot"},
                 attribution=esc(ATTRIBUTION["police_uk"]
                                 + ("; place names " + ATTRIBUTION["osm"]
                                    if "name" in hotspots.columns else ""))).add_to(group)
    GeoJsonLayer(ranks, name="Hotspot ranks", point="label", label_class="hs-rank",
                 control=False, interactive=False).add_to(group)
    group.add_to(m)


def _add_counts(m: folium.Map, counts: Sequence[CountLayer]) -> None:
    """The count symbols in their own pane, all layers on one size scale."""
    if any(layer.points for layer in counts):
        # Above the hotspot outlines, below the labels (markers, 600).
        folium.map.CustomPane(COUNT_PANE, z_index=450, pointer_events=True).add_to(m)
    largest = max((layer.max_count for layer in counts), default=0)
    for layer in counts:  # one size scale for all layers: equal counts, equal symbols
        if layer.points:
            CountSymbols(layer, max_count=largest).add_to(m)


def _district_labels(base: BaseLayers) -> list[list]:
    """District names as street basemap labels: placed first, below zoom 12, never over a
    hotspot's rank (their text is escaped already)."""
    return [[f["properties"]["label"], *f["geometry"]["coordinates"][:2], 0.0, -300.0,
             "district", 0] for f in base.district_labels["features"]]


def _add_names(m: folium.Map, base: BaseLayers, *, districts: bool = True) -> None:
    """District, neighbour and motorway names, above everything else (the district names go
    with the street basemap's names when there is one)."""
    GeoJsonLayer(base.context_labels, name="Neighbouring district names", point="label",
                 label_class="hs-clabel", control=False, interactive=False).add_to(m)
    if districts:
        GeoJsonLayer(base.district_labels, name="District names", point="label",
                     label_class="hs-dlabel", interactive=False).add_to(m)
    GeoJsonLayer(base.motorway_labels, name="Motorway names", point="label",
                 label_class="hs-mlabel", control=False, interactive=False).add_to(m)
