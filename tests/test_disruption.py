"""Disruption site selection: coverage arithmetic, exact vs brute force and greedy, LSCP, inputs."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.models.candidates import candidate_sites, read_sites
from hotspots.models.coverage import aggregate_demand, build_coverage
from hotspots.models.disruption import choose_sites, coverage_curve, lscp
from hotspots.models.kde import kernel_density
from hotspots.spatial.crs import to_wgs84
from hotspots.spatial.drivetime import drive_times
from hotspots.spatial.osm_roads import graph_from_osm

FIXTURE = Path(__file__).parent / "fixtures" / "srn_small.osm"
X0, Y0 = 430_000.0, 270_000.0  # a spot in Warwickshire, BNG metres


def incidents(xy, *, harm=None, group=None, ctype=None) -> pd.DataFrame:
    """A canonical-enough incident frame at ``xy`` (BNG metres), offsets from (X0, Y0)."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    n = len(xy)
    return pd.DataFrame({
        "x": X0 + xy[:, 0], "y": Y0 + xy[:, 1], "has_location": True,
        "harm": np.ones(n) if harm is None else np.asarray(harm, float),
        "crime_group": ["acquisitive"] * n if group is None else group,
        "crime_type": ["Burglary"] * n if ctype is None else ctype,
        "month": "2025-01",
    })


def sites(xy, names=None) -> pd.DataFrame:
    xy = np.asarray(xy, float).reshape(-1, 2)
    names = names or [f"S{i}" for i in range(len(xy))]
    return pd.DataFrame({"name": names, "x": X0 + xy[:, 0], "y": Y0 + xy[:, 1]})


def covered_weight(site_xy: np.ndarray, pts: np.ndarray, w: np.ndarray, radius: float) -> float:
    """Independent objective: weight of points within ``radius`` of any site (dense numpy)."""
    if not len(site_xy):
        return 0.0
    d = np.hypot(pts[:, None, 0] - site_xy[None, :, 0], pts[:, None, 1] - site_xy[None, :, 1])
    return float(w[(d <= radius).any(axis=1)].sum())


def chosen_xy(plan) -> np.ndarray:
    return plan.sites[["x", "y"]].to_numpy() - [X0, Y0]


def random_instance(seed: int, n_sites: int, n_points: int, extent: float = 10_000.0):
    rng = np.random.default_rng(seed)
    s = rng.uniform(0, extent, (n_sites, 2))
    p = rng.uniform(0, extent, (n_points, 2))
    # police.uk-like: many incidents on the same map points
    p = np.repeat(p, rng.integers(1, 4, n_points), axis=0)
    harm = rng.choice([10.0, 20.0, 60.0, 300.0, 600.0], len(p))
    return s, p, harm


# --------------------------------------------------------------------------------------------
# Coverage arithmetic
# --------------------------------------------------------------------------------------------

def test_straight_line_coverage_matches_a_hand_count():
    # S0 at the origin, S1 3 km east. Points: 0 m and 999 m from S0; 1,000 m from S0 (on the
    # edge: covered); 2,000 m from both; 500 m from S1; 5 km away from both.
    pts = [(0, 0), (999, 0), (0, 1000), (1500, 0), (2000, 0), (3500, 0), (0, 5000)]
    cov = build_coverage(incidents(pts), candidates=sites([(0, 0), (3000, 0)]), radius=1000)
    assert cov.params["distance_method"] == "straight-line"
    dem = cov.demand
    got = {cov.sites["name"].iat[s]:
           sorted(zip(dem["x"].to_numpy()[cov.credit[s].indices] - X0,
                      dem["y"].to_numpy()[cov.credit[s].indices] - Y0, strict=True))
           for s in range(2)}
    assert got == {"S0": [(0.0, 0.0), (0.0, 1000.0), (999.0, 0.0)],
                   "S1": [(2000.0, 0.0), (3500.0, 0.0)]}
    row = cov.reach[0]
    assert sorted(row.data.round(6)) == [0.0, 999.0, 1000.0]
    assert cov.params["uncoverable_share"] == pytest.approx(2 / 7)


