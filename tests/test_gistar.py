"""Gi* hot spots: esda agreement, permutations, grids and LSOAs."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import sparse

from hotspots.errors import NoDataError, ParameterError
from hotspots.models.gistar import (
    contiguity_weights,
    count_in_polygons,
    default_cell,
    gi_star,
    gi_star_grid,
    gi_star_lsoa,
    grid_weights,
    hot_cells,
)
from hotspots.spatial.grid import Grid

esda = pytest.importorskip("esda")
libpysal = pytest.importorskip("libpysal")




@pytest.fixture(scope="module")
def acquisitive_2025(shipped_settings, store) -> pd.DataFrame:
    from hotspots.query import load_incidents

    return load_incidents(store, start="2025-01", end="2025-12", groups=["acquisitive"],
                          settings=shipped_settings)


def clustered_points(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Background scatter over 10 x 10 km plus a dense cluster in the north-east."""
    rng = np.random.default_rng(seed)
    bx = rng.uniform(420_000, 430_000, 3000)
    by = rng.uniform(260_000, 270_000, 3000)
    cx = rng.normal(428_000, 300, 800)
    cy = rng.normal(268_000, 300, 800)
    return np.concatenate([bx, cx]), np.concatenate([by, cy])


def esda_zs(values: np.ndarray, w: sparse.csr_matrix | object) -> np.ndarray:
    if sparse.issparse(w):
        w = libpysal.weights.W.from_sparse(w)
    g = esda.G_Local(values, w, transform="B", star=True, permutations=0)
    return np.asarray(g.Zs)


# ---------------------------------------------------------------------------- esda
@pytest.mark.parametrize("distance", [None, 2500.0])
def test_grid_z_scores_match_esda_g_local_star_on_the_same_binary_weights(distance):
    x, y = clustered_points()
    # An irregular study area: a disc, so border cells have fewer neighbours.
    area = shapely.Point(425_000, 265_000).buffer(4_800)
    res = gi_star_grid(x, y, study_area=area, cell=500, distance=distance)
    assert res.weights.diagonal().min() == 1  # self included, as esda's star=True keeps it
    zs = esda_zs(res.values[res.mask], res.weights)
    assert np.abs(zs - res.z[res.mask]).max() < 1e-6


def test_lsoa_z_scores_match_esda_with_libpysal_queen_and_rook(settings, acquisitive_2025):
    from hotspots.spatial.boundaries import load_boundary

    lsoas = load_boundary("lsoa", settings)
    for kind, builder in (("queen", libpysal.weights.Queen), ("rook", libpysal.weights.Rook)):
        out = gi_star_lsoa(acquisitive_2025, lsoas, contiguity=kind, settings=settings)
        w = builder.from_dataframe(lsoas, use_index=False, silence_warnings=True)
        zs = esda_zs(out["count"].to_numpy(dtype=float), w)
        assert np.abs(zs - out["z"].to_numpy()).max() < 1e-6, kind


def test_contiguity_weights_equal_libpysal_on_the_shipped_lsoas(settings):
    from hotspots.spatial.boundaries import load_boundary

    lsoas = load_boundary("lsoa", settings)
    for kind, builder in (("queen", libpysal.weights.Queen), ("rook", libpysal.weights.Rook)):
        ours = contiguity_weights(lsoas.geometry, kind)
        theirs = builder.from_dataframe(lsoas, use_index=False, silence_warnings=True).sparse
        theirs = (theirs + sparse.identity(len(lsoas))).tocsr()
        assert (ours != theirs).nnz == 0, kind


