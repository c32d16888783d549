"""The shipped boundaries and roads, read once and simplified, as the maps' context layers:
the selected forces' outline and districts, the districts around them, the SRN around them
(motorways, junctions and services from the national National Highways layers)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from hotspots.config import Settings
from hotspots.errors import InputError
from hotspots.geojson import collection, feature, wgs84_geoms
from hotspots.leaflet import esc
from hotspots.spatial.boundaries import area_geometry, context_districts, forces_districts
from hotspots.spatial.crs import BNG
from hotspots.spatial.srn_national import read_national, srn_layers

__all__ = ["BaseLayers", "load_base_layers", "names_of", "srn_context"]


def names_of(value: Any) -> list[str]:
    """Read a list of names stored as a list, an array, ``"a; b"`` or ``"['a' 'b']"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value if str(v)]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        quoted = re.findall(r"'([^']*)'|\"([^\"]*)\"", text)
        if quoted:
            return [a or b for a, b in quoted if a or b]
        text = text[1:-1]
    return [p.strip() for p in re.split(r"[;,]", text) if p.strip()]


@dataclass(frozen=True)
class BaseLayers:
    """The shipped context layers as WGS84 GeoJSON dicts (label strings already escaped)."""

    county: dict
    districts: dict
    district_labels: dict
    context: dict
    context_labels: dict
    motorways: dict
    motorway_labels: dict
    junctions: dict
    services: dict


def _road_file(settings: Settings, name: str) -> gpd.GeoDataFrame:
    path = Path(settings.data_dir) / "roads" / name
    if not path.is_file():
        raise InputError(f"{path}: road layer not found (is the data/ folder complete?)")
    return gpd.read_parquet(path)


_BASE_CACHE: dict[str, BaseLayers] = {}

#: The SRN is drawn this far around the selected forces' area (as the neighbouring districts).
ROADS_AROUND_M = 25_000.0


def srn_context(settings: Settings, extent: shapely.Geometry
                 ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The motorways (``ref``, merged lines), junctions and services drawn around the
    selected forces: the national HAPMS sections' motorways, the HATRIS junctions and the
    services HAPMS names (with the shipped OpenStreetMap ones where it names none), or the
    shipped extent's own layers when the data folder has no national layers."""
    layers = read_national(settings)
    if layers is None:
        mways = _road_file(settings, "motorways.parquet")
        rows = [(str(ref), shapely.line_merge(shapely.union_all(part.geometry.to_numpy())))
                for ref, part in mways.groupby("ref", sort=True)]
        roads = gpd.GeoDataFrame({"ref": [r for r, _ in rows]},
                                 geometry=[g for _, g in rows], crs=mways.crs).to_crs(BNG)
        svc = _road_file(settings, "osm_services.parquet")
        if "name_is_placeholder" in svc.columns:
            svc = svc[~svc["name_is_placeholder"].astype(bool)]
        return roads, _road_file(settings, "srn_junctions.parquet").to_crs(BNG), svc.to_crs(BNG)
    osm = Path(settings.data_dir) / "roads" / "osm_services.parquet"
    out = srn_layers(layers["sections"], layers["links"], extent,
                     osm_services=gpd.read_parquet(osm).to_crs(BNG) if osm.is_file() else None)
    roads = out["roads"]
    return roads[roads["road_class"] == "motorway"].reset_index(drop=True), \
        out["junctions"], out["services"]


def load_base_layers(settings: Settings, forces: Sequence[str] | None = None) -> BaseLayers:
    """Read and simplify the shipped boundaries and roads for the map (cached per data folder
    and forces).

    Parameters
    ----------
    settings : Settings
    forces : sequence of str, optional
        The selected forces (slugs): their outline is the force area, their districts are
        drawn, the districts around them are context. Default ``settings.force``.

    Returns
    -------
    BaseLayers
    """
    chosen = tuple(forces) if forces else (settings.force,)
    key = f"{Path(settings.data_dir).resolve()}|{','.join(chosen)}"
    if key not in _BASE_CACHE:
        _BASE_CACHE[key] = _read_base_layers(settings, chosen)
    return _BASE_CACHE[key]


def _read_base_layers(settings: Settings, forces: tuple[str, ...]) -> BaseLayers:
    outline = area_geometry(None, settings, forces=list(forces))
    county = gpd.GeoDataFrame({"name": [", ".join(forces)]}, geometry=[outline], crs=BNG)
    districts = forces_districts(list(forces), settings)
    # Neighbours are orientation only: keep 25 km around the forces' area, coarsely.
    near = outline.buffer(25_000)
    context = context_districts(list(forces), settings, within_m=25_000).to_crs(BNG)
    context["geometry"] = context.geometry.intersection(near)

    def polygons(gdf: gpd.GeoDataFrame, tolerance: float, label: str | None,
                 ndigits: int = 5) -> dict:
        geoms = wgs84_geoms(gdf.geometry, tolerance, min_hole_m2=100_000.0)
        return collection(
            feature(g, {"tooltip": esc(n)} if label else {}, ndigits)
            for g, n in zip(geoms, gdf[label] if label else [None] * len(gdf), strict=True))

    def labels(gdf: gpd.GeoDataFrame, column: str) -> dict:
        pts = gpd.GeoSeries(gdf.geometry.representative_point(), crs=gdf.crs)
        return collection(feature(p, {"label": esc(n)}) for p, n in
                          zip(wgs84_geoms(pts), gdf[column], strict=True))

    roads, junc, svc = srn_context(settings, outline.buffer(ROADS_AROUND_M))
    merged, mlabels = [], []
    for ref, line in zip(roads["ref"], roads.geometry, strict=True):
        merged.append((str(ref), line))
        pieces = sorted(getattr(line, "geoms", [line]), key=lambda g: -g.length)
        for piece in pieces[:2]:
            if piece.length >= 6000 or piece is pieces[0]:
                mlabels.append((str(ref), piece.interpolate(0.5, normalized=True)))
    mgeo = wgs84_geoms(gpd.GeoSeries([g for _, g in merged], crs=BNG), 15.0)
    mlab = wgs84_geoms(gpd.GeoSeries([p for _, p in mlabels], crs=BNG))
    jgeo = wgs84_geoms(junc.geometry)
    jnames = junc["junction_names"] if "junction_names" in junc.columns else junc["name"]
    sgeo = wgs84_geoms(svc.geometry)

    return BaseLayers(
        county=polygons(county, 20.0, None),
        districts=polygons(districts, 20.0, "name"),
        district_labels=labels(districts, "name"),
        context=polygons(context, 120.0, "name", ndigits=4),
        context_labels=labels(context, "name"),
        motorways=collection(feature(g, {"tooltip": esc(r)})
                             for (r, _), g in zip(merged, mgeo, strict=True)),
        motorway_labels=collection(feature(p, {"label": esc(r)})
                                   for (r, _), p in zip(mlabels, mlab, strict=True)),
        junctions=collection(
            feature(g, {"tooltip": esc(" / ".join(names_of(n)) or "SRN junction")})
            for g, n in zip(jgeo, jnames, strict=True)),
        services=collection(
            feature(g, {"tooltip": esc(n), "label": "S"})
            for g, n in zip(sgeo, svc["name"], strict=True)),
    )