def test_duplicate_locations_are_merged_with_summed_weights_and_soc_boost():
    inc = incidents([(0, 0), (0, 0), (0, 0), (100, 0)], harm=[300, 60, 10, 60],
                    group=["acquisitive", "soc", "acquisitive", "soc"],
                    ctype=["Burglary", "Drugs", "Shoplifting", "Drugs"])
    d = aggregate_demand(inc, soc_boost=2.0)
    d = d.sort_values("x").reset_index(drop=True)
    assert d["incidents"].tolist() == [3, 1]
    assert d["harm"].tolist() == [370, 60]
    assert d["weight"].tolist() == [300 + 2 * 60 + 10, 2 * 60]
    assert d["type:Drugs"].tolist() == [1, 1] and d["type:Burglary"].tolist() == [1, 0]
    assert d.attrs["soc_boost"] == 2.0 and d.attrs["soc_incidents"] == 2
    counts = aggregate_demand(inc, weight="count").sort_values("x")
    assert counts["weight"].tolist() == [3, 1]
    assert inc["harm"].tolist() == [300, 60, 10, 60]  # input untouched


def test_unmapped_incidents_are_reported_and_left_out_of_shares():
    inc = incidents([(0, 0), (10, 0), (0, 0)])
    inc.loc[2, ["x", "y"]] = np.nan
    inc.loc[2, "has_location"] = False
    cov = build_coverage(inc, candidates=sites([(0, 0)]), radius=100, weight="count")
    assert cov.params["not_located"] == 1 and cov.params["mapped_incidents"] == 2
    plan = choose_sites(cov, 1)
    assert plan.sites["cumulative_share"].iat[0] == pytest.approx(1.0)
    assert any("without a location" in n for n in cov.params["notes"])


def test_linear_decay_credits_points_by_stepped_distance_bands():
    pts = [(0, 0), (250, 0), (300, 0), (600, 0), (900, 0), (1000, 0), (1001, 0)]
    cov = build_coverage(incidents(pts), candidates=sites([(0, 0)]), radius=1000,
                         decay="linear", decay_steps=4, weight="count")
    row = cov.credit[0]
    by_dist = dict(zip((cov.demand["x"].to_numpy()[row.indices] - X0).round(), row.data,
                       strict=True))
    assert by_dist == {0: 1.0, 250: 1.0, 300: 0.75, 600: 0.5, 900: 0.25, 1000: 0.25}
    plan = choose_sites(cov, 1)
    assert plan.summary["objective"] == pytest.approx(1 + 1 + 0.75 + 0.5 + 0.25 + 0.25)


def test_drive_time_reach_agrees_with_the_drive_time_model(settings):
    G = graph_from_osm(FIXTURE, settings=settings)
    rng = np.random.default_rng(3)
    # points scattered around the M6 J2 sketch (x 436-442 km, y 278-285 km)
    px = rng.uniform(434_000, 444_000, 400)
    py = rng.uniform(277_000, 287_000, 400)
    inc = pd.DataFrame({"x": px, "y": py, "has_location": True, "harm": 1.0,
                        "crime_group": "acquisitive", "crime_type": "Burglary"})
    layby = sites([(0, 0)], ["Lay-by A46"])
    layby[["x", "y"]] = [[438_950.0, 283_500.0]]  # beside the A46, off the graph's nodes
    cov = build_coverage(inc, G, extra=layby, minutes=5)
    assert cov.params["distance_method"] == "network+circuity"
    dem = cov.demand
    checked = 0
    for s, site in cov.sites.iterrows():
        if site["kind"] == "junction":
            expected = drive_times(G, site["name"], dem["x"], dem["y"]).seconds
        elif site["kind"] == "user":
            # joins the graph at its nearest node by the local leg, or drives locally
            nodes = list(G.nodes)
            xy = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes])
            d = np.hypot(*(xy - [site["x"], site["y"]]).T)
            n0 = nodes[int(d.argmin())]
            speed = 40 / 3.6
            via = d.min() * 1.3 / speed + drive_times(G, int(n0), dem["x"], dem["y"]).seconds
            direct = np.hypot(dem["x"] - site["x"], dem["y"] - site["y"]) * 1.3 / speed
            expected = np.minimum(via, direct.to_numpy())
        else:
            continue
        row = cov.reach[s]
        within = np.flatnonzero(expected <= 300)
        assert sorted(row.indices) == sorted(within), site["name"]
        np.testing.assert_allclose(row.data, expected[row.indices], atol=1e-6)
        checked += 1
    assert checked == 3  # M6 J2, M6 J3, the lay-by


