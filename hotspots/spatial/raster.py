"""Density surfaces to and from float32 GeoTIFFs in EPSG:27700.

Map overlays are drawn by :mod:`hotspots.density_image`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from shapely.geometry.base import BaseGeometry

from hotspots.errors import InputError, ParameterError
from hotspots.spatial.grid import CRS, Grid, north_up

__all__ = ["NODATA", "GridSurface", "read_geotiff", "write_geotiff"]

#: Value written outside the mask.
NODATA = -9999.0


@runtime_checkable
class GridSurface(Protocol):
    """What a GeoTIFF is written from: values on a :class:`~hotspots.spatial.grid.Grid` and
    the parameters that made them (e.g. a kernel density ``Surface``).

    Spatial code stays below the models: it reads these attributes and never imports them.
    """

    values: np.ndarray  # (ny, nx), grid orientation (row 0 southernmost)
    grid: Grid

    def params(self) -> dict[str, Any]:
        """Method parameters, written as dataset tags; ``units`` names the band's unit."""
        ...


def _mask_array(surface: GridSurface, mask: BaseGeometry | np.ndarray | None) -> np.ndarray:
    """Return a bool ``(ny, nx)`` array in the grid orientation (True = keep)."""
    if mask is None or isinstance(mask, BaseGeometry):
        return surface.grid.mask(mask)
    m = np.asarray(mask)
    if m.dtype != bool or m.shape != surface.grid.shape:
        raise ParameterError(f"mask must be a polygon or a bool array of shape "
                             f"{surface.grid.shape}, got {m.dtype} {m.shape}")
    return m


def write_geotiff(surface: GridSurface, path: str | Path, *,
                  mask: BaseGeometry | np.ndarray | None = None,
                  tags: dict[str, str] | None = None) -> Path:
    """Write a surface as a single-band float32 GeoTIFF, EPSG:27700, north-up.

    Parameters
    ----------
    surface : GridSurface
        A kernel density ``Surface``, or anything with ``values``, ``grid`` and
        ``params()``.
    path : str or Path
        Output file; its folder must exist. Overwritten if present.
    mask : shapely geometry or bool array, optional
        Cells whose centre is outside the polygon (or False in the ``(ny, nx)`` array, grid
        orientation) are written as nodata (-9999).
    tags : dict, optional
        More dataset tags, e.g. ``{"marking": "OFFICIAL-SENSITIVE"}``.

    Returns
    -------
    Path
        The path written. Dataset tags carry the method, kernel, bandwidth, rule, cell, units
        and point counts; band 1's description and unit say "incidents per km2".
    """
    if not isinstance(surface, GridSurface):
        raise ParameterError(f"surface must be a kde Surface, got {type(surface).__name__}")
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a folder; give a .tif file name for the surface")
    if not p.parent.is_dir():
        raise InputError(f"{p}: folder {p.parent} does not exist; create it or choose another")
    keep = _mask_array(surface, mask)
    data = np.where(keep, surface.values, NODATA).astype(np.float32)
    params = surface.params()
    extra = dict(tags or {})
    tags = {k: str(v) for k, v in params.items() if k not in ("grid",)}
    tags.update({"crs": CRS, "orientation": "north-up", "software": "hotspots"})
    tags.update({str(k): str(v) for k, v in extra.items()})
    profile = {
        "driver": "GTiff", "width": surface.grid.nx, "height": surface.grid.ny, "count": 1,
        "dtype": "float32", "crs": CRS, "transform": surface.grid.transform,
        "nodata": NODATA, "compress": "deflate", "predictor": 3,
    }
    try:
        with rasterio.open(p, "w", **profile) as dst:
            dst.write(np.ascontiguousarray(north_up(data)), 1)
            dst.update_tags(**tags)
            dst.set_band_description(1, f"kernel density ({params['units']})")
            dst.units = (params["units"],)
    except (RasterioError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{p}: cannot write GeoTIFF ({msg})") from None
    return p


def read_geotiff(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a surface GeoTIFF written by :func:`write_geotiff` back in the grid orientation.

    Returns
    -------
    values : numpy.ndarray
        ``(ny, nx)`` float64, row 0 southernmost, NaN for nodata.
    meta : dict
        ``crs``, ``transform``, ``tags``.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: GeoTIFF not found")
    try:
        with rasterio.open(p) as src:
            a = src.read(1, masked=True).astype(float).filled(np.nan)
            meta = {"crs": src.crs.to_string() if src.crs else None,
                    "transform": src.transform, "tags": src.tags()}
    except RasterioError as exc:
        raise InputError(f"{p}: cannot read as GeoTIFF ({str(exc).splitlines()[0]})") from None
    if meta["transform"].e > 0:
        return a, meta
    return np.ascontiguousarray(north_up(a)), meta
