"""Patrol areas: a handful of ranked, compact areas a tasking meeting can send officers to,
chosen to hold the most of a map's predicted crime.

Every map method gives a score per 100 m cell (the KDE's density; for Gi*, emerging hot spots
and clusters the incidents' density inside the cells the method flags). :func:`grow_areas`
grows each area from the highest-scoring cell still free, adding the best neighbouring cell
until the area reaches the size cap (default 1 km², about ten minutes' walk across), so the
areas are connected, compact, never overlap and stop at ``n_areas``. :func:`patrol_areas`
turns them into the ranked hotspot-area frame with place-and-street names;
:func:`patrol_recipe` back-tests areas chosen this way on the next month.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import ndimage
from shapely.geometry.base import BaseGeometry

from hotspots import defaults
from hotspots.errors import ParameterError
from hotspots.models.areas import (
    COLUMNS,
    check_incidents,
    dissolve_labels,
    empty_areas,
    incident_cells,
)
from hotspots.models.kde import kernel_density
from hotspots.models.scoring import Method
from hotspots.schema import located_xy
from hotspots.spatial.grid import CRS, Grid
from hotspots.spatial.places import area_name, place_of, repeated_names, top_streets

#: Default number of areas and size cap (km²), from the one set of defaults: ten areas a
#: meeting can task, each about ten minutes' walk across.
N_AREAS = defaults.AREAS
MAX_AREA_KM2 = defaults.MAX_AREA_KM2
#: A cell joins an area only while its score is at least this share of the area's seed.
FLOOR = 0.2
#: Cells join only within this many times the side of a square of the size cap from the seed
#: (0.6: 600 m for 1 km², so an area is at most about 1.2 km across).
REACH = 0.6
#: Bandwidth (metres) of the incidents' density inside the cells a model map flags.
INTENSITY_BANDWIDTH = 300.0
#: Columns the patrol areas add to :data:`hotspots.models.areas.COLUMNS`.
PATROL_COLUMNS = ("name", "place", "streets", "predicted")

_STEPS = ((-1, 0), (1, 0), (0, -1), (0, 1))


@dataclass(frozen=True)
class PatrolRule:
    """How a map's areas are drawn: ``n_areas`` patrol areas of at most ``max_area_km2``, or
    (``n_areas == 0``) the method's own areas (the KDE's top share of the area, every Gi* hot
    cell, every emerging hot pattern, every cluster hull).

    Attributes
    ----------
    n_areas : int, default 10
    max_area_km2 : float, default 1.0
    """

    n_areas: int = N_AREAS
    max_area_km2: float = MAX_AREA_KM2

    def __post_init__(self) -> None:
        n = self.n_areas
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= 100:
            raise ParameterError(f"areas must be a whole number from 0 to 100 (0: the "
                                 f"method's own areas), got {n!r}")
        try:
            a = float(self.max_area_km2)
        except (TypeError, ValueError):
            a = math.nan
        if not (0 < a <= 100):
            raise ParameterError(f"max area must be a positive number of km² up to 100, got "
                                 f"{self.max_area_km2!r}")
        object.__setattr__(self, "n_areas", int(n))
        object.__setattr__(self, "max_area_km2", a)

    @property
    def patrol(self) -> bool:
        """Whether the rule draws patrol areas (``n_areas > 0``)."""
        return self.n_areas > 0

    def words(self) -> str:
        """``"up to 10 patrol areas of at most 1 km² each"``."""
        return (f"up to {self.n_areas} patrol area{'' if self.n_areas == 1 else 's'} of at most "
                f"{self.max_area_km2:g} km² each")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"n_areas", "max_area_km2"}``."""
        return {"n_areas": self.n_areas, "max_area_km2": self.max_area_km2}


#: The default rule: 10 patrol areas of at most 1 km².
DEFAULT_RULE = PatrolRule()