def test_candidates_include_junctions_slip_road_ends_services_and_user_sites(settings, tmp_path):
    G = graph_from_osm(FIXTURE, settings=settings)
    f = tmp_path / "laybys.csv"
    f.write_text("name,lon,lat,kind\nA46 lay-by,-1.4285,52.4500,lay-by\n")
    c = candidate_sites(G, extra=f)
    kinds = dict(zip(c["name"], c["kind"], strict=True))
    assert kinds == {"M6 J2": "junction", "M6 J3": "junction", "M6 J2 slip road end": "slip",
                     "Corley Services": "services", "Walsgrave Services": "services",
                     "A46 lay-by": "lay-by"}
    slip = c[c["kind"] == "slip"].iloc[0]
    assert "A46" in slip["roads"].split("; ") and slip["nodes"] == (21,)
    assert c.crs.to_epsg() == 27700 and c["name"].is_unique


# --------------------------------------------------------------------------------------------
# Selection
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exact_equals_the_brute_force_optimum_of_every_k_subset(solver, seed):
    if solver == "cbc":
        pytest.importorskip("pulp")
    s, p, harm = random_instance(seed, 8, 40, extent=6000.0)
    cov = build_coverage(incidents(p, harm=harm), candidates=sites(s), radius=1500)
    for k in (1, 2, 3, 4):
        best = max(covered_weight(s[list(c)], p, harm, 1500)
                   for c in itertools.combinations(range(len(s)), k))
        plan = choose_sites(cov, k, solver=solver)
        assert plan.method == "mclp" and plan.gap == 0.0
        assert plan.summary["objective"] == pytest.approx(best)
        assert covered_weight(chosen_xy(plan), p, harm, 1500) == pytest.approx(best)
        assert plan.sites["cumulative_share"].iat[-1] == pytest.approx(best / harm.sum())


def test_exact_finds_the_pair_greedy_misses():
    # A reaches four points of weight 1; B and C each reach two of them plus one of weight
    # 1.5. Greedy takes A (4) then B (+1.5) = 5.5; the optimum is B + C = 7.
    pts = [(-100, 0), (-50, 0), (50, 0), (100, 0), (-900, 0), (900, 0)]
    harm = [1, 1, 1, 1, 1.5, 1.5]
    cand = sites([(0, 0), (-500, 0), (500, 0)], ["A", "B", "C"])
    cov = build_coverage(incidents(pts, harm=harm), candidates=cand, radius=450)
    exact = choose_sites(cov, 2)
    greedy = choose_sites(cov, 2, solver="greedy")
    assert sorted(exact.sites["name"]) == ["B", "C"]
    assert exact.summary["objective"] == pytest.approx(7.0) and exact.gap == 0.0
    assert greedy.method == "greedy" and greedy.summary["objective"] == pytest.approx(5.5)
    assert greedy.summary["bound"] >= 7.0 - 1e-9
    assert greedy.gap == pytest.approx((greedy.summary["bound"] - 5.5) / greedy.summary["bound"])


