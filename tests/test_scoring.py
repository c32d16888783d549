"""Back-test candidates: score functions, the multi-scale KDE and the default registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from support import synthetic

from hotspots.errors import ParameterError
from hotspots.models.gistar import gi_star_grid
from hotspots.models.kde import DEFAULT_MULTISCALE_BANDWIDTHS
from hotspots.models.scoring import (
    DEFAULT_BANDWIDTHS,
    counts_candidate,
    default_methods,
    gistar_candidate,
    kde_candidates,
    multiscale_candidate,
    prospective_candidates,
    score_counts,
    score_gistar,
    score_kde,
    score_kde_multiscale,
)
from hotspots.spatial.grid import Grid


def test_methods_score_from_the_training_window_they_are_given():
    grid = Grid(0.0, 0.0, 100.0, 20, 20)
    inc = synthetic(["2025-01", "2025-02"], {"2025-01": (500, 500), "2025-02": (1500, 1500)})
    counts = score_counts(inc, grid, ["2025-01", "2025-02"], None)
    assert counts.sum() == 40 and counts[15, 15] > 0 and counts[5, 5] == 0  # last month only
    kde = score_kde(inc, grid, ["2025-01", "2025-02"], None, bandwidth=300)
    assert kde.sum() * 0.01 == pytest.approx(80, rel=0.02)  # per km2 x 0.01 km2 per cell


def test_gistar_scores_peak_at_the_cluster_and_reuse_of_weights_changes_nothing():
    grid = Grid(0.0, 0.0, 100.0, 10, 10)
    area = shapely.box(0, 0, 1000, 1000)
    rng = np.random.default_rng(3)
    # 30 incidents in cell (row 5, col 5), 10 scattered in the south-west corner.
    inc = pd.DataFrame({"x": np.r_[rng.uniform(510, 590, 30), rng.uniform(0, 300, 10)],
                        "y": np.r_[rng.uniform(510, 590, 30), rng.uniform(0, 300, 10)],
                        "month": "2025-01"})
    first = score_gistar(inc, grid, ["2025-01"], area)
    again = score_gistar(inc, grid, ["2025-01"], area)  # weights from the cache
    # Every cell whose 3 x 3 neighbourhood holds the cluster shares the top z-score.
    top = np.argwhere(np.isclose(first, first.max()))
    assert sorted(map(tuple, top.tolist())) == [(r, c) for r in (4, 5, 6) for c in (4, 5, 6)]
    np.testing.assert_array_equal(first, again)
    direct = gi_star_grid(inc["x"], inc["y"], grid=grid, study_area=area).z
    np.testing.assert_allclose(first, direct, rtol=1e-12)


# ---------------------------------------------------------------------------- multi-scale KDE
def test_multiscale_kde_matches_its_definition_on_real_kernels():
    grid = Grid(0.0, 0.0, 100.0, 20, 20)
    inc = synthetic(["2025-01", "2025-02"], {"2025-01": (700, 700), "2025-02": (1300, 900)})
    window = ["2025-01", "2025-02"]
    surfaces = [score_kde(inc, grid, window, None, bandwidth=b) for b in (300, 500, 750)]
    want = np.mean([s / s.sum() for s in surfaces], axis=0)
    got = score_kde_multiscale(inc, grid, window, None, bandwidths=[300, 500, 750])
    # The score is the map's surface (incidents per km²): the mean share per cell times the
    # mean total, so cells rank exactly as the mean of the normalised surfaces.
    np.testing.assert_allclose(got / got.sum(), want, rtol=1e-12)
    assert got.sum() == pytest.approx(np.mean([s.sum() for s in surfaces]))
    assert not score_kde_multiscale(inc.iloc[:0], grid, window, None).any()
    with pytest.raises(ParameterError, match="at least two different bandwidths"):
        score_kde_multiscale(inc, grid, window, None, bandwidths=[])


def test_multiscale_kde_is_a_registry_candidate_with_its_own_name_and_params():
    ms = [m for m in default_methods() if m.name == "kde_multiscale"]
    assert len(ms) == 1
    assert ms[0].label == "KDE multi-scale 300-1000 m"
    assert ms[0].params == {"bandwidths": [300.0, 500.0, 750.0, 1000.0], "kernel": "quartic"}
    assert ms[0].smoothness == pytest.approx(637.5)  # its mean bandwidth, for ties
    # The fixed-bandwidth KDEs (the map's candidates) are unchanged, and it can be left out.
    assert [m.label for m in default_methods() if m.name == "kde"] == [
        "KDE 200 m", "KDE 300 m", "KDE 500 m", "KDE 750 m", "KDE 1000 m"]
    assert "kde_multiscale" not in {m.name for m in default_methods(multiscale_bandwidths=())}


# ---------------------------------------------------------------------------- constructors
def test_default_methods_are_the_constructors_composed_in_order():
    parts = [*kde_candidates(), multiscale_candidate(), *prospective_candidates(),
             gistar_candidate(), counts_candidate()]
    assert default_methods() == parts
    assert [m.name for m in parts] == (["kde"] * len(DEFAULT_BANDWIDTHS) + ["kde_multiscale"]
                                       + ["prospective"] * len(DEFAULT_BANDWIDTHS)
                                       + ["gistar", "counts"])
    assert multiscale_candidate(()) is None
    assert multiscale_candidate(DEFAULT_MULTISCALE_BANDWIDTHS, "gaussian").params["kernel"] \
        == "gaussian"
    assert default_methods(bandwidths=[300], prospective_bandwidths=[400], gistar=False,
                           multiscale_bandwidths=()) == [*kde_candidates([300]),
                                                         *prospective_candidates([400]),
                                                         counts_candidate()]
