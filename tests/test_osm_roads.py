"""SRN graphs from OpenStreetMap: .osm / .osm.pbf extracts, junction names, bad files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from shapely.geometry import box

from hotspots.config import load_settings
from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.spatial.osm_roads import download_srn_graph, graph_from_osm
from hotspots.spatial.road_names import find_junction, junctions_frame
from hotspots.spatial.srn_graph import graph_summary

FIXTURE = Path(__file__).parent / "fixtures" / "srn_small.osm"


@pytest.fixture(scope="module")
def osm_graph(data_dir):
    return graph_from_osm(FIXTURE, settings=load_settings(env={}).with_(data_dir=data_dir))


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


def test_osm_area_clip_and_area_without_srn(settings, osm_graph):
    with pytest.raises(NoDataError, match="no Strategic Road Network road"):
        graph_from_osm(FIXTURE, area=box(300_000, 500_000, 301_000, 501_000), settings=settings)
    G = graph_from_osm(FIXTURE, area=box(438_500, 283_000, 439_500, 286_000), settings=settings)
    assert {d["ref"] for *_, d in G.edges(data=True)} == {"A46"}


def test_osm_file_without_motorway_or_trunk(settings, tmp_path):
    f = tmp_path / "local.osm"
    f.write_text('<?xml version="1.0"?><osm version="0.6">'
                 '<node id="1" lat="52.43" lon="-1.47"/><node id="2" lat="52.44" lon="-1.46"/>'
                 '<way id="9"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/>'
                 '</way></osm>')
    with pytest.raises(NoDataError, match="no motorway or trunk roads"):
        graph_from_osm(f, settings=settings)


def test_truncated_osm_file(settings, tmp_path):
    f = tmp_path / "cut.osm"
    data = FIXTURE.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="corrupt or truncated") as exc:
        graph_from_osm(f, settings=settings)
    assert "\n" not in str(exc.value)


def test_missing_and_wrong_kind_of_osm_file(settings, tmp_path):
    with pytest.raises(InputError, match="not found"):
        graph_from_osm(tmp_path / "nothing.osm", settings=settings)
    other = tmp_path / "roads.geojson"
    other.write_text("{}")
    with pytest.raises(InputError, match="expected .osm"):
        graph_from_osm(other, settings=settings)
    html = tmp_path / "page.osm"
    html.write_text("<html><body>not osm</body></html>")
    with pytest.raises(InputError, match="not an OpenStreetMap XML"):
        graph_from_osm(html, settings=settings)


def test_pbf_without_osmium_says_what_to_install(settings, tmp_path, monkeypatch):
    f = tmp_path / "extract.osm.pbf"
    f.write_bytes(b"\x00\x00\x00\x0dOSMHeader")
    monkeypatch.setitem(sys.modules, "osmium", None)  # import osmium -> ImportError
    with pytest.raises(InputError, match="optional package osmium"):
        graph_from_osm(f, settings=settings)


def test_pbf_extract_matches_the_xml_one(settings, tmp_path, osm_graph):
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
    G = graph_from_osm(pbf, settings=settings)
    assert graph_summary(G) == graph_summary(osm_graph)
    assert find_junction(G, "M6 J2") == find_junction(osm_graph, "M6 J2")


def test_download_is_off_unless_asked_for(settings):
    with pytest.raises(ParameterError, match="allow_download=True"):
        download_srn_graph(settings=settings)
