"""Gi*, emerging and cluster results as ranked areas, in the shape of the KDE hotspot areas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon, box

from hotspots.errors import ParameterError
from hotspots.models.areas import (
    CLUSTER_COLUMNS,
    COLUMNS,
    EMERGING_COLUMNS,
    GISTAR_COLUMNS,
    cluster_areas,
    emerging_areas,
    gistar_areas,
)
from hotspots.models.gistar import gi_star_grid
from hotspots.spatial.grid import CRS, Grid

GRID = Grid(x0=0.0, y0=0.0, cell=100.0, nx=5, ny=5)


def cell_frame(values: dict[tuple[int, int], dict], **columns) -> gpd.GeoDataFrame:
    """Every cell of the 5 x 5 grid; ``values[(row, col)]`` overrides the defaults."""
    rows = []
    for r in range(GRID.ny):
        for c in range(GRID.nx):
            rec = {"row": r, "col": c, "count": 0, "z": 0.0, "bin": 0, **columns}
            rec.update(values.get((r, c), {}))
            rows.append(rec | {"geometry": box(c * 100, r * 100, c * 100 + 100, r * 100 + 100)})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    out.attrs["params"] = {"grid": GRID.to_dict(), "correction": "fdr_bh",
                           "correction_name": "Benjamini-Hochberg false discovery rate"}
    return out


def points_in(cells: dict[tuple[int, int], int], name: str = "On or near Here") -> pd.DataFrame:
    xs, ys, names = [], [], []
    for (r, c), n in cells.items():
        xs += [c * 100 + 50.0] * n
        ys += [r * 100 + 50.0] * n
        names += [f"{name} {r}{c}"] * n
    return pd.DataFrame({"x": xs, "y": ys, "location": names, "has_location": True,
                         "harm": 10.0})


def test_gistar_areas_join_edge_neighbours_and_keep_diagonals_apart():
    cells = cell_frame({(0, 0): {"bin": 3, "z": 4.0, "count": 5},
                        (0, 1): {"bin": 1, "z": 1.8, "count": 2},
                        (1, 2): {"bin": 2, "z": 2.5, "count": 4},   # diagonal to (0, 1)
                        (4, 4): {"bin": -3, "z": -4.0, "count": 0}})
    inc = points_in({(0, 0): 5, (0, 1): 2, (1, 2): 4, (3, 3): 1})
    out = gistar_areas(cells, inc)
    assert list(out.columns) == [c for c in COLUMNS if c != "geometry"] + list(
        GISTAR_COLUMNS) + ["geometry"]
    assert out["incidents"].tolist() == [7, 4]
    assert out["rank"].tolist() == [1, 2]
    assert out["confidence"].tolist() == [99, 95]
    assert out["max_z"].tolist() == [4.0, 2.5]
    assert out["area_km2"].tolist() == pytest.approx([0.02, 0.01])
    assert out["share"].tolist() == pytest.approx([7 / 12, 4 / 12])
    # PAI = share of incidents / share of the 25 study cells.
    assert out["pai"].tolist() == pytest.approx([(7 / 12) / (2 / 25), (4 / 12) / (1 / 25)])
    assert out["peak_density"].tolist() == pytest.approx([500.0, 400.0])
    assert out["harm"].tolist() == [70.0, 40.0]
    assert out["top_locations"].iloc[0] == "On or near Here 00 (5); On or near Here 01 (2)"
    assert out.geometry.iloc[0].equals(box(0, 0, 200, 100))
    assert out.attrs["method"]["selected_cells"] == 3
    assert "Benjamini-Hochberg" in out.attrs["method"]["method"]


def test_gistar_areas_keep_only_cells_at_the_requested_confidence():
    cells = cell_frame({(0, 0): {"bin": 3, "z": 4.0}, (0, 1): {"bin": 1, "z": 1.8},
                        (2, 2): {"bin": 2, "z": 2.5}})
    inc = points_in({(0, 0): 3, (0, 1): 3, (2, 2): 3})
    assert gistar_areas(cells, inc, min_confidence=95)["incidents"].tolist() == [3, 3]
    at99 = gistar_areas(cells, inc, min_confidence=99)
    assert at99["incidents"].tolist() == [3]
    assert at99.geometry.iloc[0].equals(box(0, 0, 100, 100))


def test_gistar_areas_are_empty_with_the_columns_when_no_cell_is_hot():
    out = gistar_areas(cell_frame({(1, 1): {"bin": -2, "z": -3.0}}), points_in({(1, 1): 2}))
    assert len(out) == 0
    assert {"confidence", "max_z", "rank", "geometry"} <= set(out.columns)
    assert out.attrs["method"]["selected_cells"] == 0


def test_gistar_areas_hold_exactly_the_hot_cells_counts_on_real_gi_star():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(2_000, 150, 400), rng.uniform(0, 5_000, 300)])
    y = np.concatenate([rng.normal(2_500, 150, 400), rng.uniform(0, 5_000, 300)])
    cells = gi_star_grid(x, y, study_area=box(0, 0, 5_000, 5_000), cell=250).to_frame()
    inc = pd.DataFrame({"x": x, "y": y, "location": "On or near Somewhere"})
    out = gistar_areas(cells, inc)
    hot = cells[cells["bin"] >= 1]
    assert len(out) >= 1
    assert int(out["incidents"].sum()) == int(hot["count"].sum())
    assert out.union_all().area == pytest.approx(hot.union_all().area)
    assert out["incidents"].is_monotonic_decreasing


def test_emerging_areas_split_neighbouring_cells_of_different_patterns():
    cells = cell_frame({(0, 0): {"pattern": "persistent hot spot", "count": 6},
                        (0, 1): {"pattern": "persistent hot spot", "count": 1},
                        (0, 2): {"pattern": "new hot spot", "count": 2},
                        (3, 3): {"pattern": "persistent cold spot", "count": 0}},
                       pattern="no pattern detected")
    inc = points_in({(0, 0): 6, (0, 1): 1, (0, 2): 2, (4, 4): 3})
    out = emerging_areas(cells, inc)
    assert list(out.columns)[-2:] == [*EMERGING_COLUMNS, "geometry"]
    assert out["pattern"].tolist() == ["persistent hot spot", "new hot spot"]
    assert out["incidents"].tolist() == [7, 2]
    assert out["share"].tolist() == pytest.approx([7 / 12, 2 / 12])
    only_new = emerging_areas(cells, inc, patterns=["new hot spot"])
    assert only_new["pattern"].tolist() == ["new hot spot"]
    assert emerging_areas(cells, inc, patterns=["persistent cold spot"])["incidents"].tolist() \
        == [0]


def test_cluster_areas_rank_by_incidents_and_state_pai_over_the_study_area():
    clusters = gpd.GeoDataFrame({
        "cluster": [1, 2], "incidents": [10, 30], "share": [0.1, 0.3], "area_km2": [0.5, 0.0],
        "top_locations": ["A (10)", "B (30)"], "harm": [5.0, 7.0],
        "by_type": [{"Burglary": 6, "Shoplifting": 4}, {"Drugs": 30}],
        "first_month": ["2025-01", "2025-02"], "last_month": ["2025-03", "2025-03"]},
        geometry=[box(0, 0, 500, 1000), Polygon([(0, 0), (1, 1), (2, 2)])], crs=CRS)
    out = cluster_areas(clusters, study_area_km2=100.0)
    assert list(out.columns) == [c for c in COLUMNS if c != "geometry"] + list(
        CLUSTER_COLUMNS) + ["geometry"]
    assert out["cluster"].tolist() == [2, 1]
    assert out["rank"].tolist() == [1, 2]
    assert np.isnan(out["pai"].iloc[0])          # a hull with no area has no PAI
    assert out["pai"].iloc[1] == pytest.approx(0.1 / (0.5 / 100))
    assert out["peak_density"].iloc[1] == pytest.approx(20.0)
    assert out["crime_mix"].iloc[1] == "Burglary (6); Shoplifting (4)"


@pytest.mark.parametrize("call, message", [
    (lambda: gistar_areas(pd.DataFrame({"a": [1]}), points_in({})), "cell frame of"),
    (lambda: gistar_areas(cell_frame({}), points_in({}), min_confidence=80), "90, 95 or 99"),
    (lambda: gistar_areas(cell_frame({}), pd.DataFrame({"a": [1]})), "x and y"),
    (lambda: emerging_areas(cell_frame({}), points_in({})), "pattern"),
    (lambda: cluster_areas(pd.DataFrame({"a": [1]}), study_area_km2=1), "find_clusters"),
    (lambda: cluster_areas(gpd.GeoDataFrame(
        {"cluster": [], "incidents": [], "share": [], "area_km2": [], "top_locations": []},
        geometry=[], crs=CRS), study_area_km2=0), "positive area"),
])
def test_bad_inputs_get_one_line_parameter_errors(call, message):
    with pytest.raises(ParameterError, match=message) as err:
        call()
    assert "\n" not in str(err.value)


def test_inputs_are_not_modified():
    cells = cell_frame({(0, 0): {"bin": 3, "z": 4.0, "count": 1}})
    inc = points_in({(0, 0): 1})
    before_cells, before_inc = cells.copy(), inc.copy()
    gistar_areas(cells, inc)
    pd.testing.assert_frame_equal(cells, before_cells)
    pd.testing.assert_frame_equal(inc, before_inc)
