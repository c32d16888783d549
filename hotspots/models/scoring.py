"""Back-test candidates: the ``Method`` record, its score functions and the default list.

Each candidate turns a training window of incidents into a score per grid cell; the rolling-origin
back-test (:func:`hotspots.models.evaluate.evaluate`) ranks cells by it. The constructors
(:func:`kde_candidates`, :func:`multiscale_candidate`, :func:`prospective_candidates`,
:func:`gistar_candidate`, :func:`counts_candidate`) build the registry's parts, so a caller can
compose its own list; :func:`default_methods` is the list the back-test compares by default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from hotspots.jsonvalue import json_value
from hotspots.models.gistar import DEFAULT_DISTANCE_CELLS, gi_star_grid, grid_weights
from hotspots.models.kde import (
    DEFAULT_MULTISCALE_BANDWIDTHS,
    MULTISCALE_COMBINATION,
    check_bandwidths,
    kernel_density,
    multiscale_density,
)
from hotspots.models.prospective import prospective_density
from hotspots.spatial.grid import Grid

DEFAULT_BANDWIDTHS = (200.0, 300.0, 500.0, 750.0, 1000.0)

#: ``score(training incidents, grid, training months, study area, **params) -> (ny, nx)``.
ScoreFunction = Callable[..., np.ndarray]


def _xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return (frame["x"].to_numpy(dtype=float, na_value=np.nan),
            frame["y"].to_numpy(dtype=float, na_value=np.nan))


def score_kde(train: pd.DataFrame, grid: Grid, window: Sequence[str],
              study_area: BaseGeometry | None = None, *, bandwidth: float = 500.0,
              kernel: str = "quartic") -> np.ndarray:
    """Score cells by the kernel density of every training incident (equal weights).

    Parameters
    ----------
    train : pandas.DataFrame
        Mapped training incidents (canonical frame).
    grid : Grid
    window : sequence of str
        The training months, oldest first (unused: every incident weighs the same).
    study_area : shapely geometry, optional
        Unused: kernels are evaluated on every grid cell.
    bandwidth : float, default 500
        Metres.
    kernel : str, default "quartic"

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` incidents per km^2; zeros when there are no training incidents.
    """
    if len(train) == 0:
        return np.zeros(grid.shape)
    x, y = _xy(train)
    return kernel_density(x, y, bandwidth=bandwidth, kernel=kernel, grid=grid).values


def score_kde_multiscale(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                         study_area: BaseGeometry | None = None, *,
                         bandwidths: Sequence[float] = DEFAULT_MULTISCALE_BANDWIDTHS,
                         kernel: str = "quartic") -> np.ndarray:
    """Score cells by the multi-scale KDE (:func:`hotspots.models.kde.multiscale_density`).

    The KDE surfaces at each bandwidth, each scaled to the same total over the grid so every
    bandwidth weighs the same, are averaged: an ensemble across spatial scales, which smooths
    over the choice of one bandwidth (variance reduction). The dashboard's map draws the same
    surface, so a map of this method ranks cells exactly as its back-test does.

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` incidents per km^2; zeros when there are no training incidents.
    """
    bws = check_bandwidths(bandwidths)
    if len(train) == 0:
        return np.zeros(grid.shape)
    x, y = _xy(train)
    return multiscale_density(x, y, bandwidths=bws, kernel=kernel, grid=grid).values


def score_prospective(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                      study_area: BaseGeometry | None = None, *, bandwidth: float = 500.0,
                      kernel: str = "quartic") -> np.ndarray:
    """Score cells by prospective KDE: incident weight ``1 / (1 + age in months)``.

    Age 0 is the last training month; see
    :func:`hotspots.models.prospective.prospective_density`.
    """
    if len(train) == 0:
        return np.zeros(grid.shape)
    return prospective_density(train, as_of=window[-1], window=len(window), months=window,
                               bandwidth=bandwidth, kernel=kernel, grid=grid).values


def score_counts(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                 study_area: BaseGeometry | None = None, *, months: int = 1) -> np.ndarray:
    """Score cells by their incident count in the last ``months`` training months (naive)."""
    recent = set(window[-int(months):])
    keep = train["month"].astype(str).isin(recent).to_numpy()
    x, y = _xy(train[keep])
    return count_cells(x, y, grid).astype(float)


_GI_WEIGHTS: list[tuple[Grid, Any, float, Any]] = []


def _gi_weights(grid: Grid, study_area: BaseGeometry | None, distance: float):
    """Binary distance-band weights over the study cells, kept for the next fold.

    Every fold of a back-test has the same grid and study area, and building the weights is
    most of Gi*'s cost, so the last set is reused (matched by identity of the area).
    """
    for g, area, d, w in _GI_WEIGHTS:
        if g == grid and area is study_area and d == distance:
            return w
    w = grid_weights(grid.mask(study_area), cell=grid.cell, distance=distance)
    _GI_WEIGHTS[:] = [(grid, study_area, distance, w)]
    return w


def score_gistar(train: pd.DataFrame, grid: Grid, window: Sequence[str],
                 study_area: BaseGeometry | None = None, *, distance: float | None = None,
                 **params: Any) -> np.ndarray:
    """Score cells by the Getis-Ord Gi* z-score of their counts (higher = hotter).

    Uses :func:`hotspots.models.gistar.gi_star_grid` over the study cells (its mean and
    variance are the study area's) with binary distance-band weights, ``distance`` metres
    between cell centres (default 1.5 cells: a cell and its 8 neighbours); other ``params``
    (e.g. ``correction``) are passed through. Cells outside the study area score ``-inf``.
    """
    if len(train) == 0:
        return np.zeros(grid.shape)
    d = grid.cell * DEFAULT_DISTANCE_CELLS if distance is None else float(distance)
    x, y = _xy(train)
    z = np.asarray(gi_star_grid(x, y, grid=grid, study_area=study_area,
                                weights=_gi_weights(grid, study_area, d), **params).z,
                   dtype=float)
    return np.where(np.isfinite(z), z, -np.inf)


@dataclass(frozen=True)
class Method:
    """One way to turn a training window into a score per cell.

    Attributes
    ----------
    name : str
        Family: ``"kde"``, ``"kde_multiscale"``, ``"prospective"``, ``"gistar"``,
        ``"counts"``.
    label : str
        Unique, human-readable (e.g. ``"KDE 500 m"``).
    score : callable
        ``score(train, grid, window, study_area, **params) -> (ny, nx)`` array; higher =
        hotter. ``train`` holds the mapped incidents of the training months ``window``
        (oldest first).
    params : dict
        Keyword arguments for ``score``; reported with every result.
    notes : dict
        Further facts to report (e.g. the Gi* neighbourhood when it is a default).
    smoothness : float
        Spatial scale in metres; ``auto`` prefers the larger one when mean PAIs tie (the
        multi-scale KDE counts as the mean of its bandwidths).
    """

    name: str
    label: str
    score: ScoreFunction
    params: dict[str, Any] = field(default_factory=dict)
    smoothness: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """Return the method's name, label, parameters and notes, JSON-ready."""
        return {"method": self.name, "label": self.label, **json_value(self.params),
                **json_value(self.notes)}


# ---------------------------------------------------------------------------- candidates
_EQUAL_WEIGHTS = {"weights": "every training incident 1"}


def kde_candidates(bandwidths: Sequence[float] = DEFAULT_BANDWIDTHS, kernel: str = "quartic"
                   ) -> list[Method]:
    """Return one fixed-bandwidth KDE candidate per bandwidth (:func:`score_kde`).

    Parameters
    ----------
    bandwidths : sequence of float, default (200, 300, 500, 750, 1000)
        Metres, in the order the candidates are listed.
    kernel : str, default "quartic"

    Returns
    -------
    list of Method
        Labelled ``"KDE <b> m"``; smoothness is the bandwidth.
    """
    return [Method("kde", f"KDE {b:g} m", score_kde, {"bandwidth": float(b), "kernel": kernel},
                   float(b), dict(_EQUAL_WEIGHTS)) for b in bandwidths]


def multiscale_candidate(bandwidths: Sequence[float] = DEFAULT_MULTISCALE_BANDWIDTHS,
                         kernel: str = "quartic") -> Method | None:
    """Return the multi-scale KDE candidate (:func:`score_kde_multiscale`), None when empty.

    Parameters
    ----------
    bandwidths : sequence of float, default (300, 500, 750, 1000)
        Metres; checked with :func:`hotspots.models.kde.check_bandwidths`.
    kernel : str, default "quartic"

    Returns
    -------
    Method or None
        Labelled ``"KDE multi-scale <min>-<max> m"``; smoothness is the mean bandwidth.
    """
    ms = list(check_bandwidths(bandwidths)) if len(bandwidths) else []
    if not ms:
        return None
    return Method("kde_multiscale", f"KDE multi-scale {min(ms):g}-{max(ms):g} m",
                  score_kde_multiscale, {"bandwidths": ms, "kernel": kernel},
                  float(np.mean(ms)), {**_EQUAL_WEIGHTS, "combination": MULTISCALE_COMBINATION})


def prospective_candidates(bandwidths: Sequence[float] = DEFAULT_BANDWIDTHS,
                           kernel: str = "quartic") -> list[Method]:
    """Return one prospective KDE candidate per spatial bandwidth (:func:`score_prospective`).

    Parameters
    ----------
    bandwidths : sequence of float, default (200, 300, 500, 750, 1000)
        Metres, in the order the candidates are listed.
    kernel : str, default "quartic"

    Returns
    -------
    list of Method
        Labelled ``"prospective KDE <b> m"``; smoothness is the bandwidth.
    """
    return [Method("prospective", f"prospective KDE {b:g} m", score_prospective,
                   {"bandwidth": float(b), "kernel": kernel}, float(b),
                   {"weights": "1 / (1 + age in months), age 0 = last training month"})
            for b in bandwidths]


def gistar_candidate() -> Method:
    """Return the Gi* hot cells candidate (:func:`score_gistar` with its defaults)."""
    return Method("gistar", "Gi* hot cells", score_gistar, {}, 0.0, {
        "rank_by": "Gi* z-score of training counts per cell",
        "neighbourhood": "the cell and its 8 surrounding cells (distance band 1.5 cells)",
        "study_cells": "the study area's cells (mean and variance over them)"})


def counts_candidate() -> Method:
    """Return the naive candidate: incidents per cell in the last training month.

    Scored by :func:`score_counts` over one month.
    """
    return Method("counts", "last month's counts", score_counts, {"months": 1}, 0.0,
                  {"rank_by": "incidents per cell in the last training month"})


def default_methods(*, bandwidths: Sequence[float] = DEFAULT_BANDWIDTHS,
                    kernel: str = "quartic",
                    prospective_bandwidths: Sequence[float] = DEFAULT_BANDWIDTHS,
                    gistar: bool = True,
                    multiscale_bandwidths: Sequence[float] = DEFAULT_MULTISCALE_BANDWIDTHS
                    ) -> list[Method]:
    """Return the registry the back-test compares by default.

    Parameters
    ----------
    bandwidths : sequence of float, default (200, 300, 500, 750, 1000)
        Fixed KDE bandwidths, metres.
    kernel : str, default "quartic"
    prospective_bandwidths : sequence of float, default (200, 300, 500, 750, 1000)
        Spatial bandwidths of the prospective KDE, metres.
    gistar : bool, default True
        Include Gi* hot cells (needs :mod:`hotspots.models.gistar`).
    multiscale_bandwidths : sequence of float, default (300, 500, 750, 1000)
        Bandwidths of the multi-scale KDE (:func:`score_kde_multiscale`); empty: leave it out.

    Returns
    -------
    list of Method
        KDE per bandwidth, the multi-scale KDE, prospective KDE per bandwidth, Gi*, and naive
        last-month counts (the constructors above, in that order).
    """
    multiscale = multiscale_candidate(multiscale_bandwidths, kernel)
    return [*kde_candidates(bandwidths, kernel),
            *([multiscale] if multiscale is not None else []),
            *prospective_candidates(prospective_bandwidths, kernel),
            *([gistar_candidate()] if gistar else []),
            counts_candidate()]


def count_cells(x: Any, y: Any, grid: Grid) -> np.ndarray:
    """Return the number of points in each cell, ``(ny, nx)`` int64 (off-grid/NaN ignored)."""
    row, col = grid.cell_index(x, y)
    ok = row >= 0
    flat = np.bincount(row[ok] * grid.nx + col[ok], minlength=grid.n_cells)
    return flat.reshape(grid.shape).astype(np.int64)
