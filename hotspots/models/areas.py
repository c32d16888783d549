"""Ranked hotspot areas: the densest share of a study area's cells (KDE), and the same ranked
areas from Gi* hot cells, emerging hot spot patterns and cluster hulls."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.features import shapes
from scipy import ndimage
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from hotspots.errors import NoDataError, ParameterError
from hotspots.models.kde import Surface
from hotspots.schema import located_xy
from hotspots.spatial.grid import CRS, Grid, north_up

COLUMNS = ("rank", "incidents", "share", "area_km2", "pai", "peak_density", "top_locations",
           "harm", "geometry")

#: Cells within this fraction of the peak below the threshold count as tied with it.
TIE_TOLERANCE = 1e-9

_ROOK = ndimage.generate_binary_structure(2, 1)


def empty_areas(method: dict[str, Any]) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {"rank": pd.Series(dtype="int64"), "incidents": pd.Series(dtype="int64"),
         "share": pd.Series(dtype="float64"), "area_km2": pd.Series(dtype="float64"),
         "pai": pd.Series(dtype="float64"), "peak_density": pd.Series(dtype="float64"),
         "top_locations": pd.Series(dtype="object"), "harm": pd.Series(dtype="float64")},
        geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)
    gdf.attrs["method"] = method
    return gdf


def _top_locations(labels: np.ndarray, names: pd.Series, n: int, n_labels: int) -> list[str]:
    """Return, per label 1..n_labels, the ``n`` most frequent names as "name (count); ..."."""
    out = [""] * n_labels
    if n == 0 or labels.size == 0:
        return out
    df = pd.DataFrame({"lab": labels, "name": names.to_numpy(dtype=object)})
    df = df[df["name"].notna() & (df["name"].astype(str).str.strip() != "")]
    if df.empty:
        return out
    counts = df.groupby(["lab", "name"]).size().reset_index(name="count")
    counts = counts.sort_values(["lab", "count", "name"], ascending=[True, False, True])
    for lab, g in counts.groupby("lab", sort=False):
        out[int(lab) - 1] = "; ".join(f"{nm} ({int(c)})"
                                      for nm, c in zip(g["name"].head(n), g["count"].head(n),
                                                       strict=True))
    return out


def incident_cells(incidents: pd.DataFrame, grid: Grid, study: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Mapped flag, cell row/col, on-grid and in-study flags of each incident, and the count."""
    mapped, x, y = located_xy(incidents)
    row, col = grid.cell_index(np.where(mapped, x, np.nan), np.where(mapped, y, np.nan))
    on_grid = row >= 0
    in_study = np.zeros(x.size, dtype=bool)
    in_study[on_grid] = study[row[on_grid], col[on_grid]]
    return mapped, row, col, on_grid, in_study, int(in_study.sum())


