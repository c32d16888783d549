"""The cluster map method: DBSCAN / HDBSCAN groups of incidents and their hulls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from hotspots import model_maps, wording
from hotspots.errors import NoDataError, ParameterError
from hotspots.method_spec import MapMethod, MethodSpec, hull_cells
from hotspots.models.areas import cluster_areas
from hotspots.models.clusters import find_clusters
from hotspots.models.scoring import Method
from hotspots.spatial.grid import Grid

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry


def result(method: MapMethod, incidents: pd.DataFrame, *, study_area: BaseGeometry | None,
           months_held: Sequence[str] = ()) -> gpd.GeoDataFrame:
    """Clusters with their reported defaults (incidents without a location are counted by the
    clustering, not clustered)."""
    return find_clusters(incidents, method=method.cluster_method)


def areas(hulls: gpd.GeoDataFrame, incidents: pd.DataFrame, *,
          study_area: BaseGeometry | None = None) -> gpd.GeoDataFrame:
    """The hulls, ranked, with their share of the study area."""
    if study_area is None:
        raise ParameterError("cluster areas need the study area (their share of it)")
    return cluster_areas(hulls, study_area_km2=study_area.area / 1e6)


def cells(result: gpd.GeoDataFrame, grid: Grid) -> np.ndarray:
    """The cells a cluster hull overlaps on ``grid``: 1 inside, else 0."""
    return hull_cells(list(result.geometry), grid).astype(float)


def statement(params: dict, *, start: str, end: str, crimes: str,
              missing: Sequence[str] = ()) -> str:
    """The cluster legend's one line."""
    return wording.cluster_statement(params, start=start, end=end, crimes=crimes,
                                        missing=list(missing))


def layer(hulls: gpd.GeoDataFrame, *, crimes: str, area: str, start: str, end: str,
          missing: Sequence[str] = (), unmapped: int = 0) -> model_maps.ModelLayer:
    """The cluster hulls' map layer."""
    return model_maps.cluster_layer(hulls, crimes=crimes, area=area, start=start, end=end,
                                    missing=list(missing))


def metrics(hulls: gpd.GeoDataFrame) -> list[tuple[str, str, str]]:
    """Clusters, incidents in them, the largest."""
    p = hulls.attrs.get("params", {})
    n_mapped = int(p.get("mapped", 0))
    inside = int(p.get("clustered_incidents", 0))
    share = f" ({inside / n_mapped:.0%})" if n_mapped else ""
    largest = int(hulls["incidents"].max()) if len(hulls) else 0
    return [
        ("Clusters", f"{len(hulls):,}",
         f"Found by {str(p.get('method', '')).upper()}, numbered by size on the map."),
        ("Incidents in clusters", f"{inside:,}{share}",
         f"Of {n_mapped:,} mapped incidents; the rest are noise (in no cluster)."),
        ("Largest cluster", f"{largest:,} incidents", "Cluster 1 on the map.")]


def score_cluster_hulls(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                        study_area: BaseGeometry | None = None, *,
                        method: str = "dbscan") -> np.ndarray:
    """Score the back-test grid by the cluster map: 1 in cells a cluster hull overlaps."""
    if not len(train):
        return np.zeros(grid.shape)
    try:
        clusters = find_clusters(train, method=method)
    except NoDataError:
        return np.zeros(grid.shape)
    return hull_cells(list(clusters.geometry), grid).astype(float)


def recipe(method: MapMethod, *, bandwidth: object = None, cell: float | None = None,
           distance: float | None = None) -> Method:
    """The back-test method making each month's cluster map as the shown one was made."""
    return Method("clusters", f"{method.cluster_method.upper()} cluster hulls",
                  score_cluster_hulls, {"method": method.cluster_method})


def recipe_words(method: MapMethod, label: str, *, top: float, cell: float | None = None) -> str:
    """``"DBSCAN cluster hulls (cells they overlap)"``."""
    return f"{method.cluster_method.upper()} cluster hulls (cells they overlap)"


SPEC = MethodSpec(
    name="clusters", label="Clusters", area_name="Clusters", area_legend="Cluster",
    help="Clusters: groups of incidents packed closely together (DBSCAN / HDBSCAN).",
    options=("cluster_method",), mapped_only=False, result=result, areas=areas,
    statement=statement, layer=layer, metrics=metrics, recipe=recipe, recipe_words=recipe_words,
    cells=cells)
