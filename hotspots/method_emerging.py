"""The emerging hot spot map method: space-time Gi* with a Mann-Kendall trend per cell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from hotspots import model_maps, wording
from hotspots.method_spec import MapMethod, MethodSpec, fine_from_coarse
from hotspots.models.areas import emerging_areas
from hotspots.models.emerging import emerging_hotspots
from hotspots.models.scoring import Method
from hotspots.schema import mapped_rows
from hotspots.spatial.grid import Grid

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

#: Patterns that flag a cell as hot next month: hot in the final step.
HOT_NOW = ("new hot spot", "consecutive hot spot", "intensifying hot spot",
           "persistent hot spot", "diminishing hot spot", "sporadic hot spot",
           "oscillating hot spot")


def result(method: MapMethod, incidents: pd.DataFrame, *, study_area: BaseGeometry | None,
           months_held: Sequence[str] = ()) -> gpd.GeoDataFrame:
    """Emerging hot spots with ``months_held`` as the time steps (a month the data lacks is
    dropped, never a zero), as ``hotspots emerging`` runs them."""
    return emerging_hotspots(mapped_rows(incidents), study_area=study_area,
                             correction=method.correction, months_held=list(months_held))


def areas(cells: gpd.GeoDataFrame, incidents: pd.DataFrame, *,
          study_area: BaseGeometry | None = None) -> gpd.GeoDataFrame:
    """Cells of each hot spot pattern, joined within the pattern."""
    return emerging_areas(cells, mapped_rows(incidents))


def cells(result: gpd.GeoDataFrame, grid: Grid) -> np.ndarray:
    """The cells of every hot spot pattern on ``grid``: 1 inside, else 0."""
    coarse = Grid.from_dict(result.attrs["params"]["grid"])
    hot = np.zeros(coarse.shape)
    flag = result["pattern"].astype(str).str.endswith("hot spot").to_numpy()
    hot[result["row"].to_numpy()[flag], result["col"].to_numpy()[flag]] = 1.0
    return fine_from_coarse(hot, coarse, grid)


def statement(params: dict, *, start: str, end: str, crimes: str,
              missing: Sequence[str] = ()) -> str:
    """The emerging map legend's one line (its time steps say the period)."""
    return wording.emerging_statement(params, crimes=crimes)


def layer(cells: gpd.GeoDataFrame, *, crimes: str, area: str, start: str, end: str,
          missing: Sequence[str] = (), unmapped: int = 0) -> model_maps.ModelLayer:
    """The emerging cells' map layer."""
    return model_maps.emerging_layer(cells, crimes=crimes, area=area, unmapped=unmapped)


def metrics(cells: gpd.GeoDataFrame) -> list[tuple[str, str, str]]:
    """Cells with a hot pattern, of which new, consecutive or intensifying, cold cells."""
    p = cells.attrs.get("params", {})
    pattern = cells["pattern"].astype(str)
    hot = int(pattern.str.endswith("hot spot").sum())
    rising = int(pattern.isin(("new hot spot", "consecutive hot spot",
                               "intensifying hot spot")).sum())
    cold = int(pattern.str.endswith("cold spot").sum())
    steps = int(p.get("n_periods", 0))
    return [
        ("Cells with a hot pattern", f"{hot:,}",
         f"Any hot spot class over the {steps} time steps (ArcGIS Pro's definitions)."),
        ("New, consecutive or intensifying", f"{rising:,}",
         "Hot spots that have appeared or are getting stronger: the ones to watch."),
        ("Cells with a cold pattern", f"{cold:,}", "Any cold spot class.")]


def score_emerging_hot(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                       study_area: BaseGeometry | None = None, *, cell: float | None = None,
                       correction: str = "fdr_bh") -> np.ndarray:
    """Score the back-test grid by the emerging map's cells hot in the last training month.

    Emerging hot spots run on the training months as time steps (``months_held`` = the
    window); cells whose pattern is hot in the final step (:data:`HOT_NOW`: every hot class but
    historical) score 1.
    """
    if not len(train):
        return np.zeros(grid.shape)
    res = emerging_hotspots(train, study_area=study_area, cell=cell, correction=correction,
                            months_held=list(window))
    coarse = Grid.from_dict(res.attrs["params"]["grid"])
    hot = np.zeros(coarse.shape)
    flag = res["pattern"].astype(str).isin(HOT_NOW).to_numpy()
    hot[res["row"].to_numpy()[flag], res["col"].to_numpy()[flag]] = 1.0
    return fine_from_coarse(hot, coarse, grid)


def recipe(method: MapMethod, *, bandwidth: object = None, cell: float | None = None,
           distance: float | None = None) -> Method:
    """The back-test method making each month's emerging map as the shown one was made."""
    return Method("emerging", "emerging hot spots (hot in the last month)",
                  score_emerging_hot, {"cell": cell, "correction": method.correction})


def recipe_words(method: MapMethod, label: str, *, top: float, cell: float | None = None) -> str:
    """``"emerging hot spots hot in the last month (FDR)"``."""
    corr = wording.CORRECTION_SHORT.get(method.correction, method.correction)
    return f"emerging hot spots hot in the last month ({corr})"


SPEC = MethodSpec(
    name="emerging", label="Emerging hot spots", area_name="Emerging hot spot areas",
    area_legend="Emerging hot spot area",
    help="Emerging hot spots: Gi* month by month with a trend test.",
    options=("correction",), result=result, areas=areas, statement=statement, layer=layer,
    metrics=metrics, recipe=recipe, recipe_words=recipe_words, cells=cells)
