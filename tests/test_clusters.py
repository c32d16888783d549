"""Density clusters: exact membership, duplicate handling, hulls, crime mix, months, defaults."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPoint, Point

from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.models import clusters
from hotspots.models.clusters import COLUMNS, HULL_BUFFER, elbow_eps, find_clusters, k_distances

X0, Y0 = 430_000.0, 260_000.0

# Group A: 10 distinct locations 20 m apart (a 5 x 2 block), 3 incidents each = 30 incidents.
A_LOCS = [(X0 + 20.0 * i, Y0 + 20.0 * j) for i in range(5) for j in range(2)]
# Group B: 4 distinct locations 30 m apart in a square, 3 incidents each = 12 incidents.
B_LOCS = [(X0 + 4000.0 + 30.0 * i, Y0 + 30.0 * j) for i in range(2) for j in range(2)]
# Noise: 8 single incidents at least 1.5 km from everything else and each other.
NOISE = [(X0 + 1500.0 * i, Y0 + 6000.0 + 1700.0 * (i % 2)) for i in range(8)]


def two_groups() -> pd.DataFrame:
    rows = []
    for k, (x, y) in enumerate(A_LOCS):
        for r in range(3):
            rows.append({"x": x, "y": y, "group": "A",
                         "crime_type": "Burglary" if r < 2 else "Vehicle crime",
                         "crime_group": "acquisitive",
                         "month": ("2025-01", "2025-02", "2025-03")[r],
                         "location": "On or near High Street" if k < 4 else
                         ("On or near Abbey Road" if k < 7 else "On or near Bus Station"),
                         "harm": 2.0})
    for x, y in B_LOCS:
        for m in ("2024-04", "2025-01", "2025-01"):
            rows.append({"x": x, "y": y, "group": "B", "crime_type": "Drugs",
                         "crime_group": "soc", "month": m,
                         "location": "On or near Market Square", "harm": 1.0})
    for x, y in NOISE:
        rows.append({"x": x, "y": y, "group": "noise", "crime_type": "Other theft",
                     "crime_group": "acquisitive", "month": "2025-02",
                     "location": "On or near Field Lane", "harm": 1.0})
    frame = pd.DataFrame(rows)
    frame["has_location"] = True
    unmapped = pd.DataFrame({"x": [np.nan] * 2, "y": [np.nan] * 2, "group": "unmapped",
                             "crime_type": "Burglary", "crime_group": "acquisitive",
                             "month": "2025-01", "location": pd.NA, "harm": 1.0,
                             "has_location": False})
    # Shuffle so nothing depends on row order.
    frame = pd.concat([frame, unmapped], ignore_index=True)
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


@pytest.mark.parametrize("kwargs", [dict(method="dbscan", eps=100, min_samples=5),
                                    dict(method="hdbscan", min_cluster_size=8, min_samples=5)])
def test_two_tight_groups_and_noise_give_exactly_two_clusters(kwargs):
    frame = two_groups()
    out = find_clusters(frame, **kwargs)
    assert list(out["cluster"]) == [1, 2]
    assert list(out["incidents"]) == [30, 12] and list(out["locations"]) == [10, 4]
    labels = out.attrs["labels"]
    assert labels.shape == (len(frame),)
    expect = frame["group"].map({"A": 1, "B": 2, "noise": 0, "unmapped": -1}).to_numpy()
    np.testing.assert_array_equal(labels, expect)
    p = out.attrs["params"]
    assert p["clusters"] == 2 and p["clustered_incidents"] == 42 and p["noise_incidents"] == 8
    assert p["mapped"] == 50 and p["unmapped"] == 2 and p["locations"] == 22
    assert out["share"].tolist() == pytest.approx([30 / 50, 12 / 50])
    assert out.crs.to_epsg() == 27700 and tuple(out.columns) == COLUMNS


def test_crime_mix_harm_and_location_names_are_counted_per_cluster():
    out = find_clusters(two_groups(), eps=100, min_samples=5)
    a, b = out.iloc[0], out.iloc[1]
    assert a["by_type"] == {"Burglary": 20, "Vehicle crime": 10}
    assert list(a["by_type"]) == ["Burglary", "Vehicle crime"]  # most frequent first
    assert a["by_group"] == {"acquisitive": 30} and b["by_group"] == {"soc": 12}
    assert a["top_location"] == "On or near High Street"  # 12 incidents vs 9 and 9
    assert a["top_locations"] == ("On or near High Street (12); On or near Abbey Road (9); "
                                  "On or near Bus Station (9)")
    assert b["top_location"] == "On or near Market Square"
    assert a["harm"] == 60.0 and b["harm"] == 12.0


def test_hull_is_the_convex_hull_of_the_cluster_locations():
    out = find_clusters(two_groups(), eps=100, min_samples=5)
    assert out.geometry.iloc[0].equals(MultiPoint(A_LOCS).convex_hull)
    assert out.geometry.iloc[1].equals(MultiPoint(B_LOCS).convex_hull)
    assert out["area_km2"].iloc[0] == pytest.approx(80 * 20 / 1e6)


def test_first_and_last_month_and_active_months_do_not_bridge_the_gap():
    out = find_clusters(two_groups(), eps=100, min_samples=5)
    a, b = out.iloc[0], out.iloc[1]
    assert (a["first_month"], a["last_month"], a["months_active"]) == ("2025-01", "2025-03", 3)
    assert (b["first_month"], b["last_month"], b["months_active"]) == ("2024-04", "2025-01", 2)
    p = out.attrs["params"]
    assert p["months"] == "2024-04, 2025-01..2025-03"
    assert p["months_without_incidents"] == "2024-05..2024-12"
    assert any("2024-05..2024-12" in note for note in p["notes"])


def busy_point_frame(second_group: bool) -> pd.DataFrame:
    """50 crimes snapped to one map point, 20 scattered single crimes, optionally a group."""
    rows = [{"x": X0, "y": Y0, "location": "On or near Busy Street", "month": "2025-01"}] * 50
    rows += [{"x": X0 + 1500.0 * i, "y": Y0 + 5000.0 + 1300.0 * (i % 3),
              "location": "On or near Field Lane", "month": "2025-03"} for i in range(20)]
    if second_group:
        rows += [{"x": X0 + 3000.0 + dx, "y": Y0 + dy, "location": "On or near Group Road",
                  "month": "2025-02"} for dx in range(0, 100, 20) for dy in range(0, 80, 20)]
    frame = pd.DataFrame(rows)
    frame["has_location"] = True
    return frame


def test_busy_map_point_weighted_is_a_one_location_dbscan_cluster_drawn_as_a_disc():
    out = find_clusters(busy_point_frame(False), eps=250, min_samples=10)
    assert len(out) == 1
    c = out.iloc[0]
    assert (c["incidents"], c["locations"]) == (50, 1)
    hull = c["geometry"]
    # A point buffered by HULL_BUFFER metres (a polygonal disc, so slightly under pi r^2).
    assert hull.contains(Point(X0, Y0))
    assert hull.area == pytest.approx(math.pi * HULL_BUFFER**2, rel=0.01)
    assert hull.buffer(1e-6).contains(Point(X0, Y0).buffer(HULL_BUFFER * 0.99))
    labels = out.attrs["labels"]
    assert (labels[:50] == 1).all() and (labels[50:] == 0).all()


def test_busy_map_point_is_no_dbscan_cluster_when_min_samples_exceeds_its_crimes():
    out = find_clusters(busy_point_frame(False), eps=250, min_samples=51)
    assert len(out) == 0 and tuple(out.columns) == COLUMNS
    assert (out.attrs["labels"] == 0).all() and out.attrs["params"]["clusters"] == 0


def test_busy_map_point_counts_once_with_duplicates_locations():
    out = find_clusters(busy_point_frame(True), eps=250, min_samples=10,
                        duplicates="locations")
    assert list(out["incidents"]) == [20] and out["top_location"].iloc[0] == \
        "On or near Group Road"
    assert (out.attrs["labels"][:50] == 0).all()
    assert out.attrs["params"]["min_samples_rule"] == "given"


def test_hdbscan_busy_point_is_its_own_cluster_only_when_min_samples_reaches_cluster_size():
    frame = busy_point_frame(True)
    big = find_clusters(frame, method="hdbscan", min_cluster_size=10, min_samples=10)
    assert big[["incidents", "locations"]].values.tolist() == [[50, 1], [20, 20]]
    # Capped at 5 copies, the busy point cannot make 10 alone.
    small = find_clusters(frame, method="hdbscan", min_cluster_size=10, min_samples=5)
    assert (small["locations"] > 1).all()
    assert small.attrs["params"]["rows_clustered"] == 5 + 20 + 20
    # Counted once, it is one point among the scattered ones, never a cluster by itself.
    once = find_clusters(frame, method="hdbscan", min_cluster_size=5, min_samples=5,
                         duplicates="locations")
    lab = once.attrs["labels"][0]
    assert (once.attrs["labels"][:50] == lab).all()
    assert lab == 0 or once.loc[once["cluster"] == lab, "locations"].item() > 1


def test_all_incidents_at_one_location_share_a_label_under_hdbscan():
    rng = np.random.default_rng(7)
    locs = rng.uniform(0, 3000, (300, 2)) + (X0, Y0)
    reps = rng.integers(1, 12, 300)
    xy = np.repeat(locs, reps, axis=0)
    frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "has_location": True})
    out = find_clusters(frame, method="hdbscan", min_cluster_size=15, min_samples=8)
    lab = pd.Series(out.attrs["labels"])
    per_location = lab.groupby([frame["x"], frame["y"]]).nunique()
    assert (per_location == 1).all()
    assert out["incidents"].sum() == (lab > 0).sum()


def test_defaults_are_computed_from_the_data_size_and_reported():
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame({"x": X0 + rng.uniform(0, 20_000, n), "y": Y0 + rng.uniform(0, 20_000, n),
                          "has_location": True})
    d = find_clusters(frame).attrs["params"]
    assert d["eps_m"] == 250.0 and d["eps_rule"].startswith("default")
    assert d["min_samples"] == 10 and "0.5%" in d["min_samples_rule"]
    h = find_clusters(frame.iloc[:600], method="hdbscan").attrs["params"]
    assert h["min_cluster_size"] == 5 and h["min_samples"] == 5 and h["eps_m"] is None
    assert "min_cluster_size" in h["min_samples_rule"]


def test_k_distances_count_incidents_at_each_location():
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [30.0, 0.0], [500.0, 0.0]])
    w = np.array([2, 1, 1, 3])
    np.testing.assert_allclose(k_distances(xy, w, 3), [10.0, 10.0, 30.0, 0.0])
    assert np.isinf(k_distances(xy[:1], w[:1], 3)).all()


def test_elbow_eps_lies_between_the_cluster_spacing_and_the_noise_spacing():
    rng = np.random.default_rng(2)
    centres = rng.uniform(0, 50_000, (20, 2))
    pts = np.vstack([c + rng.normal(0, 10, (40, 2)) for c in centres]
                    + [rng.uniform(0, 50_000, (40, 2))])
    xy, counts = np.unique(pts, axis=0, return_counts=True)
    eps = elbow_eps(xy, counts, 5)
    assert 5 < eps < 200
    frame = pd.DataFrame({"x": pts[:, 0] + X0, "y": pts[:, 1] + Y0, "has_location": True})
    out = find_clusters(frame, eps="elbow", min_samples=5)
    assert out.attrs["params"]["eps_m"] == pytest.approx(eps, abs=1e-3)
    assert "elbow" in out.attrs["params"]["eps_rule"] and len(out) == 20


def test_input_frame_is_not_modified():
    frame = two_groups()
    before = frame.copy(deep=True)
    find_clusters(frame, eps=100, min_samples=5)
    find_clusters(frame, method="hdbscan", min_cluster_size=8)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("kwargs, error, fragment", [
    (dict(method="kmeans"), ParameterError, "dbscan or hdbscan"),
    (dict(method="hdbscan", eps=100), ParameterError, "eps applies to dbscan"),
    (dict(min_cluster_size=10), ParameterError, "min_cluster_size applies to hdbscan"),
    (dict(eps=-5), ParameterError, "positive"),
    (dict(eps="knee"), ParameterError, "elbow"),
    (dict(eps=True), ParameterError, "metres"),
    (dict(min_samples=0), ParameterError, "min_samples"),
    (dict(min_samples=2.5), ParameterError, "min_samples"),
    (dict(method="hdbscan", min_cluster_size=1), ParameterError, "min_cluster_size"),
    (dict(duplicates="drop"), ParameterError, "duplicates"),
])
def test_bad_parameters_raise_one_line_errors(kwargs, error, fragment):
    with pytest.raises(error, match=fragment) as info:
        find_clusters(two_groups(), **kwargs)
    assert "\n" not in str(info.value)


def test_no_mapped_incidents_and_missing_columns_raise_clear_errors():
    frame = two_groups()
    with pytest.raises(NoDataError, match="no mapped incidents"):
        find_clusters(frame[~frame["has_location"]])
    with pytest.raises(InputError, match="x, y"):
        find_clusters(frame.drop(columns=["x", "y"]))
    with pytest.raises(InputError, match="DataFrame"):
        find_clusters([1, 2, 3])


def test_jobs_too_big_for_memory_or_time_are_refused(monkeypatch):
    monkeypatch.setattr(clusters, "MAX_NEIGHBOURS", 100)
    with pytest.raises(ParameterError, match="smaller eps") as info:
        find_clusters(two_groups(), eps=100, min_samples=5)
    assert "\n" not in str(info.value)
    monkeypatch.setattr(clusters, "MAX_HDBSCAN_ROWS", 10)
    with pytest.raises(ParameterError, match="HDBSCAN on 50 points"):
        find_clusters(two_groups(), method="hdbscan", min_cluster_size=8)


def test_frame_without_optional_columns_still_clusters():
    frame = two_groups()[["x", "y"]].dropna()
    out = find_clusters(frame, eps=100, min_samples=5)
    assert list(out["incidents"]) == [30, 12]
    assert out["by_type"].iloc[0] == {} and out["top_location"].iloc[0] is None
    assert out["first_month"].isna().all() and np.isnan(out["harm"]).all()


# ------------------------------------------------------------------------ shipped data


@pytest.mark.parametrize("method", ["dbscan", "hdbscan"])
def test_shipped_acquisitive_crime_in_rugby_clusters_consistently(shipped_settings, store, method):
    from hotspots.query import load_incidents

    inc = load_incidents(store, start="2025-01", end="2025-12", groups=["acquisitive"],
                         area="Rugby", settings=shipped_settings)
    out = find_clusters(inc, method=method)
    labels = out.attrs["labels"]
    p = out.attrs["params"]
    assert len(out) == p["clusters"] > 0
    assert out["incidents"].tolist() == sorted(out["incidents"], reverse=True)
    assert out["incidents"].sum() == (labels > 0).sum() == p["clustered_incidents"]
    assert p["mapped"] == int(inc["has_location"].sum()) and p["locations"] < p["mapped"]
    assert p["min_samples"] == max(5, math.ceil(0.005 * p["mapped"]))
    # Every clustered incident lies in its cluster's hull; a location has one label.
    for c, geom in zip(out["cluster"], out.geometry, strict=True):
        sel = labels == c
        inside = shapely.covers(geom.buffer(1e-6), shapely.points(inc["x"][sel], inc["y"][sel]))
        assert inside.all()
    assert (pd.Series(labels).groupby([inc["x"], inc["y"]]).nunique() == 1).all()
    assert all(sum(d.values()) == n for d, n in zip(out["by_type"], out["incidents"],
                                                    strict=True))
    assert out["top_location"].str.startswith("On or near").all()
    assert (out["first_month"] >= "2025-01").all() and (out["last_month"] <= "2025-12").all()
    assert any("snaps crimes" in note for note in p["notes"])


def test_shipped_data_over_the_gap_reports_the_missing_months(shipped_settings, store):
    from hotspots.query import load_incidents

    inc = load_incidents(store, types=["Burglary"], area="Warwick", settings=shipped_settings)
    p = find_clusters(inc).attrs["params"]
    assert p["months_without_incidents"] == "2024-05..2024-12"
