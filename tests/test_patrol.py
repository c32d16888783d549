"""Patrol areas: grown on hand-made grids, named from hand-made places and locations, ranked
the same on the map and in the table, and offered by the CLI."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage
from shapely.geometry import Point, box

from hotspots import maps, wording
from hotspots.cli import main
from hotspots.errors import ParameterError
from hotspots.models.patrol import (
    RECORD_KEYS,
    PatrolRule,
    area_records,
    grow_areas,
    patrol_areas,
    score_patrol,
)
from hotspots.spatial.grid import Grid
from hotspots.spatial.places import area_name, place_of, repeated_names, street_of, top_streets

CELL = 100.0


def _bump(shape, centre, height, width):
    """A Gaussian bump on a grid of ``shape`` (rows, cols), peak ``height`` at ``centre``."""
    r, c = np.mgrid[0:shape[0], 0:shape[1]]
    return height * np.exp(-((r - centre[0]) ** 2 + (c - centre[1]) ** 2) / (2 * width ** 2))


def _grid(ny, nx):
    return Grid(x0=400000.0, y0=250000.0, cell=CELL, nx=nx, ny=ny)


def _incidents(grid, cells, location="On or near High Street"):
    """One incident at the centre of each (row, col) in ``cells`` (repeats allowed)."""
    rows = [(grid.x0 + (c + 0.5) * grid.cell, grid.y0 + (r + 0.5) * grid.cell) for r, c in cells]
    locs = location if isinstance(location, list) else [location] * len(rows)
    return pd.DataFrame({"x": [p[0] for p in rows], "y": [p[1] for p in rows],
                         "has_location": True, "location": locs})


def test_two_peaks_give_two_areas_each_holding_its_peak():
    score = _bump((40, 60), (10, 10), 100.0, 2.0) + _bump((40, 60), (30, 45), 60.0, 2.0)
    labels = grow_areas(score, np.ones(score.shape, bool), cell=CELL, n_areas=10)
    assert labels.max() == 2
    assert labels[10, 10] == 1 and labels[30, 45] == 2


def test_areas_never_exceed_the_size_cap_and_stop_at_n():
    # One broad plateau far bigger than the cap, with small ripples giving many peaks.
    r, c = np.mgrid[0:50, 0:50]
    score = 100.0 + np.sin(r / 2.0) * np.cos(c / 2.0)
    labels = grow_areas(score, np.ones(score.shape, bool), cell=CELL, n_areas=4,
                        max_area_km2=0.25)
    sizes = np.bincount(labels.ravel())[1:]
    assert len(sizes) == 4
    assert (sizes <= 25).all()  # 0.25 km² of 100 m cells


def test_each_area_is_one_connected_piece_and_areas_do_not_overlap():
    rng = np.random.default_rng(3)
    score = ndimage.gaussian_filter(rng.random((60, 60)), 3) * 100
    labels = grow_areas(score, np.ones(score.shape, bool), cell=CELL, n_areas=10,
                        max_area_km2=0.5)
    assert labels.max() >= 2
    for k in range(1, labels.max() + 1):
        _, pieces = ndimage.label(labels == k)  # rook (edge) connectivity
        assert pieces == 1


def test_cells_outside_the_study_area_or_scoring_zero_never_join():
    score = _bump((20, 20), (10, 10), 50.0, 4.0)
    score[:, 15:] = 0.0
    eligible = np.ones(score.shape, bool)
    eligible[:5, :] = False
    labels = grow_areas(score, eligible, cell=CELL, n_areas=5, max_area_km2=4.0)
    assert not labels[:5, :].any() and not labels[:, 15:].any()


def test_patrol_areas_rank_by_incidents_and_hold_less_than_every_incident():
    grid = _grid(40, 60)
    score = _bump((40, 60), (10, 10), 100.0, 2.0) + _bump((40, 60), (30, 45), 60.0, 2.0)
    # The lower peak holds more incidents: it must rank first.
    cells = [(10, 10)] * 5 + [(30, 45)] * 9 + [(0, 59)] * 3  # 3 far from both peaks
    areas = patrol_areas(score, grid, _incidents(grid, cells), rule=PatrolRule(10, 1.0))
    assert list(areas["rank"]) == [1, 2]
    assert list(areas["incidents"]) == [9, 5]
    assert areas["share"].sum() == pytest.approx(14 / 17)
    assert (areas["area_km2"] <= 1.0 + 1e-9).all()
    assert areas["predicted"].iloc[1] > areas["predicted"].iloc[0]  # ranked by incidents


def test_areas_are_named_by_place_and_commonest_streets():
    grid = _grid(40, 60)
    score = _bump((40, 60), (10, 10), 100.0, 2.0)
    locs = ["On or near Regent Street"] * 3 + ["On or near Supermarket"] * 5 + \
        ["On or near Church Street"] * 2
    inc = _incidents(grid, [(10, 10)] * 10, locs)
    centre = (grid.x0 + 10.5 * CELL, grid.y0 + 10.5 * CELL)
    places = gpd.GeoDataFrame({"name": ["Rugby", "Hillmorton"], "class": ["town", "suburb"],
                               "district": ["Rugby", "Rugby"]},
                              geometry=[Point(centre[0] + 200, centre[1]),
                                        Point(centre[0] + 50, centre[1])], crs=27700)
    areas = patrol_areas(score, grid, inc, places=places)
    assert areas.loc[0, "name"] == "Rugby town centre: Regent Street, Church Street"
    assert areas.loc[0, "place"] == "Rugby town centre"
    assert areas.loc[0, "streets"] == "Regent Street; Church Street; Supermarket"


def test_place_beyond_a_town_centre_is_the_nearest_with_its_district_when_repeated():
    places = gpd.GeoDataFrame(
        {"name": ["Rugby", "Exhall", "Exhall"], "class": ["town", "village", "village"],
         "district": ["Rugby", "Nuneaton and Bedworth", "Stratford-on-Avon"]},
        geometry=[Point(0, 0), Point(2000, 0), Point(9000, 0)], crs=27700)
    area = box(1500, -100, 1700, 100)
    assert place_of(area, places, repeated=repeated_names(places)) == \
        "Exhall (Nuneaton and Bedworth)"
    assert place_of(box(-100, -100, 100, 100), places) == "Rugby town centre"
    assert place_of(box(700, -100, 900, 100), places) == "Rugby"  # > 500 m, nearest


def test_streets_drop_the_police_prefix_and_put_kinds_of_place_last():
    assert street_of("On or near St Mary'S Terrace") == "St Mary's Terrace"
    assert street_of(None) == ""
    assert top_streets(["On or near Parking Area"] * 9 + ["On or near A Road"], 2) == \
        ["A Road", "Parking Area"]
    assert area_name("", ["Regent Street"]) == "Regent Street"


@pytest.mark.parametrize("now, before, text", [
    (12, 10, "up 2 (+20%)"), (5, 10, "down 5 (-50%)"), (3, 3, "no change"),
    (4, 0, "new (none before)"), (4, pd.NA, "–")])
def test_trend_words(now, before, text):
    assert wording.trend_label(now, before) == text


@pytest.mark.parametrize("n, a", [(-1, 1.0), (1.5, 1.0), (True, 1.0), (10, 0.0), (10, "x")])
def test_bad_rules_are_parameter_errors(n, a):
    with pytest.raises(ParameterError):
        PatrolRule(n, a)


def test_the_back_test_score_flags_exactly_the_areas_grown_on_the_training_score():
    grid = _grid(30, 30)
    train = _incidents(grid, [(5, 5)] * 4 + [(20, 22)] * 2)

    def base(tr, g, window, study_area=None):
        out = np.zeros(g.shape)
        r, c = g.cell_index(tr["x"].to_numpy(), tr["y"].to_numpy())
        np.add.at(out, (r, c), 1.0)
        return ndimage.gaussian_filter(out, 1.5)

    flagged = score_patrol(train, grid, ["2025-01"], base=base, dense=True, n_areas=1,
                           max_area_km2=0.2)
    labels = grow_areas(base(train, grid, []), np.ones(grid.shape, bool), cell=CELL,
                        n_areas=1, max_area_km2=0.2)
    assert np.array_equal(flagged > 0, labels > 0)
    assert flagged[5, 5] == 1.0 and flagged[20, 22] == 0.0


def test_map_rank_numbers_match_the_table_ranks():
    from hotspots.ui.hotspot_view import area_table

    grid = _grid(40, 60)
    score = _bump((40, 60), (10, 10), 100.0, 2.0) + _bump((40, 60), (30, 45), 60.0, 2.0)
    areas = patrol_areas(score, grid, _incidents(grid, [(10, 10)] * 2 + [(30, 45)] * 7))
    feats = maps.hotspot_features(areas)["features"]
    labels = [f for f in feats if f["geometry"]["type"] == "Point"]
    polys = [f for f in feats if f["geometry"]["type"] != "Point"]
    table = area_table(areas)
    assert [int(f["properties"]["label"]) for f in labels] == [int(i) for i in table.index]
    # The label of rank k sits inside the polygon of rank k.
    for lab, poly in zip(labels, polys, strict=True):
        from shapely.geometry import shape
        assert shape(poly["geometry"]).contains(shape(lab["geometry"]))
    assert list(table.columns[:5]) == ["Area", "Incidents", "Share", "km²", "PAI"]


def test_records_carry_the_documented_keys_in_order():
    grid = _grid(20, 20)
    areas = patrol_areas(_bump((20, 20), (10, 10), 10.0, 2.0), grid,
                         _incidents(grid, [(10, 10)] * 3))
    rec = area_records(areas)[0]
    assert tuple(rec)[:len(RECORD_KEYS)] == RECORD_KEYS
    assert rec["streets"] == ["High Street"] and rec["rank"] == 1


@pytest.mark.parametrize("command", ["kde", "gistar", "emerging", "clusters"])
def test_cli_json_lists_ranked_named_patrol_areas(store, capsys, command):
    argv = [command, "--store", str(store), "--group", "acquisitive", "--from", "2025-10",
            "--to", "2025-12", "--area", "Rugby", "--areas", "4", "--max-area-km2", "0.5",
            "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    areas = out["areas"]
    assert 1 <= len(areas) <= 4
    assert [a["rank"] for a in areas] == list(range(1, len(areas) + 1))
    assert all(set(RECORD_KEYS) <= set(a) for a in areas)
    assert all(a["area_km2"] <= 0.5 + 1e-9 for a in areas)
    counts = [a["incidents"] for a in areas]
    assert counts == sorted(counts, reverse=True)
    assert sum(a["share"] for a in areas) < 1
    assert all(a["name"] for a in areas)


def test_cli_areas_zero_keeps_the_share_of_the_area(store, capsys):
    assert main(["kde", "--store", str(store), "--group", "acquisitive", "--from", "2025-10",
                 "--to", "2025-12", "--areas", "0", "--top", "0.02", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_areas"] == 0 and "top share" in out["areas_method"]