@pytest.mark.parametrize("seed", range(6))
def test_exact_is_never_worse_than_greedy(seed):
    s, p, harm = random_instance(100 + seed, 30, 300)
    cov = build_coverage(incidents(p, harm=harm), candidates=sites(s), radius=1800)
    for k in (3, 6):
        exact = choose_sites(cov, k)
        greedy = choose_sites(cov, k, solver="greedy")
        assert exact.summary["objective"] >= greedy.summary["objective"] - 1e-9
        # greedy's reported bound really bounds the optimum
        assert greedy.summary["bound"] >= exact.summary["objective"] - 1e-6


def test_solver_out_of_time_returns_a_valid_bound_or_a_proof():
    s, p, harm = random_instance(7, 80, 3000, extent=20_000.0)
    cov = build_coverage(incidents(p, harm=harm), candidates=sites(s), radius=2500)
    rushed = choose_sites(cov, 8, time_limit=1e-6)
    full = choose_sites(cov, 8)
    assert full.gap == 0.0
    if rushed.summary["proven_optimal"]:
        assert rushed.gap == 0.0
    else:
        assert rushed.summary["bound"] >= full.summary["objective"] - 1e-6
        assert rushed.summary["objective"] >= rushed.summary["greedy_share"] * \
            cov.total_weight - 1e-6
        assert rushed.gap > 0 or rushed.summary["objective"] == pytest.approx(
            full.summary["objective"])


def test_existing_sites_are_forced_in_and_counted_first():
    s, p, harm = random_instance(11, 10, 60, extent=6000.0)
    cand = sites(s)
    cov = build_coverage(incidents(p, harm=harm), candidates=cand, radius=1500,
                         existing=["S3"])
    plan = choose_sites(cov, 2)
    assert plan.existing["name"].tolist() == ["S3"] and "S3" not in plan.sites["name"].tolist()
    others = [i for i in range(10) if i != 3]
    best = max(covered_weight(s[[3, *c]], p, harm, 1500)
               for c in itertools.combinations(others, 2))
    assert plan.summary["objective"] == pytest.approx(best)
    ex_share = covered_weight(s[[3]], p, harm, 1500) / harm.sum()
    assert plan.summary["existing_share"] == pytest.approx(ex_share)
    assert plan.existing["cumulative_share"].iat[0] == pytest.approx(ex_share)
    # marginal coverage of new sites is counted after the existing one
    assert plan.sites["marginal_share"].sum() == pytest.approx(best / harm.sum() - ex_share)
    assert "existing" in plan.sites["rationale"].iat[0]


def test_existing_sites_from_a_file_are_added_beside_the_candidates(tmp_path):
    f = tmp_path / "anpr.csv"
    f.write_text(f"name,easting,northing\nANPR 1,{X0 + 100},{Y0}\nBad,abc,1\n")
    cov = build_coverage(incidents([(0, 0), (150, 0), (3000, 0)]), candidates=sites(
        [(3000, 0), (6000, 0)]), radius=200, existing=f, weight="count")
    plan = choose_sites(cov, 1)
    assert plan.existing["name"].tolist() == ["ANPR 1"]
    assert plan.existing["covered"].iat[0] == 2
    assert plan.sites["name"].tolist() == ["S0"] and plan.summary["covered_share"] == 1.0
    assert cov.params["rejected_sites"][0]["reason"].startswith("unparseable coordinates")


def test_lscp_finds_the_fewest_sites_where_greedy_needs_more():
    pts = [(-100, 0), (-50, 0), (50, 0), (100, 0), (-900, 0), (900, 0)]
    cand = sites([(0, 0), (-500, 0), (500, 0)], ["A", "B", "C"])
    cov = build_coverage(incidents(pts), candidates=cand, radius=450, weight="count")
    plan = lscp(cov, 1.0)
    assert plan.method == "lscp" and plan.gap == 0.0
    assert sorted(plan.sites["name"]) == ["B", "C"]
    assert plan.summary["covered_share"] == pytest.approx(1.0)
    # no single site reaches every point, so 2 is the minimum
    assert all(covered_weight(cand[["x", "y"]].to_numpy()[[i]] - [X0, Y0], np.array(pts,
               float), np.ones(6), 450) < 6 for i in range(3))
    greedy = lscp(cov, 1.0, solver="greedy")
    assert greedy.method == "greedy" and len(greedy.sites) == 3
    assert greedy.summary["min_sites_bound"] <= 2