def grow_areas(intensity: np.ndarray, eligible: np.ndarray, *, cell: float,
               n_areas: int = N_AREAS, max_area_km2: float = MAX_AREA_KM2,
               floor: float = FLOOR, reach: float = REACH) -> np.ndarray:
    """Label up to ``n_areas`` connected, non-overlapping areas grown from the best cells.

    Parameters
    ----------
    intensity : numpy.ndarray
        ``(ny, nx)`` predicted incidents per km² (any non-negative score); not modified.
    eligible : numpy.ndarray
        ``(ny, nx)`` bool: cells that may join an area (the study area).
    cell : float
        Cell side, metres.
    n_areas : int, default 10
    max_area_km2 : float, default 1.0
        Each area holds at most ``floor(max_area_km2 / cell area)`` cells.
    floor : float, default 0.2
        A cell joins only if its score is at least this share of the area's seed score.
    reach : float, default 0.6
        Cells join only if their centre lies within ``reach * sqrt(max_area)`` of the seed's.

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` int64: 0 outside every area, ``k`` in the ``k``-th area grown.

    Notes
    -----
    Greedy: area ``k``'s seed is the highest-scoring local peak (a cell scoring at least as
    much as its eight neighbours) that no earlier area holds (ties: the first in row-major
    order); the area then takes, one at a time, the highest-scoring
    free eligible cell sharing an edge with it (rook), while it has fewer cells than the cap
    and the cell passes ``floor`` and ``reach``. Zero-score cells never join; growing stops
    early when no cell is left.
    """
    values = np.asarray(intensity, dtype=float)
    ok = np.asarray(eligible, dtype=bool) & np.isfinite(values) & (values > 0)
    if values.ndim != 2 or ok.shape != values.shape:
        raise ParameterError("intensity and eligible must be 2-D arrays of one shape")
    max_cells = int(math.floor(max_area_km2 * 1e6 / (cell * cell) + 1e-9))
    if max_cells < 1:
        raise ParameterError(f"max area {max_area_km2:g} km² is smaller than one "
                             f"{cell:g} m cell")
    radius2 = (reach * math.sqrt(max_area_km2 * 1e6) / cell) ** 2
    labels = np.zeros(values.shape, dtype=np.int64)
    # Seeds are local peaks: a cell on the edge of an earlier area is never one, so an area is
    # not made of what is left of a bigger one's slope.
    scored = np.where(ok, values, 0.0)
    peaks = ok & (scored >= ndimage.maximum_filter(scored, size=3, mode="constant", cval=0.0))
    free = np.where(peaks, values, -np.inf).ravel()  # a view of the free peaks' scores
    ny, nx = values.shape
    for k in range(1, n_areas + 1):
        seed = int(np.argmax(free))
        if not np.isfinite(free[seed]):
            break
        sr, sc = divmod(seed, nx)
        lowest = floor * values[sr, sc]
        heap = [(-values[sr, sc], sr, sc)]
        size = 0
        while heap and size < max_cells:
            _, r, c = heapq.heappop(heap)
            if labels[r, c]:
                continue
            labels[r, c] = k
            free[r * nx + c] = -np.inf
            size += 1
            for dr, dc in _STEPS:
                rr, cc = r + dr, c + dc
                if (0 <= rr < ny and 0 <= cc < nx and ok[rr, cc] and not labels[rr, cc]
                        and values[rr, cc] >= lowest
                        and (rr - sr) ** 2 + (cc - sc) ** 2 <= radius2):
                    heapq.heappush(heap, (-values[rr, cc], rr, cc))
    return labels


def masked_intensity(mask: np.ndarray, incidents: pd.DataFrame, grid: Grid, *,
                     bandwidth: float = INTENSITY_BANDWIDTH) -> np.ndarray:
    """A model map's score per cell: the incidents' kernel density (quartic, ``bandwidth``
    metres, incidents per km²) inside the cells ``mask`` flags (> 0), zero elsewhere."""
    _, x, y = located_xy(incidents)
    x, y = x[np.isfinite(x) & np.isfinite(y)], y[np.isfinite(x) & np.isfinite(y)]
    if not x.size:
        return np.zeros(grid.shape)
    density = kernel_density(x, y, bandwidth=bandwidth, kernel="quartic", grid=grid).values
    return np.where(np.asarray(mask) > 0, density, 0.0)


def _streets(labels: np.ndarray, n_labels: int, incidents: pd.DataFrame, grid: Grid,
             n: int) -> list[list[str]]:
    out: list[list[str]] = [[] for _ in range(n_labels)]
    if "location" not in incidents.columns or not n_labels:
        return out
    mapped, x, y = located_xy(incidents)
    row, col = grid.cell_index(np.where(mapped, x, np.nan), np.where(mapped, y, np.nan))
    lab = np.zeros(row.size, dtype=np.int64)
    on = row >= 0
    lab[on] = labels[row[on], col[on]]
    locations = incidents["location"].to_numpy(dtype=object)
    for k in range(1, n_labels + 1):
        out[k - 1] = top_streets(locations[lab == k], n)
    return out


