"""Rolling-origin back-tests of hotspot methods: hit rate, PAI, PEI and RRI by coverage."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import NoDataError, ParameterError
from hotspots.jsonvalue import json_value
from hotspots.models.areas import TIE_TOLERANCE
from hotspots.models.scoring import Method, default_methods, kde_candidates
from hotspots.months import month_index, month_name
from hotspots.query import available_months, load_incidents
from hotspots.schema import located_xy
from hotspots.spatial.boundaries import area_geometry
from hotspots.spatial.grid import Grid

DEFAULT_COVERAGES = (0.01, 0.02, 0.05, 0.10)
DEFAULT_TRAIN_MONTHS = 3
DEFAULT_CELL = 100.0
#: The coverage ``auto`` optimises when the caller names none and 5 % is being measured.
DEFAULT_SELECT_COVERAGE = 0.05
#: What ``auto`` uses for a fold with no earlier fold to learn from.
FALLBACK_LABEL = "KDE 500 m"
#: Mean PAIs within this relative difference count as tied; the smoother method wins.
AUTO_TIE_RTOL = 1e-9

#: Columns of :func:`measure` and of the per-period detail.
MEASURE_COLUMNS = ("coverage", "cells", "area_share", "incidents", "hits", "hit_rate", "pai",
                   "pai_requested", "best_hits", "pei", "train_incidents", "train_hits", "rri")


# ---------------------------------------------------------------------------- arithmetic
def _check_coverages(coverages: Any) -> tuple[float, ...]:
    items = [coverages] if np.isscalar(coverages) else list(coverages)
    try:
        vals = [float(c) for c in items]
    except (TypeError, ValueError):
        raise ParameterError(f"coverage must be shares between 0 and 1, got {coverages!r}"
                             ) from None
    if not vals or not all(0 < c <= 1 for c in vals):
        raise ParameterError(f"coverage must be shares in (0, 1], e.g. 0.05 for 5 %, got "
                             f"{coverages!r}")
    return tuple(sorted(set(vals)))


def _as_mask(study_mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.asarray(study_mask, dtype=bool)
    if mask.shape != shape:
        raise ParameterError(f"study mask has shape {mask.shape}, scores have {shape}")
    if not mask.any():
        raise NoDataError("the study area covers no cell; use a larger area or smaller cells")
    return mask


def _ranked(scores: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort study-cell scores descending (NaN last) and carry other per-cell arrays along."""
    s = np.where(np.isnan(scores), -np.inf, scores)
    order = np.argsort(-s, kind="stable")
    return (s[order], *(o[order] for o in others))


def _best_hits(test: np.ndarray) -> np.ndarray:
    """``out[a]`` = the most test incidents any ``a`` cells hold (top-``a`` counts summed)."""
    return np.concatenate([[0.0], np.cumsum(np.sort(test)[::-1], dtype=float)])


def _measure(scores: np.ndarray, test: np.ndarray, train: np.ndarray | None,
             coverages: tuple[float, ...], best: np.ndarray | None = None
             ) -> list[dict[str, Any]]:
    """Metrics per coverage for study-cell scores and their cells' counts (1-D, aligned).

    Selection needs only the k-th largest score per coverage, so one partial sort serves every
    coverage; ``best`` (from :func:`_best_hits`) can be shared by all methods of a fold.
    """
    s = np.where(np.isnan(scores), -np.inf, scores)
    n = s.size
    total = float(test.sum())
    if best is None:
        best = _best_hits(test)
    train_total = float(train.sum()) if train is not None else 0.0
    peak = float(s.max()) if n else 0.0
    ks = [max(1, math.ceil(c * n - 1e-9)) for c in coverages]
    part = np.partition(s, sorted({n - k for k in ks}))
    rows = []
    for c, k in zip(coverages, ks, strict=True):
        if peak > 0:
            threshold = float(part[n - k])
            cut = max(threshold - TIE_TOLERANCE * peak, np.nextafter(0.0, 1.0))
            flagged = s >= cut
            n_sel = int(flagged.sum())
            hits = float(test[flagged].sum())
        else:
            flagged, n_sel, hits = None, 0, 0.0
        area = n_sel / n
        hit_rate = hits / total if total > 0 else math.nan
        pai = hit_rate / area if area > 0 else math.nan
        # A surface that is zero beyond a few cells flags less than asked; its PAI is then for
        # a smaller area and not comparable, so it is also charged for the area requested.
        pai_req = hit_rate / max(area, c)
        best_hits = float(best[n_sel])
        pei = hits / best_hits if best_hits > 0 else math.nan
        row = {"coverage": c, "cells": n_sel, "area_share": area, "incidents": int(total),
               "hits": int(hits), "hit_rate": hit_rate, "pai": pai, "pai_requested": pai_req,
               "best_hits": int(best_hits), "pei": pei, "train_incidents": None,
               "train_hits": None, "rri": math.nan}
        if train is not None:
            th = float(train[flagged].sum()) if flagged is not None else 0.0
            row.update(train_incidents=int(train_total), train_hits=int(th))
            if th > 0 and total > 0:
                row["rri"] = (hits / th) / (total / train_total)
        rows.append(row)
    return rows


