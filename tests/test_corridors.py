"""Corridor analysis: nearest SRN, band accounting, junction counts and change, links, NKDE."""

from __future__ import annotations

import glob
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box
from support import hand_graph

from hotspots.config import load_settings
from hotspots.errors import InputError, ParameterError
from hotspots.spatial.boundaries import area_geometry
from hotspots.spatial.corridors import (
    band_label,
    corridor_bands,
    junction_stats,
    link_stats,
    nearest_srn,
)
from hotspots.spatial.crs import to_bng
from hotspots.spatial.network_kde import network_kde
from hotspots.spatial.road_lines import edge_table
from hotspots.spatial.srn_graph import build_srn_graph


def frame(xy, **cols):
    x = [p[0] for p in xy]
    y = [p[1] for p in xy]
    df = pd.DataFrame({"x": x, "y": y, "has_location": [not math.isnan(v) for v in x]})
    for k, v in cols.items():
        df[k] = v
    return df


@pytest.fixture(scope="module")
def srn(data_dir):
    return build_srn_graph(load_settings(env={}).with_(data_dir=data_dir), cache=False)


@pytest.fixture(scope="module")
def warwickshire(data_dir):
    """The shipped police.uk months, via the ingest when present, else read directly."""
    settings = load_settings(env={}).with_(data_dir=data_dir)
    files = sorted(glob.glob(str(settings.data_dir / "crime" / "warwickshire" / "*.csv.gz")))
    try:
        from hotspots.ingest import read_incidents

        return read_incidents(files, boundary=None, settings=settings).incidents
    except ImportError:
        raw = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        x, y = to_bng(raw["Longitude"].to_numpy(), raw["Latitude"].to_numpy())
        groups = settings.crime_groups
        return pd.DataFrame({"x": x, "y": y, "has_location": np.isfinite(x),
                             "month": raw["Month"], "force": "warwickshire",
                             "crime_group": raw["Crime type"].map(groups).fillna("other")})


# The straight test road: a motorway along y = 0 from x = 0 to 10 km, junctions at the ends.
ROAD = hand_graph([[(0, 0), (10_000, 0)]], names={(0, 0): "M1 J1", (10_000, 0): "M1 J2"})


# ---------------------------------------------------------------------------- nearest SRN

def test_nearest_srn_distances_and_junctions_by_hand():
    inc = frame([(2_000, 300), (9_000, -400), (float("nan"), float("nan")), (12_000, 0)],
                force=["warwickshire", "leicestershire", "warwickshire", "warwickshire"])
    inc.index = [10, 11, 12, 13]
    before = inc.copy()
    out = nearest_srn(inc, ROAD, circuity=1.5, local_speed_kph=36)
    pd.testing.assert_frame_equal(inc, before)
    assert list(out.index) == [10, 11, 12, 13]
    np.testing.assert_allclose(out["srn_distance_m"], [300, 400, np.nan, 2000])
    names = out["nearest_junction"]
    assert names.isna().tolist() == [False, False, True, False]
    assert names[[10, 11, 13]].tolist() == ["M1 J1", "M1 J2", "M1 J2"]
    np.testing.assert_allclose(out["junction_distance_m"],
                               [math.hypot(2000, 300), math.hypot(1000, 400), np.nan, 2000])
    np.testing.assert_allclose(out["junction_drive_s"], out["junction_distance_m"] * 1.5 / 10)
    assert list(out["force"]) == list(inc["force"])
    assert out["srn_ref"].iloc[0] == "M1"


def test_nearest_srn_matches_geopandas_sjoin_nearest(settings, srn):
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = area_geometry(None, settings).bounds
    inc = frame(list(zip(rng.uniform(x0, x1, 3000), rng.uniform(y0, y1, 3000), strict=True)))
    ours = nearest_srn(inc, srn)["srn_distance_m"].to_numpy()
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(inc["x"], inc["y"]), crs=27700)
    ref = gpd.sjoin_nearest(pts, edge_table(srn)[["geometry"]], distance_col="d")
    ref = ref[~ref.index.duplicated()].sort_index()["d"].to_numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_nearest_srn_needs_coordinates():
    with pytest.raises(InputError, match="lack column"):
        nearest_srn(pd.DataFrame({"lon": [1.0]}), ROAD)