def patrol_areas(intensity: np.ndarray, grid: Grid, incidents: pd.DataFrame, *,
                 study_area: BaseGeometry | None = None, rule: PatrolRule = DEFAULT_RULE,
                 places: gpd.GeoDataFrame | None = None, basis: str = "kernel density",
                 n_locations: int = 3) -> gpd.GeoDataFrame:
    """Return the patrol areas of a map's score as ranked hotspot areas with names.

    Parameters
    ----------
    intensity : numpy.ndarray
        ``(ny, nx)`` on ``grid``: predicted incidents per km² (the method's score).
    grid : Grid
    incidents : pandas.DataFrame
        The period's incidents (canonical frame; uses ``location`` and ``harm``). Not modified.
    study_area : shapely geometry, optional
        EPSG:27700; areas grow only in cells whose centre lies inside (all cells when None).
    rule : PatrolRule
        ``n_areas > 0``.
    places : geopandas.GeoDataFrame, optional
        :func:`hotspots.spatial.places.load_places`; without it areas are named by street.
    basis : str
        The score in words, for ``attrs["method"]``.
    n_locations : int, default 3

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:27700, the columns of :func:`hotspots.models.areas.hotspot_areas` (``share`` of
        the study area's mapped incidents, in-sample PAI, ``peak_density`` = the highest
        score) plus ``name`` ("Rugby town centre: Regent Street, Church Street"), ``place``,
        ``streets`` (up to three, "; "-separated) and ``predicted`` (the score summed over the
        area's cells, incidents). Ranked by incidents, then ``predicted``.
    """
    check_incidents(incidents, n_locations)
    if not isinstance(rule, PatrolRule) or not rule.patrol:
        raise ParameterError("patrol_areas needs a PatrolRule with n_areas > 0")
    values = np.asarray(intensity, dtype=float)
    if values.shape != grid.shape:
        raise ParameterError(f"intensity has shape {values.shape}, the grid {grid.shape}")
    study = grid.mask(study_area)
    n_study = int(study.sum())
    cell_km2 = grid.cell_area / 1e6
    study_km2 = n_study * cell_km2
    _, row, col, on_grid, in_study, n_inc = incident_cells(incidents, grid, study)
    labels = grow_areas(values, study, cell=grid.cell, n_areas=rule.n_areas,
                        max_area_km2=rule.max_area_km2)
    n_labels = int(labels.max())
    method: dict[str, Any] = {
        "method": f"{rule.words()}, grown from the highest {basis} cells (connected by shared "
                  f"edges, no overlap, cells of at least {FLOOR:.0%} of the seed's score), "
                  "chosen to hold the most predicted incidents, ranked by incidents",
        **rule.to_dict(), "basis": basis, "floor": FLOOR, "reach_m":
            REACH * math.sqrt(rule.max_area_km2 * 1e6), "adjacency": "rook",
        "study_cells": n_study, "study_area_km2": study_km2,
        "incidents_in_study_area": n_inc, "selected_cells": int((labels > 0).sum()),
        "selected_area_share": float((labels > 0).sum() / max(n_study, 1)),
        "pai": "in-sample: share of incidents / share of study area"}
    if not n_labels:
        out = empty_areas(method)
        for col_name, dtype in zip(PATROL_COLUMNS, ("object", "object", "object", "float64"),
                                   strict=True):
            out.insert(len(out.columns) - 1, col_name, pd.Series(dtype=dtype))
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=CRS)
        out.attrs["method"] = method
        return out
    idx = np.arange(1, n_labels + 1)
    peaks = np.asarray(ndimage.maximum(values, labels, idx), dtype=float)
    gdf = dissolve_labels(grid, labels, n_labels, incidents, row, col, on_grid, in_study,
                          n_inc, study_km2, peaks, n_locations)
    gdf["predicted"] = np.asarray(ndimage.sum(values, labels, idx), dtype=float) * cell_km2
    streets = _streets(labels, n_labels, incidents, grid, 3)
    repeated = repeated_names(places) if places is not None else frozenset()
    gdf["place"] = [place_of(g, places, repeated=repeated) if places is not None else ""
                    for g in gdf.geometry]
    gdf["streets"] = ["; ".join(s) for s in streets]
    gdf["name"] = [area_name(p, s) or f"Area {k}" for p, s, k in
                   zip(gdf["place"], streets, idx, strict=True)]
    gdf = gdf.sort_values(["incidents", "predicted", "_label"],
                          ascending=[False, False, True], kind="stable")
    gdf.insert(0, "rank", np.arange(1, n_labels + 1, dtype=np.int64))
    gdf = gdf.drop(columns="_label").reset_index(drop=True)
    cols = [c for c in COLUMNS if c != "geometry"] + list(PATROL_COLUMNS) + ["geometry"]
    out = gpd.GeoDataFrame(gdf[cols], geometry="geometry", crs=CRS)
    out.attrs["method"] = method
    return out


