"""Where to put stop-checks and ANPR patrols: maximal covering site selection on the SRN."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hotspots.errors import ParameterError
from hotspots.jsonvalue import json_value
from hotspots.models.candidates import parse_number
from hotspots.models.coverage import Coverage, reach_label
from hotspots.models.solvers import (
    DEFAULT_TIME_LIMIT_S,
    check_solver,
    solve_lscp,
    solve_mclp,
)

__all__ = [
    "SitePlan",
    "choose_sites",
    "coverage_curve",
    "lscp",
]


@dataclass
class SitePlan:
    """Ranked sites with what each covers, how they were chosen and how good the choice is.

    Attributes
    ----------
    sites : pandas.DataFrame
        New sites, by ``rank`` (1 = largest marginal coverage given the existing sites and the
        higher ranks): ``rank, name, kind, roads, lon, lat, x, y, covered, covered_harm,
        covered_share, covered_incident_share, marginal, marginal_harm, marginal_share,
        cumulative, cumulative_harm, cumulative_share, crime_mix, hotspots, rationale``.
        ``covered*`` count what the site reaches on its own; ``marginal*`` what no existing or
        higher-ranked site reaches; ``cumulative*`` the union up to this rank, existing sites
        included. Shares are of the total demand weight (``share_basis``);
        ``covered_incident_share`` is of the incidents.
    existing : pandas.DataFrame
        Existing sites with the same columns (``rank`` 0), counted before any new site.
    method : str
        ``"mclp"`` (exact solver's answer), ``"greedy"``, ``"lscp"``.
    gap : float
        ``(bound - value) / bound``: 0.0 when proven optimal.
    summary : dict
        Objective, bound and its source, solver status, timings, coverage parameters.
    """

    sites: pd.DataFrame
    existing: pd.DataFrame
    method: str
    gap: float
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``sites`` (ordered), ``existing``, ``method``, ``gap`` and the
        method, parameters and totals behind them."""
        return json_value({"method": self.method, "gap": round(self.gap, 6),
                          "sites": self.sites.drop(columns=["x", "y"]).to_dict("records"),
                          "existing": self.existing.drop(columns=["x", "y"])
                          .to_dict("records"),
                          **self.summary})


def _fmt_count(v: float, surface: bool) -> str:
    return f"{v:,.1f}" if surface else f"{int(round(v)):,}"


def _corridor_phrase(roads: list[str], site: pd.Series) -> str:
    if roads:
        if len(roads) == 1:
            return f"it sits on the {roads[0]} corridor"
        return f"it sits on the {', '.join(roads[:-1])} and {roads[-1]} corridors"
    dist, ref = site.get("srn_distance_m"), site.get("srn_ref")
    if dist is None or not np.isfinite(dist):
        return "its distance from the SRN is not known (no road graph given)"
    text = f"{dist:,.0f} m" if dist < 1000 else f"{dist / 1000:.1f} km"
    if dist < 2000:
        return f"it is {text} from the {ref}"
    return f"it is {text} from the nearest SRN road ({ref})"


def _site_rows(cov: Coverage, order: list[int], rank0: int) -> list[dict]:
    """Per-site statistics in ``order``, each counted against the sites before it."""
    w = cov.weights
    inc = cov.demand["incidents"].to_numpy(float)
    harm = cov.demand["harm"].to_numpy(float)
    total_w = cov.total_weight
    total_n = float(inc.sum())
    surface = cov.params["demand_source"] == "surface"
    has_harm = bool(np.isfinite(harm).all())
    mix_cols = [c for c in cov.demand.columns if c.startswith("type:")]
    mix = cov.demand[mix_cols].to_numpy(float) if mix_cols else None
    label = cov.params["label"]
    reach = reach_label(cov.params)
    ex = cov.existing
    cur = cov.credit[ex].max(axis=0).toarray().ravel() if ex.size and rank0 > 0 \
        else np.zeros(len(w))
    within = (cov.credit[ex].getnnz(axis=0) > 0) if ex.size and rank0 > 0 \
        else np.zeros(len(w), bool)
    rows = []
    for pos, s in enumerate(order):
        row = cov.credit[s]
        idx, cr = row.indices, row.data
        reach_mask = np.zeros(len(w), bool)
        reach_mask[idx] = True
        new_mask = reach_mask & ~within
        gain = float((np.maximum(cr - cur[idx], 0.0) * w[idx]).sum())
        cur[idx] = np.maximum(cur[idx], cr)
        within |= reach_mask
        site = cov.sites.iloc[s]
        roads = [r for r in str(site["roads"]).split("; ") if r]
        covered = float(inc[reach_mask].sum())
        marginal = float(inc[new_mask].sum())
        hot = []
        if cov.hotspot_reach is not None:
            hot = [cov.hotspot_labels[j] for j in cov.hotspot_reach[s].indices]
        crime_mix = {}
        if mix is not None:
            counts = mix[reach_mask].sum(axis=0)
            crime_mix = {mix_cols[j][5:]: int(round(counts[j]))
                         for j in np.argsort(-counts, kind="stable") if counts[j] > 0}
        d = {"rank": rank0 + pos if rank0 > 0 else 0, "name": site["name"],
             "kind": site["kind"], "roads": roads, "lon": float(site["lon"]),
             "lat": float(site["lat"]), "x": float(site["x"]), "y": float(site["y"]),
             "covered": round(covered, 1) if surface else int(round(covered)),
             "covered_harm": float(harm[reach_mask].sum()) if has_harm else None,
             "covered_share": float((cr * w[idx]).sum() / total_w),
             "covered_incident_share": covered / total_n if total_n else 0.0,
             "marginal": round(marginal, 1) if surface else int(round(marginal)),
             "marginal_harm": float(harm[new_mask].sum()) if has_harm else None,
             "marginal_share": gain / total_w,
             "cumulative": round(float(inc[within].sum()), 1) if surface
             else int(round(inc[within].sum())),
             "cumulative_harm": float(harm[within].sum()) if has_harm else None,
             "cumulative_share": float(cur @ w / total_w),
             "crime_mix": crime_mix, "hotspots": hot}
        d["rationale"] = _rationale(d, label, reach, surface, rank0 == 0, bool(ex.size),
                                    _corridor_phrase(roads, site), cov.params["weight"],
                                    bool(cov.params["decay"]))
        rows.append(d)
    return rows


def _rationale(d: dict, label: str, reach: str, surface: bool, is_existing: bool,
               any_existing: bool, corridor: str, weight: str, decay: bool) -> str:
    """One plain-English sentence from the site's numbers."""
    n = _fmt_count(d["covered"], surface)
    share = f"{d['covered_incident_share']:.0%} of the total"
    if weight == "harm":
        share += f", {d['covered_share']:.0%} of the harm"
    if decay:
        share += " after distance decay" if weight == "harm" else \
            f", {d['covered_share']:.0%} after distance decay"
    text = f"{d['name']} covers {n} {label} ({share}) {reach}"
    others = "any higher-ranked or existing site" if any_existing else "any higher-ranked site"
    if is_existing:
        text += " (existing site, counted first)"
    elif d["rank"] > 1 or any_existing:
        if d["marginal"] == 0:
            text += f", none of them beyond what {others.replace('any ', '')}s cover"
        elif d["marginal"] == d["covered"]:
            text += f", none of them covered by {others}"
        else:
            text += f", {_fmt_count(d['marginal'], surface)} of them not covered by {others}"
    text += f"; {corridor}"
    if d["hotspots"]:
        h = len(d["hotspots"])
        text += f", with {h} hotspot area{'s' if h != 1 else ''} within reach"
    return text + "."


def _order_by_marginal(cov: Coverage, chosen: list[int]) -> list[int]:
    """Chosen sites ordered greedily by marginal weight (given existing and earlier ranks)."""
    order: list[int] = []
    w = cov.weights
    ex = cov.existing
    cur = cov.credit[ex].max(axis=0).toarray().ravel() if ex.size else np.zeros(len(w))
    left = sorted(set(chosen))
    while left:
        gains = []
        for s in left:
            r = cov.credit[s]
            gains.append(((np.maximum(r.data - cur[r.indices], 0.0) * w[r.indices]).sum(),
                          (r.data * w[r.indices]).sum(), -s))
        best = left[int(max(range(len(left)), key=lambda i: gains[i]))]
        r = cov.credit[best]
        cur[r.indices] = np.maximum(cur[r.indices], r.data)
        order.append(best)
        left.remove(best)
    return order


def _plan(cov: Coverage, chosen: list[int], method: str, gap: float, extra: dict) -> SitePlan:
    order = _order_by_marginal(cov, chosen)
    cols = ["rank", "name", "kind", "roads", "lon", "lat", "x", "y", "covered", "covered_harm",
            "covered_share", "covered_incident_share", "marginal", "marginal_harm",
            "marginal_share", "cumulative", "cumulative_harm", "cumulative_share", "crime_mix",
            "hotspots", "rationale"]
    sites = pd.DataFrame(_site_rows(cov, order, 1), columns=cols)
    existing = pd.DataFrame(_site_rows(cov, list(cov.existing), 0), columns=cols)
    ex_val = cov.value([])
    value = cov.value(chosen)
    total = cov.total_weight
    inc = cov.demand["incidents"].to_numpy(float)
    within = cov.credit[np.r_[np.asarray(chosen, int), cov.existing]].getnnz(axis=0) > 0 \
        if len(chosen) or cov.existing.size else np.zeros(len(inc), bool)
    summary = {
        "k": len(chosen),
        "covered_share": value / total,
        "existing_share": ex_val / total,
        "covered_incidents": float(inc[within].sum()),
        "total_incidents": float(inc.sum()),
        "total_weight": total,
        "share_basis": cov.params["weight"] if cov.params["weight"] != "harm"
        else "harm (sum of incidents' harm weights)",
        "reach": reach_label(cov.params),
        "coverage": cov.params,
        **extra,
    }
    return SitePlan(sites=sites, existing=existing, method=method, gap=gap, summary=summary)


def _check_k(cov: Coverage, k: Any, what: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"{what} must be a whole number of sites >= 1, got {k!r}")
    n = len(cov.free)
    if k > n:
        raise ParameterError(f"{what}={k} but there are only {n} candidate sites"
                             + (f" (plus {len(cov.existing)} existing)" if len(cov.existing)
                                else "") + "; lower k or add sites with extra=")
    return int(k)


def choose_sites(coverage: Coverage, k: int = 5, *, solver: str = "highs",
                 time_limit: float = DEFAULT_TIME_LIMIT_S) -> SitePlan:
    """Choose ``k`` new sites covering the most demand (maximal covering location problem).

    MCLP (Church & ReVelle 1974): maximise the demand weight within reach of at least one
    chosen site, existing sites forced in. Solved exactly as a mixed-integer programme
    (``solver="highs"``: HiGHS through ``scipy.optimize.milp``; ``"cbc"``: CBC through PuLP)
    with ``mip_rel_gap = 0`` and a time limit. The greedy solution is always computed too;
    when the solver does not prove optimality in time, the better of its incumbent and greedy
    is returned with the optimality gap against the tightest bound available (the solver's
    dual bound, the LP relaxation, or greedy's ``1 - 1/e`` guarantee).

    Parameters
    ----------
    coverage : Coverage
        From :func:`build_coverage`.
    k : int
        New sites to choose (existing sites come on top).
    solver : {"highs", "cbc", "greedy"}
    time_limit : float
        Seconds for the exact solver (default 30).

    Returns
    -------
    SitePlan
        ``method`` ``"mclp"`` or ``"greedy"``; ``gap`` 0.0 when proven optimal;
        ``summary``: ``covered_share``, ``existing_share``, ``objective``, ``bound``,
        ``bound_source``, ``greedy_share``, ``solver``, ``status``, ``seconds``, ``coverage``
        (the coverage parameters).

    Raises
    ------
    ParameterError
        ``k`` below 1 or above the number of candidates; unknown solver; bad time limit.
    """
    if not isinstance(coverage, Coverage):
        raise ParameterError("coverage must come from build_coverage()")
    k = _check_k(coverage, k)
    time_limit = check_solver(solver, time_limit)
    res = solve_mclp(coverage, k, solver, time_limit)
    total = coverage.total_weight
    extra = {"objective": res["value"], "bound": res["bound"],
             "bound_source": res["bound_source"], "proven_optimal": res["proven_optimal"],
             "greedy_share": res["greedy_value"] / total, "solver": res["solver"],
             "time_limit_s": res["time_limit_s"], "status": res["status"],
             "model_rows": res["model_rows"], "seconds": res["seconds"],
             "problem": "MCLP: maximise demand weight within reach of k new sites "
                        "(existing sites forced in)"}
    return _plan(coverage, res["chosen"], res["method"], res["gap"], extra)


def lscp(coverage: Coverage, target: float = 0.8, *, solver: str = "highs",
         time_limit: float = DEFAULT_TIME_LIMIT_S) -> SitePlan:
    """The fewest new sites that together cover ``target`` of the demand (set covering).

    Partial location set covering: minimise the number of new sites such that the demand
    weight within reach (existing sites included) is at least ``target`` x the total. Exact
    with a time limit; otherwise greedy (add the site adding most until the target is met),
    with the gap in sites against the solver's bound.

    Parameters
    ----------
    coverage : Coverage
    target : float
        Share of the total demand weight, ``0 < target <= 1`` (default 0.8).
    solver, time_limit
        As in :func:`choose_sites`.

    Returns
    -------
    SitePlan
        ``method`` ``"lscp"`` (proven minimal) or ``"greedy"``; ``summary["target"]``,
        ``summary["min_sites_bound"]``.

    Raises
    ------
    ParameterError
        Bad target; the target is out of reach even with every candidate.
    """
    if not isinstance(coverage, Coverage):
        raise ParameterError("coverage must come from build_coverage()")
    t = parse_number(target)
    if t is None or not 0 < t <= 1:
        raise ParameterError(f"target must be a share between 0 and 1, e.g. 0.8, got {target!r}")
    time_limit = check_solver(solver, time_limit)
    t0 = time.perf_counter()
    total = coverage.total_weight
    need = t * total
    all_val = coverage.value(list(coverage.free))
    if all_val < need * (1 - 1e-12):
        raise ParameterError(f"target {t:.0%} cannot be met: all {len(coverage.free)} "
                             f"candidate sites together cover {all_val / total:.1%} "
                             f"{reach_label(coverage.params)}; lower the target or widen the "
                             "reach")
    res = solve_lscp(coverage, need, solver, time_limit)
    chosen, proven, lower = res["chosen"], res["proven_optimal"], res["lower"]
    n = len(chosen)
    gap = 0.0 if proven else (n - lower) / n if n else 0.0
    extra = {"target": t, "min_sites_bound": int(lower if not proven else n),
             "proven_optimal": bool(proven), "objective": coverage.value(chosen),
             "bound_source": "proven optimal" if proven else
             "solver dual / LP relaxation bound on the number of sites",
             "solver": solver, "time_limit_s": time_limit, "status": res["status"],
             "model_rows": res["model_rows"], "seconds": round(time.perf_counter() - t0, 3),
             "problem": f"LSCP (partial): fewest new sites covering {t:.0%} of the demand "
                        "weight (existing sites count towards it)"}
    return _plan(coverage, chosen, res["method"], gap, extra)


def coverage_curve(coverage: Coverage, k_max: int = 15, *, solver: str = "highs",
                   time_limit: float = 10.0) -> list[tuple[int, float]]:
    """Covered share of the demand weight against the number of new sites, k = 1..k_max.

    Each point is its own MCLP (the best k sites need not contain the best k-1), solved as in
    :func:`choose_sites`; if a solve is not proven optimal in ``time_limit`` the better of its
    incumbent and greedy is used, and the curve is kept non-decreasing (adding a site never
    loses coverage). ``k_max`` above the number of candidates stops at that number. Existing
    sites are counted at every k.

    Returns
    -------
    list of (int, float)
        ``(k, cumulative share)``, JSON-ready.
    """
    if not isinstance(coverage, Coverage):
        raise ParameterError("coverage must come from build_coverage()")
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or k_max < 1:
        raise ParameterError(f"k_max must be a whole number >= 1, got {k_max!r}")
    time_limit = check_solver(solver, time_limit)
    total = coverage.total_weight
    out: list[tuple[int, float]] = []
    last = coverage.value([]) / total
    for k in range(1, min(int(k_max), len(coverage.free)) + 1):
        res = solve_mclp(coverage, k, solver, time_limit)
        last = max(last, res["value"] / total)
        out.append((k, float(last)))
    return out