# ---------------------------------------------------------------------------- corridor bands

SQUARE = box(0, -5_000, 10_000, 5_000)  # 100 km2; the road runs across it


def test_band_lq_arithmetic_on_a_hand_built_case():
    pts = ([(5_000, 100)] * 6 + [(5_000, -700)] * 2 + [(5_000, 1_500), (5_000, -3_000)]
           + [(20_000, 0), (float("nan"), float("nan"))])
    inc = frame(pts, crime_group=["soc"] * 6 + ["violence"] * 6)
    out = corridor_bands(inc, ROAD, SQUARE, bands=(0, 500, 1000, 2000, math.inf))
    assert list(out["band"]) == ["0–500 m", "500 m–1 km", "1–2 km", "over 2 km"]
    assert list(out["incidents"]) == [6, 2, 1, 1]
    np.testing.assert_allclose(out["area_km2"], [10, 10, 20, 60], rtol=1e-6)
    np.testing.assert_allclose(out["share"], [0.6, 0.2, 0.1, 0.1])
    np.testing.assert_allclose(out["lq"], [6.0, 2.0, 0.5, 0.1 / 0.6], rtol=1e-6)
    np.testing.assert_allclose(out["density_km2"], [0.6, 0.2, 0.05, 1 / 60], rtol=1e-6)
    assert out.attrs["mapped_in_area"] == 10
    assert out.attrs["outside_area"] == 1 and out.attrs["not_located"] == 1

    by = corridor_bands(inc, ROAD, SQUARE, bands=(0, 500, 1000, 2000, math.inf),
                        by=["crime_group"])
    soc = by[by["crime_group"] == "soc"]
    assert list(soc["incidents"]) == [6, 0, 0, 0]
    np.testing.assert_allclose(soc["lq"], [10.0, 0, 0, 0], rtol=1e-6)
    assert by.groupby("crime_group")["share"].sum().tolist() == pytest.approx([1.0, 1.0])


def test_band_incidents_sum_to_mapped_incidents_in_area(settings, srn, warwickshire):
    county = area_geometry(None, settings)
    out = corridor_bands(warwickshire, srn, county)
    ok = warwickshire["has_location"].to_numpy(bool)
    inside = shapely.contains_xy(county, warwickshire["x"].to_numpy()[ok],
                                 warwickshire["y"].to_numpy()[ok]).sum()
    assert out["incidents"].sum() == inside == out.attrs["mapped_in_area"]
    assert out["share"].sum() == pytest.approx(1.0)
    assert out["area_km2"].sum() == pytest.approx(county.area / 1e6)
    assert list(out["band"]) == ["0–500 m", "500 m–1 km", "1–2 km", "2–5 km", "over 5 km"]
    monthly = corridor_bands(warwickshire, srn, county, by=["month"])
    assert monthly["incidents"].sum() == inside
    assert monthly.groupby("month")["share"].sum().to_numpy() == pytest.approx(1.0)
    assert monthly["month"].nunique() == 16  # 2024-05..2024-12 are absent, not zero rows


def test_band_records_serialise_for_the_cli(settings, srn, warwickshire):
    out = corridor_bands(warwickshire, srn, area_geometry(None, settings))
    recs = out[["band", "incidents", "share", "density_km2", "lq"]].to_dict("records")
    assert isinstance(recs[0]["incidents"], int) and isinstance(recs[0]["lq"], float)