def dissolve_labels(grid: Grid, labels: np.ndarray, n_labels: int, incidents: pd.DataFrame,
              row: np.ndarray, col: np.ndarray, on_grid: np.ndarray, in_study: np.ndarray,
              n_inc: int, study_km2: float, peaks: np.ndarray, n_locations: int
              ) -> gpd.GeoDataFrame:
    """One polygon per label 1..n_labels with its incidents, share, PAI, locations and harm.

    Returned unranked, in label order, with a ``_label`` column.
    """
    idx = np.arange(1, n_labels + 1)
    cells = np.bincount(labels.ravel(), minlength=n_labels + 1)[1:]
    lab = np.zeros(row.size, dtype=np.int64)
    lab[on_grid] = labels[row[on_grid], col[on_grid]]
    hit = lab > 0
    counts = np.bincount(lab[hit], minlength=n_labels + 1)[1:]
    if "harm" in incidents.columns:
        harm_all = incidents["harm"].to_numpy(dtype=float, na_value=np.nan)
        known = hit & np.isfinite(harm_all)
        harm = np.bincount(lab[known], weights=harm_all[known], minlength=n_labels + 1)[1:]
        if not np.isfinite(harm_all[in_study]).any():
            harm = np.full(n_labels, np.nan)
    else:
        harm = np.full(n_labels, np.nan)
    names = (incidents["location"][hit] if "location" in incidents.columns
             else pd.Series([None] * int(hit.sum()), dtype=object))
    tops = _top_locations(lab[hit], names, n_locations, n_labels)

    selected = labels > 0
    geoms: dict[int, list[BaseGeometry]] = {}
    lab_img = np.ascontiguousarray(north_up(labels).astype(np.int32))
    sel_img = np.ascontiguousarray(north_up(selected))
    for g, v in shapes(lab_img, mask=sel_img, connectivity=4, transform=grid.transform):
        geoms.setdefault(int(v), []).append(shape(g))
    polys = [geoms[i][0] if len(geoms[i]) == 1 else unary_union(geoms[i]) for i in idx]

    area_km2 = cells * grid.cell_area / 1e6
    share = counts / n_inc if n_inc else np.full(n_labels, np.nan)
    return gpd.GeoDataFrame({
        "incidents": counts.astype(np.int64),
        "share": share.astype(float),
        "area_km2": area_km2,
        "pai": share / (area_km2 / study_km2),
        "peak_density": peaks,
        "top_locations": tops,
        "harm": harm,
        "_label": idx,
    }, geometry=gpd.GeoSeries(polys, crs=CRS), crs=CRS)


def hotspot_areas(surface: Surface, incidents: pd.DataFrame, *, top: float = 0.05,
                  study_area: BaseGeometry | None = None,
                  n_locations: int = 3) -> gpd.GeoDataFrame:
    """Return the densest ``top`` share of the study area as contiguous polygons, ranked.

    Parameters
    ----------
    surface : Surface
        From :func:`hotspots.models.kde.kernel_density`.
    incidents : pandas.DataFrame
        Canonical incident frame (needs ``x``, ``y``; uses ``has_location``, ``location`` and
        ``harm`` when present). Rows without a location or outside the study cells are ignored.
        Not modified. It need not be the frame the surface came from (out-of-sample PAI).
    top : float, default 0.05
        Share of the study area's cells to select, ``0 < top <= 1``.
    study_area : shapely geometry, optional
        Polygon in EPSG:27700; the study area is the set of cells whose centre lies inside it
        (all grid cells when None). Incidents count by the cell they fall in.
    n_locations : int, default 3
        How many location names to list per area.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:27700, one row per rook-contiguous group of selected cells (cells sharing an
        edge; diagonal neighbours are separate areas), sorted by ``rank``: 1 = most incidents
        (ties broken by higher ``peak_density``). Columns:

        ``rank``; ``incidents`` (mapped incidents in the area's cells); ``share`` (of the
        mapped incidents in the study cells; NaN when there are none); ``area_km2``; ``pai``
        (in-sample Prediction Accuracy Index, ``share / (area_km2 / study_area_km2)``);
        ``peak_density`` (incidents per km^2); ``top_locations`` (e.g.
        ``"On or near High Street (42); On or near Parking Area (17)"``, most frequent first,
        ties alphabetical); ``harm`` (sum of known harm, NaN without harm values); ``geometry``.
        ``gdf.attrs["method"]`` holds the surface parameters and the selection details.

    Notes
    -----
    Selection: with ``N`` study cells, ``k = ceil(top * N)``; the threshold is the ``k``-th
    largest density among the study cells and every study cell with density >= threshold
    (less ``1e-9`` of the peak, to absorb rounding) and > 0 is selected. Cells tied at the
    threshold are therefore all included, so the selected share can exceed ``top`` (reported
    as ``selected_area_share``); zero-density cells are never selected, so it can also fall
    short.
    """
    if not isinstance(surface, Surface):
        raise ParameterError(f"surface must be a kde Surface, got {type(surface).__name__}")
    try:
        top = float(top)
    except (TypeError, ValueError):
        raise ParameterError(f"top must be a share between 0 and 1, got {top!r}") from None
    if not (0 < top <= 1):
        raise ParameterError(f"top must be a share in (0, 1], e.g. 0.05 for 5 %, got {top!r}")
    check_incidents(incidents, n_locations)

    grid = surface.grid
    values = surface.values
    study = grid.mask(study_area)
    n_study = int(study.sum())
    if n_study == 0:
        raise NoDataError("the study area covers no cell centre of the surface grid; use a "
                          "larger area or smaller cells")
    cell_km2 = grid.cell_area / 1e6
    study_km2 = n_study * cell_km2

    _, row, col, on_grid, in_study, n_inc = incident_cells(incidents, grid, study)

    sv = values[study]
    peak = float(sv.max())
    k = max(1, math.ceil(top * n_study - 1e-9))
    threshold = float(np.partition(sv, n_study - k)[n_study - k])
    method: dict[str, Any] = {
        "method": "top share of kernel density cells in the study area, dissolved by rook "
                  "adjacency, ranked by incidents",
        "top": top,
        "threshold_density": threshold,
        "ties": "cells tied at the threshold (within 1e-9 of the peak) are all included",
        "adjacency": "rook",
        "study_cells": n_study,
        "study_area_km2": study_km2,
        "incidents_in_study_area": n_inc,
        "pai": "in-sample: share of incidents / share of study area",
        "surface": surface.params(),
    }
    selected = study & (values >= threshold - TIE_TOLERANCE * peak) & (values > 0)
    method["selected_cells"] = int(selected.sum())
    method["selected_area_share"] = float(selected.sum() / n_study)
    if not selected.any():
        return empty_areas(method)

    labels, n_labels = ndimage.label(selected, structure=_ROOK)
    peaks = np.asarray(ndimage.maximum(values, labels, np.arange(1, n_labels + 1)), dtype=float)
    gdf = dissolve_labels(grid, labels, n_labels, incidents, row, col, on_grid, in_study, n_inc,
                    study_km2, peaks, n_locations)
    gdf = gdf.sort_values(["incidents", "peak_density", "_label"],
                          ascending=[False, False, True], kind="stable")
    gdf.insert(0, "rank", np.arange(1, n_labels + 1, dtype=np.int64))
    gdf = gdf.drop(columns="_label").reset_index(drop=True)
    gdf = gdf[list(COLUMNS)]
    gdf.attrs["method"] = method
    return gdf


