"""SRN graph: junction names, routing, geometry sources, OSM extracts, bad inputs, drive times."""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely
from shapely.geometry import box
from support import hand_graph

from hotspots.config import load_settings
from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.spatial import roads
from hotspots.spatial.boundaries import area_geometry
from hotspots.spatial.roads import (
    SPEEDS_KPH,
    build_srn_graph,
    download_srn_graph,
    drive_times,
    edge_table,
    find_junction,
    graph_from_osm,
    graph_summary,
    junctions_frame,
)

FIXTURE = Path(__file__).parent / "fixtures" / "srn_small.osm"


@pytest.fixture(scope="module")
def srn():
    return build_srn_graph(cache=False)


@pytest.fixture(scope="module")
def osm_graph():
    return graph_from_osm(FIXTURE)


# ---------------------------------------------------------------------------- junction names

def test_motorway_junctions_are_named_like_officers_say_them(srn):
    names = set(junctions_frame(srn)["name"])
    for name in ("M6 J2", "M40 J15", "M42 J6", "M69 J1", "M45 J1", "M6 Toll T4"):
        assert name in names
    assert "M42 J7 / M6 J4" in names  # one HATRIS cluster, two motorways


def test_junction_names_from_raw_hatris_lists():
    assert roads._junction_label(["M42 J7", "M6 J4"], ["A446", "M42", "M6"]) == \
        ("M42 J7 / M6 J4", False)
    assert roads._junction_label(["M6 Toll T7", "M6TollT7"], ["A5", "M6"])[0] == "M6 Toll T7"
    assert roads._junction_label(["A428", "A428-E", "A428-W", "A5", "M1 J18"],
                                 ["A5", "M1"])[0] == "M1 J18"
    assert roads._junction_label(["A4177"], ["A46"])[0] == "A46 / A4177"
    assert roads._junction_label(["CntyBorder"], ["A40"]) == ("A40 county boundary", True)
    assert roads._parse_list("['M42 J7' 'M6 J4']") == ["M42 J7", "M6 J4"]
    assert roads._parse_list("M42 J7; M6 J4") == ["M42 J7", "M6 J4"]


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


def test_motorways_surveyed_trunk_roads_approximate(srn):
    county = area_geometry(None)
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
    want = {(min(a, b), max(a, b), roads._link_ref(d, r)) for a, b, d, r in zip(
        hatris["StartCluster"], hatris["EndCluster"], hatris["LinkDescription"],
        hatris["road"], strict=True) if a != b}
    links = srn.graph["links"]
    # e.g. the A5 and the M6 Toll both join M6 Toll T4 and T5: two links, not one
    assert {(lk["a"], lk["b"], lk["ref"]) for lk in links} == want
    for lk in links:
        refs = {srn.edges[e]["ref"] for e in lk["edges"]}
        assert lk["ref"] in refs


def test_area_clip_keeps_only_roads_touching_it():
    area = area_geometry("Stratford-on-Avon")
    G = build_srn_graph(area="Stratford-on-Avon", cache=False)
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

    monkeypatch.setattr(roads, "_build_from_layers", boom)
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


# ---------------------------------------------------------------------------- OSM extracts

def test_osm_junction_refs_become_officer_names(osm_graph):
    assert osm_graph.graph["crs"] == "EPSG:27700"
    j2 = find_junction(osm_graph, "M6 J2")
    assert len(j2) == 2  # one motorway_junction node per carriageway, merged as one junction
    assert find_junction(osm_graph, "Walsgrave") == j2  # the node's name tag is the alias
    assert find_junction(osm_graph, "M6 J3")
    jf = junctions_frame(osm_graph)
    assert list(jf["name"]) == ["M6 J2", "M6 J3"]


def test_osm_graph_is_projected_to_bng(osm_graph):
    xs = [d["x"] for _, d in osm_graph.nodes(data=True)]
    ys = [d["y"] for _, d in osm_graph.nodes(data=True)]
    # the fixture's M6 J2 diverge node was written at BNG 437800, 281850
    j2 = next(d for n, d in osm_graph.nodes(data=True) if n == 2)
    assert j2["x"] == pytest.approx(437_800, abs=1) and j2["y"] == pytest.approx(281_850, abs=1)
    assert 430_000 < min(xs) and max(xs) < 445_000 and 275_000 < min(ys) and max(ys) < 290_000


