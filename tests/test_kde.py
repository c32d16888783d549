"""Kernel density: the exact-at-cell-centre contract, kernels, bandwidth rules, raster output."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from hotspots.errors import InputError, ParameterError
from hotspots.models.kde import KERNELS, bandwidth_rule, kernel_density
from hotspots.spatial.grid import Grid
from hotspots.spatial.raster import NODATA, read_geotiff, write_geotiff

X0, Y0 = 430_000.0, 260_000.0


def direct_sum(x, y, grid, h, kernel, weights=None):
    """The contract, written out literally: sum of kernels at every cell centre, per km^2."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    w = np.ones(x.size) if weights is None else np.asarray(weights, float)
    xc, yc = grid.centres(mesh=True)
    d2 = (xc[..., None] - x) ** 2 + (yc[..., None] - y) ** 2  # (ny, nx, n)
    s = d2 / h**2
    if kernel == "quartic":
        k = np.where(s < 1, 3 / (math.pi * h**2) * (1 - s) ** 2, 0.0)
    elif kernel == "epanechnikov":
        k = np.where(s < 1, 2 / (math.pi * h**2) * (1 - s), 0.0)
    else:  # gaussian: h is sigma, truncated at 4 sigma, renormalised
        k = np.where(s < 16, np.exp(-s / 2) / (2 * math.pi * h**2 * (1 - math.exp(-8))), 0.0)
    return (k * w).sum(axis=-1) * 1e6


