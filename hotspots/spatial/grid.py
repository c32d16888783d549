"""Whole-cell-aligned raster grids in British National Grid, and their one orientation rule.

Orientation (the only place it is defined; every module keeps to it)
--------------------------------------------------------------------
An array ``values`` laid on a :class:`Grid` has shape ``(ny, nx)`` and is indexed
``values[row, col]``:

* ``row 0`` is the **southernmost** row, whose cell centres have northing ``y0 + 0.5 * cell``;
  rows increase northwards.
* ``col 0`` is the **westernmost** column, whose cell centres have easting ``x0 + 0.5 * cell``;
  columns increase eastwards.

So ``values[row, col]`` belongs to the cell ``[x0 + col * cell, x0 + (col + 1) * cell) x
[y0 + row * cell, y0 + (row + 1) * cell)`` (half-open: a point on a west or south edge belongs to
the cell, one on an east or north edge to the neighbour). This is the mathematical (south-up)
convention; images, GeoTIFFs and web maps want north-up, which :func:`north_up` gives (it is its
own inverse). :attr:`Grid.transform` is the north-up affine transform that goes with
``north_up(values)``.

``x0`` and ``y0`` are whole multiples of ``cell``, so grids of the same cell size built from
different extents share cell edges and their surfaces can be compared, differenced or summed
after slicing to a common window (:meth:`Grid.window_of`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from affine import Affine
from shapely.geometry.base import BaseGeometry

from hotspots.errors import ParameterError

#: Largest grid accepted (cells); 50 M float64 cells is 400 MB per surface.
MAX_CELLS = 50_000_000

#: Tolerance, in cells, for "x0 is a whole multiple of cell".
_ALIGN_TOL = 1e-6

CRS = "EPSG:27700"


def north_up(values: np.ndarray) -> np.ndarray:
    """Return ``values`` with row 0 northernmost (a view, rows reversed); its own inverse.

    Parameters
    ----------
    values : numpy.ndarray
        Array in the grid orientation (row 0 southernmost), shape ``(ny, nx, ...)``.

    Returns
    -------
    numpy.ndarray
        A reversed-rows view; pass it through again to get the original orientation back.
    """
    return np.asarray(values)[::-1]


def _finite(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"grid {name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ParameterError(f"grid {name} must be finite, got {value!r}")
    return v


def _check_cell(cell: Any) -> float:
    c = _finite("cell", cell)
    if c <= 0:
        raise ParameterError(f"cell size must be positive metres, got {cell!r}")
    return c


@dataclass(frozen=True)
class Grid:
    """A north-east aligned raster grid in British National Grid metres (EPSG:27700).

    See the module docstring for the orientation of arrays laid on it.

    Parameters
    ----------
    x0, y0 : float
        Easting and northing of the lower-left (south-west) corner; whole multiples of ``cell``.
    cell : float
        Cell size, metres (> 0).
    nx, ny : int
        Number of columns (west to east) and rows (south to north), each >= 1.
    """

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        cell = _check_cell(self.cell)
        x0 = _finite("x0", self.x0)
        y0 = _finite("y0", self.y0)
        for name in ("nx", "ny"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise ParameterError(f"grid {name} must be a whole number >= 1, got {v!r}")
        n = int(self.nx) * int(self.ny)
        if n > MAX_CELLS:
            raise ParameterError(
                f"grid of {self.nx} x {self.ny} = {n:,} cells exceeds {MAX_CELLS:,}; "
                f"use a larger cell than {cell:g} m or a smaller area")
        for name, v in (("x0", x0), ("y0", y0)):
            k = v / cell
            if abs(k - round(k)) > _ALIGN_TOL:
                raise ParameterError(
                    f"grid {name}={v!r} is not a whole multiple of the {cell:g} m cell; "
                    "build grids with Grid.from_bounds or Grid.from_geometry")
        object.__setattr__(self, "cell", cell)
        object.__setattr__(self, "x0", float(round(x0 / cell) * cell))
        object.__setattr__(self, "y0", float(round(y0 / cell) * cell))
        object.__setattr__(self, "nx", int(self.nx))
        object.__setattr__(self, "ny", int(self.ny))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_bounds(cls, xmin: float, ymin: float, xmax: float, ymax: float,
                    cell: float) -> Grid:
        """Return the smallest aligned grid whose cells cover ``[xmin, xmax] x [ymin, ymax]``.

        Parameters
        ----------
        xmin, ymin, xmax, ymax : float
            Bounds in British National Grid metres; ``xmax >= xmin`` and ``ymax >= ymin``.
        cell : float
            Cell size, metres.

        Returns
        -------
        Grid
            ``x0 = floor(xmin / cell) * cell`` and ``x0 + nx * cell = ceil(xmax / cell) * cell``
            (at least one cell); likewise for rows. Cells are half-open, so a point exactly on
            an aligned ``xmax`` or ``ymax`` lies on the outer edge, outside the grid.
        """
        c = _check_cell(cell)
        b = [_finite(n, v) for n, v in
             (("xmin", xmin), ("ymin", ymin), ("xmax", xmax), ("ymax", ymax))]
        if b[2] < b[0] or b[3] < b[1]:
            raise ParameterError(f"grid bounds are inverted: {tuple(b)} (need xmin<=xmax, "
                                 "ymin<=ymax)")
        i0, j0 = math.floor(b[0] / c), math.floor(b[1] / c)
        nx = max(1, math.ceil(b[2] / c) - i0)
        ny = max(1, math.ceil(b[3] / c) - j0)
        return cls(i0 * c, j0 * c, c, nx, ny)

    @classmethod
    def from_geometry(cls, geom: BaseGeometry, cell: float, pad: float = 0) -> Grid:
        """Return the aligned grid covering a geometry's bounds grown by ``pad`` metres.

        Parameters
        ----------
        geom : shapely geometry
            In British National Grid (EPSG:27700), e.g. from
            :func:`hotspots.spatial.boundaries.area_geometry`.
        cell : float
            Cell size, metres.
        pad : float, default 0
            Extra margin on every side, metres (>= 0).

        Returns
        -------
        Grid
        """
        if not isinstance(geom, BaseGeometry) or geom.is_empty:
            raise ParameterError("grid geometry is empty or not a shapely geometry; "
                                 "pass a polygon in EPSG:27700")
        p = _finite("pad", pad)
        if p < 0:
            raise ParameterError(f"grid pad must be >= 0 metres, got {pad!r}")
        xmin, ymin, xmax, ymax = geom.bounds
        return cls.from_bounds(xmin - p, ymin - p, xmax + p, ymax + p, cell)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Grid:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(d["x0"], d["y0"], d["cell"], d["nx"], d["ny"])
        except KeyError as exc:
            raise ParameterError(f"grid dict lacks {exc.args[0]!r}; "
                                 "need x0, y0, cell, nx, ny") from None

    # ------------------------------------------------------------------ geometry
    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``: the shape of an array laid on the grid."""
        return (self.ny, self.nx)

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return self.nx * self.ny

    @property
    def cell_area(self) -> float:
        """Area of one cell, square metres."""
        return self.cell * self.cell

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the outer cell edges (shapely/geopandas order)."""
        return (self.x0, self.y0, self.x0 + self.nx * self.cell, self.y0 + self.ny * self.cell)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(xmin, xmax, ymin, ymax)``, matplotlib's ``imshow(extent=...)`` order."""
        xmin, ymin, xmax, ymax = self.bounds
        return (xmin, xmax, ymin, ymax)

    @property
    def transform(self) -> Affine:
        """North-up affine transform (rasterio) for ``north_up(values)``."""
        return Affine(self.cell, 0.0, self.x0, 0.0, -self.cell, self.y0 + self.ny * self.cell)

    def centres(self, *, mesh: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Return the cell-centre coordinates.

        Parameters
        ----------
        mesh : bool, default False
            False: 1-D ``xc`` (length ``nx``, west to east) and ``yc`` (length ``ny``, south to
            north). True: 2-D arrays of shape ``(ny, nx)`` in the grid orientation.

        Returns
        -------
        xc, yc : numpy.ndarray
        """
        xc = self.x0 + (np.arange(self.nx) + 0.5) * self.cell
        yc = self.y0 + (np.arange(self.ny) + 0.5) * self.cell
        if mesh:
            return np.meshgrid(xc, yc)
        return xc, yc

    def cell_index(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(row, col)`` of the cells containing points; ``-1`` for points outside.

        Parameters
        ----------
        x, y : array_like
            Eastings and northings, metres. NaN gives ``-1``.

        Returns
        -------
        row, col : numpy.ndarray of int64
            Same shape as the inputs; a point outside the grid (or NaN) has ``-1`` in both.
        """
        xa = np.asarray(x, dtype=float)
        ya = np.asarray(y, dtype=float)
        with np.errstate(invalid="ignore"):
            fc = np.floor((xa - self.x0) / self.cell)
            fr = np.floor((ya - self.y0) / self.cell)
            inside = (fc >= 0) & (fc < self.nx) & (fr >= 0) & (fr < self.ny)
        col = np.where(inside, fc, -1).astype(np.int64)
        row = np.where(inside, fr, -1).astype(np.int64)
        return row, col

    def mask(self, geometry: BaseGeometry | None) -> np.ndarray:
        """Return a bool ``(ny, nx)`` array: True where the cell centre lies inside ``geometry``.

        A centre exactly on the boundary is outside (``shapely.contains_xy``). ``None`` gives
        all True. The geometry is not modified (a private copy is prepared).
        """
        if geometry is None:
            return np.ones(self.shape, dtype=bool)
        if not isinstance(geometry, BaseGeometry):
            raise ParameterError(f"mask must be a shapely geometry, got {type(geometry).__name__}")
        out = np.zeros(self.shape, dtype=bool)
        if geometry.is_empty:
            return out
        g = shapely.from_wkb(shapely.to_wkb(geometry))
        shapely.prepare(g)
        xc, yc = self.centres()
        gx0, gy0, gx1, gy1 = g.bounds
        cols = np.flatnonzero((xc > gx0) & (xc < gx1))
        rows = np.flatnonzero((yc > gy0) & (yc < gy1))
        if cols.size == 0 or rows.size == 0:
            return out
        c0, c1 = cols[0], cols[-1] + 1
        step = max(1, 2_000_000 // (c1 - c0))
        for r0 in range(rows[0], rows[-1] + 1, step):
            r1 = min(rows[-1] + 1, r0 + step)
            gx, gy = np.meshgrid(xc[c0:c1], yc[r0:r1])
            out[r0:r1, c0:c1] = shapely.contains_xy(g, gx, gy)
        return out

    def window_of(self, other: Grid) -> tuple[slice, slice]:
        """Return ``(rows, cols)`` slices of *this* grid's arrays covered by ``other``.

        Both grids must have the same cell size (alignment makes their edges coincide), and
        ``other`` must lie inside this grid, e.g. ``big.values[big.grid.window_of(small)]``.
        """
        if not math.isclose(self.cell, other.cell, rel_tol=1e-12):
            raise ParameterError(f"grids differ in cell size ({self.cell:g} m vs "
                                 f"{other.cell:g} m); resample one first")
        c0 = round((other.x0 - self.x0) / self.cell)
        r0 = round((other.y0 - self.y0) / self.cell)
        if c0 < 0 or r0 < 0 or c0 + other.nx > self.nx or r0 + other.ny > self.ny:
            raise ParameterError("grid is not inside this grid; build both from the same "
                                 "area or use the larger one")
        return slice(r0, r0 + other.ny), slice(c0, c0 + other.nx)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description: ``x0, y0, cell, nx, ny, crs, orientation``."""
        return {"x0": self.x0, "y0": self.y0, "cell": self.cell, "nx": self.nx, "ny": self.ny,
                "crs": CRS, "orientation": "row 0 = south, col 0 = west"}
