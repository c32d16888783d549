"""Grid: whole-cell alignment, the south-up orientation rule, masks and transforms."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from hotspots.errors import ParameterError
from hotspots.models.kde import kernel_density
from hotspots.spatial.grid import MAX_CELLS, Grid, north_up


def test_from_bounds_snaps_outward_to_whole_cells():
    g = Grid.from_bounds(430_012.5, 260_099.0, 431_250.0, 260_731.0, 100)
    assert (g.x0, g.y0) == (430_000.0, 260_000.0)
    assert g.x0 % 100 == 0 and g.y0 % 100 == 0
    assert g.bounds == (430_000.0, 260_000.0, 431_300.0, 260_800.0)
    assert (g.nx, g.ny) == (13, 8)
    # Bounds already on cell edges give exactly the cells between them.
    assert Grid.from_bounds(0, 0, 1000, 500, 100).shape == (5, 10)
    assert Grid.from_bounds(50, 50, 50, 50, 100).shape == (1, 1)


def test_grids_from_different_extents_share_cell_edges():
    a = Grid.from_bounds(401_234.0, 228_765.0, 412_345.0, 240_001.0, 50)
    b = Grid.from_bounds(405_001.0, 231_999.0, 409_999.0, 235_001.0, 50)
    rows, cols = a.window_of(b)
    xa, ya = a.centres()
    xb, yb = b.centres()
    np.testing.assert_array_equal(xa[cols], xb)
    np.testing.assert_array_equal(ya[rows], yb)


def test_surfaces_from_two_runs_agree_on_their_common_window():
    rng = np.random.default_rng(3)
    x = rng.uniform(420_000, 424_000, 300)
    y = rng.uniform(250_000, 254_000, 300)
    big = kernel_density(x, y, bandwidth=400, grid=Grid.from_bounds(418_000, 248_000,
                                                                     426_000, 256_000, 100))
    small = kernel_density(x, y, bandwidth=400, grid=Grid.from_bounds(421_050, 251_050,
                                                                       423_020, 253_990, 100))
    np.testing.assert_allclose(big.values[big.grid.window_of(small.grid)], small.values,
                               rtol=1e-12, atol=1e-12 * big.peak)


def test_from_geometry_pads_then_aligns():
    poly = box(430_010, 260_020, 430_990, 260_480)
    g = Grid.from_geometry(poly, 100, pad=250)
    assert g.x0 == 429_700.0 and g.y0 == 259_700.0
    assert g.bounds[2:] == (431_300.0, 260_800.0)
    assert g.bounds[2] >= 430_990 + 250 and g.bounds[3] >= 260_480 + 250
    assert g.x0 % 100 == 0 and g.y0 % 100 == 0


def test_unaligned_origin_is_refused():
    with pytest.raises(ParameterError, match="whole multiple"):
        Grid(430_050.0, 260_000.0, 100.0, 10, 10)


@pytest.mark.parametrize("cell", [0, -5, float("nan")])
def test_non_positive_cell_is_refused(cell):
    with pytest.raises(ParameterError):
        Grid.from_bounds(0, 0, 1000, 1000, cell)


def test_oversized_grid_is_refused_with_cell_count():
    with pytest.raises(ParameterError, match="exceeds") as exc:
        Grid.from_bounds(0, 0, 800_000, 800_000, 100)  # 64 M cells
    assert "\n" not in str(exc.value)
    assert 8000 * 8000 > MAX_CELLS


def test_empty_geometry_is_refused():
    with pytest.raises(ParameterError, match="empty"):
        Grid.from_geometry(Polygon(), 100)


def test_row_zero_is_southernmost_and_col_zero_westernmost():
    g = Grid(1000.0, 2000.0, 10.0, 4, 3)
    xc, yc = g.centres()
    assert xc[0] == 1005.0 and xc[-1] == 1035.0
    assert yc[0] == 2005.0 and yc[-1] == 2025.0
    mx, my = g.centres(mesh=True)
    assert mx.shape == my.shape == g.shape == (3, 4)
    assert my[0, 0] < my[-1, 0] and mx[0, 0] < mx[0, -1]


def test_cell_index_is_half_open_and_marks_outside_points():
    g = Grid(0.0, 0.0, 10.0, 3, 2)
    row, col = g.cell_index([0.0, 9.999, 10.0, 29.999, 30.0, -0.001, 5.0, np.nan],
                            [0.0, 0.0, 19.999, 5.0, 5.0, 5.0, 20.0, 5.0])
    assert col.tolist() == [0, 0, 1, 2, -1, -1, -1, -1]
    assert row.tolist() == [0, 0, 1, 0, -1, -1, -1, -1]


def test_mask_selects_exactly_the_cells_whose_centre_is_inside():
    g = Grid(0.0, 0.0, 10.0, 12, 9)
    tri = Polygon([(3, 2), (118, 7), (40, 86)])
    m = g.mask(tri)
    mx, my = g.centres(mesh=True)
    expected = np.array([[tri.contains(Point(a, b)) for a, b in zip(rx, ry, strict=True)]
                         for rx, ry in zip(mx, my, strict=True)])
    assert m.dtype == bool and m.shape == g.shape
    np.testing.assert_array_equal(m, expected)
    assert 0 < m.sum() < m.size
    assert m[0, :].sum() > m[-1, :].sum()  # the triangle is wide in the south, narrow north


def test_mask_does_not_prepare_or_change_the_callers_geometry():
    poly = box(5, 5, 55, 35)
    wkb = poly.wkb
    Grid(0.0, 0.0, 10.0, 8, 5).mask(poly)
    assert not shapely.is_prepared(poly)
    assert poly.wkb == wkb


def test_mask_of_none_is_all_cells_and_of_far_polygon_is_none():
    g = Grid(0.0, 0.0, 10.0, 4, 3)
    assert g.mask(None).all()
    assert not g.mask(box(1000, 1000, 2000, 2000)).any()


def test_transform_is_north_up_and_matches_north_up_array():
    g = Grid(1000.0, 2000.0, 10.0, 4, 3)
    t = g.transform
    assert t @ (0, 0) == (1000.0, 2030.0)  # top-left corner is the north-west corner
    assert t @ (4, 3) == (1040.0, 2000.0)
    values = np.arange(12.0).reshape(3, 4)  # values[0] is the southern row
    img = north_up(values)
    # Centre of image pixel (row 0, col 1) is the centre of grid cell (row ny-1, col 1).
    x, y = t @ (1.5, 0.5)
    r, c = g.cell_index([x], [y])
    assert img[0, 1] == values[r[0], c[0]]
    np.testing.assert_array_equal(north_up(img), values)


def test_extent_is_matplotlib_order_and_bounds_is_shapely_order():
    g = Grid(1000.0, 2000.0, 10.0, 4, 3)
    assert g.bounds == (1000.0, 2000.0, 1040.0, 2030.0)
    assert g.extent == (1000.0, 1040.0, 2000.0, 2030.0)


def test_to_dict_round_trips():
    g = Grid.from_bounds(402_700, 228_600, 456_500, 310_100, 100)
    d = g.to_dict()
    assert d["crs"] == "EPSG:27700" and (d["nx"], d["ny"]) == (g.nx, g.ny)
    assert Grid.from_dict(d) == g
