"""Getis-Ord Gi* hot and cold spots on grid cells and LSOAs, with FDR-corrected confidence bins."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.special import ndtr
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import NoDataError, ParameterError
from hotspots.models.kde import check_points
from hotspots.models.significance import (
    CORRECTION_NAMES,
    LEVELS,
    assign_bins,
    check_correction,
    check_permutations,
    correct_pvalues,
    permutation_pvalues,
)
from hotspots.schema import located_xy
from hotspots.spatial.grid import CRS, Grid

#: Default neighbourhood on a grid, in cells: 1.5 cells reaches exactly the 8 surrounding cells.
DEFAULT_DISTANCE_CELLS = 1.5

#: Default cell: the study area's shorter bounding-box side over this, rounded to 100 m.
CELLS_ACROSS = 50
MIN_CELL = 100.0

#: Refuse weight matrices with more non-zeros than this (memory: ~12 bytes each).
MAX_WEIGHTS = 60_000_000

CONTIGUITY = ("queen", "rook")


# ---------------------------------------------------------------------------- result
@dataclass
class GiStar:
    """Gi* results for a set of features (a vector) or the study cells of a grid (2-D arrays).

    Attributes
    ----------
    z : numpy.ndarray
        Gi* z-score per feature. For grid results, ``(ny, nx)`` in the grid orientation (row 0
        south), NaN outside the study cells.
    p : numpy.ndarray
        Two-sided p-value, uncorrected (normal approximation, or the permutation pseudo p).
    p_corrected : numpy.ndarray
        ``p`` after the multiple-testing correction named by ``correction``.
    bin : numpy.ndarray
        int8 confidence bin, -3..+3 (0 outside the study cells).
    values : numpy.ndarray
        The values analysed (incident counts for the grid and LSOA functions).
    n_neighbours : numpy.ndarray
        Features in each neighbourhood, the feature itself included (0 outside the study
        cells).
    correction : str
    inference : str
        ``"analytical"`` or ``"permutation"``.
    permutations : int
    seed : int or None
    grid : Grid or None
        Set for grid results.
    mask : numpy.ndarray or None
        Bool ``(ny, nx)``: the study cells (grid results only).
    weights : scipy.sparse.csr_matrix
        The binary weights used (self included), over the features in order (for grid
        results: the study cells in row-major order of ``mask``).
    extra : dict
        Method details added by the caller (cell, distance, ...), reported by :meth:`params`.
    """

    z: np.ndarray
    p: np.ndarray
    p_corrected: np.ndarray
    bin: np.ndarray
    values: np.ndarray
    n_neighbours: np.ndarray
    correction: str
    inference: str
    permutations: int
    seed: int | None
    weights: sparse.csr_matrix
    grid: Grid | None = None
    mask: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def _study(self, a: np.ndarray) -> np.ndarray:
        return a[self.mask] if self.mask is not None else a

    def params(self) -> dict[str, Any]:
        """Return the method, parameters and significant counts as a JSON-ready dict."""
        z = self._study(self.z)
        pc = self._study(self.p_corrected)
        v = self._study(self.values)
        nb = self._study(self.n_neighbours)
        if self.inference == "permutation":
            p_method = (f"two-sided pseudo p from {self.permutations} conditional permutations "
                        f"(seed {self.seed})")
        else:
            p_method = "two-sided, normal approximation of the Gi* z-score"
        d: dict[str, Any] = {
            "method": "Getis-Ord Gi* (the feature itself included), binary weights",
            "p_values": p_method,
            "inference": self.inference,
            "permutations": self.permutations,
            "seed": self.seed if self.inference == "permutation" else None,
            "correction": self.correction,
            "correction_name": CORRECTION_NAMES[self.correction],
            "confidence_levels": [round(lv * 100) for lv in LEVELS],
            "alpha_levels": [round(1 - lv, 2) for lv in LEVELS],
            "bins": "+3/-3: corrected p <= 0.01, +2/-2: <= 0.05, +1/-1: <= 0.10; sign of z",
            "n_features": int(z.size),
            "n_cells": int(z.size) if self.grid is not None else None,
            "mean": float(v.mean()),
            "std": float(v.std()),
            "mean_neighbours": float(nb.mean()),
            "n_isolated": int((nb <= 1).sum()),
            "hot": {str(round(lv * 100)): int(((z > 0) & (pc <= 1 - lv + 1e-12)).sum())
                    for lv in LEVELS},
            "cold": {str(round(lv * 100)): int(((z < 0) & (pc <= 1 - lv + 1e-12)).sum())
                     for lv in LEVELS},
        }
        if self.grid is not None:
            d["grid"] = self.grid.to_dict()
        d.update(self.extra)
        return d

    def to_frame(self) -> gpd.GeoDataFrame:
        """Return the study cells of a grid result as square polygons, one row per cell.

        Columns ``row, col, x, y`` (cell centre, metres), ``count, n_neighbours, z, p,
        p_corrected, bin, geometry``; EPSG:27700; ``attrs["params"]`` is :meth:`params`.
        """
        if self.grid is None or self.mask is None:
            raise ParameterError("to_frame needs a grid result (from gi_star_grid)")
        g = self.grid
        row, col = np.nonzero(self.mask)
        x0 = g.x0 + col * g.cell
        y0 = g.y0 + row * g.cell
        out = gpd.GeoDataFrame(
            {"row": row, "col": col, "x": x0 + g.cell / 2, "y": y0 + g.cell / 2,
             "count": self.values[row, col], "n_neighbours": self.n_neighbours[row, col],
             "z": self.z[row, col], "p": self.p[row, col],
             "p_corrected": self.p_corrected[row, col], "bin": self.bin[row, col]},
            geometry=shapely.box(x0, y0, x0 + g.cell, y0 + g.cell), crs=CRS)
        out.attrs["params"] = self.params()
        return out


# ---------------------------------------------------------------------------- inference
def binary_weights(weights: Any, n: int) -> tuple[sparse.csr_matrix, int]:
    """Return CSR binary weights with the diagonal set, and how many self-weights were added."""
    if not sparse.issparse(weights):
        raise ParameterError("weights must be a scipy.sparse matrix of 0/1 (CSR), self included")
    w = sparse.csr_matrix(weights, dtype=float, copy=True)
    if w.shape != (n, n):
        raise ParameterError(f"weights are {w.shape[0]} x {w.shape[1]} for {n} values; "
                             "they must be square with one row per value")
    w.sum_duplicates()
    w.eliminate_zeros()
    if w.nnz and not np.all(w.data == 1.0):
        raise ParameterError("weights must be binary (every stored weight 1); Gi* here uses "
                             "binary distance-band or contiguity weights")
    missing = int(n - np.count_nonzero(w.diagonal()))
    if missing:
        w = (w + sparse.diags((w.diagonal() == 0).astype(float))).tocsr()
    w.sort_indices()
    return w, missing


def gi_z_scores(y: np.ndarray, lag: np.ndarray,
                card: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return Gi* z-scores from values, local sums and neighbourhood sizes (binary weights).

    The arithmetic shared by :func:`gi_star` and the space-time cube, where the local sums
    are built without a materialised weight matrix.

    Parameters
    ----------
    y : numpy.ndarray
        All ``n`` values (the global mean and spread come from them).
    lag, card : numpy.ndarray
        Per feature to score: the sum of the values in its neighbourhood (itself included) and
        the neighbourhood's size ``W_i``.

    Returns
    -------
    z, den : numpy.ndarray
        z-scores (0 where the neighbourhood is every feature) and their denominators (0 there).
    """
    n = y.size
    mean = float(y.mean())
    s = math.sqrt(float(np.mean((y - mean) ** 2)))
    if not s > 1e-12 * max(1.0, abs(mean)):
        raise NoDataError(f"all {n} features have the same value ({mean:g}); Gi* needs "
                          "variation: widen the period or area, or use larger cells")
    var = (n * card - card * card) / (n - 1)
    den = s * np.sqrt(np.maximum(var, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(den > 0, (lag - mean * card) / np.where(den > 0, den, 1.0), 0.0)
    return z, den


def gi_star(values: Any, weights: Any, *, correction: str = "fdr_bh",
            permutations: int | bool = 0, seed: int | None = 0) -> GiStar:
    """Return Getis-Ord Gi* for a vector of values and binary weights (the feature included).

    Parameters
    ----------
    values : array_like
        One value per feature (e.g. incident counts); finite. Not modified.
    weights : scipy.sparse matrix
        ``n x n`` binary weights, ``w_ij = 1`` when feature ``j`` is in ``i``'s neighbourhood.
        Gi* includes the feature itself: a zero diagonal entry is set to 1 (the number added
        is reported as ``self_weights_added``).
    correction : {"fdr_bh", "bonferroni", "none"}, default "fdr_bh"
        Multiple-testing correction over all ``n`` features (see :func:`correct_pvalues`).
    permutations : int or bool, default 0
        0: analytical p-values. ``k > 0`` (or True for 999): conditional permutation
        inference, each feature's value held in place while its other neighbours are drawn at
        random from the remaining features; two-sided pseudo p
        ``min(1, 2 (min(#sims >= observed, #sims <= observed) + 1) / (k + 1))``.
    seed : int or None, default 0
        Seed for the permutations (same seed, same p-values).

    Returns
    -------
    GiStar

    Notes
    -----
    With ``x`` the values, ``n`` features, ``W_i = sum_j w_ij`` (self included),
    ``xbar`` the mean and ``S = sqrt(sum x^2 / n - xbar^2)``::

        z_i = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n W_i - W_i^2) / (n - 1)))

    (Getis & Ord 1992, Ord & Getis 1995; ArcGIS Pro's Hot Spot Analysis; esda's
    ``G_Local(star=True)`` z-scores ``Zs`` on binary weights). A feature whose neighbourhood
    is every feature has no variance: z = 0, p = 1. The p-value is two-sided.
    """
    correction = check_correction(correction)
    permutations = check_permutations(permutations)
    try:
        y = np.array(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ParameterError("Gi* values must be numbers") from None
    n = y.size
    if n < 3:
        raise NoDataError(f"Gi* needs at least 3 features, got {n}; use a larger area or "
                          "smaller cells")
    if not np.isfinite(y).all():
        raise ParameterError(f"{int((~np.isfinite(y)).sum())} Gi* values are NaN/infinite")
    w, added = binary_weights(weights, n)
    card = np.diff(w.indptr).astype(float)
    lag = w @ y
    z, den = gi_z_scores(y, lag, card)
    if permutations:
        p = permutation_pvalues(y, w, lag, permutations, seed)
    else:
        p = np.where(den > 0, 2.0 * ndtr(-np.abs(z)), 1.0)
    pc = correct_pvalues(p, correction)
    return GiStar(z=z, p=p, p_corrected=pc, bin=assign_bins(z, pc), values=y,
                  n_neighbours=card.astype(np.int64), correction=correction,
                  inference="permutation" if permutations else "analytical",
                  permutations=permutations, seed=seed, weights=w,
                  extra={"self_weights_added": added})


# ---------------------------------------------------------------------------- weights
def grid_weights(mask: Any, *, cell: float, distance: float) -> sparse.csr_matrix:
    """Return binary distance-band weights between the True cells of a grid mask.

    Parameters
    ----------
    mask : array_like of bool
        ``(ny, nx)``: the cells taking part (grid orientation does not matter here).
    cell : float
        Cell size, metres.
    distance : float
        Band, metres: cells whose centres are within ``distance`` of each other (inclusive,
        to a relative 1e-9) are neighbours. ``cell`` gives rook (4 neighbours), ``1.5 * cell``
        queen (8).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n x n`` over the True cells in row-major order (``numpy.flatnonzero(mask)``), self
        included.
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ParameterError("mask must be a 2-D array of bool")
    cell = _positive("cell", cell)
    distance = _positive("distance", distance)
    r = distance / cell
    kk = int(math.floor(r * (1 + 1e-9)))
    offsets = [(dy, dx) for dy in range(-kk, kk + 1) for dx in range(-kk, kk + 1)
               if dx * dx + dy * dy <= r * r * (1 + 1e-9)]
    ny, nx = m.shape
    rows, cols = np.nonzero(m)
    n = rows.size
    if n * len(offsets) > MAX_WEIGHTS:
        raise ParameterError(f"a {distance:g} m band over {n:,} cells of {cell:g} m would hold "
                             f"{n * len(offsets):,} neighbour pairs; use a shorter distance or "
                             "larger cells")
    index = np.full(ny * nx, -1, dtype=np.int64)
    index[rows * nx + cols] = np.arange(n)
    ii, jj = [], []
    own = np.arange(n)
    for dy, dx in offsets:
        rr, cc = rows + dy, cols + dx
        ok = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
        j = index[rr[ok] * nx + cc[ok]]
        hit = j >= 0
        ii.append(own[ok][hit])
        jj.append(j[hit])
    i = np.concatenate(ii)
    j = np.concatenate(jj)
    w = sparse.csr_matrix((np.ones(i.size), (i, j)), shape=(n, n))
    w.sort_indices()
    return w


def distance_band_weights(x: Any, y: Any, distance: float) -> sparse.csr_matrix:
    """Return binary weights linking points within ``distance`` metres (self included).

    Parameters
    ----------
    x, y : array_like
        Feature locations (e.g. polygon centroids), metres.
    distance : float
        Band, metres, inclusive.

    Returns
    -------
    scipy.sparse.csr_matrix
    """
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    distance = _positive("distance", distance)
    tree = cKDTree(np.column_stack([xa, ya]))
    pairs = tree.query_pairs(distance * (1 + 1e-12), output_type="ndarray")
    n = xa.size
    i = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    j = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    w = sparse.csr_matrix((np.ones(i.size), (i, j)), shape=(n, n))
    w.sort_indices()
    return w


def contiguity_weights(geometries: Any, kind: str = "queen") -> sparse.csr_matrix:
    """Return binary contiguity weights between polygons (self included).

    Parameters
    ----------
    geometries : sequence of shapely polygons or GeoSeries
    kind : {"queen", "rook"}, default "queen"
        ``queen``: polygons that share at least one point; ``rook``: polygons whose shared
        boundary has positive length. On the shipped LSOAs both equal libpysal's
        ``Queen``/``Rook.from_dataframe``.

    Returns
    -------
    scipy.sparse.csr_matrix
    """
    if kind not in CONTIGUITY:
        raise ParameterError(f"unknown contiguity {kind!r}; choose queen or rook")
    g = np.asarray(gpd.GeoSeries(geometries).values, dtype=object)
    n = g.size
    tree = shapely.STRtree(g)
    i, j = tree.query(g, predicate="intersects")
    other = i != j
    i, j = i[other], j[other]
    if kind == "rook" and i.size:
        shared = shapely.intersection(shapely.boundary(g[i]), shapely.boundary(g[j]))
        edge = shapely.length(shared) > 0
        i, j = i[edge], j[edge]
    i = np.concatenate([i, np.arange(n)])
    j = np.concatenate([j, np.arange(n)])
    w = sparse.csr_matrix((np.ones(i.size), (i, j)), shape=(n, n))
    w.sum_duplicates()
    w.data[:] = 1.0
    w.sort_indices()
    return w


# ---------------------------------------------------------------------------- grids
def _positive(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be metres, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ParameterError(f"{name} must be a positive number of metres, got {value!r}")
    return v


def default_cell(bounds: Sequence[float]) -> float:
    """Return the default Gi* cell size for a study area's bounds, metres.

    The shorter side of the bounding box over 50, rounded to the nearest 100 m, at least
    100 m: about 50 cells across the narrow way (a county: about 1,100 m; a district: 300-500 m).

    Parameters
    ----------
    bounds : (xmin, ymin, xmax, ymax)
    """
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    side = min(xmax - xmin, ymax - ymin)
    return max(MIN_CELL, math.floor(side / CELLS_ACROSS / 100.0 + 0.5) * 100.0)


def study_grid(x: Any, y: Any, *, grid: Grid | None = None,
               study_area: BaseGeometry | None = None,
               cell: float | None = None) -> tuple[Grid, np.ndarray, dict[str, Any]]:
    """Return the grid, the study-cell mask and how both were chosen.

    Parameters
    ----------
    x, y : array_like
        Points, metres (used for the extent when neither ``grid`` nor ``study_area`` is
        given).
    grid : Grid, optional
        Grid to use; default the aligned grid over ``study_area`` (or the points' bounds).
    study_area : shapely geometry, optional
        EPSG:27700 polygon; study cells are those whose centre lies inside it. Default: every
        cell of the grid.
    cell : float, optional
        Cell size, metres; default ``grid.cell``, or :func:`default_cell` of the study area's
        (or the points') bounds.

    Returns
    -------
    grid, mask, details
        ``details`` holds ``cell_m``, ``cell_rule`` and ``study_area``.
    """
    if grid is not None and not isinstance(grid, Grid):
        raise ParameterError(f"grid must be a hotspots Grid, got {type(grid).__name__}")
    if study_area is not None and (not isinstance(study_area, BaseGeometry)
                                   or study_area.is_empty):
        raise ParameterError("study_area must be a non-empty shapely polygon in EPSG:27700")
    xa, ya = check_points(x, y, allow_empty=True)
    if grid is not None:
        bounds, extent, whose = grid.bounds, "the given grid", "the grid's"
    elif study_area is not None:
        bounds, extent, whose = study_area.bounds, "the study area", "the study area's"
    elif xa.size:
        bounds, extent = (xa.min(), ya.min(), xa.max(), ya.max()), "the points"
        whose = "the points'"
    else:
        raise NoDataError("no incidents to analyse; widen the period, area or crime selection")
    if cell is None:
        if grid is not None:
            cell, rule = grid.cell, "the grid's cell"
        else:
            cell = default_cell(bounds)
            rule = (f"default: shorter side of {whose} bounding box / {CELLS_ACROSS}, "
                    f"rounded to 100 m, at least {MIN_CELL:g} m")
    else:
        cell = _positive("cell", cell)
        rule = "given"
        if grid is not None and not math.isclose(cell, grid.cell, rel_tol=1e-9):
            raise ParameterError(f"cell {cell:g} m differs from the grid's {grid.cell:g} m; "
                                 "pass one or make them equal")
    if grid is None:
        if study_area is not None:
            grid = Grid.from_geometry(study_area, cell)
        else:
            grid = Grid.from_bounds(*bounds, cell)
    mask = grid.mask(study_area)
    if not mask.any():
        raise NoDataError("the study area covers no cell centre; use smaller cells or a "
                          "larger area")
    if study_area is not None:
        area = "given polygon (cells whose centre lies inside)"
    else:
        area = "every cell of " + ("the grid over the points" if extent == "the points"
                                   else extent)
    details = {"cell_m": float(cell), "cell_rule": rule, "study_area": area}
    return grid, mask, details


def grid_band(weights: Any, distance: float | None, cell: float) -> tuple[float, str, str]:
    """Return (distance metres, weights kind, rule) for the grid neighbourhood options."""
    if isinstance(weights, str):
        if weights not in CONTIGUITY:
            raise ParameterError(f"unknown weights {weights!r}; choose queen, rook, a distance, "
                                 "or a scipy.sparse matrix")
        if distance is not None:
            raise ParameterError(f"give either weights={weights!r} or distance, not both")
        if weights == "rook":
            return cell, "rook (cells sharing an edge)", "rook: 1 cell"
        return cell * DEFAULT_DISTANCE_CELLS, "queen (cells sharing an edge or corner)", \
            "queen: the 8 surrounding cells"
    if distance is None:
        return cell * DEFAULT_DISTANCE_CELLS, "distance band", \
            f"default: {DEFAULT_DISTANCE_CELLS:g} x cell (the 8 surrounding cells)"
    d = _positive("distance", distance)
    if d < cell * (1 - 1e-9):
        raise ParameterError(f"distance {d:g} m is shorter than the {cell:g} m cell, so no cell "
                             "has a neighbour; use at least the cell size")
    return d, "distance band", "given"


def gi_star_grid(x: Any, y: Any, *, grid: Grid | None = None,
                 study_area: BaseGeometry | None = None, cell: float | None = None,
                 distance: float | None = None, weights: Any = None,
                 correction: str = "fdr_bh", permutations: int | bool = 0,
                 seed: int | None = 0) -> GiStar:
    """Return Gi* hot and cold spots of incident counts on grid cells.

    Parameters
    ----------
    x, y : array_like
        Incident eastings and northings, metres; all finite (drop unmapped incidents first).
        Points outside the study cells are not counted (reported as ``n_points_outside``).
    grid : Grid, optional
        Default: aligned over ``study_area`` or, without one, over the points' bounds.
    study_area : shapely geometry, optional
        EPSG:27700 polygon; the analysis covers the cells whose centre lies inside it, empty
        cells included (they are the low values cold spots are made of). Default: every cell
        of the grid.
    cell : float, optional
        Metres; default from the grid, else :func:`default_cell` of the study area's bounds.
    distance : float, optional
        Distance band, metres, between cell centres. Default ``1.5 x cell``: each cell with
        the 8 cells around it.
    weights : {"queen", "rook"} or scipy.sparse matrix, optional
        Contiguity instead of a distance ("queen" = band of 1.5 cells, "rook" = 1 cell), or
        your own binary weights over the study cells in row-major order.
    correction : {"fdr_bh", "bonferroni", "none"}, default "fdr_bh"
    permutations : int or bool, default 0
        See :func:`gi_star`.
    seed : int or None, default 0

    Returns
    -------
    GiStar
        2-D arrays in the grid orientation (row 0 south), NaN/0 outside the study cells;
        ``.values`` holds the counts; ``.params()`` reports cell, distance, weights kind,
        correction, number of cells and the significant counts at each level.
    """
    xa, ya = check_points(x, y, allow_empty=True)
    if xa.size == 0:
        raise NoDataError("no incidents to analyse; widen the period, area or crime selection")
    g, mask, details = study_grid(xa, ya, grid=grid, study_area=study_area, cell=cell)
    row, col = g.cell_index(xa, ya)
    on = row >= 0
    inside = np.zeros(xa.size, dtype=bool)
    inside[on] = mask[row[on], col[on]]
    counts = np.bincount(row[inside] * g.nx + col[inside], minlength=g.n_cells
                         ).reshape(g.shape).astype(float)
    if sparse.issparse(weights):
        w = weights
        d, kind, rule = None, "custom binary weights", "given"
    else:
        d, kind, rule = grid_band(weights, distance, g.cell)
        w = grid_weights(mask, cell=g.cell, distance=d)
    res = gi_star(counts[mask], w, correction=correction, permutations=permutations, seed=seed)

    def lay(v: np.ndarray, fill: float, dtype: Any) -> np.ndarray:
        out = np.full(g.shape, fill, dtype=dtype)
        out[mask] = v
        return out

    extra = dict(details)
    extra.update({"distance_m": None if d is None else float(d), "distance_rule": rule,
                  "weights": kind, "n_points": int(xa.size),
                  "n_points_in_study": int(inside.sum()),
                  "n_points_outside": int(xa.size - inside.sum()),
                  "self_weights_added": res.extra["self_weights_added"]})
    return GiStar(z=lay(res.z, np.nan, float), p=lay(res.p, np.nan, float),
                  p_corrected=lay(res.p_corrected, np.nan, float),
                  bin=lay(res.bin, 0, np.int8), values=counts,
                  n_neighbours=lay(res.n_neighbours, 0, np.int64), correction=res.correction,
                  inference=res.inference, permutations=res.permutations, seed=res.seed,
                  weights=res.weights, grid=g, mask=mask, extra=extra)


# ---------------------------------------------------------------------------- LSOAs
def _mapped_xy(incidents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Return coordinates of the mapped incidents and how many rows were unmapped."""
    if not isinstance(incidents, pd.DataFrame) or not {"x", "y"} <= set(incidents.columns):
        raise ParameterError("incidents must be an incident frame with x and y columns")
    ok, x, y = located_xy(incidents)
    return x[ok], y[ok], int((~ok).sum())


def count_in_polygons(x: Any, y: Any, polygons: Any) -> tuple[np.ndarray, int]:
    """Return incidents per polygon and how many fell in none.

    A point on a shared boundary is given to the first polygon (in order) that touches it, so
    each point counts once.

    Parameters
    ----------
    x, y : array_like
        Metres, in the polygons' CRS; finite.
    polygons : sequence of shapely polygons or GeoSeries

    Returns
    -------
    counts : numpy.ndarray of int64, one per polygon
    outside : int
    """
    xa, ya = check_points(x, y, allow_empty=True)
    g = np.asarray(gpd.GeoSeries(polygons).values, dtype=object)
    counts = np.zeros(g.size, dtype=np.int64)
    if xa.size == 0:
        return counts, 0
    # police.uk snaps incidents to a few thousand map points: join each point once.
    codes, uniq = pd.factorize(xa + 1j * ya)
    uniq = np.asarray(uniq)
    weight = np.bincount(codes, minlength=uniq.size)
    pts = shapely.points(uniq.real, uniq.imag)
    pi, gi = shapely.STRtree(g).query(pts, predicate="intersects")
    order = np.lexsort((gi, pi))
    pi, gi = pi[order], gi[order]
    first = np.concatenate(([True], pi[1:] != pi[:-1])) if pi.size else pi.astype(bool)
    pi, gi = pi[first], gi[first]
    np.add.at(counts, gi, weight[pi])
    return counts, int(xa.size - counts.sum())


def gi_star_lsoa(incidents: pd.DataFrame, lsoas: gpd.GeoDataFrame | None = None, *,
                 contiguity: str | None = "queen", distance: float | str | None = None,
                 correction: str = "fdr_bh", permutations: int | bool = 0,
                 seed: int | None = 0, settings: Settings) -> gpd.GeoDataFrame:
    """Return Gi* hot and cold spots of incident counts per LSOA.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame; mapped rows are joined to LSOAs by location (the frame's
        own ``lsoa_code`` is not used: police.uk gives 2021 codes, the shipped polygons are
        2011). Not modified.
    lsoas : geopandas.GeoDataFrame, optional
        Polygons with ``code`` and ``name``; default the shipped LSOA 2011 polygons
        (``load_boundary("lsoa", settings)``). Reprojected to EPSG:27700 if needed.
    contiguity : {"queen", "rook"} or None, default "queen"
        Neighbours that share a point (queen) or an edge (rook). Ignored when ``distance`` is
        given.
    distance : float or "auto", optional
        Distance band between LSOA centroids, metres, instead of contiguity. ``"auto"``: the
        smallest band that gives every LSOA at least one neighbour (the largest
        nearest-neighbour distance), reported.
    correction : {"fdr_bh", "bonferroni", "none"}, default "fdr_bh"
    permutations : int or bool, default 0
    seed : int or None, default 0
    settings : Settings
        For the shipped boundaries (when ``lsoas`` is not given).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per LSOA: ``code, name, count, n_neighbours, z, p, p_corrected, bin,
        geometry`` (EPSG:27700). ``attrs["params"]`` holds the method and parameters,
        ``n_incidents`` (mapped), ``n_unmapped``, ``n_outside_lsoas`` (mapped incidents in no
        LSOA, e.g. beyond the force boundary), islands (LSOAs without a neighbour).
    """
    if lsoas is None:
        from hotspots.spatial.boundaries import load_boundary

        lsoas = load_boundary("lsoa", settings)
    if not isinstance(lsoas, gpd.GeoDataFrame) or not {"code", "name"} <= set(lsoas.columns):
        raise ParameterError("lsoas must be a GeoDataFrame with code, name and geometry")
    if lsoas.empty:
        raise NoDataError("no LSOA polygons to analyse")
    if lsoas.crs is not None and lsoas.crs.to_epsg() != 27700:
        lsoas = lsoas.to_crs(CRS)
    x, y, unmapped = _mapped_xy(incidents)
    geoms = lsoas.geometry.values
    counts, outside = count_in_polygons(x, y, geoms)
    if distance is not None:
        cen = shapely.centroid(np.asarray(geoms, dtype=object))
        cx, cy = shapely.get_x(cen), shapely.get_y(cen)
        if isinstance(distance, str):
            if distance != "auto":
                raise ParameterError(f"distance must be metres or 'auto', got {distance!r}")
            dd, _ = cKDTree(np.column_stack([cx, cy])).query(np.column_stack([cx, cy]), k=2)
            d = float(dd[:, 1].max())
            rule = "auto: largest nearest-neighbour distance between LSOA centroids"
        else:
            d = _positive("distance", distance)
            rule = "given"
        w = distance_band_weights(cx, cy, d)
        wdesc = {"weights": "distance band between LSOA centroids", "distance_m": d,
                 "distance_rule": rule, "contiguity": None}
    else:
        if contiguity is None:
            raise ParameterError("give contiguity ('queen' or 'rook') or a distance")
        w = contiguity_weights(geoms, contiguity)
        wdesc = {"weights": f"{contiguity} contiguity", "contiguity": contiguity,
                 "distance_m": None, "distance_rule": None}
    res = gi_star(counts, w, correction=correction, permutations=permutations, seed=seed)
    out = gpd.GeoDataFrame(
        {"code": lsoas["code"].to_numpy(), "name": lsoas["name"].to_numpy(),
         "count": counts, "n_neighbours": res.n_neighbours, "z": res.z, "p": res.p,
         "p_corrected": res.p_corrected, "bin": res.bin},
        geometry=gpd.GeoSeries(geoms, crs=CRS).values, crs=CRS)
    params = res.params()
    params.update(wdesc)
    params.update({"features": "LSOA polygons", "n_lsoas": int(len(out)),
                   "n_incidents": int(x.size), "n_unmapped": unmapped,
                   "n_outside_lsoas": outside,
                   "islands": out.loc[res.n_neighbours <= 1, "code"].tolist()})
    out.attrs["params"] = params
    return out


# ---------------------------------------------------------------------------- use
def hot_cells(result: GiStar | pd.DataFrame, level: float = 0.95) -> Any:
    """Return where Gi* finds a hot spot at a confidence level (e.g. to use as a prediction).

    Parameters
    ----------
    result : GiStar or DataFrame
        From :func:`gi_star_grid` / :func:`gi_star`, or a frame with ``z`` and ``p_corrected``
        (e.g. from :func:`gi_star_lsoa`).
    level : float, default 0.95
        Confidence, ``0 < level < 1``: hot where ``z > 0`` and the corrected p is
        ``<= 1 - level`` (0.95 is bins +2 and +3).

    Returns
    -------
    numpy.ndarray or pandas.Series of bool
        For grid results ``(ny, nx)`` in the grid orientation, False outside the study cells.
    """
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise ParameterError(f"level must be a confidence between 0 and 1, got {level!r}") \
            from None
    if not 0 < lv < 1:
        raise ParameterError(f"level must be a confidence between 0 and 1 (e.g. 0.95), "
                             f"got {level!r}")
    alpha = (1 - lv) * (1 + 1e-12)
    if isinstance(result, GiStar):
        return (np.nan_to_num(result.z) > 0) & (np.nan_to_num(result.p_corrected, nan=1.0)
                                                 <= alpha)
    if isinstance(result, pd.DataFrame) and {"z", "p_corrected"} <= set(result.columns):
        return (result["z"] > 0) & (result["p_corrected"] <= alpha)
    raise ParameterError("hot_cells needs a Gi* result or a frame with z and p_corrected")
