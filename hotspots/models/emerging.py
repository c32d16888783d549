"""Emerging hot spots: space-time Gi* per period, Mann-Kendall trends, ArcGIS Pro's 17 patterns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.special import ndtr
from shapely.geometry.base import BaseGeometry

from hotspots.errors import NoDataError, ParameterError
from hotspots.models.gistar import (
    GiStar,
    binary_weights,
    gi_z_scores,
    grid_band,
    grid_weights,
    study_grid,
)
from hotspots.models.significance import assign_bins, check_correction, correct_pvalues
from hotspots.months import month_index_of, month_name
from hotspots.schema import located_xy
from hotspots.spatial.grid import CRS, Grid

PERIODS = ("month", "week", "28D")

#: Every pattern, in display order (ArcGIS Pro's names, lower case).
PATTERNS = (
    "new hot spot", "consecutive hot spot", "intensifying hot spot", "persistent hot spot",
    "diminishing hot spot", "sporadic hot spot", "oscillating hot spot", "historical hot spot",
    "new cold spot", "consecutive cold spot", "intensifying cold spot", "persistent cold spot",
    "diminishing cold spot", "sporadic cold spot", "oscillating cold spot",
    "historical cold spot", "no pattern detected",
)

#: Share of time steps that makes a location persistently hot (or cold): "at least 90 %".
PERSISTENT_SHARE = 0.9

#: ArcGIS asks for at least this many time steps before it trusts a trend.
MIN_STEPS_ADVISED = 10
MIN_STEPS = 3

#: Auto period for dated data: 28-day steps when the span holds at least this many of them.
MIN_28D_STEPS = 10

TREND_SERIES = ("gi_z", "counts")


# ---------------------------------------------------------------------------- Mann-Kendall
@dataclass
class MannKendall:
    """Mann-Kendall trend test results, one value per series (arrays) or scalars.

    Attributes
    ----------
    s : Mann-Kendall S, sum over pairs i < j of sign(x_j - x_i)
    var_s : variance of S under no trend, tie-corrected
    z : standard normal score with continuity correction, (S - sign(S)) / sqrt(var_s)
    p : two-sided p-value, 2 (1 - Phi(|z|))
    tau : Kendall's tau-a, S / (n (n - 1) / 2)
    n : series length
    """

    s: Any
    var_s: Any
    z: Any
    p: Any
    tau: Any
    n: int


def mann_kendall(series: Any) -> MannKendall:
    """Return the Mann-Kendall trend test of one series or of each row of a 2-D array.

    Parameters
    ----------
    series : array_like
        ``(T,)`` or ``(L, T)``: values in time order (finite, ``T >= 2``). Time steps need not
        be evenly spaced: the test only compares earlier with later values, so a series with
        missing months dropped is tested as it stands.

    Returns
    -------
    MannKendall
        Scalars for a 1-D input, ``(L,)`` arrays for 2-D.

    Notes
    -----
    ``S = sum_{i<j} sign(x_j - x_i)``; with ``g`` groups of tied values of sizes ``t_k``,
    ``var(S) = (n (n-1) (2n+5) - sum_k t_k (t_k-1) (2 t_k+5)) / 18``;
    ``z = (S - 1) / sqrt(var)`` for S > 0, ``(S + 1) / sqrt(var)`` for S < 0, 0 for S = 0
    (Mann 1945, Kendall 1975; the form of Gilbert 1987 and pymannkendall's
    ``original_test``). ``var(S) = 0`` (every value tied) gives z = 0, p = 1.
    """
    try:
        x = np.array(series, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("Mann-Kendall series must be numbers") from None
    one = x.ndim == 1
    if one:
        x = x[None, :]
    if x.ndim != 2:
        raise ParameterError("Mann-Kendall needs a 1-D series or a 2-D array of series")
    rows, n = x.shape
    if n < 2:
        raise ParameterError(f"Mann-Kendall needs at least 2 time steps, got {n}")
    if not np.isfinite(x).all():
        raise ParameterError("Mann-Kendall series hold NaN/infinite values")
    s = np.zeros(rows)
    for d in range(1, n):
        s += np.sign(x[:, d:] - x[:, :-d]).sum(axis=1)
    xs = np.sort(x, axis=1)
    new = np.ones_like(xs, dtype=bool)
    new[:, 1:] = xs[:, 1:] != xs[:, :-1]
    run = np.cumsum(new, axis=1) - 1
    t = np.bincount((np.arange(rows)[:, None] * n + run).ravel(), minlength=rows * n
                    ).reshape(rows, n).astype(float)
    ties = (t * (t - 1) * (2 * t + 5)).sum(axis=1)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    p = 2.0 * ndtr(-np.abs(z))
    tau = s / (n * (n - 1) / 2.0)
    if one:
        return MannKendall(float(s[0]), float(var[0]), float(z[0]), float(p[0]),
                           float(tau[0]), n)
    return MannKendall(s, var, z, p, tau, n)


# ---------------------------------------------------------------------------- patterns
def classify_patterns(z: Any, p: Any, *, alpha: float = 0.10, trend_z: Any = None,
                      trend_p: Any = None, trend_alpha: float = 0.05) -> np.ndarray:
    """Return ArcGIS Pro's emerging hot spot pattern for each location's time series.

    Parameters
    ----------
    z, p : array_like
        ``(T,)`` or ``(L, T)``: per time step (oldest first) the Gi* z-score and its corrected
        p-value. A step is a significant hot spot when ``p <= alpha`` and ``z > 0``, a cold
        spot when ``p <= alpha`` and ``z < 0``.
    alpha : float, default 0.10
        90 % confidence, as ArcGIS.
    trend_z, trend_p : array_like, optional
        Per location, the trend's direction (sign) and two-sided p-value. Default: the
        Mann-Kendall test of the z-scores (ArcGIS's "intensity of clustering").
    trend_alpha : float, default 0.05
        A trend is significant when its p-value is <= this.

    Returns
    -------
    numpy.ndarray of str
        A name from :data:`PATTERNS` per location (a 0-d array for 1-D input).

    Notes
    -----
    The definitions and the order in which overlaps are settled are in ``docs/gistar.md``.
    With ``T`` steps, "at least 90 %" means ``n >= 0.9 T``.
    """
    za = np.asarray(z, dtype=float)
    pa = np.asarray(p, dtype=float)
    if za.shape != pa.shape or za.ndim not in (1, 2):
        raise ParameterError("z and p must be equal-shaped (T,) or (L, T) arrays")
    one = za.ndim == 1
    if one:
        za, pa = za[None, :], pa[None, :]
    if not (0 < alpha < 1 and 0 < trend_alpha < 1):
        raise ParameterError("alpha and trend_alpha must be between 0 and 1")
    if trend_z is None or trend_p is None:
        mk = mann_kendall(np.nan_to_num(za))
        tz, tp = np.asarray(mk.z), np.asarray(mk.p)
    else:
        tz = np.asarray(trend_z, dtype=float).reshape(-1)
        tp = np.asarray(trend_p, dtype=float).reshape(-1)
    sig = np.nan_to_num(pa, nan=1.0) <= alpha * (1 + 1e-12)
    hot = sig & (za > 0)
    cold = sig & (za < 0)
    up = (tz > 0) & (tp <= trend_alpha)
    down = (tz < 0) & (tp <= trend_alpha)
    out = _classify(hot, cold, up, down)
    return out[0] if one else out


def _classify(hot: np.ndarray, cold: np.ndarray, up: np.ndarray,
              down: np.ndarray) -> np.ndarray:
    """Vectorised classification of (L, T) hot/cold flags with per-location trend flags."""
    n_steps = hot.shape[1]
    out = np.full(hot.shape[0], "no pattern detected", dtype=object)

    def side(flags, other, rising, falling, word):
        n = flags.sum(axis=1)
        last = flags[:, -1]
        most = n * 10 >= 9 * n_steps  # "at least 90 %" in whole numbers: no float fuzz
        final_run = np.cumprod(flags[:, ::-1], axis=1).sum(axis=1)
        seen_other = other.any(axis=1)
        rules = [
            (last & most & rising, f"intensifying {word}"),
            (last & most & falling, f"diminishing {word}"),
            (last & most, f"persistent {word}"),
            (last & seen_other, f"oscillating {word}"),
            (last & (n == 1), f"new {word}"),
            (last & (final_run >= 2) & (n == final_run), f"consecutive {word}"),
            (last, f"sporadic {word}"),
            (~last & ~other[:, -1] & most, f"historical {word}"),
        ]
        done = np.zeros(hot.shape[0], dtype=bool)
        for cond, name in rules:
            pick = cond & ~done
            out[pick] = name
            done |= pick
        return done

    side(hot, cold, up, down, "hot spot")
    # Colder clustering is a falling z-score, so a cold spot intensifies on a downward trend.
    side(cold, hot, down, up, "cold spot")
    return out.astype(str)


# ---------------------------------------------------------------------------- periods
def _as_timestamps(incidents: pd.DataFrame) -> pd.Series:
    if "occurred" not in incidents.columns:
        raise ParameterError("incidents need an 'occurred' column (canonical incident frame)")
    occ = pd.to_datetime(incidents["occurred"], errors="coerce")
    return occ


def _month_keys(occ: pd.Series) -> np.ndarray:
    return month_index_of(occ.dt.year, occ.dt.month).to_numpy(dtype=float, na_value=np.nan)


def _held_months(held: Sequence[str] | None, present: np.ndarray) -> set[int]:
    if held is None:
        return {int(k) for k in np.unique(present[np.isfinite(present)])}
    out = set()
    for m in held:
        try:
            ts = pd.Timestamp(f"{m}-01")
        except (TypeError, ValueError):
            raise ParameterError(f"months_held: {m!r} is not a month YYYY-MM") from None
        out.add(month_index_of(ts.year, ts.month))
    return out


def _time_steps(incidents: pd.DataFrame, period: str | None,
                months_held: Sequence[str] | None) -> tuple[np.ndarray, list[str],
                                                            np.ndarray, dict[str, Any]]:
    """Return per-row step index (-1: not in a kept step), labels, step ordinals, details."""
    occ = _as_timestamps(incidents)
    if occ.isna().all():
        raise NoDataError("no incident has a date; nothing to put in time steps")
    prec = (incidents["date_precision"].astype("string").fillna("month")
            if "date_precision" in incidents.columns
            else pd.Series("month", index=incidents.index))
    monthly = bool((prec == "month").any())
    if period is None:
        if monthly:
            period, rule = "month", "auto: the data are dated to the month (police.uk)"
        else:
            days = (occ.max().normalize() - occ.min().normalize()).days + 1
            if days >= MIN_28D_STEPS * 28:
                period = "28D"
                rule = (f"auto: dated data spanning {days} days hold at least "
                        f"{MIN_28D_STEPS} 28-day steps")
            else:
                period = "week"
                rule = (f"auto: dated data spanning {days} days, fewer than "
                        f"{MIN_28D_STEPS} 28-day steps")
    else:
        if period not in PERIODS:
            raise ParameterError(f"unknown period {period!r}; choose month, week or 28D")
        if period != "month" and monthly:
            raise ParameterError(f"period {period!r} needs dated incidents, but "
                                 f"{int((prec == 'month').sum())} rows are dated to the month "
                                 "only (police.uk); use period='month'")
        rule = "given"
    mkey = _month_keys(occ)
    held = _held_months(months_held, mkey)
    first, last = int(np.nanmin(mkey)), int(np.nanmax(mkey))
    if period == "month":
        cand = np.arange(first, last + 1)
        keep = np.array([k in held for k in cand], dtype=bool)
        gaps = [month_name(int(k)) for k in cand[~keep]]
        steps = cand[keep]
        labels = [month_name(int(k)) for k in steps]
        lookup = np.full(cand.size, -1, dtype=np.int64)
        lookup[steps - first] = np.arange(steps.size)
        known = np.isfinite(mkey)
        idx = np.full(mkey.size, -1, dtype=np.int64)
        idx[known] = lookup[mkey[known].astype(np.int64) - first]
        details = {"period": "month", "period_rule": rule, "gaps": gaps, "partial": []}
        return idx, labels, steps.astype(np.int64), details
    day = occ.dt.normalize()
    start, end = day.min(), day.max()
    if period == "week":
        # ISO weeks, Monday first.
        first_start = start - pd.Timedelta(days=start.weekday())
        ordinal = ((day - first_start).dt.days // 7).to_numpy(dtype=float, na_value=np.nan)
        n_cand = int((end - first_start).days // 7) + 1
        starts = [first_start + pd.Timedelta(days=7 * k) for k in range(n_cand)]
        length = 7
    else:
        # 28-day steps anchored on the last date, so the latest step is complete.
        anchor = end + pd.Timedelta(days=1)
        back = ((anchor - day).dt.days // 28).to_numpy(dtype=float, na_value=np.nan)
        n_cand = int(np.nanmax(back)) + 1
        ordinal = (n_cand - 1) - back
        starts = [anchor - pd.Timedelta(days=28 * (n_cand - k)) for k in range(n_cand)]
        length = 28
    keep, gaps, partial = [], [], []
    for s in starts:
        e = s + pd.Timedelta(days=length - 1)
        label = s.strftime("%Y-%m-%d")
        if s < start or e > end:
            partial.append(label)
            keep.append(False)
            continue
        months = {month_index_of(s.year, s.month), month_index_of(e.year, e.month)}
        if not months <= held:
            gaps.append(label)
            keep.append(False)
            continue
        keep.append(True)
    keep_a = np.array(keep, dtype=bool)
    steps = np.flatnonzero(keep_a)
    pos = np.full(n_cand, -1, dtype=np.int64)
    pos[steps] = np.arange(steps.size)
    idx = np.where(np.isfinite(ordinal), pos[np.nan_to_num(ordinal).astype(np.int64)], -1)
    labels = [starts[k].strftime("%Y-%m-%d") for k in steps]
    unit = "week (Monday)" if period == "week" else "28-day step"
    details = {"period": period, "period_rule": rule, "gaps": gaps, "partial": partial,
               "period_labels": f"first day of each {unit}"}
    return idx, labels, steps.astype(np.int64), details


# ---------------------------------------------------------------------------- the analysis
def gi_star_space_time(cube: Any, weights: Any, *, ordinals: Any = None, time_window: int = 1,
                       correction: str = "fdr_bh") -> GiStar:
    """Return Gi* for every bin of a space-time cube (ArcGIS's space-time Gi*).

    Parameters
    ----------
    cube : array_like
        ``(T, L)`` values (e.g. counts) per time step and location, oldest step first.
    weights : scipy.sparse matrix
        ``L x L`` binary spatial weights between locations (self included; a zero diagonal is
        set to 1).
    ordinals : array_like of int, optional
        Each step's position on the calendar (e.g. months since year 0); default
        ``0..T-1``. Steps ``t'`` with ``0 < ordinal[t] - ordinal[t'] <= time_window`` are
        time neighbours of ``t``, so after a gap (a jump in ordinals) a step has none.
    time_window : int, default 1
        Preceding steps in the neighbourhood; 0 for a purely spatial Gi* per step.
    correction : {"fdr_bh", "bonferroni", "none"}, default "fdr_bh"
        Over every bin at once.

    Returns
    -------
    GiStar
        ``(T, L)`` arrays. The neighbourhood of bin (t, l) is every location in ``l``'s
        spatial neighbourhood, at step ``t`` and at its time neighbours; the mean and spread
        are those of the whole cube. Equals :func:`~hotspots.models.gistar.gi_star` on the
        ``TL x TL`` weights ``kron(time links, weights)`` without building them.
    """
    correction = check_correction(correction)
    try:
        c = np.array(cube, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("cube values must be numbers") from None
    if c.ndim != 2 or not np.isfinite(c).all():
        raise ParameterError("cube must be a finite (T, L) array")
    n_steps, n_loc = c.shape
    ws, added = binary_weights(weights, n_loc)
    order = np.arange(n_steps) if ordinals is None else np.asarray(ordinals, dtype=np.int64)
    if order.shape != (n_steps,) or (np.diff(order) <= 0).any():
        raise ParameterError("ordinals must be one increasing whole number per time step")
    spatial = np.asarray((ws @ c.T).T)  # (T, L): each step's spatial local sums
    card_s = np.diff(ws.indptr).astype(float)
    lag = np.zeros_like(c)
    links = np.zeros(n_steps)
    for t in range(n_steps):
        near = (order[t] - order >= 0) & (order[t] - order <= time_window)
        lag[t] = spatial[near].sum(axis=0)
        links[t] = near.sum()
    card = links[:, None] * card_s[None, :]
    y = c.ravel()
    z, den = gi_z_scores(y, lag.ravel(), card.ravel())
    p = np.where(den > 0, 2.0 * ndtr(-np.abs(z)), 1.0)
    pc = correct_pvalues(p, correction)
    shape = (n_steps, n_loc)
    return GiStar(z=z.reshape(shape), p=p.reshape(shape), p_corrected=pc.reshape(shape),
                  bin=assign_bins(z, pc).reshape(shape), values=c,
                  n_neighbours=card.astype(np.int64), correction=correction,
                  inference="analytical", permutations=0, seed=None, weights=ws,
                  extra={"self_weights_added": added, "time_window": int(time_window),
                         "weights_note": "spatial weights; the cube's neighbourhoods add "
                                         "the time neighbours"})


def emerging_hotspots(incidents: pd.DataFrame, *, grid: Grid | None = None,
                      study_area: BaseGeometry | None = None, cell: float | None = None,
                      distance: float | None = None, period: str | None = None,
                      time_window: int = 1, correction: str = "fdr_bh", alpha: float = 0.10,
                      trend_alpha: float = 0.05, trend_on: str = "gi_z",
                      months_held: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """Return the emerging hot spot pattern of every grid location (ArcGIS Pro's method).

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame (``x``, ``y``, ``has_location``, ``occurred``,
        ``date_precision``). Unmapped rows are left out and counted. Not modified.
    grid, study_area, cell : optional
        As :func:`hotspots.models.gistar.gi_star_grid`. With a ``study_area`` every cell whose
        centre lies inside it is a location (ArcGIS's analysis mask); without one, the
        locations are the cells with at least one incident in some time step (ArcGIS's
        default).
    distance : float, optional
        Spatial neighbourhood, metres between cell centres; default ``1.5 x cell`` (the 8
        surrounding cells).
    period : {"month", "week", "28D"}, optional
        Time step. Default from the data: months when any row is dated to the month only
        (police.uk); otherwise 28-day steps when the span holds at least 10 of them, else
        weeks. Reported with the rule used.
    time_window : int, default 1
        Time steps before the current one that belong to a bin's neighbourhood (ArcGIS's
        Neighborhood Time Step); 0 makes each step a purely spatial Gi*. Steps separated by a
        gap are never neighbours.
    correction : {"fdr_bh", "bonferroni", "none"}, default "fdr_bh"
        Applied over every bin of the space-time cube at once.
    alpha : float, default 0.10
        A bin is a significant hot (cold) spot when its corrected p <= alpha and z > 0 (< 0):
        90 % confidence, as ArcGIS.
    trend_alpha : float, default 0.05
        Significance of the Mann-Kendall trend (intensifying, diminishing).
    trend_on : {"gi_z", "counts"}, default "gi_z"
        Series whose trend decides intensifying/diminishing: the Gi* z-scores (ArcGIS: "the
        intensity of clustering") or the raw counts. The Mann-Kendall test of the counts is
        reported either way.
    months_held : sequence of str, optional
        ``YYYY-MM`` months the source holds, e.g. ``available_months(store)``. A month
        between the first and last month of ``incidents`` that is not held is a gap: it is
        dropped as a time step, never counted as zero. Default: the months with at least one
        row in ``incidents`` (so pass this when a genuine zero month is possible).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per location (EPSG:27700 cell squares): ``row, col, x, y`` (cell centre),
        ``count`` (incidents over the kept steps), ``n_hot``, ``n_cold`` (significant steps),
        ``final_z``, ``final_p``, ``final_bin`` (last step), ``trend_tau``, ``trend_z``,
        ``trend_p`` (Mann-Kendall of the Gi* z-scores), ``count_trend_tau``,
        ``count_trend_z``, ``count_trend_p`` (of the counts), ``bins`` (per-step confidence
        bins, oldest first, e.g. ``"0 0 +1 +2"``), ``pattern`` (a name from
        :data:`PATTERNS`). ``attrs["params"]`` holds the method, every parameter, the time
        steps, the gaps dropped and the number of locations per pattern.
    """
    _check_options(incidents, correction, trend_on, time_window, alpha, trend_alpha)
    mapped, x, y = located_xy(incidents)
    step, labels, ordinals, tdetails = _kept_steps(incidents, period, months_held)
    n_steps = len(labels)
    in_step = step >= 0
    use = mapped & in_step
    if not use.any():
        raise NoDataError("no mapped incident falls in a kept time step")
    g, mask, sdetails = study_grid(x[use], y[use], grid=grid, study_area=study_area, cell=cell)
    loc_mask, loc_rule, cube, n_inside = _space_time_cube(g, mask, x[use], y[use], step[use],
                                                          n_steps, study_area is None)
    d, _, drule = grid_band(None, distance, g.cell)
    res = gi_star_space_time(cube, grid_weights(loc_mask, cell=g.cell, distance=d),
                             ordinals=ordinals, time_window=time_window, correction=correction)
    out, pattern = _pattern_table(g, loc_mask, cube, res, alpha, trend_alpha, trend_on)
    warnings = []
    if n_steps < MIN_STEPS_ADVISED:
        warnings.append(f"only {n_steps} time steps: ArcGIS advises at least "
                        f"{MIN_STEPS_ADVISED} for a trend")
    gparams = res.params()
    n_loc = int(loc_mask.sum())
    out.attrs["params"] = {
        "method": "emerging hot spot analysis: space-time Getis-Ord Gi* per bin, "
                  "Mann-Kendall trend per location, ArcGIS Pro's pattern definitions",
        **tdetails,
        "n_periods": n_steps,
        "periods": labels,
        "gaps_rule": "time steps the source does not hold are dropped, not counted as zero; "
                     "steps on either side of a gap are not time neighbours",
        "time_window": int(time_window),
        "neighbourhood": f"cells within {d:g} m, in the same step and the {time_window} "
                         "step(s) just before it",
        **sdetails,
        "distance_m": float(d),
        "distance_rule": drule,
        "locations": loc_rule,
        "n_locations": n_loc,
        "n_bins": n_loc * n_steps,
        "correction": correction,
        "correction_name": gparams["correction_name"],
        "correction_scope": "every bin of the space-time cube at once",
        "alpha": float(alpha),
        "significance": f"corrected p <= {alpha:g} ({round((1 - alpha) * 100)} % confidence)",
        "trend_test": "Mann-Kendall, tie-corrected variance, continuity-corrected z, two-sided",
        "trend_on": trend_on,
        "trend_alpha": float(trend_alpha),
        "persistent_share": PERSISTENT_SHARE,
        "cube_mean": gparams["mean"],
        "cube_std": gparams["std"],
        "n_incidents": int(len(incidents)),
        "n_unmapped": int((~mapped).sum()),
        "n_outside_periods": int((mapped & ~in_step).sum()),
        "n_outside_study": int(use.sum() - n_inside),
        "n_analysed": n_inside,
        "patterns": _count_patterns(pattern),
        "warnings": warnings,
        "grid": g.to_dict(),
    }
    return out


def _check_options(incidents: pd.DataFrame, correction: str, trend_on: str, time_window: Any,
                   alpha: Any, trend_alpha: Any) -> None:
    """Reject a frame without coordinates or rows, and options out of range."""
    if not isinstance(incidents, pd.DataFrame) or not {"x", "y"} <= set(incidents.columns):
        raise ParameterError("incidents must be an incident frame with x, y and occurred")
    check_correction(correction)
    if trend_on not in TREND_SERIES:
        raise ParameterError(f"trend_on must be 'gi_z' or 'counts', got {trend_on!r}")
    if isinstance(time_window, bool) or not isinstance(time_window, int | np.integer) \
            or time_window < 0:
        raise ParameterError(f"time_window must be a whole number of steps >= 0, "
                             f"got {time_window!r}")
    for name, v in (("alpha", alpha), ("trend_alpha", trend_alpha)):
        if not (isinstance(v, int | float) and 0 < v < 1):
            raise ParameterError(f"{name} must be between 0 and 1, got {v!r}")
    if incidents.empty:
        raise NoDataError("no incidents to analyse; widen the period, area or crime selection")


def _kept_steps(incidents: pd.DataFrame, period: str | None,
                months_held: Sequence[str] | None
                ) -> tuple[np.ndarray, list[str], np.ndarray, dict[str, Any]]:
    """:func:`_time_steps`, refusing fewer than :data:`MIN_STEPS` steps once gaps are dropped."""
    step, labels, ordinals, tdetails = _time_steps(incidents, period, months_held)
    if len(labels) < MIN_STEPS:
        raise NoDataError(f"only {len(labels)} time step(s) after dropping gaps; emerging hot "
                          f"spots need at least {MIN_STEPS} (ArcGIS advises "
                          f"{MIN_STEPS_ADVISED}): widen the period")
    return step, labels, ordinals, tdetails


def _count_patterns(pattern: np.ndarray) -> dict[str, int]:
    """Locations per pattern, every name of :data:`PATTERNS` listed (zeros included)."""
    unique, n_of = np.unique(pattern, return_counts=True)
    by_pattern = {name: 0 for name in PATTERNS}
    by_pattern.update({str(k): int(v) for k, v in zip(unique, n_of, strict=True)})
    return by_pattern


def _space_time_cube(g: Grid, mask: np.ndarray, x: np.ndarray, y: np.ndarray,
                     step: np.ndarray, n_steps: int, occupied_only: bool
                     ) -> tuple[np.ndarray, str, np.ndarray, int]:
    """Return the locations, their rule, the ``(steps, locations)`` counts, incidents inside.

    ``occupied_only``: the locations are the cells with an incident (no study area given);
    otherwise every study cell.
    """
    row, col = g.cell_index(x, y)
    on = row >= 0
    inside = np.zeros(row.size, dtype=bool)
    inside[on] = mask[row[on], col[on]]
    flat = row[inside] * g.nx + col[inside]
    if occupied_only:
        loc_mask = np.zeros(g.n_cells, dtype=bool)
        loc_mask[flat] = True
        loc_mask = loc_mask.reshape(g.shape)
        loc_rule = "cells with at least one incident in some time step (ArcGIS's default)"
    else:
        loc_mask = mask
        loc_rule = "every cell whose centre lies in the study area (ArcGIS's analysis mask)"
    n_loc = int(loc_mask.sum())
    lookup = np.full(g.n_cells, -1, dtype=np.int64)
    lookup[np.flatnonzero(loc_mask.ravel())] = np.arange(n_loc)
    li = lookup[flat]
    ti = step[inside]
    cube = np.bincount(ti * n_loc + li, minlength=n_steps * n_loc).reshape(n_steps, n_loc)
    return loc_mask, loc_rule, cube, int(inside.sum())


def _pattern_table(g: Grid, loc_mask: np.ndarray, cube: np.ndarray, res: GiStar,
                   alpha: float, trend_alpha: float, trend_on: str
                   ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """One row per location: counts, last step, trends, bins and pattern; and the patterns."""
    z = res.z.T
    p = res.p_corrected.T
    bins = res.bin.T
    counts = cube.T.astype(float)
    mk_z = mann_kendall(z)
    mk_c = mann_kendall(counts)
    trend = mk_z if trend_on == "gi_z" else mk_c
    pattern = classify_patterns(z, p, alpha=alpha, trend_z=trend.z, trend_p=trend.p,
                                trend_alpha=trend_alpha)
    sig = p <= alpha * (1 + 1e-12)

    rows, cols = np.nonzero(loc_mask)
    x0 = g.x0 + cols * g.cell
    y0 = g.y0 + rows * g.cell
    bin_text = [" ".join(f"{b:+d}" if b else "0" for b in r) for r in bins]
    out = gpd.GeoDataFrame(
        {"row": rows, "col": cols, "x": x0 + g.cell / 2, "y": y0 + g.cell / 2,
         "count": cube.sum(axis=0).astype(np.int64),
         "n_hot": (sig & (z > 0)).sum(axis=1), "n_cold": (sig & (z < 0)).sum(axis=1),
         "final_z": z[:, -1], "final_p": p[:, -1], "final_bin": bins[:, -1],
         "trend_tau": mk_z.tau, "trend_z": mk_z.z, "trend_p": mk_z.p,
         "count_trend_tau": mk_c.tau, "count_trend_z": mk_c.z, "count_trend_p": mk_c.p,
         "bins": bin_text, "pattern": pattern},
        geometry=shapely.box(x0, y0, x0 + g.cell, y0 + g.cell), crs=CRS)
    return out, pattern