def test_osm_keeps_srn_classes_and_drops_local_roads(osm_graph):
    classes = {(d["ref"], d["road_class"]) for *_, d in osm_graph.edges(data=True)}
    assert {("M6", "motorway"), ("M6", "link"), ("A46", "trunk")} <= classes
    assert not any(d.get("name") == "Ansty Road" for *_, d in osm_graph.edges(data=True))
    sources = {d["geometry_source"] for *_, d in osm_graph.edges(data=True)}
    assert sources == {"osm", "connector"}
    # oneway motorway carriageways stay one-directional
    m6 = [(u, v) for u, v, d in osm_graph.edges(data=True) if d["road_class"] == "motorway"]
    assert all((v, u) not in m6 for u, v in m6)


def test_osm_services_points_and_areas_become_nodes(osm_graph):
    svc = {d["name"]: (n, d) for n, d in osm_graph.nodes(data=True) if d["kind"] == "services"}
    assert set(svc) == {"Corley Services", "Walsgrave Services"}
    assert svc["Corley Services"][1]["roads"] == "M6"
    assert svc["Walsgrave Services"][1]["roads"] == "A46"
    n = svc["Corley Services"][0]
    assert all(d["road_class"] == "link" for *_, d in osm_graph.out_edges(n, data=True))


def test_osm_area_clip_and_area_without_srn(osm_graph):
    with pytest.raises(NoDataError, match="no Strategic Road Network road"):
        graph_from_osm(FIXTURE, area=box(300_000, 500_000, 301_000, 501_000))
    G = graph_from_osm(FIXTURE, area=box(438_500, 283_000, 439_500, 286_000))
    assert {d["ref"] for *_, d in G.edges(data=True)} == {"A46"}


def test_osm_file_without_motorway_or_trunk(tmp_path):
    f = tmp_path / "local.osm"
    f.write_text('<?xml version="1.0"?><osm version="0.6">'
                 '<node id="1" lat="52.43" lon="-1.47"/><node id="2" lat="52.44" lon="-1.46"/>'
                 '<way id="9"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/>'
                 '</way></osm>')
    with pytest.raises(NoDataError, match="no motorway or trunk roads"):
        graph_from_osm(f)


def test_truncated_osm_file(tmp_path):
    f = tmp_path / "cut.osm"
    data = FIXTURE.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="corrupt or truncated") as exc:
        graph_from_osm(f)
    assert "\n" not in str(exc.value)


def test_missing_and_wrong_kind_of_osm_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        graph_from_osm(tmp_path / "nothing.osm")
    other = tmp_path / "roads.geojson"
    other.write_text("{}")
    with pytest.raises(InputError, match="expected .osm"):
        graph_from_osm(other)
    html = tmp_path / "page.osm"
    html.write_text("<html><body>not osm</body></html>")
    with pytest.raises(InputError, match="not an OpenStreetMap XML"):
        graph_from_osm(html)


def test_pbf_without_osmium_says_what_to_install(tmp_path, monkeypatch):
    f = tmp_path / "extract.osm.pbf"
    f.write_bytes(b"\x00\x00\x00\x0dOSMHeader")
    monkeypatch.setitem(sys.modules, "osmium", None)  # import osmium -> ImportError
    with pytest.raises(InputError, match="optional package osmium"):
        graph_from_osm(f)


def test_pbf_extract_matches_the_xml_one(tmp_path, osm_graph):
    osmium = pytest.importorskip("osmium")
    pbf = tmp_path / "srn_small.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))

    class Copy(osmium.SimpleHandler):
        def node(self, n):
            writer.add_node(n)

        def way(self, w):
            writer.add_way(w)

    Copy().apply_file(str(FIXTURE))
    writer.close()
    G = graph_from_osm(pbf)
    assert graph_summary(G) == graph_summary(osm_graph)
    assert find_junction(G, "M6 J2") == find_junction(osm_graph, "M6 J2")


def test_download_is_off_unless_asked_for():
    with pytest.raises(ParameterError, match="allow_download=True"):
        download_srn_graph()


# ---------------------------------------------------------------------------- bad inputs