# ------------------------------------------------------------------ areas of the other methods

#: Gi* confidence levels (per cent) and the lowest bin that reaches each.
CONFIDENCE_BINS = {90: 1, 95: 2, 99: 3}
#: Extra columns of :func:`gistar_areas`, :func:`emerging_areas` and :func:`cluster_areas`.
GISTAR_COLUMNS = ("confidence", "max_z")
EMERGING_COLUMNS = ("pattern",)
CLUSTER_COLUMNS = ("cluster", "crime_mix", "first_month", "last_month")


def _cell_result(cells: gpd.GeoDataFrame, needs: Sequence[str], what: str
                 ) -> tuple[Grid, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """The grid, study mask and cell rows/cols of a grid result frame (Gi* or emerging)."""
    if not isinstance(cells, pd.DataFrame) or not {"row", "col", *needs} <= set(cells.columns):
        raise ParameterError(f"cells must be the cell frame of {what} (row, col, "
                             + ", ".join(needs) + ")")
    params = dict(cells.attrs.get("params") or {})
    if "grid" not in params:
        raise ParameterError(f"cells carry no grid in attrs['params']; pass the frame {what} "
                             "returned")
    grid = Grid.from_dict(params["grid"])
    r = cells["row"].to_numpy(dtype=np.int64)
    c = cells["col"].to_numpy(dtype=np.int64)
    if ((r < 0) | (r >= grid.ny) | (c < 0) | (c >= grid.nx)).any():
        raise ParameterError("cells lie outside their own grid; pass the frame unmodified")
    study = np.zeros(grid.shape, dtype=bool)
    study[r, c] = True
    return grid, study, r, c, params


def check_incidents(incidents: Any, n_locations: Any) -> None:
    if not isinstance(incidents, pd.DataFrame) or not {"x", "y"} <= set(incidents.columns):
        raise ParameterError("incidents must be an incident frame with x and y columns")
    if isinstance(n_locations, bool) or not isinstance(n_locations, int) or n_locations < 0:
        raise ParameterError(f"n_locations must be a whole number >= 0, got {n_locations!r}")


def _ranked_frame(gdf: gpd.GeoDataFrame, extra: Sequence[str], by: Sequence[str],
                  method: dict[str, Any]) -> gpd.GeoDataFrame:
    gdf = gdf.sort_values(["incidents", *by, "_label"],
                          ascending=[False] + [False] * len(by) + [True], kind="stable")
    gdf.insert(0, "rank", np.arange(1, len(gdf) + 1, dtype=np.int64))
    gdf = gdf.drop(columns="_label").reset_index(drop=True)
    cols = [c for c in COLUMNS if c != "geometry"] + list(extra) + ["geometry"]
    out = gpd.GeoDataFrame(gdf[cols], geometry="geometry", crs=CRS)
    out.attrs["method"] = method
    return out


def _empty_with(method: dict[str, Any], extra: dict[str, str]) -> gpd.GeoDataFrame:
    base = empty_areas(method)
    for name, dtype in extra.items():
        base.insert(len(base.columns) - 1, name, pd.Series(dtype=dtype))
    base = gpd.GeoDataFrame(base, geometry="geometry", crs=CRS)
    base.attrs["method"] = method
    return base


def gistar_areas(cells: gpd.GeoDataFrame, incidents: pd.DataFrame, *,
                 min_confidence: int = 90, n_locations: int = 3) -> gpd.GeoDataFrame:
    """Return Gi* hot cells as contiguous areas, ranked by incidents, like :func:`hotspot_areas`.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        :meth:`hotspots.models.gistar.GiStar.to_frame` output (one row per study cell, with
        ``row``, ``col``, ``count``, ``z``, ``bin`` and the grid in ``attrs["params"]``).
    incidents : pandas.DataFrame
        The incidents the Gi* counts came from (uses ``location`` and ``harm`` when present).
        Not modified.
    min_confidence : {90, 95, 99}, default 90
        Hot cells at this confidence or more after the result's correction are kept.
    n_locations : int, default 3

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:27700, the columns of :func:`hotspot_areas` (``peak_density`` = the busiest
        cell's incidents per km²; PAI in-sample over the study cells) plus ``confidence`` (the
        highest confidence any of the area's cells reaches, per cent) and ``max_z``. Ranked by
        incidents, then ``max_z``. ``attrs["method"]`` states the rule and carries the Gi*
        parameters under ``model``.
    """
    check_incidents(incidents, n_locations)
    if min_confidence not in CONFIDENCE_BINS:
        raise ParameterError(f"min_confidence must be 90, 95 or 99, got {min_confidence!r}")
    grid, study, r, c, params = _cell_result(cells, ("count", "z", "bin"), "gi_star_grid")
    cell_km2 = grid.cell_area / 1e6
    study_km2 = float(study.sum()) * cell_km2
    bins = np.zeros(grid.shape, dtype=np.int64)
    bins[r, c] = cells["bin"].to_numpy(dtype=np.int64)
    z = np.full(grid.shape, -np.inf)
    z[r, c] = cells["z"].to_numpy(dtype=float, na_value=-np.inf)
    density = np.zeros(grid.shape)
    density[r, c] = cells["count"].to_numpy(dtype=float) / cell_km2
    selected = study & (bins >= CONFIDENCE_BINS[min_confidence])
    _, row, col, on_grid, in_study, n_inc = incident_cells(incidents, grid, study)
    method: dict[str, Any] = {
        "method": f"Gi* hot cells at {min_confidence}% confidence or more "
                  f"({params.get('correction_name') or params.get('correction', '')}), "
                  "dissolved by rook adjacency, ranked by incidents",
        "min_confidence": min_confidence, "adjacency": "rook",
        "study_cells": int(study.sum()), "study_area_km2": study_km2,
        "incidents_in_study_area": n_inc, "selected_cells": int(selected.sum()),
        "selected_area_share": float(selected.sum() / max(int(study.sum()), 1)),
        "pai": "in-sample: share of incidents / share of study area", "model": params}
    if not selected.any():
        return _empty_with(method, {"confidence": "int64", "max_z": "float64"})
    labels, n_labels = ndimage.label(selected, structure=_ROOK)
    idx = np.arange(1, n_labels + 1)
    peaks = np.asarray(ndimage.maximum(density, labels, idx), dtype=float)
    gdf = dissolve_labels(grid, labels, n_labels, incidents, row, col, on_grid, in_study, n_inc,
                    study_km2, peaks, n_locations)
    top_bin = np.asarray(ndimage.maximum(bins, labels, idx), dtype=np.int64)
    level = {b: lv for lv, b in CONFIDENCE_BINS.items()}
    gdf["confidence"] = np.array([level[int(b)] for b in top_bin], dtype=np.int64)
    gdf["max_z"] = np.asarray(ndimage.maximum(z, labels, idx), dtype=float)
    return _ranked_frame(gdf, GISTAR_COLUMNS, ["max_z"], method)


def emerging_areas(cells: gpd.GeoDataFrame, incidents: pd.DataFrame, *,
                   patterns: Sequence[str] | None = None, n_locations: int = 3
                   ) -> gpd.GeoDataFrame:
    """Return emerging hot spot cells as contiguous areas of one pattern each, ranked.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        :func:`hotspots.models.emerging.emerging_hotspots` output (``row``, ``col``,
        ``count``, ``pattern``, the grid in ``attrs["params"]``).
    incidents : pandas.DataFrame
        The incidents the analysis counted (every time step). Not modified.
    patterns : sequence of str, optional
        Patterns to keep; default every hot spot pattern (``"... hot spot"``).
    n_locations : int, default 3

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`hotspot_areas` plus ``pattern``: cells join an area only with
        rook neighbours of the same pattern. ``peak_density`` is the busiest cell's incidents
        per km² over all time steps. Ranked by incidents.
    """
    check_incidents(incidents, n_locations)
    grid, study, r, c, params = _cell_result(cells, ("count", "pattern"), "emerging_hotspots")
    cell_km2 = grid.cell_area / 1e6
    study_km2 = float(study.sum()) * cell_km2
    pattern = cells["pattern"].astype(str).to_numpy()
    if patterns is None:
        keep = sorted({p for p in pattern if p.endswith("hot spot")})
    else:
        keep = [str(p) for p in ([patterns] if isinstance(patterns, str) else patterns)]
    codes = np.full(grid.shape, -1, dtype=np.int64)
    code_of = {p: i for i, p in enumerate(keep)}
    codes[r, c] = [code_of.get(p, -1) for p in pattern]
    density = np.zeros(grid.shape)
    density[r, c] = cells["count"].to_numpy(dtype=float) / cell_km2
    _, row, col, on_grid, in_study, n_inc = incident_cells(incidents, grid, study)
    selected = study & (codes >= 0)
    method: dict[str, Any] = {
        "method": "emerging hot spot cells (" + (", ".join(keep) or "none") + "), dissolved "
                  "by rook adjacency within one pattern, ranked by incidents",
        "patterns": keep, "adjacency": "rook, same pattern",
        "study_cells": int(study.sum()), "study_area_km2": study_km2,
        "incidents_in_study_area": n_inc, "selected_cells": int(selected.sum()),
        "selected_area_share": float(selected.sum() / max(int(study.sum()), 1)),
        "pai": "in-sample over every time step: share of incidents / share of study area",
        "model": params}
    if not selected.any():
        return _empty_with(method, {"pattern": "object"})
    labels = np.zeros(grid.shape, dtype=np.int64)
    n_labels = 0
    area_pattern: list[str] = []
    for code, name in enumerate(keep):
        lab, k = ndimage.label(codes == code, structure=_ROOK)
        labels[lab > 0] = lab[lab > 0] + n_labels
        n_labels += int(k)
        area_pattern += [name] * int(k)
    idx = np.arange(1, n_labels + 1)
    peaks = np.asarray(ndimage.maximum(density, labels, idx), dtype=float)
    gdf = dissolve_labels(grid, labels, n_labels, incidents, row, col, on_grid, in_study, n_inc,
                    study_km2, peaks, n_locations)
    gdf["pattern"] = area_pattern
    return _ranked_frame(gdf, EMERGING_COLUMNS, ["peak_density"], method)


def _mix_text(value: Any, limit: int = 3) -> str:
    if not isinstance(value, dict) or not value:
        return ""
    items = sorted(value.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))[:limit]
    return "; ".join(f"{k} ({int(v)})" for k, v in items)