def test_band_parameters_are_checked():
    inc = frame([(5_000, 100)])
    with pytest.raises(ParameterError, match="end with inf"):
        corridor_bands(inc, ROAD, SQUARE, bands=(0, 500, 1000))
    with pytest.raises(ParameterError, match="starting at 0"):
        corridor_bands(inc, ROAD, SQUARE, bands=(100, 500, math.inf))
    with pytest.raises(ParameterError, match="split by"):
        corridor_bands(inc, ROAD, SQUARE, by=["nope"])
    for name in ("force", None):  # names need settings: give the polygon (area_geometry)
        with pytest.raises(ParameterError, match="area_geometry"):
            corridor_bands(inc, ROAD, name)


def test_band_labels():
    assert band_label(0, 500) == "0–500 m"
    assert band_label(500, 1000) == "500 m–1 km"
    assert band_label(1000, 2000) == "1–2 km"
    assert band_label(2500, 5000) == "2.5–5 km"
    assert band_label(5000, math.inf) == "over 5 km"


# ---------------------------------------------------------------------------- junctions

def _junction_frame():
    # J1 at (0, 0), J2 at (10 km, 0); months 2025-01..2025-06 present
    rows = []
    for month, n1, n2 in [("2025-01", 1, 0), ("2025-02", 2, 1), ("2025-03", 0, 0),
                          ("2025-04", 3, 1), ("2025-05", 1, 0), ("2025-06", 2, 2)]:
        rows += [(500, 0, month, "soc")] * n1 + [(10_000, 900, month, "violence")] * n2
    rows += [(5_000, 0, "2025-06", "other")]  # 5 km from both: within no 2 km radius
    rows += [(1_500, 1_500, "2025-06", "soc")]  # 2.12 km from J1: outside
    rows += [(50_000, 50_000, "2025-03", "other")]  # far away; makes 2025-03 a month with data
    df = pd.DataFrame(rows, columns=["x", "y", "month", "crime_group"])
    df["has_location"] = True
    df["force"] = "warwickshire"
    return df


def test_junction_radius_counts_by_hand():
    out = junction_stats(_junction_frame(), ROAD, radius=2000, period=("2025-04", "2025-06"))
    j1 = out.set_index("name").loc["M1 J1"]
    j2 = out.set_index("name").loc["M1 J2"]
    assert list(out["name"]) == ["M1 J1", "M1 J2"]  # sorted by incidents
    assert (j1["incidents"], j2["incidents"]) == (6, 3)
    assert j1["by_group"] == {"soc": 6} and j2["by_group"] == {"violence": 3}
    assert j1["monthly"] == {"2025-04": 3, "2025-05": 1, "2025-06": 2}
    assert (j1["previous"], j1["change"]) == (3, 3)
    assert j1["change_pct"] == pytest.approx(100.0)
    assert (j2["previous"], j2["change"]) == (1, 2)
    assert j1["by_force"] == {"warwickshire": 6}
    assert out.attrs["previous_period"] == ("2025-01", "2025-03")


def test_junction_change_never_bridges_a_gap():
    df = _junction_frame()
    # previous period 2024-10..2024-12 is not in the data: no change, and say why
    out = junction_stats(df, ROAD, radius=2000, period=("2025-01", "2025-03"))
    j1 = out.set_index("name").loc["M1 J1"]
    assert j1["incidents"] == 3 and j1["previous"] is None and j1["change"] is None
    assert math.isnan(j1["change_pct"])
    assert j1["change_note"] == "no data for previous period 2024-10..2024-12"
    # a period with a missing month inside it: the month is None, not 0
    gap = df[df["month"] != "2025-02"]
    out = junction_stats(gap, ROAD, radius=2000, period=("2025-01", "2025-03"))
    j1 = out.set_index("name").loc["M1 J1"]
    assert j1["monthly"] == {"2025-01": 1, "2025-02": None, "2025-03": 0}
    assert j1["change_note"] == "period has no data for 2025-02"
    assert out.attrs["gaps"] == "2024-10..2024-12, 2025-02"
    # telling it the month exists (zero crime that month) makes it a zero, not a gap
    months = [f"2025-0{i}" for i in range(1, 7)]
    out = junction_stats(gap, ROAD, radius=2000, period="2025-04..2025-06", months=months)
    j1 = out.set_index("name").loc["M1 J1"]
    assert (j1["previous"], j1["change"]) == (1, 5)


