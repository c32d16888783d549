"""Shipped boundaries in British National Grid: every force's area and districts (national,
generalised), the default force's detailed area, districts and LSOAs, and the districts
around any selection of forces for map context."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from hotspots import forces as force_registry
from hotspots.config import Settings
from hotspots.errors import InputError, NoDataError

_FILES = {
    "county": "county.parquet",
    "districts": "districts.parquet",
    "lsoa": "lsoa2011.parquet",
    "context": "lad_context.parquet",
    "forces": "national/forces.parquet",
    "national_districts": "national/districts.parquet",
    "national_lsoa": "national/lsoa2021.parquet",
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
    kind : {"county", "districts", "lsoa", "context", "forces", "national_districts", \
"national_lsoa"}
        ``county`` is the detailed area of the force the shipped crime is for (column
        ``name``: the force); ``districts`` its districts (columns ``code``, ``name``);
        ``lsoa`` its LSOA 2011 polygons; ``context`` the local authority districts around it,
        for map context only; ``forces`` the 43 force areas of England and Wales (``code``,
        ``name``: ONS); ``national_districts`` their 318 districts (``code``, ``name``,
        ``force_code``); ``national_lsoa`` the LSOA 2021 polygons (``code``, ``name``,
        ``force_code``).
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


def national_forces(data_dir: str | Path) -> gpd.GeoDataFrame:
    """The 43 force areas (``code``, ``name``, geometry), shared and cached: do not change."""
    return _read(str(Path(data_dir) / "boundaries" / _FILES["forces"]))


def national_districts(data_dir: str | Path) -> gpd.GeoDataFrame:
    """The 318 districts with their force (``code``, ``name``, ``force_code``), shared and
    cached: do not change."""
    return _read(str(Path(data_dir) / "boundaries" / _FILES["national_districts"]))


def detailed_force(settings: Settings) -> str | None:
    """The force whose detailed boundaries are shipped (``county`` and ``districts``), or None.

    Read from the county file's name, so the detailed layers are used for their own force
    only, whichever force the settings name.
    """
    path = settings.data_dir / "boundaries" / _FILES["county"]
    if not path.is_file():
        return None
    layer = _read(str(path))
    names = layer["name"].tolist() if "name" in layer else []
    return force_registry.lookup_slug(names[0]) if names else None


def force_area(force: str, settings: Settings) -> BaseGeometry:
    """Return one force's area in BNG: the detailed shipped outline for the force it is
    shipped for, else the national (generalised) one."""
    slug = force_registry.force_info(force).slug
    if slug == detailed_force(settings):
        return load_boundary("county", settings).geometry.union_all()
    areas = national_forces(settings.data_dir)
    hit = areas[areas["code"] == force_registry.INFO[slug].ons_code]
    if hit.empty:
        raise InputError(f"{settings.data_dir}: no area for {slug} in the national force areas")
    return hit.geometry.iloc[0]


def force_districts(force: str, settings: Settings) -> gpd.GeoDataFrame:
    """Return one force's districts (``code``, ``name``, geometry; a copy), as
    :func:`force_area` chooses the layer."""
    slug = force_registry.force_info(force).slug
    if slug == detailed_force(settings):
        return load_boundary("districts", settings)[["code", "name", "geometry"]]
    d = national_districts(settings.data_dir)
    own = d[d["force_code"] == force_registry.INFO[slug].ons_code]
    return own[["code", "name", "geometry"]].reset_index(drop=True).copy()


def forces_lsoas(forces: str | tuple[str, ...] | list[str] | None, settings: Settings
                 ) -> gpd.GeoDataFrame:
    """Return the LSOAs of the forces (``code``, ``name``, ``force``: its slug, geometry; a
    copy): the shipped detailed LSOA 2011 polygons for the one force they are shipped for,
    else the national LSOA 2021 ones (ONS BSC) of every selected force.

    Raises
    ------
    InputError
        The national LSOA layer is missing.
    """
    chosen = [force_registry.force_info(f).slug for f in _forces(forces, settings)]
    if chosen == [detailed_force(settings)] and \
            (settings.data_dir / "boundaries" / _FILES["lsoa"]).is_file():
        out = load_boundary("lsoa", settings)[["code", "name", "geometry"]]
        out["force"] = chosen[0]
        return out
    path = settings.data_dir / "boundaries" / _FILES["national_lsoa"]
    if not path.is_file():
        raise InputError(f"{path}: national LSOA layer not found (rebuild it with "
                         "scripts/prepare_national.py)")
    by_code = {force_registry.INFO[f].ons_code: f for f in chosen}
    layer = load_boundary("national_lsoa", settings)
    own = layer[layer["force_code"].isin(list(by_code))]
    out = own.assign(force=own["force_code"].map(by_code))[["code", "name", "force",
                                                            "geometry"]]
    return out.reset_index(drop=True)


def _forces(forces: str | tuple[str, ...] | list[str] | None, settings: Settings
            ) -> list[str]:
    if forces is None:
        return [settings.force]
    return [forces] if isinstance(forces, str) else list(forces)


def area_geometry(area: str | None, settings: Settings,
                  forces: str | tuple[str, ...] | list[str] | None = None) -> BaseGeometry:
    """Return the forces' area (``area`` None, "force", "all" or one of the forces) or one of
    their districts by name, in BNG.

    Parameters
    ----------
    area : str or None
        District names match case-insensitively (e.g. "Rugby", "warwick").
    settings : Settings
    forces : str or sequence of str, optional
        Force slugs (default ``settings.force``); several give the union of their areas.
    """
    chosen = _forces(forces, settings)
    text = "" if area is None else area.strip().lower()
    if text in ("", "force", "all") or text in chosen:
        geoms = [force_area(f, settings) for f in chosen]
        return geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
    for f in chosen:
        d = force_districts(f, settings)
        hit = d[d["name"].str.lower() == text]
        if not hit.empty:
            return hit.geometry.iloc[0]
    raise NoDataError(f"unknown area {area!r}; choose the force or one of: "
                      + ", ".join(district_names(settings, chosen)))


def district_names(settings: Settings,
                   forces: str | tuple[str, ...] | list[str] | None = None) -> list[str]:
    """Return the districts of the forces (default ``settings.force``), sorted."""
    names = set()
    for f in _forces(forces, settings):
        names.update(force_districts(f, settings)["name"].tolist())
    return sorted(names)


def forces_districts(forces: str | tuple[str, ...] | list[str] | None, settings: Settings
                     ) -> gpd.GeoDataFrame:
    """Return the districts of the forces (``code``, ``name``, ``force``: its slug,
    geometry; a copy), each force's as :func:`force_districts` chooses the layer."""
    parts = []
    for f in _forces(forces, settings):
        d = force_districts(f, settings)
        d["force"] = force_registry.force_info(f).slug
        parts.append(d)
    out = gpd.GeoDataFrame(
        pd.concat(parts, ignore_index=True), geometry="geometry",
        crs=parts[0].crs if parts and parts[0].crs is not None else "EPSG:27700")
    return out