def random_points(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(X0 - 300, X0 + 3300, n), rng.uniform(Y0 - 300, Y0 + 2300, n)


def snapped_points(n, seed):
    """police.uk style: many incidents on few map points, some exactly on cell edges/centres."""
    rng = np.random.default_rng(seed)
    sites_x = np.concatenate([rng.uniform(X0, X0 + 3000, 25), X0 + np.array([1000, 1050, 1500])])
    sites_y = np.concatenate([rng.uniform(Y0, Y0 + 2000, 25), Y0 + np.array([1000, 1050, 700])])
    i = rng.integers(0, sites_x.size, n)
    return sites_x[i], sites_y[i]


GRID = Grid.from_bounds(X0, Y0, X0 + 3000, Y0 + 2000, 100)
BANDWIDTH = {"quartic": 500.0, "epanechnikov": 333.0, "gaussian": 150.0}


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("data", ["random", "snapped"])
def test_surface_matches_direct_sum_within_1e_3_of_peak(kernel, data):
    x, y = random_points(400, 1) if data == "random" else snapped_points(2000, 2)
    w = np.random.default_rng(5).uniform(0.2, 3.0, x.size)
    h = BANDWIDTH[kernel]
    s = kernel_density(x, y, bandwidth=h, kernel=kernel, grid=GRID, weights=w)
    ref = direct_sum(x, y, GRID, h, kernel, w)
    assert s.values.shape == GRID.shape
    assert np.abs(s.values - ref).max() <= 1e-3 * ref.max()


@pytest.mark.parametrize("kernel", KERNELS)
def test_many_snapped_points_match_direct_sum_within_1e_3_of_peak(kernel):
    # 30k rows on ~28 map points takes the hash-merge path; the reference sums unique sites.
    x, y = snapped_points(30_000, 8)
    s = kernel_density(x, y, bandwidth=BANDWIDTH[kernel], kernel=kernel, grid=GRID)
    xy, counts = np.unique(np.column_stack([x, y]), axis=0, return_counts=True)
    ref = direct_sum(xy[:, 0], xy[:, 1], GRID, BANDWIDTH[kernel], kernel, counts)
    assert np.abs(s.values - ref).max() <= 1e-3 * ref.max()
    assert s.n == 30_000 and s.n_locations == len(xy)


def test_near_identical_points_stay_distinct_and_exact():
    # 1e-6 m apart: same cell and same sort key, interleaved; they must not be merged wrongly.
    x = np.tile([X0 + 1234.5, X0 + 1234.5 + 1e-6], 50)
    y = np.tile([Y0 + 987.25, Y0 + 987.25], 50)
    s = kernel_density(x, y, bandwidth=500, grid=GRID)
    ref = direct_sum([X0 + 1234.5, X0 + 1234.5 + 1e-6], [Y0 + 987.25] * 2, GRID, 500,
                     "quartic", [50, 50])
    assert np.abs(s.values - ref).max() <= 1e-9 * ref.max()


def test_quartic_surface_matches_direct_sum_within_1e_3_of_peak_on_coarse_cells():
    # Bandwidth not a multiple of the cell, points outside the grid, cells larger than h/2.
    x, y = random_points(300, 7)
    g = Grid.from_bounds(X0 + 500, Y0 + 500, X0 + 2500, Y0 + 1500, 250)
    s = kernel_density(x, y, bandwidth=430, grid=g)
    ref = direct_sum(x, y, g, 430, "quartic")
    assert np.abs(s.values - ref).max() <= 1e-3 * ref.max()


@pytest.mark.parametrize("kernel", KERNELS)
def test_each_kernel_integrates_to_the_number_of_points(kernel):
    rng = np.random.default_rng(11)
    x, y = rng.uniform(X0 + 2000, X0 + 4000, 60), rng.uniform(Y0 + 2000, Y0 + 4000, 60)
    g = Grid.from_bounds(X0, Y0, X0 + 6000, Y0 + 6000, 100)
    s = kernel_density(x, y, bandwidth=500 if kernel != "gaussian" else 250, kernel=kernel,
                       grid=g)
    total = s.values.sum() * g.cell_area / 1e6
    assert total == pytest.approx(60, rel=1e-3)


@pytest.mark.parametrize(("kernel", "h"), [("quartic", 500), ("epanechnikov", 500),
                                            ("gaussian", 200)])
def test_single_kernel_mass_on_fine_cells_is_one_to_1e_4(kernel, h):
    # Tight enough to catch a Gaussian normalised without its 4-sigma truncation (3.4e-4).
    g = Grid.from_bounds(X0 - 1000, Y0 - 1000, X0 + 1000, Y0 + 1000, 20)
    s = kernel_density([X0 + 3.7], [Y0 + 11.3], bandwidth=h, kernel=kernel, grid=g)
    assert s.values.sum() * g.cell_area / 1e6 == pytest.approx(1.0, abs=1e-4)


def test_quartic_peak_of_single_point_at_cell_centre_is_arcgis_formula():
    s = kernel_density([X0 + 50], [Y0 + 50], bandwidth=500, grid=GRID)
    assert s.values[0, 0] == pytest.approx(3 / (math.pi * 500**2) * 1e6, rel=1e-12)
    assert s.values.max() == s.values[0, 0]


def test_weights_scale_density_and_equal_repeated_points():
    x, y = random_points(50, 4)
    base = kernel_density(x, y, bandwidth=400, grid=GRID)
    doubled = kernel_density(x, y, bandwidth=400, grid=GRID, weights=np.full(50, 2.0))
    np.testing.assert_allclose(doubled.values, 2 * base.values, rtol=1e-12, atol=1e-9)
    w = np.arange(50) % 3 + 1
    weighted = kernel_density(x, y, bandwidth=400, grid=GRID, weights=w)
    repeated = kernel_density(np.repeat(x, w), np.repeat(y, w), bandwidth=400, grid=GRID)
    np.testing.assert_allclose(weighted.values, repeated.values, rtol=1e-10,
                               atol=1e-10 * repeated.peak)
    assert weighted.total_weight == repeated.total_weight == w.sum()
    assert weighted.weighted and not repeated.weighted
    assert repeated.n == w.sum() and repeated.n_locations == 50


def test_densest_cell_is_where_the_points_are():
    x = np.full(30, X0 + 2_450.0)
    y = np.full(30, Y0 + 1_650.0)
    s = kernel_density(np.r_[x, X0 + 300], np.r_[y, Y0 + 300], bandwidth=300, grid=GRID)
    r, c = np.unravel_index(np.argmax(s.values), s.values.shape)
    assert (r, c) == (16, 24)  # row 16 = 1600..1700 m north of y0, col 24 = 2400..2500 m east


def test_default_grid_covers_points_padded_by_the_kernel_reach():
    x, y = random_points(40, 9)
    s = kernel_density(x, y, cell=50, bandwidth=300)
    xmin, ymin, xmax, ymax = s.grid.bounds
    assert xmin <= x.min() - 300 and xmax >= x.max() + 300
    assert ymin <= y.min() - 300 and ymax >= y.max() + 300
    assert s.grid.cell == 50 and s.grid.x0 % 50 == 0
    g = kernel_density(x, y, cell=50, bandwidth=100, kernel="gaussian").grid
    assert g.bounds[0] <= x.min() - 400  # gaussian reach is 4 sigma


def test_arcgis_rule_matches_hand_computation_standard_distance_branch():
    # Mean centre at the middle point; distances 1000 x4 and 0: SD = sqrt(4e6 / 5) < Dm-term.
    x = X0 + np.array([1000.0, -1000.0, 0.0, 0.0, 0.0])
    y = Y0 + np.array([0.0, 0.0, 1000.0, -1000.0, 0.0])
    expected = 0.9 * math.sqrt(4e6 / 5) * 5 ** -0.2  # = 583.4 m
    assert bandwidth_rule(x, y, "arcgis") == pytest.approx(expected, rel=1e-12)
    s = kernel_density(x, y, bandwidth="arcgis", cell=100)
    assert s.bandwidth_rule == "arcgis"
    assert s.bandwidth == pytest.approx(expected, rel=1e-12)
    assert s.params()["bandwidth_rule"] == "arcgis"


def test_arcgis_rule_matches_hand_computation_median_distance_branch():
    # Two far outliers inflate SD; the median distance (100 m) wins: sqrt(1/ln2) * 100.
    x = X0 + np.array([100.0, -100.0, 0.0, 0.0, 10_000.0, -10_000.0])
    y = Y0 + np.array([0.0, 0.0, 100.0, -100.0, 0.0, 0.0])
    expected = 0.9 * math.sqrt(1 / math.log(2)) * 100.0 * 6 ** -0.2
    assert bandwidth_rule(x, y, "arcgis") == pytest.approx(expected, rel=1e-12)


def test_scott_rule_is_pooled_sigma_times_n_to_minus_sixth_as_quartic_radius():
    x = X0 + np.array([0.0, 600.0, 0.0, 600.0])
    y = Y0 + np.array([0.0, 0.0, 800.0, 800.0])
    sigma = math.sqrt((300.0**2 + 400.0**2) / 2)
    assert bandwidth_rule(x, y, "scott", kernel="gaussian") == pytest.approx(
        sigma * 4 ** (-1 / 6), rel=1e-12)
    assert bandwidth_rule(x, y, "scott", kernel="quartic") == pytest.approx(
        math.sqrt(8) * sigma * 4 ** (-1 / 6), rel=1e-12)


def test_silverman_rule_uses_the_smaller_of_sd_and_iqr_per_axis():
    rng = np.random.default_rng(0)
    x = X0 + rng.normal(0, 2000, 500)
    y = Y0 + rng.normal(0, 2000, 500)
    y[:5] += 1e6  # far outliers inflate the y standard deviation, not its IQR
    h = bandwidth_rule(x, y, "silverman", kernel="gaussian")
    assert 0.9 * 1800 * 500 ** -0.2 < h < 0.9 * 2200 * 500 ** -0.2
    s = kernel_density(x, y, bandwidth="silverman", kernel="gaussian")
    assert s.bandwidth == h and s.bandwidth_rule == "silverman"


def test_fixed_bandwidth_is_reported_as_fixed():
    s = kernel_density([X0], [Y0], bandwidth=500)
    assert (s.bandwidth, s.bandwidth_rule, s.kernel) == (500.0, "fixed", "quartic")
    p = s.params()
    assert p["bandwidth_m"] == 500 and p["cell_m"] == 100 and p["units"] == "incidents per km2"


def test_inputs_are_not_mutated():
    x, y = random_points(100, 12)
    w = np.linspace(0, 2, 100)
    x0, y0, w0 = x.copy(), y.copy(), w.copy()
    kernel_density(x, y, bandwidth="arcgis", weights=w, grid=GRID)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"x": [], "y": []}, "no points"),
    ({"x": [X0, np.nan], "y": [Y0, Y0]}, "NaN"),
    ({"x": [X0, X0], "y": [Y0]}, "differ in length"),
    ({"weights": [1.0, -1.0]}, "negative"),
    ({"weights": [0.0, 0.0]}, "sum to zero"),
    ({"weights": [1.0, np.nan]}, "NaN"),
    ({"kernel": "triangular"}, "unknown kernel"),
    ({"bandwidth": "magic"}, "unknown bandwidth rule"),
    ({"bandwidth": 0}, "positive"),
    ({"bandwidth": -100}, "positive"),
    ({"bandwidth": float("inf")}, "positive"),
    ({"cell": 50, "grid": GRID}, "differs from the grid"),
    ({"cell": 0}, "positive"),
])
def test_bad_inputs_raise_one_line_parameter_error(kwargs, match):
    args = {"x": [X0, X0 + 100], "y": [Y0, Y0 + 100], "bandwidth": 500}
    args.update(kwargs)
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(ParameterError, match=match) as exc:
        kernel_density(x, y, **args)
    assert "\n" not in str(exc.value)


