"""Hotspot areas: the densest share of a study area's cells, dissolved and ranked by incidents."""

from __future__ import annotations

import math
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
from hotspots.spatial.grid import CRS, north_up

COLUMNS = ("rank", "incidents", "share", "area_km2", "pai", "peak_density", "top_locations",
           "harm", "geometry")

#: Cells within this fraction of the peak below the threshold count as tied with it.
TIE_TOLERANCE = 1e-9

_ROOK = ndimage.generate_binary_structure(2, 1)


def _empty(method: dict[str, Any]) -> gpd.GeoDataFrame:
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
    if isinstance(n_locations, bool) or not isinstance(n_locations, int) or n_locations < 0:
        raise ParameterError(f"n_locations must be a whole number >= 0, got {n_locations!r}")
    if not isinstance(incidents, pd.DataFrame) or not {"x", "y"} <= set(incidents.columns):
        raise ParameterError("incidents must be an incident frame with x and y columns")

    grid = surface.grid
    values = surface.values
    study = grid.mask(study_area)
    n_study = int(study.sum())
    if n_study == 0:
        raise NoDataError("the study area covers no cell centre of the surface grid; use a "
                          "larger area or smaller cells")
    cell_km2 = grid.cell_area / 1e6
    study_km2 = n_study * cell_km2

    # Incidents -> cells.
    x = incidents["x"].to_numpy(dtype=float, na_value=np.nan)
    y = incidents["y"].to_numpy(dtype=float, na_value=np.nan)
    mapped = np.isfinite(x) & np.isfinite(y)
    if "has_location" in incidents.columns:
        mapped &= incidents["has_location"].fillna(False).to_numpy(dtype=bool)
    row, col = grid.cell_index(np.where(mapped, x, np.nan), np.where(mapped, y, np.nan))
    on_grid = row >= 0
    in_study = np.zeros(x.size, dtype=bool)
    in_study[on_grid] = study[row[on_grid], col[on_grid]]
    n_inc = int(in_study.sum())

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
        return _empty(method)

    labels, n_labels = ndimage.label(selected, structure=_ROOK)
    idx = np.arange(1, n_labels + 1)
    cells = np.bincount(labels.ravel(), minlength=n_labels + 1)[1:]
    peaks = np.asarray(ndimage.maximum(values, labels, idx), dtype=float)

    lab = np.zeros(x.size, dtype=np.int64)
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

    geoms: dict[int, list[BaseGeometry]] = {}
    lab_img = np.ascontiguousarray(north_up(labels).astype(np.int32))
    sel_img = np.ascontiguousarray(north_up(selected))
    for g, v in shapes(lab_img, mask=sel_img, connectivity=4, transform=grid.transform):
        geoms.setdefault(int(v), []).append(shape(g))
    polys = [geoms[i][0] if len(geoms[i]) == 1 else unary_union(geoms[i]) for i in idx]

    area_km2 = cells * cell_km2
    share = counts / n_inc if n_inc else np.full(n_labels, np.nan)
    gdf = gpd.GeoDataFrame({
        "incidents": counts.astype(np.int64),
        "share": share.astype(float),
        "area_km2": area_km2,
        "pai": share / (area_km2 / study_km2),
        "peak_density": peaks,
        "top_locations": tops,
        "harm": harm,
        "_label": idx,
    }, geometry=gpd.GeoSeries(polys, crs=CRS), crs=CRS)
    gdf = gdf.sort_values(["incidents", "peak_density", "_label"],
                          ascending=[False, False, True], kind="stable")
    gdf.insert(0, "rank", np.arange(1, n_labels + 1, dtype=np.int64))
    gdf = gdf.drop(columns="_label").reset_index(drop=True)
    gdf = gdf[list(COLUMNS)]
    gdf.attrs["method"] = method
    return gdf