def context_districts(forces: str | tuple[str, ...] | list[str] | None, settings: Settings,
                      within_m: float = 25_000.0) -> gpd.GeoDataFrame:
    """Return the districts around the forces' area, for map context only (``code``,
    ``name``, geometry; a copy, not clipped).

    The shipped detailed context layer when the one force is the one it is shipped for, else
    the national districts; districts of the selected forces (by code, or lying inside their
    area) are left out, and so are districts further than ``within_m`` from it.
    """
    chosen = tuple(force_registry.force_info(f).slug for f in _forces(forces, settings))
    area = area_geometry(None, settings, forces=list(chosen))
    own = set(forces_districts(list(chosen), settings)["code"].astype(str))
    path = settings.data_dir / "boundaries" / _FILES["context"]
    if chosen == (detailed_force(settings),) and path.is_file():
        layer = load_boundary("context", settings)[["code", "name", "geometry"]]
    else:
        codes = {force_registry.INFO[f].ons_code for f in chosen}
        d = national_districts(settings.data_dir)
        layer = d.loc[~d["force_code"].isin(codes), ["code", "name", "geometry"]].copy()
    layer = layer.to_crs("EPSG:27700") if layer.crs is not None else layer
    near = area.buffer(within_m)
    shapely.prepare(area)
    inside = shapely.contains(area, layer.geometry.representative_point().to_numpy())
    keep = (~layer["code"].astype(str).isin(own).to_numpy() & ~inside
            & layer.intersects(near).to_numpy())
    return layer[keep].reset_index(drop=True)