def test_area_with_no_srn():
    with pytest.raises(NoDataError, match="no Strategic Road Network road"):
        build_srn_graph(area=box(300_000, 800_000, 301_000, 801_000), cache=False)


def test_missing_road_data(tmp_path):
    settings = load_settings().with_(data_dir=tmp_path)
    with pytest.raises(InputError, match="road data file not found"):
        build_srn_graph(settings)


def test_unknown_area_name():
    with pytest.raises(NoDataError, match="unknown area"):
        build_srn_graph(area="Atlantis", cache=False)


# ---------------------------------------------------------------------------- drive times

def test_motorway_is_left_only_at_junctions():
    G = hand_graph([[(0, 0), (10_000, 0)]], names={(0, 0): "M1 J1", (10_000, 0): "M1 J2"})
    v = 40 / 3.6
    dt = drive_times(G, "M1 J1", [10_000, 5_000], [1_000, 100])
    assert dt.method == "network+circuity"
    # beside J2: 10 km at 100 km/h, then 1 km x 1.3 at 40 km/h
    assert dt.seconds[0] == pytest.approx(360 + 1000 * 1.3 / v)
    assert dt.exit_name[0] == "M1 J2"
    # half-way: no exit there, so back from J1 itself
    assert dt.seconds[1] == pytest.approx(math.hypot(5000, 100) * 1.3 / v)
    assert dt.network_s[1] == 0 and dt.exit_name[1] == "M1 J1"


def test_trunk_road_can_be_left_along_its_length():
    G = hand_graph([[(0, 0), (10_000, 0)]], road_class="trunk", ref="A46",
                   names={(0, 0): "A46 / A1", (10_000, 0): "A46 / A2"})
    dt = drive_times(G, "A46 / A1", [5_000], [100], circuity=1.2, local_speed_kph=30)
    assert dt.seconds[0] == pytest.approx(5000 / (80 / 3.6) + 100 * 1.2 / (30 / 3.6))
    assert dt.exit_name[0] == "A46 roadside"


def test_local_graph_routes_the_last_leg():
    G = hand_graph([[(0, 0), (10_000, 0)]], names={(0, 0): "M1 J1", (10_000, 0): "M1 J2"})
    local = hand_graph([[(10_000, 0), (10_000, 2_000)], [(10_000, 2_000), (12_000, 2_000)]],
                       road_class="link", ref="B4000")
    dt = drive_times(G, ["M1 J1"], [12_000], [2_050], local_graph=local)
    assert dt.method == "network+local-graph"
    # 360 s on the M1, 4 km of local road at 50 km/h (its own travel_time), 50 m step at 40
    assert dt.seconds[0] == pytest.approx(360 + 4000 / (50 / 3.6) + 50 / (40 / 3.6))
    assert dt.access_m[0] == pytest.approx(4050)
    assert dt.exit_name[0] == "M1 J2"


def test_drive_times_on_the_shipped_graph(srn):
    j15 = srn.nodes[find_junction(srn, "M40 J15")[0]]
    dt = drive_times(srn, "M6 J2", [j15["x"] + 300, np.nan], [j15["y"], np.nan])
    assert 12 * 60 < dt.seconds[0] < 35 * 60
    assert np.isnan(dt.seconds[1])
    frame = dt.to_frame()
    assert list(frame.columns) == ["seconds", "minutes", "network_s", "access_s", "access_m",
                                   "exit"]


def test_drive_time_parameters_are_checked(srn):
    with pytest.raises(ParameterError, match="circuity"):
        drive_times(srn, "M6 J2", [0], [0], circuity=0.5)
    with pytest.raises(ParameterError, match="no junction named"):
        drive_times(srn, "M99 J1", [0], [0])
    with pytest.raises(ParameterError, match="differ in length"):
        drive_times(srn, "M6 J2", [0, 1], [0])


def test_edge_table_folds_both_directions(srn):
    et = edge_table(srn)
    assert len(et) < srn.number_of_edges() / 1.8
    both = et[et["tt_bwd"].notna()]
    assert len(both) > 0.9 * len(et)
    np.testing.assert_allclose(both["tt_fwd"], both["tt_bwd"])
    assert "connector" not in set(et["geometry_source"])
    assert set(edge_table(srn, include_connectors=True)["geometry_source"]) == {
        "surveyed", "approximate", "connector"}
