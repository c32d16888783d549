"""Significance of Gi*: multiple-testing corrections, ArcGIS confidence bins, permutation p-values.

Shared by grid and LSOA Gi* (:mod:`hotspots.models.gistar`) and the space-time Gi* of emerging
hot spots (:mod:`hotspots.models.emerging`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from hotspots.errors import ParameterError

CORRECTIONS = ("fdr_bh", "bonferroni", "none")
CORRECTION_NAMES = {
    "fdr_bh": "Benjamini-Hochberg false discovery rate (as ArcGIS Pro's FDR option)",
    "bonferroni": "Bonferroni (family-wise error)",
    "none": "none (each feature tested on its own)",
}

#: Confidence levels of the bins, highest first: bin +/-3 at 99 %, +/-2 at 95 %, +/-1 at 90 %.
LEVELS = (0.99, 0.95, 0.90)

#: Permutations used when ``permutations=True``.
DEFAULT_PERMUTATIONS = 999


def check_correction(correction: str) -> str:
    """Return ``correction`` if it is one of :data:`CORRECTIONS`, else raise ParameterError."""
    if correction not in CORRECTIONS:
        raise ParameterError(f"unknown correction {correction!r}; choose one of "
                             + ", ".join(CORRECTIONS))
    return correction


def correct_pvalues(p: Any, correction: str = "fdr_bh") -> np.ndarray:
    """Return p-values adjusted for testing every feature at once.

    Parameters
    ----------
    p : array_like
        p-values in [0, 1], one per feature (all features of one analysis).
    correction : {"fdr_bh", "bonferroni", "none"}, default "fdr_bh"
        ``fdr_bh``: Benjamini-Hochberg adjusted p-values, ``q_(i) = min_{k >= i} m p_(k) / k``
        over the ascending order, capped at 1; ``q <= alpha`` exactly when the step-up
        procedure at false discovery rate ``alpha`` rejects the feature, so one set of adjusted
        values serves every confidence level. ``bonferroni``: ``min(1, m p)``. ``none``: ``p``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``p``.
    """
    check_correction(correction)
    pa = np.asarray(p, dtype=float)
    flat = pa.ravel()
    if flat.size and not (np.isfinite(flat).all() and flat.min() >= 0 and flat.max() <= 1):
        raise ParameterError("p-values must be finite numbers between 0 and 1")
    m = flat.size
    if correction == "none" or m == 0:
        return pa.copy()
    if correction == "bonferroni":
        return np.minimum(1.0, pa * m)
    order = np.argsort(flat, kind="stable")
    scaled = flat[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out.reshape(pa.shape)


def assign_bins(z: Any, p_corrected: Any) -> np.ndarray:
    """Return ArcGIS-style confidence bins from z-scores and corrected p-values.

    ``+3``/``-3`` where the corrected p is <= 0.01 (99 % confidence), ``+/-2`` where <= 0.05,
    ``+/-1`` where <= 0.10, else 0; the sign is the sign of ``z`` (hot > 0, cold < 0). With
    Benjamini-Hochberg adjusted p-values this is ArcGIS Pro's Hot Spot Analysis with FDR: the
    FDR step-up run separately at each of the three levels. NaN gives 0.

    Returns
    -------
    numpy.ndarray of int8, same shape as ``z``.
    """
    za = np.asarray(z, dtype=float)
    pa = np.asarray(p_corrected, dtype=float)
    if za.shape != pa.shape:
        raise ParameterError(f"z and p_corrected differ in shape ({za.shape} vs {pa.shape})")
    level = np.zeros(za.shape, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        for k, lv in zip((1, 2, 3), LEVELS[::-1], strict=True):
            # A hair of tolerance so p exactly at a threshold (e.g. 0.05 after rounding in
            # the correction's arithmetic) counts as significant, as "p <= alpha" intends.
            level[pa <= (1 - lv) * (1 + 1e-12)] = k
        sign = np.sign(np.nan_to_num(za)).astype(np.int8)
    return (level * sign).astype(np.int8)


def permutation_pvalues(y: np.ndarray, w: sparse.csr_matrix, lag: np.ndarray, permutations: int,
                   seed: int | None) -> np.ndarray:
    """Two-sided pseudo p-values by conditional randomisation, with shared draws.

    Each feature keeps its own value; its ``k_i`` other neighbours are replaced by ``k_i``
    values drawn without replacement from the other ``n - 1`` features. As in esda, one draw
    of ``max k`` indices into "the others" per permutation is shared by every feature (index
    ``r`` means feature ``r`` when ``r < i``, else ``r + 1``), which keeps each feature's null
    distribution exact and the work O(permutations x n log k).
    """
    n = y.size
    rng = np.random.default_rng(seed)
    k = np.diff(w.indptr) - 1
    ge = np.zeros(n)
    le = np.zeros(n)
    y_next = np.append(y[1:], 0.0)
    tol = 1e-9 * max(1.0, float(np.abs(y).sum()))
    groups = [(int(kk), np.flatnonzero(k == kk)) for kk in np.unique(k) if kk > 0]
    isolated = k <= 0
    kmax = int(k.max()) if n else 0
    for _ in range(permutations):
        if kmax == 0:
            break
        rid = rng.choice(n - 1, size=kmax, replace=False)
        for kk, cells in groups:
            s = np.sort(rid[:kk])
            a = np.concatenate(([0.0], np.cumsum(y[s])))
            b = np.concatenate(([0.0], np.cumsum(y_next[s])))
            t = np.searchsorted(s, cells, side="left")
            sim = y[cells] + a[t] + (b[-1] - b[t])
            ge[cells] += sim >= lag[cells] - tol
            le[cells] += sim <= lag[cells] + tol
    ge[isolated] = le[isolated] = permutations
    return np.minimum(1.0, 2.0 * (np.minimum(ge, le) + 1.0) / (permutations + 1.0))


def check_permutations(permutations: Any) -> int:
    """Return the number of permutations: ``True`` is the default 999, ``False``/None 0."""
    if permutations is True:
        return DEFAULT_PERMUTATIONS
    if permutations is False or permutations is None:
        return 0
    if isinstance(permutations, bool) or not isinstance(permutations, int | np.integer) \
            or permutations < 0:
        raise ParameterError(f"permutations must be a whole number >= 0 (e.g. 999) or True, "
                             f"got {permutations!r}")
    return int(permutations)
