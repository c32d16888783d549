"""The street basemap's layers: roads by class with names, places, wards, railways, water, land
use; built from frames, written to and read from ``<data_dir>/streets/`` as GeoParquet.

The shipped layers come from ``scripts/build_streets.py``; ``hotspots basemap build`` writes the
same files from a user's OpenStreetMap extract (:mod:`hotspots.spatial.osm_streets`). Everything
here is in British National Grid metres; nothing imports folium or matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import InputError
from hotspots.spatial.crs import BNG

__all__ = [
    "LAND_CLASSES",
    "LAYERS",
    "PLACE_CLASSES",
    "ROAD_CLASSES",
    "StreetLayers",
    "build_from_osm",
    "coverage",
    "landuse_layer",
    "place_layer",
    "read_street_layers",
    "road_layer",
    "streets_dir",
    "write_street_layers",
]

#: Road classes drawn, most important first (service roads, tracks and paths are left out:
#: they crowd a patrol map without naming anything a sergeant would send a car to).
ROAD_CLASSES: tuple[str, ...] = ("motorway", "trunk", "primary", "secondary", "tertiary",
                                 "minor", "pedestrian")

#: Place classes kept, most important first.
PLACE_CLASSES: tuple[str, ...] = ("city", "town", "suburb", "village", "hamlet",
                                  "neighbourhood", "locality")

#: Land use classes kept (drawn at town zoom) and water.
LAND_CLASSES: tuple[str, ...] = ("residential", "retail", "commercial", "industrial", "school",
                                 "college", "university", "hospital", "cemetery", "pitch",
                                 "park", "railway", "water")

#: The files of a street basemap folder.
LAYERS: tuple[str, ...] = ("roads", "places", "railways", "water", "landuse", "wards")

_COLUMNS: dict[str, tuple[str, ...]] = {
    "roads": ("name", "ref", "class"),
    "places": ("name", "class"),
    "railways": ("class",),
    "water": ("name", "class"),
    "landuse": ("class",),
    "wards": ("name", "district"),
}


@dataclass(frozen=True)
class StreetLayers:
    """The basemap's layers as GeoDataFrames in EPSG:27700 (see :data:`LAYERS`)."""

    roads: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    railways: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    landuse: gpd.GeoDataFrame
    wards: gpd.GeoDataFrame

    def items(self) -> list[tuple[str, gpd.GeoDataFrame]]:
        """``(name, frame)`` for each layer, in :data:`LAYERS` order."""
        return [(name, getattr(self, name)) for name in LAYERS]


def _empty(name: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in _COLUMNS[name]},
                            geometry=gpd.GeoSeries([], crs=BNG), crs=BNG)


def _text(series: pd.Series) -> pd.Series:
    """Names as text, missing as empty strings."""
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def road_layer(roads: gpd.GeoDataFrame, tolerance_m: float = 2.0) -> gpd.GeoDataFrame:
    """Keep the drawn road classes, join pieces of one named road, simplify, keep the names.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        Lines with ``class`` (OpenMapTiles classes: ``motorway`` ... ``minor``, ``service``,
        ``track``, ``path``), and optional ``name`` and ``ref``.
    tolerance_m : float
        Douglas-Peucker tolerance in metres (2 m is under one pixel at zoom 16).

    Returns
    -------
    geopandas.GeoDataFrame
        ``name``, ``ref``, ``class``, line geometry in EPSG:27700; pieces with the same name,
        ref and class that touch are one line.
    """
    if roads.crs is None:
        raise InputError("road layer has no coordinate reference system")
    frame = roads.to_crs(BNG)
    frame = frame[frame["class"].isin(ROAD_CLASSES) & frame.geometry.notna()
                  & ~frame.geometry.is_empty]
    if frame.empty:
        return _empty("roads")
    name = _text(frame["name"]) if "name" in frame else pd.Series("", index=frame.index)
    ref = _text(frame["ref"]) if "ref" in frame else pd.Series("", index=frame.index)
    keyed = pd.DataFrame({"name": name, "ref": ref, "class": frame["class"].astype(str),
                          "geometry": frame.geometry.to_numpy()})
    rows = []
    for (n, r, c), part in keyed.groupby(["name", "ref", "class"], sort=True):
        merged = shapely.line_merge(shapely.union_all(part["geometry"].to_numpy()))
        for line in getattr(merged, "geoms", [merged]):
            if line.geom_type == "LineString" and line.length > 0:
                rows.append((n, r, c, line))
    out = gpd.GeoDataFrame(rows, columns=["name", "ref", "class", "geometry"],
                           geometry="geometry", crs=BNG)
    out["geometry"] = out.geometry.simplify(tolerance_m, preserve_topology=False)
    rank = {c: i for i, c in enumerate(ROAD_CLASSES)}
    out = out.iloc[sorted(range(len(out)), key=lambda i: (rank[out["class"].iat[i]],
                                                          -out.geometry.iat[i].length))]
    return out.reset_index(drop=True)


