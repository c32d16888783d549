"""Significance of Gi*: FDR and Bonferroni arithmetic, ArcGIS confidence bins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hotspots.models.significance import assign_bins, correct_pvalues


# ---------------------------------------------------------------------------- FDR and bins
def test_fdr_bh_adjusts_a_hand_made_p_vector():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2])
    # Ascending 0.005, 0.01, 0.03, 0.04, 0.2 times m/rank = 0.025, 0.025, 0.05, 0.05, 0.2;
    # running minimum from the top leaves them as they are.
    assert correct_pvalues(p, "fdr_bh") == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.2])
    assert correct_pvalues(p, "bonferroni") == pytest.approx([0.05, 0.2, 0.15, 0.025, 1.0])
    assert correct_pvalues(p, "none") == pytest.approx(p)
    # A larger p later in the order pulls earlier adjusted values down to its own.
    assert correct_pvalues([0.02, 0.021, 0.022], "fdr_bh") == pytest.approx([0.022] * 3)


def step_up_rejects(p: np.ndarray, alpha: float) -> np.ndarray:
    """ArcGIS-style FDR at one level: reject the k smallest, k the largest with p_(k) <= ak/m."""
    m = p.size
    order = np.argsort(p)
    ok = np.flatnonzero(p[order] <= alpha * np.arange(1, m + 1) / m)
    out = np.zeros(m, dtype=bool)
    if ok.size:
        out[order[:ok[-1] + 1]] = True
    return out


def test_bins_equal_the_fdr_step_up_run_at_each_confidence_level():
    rng = np.random.default_rng(5)
    z = rng.normal(0, 2, 2000)
    p = 2 * (1 - 0.5 * (1 + np.vectorize(math.erf)(np.abs(z) / math.sqrt(2))))
    bins = assign_bins(z, correct_pvalues(p, "fdr_bh"))
    expected = np.zeros(z.size, dtype=int)
    for level, alpha in ((1, 0.10), (2, 0.05), (3, 0.01)):
        expected[step_up_rejects(p, alpha)] = level
    expected *= np.sign(z).astype(int)
    assert np.array_equal(bins, expected)
    assert {-3, 3} <= set(bins.tolist())


def test_bins_take_their_level_from_the_corrected_p_and_their_sign_from_z():
    z = np.array([2.0, -2.0, 1.0, -1.0, 3.0, 0.5, np.nan])
    pc = np.array([0.005, 0.01, 0.05, 0.0500001, 0.10, 0.2, np.nan])
    assert assign_bins(z, pc).tolist() == [3, -3, 2, -1, 1, 0, 0]