def measure(scores: Any, test_counts: Any, study_mask: Any, *,
            coverages: float | Sequence[float] = DEFAULT_COVERAGES,
            train_counts: Any = None) -> pd.DataFrame:
    """Return hit rate, PAI, PEI and RRI of a prediction at each coverage of the study area.

    Parameters
    ----------
    scores : array_like
        Prediction score per cell, ``(ny, nx)``; higher = hotter; NaN never selected.
    test_counts : array_like
        Incidents per cell in the test period, same shape.
    study_mask : array_like of bool
        Study cells (e.g. ``grid.mask(area)``), same shape.
    coverages : float or sequence of float, default (0.01, 0.02, 0.05, 0.10)
        Shares of the study cells to flag.
    train_counts : array_like, optional
        Incidents per cell in the training window; needed for RRI.

    Returns
    -------
    pandas.DataFrame
        One row per coverage, columns :data:`MEASURE_COLUMNS`.

    Notes
    -----
    With ``N`` study cells and coverage ``c``, ``k = ceil(c N)``; the flagged cells are every
    study cell scoring at least the ``k``-th highest score (less ``1e-9`` of the peak) and
    above zero - the rule of :func:`hotspots.models.areas.hotspot_areas`, so ties can flag
    more than ``k`` cells and zero scores can flag fewer. With ``a`` flagged cells holding
    ``h`` of the ``n`` test incidents in the study area:

    * hit rate ``= h / n``;
    * PAI ``= (h / n) / (a / N)`` (Chainey, Tompson & Uhlig 2008);
    * PAI at the requested area ``= (h / n) / max(a / N, c)``: equal to PAI when the surface
      fills the coverage; a surface that is zero beyond a few cells flags less than asked,
      and its PAI then describes a smaller area, so for comparing methods at one coverage it
      is charged for the full requested area (``pai_requested``);
    * PEI ``= h / h*``, ``h*`` the most test incidents any ``a`` study cells hold (Hunt 2016:
      PAI over the largest PAI possible with the same area);
    * RRI ``= (h / r) / (n / m)``, ``r`` and ``m`` the training incidents in the flagged cells
      and in the study area (Levine 2008's recapture rate index; > 1 when the flagged cells'
      share of crime grew).

    Undefined ratios (no test incidents, nothing flagged, no training incidents flagged) are
    NaN.
    """
    s = np.asarray(scores, dtype=float)
    mask = _as_mask(study_mask, s.shape)
    test = np.asarray(test_counts, dtype=float)
    if test.shape != s.shape:
        raise ParameterError(f"test counts have shape {test.shape}, scores have {s.shape}")
    train = None
    if train_counts is not None:
        train = np.asarray(train_counts, dtype=float)
        if train.shape != s.shape:
            raise ParameterError(f"training counts have shape {train.shape}, scores have "
                                 f"{s.shape}")
        train = train[mask]
    rows = _measure(s[mask], test[mask], train, _check_coverages(coverages))
    return pd.DataFrame(rows, columns=list(MEASURE_COLUMNS))


