"""The SRN of any English force or region from HAPMS sections: hand-made sections into a graph
(snapped ends, T-joins, HATRIS junction names, slip-road ends, services, force labels), the
junction aliases from data, the Welsh forces' message, and the corridors/disrupt commands on
the Essex and West Mercia fixtures."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box
from support import REPO

from hotspots import cli
from hotspots.errors import NoDataError
from hotspots.ingest import ingest
from hotspots.models.candidates import candidate_sites
from hotspots.spatial.road_names import find_junction, junctions_frame
from hotspots.spatial.srn_graph import build_srn_graph, read_aliases
from hotspots.spatial.srn_national import forces_at, graph_from_sections

FIXTURES = REPO / "tests" / "fixtures" / "police_uk"
BNG = "EPSG:27700"


def _sections() -> gpd.GeoDataFrame:
    """An eastbound M9 carriageway in two sections whose ends miss by 2 m, an off-slip to a
    junction's local road, an on-slip that stops 8 m beside the main carriageway's middle,
    and a slip to a services area that stops 5 m beside the first section."""
    rows = [
        ("main", "M9 Eastbound. From MP 1/0 to J1 exit slip", [(500000, 200000),
                                                               (501800, 200000)]),
        ("main", "M9 Eastbound. J1 exit slip to MP 4/0", [(501802, 200001), (504000, 200000)]),
        ("slip", "M9 J1 Eastbound Exit Slip", [(501800, 200000), (502100, 200300)]),
        ("slip", "M9 J1 Eastbound Entry Slip", [(502300, 200300), (502600, 200008)]),
        ("slip", "M9 Foxglove Services Eastbound Exit Slip", [(500500, 200005),
                                                              (500700, 200200)]),
    ]
    return gpd.GeoDataFrame({
        "ref": "M9", "road_class": "motorway", "function": [r[0] for r in rows],
        "direction": "EB", "carriageway": "dual", "location": [r[1] for r in rows]},
        geometry=[LineString(r[2]) for r in rows], crs=BNG)


def _links() -> pd.DataFrame:
    """HATRIS: M9 J1 (in the area) to M9 J2 (40 km away), both directions."""
    j1, j2 = (502200.0, 200400.0), (540000.0, 200000.0)
    rows = []
    for (a, pa, na), (b, pb, nb), ref in (((1, j1, "M9 J1"), (2, j2, "M9 J2"), "ML1"),
                                          ((2, j2, "M9 J2"), (1, j1, "M9 J1"), "ML2")):
        rows.append({"LinkRef": ref, "LinkDescription": f"M9 between {na} and {nb} ({ref})",
                     "StartJunction": na, "EndJunction": nb, "road": "M9", "StartCluster": a,
                     "EndCluster": b, "StartClusterX": pa[0], "StartClusterY": pa[1],
                     "EndClusterX": pb[0], "EndClusterY": pb[1]})
    return pd.DataFrame(rows)


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": [7, 8], "description": ["M9/1000A", "M9/9000B"],
                             "road": "M9"},
                            geometry=[Point(503000, 200002), Point(560000, 200000)], crs=BNG)


def _graph(**kw) -> nx.MultiDiGraph:
    areas = gpd.GeoDataFrame({"slug": ["testshire"]},
                             geometry=[box(499000, 199000, 503000, 201000)], crs=BNG)
    return graph_from_sections(_sections(), _links(), _sites(),
                               box(499000, 199000, 505000, 201000), force_areas=areas, **kw)


def _node_at(G, x, y, tol=1.0):
    hits = [n for n, d in G.nodes(data=True) if abs(d["x"] - x) <= tol and abs(d["y"] - y) <= tol]
    assert len(hits) == 1, (x, y, hits)
    return hits[0]


def test_section_ends_within_a_few_metres_are_one_node_and_a_t_join_cuts_the_carriageway():
    G = _graph()
    start, end = _node_at(G, 500000, 200000), _node_at(G, 504000, 200000)
    path = nx.shortest_path(G, start, end, weight="length")
    # along the carriageway: the 2 m gap is closed, the on-slip's T-join cut the second section
    length = sum(min(d["length"] for d in G[u][v].values()) for u, v in zip(path[:-1], path[1:],
                                                                        strict=True))
    assert length == pytest.approx(4000, abs=5)
    entry = _node_at(G, 502300, 200300)
    assert nx.has_path(G, entry, end)
    assert {d["function"] for _, _, d in G.edges(data=True)} == {"main", "slip", "connector"}
    assert {d["geometry_source"] for _, _, d in G.edges(data=True)} == {"surveyed", "connector"}
    # sections keep HAPMS's description as their name, and their planning speed
    mains = [d for _, _, d in G.edges(data=True) if d["function"] == "main"]
    assert all(d["road_class"] == "motorway" and d["speed_kph"] == 100 for d in mains)


def test_hatris_junction_named_and_joined_to_its_loose_slip_ends():
    G = _graph()
    jf = junctions_frame(G)
    assert jf["name"].tolist() == ["M9 J1"]  # J2 is far outside the area
    (j,) = find_junction(G, "m9 junction 1")
    neighbours = {(round(G.nodes[n]["x"]), round(G.nodes[n]["y"])) for n in G.successors(j)}
    assert neighbours == {(502100, 200300), (502300, 200300)}
    assert all(d["geometry_source"] == "connector" for _, _, d in G.out_edges(j, data=True))


def test_slip_road_ends_are_disruption_candidates_named_after_their_junction():
    sites = candidate_sites(_graph(), kinds=("slip",))
    assert len(sites) == 2
    assert all(n.startswith("M9 J1 slip road end") for n in sites["name"])
    assert set(sites["roads"]) == {"M9"}


def test_services_come_from_the_hapms_slip_descriptions():
    G = _graph()
    services = junctions_frame(G, kinds=("services",))
    assert services["name"].tolist() == ["Foxglove Services"]
    (s,) = services["nodes"].iloc[0]
    assert nx.has_path(G, _node_at(G, 500000, 200000), s)


def test_nodes_carry_the_force_holding_them_and_webtris_sites_in_the_area_are_kept():
    G = _graph()
    force = {round(d["x"]): d["force"] for _, d in G.nodes(data=True)}
    assert force[500000] == "testshire" and force[504000] == ""
    assert [s["site_id"] for s in G.graph["webtris_sites"]] == [7]
    assert junctions_frame(G)["force"].tolist() == ["testshire"]


def test_junction_aliases_come_from_the_data_file(settings, tmp_path):
    G = _graph(aliases=[("Foxglove Cross", 502150.0, 200350.0), ("Far Away", 0.0, 0.0)])
    assert junctions_frame(G)["alias"].tolist() == ["Foxglove Cross"]
    assert find_junction(G, "M9 Foxglove Cross") == find_junction(G, "M9 J1")
    shipped = dict((n, (x, y)) for n, x, y in read_aliases(settings))
    assert "Tollbar End" in shipped
    assert read_aliases(settings.with_(data_dir=tmp_path)) == []


def test_forces_at_labels_points_by_the_area_holding_them():
    areas = gpd.GeoDataFrame({"slug": ["a", "b"]},
                             geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=BNG)
    assert forces_at([5, 15, 25], [5, 5, 5], areas).tolist() == ["a", "b", ""]


def test_a_welsh_force_is_told_to_use_an_openstreetmap_extract(settings, tmp_path, capsys):
    with pytest.raises(NoDataError, match=r"England only.*OpenStreetMap extract.*--roads"):
        build_srn_graph(settings, forces=["dyfed-powys"], cache=False)
    csv = tmp_path / "2025-01-dyfed-powys-street.csv"
    csv.write_text("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
                   "LSOA code,LSOA name,Crime type,Last outcome category,Context\n"
                   "abc1,2025-01,Dyfed-Powys Police,Dyfed-Powys Police,-4.3076,51.8576,"
                   "On or near King Street,,,Burglary,,\n", encoding="utf-8")
    store = tmp_path / "welsh"
    ingest([csv], store, settings=settings)
    assert cli.main(["corridors", "--store", str(store), "--force", "dyfed-powys", "--group",
                     "acquisitive", "--from", "2025-01", "--to", "2025-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "OpenStreetMap" in err and "Traceback" not in err


@pytest.fixture
def fixture_store(tmp_path, settings):
    store = tmp_path / "fixture-store"
    ingest(FIXTURES, store, settings=settings)
    return store


def _run_json(capsys, *argv: str) -> dict:
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


_NAMED = re.compile(r"^(A\d+\(M\)|[AM]\d+)( |$)")
_PERIOD = ("--group", "acquisitive", "--from", "2025-01", "--to", "2025-02")


def test_corridors_for_essex_lists_its_own_named_junctions(fixture_store, capsys):
    d = _run_json(capsys, "corridors", "--store", str(fixture_store), "--force", "essex",
                  *_PERIOD)
    assert d["srn"] == "hapms" and d["forces"] == ["essex"]
    names = [j["name"] for j in d["junctions"]]
    assert all(_NAMED.match(n) for n in names)
    assert {"M25 J28", "M11 J7"} <= set(names)
    essex = [j for j in d["junctions"] if j["force"] == "essex"]
    # the graph reaches 10 km past the border: junctions outside Essex are labelled so
    assert essex and len(essex) < len(names)


@pytest.fixture
def region(tmp_path, monkeypatch):
    config = tmp_path / "hotspots.toml"
    config.write_text('[regions]\nmine = ["essex", "west-mercia"]\n', encoding="utf-8")
    monkeypatch.setenv("HOTSPOTS_CONFIG", str(config))
    return "mine"


def test_a_region_of_two_forces_labels_junctions_and_sites_by_force(fixture_store, capsys,
                                                                    region):
    d = _run_json(capsys, "corridors", "--store", str(fixture_store), "--region", region,
                  *_PERIOD)
    assert {"essex", "west-mercia"} <= {j["force"] for j in d["junctions"]}
    for j in d["junctions"]:
        if j["incidents"]:
            assert set(j["by_force"]) <= {"essex", "west-mercia"}
    plan = _run_json(capsys, "disrupt", "--store", str(fixture_store), "--region", region,
                     *_PERIOD, "--k", "4", "--radius", "3000")
    assert plan["srn"] == "hapms" and len(plan["sites"]) == 4
    assert {s["force"] for s in plan["sites"]} <= {"essex", "west-mercia", ""}
    assert {s["force"] for s in plan["sites"]} & {"essex", "west-mercia"}
    assert cli.main(["disrupt", "--store", str(fixture_store), "--region", region, *_PERIOD,
                     "--k", "2", "--radius", "3000"]) == 0
    text = capsys.readouterr().out
    assert "(essex)" in text or "(west-mercia)" in text


def test_national_graph_is_cached_per_forces_and_buffer(settings):
    cache = settings.data_dir / "cache"
    before = set(cache.glob("srn-graph-*.pickle")) if cache.is_dir() else set()
    a = build_srn_graph(settings, forces=["essex"], buffer_m=0)
    after = set(cache.glob("srn-graph-*.pickle"))
    assert len(after - before) <= 1
    again = build_srn_graph(settings, forces=["essex"], buffer_m=0)
    assert again.number_of_edges() == a.number_of_edges()
    wider = build_srn_graph(settings, forces=["essex"], buffer_m=5000)
    assert wider.number_of_edges() > a.number_of_edges()
    assert a.graph["forces"] == ["essex"] and wider.graph["buffer_m"] == 5000


def test_lsoa_gistar_of_a_region_analyses_every_force_lsoas(fixture_store, capsys, region,
                                                             data_dir):
    d = _run_json(capsys, "gistar", "--store", str(fixture_store), "--region", region,
                  "--units", "lsoa", *_PERIOD)
    lsoas = gpd.read_parquet(data_dir / "boundaries" / "national" / "lsoa2021.parquet")
    both = lsoas["force_code"].isin(["E23000028", "E23000016"]).sum()  # Essex, West Mercia
    assert d["params"]["n_features"] == both
    essex = _run_json(capsys, "gistar", "--store", str(fixture_store), "--force", "essex",
                      "--units", "lsoa", *_PERIOD)
    assert essex["params"]["n_features"] == (lsoas["force_code"] == "E23000028").sum()


def test_auto_back_test_of_a_region_reads_every_force(fixture_store, settings, region,
                                                       monkeypatch):
    from hotspots import methods
    from hotspots.config import load_settings
    from hotspots.selection import Selection

    seen = {}

    def spy(*args, **kwargs):
        seen.update(kwargs)
        raise NoDataError("spied")

    monkeypatch.setattr(methods, "evaluate_store", spy)
    own = load_settings().with_(data_dir=settings.data_dir, store_dir=fixture_store)
    sel = Selection.build(own, region=region, start="2025-01", end="2025-02",
                          groups=["acquisitive"])
    assert methods.resolve_auto(sel).rule.startswith("auto: no back-test possible")
    assert seen["forces"] == ["essex", "west-mercia"]


def test_report_geojson_names_the_sources_it_holds(fixture_store, tmp_path, region):
    from hotspots.leaflet import ATTRIBUTION

    out = tmp_path / "report"
    assert cli.main(["report", "--store", str(fixture_store), "--region", region, *_PERIOD,
                     "--out", str(out)]) == 0
    hot = json.loads((out / "hotspots.geojson").read_text(encoding="utf-8"))["metadata"]
    assert ATTRIBUTION["ons_national"] in " ".join(hot["attribution"])
    sites = json.loads((out / "sites.geojson").read_text(encoding="utf-8"))["metadata"]
    assert ATTRIBUTION["hapms"] in " ".join(sites["attribution"])
