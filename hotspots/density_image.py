"""A density surface coloured and re-projected to Web Mercator, for a Leaflet image overlay."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from hotspots.errors import ParameterError
from hotspots.spatial.crs import BNG, WGS84

__all__ = ["CLIP_PERCENTILE", "DensityImage", "GridLike", "density_image", "transformer"]

_MERCATOR = "EPSG:3857"


class GridLike(Protocol):
    """A raster grid: lower-left corner ``x0``, ``y0`` (BNG metres), square ``cell``, shape."""

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int


@dataclass(frozen=True)
class DensityImage:
    """A density surface coloured and re-projected for a Leaflet image overlay.

    Attributes
    ----------
    url : str
        PNG ``data:`` URL, north up, aligned to Web Mercator (what Leaflet draws in).
    bounds : tuple
        ``((south, west), (north, east))`` in degrees.
    vmax : float
        Density at the top of the colour scale, incidents per km².
    peak : float
        Largest density in the image; above ``vmax`` when the scale is clipped.
    cmap : str
        Matplotlib colour map name.
    gamma : float
        Colour position = (density / vmax) ** gamma.
    max_alpha : float
        Opacity at the top of the scale.
    shape : tuple of int
        Image rows, columns.
    """

    url: str
    bounds: tuple[tuple[float, float], tuple[float, float]]
    vmax: float
    peak: float = 0.0
    cmap: str = "viridis_r"
    gamma: float = 0.5
    max_alpha: float = 0.85
    shape: tuple[int, int] = (0, 0)

    def colour_stops(self, n: int = 11) -> list[str]:
        """Return ``n`` CSS ``rgba()`` colours from the bottom to the top of the scale."""
        t = np.linspace(0.0, 1.0, n)
        rgba = _colourise_t(t, self.cmap, self.max_alpha)
        return [f"rgba({r},{g},{b},{a / 255:.2f})" for r, g, b, a in rgba.tolist()]

    def tick_values(self, positions: Sequence[float] = (0.0, 0.5, 1.0)) -> list[float]:
        """Return the densities at the given positions (0..1) along the colour bar."""
        return [self.vmax * (p ** (1.0 / self.gamma)) for p in positions]

    @property
    def clipped(self) -> bool:
        """Whether densities above ``vmax`` exist (they take the top colour)."""
        return self.peak > self.vmax * (1 + 1e-9)


#: Default top of the colour scale: this percentile of the positive densities, so that a few
#: extreme cells do not wash out every other hotspot (denser cells take the top colour).
CLIP_PERCENTILE = 99.0


_ALPHA_RAMP = 0.1  # colour positions below this fade towards transparent


def _colourise_t(t: np.ndarray, cmap: str, max_alpha: float) -> np.ndarray:
    from matplotlib import colormaps

    t = np.asarray(t, float)
    valid = np.isfinite(t) & (t > 0)
    tc = np.clip(np.where(valid, t, 0.0), 0.0, 1.0)
    rgba = colormaps[cmap](tc)
    rgba[..., 3] = np.where(valid, max_alpha * np.clip(tc / _ALPHA_RAMP, 0.0, 1.0), 0.0)
    return np.round(rgba * 255).astype(np.uint8)


@lru_cache(maxsize=4)
def transformer(src: str, dst: str) -> Transformer:
    """Return a cached ``always_xy`` transformer between two coordinate reference systems."""
    return Transformer.from_crs(src, dst, always_xy=True)


def _bilinear(lattice: np.ndarray, li: np.ndarray, lj: np.ndarray, n_i: int, n_j: int
              ) -> np.ndarray:
    """Bilinearly interpolate values given on lattice rows ``li`` and columns ``lj``."""
    ii, jj = np.arange(n_i), np.arange(n_j)
    a = np.clip(np.searchsorted(li, ii, side="right") - 1, 0, len(li) - 2)
    b = np.clip(np.searchsorted(lj, jj, side="right") - 1, 0, len(lj) - 2)
    ti = ((ii - li[a]) / (li[a + 1] - li[a]))[:, None]
    tj = ((jj - lj[b]) / (lj[b + 1] - lj[b]))[None, :]
    top = lattice[a][:, b] * (1 - tj) + lattice[a][:, b + 1] * tj
    bottom = lattice[a + 1][:, b] * (1 - tj) + lattice[a + 1][:, b + 1] * tj
    return top * (1 - ti) + bottom * ti


def density_image(values: np.ndarray, grid: GridLike, *, mask: BaseGeometry | None = None,
                  vmax: float | None = None, cmap: str = "viridis_r", gamma: float = 0.5,
                  max_alpha: float = 0.85, step: int = 8) -> DensityImage:
    """Colour a density surface and re-project it to Web Mercator for a Leaflet image overlay.

    Leaflet stretches an image linearly between two corners in Web Mercator, but the surface is
    on the British National Grid, which is rotated against it (about 1° in the Midlands: hundreds
    of metres at the edge of the county). Each output pixel is therefore looked up in the BNG
    grid (nearest cell), with the BNG position of every ``step``-th pixel computed exactly and
    the rest interpolated (errors well below a metre).

    Parameters
    ----------
    values : numpy.ndarray
        Density, shape ``(grid.ny, grid.nx)``, row 0 = south, incidents per km².
    grid : GridLike
        The surface's grid (lower-left corner ``x0``, ``y0``; ``cell`` metres).
    mask : shapely geometry, optional
        Study area in BNG; cells whose centre is outside are transparent.
    vmax : float, optional
        Density at the top of the colour scale. Default: the :data:`CLIP_PERCENTILE`
        percentile of the positive densities in the mask; denser cells take the top colour and
        the legend marks the top tick with "+".
    cmap : str
        Matplotlib colour map; the default ``viridis_r`` is perceptually uniform and safe for
        colour-vision deficiencies (dark = dense, on a light map).
    gamma : float
        Colour position = (density / vmax) ** gamma; 0.5 is a square-root scale.
    max_alpha : float
        Opacity at the top of the scale; low densities fade to transparent.
    step : int
        Spacing of the exactly projected lattice, pixels.

    Returns
    -------
    DensityImage
    """
    from PIL import Image

    vals = np.asarray(values, dtype=float)
    if vals.shape != (grid.ny, grid.nx):
        raise ParameterError(f"surface shape {vals.shape} does not match its grid "
                             f"({grid.ny} rows, {grid.nx} columns)")
    if mask is not None:
        xs = grid.x0 + (np.arange(grid.nx) + 0.5) * grid.cell
        ys = grid.y0 + (np.arange(grid.ny) + 0.5) * grid.cell
        own = shapely.from_wkb(shapely.to_wkb(mask))  # prepare a copy, not the caller's
        shapely.prepare(own)
        inside = shapely.contains_xy(own, xs[None, :], ys[:, None])
        vals = np.where(inside, vals, np.nan)
    finite = vals[np.isfinite(vals)]
    peak = float(finite.max()) if finite.size else 0.0
    if vmax is None:
        positive = finite[finite > 0]
        vmax = float(np.percentile(positive, CLIP_PERCENTILE)) if positive.size else 0.0
    vmax = float(vmax)

    x1, y1 = grid.x0 + grid.nx * grid.cell, grid.y0 + grid.ny * grid.cell
    west, south, east, north = transformer(BNG, _MERCATOR).transform_bounds(
        grid.x0, grid.y0, x1, y1, densify_pts=21)
    scale = 1.0 / math.cos(math.radians(transformer(BNG, WGS84).transform(
        (grid.x0 + x1) / 2, (grid.y0 + y1) / 2)[1]))
    px = grid.cell * scale
    ncol = max(1, math.ceil((east - west) / px))
    nrow = max(1, math.ceil((north - south) / px))
    east, south = west + ncol * px, north - nrow * px

    li = np.unique(np.r_[np.arange(0, nrow, step), nrow - 1])
    lj = np.unique(np.r_[np.arange(0, ncol, step), ncol - 1])
    if len(li) < 2:
        li = np.array([0, max(nrow - 1, 1)])
    if len(lj) < 2:
        lj = np.array([0, max(ncol - 1, 1)])
    mx = west + (lj + 0.5) * px
    my = north - (li + 0.5) * px
    mxx, myy = np.meshgrid(mx, my)
    bx, by = transformer(_MERCATOR, BNG).transform(mxx, myy)
    bx = _bilinear(np.asarray(bx), li, lj, nrow, ncol)
    by = _bilinear(np.asarray(by), li, lj, nrow, ncol)
    col = np.floor((bx - grid.x0) / grid.cell).astype(np.int64)
    row = np.floor((by - grid.y0) / grid.cell).astype(np.int64)
    ok = (col >= 0) & (col < grid.nx) & (row >= 0) & (row < grid.ny)
    out = np.full((nrow, ncol), np.nan)
    out[ok] = vals[row[ok], col[ok]]

    t = np.minimum(out / vmax, 1.0) ** gamma if vmax > 0 else np.full_like(out, np.nan)
    rgba = _colourise_t(t, cmap, max_alpha)
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", compress_level=6)
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    to_deg = transformer(_MERCATOR, WGS84)
    w, s = to_deg.transform(west, south)
    e, n = to_deg.transform(east, north)
    return DensityImage(url=url, bounds=((float(s), float(w)), (float(n), float(e))), vmax=vmax,
                        peak=peak, cmap=cmap, gamma=gamma, max_alpha=max_alpha, shape=(nrow, ncol))
