"""The Gi* map method: Getis-Ord Gi* hot and cold cells on the study area's grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from hotspots import model_maps, wording
from hotspots.errors import ParameterError
from hotspots.method_spec import MapMethod, MethodSpec, fine_from_coarse
from hotspots.models.areas import gistar_areas
from hotspots.models.gistar import gi_star_grid
from hotspots.models.scoring import Method, gistar_candidate
from hotspots.schema import mapped_rows
from hotspots.spatial.grid import Grid

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry


def result(method: MapMethod, incidents: pd.DataFrame, *, study_area: BaseGeometry | None,
           months_held: Sequence[str] = ()) -> gpd.GeoDataFrame:
    """Gi* on the study area's default grid (cell = shorter side / 50, rounded to 100 m), as
    ``hotspots gistar`` runs it: the cell squares with z, p and confidence bin."""
    located = mapped_rows(incidents)
    res = gi_star_grid(located["x"].to_numpy(), located["y"].to_numpy(),
                       study_area=study_area, correction=method.correction)
    return res.to_frame()


def areas(cells: gpd.GeoDataFrame, incidents: pd.DataFrame, *,
          study_area: BaseGeometry | None = None) -> gpd.GeoDataFrame:
    """Hot cells at 90 % or more after the correction, joined where they share an edge."""
    return gistar_areas(cells, mapped_rows(incidents))


def cells(result: gpd.GeoDataFrame, grid: Grid) -> np.ndarray:
    """The hot cells at 90 % or more (after the correction) on ``grid``: 1 inside, else 0."""
    coarse = Grid.from_dict(result.attrs["params"]["grid"])
    hot = np.zeros(coarse.shape)
    flag = result["bin"].to_numpy(dtype=np.int64) > 0
    hot[result["row"].to_numpy()[flag], result["col"].to_numpy()[flag]] = 1.0
    return fine_from_coarse(hot, coarse, grid)


def statement(params: dict, *, start: str, end: str, crimes: str,
              missing: Sequence[str] = ()) -> str:
    """The Gi* legend's one line."""
    return wording.gistar_statement(params, start=start, end=end, crimes=crimes,
                                       missing=list(missing))


def layer(cells: gpd.GeoDataFrame, *, crimes: str, area: str, start: str, end: str,
          missing: Sequence[str] = (), unmapped: int = 0) -> model_maps.ModelLayer:
    """The Gi* cells' map layer."""
    return model_maps.gistar_layer(cells, crimes=crimes, area=area, start=start, end=end,
                                   missing=list(missing), unmapped=unmapped)


def metrics(cells: gpd.GeoDataFrame) -> list[tuple[str, str, str]]:
    """Hot cells at 90 % or more, at 99 %, cold cells."""
    p = cells.attrs.get("params", {})
    hot, cold = p.get("hot", {}), p.get("cold", {})
    of = (f"{int(p.get('n_cells') or len(cells)):,} cells of "
          f"{wording.format_metres(float(p.get('cell_m', 0)))}")
    return [
        ("Hot cells (90%+)", f"{int(hot.get('90', 0)):,}",
         f"Cells with significantly more incidents around them than the area's average, "
         f"at 90% confidence or more after the correction; of {of}."),
        ("Hot cells at 99%", f"{int(hot.get('99', 0)):,}",
         "The most confident hot cells (corrected p <= 0.01)."),
        ("Cold cells (90%+)", f"{int(cold.get('90', 0)):,}",
         "Cells significantly quieter than the area's average (not the same as safe).")]


def score_gistar_hot(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                     study_area: BaseGeometry | None = None, *, cell: float,
                     distance: float | None = None, correction: str = "fdr_bh") -> np.ndarray:
    """Score the back-test grid by the Gi* map's hot cells: bin +1..+3 inside, 0 elsewhere.

    Gi* runs on the training incidents exactly as the map does (``cell``, ``distance``,
    ``correction``); each 100 m back-test cell takes the bin of the Gi* cell holding its centre,
    cold and not significant cells score 0, so at coverage 1 the flagged area is the map's hot
    cells at 90 % confidence or more.
    """
    located = mapped_rows(train)
    if located.empty:
        return np.zeros(grid.shape)
    res = gi_star_grid(located["x"].to_numpy(dtype=float), located["y"].to_numpy(dtype=float),
                       study_area=study_area, cell=cell, distance=distance,
                       correction=correction)
    return fine_from_coarse(np.maximum(res.bin.astype(float), 0.0), res.grid, grid)


def recipe(method: MapMethod, *, bandwidth: object = None, cell: float | None = None,
           distance: float | None = None) -> Method:
    """The back-test method making each month's Gi* map as the shown one was made."""
    if cell is None:
        raise ParameterError("the Gi* back-test needs the map's cell size")
    return Method("gistar_map", f"Gi* hot cells ({wording.format_metres(cell)}, 90%+)",
                  score_gistar_hot, {"cell": float(cell), "distance": distance,
                                     "correction": method.correction})


def recipe_words(method: MapMethod, label: str, *, top: float, cell: float | None = None) -> str:
    """``"Gi* hot cells at 90% or more (1,100 m cells, FDR)"``."""
    corr = wording.CORRECTION_SHORT.get(method.correction, method.correction)
    return f"Gi* hot cells at 90% or more ({wording.format_metres(cell or 0)} cells, {corr})"


SPEC = MethodSpec(
    name="gistar", label="Gi*", area_name="Gi* hot spot areas (90%+ confidence)",
    area_legend="Gi* hot spot area",
    help="Gi*: cells with significantly more (hot) or fewer (cold) incidents around them than "
         "the area's average.",
    options=("correction",), result=result, areas=areas, statement=statement, layer=layer,
    metrics=metrics, recipe=recipe, recipe_words=recipe_words,
    candidates=lambda: [gistar_candidate()], cells=cells)