def test_gi_star_equals_a_hand_computed_z_score():
    # Five features on a line, each with its neighbours either side (and itself).
    x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    w = sparse.csr_matrix(np.array([[1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [0, 1, 1, 1, 0],
                                    [0, 0, 1, 1, 1], [0, 0, 0, 1, 1]], dtype=float))
    res = gi_star(x, w, correction="none")
    n, mean = 5, 4.0
    s = math.sqrt((1 + 4 + 9 + 16 + 100) / n - mean**2)  # sqrt(10)
    # Feature 4 (value 10): neighbourhood {4, 10}, W = 2.
    z4 = (14 - mean * 2) / (s * math.sqrt((n * 2 - 4) / (n - 1)))
    # Feature 2 (value 3): neighbourhood {2, 3, 4}, W = 3.
    z2 = (9 - mean * 3) / (s * math.sqrt((n * 3 - 9) / (n - 1)))
    assert res.z[4] == pytest.approx(z4, abs=1e-12)
    assert res.z[2] == pytest.approx(z2, abs=1e-12)
    assert res.p[4] == pytest.approx(math.erfc(abs(z4) / math.sqrt(2)), abs=1e-12)


def test_hot_cells_select_positive_z_at_the_requested_confidence():
    x, y = clustered_points()
    res = gi_star_grid(x, y, cell=500)
    at95 = hot_cells(res, 0.95)
    assert at95.shape == res.grid.shape and at95.any()
    assert np.array_equal(at95, res.bin >= 2)
    assert np.array_equal(hot_cells(res, 0.99), res.bin == 3)
    with pytest.raises(ParameterError):
        hot_cells(res, 95)


# ---------------------------------------------------------------------------- permutations
def queen_grid(n: int) -> sparse.csr_matrix:
    return grid_weights(np.ones((n, n), dtype=bool), cell=100, distance=150)


def test_permutation_p_values_lie_in_the_unit_interval_and_repeat_with_the_seed():
    rng = np.random.default_rng(2)
    v = rng.poisson(2, 400).astype(float)
    w = queen_grid(20)
    a = gi_star(v, w, permutations=199, seed=7)
    b = gi_star(v, w, permutations=199, seed=7)
    c = gi_star(v, w, permutations=199, seed=8)
    assert a.inference == "permutation" and a.params()["permutations"] == 199
    assert np.array_equal(a.p, b.p) and not np.array_equal(a.p, c.p)
    assert a.p.min() >= 2 / 200 and a.p.max() <= 1.0
    assert np.array_equal(a.z, gi_star(v, w).z)  # z stays analytical


def test_permutation_p_values_are_calibrated_under_spatial_randomness():
    rng = np.random.default_rng(3)
    w = queen_grid(30)
    share = [(gi_star(rng.gamma(2, 2, 900), w, permutations=499, seed=s,
                      correction="none").p <= 0.10).mean() for s in range(3)]
    assert 0.05 < np.mean(share) < 0.15


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_permutation_p_values_agree_with_esda_pseudo_p():
    rng = np.random.default_rng(3)
    w = queen_grid(20)
    v = rng.gamma(2, 2, 400)
    ours = gi_star(v, w, permutations=999, seed=1, correction="none").p
    g = esda.G_Local(v, libpysal.weights.W.from_sparse(w), transform="B", star=True,
                     permutations=999, seed=1)
    theirs = np.minimum(1, 2 * np.asarray(g.p_sim))  # esda's is one-sided (folded)
    assert np.corrcoef(ours, theirs)[0, 1] > 0.97
    assert np.abs(ours - theirs).mean() < 0.05


def test_true_permutations_mean_999():
    v = np.arange(25, dtype=float)
    assert gi_star(v, queen_grid(5), permutations=True).permutations == 999


# ---------------------------------------------------------------------------- grids
def test_default_cell_is_the_shorter_side_over_50_rounded_to_100_m():
    assert default_cell((402_700, 228_600, 456_500, 310_100)) == 1100  # Warwickshire
    assert default_cell((0, 0, 20_000, 30_000)) == 400
    assert default_cell((0, 0, 1_000, 1_000)) == 100  # never below 100 m


def test_grid_weights_reach_queen_and_rook_neighbourhoods():
    mask = np.ones((5, 5), dtype=bool)
    queen = grid_weights(mask, cell=100, distance=150)
    rook = grid_weights(mask, cell=100, distance=100)
    band2 = grid_weights(mask, cell=100, distance=200)
    centre, corner = 12, 0  # row-major
    assert queen[centre].nnz == 9 and rook[centre].nnz == 5 and band2[centre].nnz == 13
    assert queen[corner].nnz == 4 and rook[corner].nnz == 3
    # Cells outside the mask are not neighbours.
    mask[2, 3] = False
    assert grid_weights(mask, cell=100, distance=150)[12].nnz == 8


def test_grid_result_is_in_grid_orientation_and_reports_its_parameters():
    x, y = clustered_points()
    res = gi_star_grid(x, y)
    params = res.params()
    assert params["cell_m"] == 200  # 10 km / 50
    assert params["distance_m"] == 300 and "1.5 x cell" in params["distance_rule"]
    assert params["correction"] == "fdr_bh" and params["alpha_levels"] == [0.01, 0.05, 0.1]
    assert params["n_cells"] == res.grid.n_cells and params["weights"] == "distance band"
    # The cluster is in the north-east: the strongest z is in the top-right of the array.
    r, c = np.unravel_index(np.nanargmax(res.z), res.z.shape)
    assert r > res.grid.ny * 0.7 and c > res.grid.nx * 0.7
    assert res.values.sum() == x.size
    frame = res.to_frame()
    assert len(frame) == res.mask.sum() and frame["count"].sum() == x.size


def test_study_area_leaves_out_points_and_cells_outside_it():
    x, y = clustered_points()
    area = shapely.box(420_000, 260_000, 425_000, 265_000)
    res = gi_star_grid(x, y, study_area=area, cell=500)
    params = res.params()
    assert params["n_cells"] == 100
    assert params["n_points_in_study"] + params["n_points_outside"] == x.size
    assert np.isnan(res.z[~res.mask]).all() and (res.bin[~res.mask] == 0).all()


def test_gi_star_grid_on_a_given_grid_and_contiguity_names():
    x, y = clustered_points()
    grid = Grid.from_bounds(420_000, 260_000, 430_000, 270_000, 500)
    rook = gi_star_grid(x, y, grid=grid, weights="rook")
    assert rook.params()["cell_rule"] == "the grid's cell"
    assert rook.params()["distance_m"] == 500 and rook.n_neighbours.max() == 5
    with pytest.raises(ParameterError):
        gi_star_grid(x, y, grid=grid, weights="rook", distance=800)
    with pytest.raises(ParameterError):
        gi_star_grid(x, y, grid=grid, cell=250)
    with pytest.raises(ParameterError):
        gi_star_grid(x, y, grid=grid, distance=100)


def test_missing_self_weights_are_added_and_reported_and_bad_weights_refused():
    v = np.array([1.0, 5.0, 2.0, 8.0])
    w = sparse.csr_matrix(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1],
                                    [0, 0, 1, 0]], dtype=float))
    res = gi_star(v, w)
    assert res.extra["self_weights_added"] == 4
    assert np.array_equal(res.z, gi_star(v, w + sparse.identity(4)).z)
    assert np.array_equal(w.diagonal(), np.zeros(4))  # the input is not modified
    with pytest.raises(ParameterError, match="binary"):
        gi_star(v, w * 0.5)
    with pytest.raises(ParameterError, match="square"):
        gi_star(v[:3], w)
    with pytest.raises(ParameterError, match="correction"):
        gi_star(v, w, correction="holm")


