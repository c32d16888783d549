"""Hotspot areas: selection of the densest cells, dissolving, counts, PAI and location names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from hotspots.errors import NoDataError, ParameterError
from hotspots.models.areas import COLUMNS, hotspot_areas
from hotspots.models.kde import Surface, kernel_density
from hotspots.schema import conform
from hotspots.spatial.grid import Grid

X0, Y0 = 430_000.0, 260_000.0
GRID = Grid.from_bounds(X0, Y0, X0 + 3000, Y0 + 2000, 100)  # 30 x 20 cells, 6 km^2

A = (X0 + 2_450.0, Y0 + 1_650.0)  # big cluster, north-east
B = (X0 + 650.0, Y0 + 450.0)  # small cluster, south-west
A_NAMES = (["On or near High Street"] * 15 + ["On or near Parking Area"] * 6
           + ["On or near Bus Station"] * 6 + ["On or near Abbey Road"] * 3)
BACKGROUND = [(X0 + 113.0, Y0 + 1_913.0), (X0 + 1_313.0, Y0 + 1_213.0),
              (X0 + 1_513.0, Y0 + 113.0), (X0 + 2_913.0, Y0 + 213.0),
              (X0 + 1_913.0, Y0 + 613.0), (X0 + 713.0, Y0 + 1_513.0)]


def incidents(harm: bool = True) -> pd.DataFrame:
    rows = [{"x": A[0], "y": A[1], "location": n, "harm": 2.0} for n in A_NAMES]
    rows += [{"x": B[0], "y": B[1], "location": "On or near Market Square", "harm": 1.0}] * 12
    rows += [{"x": x, "y": y, "location": "On or near Field Lane", "harm": 1.0}
             for x, y in BACKGROUND]
    frame = pd.DataFrame(rows)
    frame["has_location"] = True
    unmapped = pd.DataFrame({"x": [np.nan] * 3, "y": [np.nan] * 3, "has_location": False,
                             "location": "On or near Nowhere", "harm": 5.0})
    frame = pd.concat([frame, unmapped], ignore_index=True)
    if not harm:
        frame = frame.drop(columns="harm")
        return frame
    return conform(frame)


def surface(frame: pd.DataFrame) -> Surface:
    m = frame[frame["has_location"]]
    return kernel_density(m["x"].to_numpy(), m["y"].to_numpy(), bandwidth=300, grid=GRID)


def test_first_hotspot_contains_the_big_cluster_and_second_the_small_one():
    frame = incidents()
    gdf = hotspot_areas(surface(frame), frame, top=0.2)
    assert list(gdf.columns) == list(COLUMNS)
    assert gdf.crs.to_epsg() == 27700
    assert gdf["rank"].tolist() == list(range(1, len(gdf) + 1))
    assert gdf.geometry.iloc[0].contains(Point(A))
    assert gdf.geometry.iloc[1].contains(Point(B))
    assert gdf["incidents"].iloc[0] == 30 and gdf["incidents"].iloc[1] == 12
    assert gdf["incidents"].is_monotonic_decreasing


def test_counts_share_area_and_pai_arithmetic_is_exact():
    frame = incidents()
    gdf = hotspot_areas(surface(frame), frame, top=0.2)
    mapped = frame[frame["has_location"]]
    pts = [Point(x, y) for x, y in zip(mapped["x"], mapped["y"], strict=True)]
    total = len(mapped)  # every mapped incident is inside the all-cells study area
    study_km2 = GRID.n_cells * GRID.cell_area / 1e6
    for _, row in gdf.iterrows():
        inside = sum(row.geometry.contains(p) for p in pts)
        assert row["incidents"] == inside
        assert row["share"] == inside / total
        assert row["area_km2"] == pytest.approx(row.geometry.area / 1e6, rel=1e-12)
        assert row["pai"] == pytest.approx((inside / total) / (row["area_km2"] / study_km2),
                                           rel=1e-12)
    assert gdf.attrs["method"]["incidents_in_study_area"] == total
    assert gdf.attrs["method"]["study_area_km2"] == pytest.approx(6.0)


def test_top_locations_are_most_frequent_first_with_alphabetical_ties():
    frame = incidents()
    gdf = hotspot_areas(surface(frame), frame, top=0.2, n_locations=3)
    assert gdf["top_locations"].iloc[0] == ("On or near High Street (15); "
                                            "On or near Bus Station (6); "
                                            "On or near Parking Area (6)")
    assert gdf["top_locations"].iloc[1] == "On or near Market Square (12)"
    one = hotspot_areas(surface(frame), frame, top=0.2, n_locations=1)
    assert one["top_locations"].iloc[0] == "On or near High Street (15)"


def test_harm_is_summed_and_missing_harm_gives_nan():
    frame = incidents()
    gdf = hotspot_areas(surface(frame), frame, top=0.2)
    assert gdf["harm"].iloc[0] == 60.0 and gdf["harm"].iloc[1] == 12.0
    no_harm = incidents(harm=False)
    assert hotspot_areas(surface(no_harm), no_harm, top=0.2)["harm"].isna().all()


def test_selected_cells_are_the_top_share_of_the_study_area():
    frame = incidents()
    s = surface(frame)
    gdf = hotspot_areas(s, frame, top=0.05)
    m = gdf.attrs["method"]
    assert m["selected_cells"] == 30  # ceil(0.05 * 600); no exact ties in this pattern
    assert gdf["area_km2"].sum() == pytest.approx(30 * 0.01)
    # Every selected cell is at least as dense as every unselected one.
    covered = GRID.mask(gdf.geometry.union_all())
    assert s.values[covered].min() >= s.values[~covered].max()
    assert m["threshold_density"] == s.values[covered].min()


def test_study_area_limits_cells_and_the_incident_denominator():
    frame = incidents()
    west = box(X0, Y0, X0 + 1_500, Y0 + 2_000)
    gdf = hotspot_areas(surface(frame), frame, top=0.05, study_area=west)
    assert not gdf.geometry.iloc[0].intersects(Point(A).buffer(400))
    assert gdf.geometry.iloc[0].contains(Point(B))
    west_incidents = 12 + sum(x < X0 + 1_500 for x, _ in BACKGROUND)
    assert gdf.attrs["method"]["incidents_in_study_area"] == west_incidents
    assert gdf["share"].iloc[0] == 12 / west_incidents
    assert gdf.union_all().within(west)


def _plateau_surface(values: np.ndarray) -> Surface:
    g = Grid(X0, Y0, 100.0, values.shape[1], values.shape[0])
    return Surface(values=values, grid=g, bandwidth=500.0, bandwidth_rule="fixed",
                   kernel="quartic", n=1, total_weight=1.0)


def test_cells_tied_at_the_threshold_are_all_included():
    v = np.zeros((10, 10))
    v[2, 2:6] = 5.0
    v[7, 1:5] = 5.0  # 8 cells tied at the top
    v[5, 5] = 1.0
    gdf = hotspot_areas(_plateau_surface(v), incidents(), top=0.05)  # k = 5 of 100 cells
    m = gdf.attrs["method"]
    assert m["selected_cells"] == 8 and m["selected_area_share"] == 0.08
    assert len(gdf) == 2 and gdf["area_km2"].sum() == pytest.approx(0.08)


def test_only_edge_neighbours_join_diagonal_cells_stay_separate():
    v = np.zeros((10, 10))
    v[1, 1] = v[2, 2] = 3.0  # diagonal pair: two areas
    v[6, 6] = v[6, 7] = v[7, 7] = 3.0  # rook-connected L: one area
    gdf = hotspot_areas(_plateau_surface(v), incidents(), top=0.05)
    assert sorted(gdf["area_km2"].round(6)) == [0.01, 0.01, 0.03]
    assert all(g.geom_type == "Polygon" for g in gdf.geometry)


def test_zero_surface_gives_empty_frame_with_columns_and_crs():
    gdf = hotspot_areas(_plateau_surface(np.zeros((5, 5))), incidents(), top=0.1)
    assert gdf.empty and list(gdf.columns) == list(COLUMNS) and gdf.crs.to_epsg() == 27700
    assert gdf.attrs["method"]["selected_cells"] == 0


def test_unmapped_incidents_are_ignored_and_the_frame_is_not_mutated():
    frame = incidents()
    before = frame.copy()
    gdf = hotspot_areas(surface(frame), frame, top=0.2)
    pd.testing.assert_frame_equal(frame, before)
    assert "Nowhere" not in " ".join(gdf["top_locations"])
    assert gdf.attrs["method"]["incidents_in_study_area"] == len(frame) - 3


def test_method_and_surface_parameters_are_attached():
    frame = incidents()
    m = hotspot_areas(surface(frame), frame, top=0.05).attrs["method"]
    assert m["top"] == 0.05 and m["adjacency"] == "rook" and "tie" in m["ties"]
    assert m["surface"]["kernel"] == "quartic" and m["surface"]["bandwidth_m"] == 300


@pytest.mark.parametrize("top", [0, -0.1, 1.5, "lots"])
def test_bad_top_is_a_one_line_parameter_error(top):
    frame = incidents()
    with pytest.raises(ParameterError, match="top") as exc:
        hotspot_areas(surface(frame), frame, top=top)
    assert "\n" not in str(exc.value)


def test_frame_without_coordinates_is_a_parameter_error():
    frame = incidents()
    with pytest.raises(ParameterError, match="x and y"):
        hotspot_areas(surface(frame), frame.drop(columns="x"))


def test_study_area_outside_the_grid_is_a_no_data_error():
    frame = incidents()
    with pytest.raises(NoDataError, match="study area"):
        hotspot_areas(surface(frame), frame, study_area=box(0, 0, 1000, 1000))