def test_rule_on_points_at_one_location_asks_for_fixed_bandwidth():
    with pytest.raises(ParameterError, match="fixed bandwidth"):
        kernel_density([X0, X0], [Y0, Y0], bandwidth="arcgis")


def test_bandwidth_smaller_than_cell_warns():
    with pytest.warns(UserWarning, match="smaller than"):
        kernel_density([X0], [Y0], bandwidth=60, cell=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel_density([X0], [Y0], bandwidth=100, cell=100)


# ------------------------------------------------------------------------------ raster output
def _cluster_surface():
    x = np.r_[np.full(40, X0 + 2_450.0), X0 + 400.0]
    y = np.r_[np.full(40, Y0 + 1_650.0), Y0 + 300.0]
    return kernel_density(x, y, bandwidth=300, grid=GRID)


def test_geotiff_round_trip_keeps_crs_transform_and_densest_cell_position(tmp_path):
    s = _cluster_surface()
    path = write_geotiff(s, tmp_path / "s.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 27700
        assert src.transform == s.grid.transform
        assert src.dtypes[0] == "float32" and (src.width, src.height) == (GRID.nx, GRID.ny)
        band = src.read(1)
        r, c = np.unravel_index(np.argmax(band), band.shape)
        x, y = src.xy(r, c)
        tags = src.tags()
    assert (x, y) == (X0 + 2_450.0, Y0 + 1_650.0)  # centre of the cell holding the cluster
    assert tags["kernel"] == "quartic" and tags["bandwidth_m"] == "300.0"
    assert tags["cell_m"] == "100.0" and tags["units"] == "incidents per km2"
    values, meta = read_geotiff(path)
    np.testing.assert_allclose(values, s.values, rtol=1e-6)


def test_geotiff_writes_nodata_outside_the_mask(tmp_path):
    s = _cluster_surface()
    mask = box(X0, Y0 + 1000, X0 + 3000, Y0 + 2000)  # northern half only
    path = write_geotiff(s, tmp_path / "m.tif", mask=mask)
    with rasterio.open(path) as src:
        band = src.read(1)
        assert src.nodata == NODATA
    assert (band[:10] != NODATA).all()  # image rows 0..9 are the northern half
    assert (band[10:] == NODATA).all()


@pytest.mark.parametrize("where", ["missing_folder", "folder"])
def test_geotiff_bad_path_raises_one_line_input_error(tmp_path, where):
    path = tmp_path / "nope" / "s.tif" if where == "missing_folder" else tmp_path
    with pytest.raises(InputError) as exc:
        write_geotiff(_cluster_surface(), path)
    assert "\n" not in str(exc.value)


# ---------------------------------------------------------------------------- multi-scale
def test_multiscale_surface_is_the_mean_of_surfaces_scaled_to_their_mean_total():
    from hotspots.models.kde import multiscale_density

    rng = np.random.default_rng(7)
    x = rng.normal(1000.0, 250.0, 60)
    y = rng.normal(1000.0, 250.0, 60)
    grid = Grid(0.0, 0.0, 100.0, 20, 20)  # small: the wide kernels lose mass over the edge
    single = [kernel_density(x, y, bandwidth=b, grid=grid).values for b in (300, 500, 1000)]
    totals = [v.sum() for v in single]
    assert totals[2] < totals[0]  # so scaling matters
    want = np.mean([v / t for v, t in zip(single, totals, strict=True)], axis=0) * np.mean(totals)
    got = multiscale_density(x, y, bandwidths=[1000, 300, 500, 300], grid=grid)
    np.testing.assert_allclose(got.values, want, rtol=1e-12)
    assert got.bandwidths == (300.0, 500.0, 1000.0)  # sorted, duplicate dropped
    assert got.bandwidth == pytest.approx(600.0) and got.bandwidth_rule == "multi-scale"
    p = got.params()
    assert p["bandwidths_m"] == [300.0, 500.0, 1000.0] and "same total" in p["combination"]
    assert p["n"] == 60


def test_kernel_density_with_several_bandwidths_gives_the_multiscale_surface():
    from hotspots.models.kde import multiscale_density

    x, y = np.array([500.0, 900.0, 950.0]), np.array([500.0, 700.0, 720.0])
    a = kernel_density(x, y, bandwidth=(300, 750))
    b = multiscale_density(x, y, bandwidths=(300, 750))
    np.testing.assert_array_equal(a.values, b.values)
    assert a.grid == b.grid and a.multiscale and not kernel_density(x, y).multiscale
    # The default grid reaches the widest kernel.
    assert a.grid.x0 <= 500.0 - 750.0


def test_multiscale_with_a_kernel_that_misses_the_grid_never_divides_by_zero():
    from hotspots.models.kde import multiscale_density

    grid = Grid(0.0, 0.0, 100.0, 5, 5)
    # 400 m beyond the grid's east edge: only the 1000 m kernel reaches it.
    got = multiscale_density([900.0], [250.0], bandwidths=(300, 1000), grid=grid)
    assert np.isfinite(got.values).all() and got.values.max() > 0


@pytest.mark.parametrize("bandwidths, match", [
    ((500,), "at least two different"),
    ((500, 500.0), "at least two different"),
    ((300, -1), "positive"),
    ((300, "wide"), "metres"),
    ((300, float("nan")), "positive"),
])
def test_multiscale_bad_bandwidths_raise_one_line_parameter_error(bandwidths, match):
    with pytest.raises(ParameterError, match=match) as err:
        kernel_density([1.0, 2.0], [1.0, 2.0], bandwidth=bandwidths)
    assert "\n" not in str(err.value)


def test_multiscale_bad_cell_is_a_one_line_parameter_error():
    with pytest.raises(ParameterError, match="cell must be metres"):
        kernel_density([1.0, 2.0], [1.0, 2.0], bandwidth=(300, 500), cell="wide")