def test_junction_stats_on_shipped_data(srn, warwickshire):
    out = junction_stats(warwickshire, srn, period=("2025-07", "2025-12"))
    assert out["incidents"].is_monotonic_decreasing
    assert out["incidents"].iloc[0] > 0
    row = out.iloc[0]
    assert sum(row["by_group"].values()) == row["incidents"]
    assert sum(row["monthly"].values()) == row["incidents"]
    assert row["previous"] is not None and row["change"] == row["incidents"] - row["previous"]
    recs = out[["name", "lon", "lat", "incidents", "by_group"]].to_dict("records")
    assert -2.5 < recs[0]["lon"] < -0.5 and 51.5 < recs[0]["lat"] < 53.5
    early = junction_stats(warwickshire, srn, period=("2025-01", "2025-04"))
    assert early["previous"].isna().all()
    assert set(early["change_note"]) == {"no data for previous period 2024-09..2024-12"}


def test_junction_stats_parameters_are_checked():
    with pytest.raises(ParameterError, match="YYYY-MM"):
        junction_stats(_junction_frame(), ROAD, period=("2025-1", "2025-03"))
    with pytest.raises(ParameterError, match="before its start"):
        junction_stats(_junction_frame(), ROAD, period=("2025-03", "2025-01"))
    with pytest.raises(ParameterError, match="radius"):
        junction_stats(_junction_frame(), ROAD, radius=0)


# ---------------------------------------------------------------------------- links

def test_link_counts_per_km_by_hand():
    G = hand_graph([[(0, 0), (4_000, 0)], [(4_000, 0), (4_000, 2_000)]],
                   names={(0, 0): "M1 J1", (4_000, 0): "M1 J2", (4_000, 2_000): "M1 J3"})
    # 8 beside the 4 km piece, 3 beside the 2 km one, 1 at the corner (424 m from both:
    # -> counted once), 1 too far away
    inc = frame([(1_000, 200)] * 8 + [(4_200, 1_000)] * 3 + [(4_300, -300), (1_000, 900)],
                crime_group=["soc"] * 13)
    out = link_stats(inc, G, band=500)
    by = out.set_index("name")
    a = by.loc["M1: M1 J1 – M1 J2"]
    b = by.loc["M1: M1 J2 – M1 J3"]
    assert a["incidents"] + b["incidents"] == 12
    assert {a["incidents"], b["incidents"]} in ({8, 4}, {9, 3})
    assert b["per_km"] == pytest.approx(b["incidents"] / 2.0)
    assert a["per_km"] == pytest.approx(a["incidents"] / 4.0)
    assert out.attrs["assigned"] == 12 and out.crs.to_epsg() == 27700


def test_link_stats_on_shipped_graph(srn, warwickshire):
    out = link_stats(warwickshire, srn)
    assert "M6: M6 J2 – M6 J3" in set(out["name"]) or "M6: M6 J3 – M6 J2" in set(out["name"])
    assert out["incidents"].sum() == out.attrs["assigned"] <= out.attrs["located"]
    assert out["per_km"].is_monotonic_decreasing
    assert set(out["geometry_source"]) <= {"surveyed", "approximate", "mixed"}


# ---------------------------------------------------------------------------- network KDE

def quartic(d, h):
    u = d / h
    return np.where(u < 1, 15 / 16 * (1 - u * u) ** 2 / h, 0.0) * 1000