def test_lscp_target_out_of_reach_is_a_clear_error():
    cov = build_coverage(incidents([(0, 0), (9000, 0)]), candidates=sites([(0, 0)]),
                         radius=100, weight="count")
    with pytest.raises(ParameterError, match="cannot be met.*50.0%"):
        lscp(cov, 0.8)


def test_coverage_curve_rises_and_matches_choose_sites():
    s, p, harm = random_instance(5, 12, 200)
    cov = build_coverage(incidents(p, harm=harm), candidates=sites(s), radius=2000)
    curve = coverage_curve(cov, k_max=15)
    assert [k for k, _ in curve] == list(range(1, 13))  # stops at the 12 candidates
    shares = [v for _, v in curve]
    assert shares == sorted(shares) and shares[-1] <= 1.0
    for k in (1, 4, 7):
        assert shares[k - 1] == pytest.approx(choose_sites(cov, k).summary["covered_share"])
    assert json.loads(json.dumps(curve)) == [list(t) for t in curve]


def test_hotspots_within_reach_are_listed_and_named_in_the_rationale():
    cov = build_coverage(
        incidents([(0, 0), (50, 0)]), candidates=sites([(0, 0)], ["Site"]), radius=1000,
        hotspots=gpd.GeoDataFrame(
            {"rank": [1, 2]}, crs="EPSG:27700",
            geometry=[shapely.box(X0 + 100, Y0 - 100, X0 + 300, Y0 + 100),
                      shapely.box(X0 + 5000, Y0, X0 + 5200, Y0 + 200)]))
    plan = choose_sites(cov, 1)
    assert plan.sites["hotspots"].iat[0] == ["hotspot 1"]
    assert "1 hotspot area within reach" in plan.sites["rationale"].iat[0]


def test_surface_mass_can_be_the_demand():
    pts = np.array([(0, 0), (0, 0), (2000, 0)], float) + [X0, Y0]
    surf = kernel_density(pts[:, 0], pts[:, 1], cell=100, bandwidth=300)
    cov = build_coverage(surf, candidates=sites([(0, 0), (2000, 0)], ["West", "East"]),
                         radius=400)
    assert cov.params["demand_source"] == "surface"
    assert cov.total_weight == pytest.approx(surf.values.sum() * 0.01)
    plan = choose_sites(cov, 1)
    # two of the three incidents' mass sit at the west site
    assert plan.sites["name"].iat[0] == "West"
    assert plan.sites["covered"].iat[0] == pytest.approx(2.0, rel=0.1)
    assert "incidents' worth of hotspot density (" in plan.sites["rationale"].iat[0]


def test_result_dict_has_the_cli_shape_and_is_strict_json():
    s, p, harm = random_instance(9, 6, 50)
    cov = build_coverage(incidents(p, harm=harm), candidates=sites(s), radius=2500)
    d = choose_sites(cov, 3).to_dict()
    text = json.dumps(d, allow_nan=False)
    d = json.loads(text)
    assert d["method"] == "mclp" and d["gap"] == 0.0
    assert [x["rank"] for x in d["sites"]] == [1, 2, 3]
    for site in d["sites"]:
        assert {"rank", "name", "lon", "lat", "covered", "covered_share", "cumulative_share",
                "marginal", "crime_mix", "rationale", "kind", "roads"} <= set(site)
    lon, lat = to_wgs84(np.array([s[0, 0] + X0]), np.array([s[0, 1] + Y0]))
    assert -2 < lon[0] < -1 and 52 < lat[0] < 53
    cum = [x["cumulative_share"] for x in d["sites"]]
    assert cum == sorted(cum)
    assert d["coverage"]["distance_method"] == "straight-line" and d["coverage"]["radius_m"] == 2500


