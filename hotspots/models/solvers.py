"""Site selection solvers: exact MCLP / LSCP (HiGHS, CBC), greedy, and the bounds for the gap."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix, hstack, identity, vstack

from hotspots.errors import ParameterError
from hotspots.models.candidates import parse_number
from hotspots.models.coverage import Coverage

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "SOLVERS",
]

#: Seconds the exact solver may run before the best solution found so far (or greedy) is used.
DEFAULT_TIME_LIMIT_S = 30.0

SOLVERS = ("highs", "cbc", "greedy")

# 1 - 1/e: the greedy algorithm's worst-case ratio for maximum coverage (Nemhauser et al. 1978).
_GREEDY_RATIO = 1.0 - 1.0 / math.e


@dataclass
class _Model:
    """Covering rows after removing what existing sites cover and merging equal patterns.

    ``rows`` is ``(n_rows, n_free)`` 0/1: which free sites cover the row; ``w`` its weight.
    A point whose best credit comes in levels c1 > c2 > ... contributes one row per level
    with weight ``w_i (c_l - c_{l+1})``: covering it at level l earns exactly its credit.
    """

    rows: csr_matrix
    w: np.ndarray
    base: float  # weight covered by the existing sites alone
    free: np.ndarray  # site rows of the model's columns


def _build_model(cov: Coverage) -> _Model:
    w = cov.weights
    free = cov.free
    ex = cov.existing
    credit = cov.credit
    levels = np.unique(credit.data)[::-1]
    nxt = np.r_[levels[1:], 0.0]
    ex_best = credit[ex].max(axis=0).toarray().ravel() if ex.size else np.zeros(len(w))
    base = float(ex_best @ w)
    keys: dict[bytes, int] = {}
    row_w: list[float] = []
    r_idx: list[np.ndarray] = []
    sub = credit[free].tocsc()
    for lv, nx_ in zip(levels, nxt, strict=True):
        # existing sites at or above this level make these rows constant
        m = (sub >= lv).tocsc()
        m.sort_indices()
        gain = w * (lv - nx_)
        for i in np.flatnonzero(np.diff(m.indptr) > 0):
            if ex_best[i] >= lv:
                continue
            cols = m.indices[m.indptr[i]:m.indptr[i + 1]]
            key = cols.tobytes()
            r = keys.get(key)
            if r is None:
                keys[key] = len(row_w)
                row_w.append(gain[i])
                r_idx.append(cols)
            else:
                row_w[r] += gain[i]
    n = len(row_w)
    if n:
        lens = np.array([len(c) for c in r_idx])
        rows = csr_matrix((np.ones(lens.sum()), np.concatenate(r_idx),
                           np.r_[0, np.cumsum(lens)]), shape=(n, len(free)))
    else:
        rows = csr_matrix((0, len(free)))
    return _Model(rows=rows, w=np.asarray(row_w, float), base=base, free=free)


def _milp(c: np.ndarray, A: csr_matrix, lb: np.ndarray, ub: np.ndarray, lo: np.ndarray,
          hi: np.ndarray, integer: np.ndarray, solver: str, time_limit: float
          ) -> tuple[np.ndarray | None, bool, float | None, str]:
    """Minimise ``c.z`` s.t. ``lb <= A z <= ub``, ``lo <= z <= hi``; integer where flagged.

    Returns the solution (or None), whether it is proven optimal, the solver's dual bound on
    the optimum (None when the solver does not give one), and a status text.
    """
    if solver == "highs":
        res = milp(c, integrality=integer.astype(int), bounds=Bounds(lo, hi),
                   constraints=LinearConstraint(A, lb, ub),
                   options={"time_limit": float(time_limit), "mip_rel_gap": 0.0,
                            "presolve": True})
        z = None if res.x is None else np.asarray(res.x)
        bound = getattr(res, "mip_dual_bound", None)
        return z, res.status == 0, (None if bound is None or not np.isfinite(bound)
                                    else float(bound)), str(res.message)
    return _milp_cbc(c, A, lb, ub, lo, hi, integer, time_limit)


def _milp_cbc(c: np.ndarray, A: csr_matrix, lb: np.ndarray, ub: np.ndarray, lo: np.ndarray,
              hi: np.ndarray, integer: np.ndarray, time_limit: float
              ) -> tuple[np.ndarray | None, bool, float | None, str]:
    """:func:`_milp` with CBC through PuLP (optional dependency)."""
    try:
        import pulp
    except ImportError:
        raise ParameterError("solver='cbc' needs PuLP (pip install pulp); or use "
                             "solver='highs'") from None
    # PuLP 3.3 warns that its bundled CBC and variable constructor change in 4.0; both paths
    # are handled below, so the warnings would only be noise for a sergeant.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cbc = None
        for name in ("COIN_CMD", "PULP_CBC_CMD"):
            cls = getattr(pulp, name, None)
            if cls is not None and cls(msg=False).available():
                cbc = cls(msg=False, timeLimit=float(time_limit), gapRel=0.0)
                break
        if cbc is None:
            raise ParameterError("solver='cbc' found no CBC binary (pip install 'pulp[cbc]'); "
                                 "or use solver='highs'")
        prob = pulp.LpProblem("sites", pulp.LpMinimize)
        add = getattr(prob, "add_variable", None)
        z = []
        for i in range(len(c)):
            kw = {"lowBound": float(lo[i]), "upBound": float(hi[i]),
                  "cat": "Integer" if integer[i] else "Continuous"}
            z.append(add(f"z{i}", **kw) if add else pulp.LpVariable(f"z{i}", **kw))
        prob += pulp.lpSum(float(c[i]) * z[i] for i in np.flatnonzero(c))
        A = A.tocsr()
        for r in range(A.shape[0]):
            s, e = A.indptr[r], A.indptr[r + 1]
            expr = pulp.lpSum(float(v) * z[j] for j, v in zip(A.indices[s:e], A.data[s:e],
                                                              strict=True))
            if lb[r] == ub[r]:
                prob += expr == float(lb[r])
            else:
                if np.isfinite(ub[r]):
                    prob += expr <= float(ub[r])
                if np.isfinite(lb[r]):
                    prob += expr >= float(lb[r])
        status = prob.solve(cbc)
    values = np.array([v.value() if v.value() is not None else np.nan for v in z], float)
    ok = status == pulp.LpStatusOptimal and not np.isnan(values).any()
    proven = ok and prob.sol_status == pulp.LpSolutionOptimal
    return (values if ok else None), proven, None, f"CBC: {pulp.LpStatus[status]}"


def _lp_bound(c: np.ndarray, A: csr_matrix, lb: np.ndarray, ub: np.ndarray, lo: np.ndarray,
              hi: np.ndarray, time_limit: float | None = None) -> float | None:
    """Optimum of the LP relaxation (a bound on the integer optimum), or None (also when it
    is not found within ``time_limit`` seconds)."""
    eq = lb == ub
    up = ~eq & np.isfinite(ub)
    down = ~eq & np.isfinite(lb)
    A_ub = vstack([A[up], -A[down]]).tocsr() if (up | down).any() else None
    b_ub = np.r_[ub[up], -lb[down]] if A_ub is not None else None
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A[eq] if eq.any() else None,
                  b_eq=ub[eq] if eq.any() else None, bounds=np.c_[lo, hi], method="highs",
                  options=None if time_limit is None else {"time_limit": float(time_limit)})
    return float(res.fun) if res.status == 0 else None


def _greedy(cov: Coverage, k: int | None, target: float | None = None,
            start: Sequence[int] = ()) -> list[int]:
    """Greedy selection of free sites by marginal weight, ties to the earlier site row.

    Stops after ``k`` sites, or once ``target`` weight is reached.
    """
    w = cov.weights
    credit = cov.credit
    cur = credit[cov.existing].max(axis=0).toarray().ravel() if cov.existing.size \
        else np.zeros(len(w))
    for s in start:
        cur = np.maximum(cur, credit[s].toarray().ravel())
    free = cov.free
    sub = credit[free].tocsr()
    chosen: list[int] = list(start)
    taken = np.isin(free, chosen)
    while True:
        if k is not None and len(chosen) >= k:
            break
        if target is not None and cur @ w >= target - 1e-9 * max(target, 1.0):
            break
        gain_data = np.maximum(sub.data - cur[sub.indices], 0.0) * w[sub.indices]
        gains = np.add.reduceat(np.r_[gain_data, 0.0], sub.indptr[:-1]) * \
            (np.diff(sub.indptr) > 0)
        gains[taken] = -1.0
        j = int(np.argmax(gains))
        if gains[j] < 0 or (target is not None and gains[j] <= 0):
            break
        taken[j] = True
        chosen.append(int(free[j]))
        row = sub[j]
        cur[row.indices] = np.maximum(cur[row.indices], row.data)
    return chosen


def check_solver(solver: str, time_limit: Any) -> float:
    if solver not in SOLVERS:
        raise ParameterError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    t = parse_number(time_limit)
    if t is None or t <= 0:
        raise ParameterError(f"time_limit must be seconds above 0, got {time_limit!r}")
    return t


def _mclp_problem(model: _Model, k: int):
    n_x, n_y = len(model.free), len(model.w)
    c = np.r_[np.zeros(n_x), -model.w]
    # y_r <= sum of the free sites covering row r;  sum x = k
    cover = hstack([-model.rows, identity(n_y, format="csr")]).tocsr()
    count = csr_matrix(np.r_[np.ones(n_x), np.zeros(n_y)][None, :])
    A = vstack([cover, count]).tocsr()
    lb = np.r_[np.full(n_y, -np.inf), k]
    ub = np.r_[np.zeros(n_y), k]
    lo, hi = np.zeros(n_x + n_y), np.ones(n_x + n_y)
    # y may stay continuous: with integer x its best value is 0 or 1 anyway
    integer = np.r_[np.ones(n_x, bool), np.zeros(n_y, bool)]
    return c, A, lb, ub, lo, hi, integer


def solve_mclp(cov: Coverage, k: int, solver: str, time_limit: float) -> dict[str, Any]:
    """Best ``k`` free sites: exact with a greedy fallback, and the evidence for the answer."""
    t0 = time.perf_counter()
    # One budget for the whole answer: building the model and greedy count against the time
    # limit, and the exact solve and the LP bound get only what is left of it.
    deadline = t0 + time_limit
    model = _build_model(cov)
    greedy = _greedy(cov, k)
    g_val = cov.value(greedy)
    chosen, method, proven, status = greedy, "greedy", False, "greedy requested"
    bounds: list[tuple[float, str]] = []
    left = deadline - time.perf_counter()
    if len(model.w) == 0:
        # the existing sites already reach everything any candidate could
        chosen, method, proven, status = greedy, "mclp", True, "nothing left to cover"
    elif solver != "greedy" and left <= 0.05:
        status = (f"time limit of {time_limit:g} s used up building the model; greedy kept "
                  "with its gap")
    elif solver != "greedy":
        problem = _mclp_problem(model, k)
        z, proven, dual, status = _milp(*problem, solver, left)
        exact = None
        if z is not None:
            exact = [int(model.free[i]) for i in np.flatnonzero(z[:len(model.free)] > 0.5)]
            exact = exact if len(exact) == k else None
        e_val = cov.value(exact) if exact is not None else -np.inf
        proven = bool(proven and exact is not None)
        if proven or e_val >= g_val:
            chosen, method = exact, "mclp"
        if dual is not None and not proven:
            bounds.append((model.base - dual, f"{solver} dual bound"))
    value = cov.value(chosen)
    if proven:
        bound, source, gap = value, "proven optimal", 0.0
    else:
        left = deadline - time.perf_counter()
        lp = _lp_bound(*_mclp_problem(model, k)[:6], time_limit=left) if left > 0.05 \
            else None
        if lp is not None:
            bounds.append((model.base - lp, "LP relaxation"))
        # greedy's worst case bounds the optimum of what the new sites add
        bounds.append((model.base + (g_val - model.base) / _GREEDY_RATIO,
                       "greedy (1-1/e) bound"))
        bound, source = min(bounds, key=lambda t: t[0])
        bound = max(bound, value)
        gap = (bound - value) / bound if bound > 0 else 0.0
    return {"chosen": chosen, "method": method, "proven_optimal": bool(proven),
            "value": value, "greedy_value": g_val, "bound": float(bound), "bound_source": source,
            "gap": float(max(gap, 0.0)), "status": status, "solver": solver,
            "time_limit_s": time_limit, "model_rows": len(model.w),
            "seconds": round(time.perf_counter() - t0, 3)}


def solve_lscp(cov: Coverage, need: float, solver: str, time_limit: float) -> dict[str, Any]:
    """Fewest free sites covering ``need`` weight: exact with a greedy fallback, and the lower
    bound on the number of sites (the solver's, or the LP relaxation's) for the gap."""
    total = cov.total_weight
    model = _build_model(cov)
    greedy = _greedy(cov, None, target=need)
    chosen, method, proven, status, lower = greedy, "greedy", False, "greedy requested", 0
    if model.base >= need * (1 - 1e-12):
        chosen, method, proven, status, lower = [], "lscp", True, "existing sites suffice", 0
    elif solver != "greedy":
        n_x, n_y = len(model.free), len(model.w)
        c = np.r_[np.ones(n_x), np.zeros(n_y)]
        cover = hstack([-model.rows, identity(n_y, format="csr")]).tocsr()
        wrow = csr_matrix(np.r_[np.zeros(n_x), model.w][None, :])
        A = vstack([cover, wrow]).tocsr()
        # a hair under the target absorbs rounding in the summed weights
        lb = np.r_[np.full(n_y, -np.inf), need - model.base - 1e-9 * total]
        ub = np.r_[np.zeros(n_y), np.inf]
        lo, hi = np.zeros(n_x + n_y), np.ones(n_x + n_y)
        integer = np.r_[np.ones(n_x, bool), np.zeros(n_y, bool)]
        z, proven, dual, status = _milp(c, A, lb, ub, lo, hi, integer, solver, time_limit)
        if z is not None:
            exact = [int(model.free[i]) for i in np.flatnonzero(z[:n_x] > 0.5)]
            if len(exact) <= len(greedy) and cov.value(exact) >= need * (1 - 1e-9):
                chosen, method = exact, "lscp"
        if proven and method == "lscp":
            lower = len(chosen)
        else:
            proven = False
            lp = _lp_bound(c, A, lb, ub, lo, hi)
            lower = max(math.ceil(dual - 1e-6) if dual is not None else 0,
                        math.ceil(lp - 1e-6) if lp is not None else 0)
    return {"chosen": chosen, "method": method, "proven_optimal": bool(proven),
            "status": status, "lower": lower, "model_rows": len(model.w)}