def test_equal_values_and_empty_inputs_raise_one_line_errors():
    w = queen_grid(3)
    with pytest.raises(NoDataError, match="same value"):
        gi_star(np.full(9, 2.0), w)
    with pytest.raises(NoDataError):
        gi_star_grid([], [])
    with pytest.raises(ParameterError, match="NaN"):
        gi_star_grid([1.0, np.nan], [1.0, 2.0])


# ---------------------------------------------------------------------------- LSOAs
def test_points_on_a_shared_boundary_count_once():
    left = shapely.box(0, 0, 10, 10)
    right = shapely.box(10, 0, 20, 10)
    counts, outside = count_in_polygons([5, 10, 15, 15, 30], [5, 5, 5, 5, 5], [left, right])
    assert counts.tolist() == [2, 2] and outside == 1


def test_lsoa_hot_spots_on_the_shipped_data(acquisitive_2025, shipped_settings):
    shipped = gpd.read_parquet(shipped_settings.data_dir / "boundaries" / "lsoa2011.parquet")
    before = acquisitive_2025.copy()
    out = gi_star_lsoa(acquisitive_2025, settings=shipped_settings)
    pd.testing.assert_frame_equal(acquisitive_2025, before)
    assert list(out.columns) == ["code", "name", "count", "n_neighbours", "z", "p",
                                 "p_corrected", "bin", "geometry"]
    assert out.crs.to_epsg() == 27700 and len(out) == len(shipped) > 0
    assert sorted(out["code"]) == sorted(shipped["code"])
    params = out.attrs["params"]
    assert params["weights"] == "queen contiguity" and params["correction"] == "fdr_bh"
    mapped = int(acquisitive_2025["has_location"].sum())
    assert params["n_incidents"] == mapped
    assert out["count"].sum() + params["n_outside_lsoas"] == mapped
    assert params["n_unmapped"] == len(acquisitive_2025) - mapped
    assert (out["bin"] >= 2).any() and hot_cells(out).sum() == (out["bin"] >= 2).sum()


def test_lsoa_auto_distance_gives_every_lsoa_a_neighbour(settings, acquisitive_2025):
    out = gi_star_lsoa(acquisitive_2025, distance="auto", settings=settings)
    params = out.attrs["params"]
    assert params["distance_m"] > 0 and params["distance_rule"].startswith("auto")
    assert out["n_neighbours"].min() >= 2 and params["islands"] == []
    with pytest.raises(ParameterError):
        gi_star_lsoa(acquisitive_2025, distance="far", settings=settings)


def test_grid_hot_spots_on_the_shipped_acquisitive_2025_data(settings, acquisitive_2025):
    from hotspots.spatial.boundaries import area_geometry

    mapped = acquisitive_2025[acquisitive_2025["has_location"]]
    county = area_geometry(None, settings)
    res = gi_star_grid(mapped["x"], mapped["y"], study_area=county)
    params = res.params()
    # The default cell is the rule's on the county's bounds, the distance 1.5 cells (8 cells).
    assert params["cell_m"] == default_cell(county.bounds) >= 100
    assert params["distance_m"] == pytest.approx(1.5 * params["cell_m"])
    assert params["hot"]["95"] >= 1 and hot_cells(res).sum() == params["hot"]["95"]
    assert isinstance(res.to_frame(), gpd.GeoDataFrame)