# --------------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------------

def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


def test_k_larger_than_the_candidates_is_a_parameter_error():
    cov = build_coverage(incidents([(0, 0)]), candidates=sites([(0, 0), (10, 0)]), radius=100)
    with pytest.raises(ParameterError) as exc:
        choose_sites(cov, 3)
    assert "only 2 candidate sites" in one_line(exc)
    with pytest.raises(ParameterError):
        choose_sites(cov, 0)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"radius": 0}, "radius must be a distance above 0"),
    ({"radius": -5}, "radius must be a distance above 0"),
    ({"minutes": 0}, "minutes must be a drive time above 0"),
    ({"minutes": 10, "radius": 5000}, "not both"),
    ({"radius": 100, "decay": "cubic"}, "decay must be"),
    ({"radius": 100, "weight": "value"}, "weight must be"),
    ({"radius": 100, "soc_boost": 0}, "soc_boost"),
    ({"minutes": 10}, "need the SRN graph"),
    ({"radius": 100, "period": ("2025-13", "2025-01")}, "period must be"),
    ({"radius": 100, "decay": "linear", "decay_steps": 0}, "decay_steps"),
])
def test_bad_parameters_are_one_line_errors(kwargs, fragment):
    with pytest.raises(ParameterError) as exc:
        build_coverage(incidents([(0, 0)]), candidates=sites([(0, 0)]), **kwargs)
    assert fragment in one_line(exc)


def test_no_incidents_in_the_period_is_a_no_data_error():
    empty = incidents(np.zeros((0, 2)))
    with pytest.raises(NoDataError) as exc:
        build_coverage(empty, candidates=sites([(0, 0)]), radius=100)
    assert "widen the period" in one_line(exc)


def test_unknown_existing_site_name_suggests_close_names():
    with pytest.raises(ParameterError) as exc:
        build_coverage(incidents([(0, 0)]), candidates=sites([(0, 0)], ["M6 J2"]), radius=100,
                       existing=["M6 J 2"])
    assert "did you mean M6 J2" in one_line(exc)


def test_site_file_rows_with_bad_coordinates_are_rejected_with_reasons(tmp_path):
    f = tmp_path / "sites.csv"
    f.write_text("name,lon,lat\n"
                 "Good lay-by,-1.5,52.3\n"
                 "Swapped,52.3,-1.5\n"
                 "Words,west,north\n"
                 ",-1.5,52.3\n"
                 "Off the map,120,10\n"
                 "Good lay-by,-1.6,52.3\n")
    got = read_sites(f)
    assert got["name"].tolist() == ["Good lay-by"]
    reasons = {r["line"]: r["reason"] for r in got.attrs["rejected"]}
    assert "looks swapped" in reasons[3]
    assert reasons[4].startswith("unparseable coordinates")
    assert reasons[5] == "no name"
    assert "outside Great Britain" in reasons[6]
    assert reasons[7].startswith("duplicate name")
    assert got.crs.to_epsg() == 27700
    assert 420_000 < got["x"].iat[0] < 440_000


def test_site_file_with_nothing_usable_is_one_input_error(tmp_path):
    f = tmp_path / "sites.csv"
    f.write_text("name,easting,northing\nA,abc,def\nB,-5,10\n")
    with pytest.raises(InputError) as exc:
        read_sites(f)
    assert "no usable site (2 rejected" in one_line(exc)
    g = tmp_path / "cols.csv"
    g.write_text("site_id,where\n1,here\n")
    with pytest.raises(InputError, match="needs a name column"):
        read_sites(g)
    with pytest.raises(InputError, match="no such site file"):
        read_sites(tmp_path / "missing.csv")
    h = tmp_path / "sites.xlsx"
    h.write_text("x")
    with pytest.raises(InputError, match="CSV or GeoJSON"):
        read_sites(h)


