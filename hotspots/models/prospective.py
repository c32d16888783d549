"""Prospective (near-repeat weighted) kernel density: recent incidents count more."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from hotspots.errors import NoDataError, ParameterError
from hotspots.models.kde import Surface, kernel_density
from hotspots.months import month_index, month_name
from hotspots.schema import located_xy
from hotspots.spatial.grid import Grid

AGE_UNITS = ("month", "week")

#: Default look-back, in age units: the three months the back-test trains on.
DEFAULT_WINDOW = 3

_WEIGHTING = "1 / (1 + age)"


def age_weights(ages: Any) -> np.ndarray:
    """Return the prospective weight of each age: ``1 / (1 + age)``.

    Parameters
    ----------
    ages : array_like of int
        Whole age units (months or weeks) before the reference period, ``>= 0``; age 0 is the
        reference period itself.

    Returns
    -------
    numpy.ndarray of float
        1 for age 0, 1/2 for age 1, 1/3 for age 2, ... (Bowers, Johnson & Pease 2004 weight an
        incident by the reciprocal of one plus its age).
    """
    a = np.asarray(ages, dtype=float)
    if a.size and (not np.isfinite(a).all() or (a < 0).any()):
        raise ParameterError("ages must be finite and >= 0 (age 0 is the reference period)")
    return 1.0 / (1.0 + a)


def incident_ages(incidents: pd.DataFrame, as_of: str, *, unit: str = "month") -> np.ndarray:
    """Return each incident's age in whole units before ``as_of`` (negative = after it).

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical frame; ``month`` is used for ``unit="month"``, ``occurred`` for ``"week"``.
    as_of : str
        Reference month ``YYYY-MM`` (age 0). For weeks, ages count whole 7-day steps back from
        the last day of that month, so the month's final week is age 0.
    unit : {"month", "week"}, default "month"
        "week" needs day or minute precision dates: police.uk months would all land on the
        first day of the month.

    Returns
    -------
    numpy.ndarray of int64
    """
    if unit not in AGE_UNITS:
        raise ParameterError(f"unknown age unit {unit!r}; choose one of {', '.join(AGE_UNITS)}")
    ref = month_index(as_of)
    if unit == "month":
        months = incidents["month"].astype("string")
        codes, uniq = pd.factorize(months)
        if (codes < 0).any():
            raise ParameterError("some incidents have no month; fix the store before weighting "
                                 "by age")
        nums = np.array([month_index(m) for m in uniq], dtype=np.int64)
        return ref - nums[codes]
    if "date_precision" in incidents.columns:
        coarse = incidents["date_precision"].astype("string").eq("month").fillna(False)
        if coarse.any():
            raise ParameterError(f"{int(coarse.sum())} incidents have month-precision dates; "
                                 "weight them by age in months (unit='month')")
    end = pd.Timestamp(f"{as_of}-01") + pd.offsets.MonthEnd(0)
    occurred = pd.to_datetime(incidents["occurred"]).dt.normalize()
    days = (end - occurred).dt.days.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(days).any():
        raise ParameterError("some incidents have no date; fix the store before weighting by "
                             "age")
    return np.floor(days / 7.0).astype(np.int64)


def prospective_density(incidents: pd.DataFrame, *, as_of: str, window: int = DEFAULT_WINDOW,
                        bandwidth: float = 500.0, kernel: str = "quartic",
                        unit: str = "month", months: Sequence[str] | None = None,
                        cell: float | None = None, grid: Grid | None = None) -> Surface:
    """Return the prospective kernel density surface of the incidents up to ``as_of``.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame. Rows without a location are ignored; rows outside the
        window (older than ``window`` units or after ``as_of``) are ignored. Not modified.
    as_of : str
        The latest month whose incidents count, ``YYYY-MM``; it has age 0 and weight 1. To
        forecast month T, pass the month before T.
    window : int, default 3
        Number of age units that count: ages ``0 .. window - 1``.
    bandwidth : float, default 500
        Spatial kernel bandwidth, metres (see :func:`hotspots.models.kde.kernel_density`).
    kernel : str, default "quartic"
    unit : {"month", "week"}, default "month"
        Age unit: months for police.uk data; weeks for exact dates, as Bowers et al. used.
    months : sequence of str, optional
        The months the data source covers (e.g. :func:`hotspots.query.available_months`).
        Every calendar month the window touches must be among them; a missing month is an
        error, never read as zero incidents. Default: the months present in ``incidents``.
    cell : float, optional
    grid : Grid, optional
        As for :func:`~hotspots.models.kde.kernel_density`.

    Returns
    -------
    Surface
        ``values`` in weighted incidents per km^2 (an incident of age ``a`` counts
        ``1 / (1 + a)``). ``surface.params()`` adds ``temporal_weighting``, ``age_unit``,
        ``as_of``, ``window``, ``window_months`` and ``incidents_by_age``.

    Notes
    -----
    After Bowers, Johnson & Pease (2004), "Prospective hot-spotting: the future of crime
    mapping?", Brit. J. Criminol. 44(5): risk at a place is the sum over recent nearby
    incidents of a weight that decays with age. Here the spatial part is the exact kernel of
    :mod:`hotspots.models.kde` (quartic by default), and the temporal part is
    ``w(a) = 1 / (1 + a)`` for whole ages ``a = 0 .. window - 1``; the value at cell centre
    ``c`` is ``1e6 * sum_i w(a_i) K(|c - p_i|)`` per km^2. With monthly police.uk data and
    ``window = 3`` the three months weigh 1, 1/2 and 1/3.
    """
    if not isinstance(incidents, pd.DataFrame) or not {"x", "y"} <= set(incidents.columns):
        raise ParameterError("incidents must be an incident frame with x and y columns")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ParameterError(f"window must be a whole number of {unit}s >= 1, got {window!r}")
    ref = month_index(as_of)
    if unit == "month":
        needed = [month_name(ref - a) for a in range(int(window))]
    else:
        first = pd.Timestamp(f"{as_of}-01") + pd.offsets.MonthEnd(0) - pd.Timedelta(
            days=7 * int(window) - 1)
        needed = [month_name(n) for n in range(month_index(first.strftime("%Y-%m")), ref + 1)]
    have = (set(incidents["month"].dropna().astype(str)) if months is None
            else {str(m) for m in months})
    missing = [m for m in needed if m not in have]
    if missing:
        hint = ("" if months is not None else
                " (or pass months= the store's months if they hold no such incidents)")
        raise NoDataError(f"the prospective window {needed[-1]}..{needed[0]} needs months "
                          f"missing from the data: {', '.join(missing)}; choose a later as_of "
                          f"or a shorter window{hint}")
    keep, x, y = located_xy(incidents)
    ages = incident_ages(incidents, as_of, unit=unit)
    keep &= (ages >= 0) & (ages < int(window))
    if not keep.any():
        raise NoDataError(f"no mapped incidents in the {window}-{unit} window up to {as_of}; "
                          "widen the window or the crime selection")
    surface = kernel_density(x[keep], y[keep], cell=cell, bandwidth=bandwidth, kernel=kernel,
                             weights=age_weights(ages[keep]), grid=grid)
    by_age = np.bincount(ages[keep], minlength=int(window))
    surface.extra.update({
        "temporal_weighting": f"prospective (Bowers, Johnson & Pease 2004): weight "
                              f"{_WEIGHTING}, age in whole {unit}s before {as_of}",
        "age_unit": unit,
        "as_of": as_of,
        "window": int(window),
        "window_months": needed[::-1],
        "incidents_by_age": [int(c) for c in by_age],
    })
    return surface
