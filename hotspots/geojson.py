"""GeoJSON for Leaflet: features with rounded coordinates, collections, BNG shapes to WGS84."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from hotspots.errors import InputError
from hotspots.spatial.crs import BNG, WGS84

__all__ = ["collection", "feature", "round_coords", "wgs84_geoms"]


def round_coords(obj: Any, ndigits: int) -> Any:
    """Round every coordinate of a GeoJSON ``coordinates`` array (nested lists) to ``ndigits``."""
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), ndigits) for v in obj]
        return [round_coords(o, ndigits) for o in obj]
    return obj


def feature(geom: BaseGeometry, props: Mapping[str, Any], ndigits: int = 5) -> dict:
    """Return a GeoJSON Feature of a WGS84 geometry, coordinates rounded to ``ndigits``
    (5 decimals of a degree: about a metre)."""
    g = mapping(geom)
    return {"type": "Feature", "properties": dict(props),
            "geometry": {"type": g["type"], "coordinates": round_coords(g["coordinates"],
                                                                        ndigits)}}


def collection(features: Iterable[dict]) -> dict:
    """Return a GeoJSON FeatureCollection of ``features``."""
    return {"type": "FeatureCollection", "features": list(features)}


def _drop_holes(geom: BaseGeometry, min_area: float) -> BaseGeometry:
    """Remove interior rings smaller than ``min_area`` (slivers left by dissolving LSOAs)."""
    if geom.geom_type == "Polygon":
        return Polygon(geom.exterior, [r for r in geom.interiors
                                       if Polygon(r).area >= min_area])
    if geom.geom_type == "MultiPolygon":
        return MultiPolygon([_drop_holes(p, min_area) for p in geom.geoms])
    return geom


def wgs84_geoms(geoms: gpd.GeoSeries, simplify_m: float = 0.0, min_hole_m2: float = 0.0
           ) -> gpd.GeoSeries:
    """Re-project shapes to WGS84 for Leaflet, first dropping holes under ``min_hole_m2`` and
    simplifying by ``simplify_m`` metres on the British National Grid."""
    if geoms.crs is None:
        raise InputError("layer has no coordinate reference system")
    s = geoms.to_crs(BNG)
    if min_hole_m2 > 0:
        s = s.apply(lambda g: _drop_holes(g, min_hole_m2))
        s = gpd.GeoSeries(s, crs=BNG)
    if simplify_m > 0:
        s = s.simplify(simplify_m, preserve_topology=True)
    return s.to_crs(WGS84)
