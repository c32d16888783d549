"""Density surfaces out: float32 GeoTIFFs in EPSG:27700 and RGBA overlays for web maps."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.errors import RasterioError
from rasterio.warp import Resampling, reproject
from shapely.geometry.base import BaseGeometry

from hotspots.errors import InputError, ParameterError
from hotspots.models.kde import Surface
from hotspots.spatial.grid import CRS, north_up

#: Value written outside the mask.
NODATA = -9999.0

#: Colour-blind-safe perceptually uniform matplotlib colormaps.
SAFE_PALETTES = ("viridis", "cividis", "magma", "inferno", "plasma")

WEB_MERCATOR = "EPSG:3857"


def _number(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ParameterError(f"{name} must be finite, got {value!r}")
    return v


def _mask_array(surface: Surface, mask: BaseGeometry | np.ndarray | None) -> np.ndarray:
    """Return a bool ``(ny, nx)`` array in the grid orientation (True = keep)."""
    if mask is None or isinstance(mask, BaseGeometry):
        return surface.grid.mask(mask)
    m = np.asarray(mask)
    if m.dtype != bool or m.shape != surface.grid.shape:
        raise ParameterError(f"mask must be a polygon or a bool array of shape "
                             f"{surface.grid.shape}, got {m.dtype} {m.shape}")
    return m


def write_geotiff(surface: Surface, path: str | Path, *,
                  mask: BaseGeometry | np.ndarray | None = None) -> Path:
    """Write a surface as a single-band float32 GeoTIFF, EPSG:27700, north-up.

    Parameters
    ----------
    surface : Surface
    path : str or Path
        Output file; its folder must exist. Overwritten if present.
    mask : shapely geometry or bool array, optional
        Cells whose centre is outside the polygon (or False in the ``(ny, nx)`` array, grid
        orientation) are written as nodata (-9999).

    Returns
    -------
    Path
        The path written. Dataset tags carry the method, kernel, bandwidth, rule, cell, units
        and point counts; band 1's description and unit say "incidents per km2".
    """
    if not isinstance(surface, Surface):
        raise ParameterError(f"surface must be a kde Surface, got {type(surface).__name__}")
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a folder; give a .tif file name for the surface")
    if not p.parent.is_dir():
        raise InputError(f"{p}: folder {p.parent} does not exist; create it or choose another")
    keep = _mask_array(surface, mask)
    data = np.where(keep, surface.values, NODATA).astype(np.float32)
    params = surface.params()
    tags = {k: str(v) for k, v in params.items() if k not in ("grid",)}
    tags.update({"crs": CRS, "orientation": "north-up", "software": "hotspots"})
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


def _overlay_grid(surface: Surface, upsample: int) -> tuple[Affine, int, int]:
    """Return the Web Mercator transform, width and height that cover the surface's grid."""
    g = surface.grid
    to_merc = Transformer.from_crs(CRS, WEB_MERCATOR, always_xy=True)
    mx0, my0, mx1, my1 = to_merc.transform_bounds(*g.bounds, densify_pts=21)
    res = min((mx1 - mx0) / g.nx, (my1 - my0) / g.ny) / upsample
    w = max(1, math.ceil((mx1 - mx0) / res - 1e-9))
    h = max(1, math.ceil((my1 - my0) / res - 1e-9))
    return Affine(res, 0.0, mx0, 0.0, -res, my1), w, h


def surface_to_rgba(surface: Surface, *, mask: BaseGeometry | np.ndarray | None = None,
                    palette: str = "viridis", alpha: float = 0.75, vmax: float | None = None,
                    transparent_below: float = 0.05,
                    upsample: int = 2) -> tuple[np.ndarray, list[list[float]]]:
    """Colour a surface for a Leaflet/folium image overlay.

    The surface is reprojected (nearest cell, so cell values are not blended) to Web Mercator,
    the projection Leaflet stretches overlays in, so the image sits exactly on the map; a BNG
    image stretched to latitude/longitude bounds would be off by up to ~0.4 degrees of
    rotation (hundreds of metres across the county).

    Parameters
    ----------
    surface : Surface
    mask : shapely geometry or bool array, optional
        Cells outside are transparent (see :func:`write_geotiff`).
    palette : str, default "viridis"
        A matplotlib colormap; colour-blind-safe choices: viridis, cividis, magma, inferno,
        plasma.
    alpha : float, default 0.75
        Opacity (0..1) of coloured pixels.
    vmax : float, optional
        Density mapped to the top colour; default the peak inside the mask.
    transparent_below : float, default 0.05
        Pixels with density <= this share of ``vmax`` (including zero) are fully transparent.
    upsample : int, default 2
        Output pixels per cell side (about); 2 keeps every cell visible after reprojection.

    Returns
    -------
    rgba : numpy.ndarray
        ``(H, W, 4)`` uint8, north-up (row 0 = north).
    bounds : list
        ``[[south, west], [north, east]]`` in WGS84 degrees, as ``folium.raster_layers.
        ImageOverlay(image=rgba, bounds=bounds)`` wants.
    """
    import matplotlib

    if not isinstance(surface, Surface):
        raise ParameterError(f"surface must be a kde Surface, got {type(surface).__name__}")
    try:
        cmap = matplotlib.colormaps[palette]
    except KeyError:
        raise ParameterError(f"unknown palette {palette!r}; colour-blind-safe choices: "
                             + ", ".join(SAFE_PALETTES)) from None
    alpha = _number("alpha", alpha)
    if not 0 <= alpha <= 1:
        raise ParameterError(f"alpha must be between 0 and 1, got {alpha!r}")
    transparent_below = _number("transparent_below", transparent_below)
    if not 0 <= transparent_below < 1:
        raise ParameterError(f"transparent_below must be in [0, 1), got {transparent_below!r}")
    if isinstance(upsample, bool) or not isinstance(upsample, int) or not 1 <= upsample <= 8:
        raise ParameterError(f"upsample must be a whole number 1..8, got {upsample!r}")
    keep = _mask_array(surface, mask)
    src = np.where(keep, surface.values, np.nan).astype(np.float32)
    if vmax is None:
        vmax = float(np.nanmax(src)) if keep.any() else 0.0
    else:
        vmax = _number("vmax", vmax)
        if not vmax > 0:
            raise ParameterError(f"vmax must be a positive density, got {vmax!r}")
    tr, w, h = _overlay_grid(surface, upsample)
    dst = np.full((h, w), np.nan, dtype=np.float32)
    reproject(np.ascontiguousarray(north_up(src)), dst, src_transform=surface.grid.transform,
              src_crs=CRS, src_nodata=np.nan, dst_transform=tr, dst_crs=WEB_MERCATOR,
              dst_nodata=np.nan, resampling=Resampling.nearest)
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    if vmax > 0:
        scaled = np.clip(np.nan_to_num(dst / vmax, nan=0.0), 0.0, 1.0)
        rgba = cmap(scaled, bytes=True)
        visible = np.isfinite(dst) & (dst > transparent_below * vmax)
        rgba[..., 3] = np.where(visible, round(255 * alpha), 0).astype(np.uint8)
    west, north = tr @ (0, 0)
    east, south = tr @ (w, h)
    to_ll = Transformer.from_crs(WEB_MERCATOR, "EPSG:4326", always_xy=True)
    lon0, lat0 = to_ll.transform(west, south)
    lon1, lat1 = to_ll.transform(east, north)
    return rgba, [[float(lat0), float(lon0)], [float(lat1), float(lon1)]]


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
