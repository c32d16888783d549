"""Near-repeat analysis: the Knox test over distance and time bands, with Monte Carlo p-values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.months import missing_months, month_index_of
from hotspots.schema import located_xy
from hotspots.wording import month_runs_label

TIME_UNITS = ("days", "months")

#: Default distance bands, metres: inclusive upper edges (0 = the same location).
DEFAULT_DISTANCE_BANDS = (0.0, 100.0, 200.0, 400.0, 800.0)
#: Default time bands, inclusive upper edges in whole days (dated data) or months (police.uk).
DEFAULT_TIME_BANDS = {"days": (7, 14, 21, 28), "months": (0, 1, 2, 3)}

#: Refuse more incident pairs within the largest distance band than this: each pair is kept
#: as two int32 indices (160 MB at the limit; about 0.8 GB while pairs are found and sorted).
MAX_PAIRS = 20_000_000
#: Refuse jobs whose pairs x permutations exceed this (about two minutes on one core).
MAX_WORK = 15_000_000_000
#: Pairs handled per vectorised step of a permutation, to bound temporary memory.
_CHUNK = 2_000_000


@dataclass(frozen=True)
class KnoxResult:
    """The Knox table of a near-repeat test; every frame has distance bands as rows.

    Attributes
    ----------
    observed : pandas.DataFrame
        Incident pairs in each distance band (rows, closest first, the last being beyond the
        largest edge) and time band (columns, shortest first, the last being beyond).
    expected : pandas.DataFrame
        Mean count over the permutations (times shuffled among the incidents' locations).
    ratio : pandas.DataFrame
        ``observed / expected`` (the Knox ratio); NaN where ``expected`` is 0.
    p_value : pandas.DataFrame
        One-sided Monte Carlo p-value that pairs are *more* frequent than chance:
        ``(1 + permutations with count >= observed) / (permutations + 1)``.
    params : dict
        JSON-ready method, band definitions, counts and notes.
    """

    observed: pd.DataFrame
    expected: pd.DataFrame
    ratio: pd.DataFrame
    p_value: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per cell: ``distance_band``, ``time_band``, ``observed``,
        ``expected``, ``ratio``, ``p_value`` (distance bands outer, time bands inner)."""
        rows, cols = self.observed.index, self.observed.columns
        return pd.DataFrame({
            "distance_band": np.repeat(rows.to_numpy(dtype=object), cols.size),
            "time_band": np.tile(cols.to_numpy(dtype=object), rows.size),
            "observed": self.observed.to_numpy().ravel(),
            "expected": self.expected.to_numpy().ravel(),
            "ratio": self.ratio.to_numpy().ravel(),
            "p_value": self.p_value.to_numpy().ravel(),
        })

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"params": ..., "cells": [...]}`` ready for JSON (NaN as None)."""
        frame = self.to_frame().astype(object)
        frame = frame.where(frame.notna(), None)
        return {"params": self.params, "cells": frame.to_dict(orient="records")}


# ---------------------------------------------------------------------------- bands
def _fmt_m(v: float) -> str:
    return f"{v / 1000:g} km" if v >= 1000 else f"{v:g} m"


def _span(lo: float, hi: float) -> str:
    """``100–200 m``, ``800 m–1.6 km``, ``1–2 km``."""
    a, b = _fmt_m(lo), _fmt_m(hi)
    if a[-2:] == b[-2:] or lo == 0:
        return f"{a.split()[0]}–{b}"
    return f"{a}–{b}"


def distance_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the distance bands: ``same location``, ``0–100 m``, ..., ``over 800 m``."""
    out = ["same location" if edges[0] == 0 else _span(0.0, edges[0])]
    out += [_span(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    out.append(f"over {_fmt_m(edges[-1])}")
    return out


def time_labels(edges: Sequence[int], unit: str) -> list[str]:
    """Labels of the time bands: ``0–7 days``, ``8–14 days``, ... or ``same month``, ``1 month``."""
    one = unit[:-1]
    same = f"same {one}"
    out = []
    lo = 0
    for e in edges:
        if e == 0:
            out.append(same)
        elif lo == e:
            out.append(f"{e} {one if e == 1 else unit}")
        else:
            out.append(f"{lo}–{e} {unit}")
        lo = e + 1
    out.append(f"over {edges[-1]} {one if edges[-1] == 1 else unit}")
    return out


def _check_distance_bands(bands: Any) -> np.ndarray:
    try:
        b = np.asarray(list(bands), dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("distance_bands must be metres, e.g. (0, 100, 200, 400, 800)") \
            from None
    if (b.size == 0 or not np.isfinite(b).all() or (b < 0).any() or (np.diff(b) <= 0).any()
            or b[-1] <= 0):
        raise ParameterError("distance_bands must be increasing metres >= 0 ending above 0, "
                             f"e.g. (0, 100, 200, 400, 800); got {tuple(bands)!r}")
    return b


def _check_time_bands(bands: Any, unit: str) -> np.ndarray:
    try:
        raw = list(bands)
        b = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"time_bands must be whole {unit}, e.g. "
                             f"{DEFAULT_TIME_BANDS[unit]}") from None
    if (b.size == 0 or not np.isfinite(b).all() or (b < 0).any() or (b != np.round(b)).any()
            or (np.diff(b) <= 0).any() or any(isinstance(v, bool) for v in raw)):
        raise ParameterError(f"time_bands must be increasing whole {unit} >= 0, e.g. "
                             f"{DEFAULT_TIME_BANDS[unit]}; got {tuple(raw)!r}")
    return b.astype(np.int64)


# ---------------------------------------------------------------------------- inputs
def _inputs(incidents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series,
                                              pd.Series]:
    ok, x, y = located_xy(incidents, require=("occurred", "date_precision"))
    try:
        occ = pd.to_datetime(incidents["occurred"], errors="coerce")
    except (TypeError, ValueError):
        raise InputError("incidents' occurred column cannot be read as dates") from None
    if getattr(occ.dt, "tz", None) is not None:
        occ = occ.dt.tz_localize(None)
    prec = incidents["date_precision"].astype("string").str.strip().str.lower()
    return ok, x, y, occ, prec


def _times(occ: pd.Series, unit: str) -> np.ndarray:
    if unit == "months":
        return month_index_of(occ.dt.year.to_numpy(dtype=np.int64),
                              occ.dt.month.to_numpy(dtype=np.int64))
    # Calendar days: two crimes either side of midnight are one day apart, as for dates.
    return occ.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _pairs_cumulative(t_sorted: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Pairs (i < j) with ``|t_i - t_j| <= u`` for each ``u`` in ``upper`` (exact)."""
    n = t_sorted.size
    i = np.arange(n)
    return np.array([int((np.searchsorted(t_sorted, t_sorted + u, side="right") - i - 1).sum())
                     for u in upper], dtype=np.int64)


def _count(t: np.ndarray, first: np.ndarray, second: np.ndarray, bounds: np.ndarray,
           band_of_lag: np.ndarray, kt: int) -> np.ndarray:
    """Pairs per (distance band, time band) for the times ``t``.

    Pairs are sorted by distance band (``bounds`` are the slice edges); for each band the
    signed time lags are histogrammed (``t[first] - t[second] + span`` indexes
    ``band_of_lag``), which is cheaper than mapping every pair to its time band.
    """
    kd = bounds.size - 1
    nlag = band_of_lag.size
    span = (nlag - 1) // 2
    out = np.zeros((kd, kt), dtype=np.int64)
    for band in range(kd):
        hist = np.zeros(nlag, dtype=np.int64)
        for s in range(bounds[band], bounds[band + 1], _CHUNK):
            e = min(bounds[band + 1], s + _CHUNK)
            lag = t[first[s:e]].astype(np.intp)
            lag -= t[second[s:e]]
            lag += span
            hist += np.bincount(lag, minlength=nlag)
        out[band] = np.bincount(band_of_lag, weights=hist, minlength=kt).astype(np.int64)
    return out


# ---------------------------------------------------------------------------- public
def knox_test(incidents: pd.DataFrame, *,
              distance_bands: Sequence[float] = DEFAULT_DISTANCE_BANDS,
              time_bands: Sequence[int] | None = None, time_unit: str | None = None,
              permutations: int = 999, seed: int | None = 0) -> KnoxResult:
    """Return the Knox near-repeat table: pairs close in space and time against chance.

    Every pair of mapped, dated incidents is counted in a cell of the distance band x time
    band table. The times are then shuffled among the incidents ``permutations`` times
    (keeping every location and the set of times, so the spatial pattern and the seasonal
    and monthly profile, gaps included, are held fixed) and the pairs recounted; cells with
    more pairs than the shuffles give show near repeats. This is the method of Ratcliffe's
    Near Repeat Calculator (after Knox 1964 and Johnson et al. 2007).

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame: ``x``, ``y`` (British National Grid metres), ``occurred``,
        ``date_precision`` and ``has_location``. Rows without a location or date are left
        out (counted in ``params``). Not modified.
    distance_bands : sequence of float, default (0, 100, 200, 400, 800)
        Inclusive upper edges in metres: the first band is ``[0, e0]`` (``e0 = 0``: the same
        location, exact coordinates), then ``(e0, e1]``, ..., and a last band beyond the
        largest edge.
    time_bands : sequence of int, optional
        Inclusive upper edges in whole ``time_unit``: first ``[0, t0]``, then
        ``(t0, t1]`` ..., and a last band beyond. Default ``(7, 14, 21, 28)`` days
        (0–7, 8–14, 15–21, 22–28, over 28 days) or ``(0, 1, 2, 3)`` months (same month,
        1, 2, 3 and over 3 months apart). Giving bands needs ``time_unit`` too.
    time_unit : {"days", "months"}, optional
        Default: ``"months"`` when any incident is dated only to the month (police.uk),
        else ``"days"``. Days are calendar days between dates; months are calendar months
        (January to February is 1 month). Day bands on month-precision data are an error.
    permutations : int, default 999
        Shuffles for the Monte Carlo test (>= 1); the smallest possible p-value is
        ``1 / (permutations + 1)``.
    seed : int or None, default 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same table.

    Returns
    -------
    KnoxResult
        ``observed``, ``expected``, ``ratio`` and ``p_value`` frames (distance bands as
        rows, time bands as columns) and ``params``.

    Raises
    ------
    InputError
        Not a frame, or missing columns.
    NoDataError
        Fewer than two mapped, dated incidents.
    ParameterError
        Bad bands, unit or permutations; day bands on month-precision data; or more pairs
        within the largest distance than memory allows (message says what to change).

    Notes
    -----
    Pairs within the largest distance edge are found once with ``cKDTree.query_pairs``; each
    permutation only re-reads the shuffled times of those pairs. The beyond-distance row is
    the total pairs in each time band (fixed under shuffling, counted exactly from the sorted
    times) less the pairs within the distance edges.
    """
    ok, x, y, occ, prec = _inputs(incidents)
    dated = occ.notna().to_numpy()
    use = ok & dated
    n = int(use.sum())
    if n < 2:
        raise NoDataError(f"{n} mapped, dated incident(s): the Knox test needs at least two; "
                          "widen the period, area or crime selection")
    precision, time_unit, unit_rule = _time_unit(prec[use], n, time_unit, time_bands)
    d_edges = _check_distance_bands(distance_bands)
    t_edges = _check_time_bands(DEFAULT_TIME_BANDS[time_unit] if time_bands is None
                                else time_bands, time_unit)
    permutations = _check_permutations(permutations)

    idx = np.flatnonzero(use)
    xy = np.column_stack([x[idx], y[idx]])
    t = _times(occ.iloc[idx], time_unit)
    t = t - t.min()
    first, second, bounds = _close_pairs(xy, d_edges, permutations)
    obs, sims, total_pairs = _knox_counts(t, t_edges, first, second, bounds, permutations,
                                          seed)
    expected, ratio, p = _monte_carlo(obs, sims)

    rows = pd.Index(distance_labels([float(e) for e in d_edges]), name="distance")
    cols = pd.Index(time_labels([int(e) for e in t_edges], time_unit), name="time")

    def frame(a: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(a, index=rows, columns=cols)

    present, gaps = _months_and_gaps(occ.iloc[idx])
    params: dict[str, Any] = {
        "method": "Knox test with Monte Carlo permutation of times among locations "
                  "(Ratcliffe's Near Repeat Calculator)",
        "incidents": int(len(incidents)), "used": n,
        "unmapped": int((~ok).sum()), "undated": int((ok & ~dated).sum()),
        "date_precision": precision, "time_unit": time_unit, "time_unit_rule": unit_rule,
        "distance_bands_m": [float(e) for e in d_edges],
        "time_bands": [int(e) for e in t_edges],
        "bands": "each value is an inclusive upper edge: the first band runs from 0 to it, "
                 "each next one from above the previous edge to its own; a last band holds "
                 "everything beyond the largest edge",
        "distance_band_labels": list(rows), "time_band_labels": list(cols),
        "permutations": permutations, "seed": seed,
        "p_value": "one-sided, (1 + permutations with count >= observed) / "
                   "(permutations + 1)",
        "min_p_value": 1.0 / (permutations + 1),
        "expected": "mean count over the permutations",
        "pairs_total": int(total_pairs), "pairs_within_max_distance": int(first.size),
        "max_distance_m": float(d_edges[-1]),
        "months": month_runs_label(present),
        "months_without_incidents": month_runs_label(gaps),
        "notes": _knox_notes(xy, precision, time_unit, gaps),
    }
    return KnoxResult(observed=frame(obs), expected=frame(expected), ratio=frame(ratio),
                      p_value=frame(p), params=params)


def _time_unit(precisions: pd.Series, n: int, time_unit: str | None,
               time_bands: Sequence[int] | None) -> tuple[str, str, str]:
    """Return the data's date precision, the time unit and how the unit was chosen."""
    p_used = precisions.fillna("month")
    n_month = int((~p_used.isin(["day", "minute"])).sum())
    precision = "month" if n_month else ("day" if (p_used == "day").any() else "minute")
    if time_unit is None:
        if time_bands is not None:
            raise ParameterError("say what time_bands count: pass time_unit='days' or "
                                 "time_unit='months' with them")
        time_unit = "months" if n_month else "days"
        unit_rule = f"default: {time_unit} (data dated to the {precision})"
    else:
        if time_unit not in TIME_UNITS:
            raise ParameterError(f"time_unit must be 'days' or 'months', got {time_unit!r}")
        unit_rule = "given"
    if time_unit == "days" and n_month:
        raise ParameterError(
            f"day bands need dates to the day, but {n_month:,} of {n:,} incidents are dated "
            "only to the month (police.uk); use time_unit='months' with bands such as "
            "(0, 1, 2, 3)")
    return precision, time_unit, unit_rule


def _check_permutations(permutations: Any) -> int:
    if isinstance(permutations, bool) or not isinstance(permutations, int | np.integer) \
            or permutations < 1:
        raise ParameterError(f"permutations must be a whole number >= 1, got {permutations!r}")
    return int(permutations)


def _close_pairs(xy: np.ndarray, d_edges: np.ndarray, permutations: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs within the largest distance edge, sorted by distance band, and each band's slice.

    Returns the first and second incident of each pair (int32) and ``bounds``: band ``b``'s
    pairs are ``[bounds[b], bounds[b + 1])``. The pair count is estimated first so a job too
    big for memory or time fails before the pairs are built.
    """
    n = xy.shape[0]
    r = float(d_edges[-1])
    tree = cKDTree(xy)
    if n > 20_000:
        pick = np.random.default_rng(0).choice(n, 2000, replace=False)
        est = float(tree.query_ball_point(xy[pick], r, return_length=True).mean() - 1) * n / 2
    else:
        est = (float(tree.count_neighbors(tree, r)) - n) / 2
    too_many = (f"{n:,} incidents give about {{:,.0f}} pairs within {_fmt_m(r)}, over the "
                f"{MAX_PAIRS:,} limit; use a shorter period, a smaller area or a smaller "
                "largest distance band")
    if est > MAX_PAIRS:
        raise ParameterError(too_many.format(est))
    if est * permutations > MAX_WORK:
        raise ParameterError(f"{est:,.0f} pairs x {permutations:,} permutations is too much "
                             f"work (limit {MAX_WORK:,}); use fewer permutations (e.g. 99) or "
                             "fewer incidents")
    pairs = tree.query_pairs(r, output_type="ndarray")
    if pairs.shape[0] > MAX_PAIRS:
        raise ParameterError(too_many.format(pairs.shape[0]))
    d = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    # query_pairs already kept d <= r; clip so rounding in hypot cannot push a pair beyond.
    sband = np.minimum(np.searchsorted(d_edges, d, side="left"), d_edges.size - 1)
    del d
    # Sorted by band, then first incident: each band is one slice, read in memory order.
    order = np.lexsort((pairs[:, 0], sband))
    first = pairs[order, 0].astype(np.int32)
    second = pairs[order, 1].astype(np.int32)
    del pairs
    bounds = np.searchsorted(sband[order], np.arange(d_edges.size + 1), side="left")
    return first, second, bounds


def _knox_counts(t: np.ndarray, t_edges: np.ndarray, first: np.ndarray, second: np.ndarray,
                 bounds: np.ndarray, permutations: int, seed: int | None
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Observed table, the tables of ``permutations`` shuffles of the times, and all pairs.

    Tables have the distance bands within the largest edge, then the beyond-distance row, as
    rows and the time bands as columns.
    """
    n = t.size
    kt = t_edges.size + 1  # time bands, the last beyond the largest edge
    kd = bounds.size - 1  # distance bands within the largest edge
    span = int(t.max())
    lags = np.abs(np.arange(-span, span + 1))
    band_of_lag = np.minimum(np.searchsorted(t_edges, lags, side="left"), t_edges.size)
    tt = t.astype(np.int16 if span < 2**15 else np.int32)

    # Pairs of every time band over all distances: fixed under shuffling.
    cum = _pairs_cumulative(np.sort(t), t_edges)
    total_pairs = n * (n - 1) // 2
    totals = np.diff(np.concatenate([[0], cum, [total_pairs]]))

    def table(within: np.ndarray) -> np.ndarray:
        return np.vstack([within, totals - within.sum(axis=0)])

    obs = table(_count(tt, first, second, bounds, band_of_lag, kt))
    rng = np.random.default_rng(seed)
    sims = np.empty((permutations, kd + 1, kt), dtype=np.int64)
    for k in range(permutations):
        sims[k] = table(_count(rng.permutation(tt), first, second, bounds, band_of_lag, kt))
    return obs, sims, total_pairs


def _monte_carlo(obs: np.ndarray, sims: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected counts (mean of the shuffles), observed / expected and one-sided p-values."""
    expected = sims.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, obs / np.where(expected > 0, expected, 1.0), np.nan)
    p = (1 + (sims >= obs[None]).sum(axis=0)) / (sims.shape[0] + 1)
    return expected, ratio, p


def _months_and_gaps(occ: pd.Series) -> tuple[list[str], list[str]]:
    """Months with an incident, and the months between the first and last without one."""
    present = sorted(occ.dt.strftime("%Y-%m").unique().tolist())
    return present, missing_months(present[0], present[-1], present)


def _knox_notes(xy: np.ndarray, precision: str, time_unit: str, gaps: list[str]) -> list[str]:
    """Caveats for reading the table: shared map points, month bands, months without data."""
    n = xy.shape[0]
    same_xy = int(pd.Series(xy[:, 0] + 1j * xy[:, 1]).duplicated(keep=False).sum())
    notes = []
    if precision == "month":
        notes.append(f"{same_xy:,} of {n:,} incidents share exact coordinates with another "
                     "(police.uk snaps crimes to anonymous map points): the same-location "
                     "band is over-represented and mixes true repeats at one address with "
                     "neighbours snapped to one point; read it with care")
    elif same_xy >= 0.1 * n:
        notes.append(f"{same_xy:,} of {n:,} incidents share exact coordinates with another: "
                     "if they were geocoded to shared points (street or postcode centroids) "
                     "rather than addresses, the same-location band is over-represented")
    if time_unit == "months":
        notes.append("month bands count calendar months apart: two crimes in the same month "
                     "can be up to 30 days apart and crimes 1 month apart as little as 1 day")
    if gaps:
        notes.append(f"no incidents in {month_runs_label(gaps)}: shuffling keeps the observed "
                     "dates, so the gap is not read as low activity; pairs across it fall in "
                     "the longer time bands")
    return notes
