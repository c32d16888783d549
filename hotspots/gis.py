"""GIS exports: RFC 7946 GeoJSON text and GeoPackage files of GeoDataFrames."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping

from hotspots.errors import InputError, ParameterError
from hotspots.geojson import round_coords
from hotspots.jsonvalue import json_value

__all__ = ["to_geojson", "write_geopackage"]


def _check_gdf(gdf: Any, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ParameterError(f"{what} must be a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise ParameterError(f"{what} has no coordinate reference system; set one (e.g. "
                             "EPSG:27700) before exporting")
    return gdf



def to_geojson(gdf: gpd.GeoDataFrame, *, metadata: Mapping[str, Any] | None = None,
               precision: int = 6, marking: str | None = None) -> str:
    """Return a GeoDataFrame as an RFC 7946 GeoJSON FeatureCollection (WGS84 lon/lat).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Any CRS (it is transformed to WGS84; the input is not modified). Every non-geometry
        column becomes a property; NaN and missing values become ``null``.
    metadata : mapping, optional
        Method and parameters, written as the foreign member ``"metadata"`` (RFC 7946 §6.1).
        Default ``gdf.attrs["method"]`` when present.
    precision : int, default 6
        Decimal places of the coordinates (6 is about 0.1 m).
    marking : str, optional
        Protective marking, written as the foreign member ``"marking"`` (first, so that it is
        the first thing a reader of the file sees).

    Returns
    -------
    str
        JSON text: ``{"type": "FeatureCollection", "features": [...]}``, polygons wound
        counter-clockwise (right-hand rule), no ``crs`` member, ``bbox`` of the features.

    Raises
    ------
    ParameterError
        Not a GeoDataFrame, or no CRS.
    """
    gdf = _check_gdf(gdf, "the layer")
    wgs = gdf.to_crs(4326)
    geoms = wgs.geometry.to_numpy()
    present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    oriented = geoms.copy()
    if present.any():
        # RFC 7946 §3.1.6: exterior rings counter-clockwise, holes clockwise.
        oriented[present] = shapely.orient_polygons(geoms[present], exterior_cw=False)
    props = [c for c in wgs.columns if c != wgs.geometry.name]
    records = wgs[props].to_dict("records") if props else [{} for _ in range(len(wgs))]
    features = []
    for g, rec in zip(oriented, records, strict=True):
        geometry = None
        if g is not None and not g.is_empty:
            gm = mapping(g)
            geometry = {"type": gm["type"],
                        "coordinates": round_coords(gm["coordinates"], precision)}
        features.append({"type": "Feature", "properties": {str(k): json_value(v)
                                                             for k, v in rec.items()},
                         "geometry": geometry})
    out: dict[str, Any] = {"type": "FeatureCollection"}
    if marking:
        out["marking"] = str(marking)
    if present.any():
        b = shapely.total_bounds(oriented[present])
        out["bbox"] = [round(float(v), precision) for v in b]
    out["features"] = features
    meta = metadata if metadata is not None else gdf.attrs.get("method")
    if meta:
        out["metadata"] = json_value(meta)
    return json.dumps(out, ensure_ascii=False, allow_nan=False)


def _gpkg_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy GeoPackage can hold: EPSG:27700; lists and dicts as JSON text."""
    out = gdf.to_crs(27700)
    for col in out.columns:
        if col == out.geometry.name:
            continue
        s = out[col]
        if s.dtype == object and s.map(lambda v: isinstance(v, (list, tuple, dict,
                                                                np.ndarray))).any():
            out[col] = s.map(lambda v: json.dumps(json_value(v), ensure_ascii=False)
                             if isinstance(v, (list, tuple, dict, np.ndarray)) else v)
    out.columns = [str(c) for c in out.columns]
    return out


def write_geopackage(layers: Mapping[str, gpd.GeoDataFrame], path: str | os.PathLike,
                     marking: str | None = None) -> Path:
    """Write GeoDataFrames as the layers of one GeoPackage, in EPSG:27700.

    Parameters
    ----------
    layers : mapping of str to geopandas.GeoDataFrame
        Layer name -> frame (any CRS; transformed, not modified). List and dict cells are
        stored as JSON text. ``frame.attrs["method"]``, when present, is stored as the layer's
        metadata item ``hotspots_method`` (JSON).
    path : path-like
        Output file; an existing file is replaced whole (written to a temporary file first,
        so a failure leaves the old one in place).
    marking : str, optional
        Protective marking, stored as every layer's metadata item ``marking`` (QGIS shows it
        in the layer's properties).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        No layers, an empty or repeated layer name, a layer without CRS.
    InputError
        The file cannot be written.
    """
    if not layers:
        raise ParameterError("no layers to write; give at least one GeoDataFrame")
    seen: set[str] = set()
    for name, gdf in layers.items():
        if not isinstance(name, str) or not name.strip():
            raise ParameterError(f"GeoPackage layer names must be non-empty text, got {name!r}")
        if name.lower() in seen:
            raise ParameterError(f"GeoPackage layer {name!r} is given twice")
        seen.add(name.lower())
        _check_gdf(gdf, f"layer {name!r}")
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(suffix=".gpkg", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()  # GDAL wants to create the file itself
        for name, gdf in layers.items():
            meta: dict[str, str] = {}
            if marking:
                meta["marking"] = str(marking)
            if gdf.attrs.get("method"):
                meta["hotspots_method"] = json.dumps(json_value(gdf.attrs["method"]),
                                                     ensure_ascii=False)
            kw: dict[str, Any] = {"layer_metadata": meta} if meta else {}
            _gpkg_frame(gdf).to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", **kw)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the GeoPackage ({exc.strerror or exc})") \
            from None
    except Exception as exc:  # GDAL raises many types; the user needs the file and the gist
        raise InputError(f"{path}: cannot write the GeoPackage "
                         f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                         ) from None
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()
    return path
