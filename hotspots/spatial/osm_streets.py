"""The street basemap's layers from a user's OpenStreetMap extract (``.osm`` or ``.osm.pbf``).

Read with pyosmium (the ``osm`` extra). Roads are mapped onto the shipped layers' classes
(:data:`HIGHWAY_CLASSES`); places are nodes with a ``place`` tag; rail, rivers and canals,
land use and water are ways (areas from closed ways; multipolygon relations are not read).
Wards are not in OpenStreetMap in this form: the ward layer stays empty.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import LineString, Point, Polygon

from hotspots.errors import InputError
from hotspots.spatial.crs import BNG, WGS84

__all__ = ["HIGHWAY_CLASSES", "read_osm_streets"]

#: OSM ``highway`` values onto the basemap's road classes.
HIGHWAY_CLASSES: dict[str, str] = {
    "motorway": "motorway", "motorway_link": "motorway", "trunk": "trunk",
    "trunk_link": "trunk", "primary": "primary", "primary_link": "primary",
    "secondary": "secondary", "secondary_link": "secondary", "tertiary": "tertiary",
    "tertiary_link": "tertiary", "residential": "minor", "unclassified": "minor",
    "living_street": "minor", "road": "minor", "pedestrian": "pedestrian",
}

_LAND = {("landuse", "residential"): "residential", ("landuse", "retail"): "retail",
         ("landuse", "commercial"): "commercial", ("landuse", "industrial"): "industrial",
         ("landuse", "cemetery"): "cemetery", ("landuse", "railway"): "railway",
         ("amenity", "school"): "school", ("amenity", "college"): "college",
         ("amenity", "university"): "university", ("amenity", "hospital"): "hospital",
         ("leisure", "park"): "park", ("leisure", "pitch"): "pitch",
         ("natural", "water"): "water", ("landuse", "reservoir"): "water"}


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({"name": []}, geometry=gpd.GeoSeries([], crs=WGS84),
                                crs=WGS84).to_crs(BNG)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84).to_crs(BNG)


def read_osm_streets(path: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """Read the basemap's raw layers from an OpenStreetMap extract.

    Parameters
    ----------
    path : path-like
        ``.osm`` (XML) or ``.osm.pbf``.

    Returns
    -------
    dict
        ``roads`` (``name``, ``ref``, ``class``), ``places`` (``name``, ``class``),
        ``railways``, ``water`` (rivers, canals), ``landuse`` (``class``), in EPSG:27700;
        pass them through :func:`hotspots.streets.road_layer` and the other layer builders.

    Raises
    ------
    InputError
        If the file is missing, not an OSM extract, or holds no named road or place.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: OpenStreetMap extract not found")
    try:
        import osmium
    except ImportError:
        raise InputError("reading an OpenStreetMap extract needs pyosmium: "
                         "pip install 'hotspots[osm]'") from None
    roads, places, rails, water, land = [], [], [], [], []
    try:
        processor = osmium.FileProcessor(str(path)).with_locations().with_filter(
            osmium.filter.KeyFilter("highway", "place", "railway", "waterway", "landuse",
                                    "natural", "leisure", "amenity"))
        for obj in processor:
            tags = {t.k: t.v for t in obj.tags}
            if obj.is_node():
                if tags.get("place") and tags.get("name"):
                    places.append({"name": tags["name"], "class": tags["place"],
                                   "geometry": Point(obj.location.lon, obj.location.lat)})
                continue
            if not obj.is_way():
                continue
            coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
            if len(coords) < 2:
                continue
            cls = HIGHWAY_CLASSES.get(tags.get("highway", ""))
            if cls:
                roads.append({"name": tags.get("name", ""), "ref": tags.get("ref", ""),
                              "class": cls, "geometry": LineString(coords)})
            elif tags.get("railway") == "rail":
                rails.append({"class": "rail", "geometry": LineString(coords)})
            elif tags.get("waterway") in ("river", "canal"):
                water.append({"name": tags.get("name", ""), "class": tags["waterway"],
                              "geometry": LineString(coords)})
            closed = len(coords) >= 4 and coords[0] == coords[-1]
            for key in ("landuse", "amenity", "leisure", "natural"):
                kind = _LAND.get((key, tags.get(key, "")))
                if kind and closed:
                    land.append({"class": kind, "geometry": Polygon(coords)})
                    break
    except RuntimeError as exc:
        raise InputError(f"{path}: not a readable OpenStreetMap extract ({exc})") from None
    if not any(r["name"] or r["ref"] for r in roads) and not places:
        raise InputError(f"{path}: no named road or place in this extract")
    return {"roads": _frame(roads), "places": _frame(places), "railways": _frame(rails),
            "water": _frame(water), "landuse": _frame(land)}
