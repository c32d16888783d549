"""The kernel density map method (KDE): the density surface and its densest share of the area.

Holds the one "selection -> surface -> hotspot areas" pipeline the CLI, the dashboard, the
downloads and the pack all use (:func:`density_areas`), the KDE's back-test recipe and the
candidates it adds to ``hotspots evaluate`` (every fixed bandwidth, the multi-scale KDE and the
prospective KDE).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hotspots import defaults, wording
from hotspots.method_spec import MapMethod, MethodSpec
from hotspots.models.areas import hotspot_areas
from hotspots.models.kde import Surface, kernel_density
from hotspots.models.patrol import DEFAULT_RULE, PatrolRule, patrol_areas
from hotspots.models.scoring import (
    Method,
    kde_candidates,
    multiscale_candidate,
    prospective_candidates,
    score_kde,
    score_kde_multiscale,
)
from hotspots.spatial.grid import Grid

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

#: The map's grid cell and kernel (stated in every legend), from the one set of defaults.
CELL_M = defaults.CELL_M
KERNEL = defaults.KERNEL


def density_areas(mapped: pd.DataFrame, study_area: BaseGeometry, *,
                  bandwidth: float | str | tuple[float, ...], top: float,
                  cell: float = CELL_M, kernel: str = KERNEL,
                  rule: PatrolRule = DEFAULT_RULE, places: gpd.GeoDataFrame | None = None
                  ) -> tuple[Surface, gpd.GeoDataFrame]:
    """The KDE surface of located incidents on the study area's grid, and its hotspot areas.

    Parameters
    ----------
    mapped : pandas.DataFrame
        Located incidents (canonical frame), EPSG:27700 ``x``/``y``.
    study_area : shapely geometry
        EPSG:27700; the grid is aligned to it and the areas are cut to it.
    bandwidth : float, str or tuple of float
        Metres, a rule name, or several metres for the multi-scale KDE.
    top : float
        Share of the study area marked as hotspot, ``0 < top < 1``, when ``rule`` draws the
        method's own areas (``n_areas == 0``).
    cell : float, default 100
    kernel : str, default "quartic"
    rule : PatrolRule, default 10 areas of at most 1 km²
        Patrol areas grown on the density (:func:`hotspots.models.patrol.patrol_areas`), or
        ``PatrolRule(0)`` for the densest ``top`` share of the area.
    places : geopandas.GeoDataFrame, optional
        Place points naming the patrol areas (:func:`hotspots.spatial.places.load_places`).

    Returns
    -------
    surface, areas : Surface, geopandas.GeoDataFrame
        :func:`hotspots.models.kde.kernel_density` and
        :func:`hotspots.models.patrol.patrol_areas` (or
        :func:`hotspots.models.areas.hotspot_areas`).
    """
    grid = Grid.from_geometry(study_area, cell)
    surface = kernel_density(mapped["x"].to_numpy(), mapped["y"].to_numpy(), cell=cell,
                             bandwidth=bandwidth, kernel=kernel, grid=grid)
    if rule.patrol:
        return surface, patrol_areas(surface.values, grid, mapped, study_area=study_area,
                                     rule=rule, places=places, basis="kernel density")
    return surface, hotspot_areas(surface, mapped, top=top, study_area=study_area)


def recipe(method: MapMethod, *, bandwidth: float | str | tuple[float, ...] = 500.0,
           cell: float | None = None, distance: float | None = None) -> Method:
    """The back-test method making each month's KDE as the shown map was made."""
    if isinstance(bandwidth, tuple):
        bws = [float(b) for b in bandwidth]
        return Method("kde_multiscale", wording.bandwidth_label(bandwidth), score_kde_multiscale,
                      {"bandwidths": bws, "kernel": KERNEL}, float(np.mean(bws)))
    if isinstance(bandwidth, str):
        label = f"KDE ({wording.bandwidth_rule_label(bandwidth)})"
        return Method("kde", label, score_kde, {"bandwidth": bandwidth, "kernel": KERNEL})
    return Method("kde", f"KDE {float(bandwidth):g} m", score_kde,
                  {"bandwidth": float(bandwidth), "kernel": KERNEL}, float(bandwidth))


def recipe_words(method: MapMethod, label: str, *, top: float, cell: float | None = None) -> str:
    """``"KDE 300 m, top 5% of the area"``."""
    return f"{label}, top {wording.format_share(top)} of the area"


def candidates() -> list[Method]:
    """Every fixed bandwidth, the multi-scale KDE and the prospective KDE."""
    multiscale = multiscale_candidate()
    return [*kde_candidates(), *([multiscale] if multiscale else []),
            *prospective_candidates()]


def drawable(methods: list[Method]) -> list[Method]:
    """The KDE candidates the map can draw (fixed bandwidths and the multi-scale KDE), the
    ones ``auto`` chooses among for the map."""
    return [m for m in methods if m.score in (score_kde, score_kde_multiscale)]


def candidate_bandwidth(method: Method) -> float | tuple[float, ...]:
    """The map bandwidth of a drawable KDE candidate: metres, or a tuple (multi-scale)."""
    if method.score is score_kde_multiscale:
        return tuple(float(b) for b in method.params["bandwidths"])
    return float(method.params["bandwidth"])


SPEC = MethodSpec(
    name="kde", label="KDE", area_name="Hotspot areas", area_legend="Hotspot area",
    help="KDE: density surface and the densest share of the area.",
    density=True, recipe=recipe, recipe_words=recipe_words, candidates=candidates)