def test_network_kde_on_a_straight_line_matches_hand_computation():
    G = hand_graph([[(0, 0), (1_000, 0)]])
    out = network_kde(G, [500, 520], [10, -30], lixel=100, bandwidth=300, band=50)
    out = out.iloc[np.argsort(out.geometry.centroid.x.to_numpy())]
    centres = np.arange(50, 1000, 100)
    expected = quartic(np.abs(centres - 500), 300) + quartic(np.abs(centres - 520), 300)
    np.testing.assert_allclose(out["density"].to_numpy(), expected, rtol=1e-9, atol=1e-12)
    assert out["incidents"].sum() == 2 and out.attrs["n_snapped"] == 2


def test_network_kde_measures_distance_along_the_network():
    # An L: along x to the corner, then up. The event near the corner reaches the upright's
    # lixels by going round the corner, not straight across.
    G = hand_graph([[(0, 0), (1_000, 0)], [(1_000, 0), (1_000, 1_000)]])
    out = network_kde(G, [900], [5], lixel=100, bandwidth=400, kernel="triangle")
    cx = out.geometry.centroid.x.to_numpy()
    cy = out.geometry.centroid.y.to_numpy()
    along = np.where(cy < 1, np.abs(cx - 900), 100 + cy)
    expected = np.where(along < 400, (1 - along / 400) / 400, 0) * 1000
    np.testing.assert_allclose(out["density"].to_numpy(), expected, rtol=1e-9, atol=1e-12)
    # the Euclidean distance to (1000, 250) is 269 m, the network distance 350 m
    up = out[(np.abs(cx - 1000) < 1) & (np.abs(cy - 250) < 1)]
    assert up["density"].iloc[0] == pytest.approx((1 - 350 / 400) / 400 * 1000)


def test_network_kde_mass_on_a_long_road_is_the_number_of_incidents():
    G = hand_graph([[(0, 0), (20_000, 0)]])
    rng = np.random.default_rng(5)
    x = rng.uniform(5_000, 15_000, 400)
    out = network_kde(G, x, rng.normal(0, 50, 400), lixel=50, bandwidth=1000, band=500)
    # integral of incidents/km over km of road = incidents snapped (no ends, no junctions)
    assert (out["density"] * out["length_m"] / 1000).sum() == pytest.approx(400, rel=1e-3)


def test_network_kde_ignores_far_incidents_and_checks_parameters():
    out = network_kde(ROAD, [5_000, 5_000], [100, 900], band=500)
    assert out.attrs["n_snapped"] == 1 and out.attrs["units"] == "incidents per km of road"
    none = network_kde(ROAD, [5_000, np.nan], [900, 0], band=500)
    assert none.attrs["n_snapped"] == 0 and (none["density"] == 0).all() and len(none) == 100
    with pytest.raises(ParameterError, match="unknown kernel"):
        network_kde(ROAD, [0], [0], kernel="cosine")
    with pytest.raises(ParameterError, match="shorter than a lixel"):
        network_kde(ROAD, [0], [0], lixel=200, bandwidth=100)


def test_network_kde_on_shipped_graph(srn, warwickshire):
    ok = warwickshire["has_location"].to_numpy(bool)
    out = network_kde(srn, warwickshire["x"][ok], warwickshire["y"][ok])
    assert out.crs.to_epsg() == 27700
    assert out["density"].max() > 0 and (out["density"] >= 0).all()
    assert out["incidents"].sum() == out.attrs["n_snapped"]
    assert "connector" not in set(out["geometry_source"])
    assert out["length_m"].between(50, 150).mean() > 0.95


def test_corridor_functions_leave_graph_untouched(srn, warwickshire):
    before = (srn.number_of_nodes(), srn.number_of_edges(), dict(srn.graph))
    sample = warwickshire.head(500)
    copy = sample.copy()
    nearest_srn(sample, srn)
    junction_stats(sample, srn)
    link_stats(sample, srn)
    pd.testing.assert_frame_equal(sample, copy)
    assert (srn.number_of_nodes(), srn.number_of_edges()) == before[:2]
    assert set(srn.graph) == set(before[2])
    assert isinstance(srn, nx.MultiDiGraph)