def cluster_areas(clusters: gpd.GeoDataFrame, *, study_area_km2: float) -> gpd.GeoDataFrame:
    """Return density clusters in the shape of :func:`hotspot_areas`, ranked by incidents.

    Parameters
    ----------
    clusters : geopandas.GeoDataFrame
        :func:`hotspots.models.clusters.find_clusters` output (hull per cluster).
    study_area_km2 : float
        The study area, for the in-sample PAI (``share / (area_km2 / study_area_km2)``).

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :func:`hotspot_areas` (``share`` as the clusters report it, of the
        mapped incidents; ``peak_density`` = the cluster's incidents per km² of hull, NaN for
        a hull without area) plus ``cluster`` (the number on the map), ``crime_mix`` (the three
        commonest types), ``first_month`` and ``last_month``.
    """
    need = {"cluster", "incidents", "share", "area_km2", "top_locations", "geometry"}
    if not isinstance(clusters, pd.DataFrame) or not need <= set(clusters.columns):
        raise ParameterError("clusters must be the frame find_clusters returned ("
                             + ", ".join(sorted(need)) + ")")
    try:
        study_km2 = float(study_area_km2)
    except (TypeError, ValueError):
        study_km2 = math.nan
    if not (study_km2 > 0 and math.isfinite(study_km2)):
        raise ParameterError(f"study_area_km2 must be a positive area, got {study_area_km2!r}")
    params = dict(clusters.attrs.get("params") or {})
    method: dict[str, Any] = {
        "method": f"density clusters ({str(params.get('method', '')).upper()}), convex hulls, "
                  "ranked by incidents",
        "study_area_km2": study_km2,
        "pai": "in-sample: share of mapped incidents / hull area share of the study area",
        "model": params}
    extra = {"cluster": "int64", "crime_mix": "object", "first_month": "object",
             "last_month": "object"}
    if not len(clusters):
        return _empty_with(method, extra)
    area = clusters["area_km2"].astype(float).to_numpy()
    inc = clusters["incidents"].astype(np.int64).to_numpy()
    share = clusters["share"].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(area > 0, inc / area, np.nan)
        pai = np.where(area > 0, share / (area / study_km2), np.nan)
    gdf = gpd.GeoDataFrame({
        "incidents": inc, "share": share, "area_km2": area, "pai": pai,
        "peak_density": density,
        "top_locations": clusters["top_locations"].astype(str).to_numpy(),
        "harm": (clusters["harm"].astype(float).to_numpy() if "harm" in clusters
                 else np.full(len(clusters), np.nan)),
        "cluster": clusters["cluster"].astype(np.int64).to_numpy(),
        "crime_mix": [_mix_text(v) for v in (clusters["by_type"] if "by_type" in clusters
                                             else [None] * len(clusters))],
        "first_month": (clusters["first_month"].astype(str).to_numpy()
                        if "first_month" in clusters else ""),
        "last_month": (clusters["last_month"].astype(str).to_numpy()
                       if "last_month" in clusters else ""),
        "_label": clusters["cluster"].astype(np.int64).to_numpy(),
    }, geometry=gpd.GeoSeries(clusters.geometry.to_numpy(), crs=clusters.crs or CRS))
    gdf = gdf.to_crs(CRS)
    return _ranked_frame(gdf, CLUSTER_COLUMNS, [], method)
