"""The street basemap cut into chunks per level of detail, for the map page to fetch.

A chunk is one JSON file holding, for one cell of a lon/lat grid, the roads by class, railways,
water, ward lines, land use and the label candidates of that cell, coordinates as
delta-encoded integers of 1e-5 degree (about a metre). Each level of detail (:data:`LEVELS`)
has its own cell size, road classes and simplification; the page fetches the few chunks of the
current view and level (see :mod:`hotspots.street_map`). The overview (the main roads of the
whole view, and every place name) is embedded in the page itself (:func:`overview`).

Chunks are written once into ``<data_dir>/cache/basemap/<stamp>/`` (:func:`tile_set`) and reused
while the layers do not change.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.leaflet import esc
from hotspots.spatial.crs import BNG, WGS84
from hotspots.street_labels import place_labels, road_labels
from hotspots.streets import ROAD_CLASSES, StreetLayers, streets_dir

__all__ = ["LEVELS", "Level", "TileSet", "chunk", "encode_line", "overview", "tile_set"]

_SCALE = 100_000  # 1e-5 degree


@dataclass(frozen=True)
class Level:
    """One level of detail: the zooms it serves, its cell (degrees), what it holds."""

    name: str
    min_zoom: int
    max_zoom: int
    cell_lon: float
    cell_lat: float
    classes: tuple[str, ...]
    tolerance_m: float
    landuse: bool
    label_spacing_m: float


#: The fetched levels, coarse to fine (the overview below ``LEVELS[0].min_zoom`` is embedded).
LEVELS: tuple[Level, ...] = (
    Level("main", 11, 12, 0.24, 0.15, ROAD_CLASSES[:5], 12.0, False, 4000.0),
    Level("roads", 13, 14, 0.08, 0.05, ROAD_CLASSES, 4.0, True, 1500.0),
    Level("streets", 15, 22, 0.03, 0.02, ROAD_CLASSES, 0.0, True, 450.0),
)

#: The embedded overview: main roads only, coarsely.
OVERVIEW_CLASSES: tuple[str, ...] = ROAD_CLASSES[:4]


def encode_line(coords: np.ndarray) -> list[int]:
    """Lon/lat coordinates as ``[x0, y0, dx1, dy1, ...]`` integers of 1e-5 degree."""
    q = np.round(np.asarray(coords, dtype=float)[:, :2] * _SCALE).astype(np.int64)
    if len(q) > 1:
        q[1:] = np.diff(q, axis=0)
    return q.ravel().tolist()


def _lines(geoms: Iterable[BaseGeometry]) -> list[list[int]]:
    out = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        parts = getattr(g, "geoms", [g])
        for p in parts:
            if p.geom_type == "LineString" and len(p.coords) >= 2:
                out.append(encode_line(np.asarray(p.coords)))
            elif p.geom_type in ("GeometryCollection", "MultiLineString"):
                out.extend(_lines([p]))
    return out


def _polys(geoms: Iterable[BaseGeometry]) -> list[list[list[int]]]:
    out = []
    for g in geoms:
        for p in getattr(g, "geoms", [g]):
            if p.geom_type == "Polygon" and not p.is_empty:
                out.append([encode_line(np.asarray(r.coords))
                            for r in (p.exterior, *p.interiors)])
    return out


@dataclass(frozen=True)
class _Prepared:
    """One level's layers in WGS84, with spatial indexes, ready to cut."""

    roads: gpd.GeoDataFrame
    rails: gpd.GeoSeries
    water: gpd.GeoSeries
    wards: gpd.GeoSeries
    landuse: gpd.GeoDataFrame
    labels: pd.DataFrame


