"""Shipped boundaries (county = force area, districts, LSOAs) in British National Grid."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import InputError, NoDataError

_FILES = {
    "county": "county.parquet",
    "districts": "districts.parquet",
    "lsoa": "lsoa2011.parquet",
    "context": "lad_context.parquet",
}


@lru_cache(maxsize=16)
def _read(path: str) -> gpd.GeoDataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: boundary file not found (is the data/ folder complete?)")
    return gpd.read_parquet(p)


def load_boundary(kind: str, settings: Settings) -> gpd.GeoDataFrame:
    """Return a shipped boundary layer in EPSG:27700.

    Parameters
    ----------
    kind : {"county", "districts", "lsoa", "context"}
        ``county`` is the Warwickshire Police force area; ``districts`` its five districts
        (columns ``code``, ``name``); ``lsoa`` the LSOA 2011 polygons; ``context`` the
        neighbouring local authority districts, for map context only.
    settings : Settings

    Returns
    -------
    geopandas.GeoDataFrame
        A copy: callers may change it freely.
    """
    if kind not in _FILES:
        raise InputError(f"unknown boundary layer {kind!r}; choose one of {', '.join(_FILES)}")
    return _read(str(settings.data_dir / "boundaries" / _FILES[kind])).copy()


def read_boundary_file(path: str | Path) -> BaseGeometry:
    """Read a user-supplied polygon file (GeoJSON, GeoPackage, GeoParquet) as one BNG geometry."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: boundary file not found")
    try:
        gdf = gpd.read_parquet(p) if p.suffix.lower() == ".parquet" else gpd.read_file(p)
    except Exception as exc:  # GDAL raises many types; the user needs the file name and the gist
        raise InputError(f"{p}: cannot read as a boundary ({str(exc).splitlines()[0]})") from None
    if gdf.empty or gdf.crs is None:
        raise InputError(f"{p}: boundary file has no features or no coordinate reference system")
    return gdf.to_crs("EPSG:27700").geometry.union_all()


def area_geometry(area: str | None, settings: Settings) -> BaseGeometry:
    """Return the force area (``area`` None or "force") or one district by name, in BNG.

    District names match case-insensitively (e.g. "Rugby", "warwick").
    """
    force = settings.force
    if area is None or area.strip().lower() in ("force", "all", force):
        return load_boundary("county", settings).geometry.union_all()
    d = load_boundary("districts", settings)
    hit = d[d["name"].str.lower() == area.strip().lower()]
    if hit.empty:
        raise NoDataError(f"unknown area {area!r}; choose the force or one of: "
                          + ", ".join(sorted(d["name"])))
    return hit.geometry.iloc[0]


def district_names(settings: Settings) -> list[str]:
    """Return the district names, sorted."""
    return sorted(load_boundary("districts", settings)["name"].tolist())