def test_geojson_sites_keep_points_and_reject_other_geometries(tmp_path):
    f = tmp_path / "sites.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Safe stop"},
         "geometry": {"type": "Point", "coordinates": [-1.55, 52.28]}},
        {"type": "Feature", "properties": {"name": "A road"},
         "geometry": {"type": "LineString", "coordinates": [[-1.5, 52.2], [-1.4, 52.3]]}},
        {"type": "Feature", "properties": {"name": "Nowhere"}, "geometry": None},
    ]}))
    got = read_sites(f)
    assert got["name"].tolist() == ["Safe stop"]
    assert [r["reason"] for r in got.attrs["rejected"]] == ["not a point (LineString)",
                                                            "no geometry"]
    bad = tmp_path / "broken.geojson"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid GeoJSON"):
        read_sites(bad)


# --------------------------------------------------------------------------------------------
# Shipped data
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped(store, shipped_settings):
    from hotspots.query import available_months
    from hotspots.spatial.srn_graph import build_srn_graph

    return (store, build_srn_graph(shipped_settings),
            available_months(store, settings=shipped_settings))


def test_shipped_acquisitive_crime_gives_five_ranked_named_sites(shipped_settings, shipped):
    from hotspots.query import load_incidents

    store, G, _ = shipped
    inc = load_incidents(store, start="2025-10", end="2025-12", groups=["acquisitive"],
                         settings=shipped_settings)
    cov = build_coverage(inc, G)
    plan = choose_sites(cov, 5)
    d = plan.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["method"] == "mclp" and d["gap"] == 0.0
    assert d["coverage"]["distance_method"] == "network+circuity"
    assert d["coverage"]["minutes"] == 10 and d["coverage"]["weight"] == "harm"
    ranked = d["sites"]
    assert [s["rank"] for s in ranked] == [1, 2, 3, 4, 5]
    names = set(cov.sites["name"])
    cum = [s["cumulative_share"] for s in ranked]
    assert cum == sorted(cum) and 0 < cum[-1] <= 1
    assert cum[-1] == pytest.approx(d["covered_share"])
    for s in ranked:
        assert s["name"] in names and s["covered"] > 0 and s["marginal"] <= s["covered"]
        assert s["rationale"].startswith(s["name"] + " covers ")
        assert "acquisitive crimes" in s["rationale"] and "within 10 minutes by road" in \
            s["rationale"]
        assert sum(s["crime_mix"].values()) == s["covered"]
        assert 51.9 < s["lat"] < 52.8 and -2.0 < s["lon"] < -1.0
    # the ranked sites' new incidents add up to everything they cover together
    assert sum(s["marginal"] for s in ranked) == ranked[-1]["cumulative"]
    # greedy on the same coverage cannot do better than the proven optimum
    assert d["greedy_share"] <= d["covered_share"] + 1e-12
    # the chosen junctions' reach is the drive-time model's, site by site
    dem = cov.demand
    for s in ranked:
        row = cov.sites.index[cov.sites["name"] == s["name"]][0]
        if cov.sites.at[row, "kind"] != "junction":
            continue
        expected = drive_times(G, s["name"], dem["x"], dem["y"]).seconds
        got = cov.reach[row]
        assert sorted(got.indices) == sorted(np.flatnonzero(expected <= 600))
        np.testing.assert_allclose(got.data, expected[got.indices], atol=1e-6)