def _simplify(frame: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    if tolerance <= 0 or frame.empty:
        return frame
    out = frame.copy()
    out["geometry"] = out.geometry.simplify(tolerance, preserve_topology=True)
    return out


def _prepare(layers: StreetLayers, level: Level) -> _Prepared:
    roads = _simplify(layers.roads[layers.roads["class"].isin(level.classes)], level.tolerance_m)
    labels = road_labels(roads, spacing_m=level.label_spacing_m)
    wards = layers.wards
    ward_lines = (gpd.GeoSeries([shapely.union_all(wards.geometry.boundary.to_numpy())], crs=BNG)
                  if len(wards) else gpd.GeoSeries([], crs=BNG))
    if len(wards):
        pts = wards.geometry.representative_point()
        labels = pd.concat([labels, pd.DataFrame({
            "text": wards["name"].to_numpy(), "x": pts.x.to_numpy(), "y": pts.y.to_numpy(),
            "angle": 0.0, "priority": 500.0, "kind": "ward", "min_zoom": 13})],
            ignore_index=True)
    landuse = (_simplify(layers.landuse, max(level.tolerance_m, 2.0)) if level.landuse
               else layers.landuse.iloc[:0])
    xy = gpd.GeoSeries(gpd.points_from_xy(labels["x"], labels["y"]), crs=BNG).to_crs(WGS84)
    labels = labels.assign(x=xy.x.round(5).to_numpy(), y=xy.y.round(5).to_numpy())
    labels["text"] = [esc(t) for t in labels["text"]]
    tol = max(level.tolerance_m, 3.0)
    return _Prepared(
        roads=roads.to_crs(WGS84),
        rails=layers.railways.geometry.simplify(tol).to_crs(WGS84),
        water=layers.water.geometry.simplify(tol).to_crs(WGS84),
        wards=ward_lines.simplify(10.0).to_crs(WGS84),
        landuse=landuse.to_crs(WGS84),
        labels=labels)


def _clip(series: gpd.GeoSeries, box: tuple[float, float, float, float]) -> list[BaseGeometry]:
    idx = series.sindex.query(shapely.box(*box))
    if len(idx) == 0:
        return []
    return [g for g in shapely.clip_by_rect(series.iloc[np.sort(idx)].to_numpy(), *box)
            if not g.is_empty]


def chunk(prep: _Prepared, box: tuple[float, float, float, float]) -> dict | None:
    """The chunk of one cell ``(west, south, east, north)``, or ``None`` when it is empty."""
    roads = prep.roads
    idx = roads.sindex.query(shapely.box(*box))
    lines: dict[str, list] = {}
    if len(idx):
        part = roads.iloc[np.sort(idx)]
        clipped = shapely.clip_by_rect(part.geometry.to_numpy(), *box)
        for cls in ROAD_CLASSES:
            mine = clipped[(part["class"] == cls).to_numpy()]
            if len(mine):
                enc = _lines(mine)
                if enc:
                    lines[cls] = enc
    if not lines:
        return None
    for key, series in (("rail", prep.rails), ("water", prep.water), ("ward", prep.wards)):
        enc = _lines(_clip(series, box))
        if enc:
            lines[key] = enc
    polys: dict[str, list] = {}
    if len(prep.landuse):
        lu = prep.landuse
        idx = lu.sindex.query(shapely.box(*box))
        if len(idx):
            part = lu.iloc[np.sort(idx)]
            clipped = shapely.clip_by_rect(part.geometry.to_numpy(), *box)
            for cls, g in zip(part["class"], clipped, strict=True):
                enc = _polys([g])
                if enc:
                    polys.setdefault(cls, []).extend(enc)
    lab = prep.labels
    inside = ((lab["x"] >= box[0]) & (lab["x"] < box[2]) & (lab["y"] >= box[1])
              & (lab["y"] < box[3]))
    labels = [[t, x, y, a, p, k, int(z)] for t, x, y, a, p, k, z in
              lab.loc[inside, ["text", "x", "y", "angle", "priority", "kind", "min_zoom"]]
              .itertuples(index=False, name=None)]
    return {"lines": lines, "polys": polys, "labels": labels}


@dataclass(frozen=True)
class TileSet:
    """Chunks written to ``path``: the cells each level has (``"i_j"``, file
    ``<level>/<i>_<j>.json``), and the stamp of the layers they were cut from."""

    path: Path
    cells: dict[str, list[str]]
    stamp: str


def _layers_stamp(settings: Settings) -> str:
    h = hashlib.sha256(b"basemap-chunks-1")
    for p in sorted(streets_dir(settings).glob("*.parquet")):
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    for level in LEVELS:
        h.update(repr(level).encode())
    return h.hexdigest()[:16]


def _bounds(layers: StreetLayers) -> tuple[float, float, float, float]:
    return tuple(gpd.GeoSeries([shapely.box(*layers.roads.total_bounds)], crs=BNG)
                 .to_crs(WGS84).total_bounds)


def tile_set(layers: StreetLayers, settings: Settings) -> TileSet:
    """The chunks of the street basemap of ``settings``, written on first use.

    Parameters
    ----------
    layers : StreetLayers
        From :func:`hotspots.streets.read_street_layers`.
    settings : Settings
        The chunks go to ``<data_dir>/cache/basemap/<stamp>/``.

    Returns
    -------
    TileSet
    """
    stamp = _layers_stamp(settings)
    root = Path(settings.data_dir) / "cache" / "basemap" / stamp
    index = root / "index.json"
    if index.is_file():
        return TileSet(root, json.loads(index.read_text("utf-8"))["cells"], stamp)
    west, south, east, north = _bounds(layers)
    cells: dict[str, list[str]] = {}
    tmp = root.with_name(root.name + ".part")
    for level in LEVELS:
        prep = _prepare(layers, level)
        (tmp / level.name).mkdir(parents=True, exist_ok=True)
        have = []
        for i in range(math.floor(west / level.cell_lon), math.floor(east / level.cell_lon) + 1):
            for j in range(math.floor(south / level.cell_lat),
                           math.floor(north / level.cell_lat) + 1):
                box = (i * level.cell_lon, j * level.cell_lat, (i + 1) * level.cell_lon,
                       (j + 1) * level.cell_lat)
                data = chunk(prep, box)
                if data is None:
                    continue
                (tmp / level.name / f"{i}_{j}.json").write_text(
                    json.dumps(data, separators=(",", ":")), "utf-8")
                have.append(f"{i}_{j}")
        cells[level.name] = have
    (tmp / "index.json").write_text(json.dumps({"cells": cells}), "utf-8")
    if not root.exists():
        tmp.rename(root)
    return TileSet(root, cells, stamp)


def overview(layers: StreetLayers, view: tuple[float, float, float, float] | None = None,
             classes: Sequence[str] = OVERVIEW_CLASSES, tolerance_m: float = 30.0) -> dict:
    """The page's embedded part: main roads (coarse) and every place label within ``view``.

    Parameters
    ----------
    layers : StreetLayers
    view : tuple, optional
        ``(xmin, ymin, xmax, ymax)`` in BNG metres; default the whole basemap.
    classes, tolerance_m
        Road classes drawn and their simplification.

    Returns
    -------
    dict
        ``lines`` by class and ``labels``, encoded as in a chunk.
    """
    roads = layers.roads[layers.roads["class"].isin(classes)]
    places = layers.places
    if view is not None:
        roads = roads.iloc[roads.sindex.query(shapely.box(*view))] if len(roads) else roads
        places = places.cx[view[0]:view[2], view[1]:view[3]]
    roads = _simplify(roads, tolerance_m).to_crs(WGS84)
    lines = {cls: enc for cls in classes
             if (enc := _lines(roads.geometry[roads["class"] == cls]))}
    lab = place_labels(places)
    xy = gpd.GeoSeries(gpd.points_from_xy(lab["x"], lab["y"]), crs=BNG).to_crs(WGS84)
    labels = [[esc(t), round(p.x, 5), round(p.y, 5), 0.0, pr, k, int(z)]
              for t, p, pr, k, z in zip(lab["text"], xy, lab["priority"], lab["kind"],
                                        lab["min_zoom"], strict=True)]
    return {"lines": lines, "polys": {}, "labels": labels}