def place_layer(places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Named places of the kept classes (:data:`PLACE_CLASSES`), as points in EPSG:27700."""
    frame = places.to_crs(BNG)
    frame = frame[frame["class"].isin(PLACE_CLASSES) & (_text(frame["name"]) != "")]
    pts = frame.geometry.representative_point()
    return gpd.GeoDataFrame({"name": _text(frame["name"]).to_numpy(),
                             "class": frame["class"].astype(str).to_numpy()},
                            geometry=gpd.GeoSeries(pts.to_numpy(), crs=BNG), crs=BNG)


def landuse_layer(polygons: gpd.GeoDataFrame, tolerance_m: float = 3.0,
                  min_area_m2: float = 400.0) -> gpd.GeoDataFrame:
    """Land use polygons of the kept classes, simplified, small pieces dropped."""
    frame = polygons.to_crs(BNG)
    frame = frame[frame["class"].isin(LAND_CLASSES)]
    geom = frame.geometry.simplify(tolerance_m, preserve_topology=True)
    keep = geom.notna() & ~geom.is_empty & (geom.area >= min_area_m2)
    return gpd.GeoDataFrame({"class": frame["class"].astype(str)[keep].to_numpy()},
                            geometry=gpd.GeoSeries(geom[keep].to_numpy(), crs=BNG), crs=BNG)


def _conform(name: str, frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    if frame is None or len(frame) == 0:
        return _empty(name)
    frame = frame.to_crs(BNG)
    cols = {c: (_text(frame[c]) if c in frame else pd.Series("", index=frame.index))
            for c in _COLUMNS[name]}
    return gpd.GeoDataFrame({c: v.to_numpy() for c, v in cols.items()},
                            geometry=gpd.GeoSeries(frame.geometry.to_numpy(), crs=BNG), crs=BNG)


def streets_dir(settings: Settings) -> Path:
    """The street basemap folder: ``<data_dir>/streets``."""
    return Path(settings.data_dir) / "streets"


def write_street_layers(layers: Mapping[str, gpd.GeoDataFrame], out: Path) -> list[Path]:
    """Write the layers as ``<out>/<layer>.parquet`` (GeoParquet, zstd), coordinates to 0.1 m.

    Parameters
    ----------
    layers : mapping
        Layer name (:data:`LAYERS`) to frame; a missing layer is written empty.
    out : pathlib.Path

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in LAYERS:
        frame = _conform(name, layers.get(name))
        # A decimetre grid: no visible change, and zstd packs the rounded doubles much better.
        frame = frame.set_geometry(shapely.set_precision(frame.geometry.to_numpy(), 0.1))
        frame = frame[~frame.geometry.is_empty]
        path = out / f"{name}.parquet"
        frame.to_parquet(path, compression="zstd", index=False)
        written.append(path)
    return written


_CACHE: dict[tuple, StreetLayers | None] = {}


def _stamp(folder: Path) -> tuple:
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                 for p in sorted(folder.glob("*.parquet")))


def read_street_layers(settings: Settings) -> StreetLayers | None:
    """Read the street basemap of ``settings`` (cached), or ``None`` when there is none.

    Raises
    ------
    InputError
        If the folder exists but a layer file is missing or unreadable.
    """
    folder = streets_dir(settings)
    if not (folder / "roads.parquet").is_file():
        return None
    key = (str(folder.resolve()), _stamp(folder))
    if key not in _CACHE:
        frames = {}
        for name in LAYERS:
            path = folder / f"{name}.parquet"
            try:
                frames[name] = _conform(name, gpd.read_parquet(path))
            except (OSError, ValueError) as exc:
                raise InputError(f"{path}: street basemap layer unreadable ({exc}); rebuild it "
                                 "with: hotspots basemap build EXTRACT.osm.pbf") from None
        _CACHE[key] = StreetLayers(**frames)
    return _CACHE[key]


def coverage(layers: StreetLayers, cell_m: float = 2000.0) -> BaseGeometry:
    """Where the basemap has streets: the union of ``cell_m`` squares holding a road."""
    roads = layers.roads
    if roads.empty:
        return shapely.Polygon()
    xy = shapely.get_coordinates(roads.geometry.to_numpy())
    cells = {(int(x // cell_m), int(y // cell_m)) for x, y in xy}
    return shapely.union_all([shapely.box(i * cell_m, j * cell_m, (i + 1) * cell_m,
                                          (j + 1) * cell_m) for i, j in cells])


def build_from_osm(extract: str | Path, out: str | Path) -> list[Path]:
    """Build the street basemap's files from an OpenStreetMap extract (``hotspots basemap
    build``): the same layers, classes and simplification as the shipped ones.

    Parameters
    ----------
    extract : path-like
        ``.osm`` or ``.osm.pbf``.
    out : path-like
        Folder to write (e.g. ``<data_dir>/streets``).

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    InputError
        The extract is missing or unreadable, or names no road or place.
    """
    from hotspots.spatial.osm_streets import read_osm_streets

    raw = read_osm_streets(extract)
    water = raw["water"].copy()
    water["geometry"] = water.geometry.simplify(3.0)
    rail = raw["railways"].copy()
    rail["geometry"] = rail.geometry.simplify(5.0)
    return write_street_layers({"roads": road_layer(raw["roads"]),
                                "places": place_layer(raw["places"]) if len(raw["places"])
                                else None,
                                "railways": rail, "water": water,
                                "landuse": landuse_layer(raw["landuse"]) if len(raw["landuse"])
                                else None}, Path(out))