def capture_curve(surface_scores: Any, test_counts: Any, study_mask: Any, *,
                  levels: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Return coverage (share of the study area) against hit rate for a prediction.

    Parameters
    ----------
    surface_scores : array_like
        Score per cell (e.g. ``Surface.values``), ``(ny, nx)``.
    test_counts : array_like
        Incidents per cell in the period being predicted, same shape.
    study_mask : array_like of bool
        Study cells, same shape.
    levels : array_like, optional
        Coverage shares in [0, 1] to report at. Default: every break point.

    Returns
    -------
    coverage, hit_rate : numpy.ndarray
        Starting at (0, 0) and ending at (1, 1) (hit rate NaN throughout when there are no
        test incidents). Cells are taken hottest first; cells with equal scores enter
        together, so break points sit at the end of each group of ties and the straight line
        between two break points is the expected capture when tied cells are taken in random
        order. ``np.interp`` on the break points gives the value at any other coverage.
    """
    s = np.asarray(surface_scores, dtype=float)
    mask = _as_mask(study_mask, s.shape)
    test = np.asarray(test_counts, dtype=float)
    if test.shape != s.shape:
        raise ParameterError(f"test counts have shape {test.shape}, scores have {s.shape}")
    ss, tt = _ranked(s[mask], test[mask])
    n = ss.size
    total = tt.sum()
    cum = np.cumsum(tt)
    # A break point closes each run of equal scores.
    ends = np.flatnonzero(np.append(ss[1:] != ss[:-1], True))
    cov = np.concatenate([[0.0], (ends + 1) / n])
    hit = np.concatenate([[0.0], cum[ends] / total]) if total > 0 else np.full(cov.size, np.nan)
    if levels is None:
        return cov, hit
    lv = np.asarray(levels, dtype=float)
    if lv.size and (not np.isfinite(lv).all() or (lv < 0).any() or (lv > 1).any()):
        raise ParameterError("capture curve levels must be shares between 0 and 1")
    return lv, np.interp(lv, cov, hit) if total > 0 else np.full(lv.size, np.nan)


_NOUNS = {
    "burglary": "burglaries",
    "vehicle crime": "vehicle crimes",
    "drugs": "drugs offences",
    "robbery": "robberies",
    "shoplifting": "shoplifting offences",
    "bicycle theft": "bicycle thefts",
    "theft from the person": "thefts from the person",
    "other theft": "other thefts",
    "criminal damage and arson": "criminal damage and arson offences",
    "violence and sexual offences": "violent and sexual offences",
    "public order": "public order offences",
    "possession of weapons": "weapons possession offences",
    "anti-social behaviour": "anti-social behaviour incidents",
    "other crime": "other crimes",
    "acquisitive": "acquisitive crimes",
    "soc": "SOC-linked crimes",
    "violence": "violent crimes",
    "asb": "anti-social behaviour incidents",
    "other": "other crimes",
}


def crime_noun(groups: Sequence[str] | str | None = None,
               types: Sequence[str] | str | None = None) -> str:
    """Return a plural noun for a crime selection, e.g. ``["Burglary"]`` -> ``"burglaries"``."""
    items = [types] if isinstance(types, str) else list(types or [])
    if not items:
        items = [groups] if isinstance(groups, str) else list(groups or [])
    if len(items) != 1:
        return "crimes"
    return _NOUNS.get(items[0].strip().lower(), "crimes")


def summarise(hit_rate: float, coverage: float, pai: float, *, crimes: str = "crimes",
              period: str = "next month's") -> str:
    """Return a one-line reading of a back-test result for a tasking meeting.

    Example: ``"this map would have captured 41% of next month's burglaries in 5% of the area
    (PAI 8.2)"``. ``coverage`` should be the area share actually flagged.
    """
    if hit_rate is None or not math.isfinite(hit_rate):
        return f"no {crimes} in the test period, so capture cannot be measured"
    area = f"{coverage:.0%}" if coverage >= 0.01 else f"{coverage:.1%}"
    tail = f" (PAI {pai:.1f})" if pai is not None and math.isfinite(pai) else ""
    return f"this map would have captured {hit_rate:.0%} of {period} {crimes} in {area} of " \
           f"the area{tail}"


# ---------------------------------------------------------------------------- folds
def plan_folds(months: Sequence[str], train_months: int = DEFAULT_TRAIN_MONTHS
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the rolling-origin folds the months allow, and the ones skipped with a reason.

    Parameters
    ----------
    months : sequence of str
        Months the data covers, ``YYYY-MM`` (any order; duplicates ignored).
    train_months : int, default 3
        Training window length, calendar months.

    Returns
    -------
    folds : list of dict
        ``{"test": "YYYY-MM", "train": [oldest, ..., newest]}`` for each month whose
        ``train_months`` preceding calendar months are all present, in time order.
    skipped : list of dict
        ``{"test", "train", "reason", "missing"}`` for every other calendar month from the
        first month + ``train_months`` to the last month: a fold is never built across a
        missing month.
    """
    if isinstance(train_months, bool) or not isinstance(train_months, int | np.integer) \
            or train_months < 1:
        raise ParameterError(f"train_months must be a whole number >= 1, got {train_months!r}")
    have = sorted({month_index(m) for m in months})
    if not have:
        raise NoDataError("no months to back-test; load some incidents first")
    present = set(have)
    folds, skipped = [], []
    for t in range(have[0], have[-1] + 1):
        train = [month_name(m) for m in range(t - train_months, t)]
        if t - train_months < have[0]:
            if t in present:
                skipped.append({"test": month_name(t), "train": train, "missing": [],
                                "reason": f"not enough history: the {train_months}-month "
                                          f"training window starts before the first month "
                                          f"{month_name(have[0])}"})
            continue
        missing = [month_name(m) for m in range(t - train_months, t) if m not in present]
        if t not in present:
            skipped.append({"test": month_name(t), "train": train, "missing": [month_name(t)],
                            "reason": f"test month {month_name(t)} is missing from the data"})
        elif missing:
            skipped.append({"test": month_name(t), "train": train, "missing": missing,
                            "reason": "training window spans a gap: "
                                      + ", ".join(missing) + " missing from the data"})
        else:
            folds.append({"test": month_name(t), "train": train})
    return folds, skipped


def choose(history: pd.DataFrame, methods: Sequence[Method], *, fallback: str = FALLBACK_LABEL,
           criterion: str = "pai_requested") -> tuple[str, str]:
    """Return the label ``auto`` picks from earlier folds' results, and why.

    Parameters
    ----------
    history : pandas.DataFrame
        Rows ``label, test, <criterion>`` of the folds whose test month precedes the fold
        being predicted, at the selection coverage.
    methods : sequence of Method
        Candidates (registry order breaks final ties).
    fallback : str
        Label used when ``history`` has no usable value.
    criterion : str, default "pai_requested"
        Column to maximise the mean of: ``"pai_requested"`` (PAI charged for at least the
        requested area, so methods are compared over the same area) or ``"pai"``.

    Returns
    -------
    label, reason : str
        Highest mean over the history; means within ``AUTO_TIE_RTOL`` of each other tie and the
        larger ``smoothness`` (then the earlier method) wins.
    """
    labels = [m.label for m in methods]
    means = (history[history["label"].isin(labels)].groupby("label")[criterion].mean()
             .dropna() if len(history) else pd.Series(dtype=float))
    if means.empty:
        return fallback, "no earlier fold: the stated fallback"
    top = float(means.max())
    tied = [m for m in methods if m.label in means.index
            and means[m.label] >= top - AUTO_TIE_RTOL * abs(top)]
    pick = max(tied, key=lambda m: (m.smoothness, -labels.index(m.label)))
    n = int(history["test"].nunique())
    what = "PAI at the requested area" if criterion == "pai_requested" else criterion
    return pick.label, (f"highest mean {what} ({means[pick.label]:.3f}) over {n} earlier "
                        f"fold{'s' if n != 1 else ''}")


# ---------------------------------------------------------------------------- result
@dataclass
class EvaluationResult:
    """The outcome of :func:`evaluate`.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per method and coverage: ``method, label, coverage`` and the means over the
        test periods of ``hit_rate, pai, pai_requested, pei, rri, area_share``, with
        ``periods`` (test months measured) and ``n_periods``.
    detail : pandas.DataFrame
        One row per method, test month and coverage: ``method, label, test`` and
        :data:`MEASURE_COLUMNS`; ``auto`` rows add ``chosen``.
    auto : list of dict
        Per test month: the label ``auto`` used, the earlier folds it learnt from, and why.
    default : dict
        What ``auto`` picks now from every fold: the method to use for next month's map.
    skipped : list of dict
        Months not back-tested and why (see :func:`plan_folds`).
    params : dict
        Every parameter, computed defaults included.
    methods : list of dict
        Each method's name, label and parameters.
    """

    summary: pd.DataFrame
    detail: pd.DataFrame
    auto: list[dict[str, Any]]
    default: dict[str, Any]
    skipped: list[dict[str, Any]]
    params: dict[str, Any]
    methods: list[dict[str, Any]]

    def row(self, label: str = "auto", coverage: float | None = None) -> dict[str, Any]:
        """Return one summary row as a dict (``coverage`` default: the selection coverage)."""
        c = self.params["select_coverage"] if coverage is None else float(coverage)
        hit = self.summary[(self.summary["label"] == label)
                           & np.isclose(self.summary["coverage"], c)]
        if hit.empty:
            raise ParameterError(f"no result for {label!r} at coverage {c:g}; labels: "
                                 + ", ".join(self.summary["label"].unique()))
        return hit.iloc[0].to_dict()

    def describe(self, label: str = "auto", coverage: float | None = None) -> str:
        """Return the one-line reading of a method's mean back-test result."""
        r = self.row(label, coverage)
        return summarise(r["hit_rate"], r["area_share"], r["pai"],
                         crimes=self.params.get("crimes", "crimes"))

    def against_best_kde(self, coverage: float | None = None) -> dict[str, Any] | None:
        """Compare ``auto`` with the best single fixed-bandwidth KDE chosen in hindsight.

        The measure is the mean PAI at the requested area (what ``auto`` maximises). The best
        KDE is the fixed bandwidth with the highest mean over the **same** test months, picked
        after seeing them, so it is a ceiling no rule that looks only backwards can count on
        reaching. Two spans: every test month, and the months ``auto`` learnt from at least one
        earlier month (not its stated fallback).

        Parameters
        ----------
        coverage : float, optional
            Default the selection coverage.

        Returns
        -------
        dict or None
            ``coverage``, ``measure`` and, per span (``"all"`` and ``"learnt"``): ``months``,
            ``auto``, ``best_kde`` (label), ``best_kde_value`` and ``difference`` (auto minus
            best; >= 0 means auto matched or beat it). None without ``auto`` or fixed KDEs.
        """
        c = self.params["select_coverage"] if coverage is None else float(coverage)
        d = self.detail[np.isclose(self.detail["coverage"], c)]
        # The fixed-bandwidth KDE candidates, whatever bandwidths they were built with.
        fixed = d[d["method"].isin({m.name for m in kde_candidates()})]
        auto = d[d["label"] == "auto"]
        if fixed.empty or auto.empty:
            return None
        learnt = {a["test"] for a in self.auto if a.get("learnt_from")}
        out: dict[str, Any] = {"coverage": c, "measure": "mean PAI at the requested area",
                               "best_kde_rule": "the fixed bandwidth with the highest mean over "
                                                "the same test months, chosen in hindsight"}
        for span, keep in (("all", None), ("learnt", learnt)):
            a = auto if keep is None else auto[auto["test"].isin(keep)]
            f = fixed if keep is None else fixed[fixed["test"].isin(keep)]
            if a.empty:
                out[span] = None
                continue
            means = f.groupby("label")["pai_requested"].mean()
            best = str(means.idxmax())
            av, bv = float(a["pai_requested"].mean()), float(means[best])
            diff = av - bv
            if abs(diff) <= AUTO_TIE_RTOL * abs(bv):  # the same maps, summed in another order
                diff = 0.0
            out[span] = {"months": sorted(a["test"].tolist()), "auto": av, "best_kde": best,
                         "best_kde_value": bv, "difference": diff}
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready result: ``results``, ``default`` and the detail behind them.

        ``results`` holds one entry per method and coverage with ``method``, ``label``,
        ``params``, ``coverage``, mean ``hit_rate``, ``pai``, ``pai_requested``, ``pei``,
        ``rri`` and ``area_share`` over the test months listed in ``periods``, and
        ``by_period`` with each month's figures. Also ``auto`` (each month's choice and the
        folds it learnt from), ``skipped`` (months not tested, with the reason), ``params``
        and ``summary`` (the one-line reading of auto at the selection coverage), and
        ``auto_vs_best_kde`` (:meth:`against_best_kde`).
        """
        params_of = {m["label"]: m for m in self.methods}
        results = []
        for rec in self.summary.to_dict("records"):
            d = self.detail[(self.detail["label"] == rec["label"])
                            & np.isclose(self.detail["coverage"], rec["coverage"])]
            cols = ["test", *MEASURE_COLUMNS[1:]] + (["chosen"] if rec["label"] == "auto"
                                                       else [])
            by_period = [{k: v for k, v in r.items()} for r in d[cols].to_dict("records")]
            p = dict(params_of[rec["label"]])
            p.pop("method", None)
            p.pop("label", None)
            results.append(json_value({
                "method": rec["method"], "label": rec["label"], "params": p,
                "coverage": rec["coverage"], "hit_rate": rec["hit_rate"], "pai": rec["pai"],
                "pai_requested": rec["pai_requested"], "pei": rec["pei"], "rri": rec["rri"],
                "area_share": rec["area_share"],
                "periods": list(rec["periods"]), "n_periods": rec["n_periods"],
                "by_period": by_period,
            }))
        return json_value({
            "results": results,
            "default": self.default,
            "auto": self.auto,
            "skipped": self.skipped,
            "params": self.params,
            "summary": self.describe() if "auto" in set(self.summary["label"]) else None,
            "auto_vs_best_kde": self.against_best_kde(),
        })


# ---------------------------------------------------------------------------- back-test
def evaluate(incidents: pd.DataFrame, *, months: Sequence[str] | None = None,
             study_area: BaseGeometry, grid: Grid | None = None,
             cell: float = DEFAULT_CELL, methods: Sequence[Method] | None = None,
             train_months: int = DEFAULT_TRAIN_MONTHS,
             coverages: float | Sequence[float] = DEFAULT_COVERAGES,
             select_coverage: float | None = None, fallback: str = FALLBACK_LABEL,
             crimes: str = "crimes") -> EvaluationResult:
    """Back-test hotspot methods month by month and let ``auto`` pick one without peeking.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame of the crimes to predict (one selection), every month to use.
        Rows without a location are left out (and counted). Not modified.
    months : sequence of str, optional
        Months the source covers, e.g. :func:`hotspots.query.available_months`: a month with
        no incidents of a rare type is then a zero, not a gap. Default: months present in
        ``incidents``.
    study_area : shapely geometry
        EPSG:27700 polygon; study cells are those whose centre is inside, e.g. the force area
        (:func:`hotspots.spatial.boundaries.area_geometry`).
    grid : Grid, optional
        Default ``Grid.from_geometry(study_area, cell)``: one fixed grid for every fold.
    cell : float, default 100
        Metres; ignored when ``grid`` is given.
    methods : sequence of Method, optional
        Default :func:`default_methods`. Labels must be unique and not ``"auto"``.
    train_months : int, default 3
        Calendar months each fold trains on; the test period is the next month.
    coverages : float or sequence of float, default (0.01, 0.02, 0.05, 0.10)
        Shares of the study area flagged as hotspots.
    select_coverage : float, optional
        Coverage ``auto`` maximises mean PAI at the requested area at. Default 0.05 when
        measured, else the smallest coverage; added to ``coverages`` if absent.
    fallback : str, default "KDE 500 m"
        Label ``auto`` uses while no earlier fold exists.
    crimes : str, default "crimes"
        Plural noun for the one-line summary (see :func:`crime_noun`).

    Returns
    -------
    EvaluationResult
        ``to_dict()`` is the CLI's JSON.

    Raises
    ------
    ParameterError
        Bad coverages, train_months, duplicate labels or an unknown fallback.
    NoDataError
        No mapped incidents, or no month with a complete training window before it.

    Notes
    -----
    Folds: every month ``T`` whose ``train_months`` preceding calendar months are all in
    ``months`` is a test month; its training window is exactly those months. A window that
    would cross a missing month is skipped and listed, never bridged. Each method scores the
    grid from the window's incidents; the figures at every coverage come from one partial
    sort of the study cells' scores (as :func:`measure`). ``auto`` is nested: for test month
    ``T`` it takes the method with the highest mean PAI at the requested area (see
    :func:`measure`) at ``select_coverage`` over the folds whose test month is before ``T``
    (so within or before ``T``'s training window; never ``T`` itself), ties to the smoother
    method; with no such fold it uses ``fallback``. Earlier folds may lie before a gap: a
    fold is self-contained, only its score is carried forward.
    """
    covs, select_coverage, methods = _check_request(incidents, coverages, select_coverage,
                                                    methods, fallback)
    study_area, grid, study = _study_grid(study_area, grid, cell)
    mapped, x, y = located_xy(incidents)
    data = incidents[mapped]
    month_col = data["month"].astype(str).to_numpy()
    source_months = _source_months(incidents, months, month_col)
    if data.empty:
        raise NoDataError("no mapped incidents to back-test; widen the crime selection")
    folds, skipped = plan_folds(source_months, train_months)
    if not folds:
        raise NoDataError(f"no month has {train_months} complete months before it "
                          f"(months: {', '.join(source_months)}); use fewer training months")

    per_month = _month_counts(x[mapped], y[mapped], month_col, source_months, grid, study)
    by_month = {m: data[month_col == m] for m in source_months}
    detail = _score_folds(folds, methods, by_month, per_month, grid, study, study_area, covs)
    at_sel = detail[np.isclose(detail["coverage"], select_coverage)]
    detail, auto_log = _add_auto(detail, at_sel, folds, methods, fallback)

    label, reason = choose(at_sel, methods, fallback=fallback)
    pick = next(m for m in methods if m.label == label)
    default = {"method": pick.name, "label": pick.label, "params": json_value(pick.params),
               "reason": reason.replace("earlier fold", "fold"),
               "coverage": select_coverage, "train_months": train_months,
               "cell_m": grid.cell,
               "periods": [f["test"] for f in folds]}
    params = _backtest_params(train_months, covs, select_coverage, fallback, grid, study,
                              source_months, mapped, crimes)
    return EvaluationResult(summary=_summarise_detail(detail), detail=detail, auto=auto_log,
                            default=default, skipped=skipped, params=params,
                            methods=_method_info(methods, train_months, grid, select_coverage,
                                                 fallback))


def _check_request(incidents: pd.DataFrame, coverages: float | Sequence[float],
                   select_coverage: float | None, methods: Sequence[Method] | None,
                   fallback: str) -> tuple[tuple[float, ...], float, list[Method]]:
    """Validate :func:`evaluate`'s arguments; return the coverages, selection one and methods."""
    if not isinstance(incidents, pd.DataFrame) or not {"x", "y", "month"} <= set(
            incidents.columns):
        raise ParameterError("incidents must be an incident frame with x, y and month columns")
    covs = _check_coverages(coverages)
    if select_coverage is None:
        select_coverage = DEFAULT_SELECT_COVERAGE if DEFAULT_SELECT_COVERAGE in covs else covs[0]
    select_coverage = _check_coverages(select_coverage)[0]
    covs = tuple(sorted(set(covs) | {select_coverage}))
    methods = list(default_methods() if methods is None else methods)
    labels = [m.label for m in methods]
    if not methods or len(set(labels)) != len(labels) or "auto" in labels:
        raise ParameterError("methods need unique labels other than 'auto'")
    if fallback not in labels:
        raise ParameterError(f"fallback {fallback!r} is not among the methods: "
                             + ", ".join(labels))
    return covs, select_coverage, methods


def _study_grid(study_area: BaseGeometry, grid: Grid | None, cell: float
                ) -> tuple[BaseGeometry, Grid, np.ndarray]:
    """Return the study area, the fixed grid and its study cells."""
    if grid is None:
        grid = Grid.from_geometry(study_area, cell)
    study = grid.mask(study_area)
    if not study.any():
        raise NoDataError("the study area covers no cell centre of the grid; use a larger area "
                          "or smaller cells")
    return study_area, grid, study


def _source_months(incidents: pd.DataFrame, months: Sequence[str] | None,
                   month_col: np.ndarray) -> list[str]:
    """Return the months the source covers, checking every mapped incident falls in one."""
    source_months = sorted(set(incidents["month"].dropna().astype(str)) if months is None
                           else {str(m) for m in months})
    outside = sorted(set(month_col) - set(source_months))
    if outside:
        raise ParameterError(f"incidents fall in months not listed in months: "
                             f"{', '.join(outside[:5])}; pass every month the data covers")
    return source_months


def _month_counts(x: np.ndarray, y: np.ndarray, month_col: np.ndarray,
                  source_months: Sequence[str], grid: Grid, study: np.ndarray
                  ) -> dict[str, np.ndarray]:
    """Study-cell counts per month, once: every fold's test and training counts sum them."""
    row, col = grid.cell_index(x, y)
    flat = np.where(row >= 0, row * grid.nx + col, -1)
    study_flat = study.ravel()
    per_month: dict[str, np.ndarray] = {}
    for m in source_months:
        f = flat[(month_col == m) & (flat >= 0)]
        per_month[m] = np.bincount(f, minlength=grid.n_cells)[study_flat].astype(float)
    return per_month


def _score_folds(folds: Sequence[dict[str, Any]], methods: Sequence[Method],
                 by_month: dict[str, pd.DataFrame], per_month: dict[str, np.ndarray],
                 grid: Grid, study: np.ndarray, study_area: BaseGeometry,
                 covs: tuple[float, ...]) -> pd.DataFrame:
    """Score every method on every fold; one row per method, test month and coverage."""
    study_flat = study.ravel()
    records = []
    for fold in folds:
        train = pd.concat([by_month[m] for m in fold["train"]])
        test = per_month[fold["test"]]
        train_counts = sum(per_month[m] for m in fold["train"])
        best = _best_hits(test)
        for m in methods:
            scores = np.asarray(m.score(train, grid, fold["train"], study_area, **m.params),
                                dtype=float)
            if scores.shape != grid.shape:
                raise ParameterError(f"method {m.label!r} returned shape {scores.shape}, "
                                     f"grid is {grid.shape}")
            for rec in _measure(scores.ravel()[study_flat], test, train_counts, covs, best):
                records.append({"method": m.name, "label": m.label, "test": fold["test"], **rec})
    return pd.DataFrame(records)


def _add_auto(detail: pd.DataFrame, at_sel: pd.DataFrame, folds: Sequence[dict[str, Any]],
              methods: Sequence[Method], fallback: str
              ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Append ``auto``'s rows: per fold, the method chosen from earlier folds only.

    ``at_sel`` holds the candidates' rows at the selection coverage.
    """
    auto_rows, auto_log = [], []
    for fold in folds:
        history = at_sel[at_sel["test"] < fold["test"]]
        label, reason = choose(history, methods, fallback=fallback)
        auto_log.append({"test": fold["test"], "chosen": label, "reason": reason,
                         "learnt_from": sorted(history["test"].unique().tolist())})
        chosen = detail[(detail["label"] == label) & (detail["test"] == fold["test"])]
        auto_rows.append(chosen.assign(method="auto", label="auto", chosen=label))
    return pd.concat([detail, *auto_rows], ignore_index=True), auto_log


def _method_info(methods: Sequence[Method], train_months: int, grid: Grid,
                 select_coverage: float, fallback: str) -> list[dict[str, Any]]:
    """Describe each candidate, then ``auto`` and its criterion."""
    info = [m.describe() | {"train_months": train_months, "cell_m": grid.cell}
            for m in methods]
    info.append({"method": "auto", "label": "auto",
                 "candidates": [m.label for m in methods], "fallback": fallback,
                 "criterion": f"highest mean PAI at the requested area (hit rate / "
                              f"max(flagged share, {select_coverage:g})) over the folds "
                              "whose test month precedes the fold's test month; ties "
                              "(relative 1e-9) to the larger bandwidth (a multi-scale "
                              "KDE counts as its mean bandwidth)",
                 "train_months": train_months, "cell_m": grid.cell})
    return info


def _backtest_params(train_months: int, covs: tuple[float, ...], select_coverage: float,
                     fallback: str, grid: Grid, study: np.ndarray, source_months: list[str],
                     mapped: np.ndarray, crimes: str) -> dict[str, Any]:
    """Every parameter of the back-test, computed defaults included."""
    return {
        "method": "rolling-origin back-test: fit on the training months, measure on the next "
                  "month",
        "train_months": train_months,
        "test_months": 1,
        "coverages": list(covs),
        "select_coverage": select_coverage,
        "fallback": fallback,
        "grid": grid.to_dict(),
        "study_cells": int(study.sum()),
        "study_area_km2": float(study.sum() * grid.cell_area / 1e6),
        "months": source_months,
        "incidents_mapped": int(mapped.sum()),
        "incidents_without_location": int((~mapped).sum()),
        "crimes": crimes,
        "hotspot_rule": "top coverage share of study cells by score, k = ceil(c N), ties at "
                        "the threshold included, zero scores never flagged",
        "formulas": {
            "hit_rate": "h / n",
            "pai": "(h / n) / (a / N)",
            "pei": "h / h_max(a)",
            "rri": "(h / r) / (n / m)",
        },
    }


def _summarise_detail(detail: pd.DataFrame) -> pd.DataFrame:
    rows = []
    order = list(dict.fromkeys(detail["label"]))
    for (label, cov), g in detail.groupby(["label", "coverage"], sort=False):
        ok = g[np.isfinite(g["pai"].astype(float)) | np.isfinite(g["hit_rate"].astype(float))]
        rows.append({
            "method": g["method"].iloc[0], "label": label, "coverage": float(cov),
            "hit_rate": _mean(g["hit_rate"]), "pai": _mean(g["pai"]),
            "pai_requested": _mean(g["pai_requested"]), "pei": _mean(g["pei"]),
            "rri": _mean(g["rri"]), "area_share": _mean(g["area_share"]),
            "periods": ok["test"].tolist(), "n_periods": int(len(ok)),
        })
    out = pd.DataFrame(rows)
    out["_o"] = out["label"].map({lab: i for i, lab in enumerate(order)})
    return out.sort_values(["_o", "coverage"], kind="stable").drop(columns="_o").reset_index(
        drop=True)


def _mean(s: pd.Series) -> float:
    v = s.astype(float).to_numpy()
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def evaluate_store(store_dir: str | os.PathLike | None = None, *,
                   groups: Sequence[str] | None = None, types: Sequence[str] | None = None,
                   area: str | None = None, settings: Settings,
                   start: str | None = None, end: str | None = None,
                   forces: Sequence[str] | None = None,
                   **kwargs: Any) -> EvaluationResult:
    """Load a crime selection from the store and :func:`evaluate` it (what the CLI runs).

    The store's months (:func:`hotspots.query.available_months`) define the gaps; ``area`` is
    the force (default) or a district name, used both to select incidents and as the study
    area. ``start``/``end`` (``YYYY-MM``) keep the back-test inside that window: its training
    and test months alike (default: every month the store holds). ``forces`` (slugs, default
    ``settings.force``) are the forces whose incidents and area are evaluated together. Other
    keyword arguments go to :func:`evaluate`.
    """
    if groups is None and types is None:
        raise ParameterError("choose crimes with groups (e.g. acquisitive) or types "
                             "(e.g. Burglary)")
    chosen = list(forces) if forces else [settings.force]
    study_area = area_geometry(area, settings, forces=chosen)
    inc = load_incidents(store_dir, groups=groups, types=types, area=area, forces=chosen,
                         start=start, end=end, settings=settings, geometry=study_area)
    held = [m for m in available_months(store_dir, settings=settings, forces=chosen)
            if (start is None or m >= start) and (end is None or m <= end)]
    kwargs.setdefault("crimes", crime_noun(groups, types))
    result = evaluate(inc, months=held, study_area=study_area, **kwargs)
    result.params.update({"area": area or "force", "groups": list(groups or []),
                          "types": list(types or []), "forces": chosen,
                          **({"from": start, "to": end} if start or end else {})})
    return result
