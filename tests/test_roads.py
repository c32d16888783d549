"""SRN graph from the shipped layers: junction names, routing, geometry, cache, bad inputs."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely
from shapely.geometry import box

from hotspots.config import load_settings
from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.spatial import road_names, srn_graph
from hotspots.spatial.boundaries import area_geometry
from hotspots.spatial.road_lines import SPEEDS_KPH, edge_table
from hotspots.spatial.road_names import find_junction, junctions_frame
from hotspots.spatial.srn_graph import build_srn_graph, graph_summary

FIXTURE = Path(__file__).parent / "fixtures" / "srn_small.osm"


@pytest.fixture(scope="module")
def srn(data_dir):
    return build_srn_graph(load_settings(env={}).with_(data_dir=data_dir), cache=False)



# ---------------------------------------------------------------------------- junction names

def test_motorway_junctions_are_named_like_officers_say_them(srn):
    names = set(junctions_frame(srn)["name"])
    for name in ("M6 J2", "M40 J15", "M42 J6", "M69 J1", "M45 J1", "M6 Toll T4"):
        assert name in names
    assert "M42 J7 / M6 J4" in names  # one HATRIS cluster, two motorways


def test_junction_names_from_raw_hatris_lists():
    assert road_names.junction_label(["M42 J7", "M6 J4"], ["A446", "M42", "M6"]) == \
        ("M42 J7 / M6 J4", False)
    assert road_names.junction_label(["M6 Toll T7", "M6TollT7"], ["A5", "M6"])[0] == "M6 Toll T7"
    assert road_names.junction_label(["A428", "A428-E", "A428-W", "A5", "M1 J18"],
                                 ["A5", "M1"])[0] == "M1 J18"
    assert road_names.junction_label(["A4177"], ["A46"])[0] == "A46 / A4177"
    assert road_names.junction_label(["CntyBorder"], ["A40"]) == ("A40 county boundary", True)
    assert road_names.parse_list("['M42 J7' 'M6 J4']") == ["M42 J7", "M6 J4"]
    assert road_names.parse_list("M42 J7; M6 J4") == ["M42 J7", "M6 J4"]


def test_find_junction_accepts_parts_aliases_and_spellings(srn):
    cluster = find_junction(srn, "M42 J7 / M6 J4")
    assert find_junction(srn, "M42 J7") == cluster
    assert find_junction(srn, "m6 junction 4") == cluster
    tollbar = find_junction(srn, "A46 Tollbar End")
    assert srn.nodes[tollbar[0]]["name"].startswith("A45 / A46")
    assert srn.nodes[tollbar[0]]["alias"] == "Tollbar End"
    with pytest.raises(ParameterError, match="did you mean"):
        find_junction(srn, "M6 J2Z")


def test_same_named_junctions_get_a_compass_word(srn):
    names = set(junctions_frame(srn)["name"])
    assert {"A46 / A44 (east)", "A46 / A44 (west)"} <= names
    assert "A46 / A44" not in names


# ---------------------------------------------------------------------------- topology

def test_route_m6_j2_to_m40_j15_takes_a_plausible_time(srn):
    a = find_junction(srn, "M6 J2")[0]
    b = find_junction(srn, "M40 J15")[0]
    path = nx.shortest_path(srn, a, b, weight="travel_time")
    seconds = nx.path_weight(srn, path, "travel_time")
    metres = nx.path_weight(srn, path, "length")
    straight = math.dist((srn.nodes[a]["x"], srn.nodes[a]["y"]),
                         (srn.nodes[b]["x"], srn.nodes[b]["y"]))
    # ~21 km apart; by the A46 about 26 km at trunk speed: ~20 minutes
    assert 1.0 <= metres / straight <= 1.6
    assert metres / (SPEEDS_KPH["motorway"] / 3.6) <= seconds <= metres / (
        SPEEDS_KPH["link"] / 3.6)
    assert 12 * 60 < seconds < 35 * 60
    assert "A46 / A4177" in [srn.nodes[n]["name"] for n in path]


def test_graph_is_osmnx_compatible(srn):
    assert srn.graph["crs"] == "EPSG:27700"
    nodes, edges = ox.graph_to_gdfs(srn)
    assert {"x", "y", "name", "kind", "roads"} <= set(nodes.columns)
    assert {"ref", "road_class", "length", "speed_kph", "travel_time", "geometry",
            "geometry_source"} <= set(edges.columns)
    route = ox.routing.shortest_path(srn, find_junction(srn, "M6 J3")[0],
                                     find_junction(srn, "M6 J1")[0], weight="travel_time")
    assert route and len(route) > 2


def test_edges_carry_consistent_lengths_speeds_and_times(srn):
    for _u, _v, d in srn.edges(data=True):
        assert d["road_class"] in SPEEDS_KPH
        assert d["speed_kph"] == SPEEDS_KPH[d["road_class"]]
        assert d["length"] == pytest.approx(d["geometry"].length, rel=1e-9)
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))


def test_motorways_surveyed_trunk_roads_approximate(settings, srn):
    county = area_geometry(None, settings)
    srcs = {(d["road_class"], d["geometry_source"]) for *_, d in srn.edges(data=True)}
    assert ("trunk", "surveyed") not in srcs
    assert {("motorway", "surveyed"), ("trunk", "approximate"), ("link", "connector")} <= srcs
    # a motorway falls back to a derived line only beyond the OS OpenRoads extract
    for _u, _v, d in srn.edges(data=True):
        if d["road_class"] == "motorway" and d["geometry_source"] != "surveyed":
            assert not d["geometry"].intersects(county), d["ref"]
    km = graph_summary(srn)["road_km"]
    assert km["surveyed"] > 400 and km["approximate"] > 200


def test_trunk_alignment_passes_through_counter_sites(srn):
    sites = gpd.read_parquet(load_settings().data_dir / "roads" / "webtris_sites.parquet")
    a46 = sites[(sites["road_parsed"] == "A46") & (sites["carriagewayType"] == "mainCarriageway")]
    lines = [d["geometry"] for *_, d in srn.edges(data=True)
             if d["ref"] == "A46" and d["geometry_source"] == "approximate"]
    near = shapely.distance(shapely.union_all(lines), a46.geometry.to_numpy())
    # opposite-carriageway sites are merged to their mean, so within tens of metres
    assert np.median(near) < 30


def test_services_join_the_road_by_a_short_link(srn):
    services = [(n, d) for n, d in srn.nodes(data=True) if d["kind"] == "services"]
    names = {d["name"] for _, d in services}
    assert {"Corley Services Northbound", "Corley Services Southbound"} <= names
    for n, _d in services:
        out = list(srn.out_edges(n, data=True))
        assert out and all(e[2]["road_class"] == "link" and e[2]["length"] < 1000 for e in out)
    corley = next(n for n, d in services if d["name"] == "Corley Services Northbound")
    assert srn.nodes[corley]["roads"] == "M6"


def test_every_hatris_link_is_routed_along_its_own_road(srn):
    hatris = gpd.read_parquet(load_settings().data_dir / "roads" / "srn_links.parquet")
    want = {(min(a, b), max(a, b), srn_graph._link_ref(d, r)) for a, b, d, r in zip(
        hatris["StartCluster"], hatris["EndCluster"], hatris["LinkDescription"],
        hatris["road"], strict=True) if a != b}
    links = srn.graph["links"]
    # e.g. the A5 and the M6 Toll both join M6 Toll T4 and T5: two links, not one
    assert {(lk["a"], lk["b"], lk["ref"]) for lk in links} == want
    for lk in links:
        refs = {srn.edges[e]["ref"] for e in lk["edges"]}
        assert lk["ref"] in refs


def test_area_clip_keeps_only_roads_touching_it(settings):
    area = area_geometry("Stratford-on-Avon", settings)
    G = build_srn_graph(settings, area="Stratford-on-Avon", cache=False)
    refs = {d["ref"] for *_, d in G.edges(data=True)}
    assert {"M40", "A46"} <= refs and "M69" not in refs
    assert all(d["geometry"].intersects(area) for *_, d in G.edges(data=True))


# ---------------------------------------------------------------------------- cache

def _copy_roads(tmp_path: Path) -> Path:
    src = load_settings().data_dir / "roads"
    shutil.copytree(src, tmp_path / "roads")
    return tmp_path


def test_cache_is_reused_and_keyed_by_file_bytes(tmp_path, monkeypatch):
    settings = load_settings().with_(data_dir=_copy_roads(tmp_path))
    G1 = build_srn_graph(settings)
    cached = list((tmp_path / "cache").glob("srn-graph-*.pickle"))
    assert len(cached) == 1

    def boom(*_a, **_k):
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(srn_graph, "_build_from_layers", boom)
    G2 = build_srn_graph(settings)
    assert graph_summary(G2) == graph_summary(G1)
    # different bytes in an input file: a different cache entry, so a rebuild
    monkeypatch.undo()
    svc = tmp_path / "roads" / "osm_services.parquet"
    gdf = gpd.read_parquet(svc)
    gdf.iloc[:-1].to_parquet(svc)
    build_srn_graph(settings)
    assert len(list((tmp_path / "cache").glob("srn-graph-*.pickle"))) == 2


def test_damaged_cache_is_rebuilt(tmp_path):
    settings = load_settings().with_(data_dir=_copy_roads(tmp_path))
    build_srn_graph(settings)
    (cache,) = (tmp_path / "cache").glob("srn-graph-*.pickle")
    cache.write_bytes(b"not a pickle")
    G = build_srn_graph(settings)
    assert G.number_of_edges() > 1000


# ---------------------------------------------------------------------------- bad inputs

def test_area_with_no_srn(settings):
    with pytest.raises(NoDataError, match="no Strategic Road Network road"):
        build_srn_graph(settings, area=box(300_000, 800_000, 301_000, 801_000), cache=False)


def test_missing_road_data(tmp_path):
    settings = load_settings().with_(data_dir=tmp_path)
    with pytest.raises(InputError, match="road data file not found"):
        build_srn_graph(settings)


def test_unknown_area_name(settings):
    with pytest.raises(NoDataError, match="unknown area"):
        build_srn_graph(settings, area="Atlantis", cache=False)


def test_edge_table_folds_both_directions(srn):
    et = edge_table(srn)
    assert len(et) < srn.number_of_edges() / 1.8
    both = et[et["tt_bwd"].notna()]
    assert len(both) > 0.9 * len(et)
    np.testing.assert_allclose(both["tt_fwd"], both["tt_bwd"])
    assert "connector" not in set(et["geometry_source"])
    assert set(edge_table(srn, include_connectors=True)["geometry_source"]) == {
        "surveyed", "approximate", "connector"}
