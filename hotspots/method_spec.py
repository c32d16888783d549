"""What a map method is: the spec every registry entry fills in, and the values it hands over.

A map method (KDE, Gi*, emerging hot spots, clusters, or one a force adds) is one
:class:`MethodSpec`: how it runs on a selection's incidents, how its result becomes ranked
areas, how it states itself, how its map layer is drawn, how each month's map is made again for
the back-test, and which back-test candidates it adds to ``hotspots evaluate``. Everything that
lists or dispatches on methods (the CLI's choices, the dashboard's switcher, the pack,
``evaluate``) reads :mod:`hotspots.registry` instead of comparing names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from hotspots import defaults
from hotspots.spatial.grid import Grid

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from hotspots.models.scoring import Method

#: Labels of the multiple-testing corrections of Gi* and emerging hot spots.
CORRECTION_LABELS = {"fdr_bh": "Benjamini-Hochberg FDR", "bonferroni": "Bonferroni",
                     "none": "None"}
#: Labels of the cluster map's algorithms.
CLUSTER_LABELS = {"dbscan": "DBSCAN (250 m)", "hdbscan": "HDBSCAN"}
#: Coverage that flags every cell a map marks (cells scoring above zero), for maps whose area
#: is set by the method (Gi*, emerging, clusters) rather than by a share of the area.
MAP_COVERAGE = 1.0


@dataclass(frozen=True)
class MapMethod:
    """The map method chosen above the map and its own options.

    Attributes
    ----------
    name : str
        A registered method (:func:`hotspots.registry.names`).
    correction : {"fdr_bh", "bonferroni", "none"}
        Multiple-testing correction, for methods whose spec lists the ``correction`` option.
    cluster_method : {"dbscan", "hdbscan"}
        Clustering, for methods whose spec lists the ``cluster_method`` option.
    """

    name: str = "kde"
    correction: str = defaults.CORRECTION
    cluster_method: str = defaults.CLUSTER_METHOD


@dataclass(frozen=True)
class MapAreas:
    """The ranked areas a map shows, with the words that go with them.

    Attributes
    ----------
    method : str
        The map method's registry name.
    name : str
        What the areas are called (the spec's ``area_name``).
    areas : geopandas.GeoDataFrame
        :func:`hotspots.models.areas.hotspot_areas`'s columns (plus the method's own, e.g.
        ``confidence``, ``pattern`` or ``crime_mix``), EPSG:27700, ranked by incidents.
    statement : str
        The map legend's statement of method and parameters, then how the areas were drawn
        from the result (plain text).
    legend : str
        One area's name in a legend (the spec's ``area_legend``).
    """

    method: str
    name: str
    areas: gpd.GeoDataFrame
    statement: str
    legend: str = "Hotspot area"


def _none(*_args: Any, **_kwargs: Any) -> list:
    return []


@dataclass(frozen=True)
class MethodSpec:
    """One map method: everything the CLI, dashboard, pack and back-test need to know of it.

    Attributes
    ----------
    name : str
        Registry key, used on the command line (``--method NAME``) and in URLs.
    label : str
        Its name for people, e.g. ``"Gi*"``.
    area_name, area_legend : str
        What its ranked areas are called in tables and files, and one area in a legend.
    help : str
        One sentence for the switcher's help and ``--help``.
    density : bool
        The method is the density surface (KDE): its area is the densest share of the study
        area, set by the bandwidth and hotspot-share options; the others mark their own area.
    options : tuple of str
        Which :class:`MapMethod` options apply (``"correction"``, ``"cluster_method"``).
    mapped_only : bool
        Whether the model takes only located incidents (clusters count unlocated ones).
    result : callable, optional
        ``result(method, incidents, *, study_area, months_held) -> GeoDataFrame``: the
        model's cells or hulls with ``attrs["params"]`` (None for the density surface, which
        :mod:`hotspots.method_kde` draws).
    areas : callable, optional
        ``areas(result, mapped_incidents, *, study_area) -> GeoDataFrame``: ranked areas in
        the hotspot-area columns, ``attrs["method"]["method"]`` stating the area rule.
    statement : callable, optional
        ``statement(params, *, start, end, crimes, missing) -> str``: the legend's one line.
    layer : callable, optional
        ``layer(result, *, crimes, area, start, end, missing, unmapped) -> ModelLayer``.
    metrics : callable, optional
        ``metrics(result) -> [(label, value, help), ...]``: three headline figures.
    recipe : callable
        ``recipe(method, *, bandwidth, cell, distance) -> Method``: the back-test method that
        makes each month's map the way the shown map was made.
    recipe_words : callable
        ``recipe_words(method, label, *, top, cell) -> str``: how that map is made, in words.
    candidates : callable
        ``candidates() -> [Method, ...]``: what the method adds to ``hotspots evaluate``'s
        default comparison (may be empty).
    cells : callable, optional
        ``cells(result, grid) -> (ny, nx) array``: the cells of ``grid`` the model flags (> 0),
        inside which its patrol areas grow on the incidents' density
        (:func:`hotspots.models.patrol.masked_intensity`); None for the density surface,
        whose patrol areas grow on the density itself.
    """

    name: str
    label: str
    area_name: str
    area_legend: str
    recipe: Callable[..., Method]
    recipe_words: Callable[..., str]
    help: str = ""
    density: bool = False
    options: tuple[str, ...] = ()
    mapped_only: bool = True
    result: Callable[..., gpd.GeoDataFrame] | None = None
    areas: Callable[..., gpd.GeoDataFrame] | None = None
    statement: Callable[..., str] | None = None
    layer: Callable[..., Any] | None = None
    metrics: Callable[..., list[tuple[str, str, str]]] | None = None
    candidates: Callable[[], list[Method]] = field(default=_none)
    cells: Callable[..., np.ndarray] | None = None


# ----------------------------------------------------------------------------- grid helpers


def fine_from_coarse(values: np.ndarray, coarse: Grid, fine: Grid) -> np.ndarray:
    """Give each cell of ``fine`` the value of the ``coarse`` cell holding its centre."""
    x, y = fine.centres(mesh=True)
    row, col = coarse.cell_index(x.ravel(), y.ravel())
    out = np.zeros(fine.n_cells, dtype=float)
    ok = row >= 0
    out[ok] = values[row[ok], col[ok]]
    return out.reshape(fine.shape)


def hull_cells(hulls: Sequence[BaseGeometry], grid: Grid) -> np.ndarray:
    """Return a bool ``(ny, nx)`` array: cells whose square overlaps a hull (touching is not).

    Parameters
    ----------
    hulls : sequence of shapely polygons
        EPSG:27700.
    grid : Grid

    Returns
    -------
    numpy.ndarray
    """
    out = np.zeros(grid.shape, dtype=bool)
    c = grid.cell
    for hull in hulls:
        if hull is None or hull.is_empty:
            continue
        xmin, ymin, xmax, ymax = hull.bounds
        c0 = max(0, int(np.floor((xmin - grid.x0) / c)))
        c1 = min(grid.nx, int(np.ceil((xmax - grid.x0) / c)))
        r0 = max(0, int(np.floor((ymin - grid.y0) / c)))
        r1 = min(grid.ny, int(np.ceil((ymax - grid.y0) / c)))
        if c0 >= c1 or r0 >= r1:
            continue
        cols, rows = np.meshgrid(np.arange(c0, c1), np.arange(r0, r1))
        x0 = grid.x0 + cols.ravel() * c
        y0 = grid.y0 + rows.ravel() * c
        boxes = shapely.box(x0, y0, x0 + c, y0 + c)
        hit = shapely.intersects(hull, boxes) & ~shapely.touches(hull, boxes)
        out[rows.ravel()[hit], cols.ravel()[hit]] = True
    return out