def test_shipped_period_across_the_gap_reports_missing_months(shipped_settings, shipped):
    from hotspots.query import load_incidents

    store, G, months = shipped
    inc = load_incidents(store, start="2024-03", end="2025-02", groups=["soc"],
                         settings=shipped_settings)
    cov = build_coverage(inc, G, radius=5000, soc_boost=2.0, period=("2024-03", "2025-02"),
                         months=months)
    assert cov.params["missing_months"] == [f"2024-{m:02d}" for m in range(5, 13)]
    assert any("2024-05..2024-12" in n for n in cov.params["notes"])
    plan = choose_sites(cov, 3)
    assert plan.summary["coverage"]["distance_method"] == "straight-line"
    assert "within 5 km (straight line)" in plan.sites["rationale"].iat[0]
    assert plan.summary["coverage"]["soc_boost"] == 2.0


@pytest.mark.parametrize("name, content, fragment", [
    ("bad.csv", b"name,lon,lat\n\x81\x8d\x8f,-1.5,52.3\n", "not readable"),
    ("nul.csv", b"name,lon,lat\nA\x00,-1.5,52.3\n", "binary"),
    ("null.geojson", b'{"type":"FeatureCollection","features":[null, 3]}', "no usable site"),
    ("props.geojson", b'{"type":"FeatureCollection","features":[{"type":"Feature",'
                      b'"properties":[1,2],"geometry":{"type":"Point","coordinates":"x"}}]}',
     "no usable site"),
])
def test_malformed_site_files_are_one_line_input_errors(tmp_path, name, content, fragment):
    from hotspots.errors import InputError

    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_sites(path)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_sites_beyond_the_selected_area_are_rejected_row_by_row(tmp_path):
    from hotspots.spatial.crs import to_bng

    x, y = to_bng(np.array([-1.5]), np.array([52.3]))
    area = shapely.box(x[0] - 10_000, y[0] - 10_000, x[0] + 10_000, y[0] + 10_000)
    f = tmp_path / "sites.csv"
    f.write_text("name,lon,lat\n"
                 "Inside,-1.5,52.3\n"
                 "Edinburgh,-3.19,55.95\n"
                 "Inverness,-4.22,57.48\n"
                 "North Sea,1.9,55.0\n")
    got = read_sites(f, area=area, buffer_m=5_000)
    assert got["name"].tolist() == ["Inside"]
    reasons = {r["name"]: r["reason"] for r in got.attrs["rejected"]}
    assert set(reasons) == {"Edinburgh", "Inverness", "North Sea"}
    assert all("outside the selected area" in r or "outside Great Britain" in r
               for r in reasons.values())
    assert "outside the selected area (more than 5 km beyond it)" == reasons["Edinburgh"]
    assert len(got) + len(got.attrs["rejected"]) == 4  # every row accounted for


def test_a_site_file_over_the_cap_is_refused_before_any_work(tmp_path):
    f = tmp_path / "many.csv"
    f.write_text("name,lon,lat\n" + "".join(f"s{i},-1.5,52.{i % 10}\n" for i in range(31)))
    with pytest.raises(InputError, match="31 sites; at most 30 can be considered"):
        read_sites(f, max_sites=30)
    assert len(read_sites(f, max_sites=31)) == 31


def test_the_time_limit_covers_the_whole_solve_not_only_the_milp(monkeypatch):
    import hotspots.models.solvers as solvers

    s, p, harm = random_instance(3, 60, 2000, extent=20_000.0)
    cov = build_coverage(incidents(p, harm=harm), candidates=sites(s), radius=2500)
    clock = iter(np.arange(0.0, 1000.0, 2.0))  # each reading of the clock is 2 s later
    monkeypatch.setattr(solvers.time, "perf_counter", lambda: float(next(clock)))
    called = []
    monkeypatch.setattr(solvers, "_milp", lambda *a, **k: called.append(a) or (None, False,
                                                                                None, ""))
    plan = choose_sites(cov, 5, time_limit=1.5)
    # the model and greedy took the whole budget: no exact solve, greedy kept with its gap
    assert called == [] and plan.method == "greedy" and plan.gap >= 0
    assert "time limit of 1.5 s used up" in plan.summary["status"]
    assert plan.summary["bound"] >= plan.summary["objective"]