# ------------------------------------------------------------------------------ back-test


def score_patrol(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                 study_area: BaseGeometry | None = None, *, base: Any, dense: bool,
                 n_areas: int = N_AREAS, max_area_km2: float = MAX_AREA_KM2,
                 **params: Any) -> np.ndarray:
    """Score the back-test grid 1 in the patrol areas the training months' map would draw.

    ``base`` is the map's own score function (with ``params``); a density map (``dense``)
    grows the areas on its score, a model map on the training incidents' density inside the
    cells it flags (:func:`masked_intensity`). At coverage 1 the flagged area is then exactly
    the ``n_areas`` patrol areas.
    """
    if not len(train):
        return np.zeros(grid.shape)
    scores = np.asarray(base(train, grid, window, study_area, **params), dtype=float)
    intensity = scores if dense else masked_intensity(np.nan_to_num(scores, neginf=0.0),
                                                      train, grid)
    labels = grow_areas(intensity, grid.mask(study_area), cell=grid.cell, n_areas=n_areas,
                        max_area_km2=max_area_km2)
    return (labels > 0).astype(float)


def patrol_recipe(base: Method, rule: PatrolRule, *, dense: bool) -> Method:
    """The back-test method of a map whose areas are ``rule``'s patrol areas over ``base``'s
    score (measure it at coverage 1)."""
    return Method("patrol", f"{base.label}, {rule.words()}",
                  partial(score_patrol, base=base.score, dense=dense),
                  {**base.params, **rule.to_dict()}, base.smoothness,
                  {**base.notes, "areas": rule.words()})


# ------------------------------------------------------------------------------ records

#: The keys of every area record (:func:`area_records`), in order.
RECORD_KEYS = ("rank", "name", "place", "streets", "incidents", "share", "area_km2")


def area_records(areas: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Ranked areas as JSON-ready records: :data:`RECORD_KEYS` (``streets`` a list), then
    ``predicted``, ``previous`` and ``trend`` when known, and ``lon``/``lat`` of a point
    inside. Areas without names (the methods' own) get ``name`` from their top locations."""
    from hotspots.jsonvalue import json_value
    from hotspots.spatial.crs import to_wgs84
    from hotspots.wording import trend_label

    if areas is None or not len(areas):
        return []
    inner = areas.geometry.representative_point()
    lon, lat = to_wgs84(inner.x.to_numpy(), inner.y.to_numpy())
    out = []
    for i, (_, row) in enumerate(areas.iterrows()):
        streets = [s for s in str(row.get("streets") or "").split("; ") if s]
        name = row.get("name") or str(row.get("top_locations") or "").split("; ")[0]
        rec: dict[str, Any] = {
            "rank": int(row["rank"]), "name": str(name or f"Area {int(row['rank'])}"),
            "place": str(row.get("place") or ""), "streets": streets,
            "incidents": int(row["incidents"]), "share": float(row["share"]),
            "area_km2": round(float(row["area_km2"]), 4)}
        if "predicted" in row:
            rec["predicted"] = round(float(row["predicted"]), 2)
        if "previous" in row:
            prev = row["previous"]
            rec["previous"] = None if prev is pd.NA or prev is None else int(prev)
            rec["trend"] = trend_label(row["incidents"], prev)
        for extra in ("confidence", "pattern", "cluster", "pai", "top_locations"):
            if extra in row:
                rec[extra] = row[extra]
        rec["lon"], rec["lat"] = round(float(lon[i]), 6), round(float(lat[i]), 6)
        out.append(json_value(rec))
    return out
