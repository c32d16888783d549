"""The street basemap: layer builders, label placement, chunks, the map page, the snapshot and
``hotspots basemap build`` on a written extract."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from PIL import Image
from shapely.geometry import LineString, Point, Polygon, box
from support import SHIPPED_DATA

from hotspots.cli import main
from hotspots.spatial.crs import BNG
from hotspots.street_labels import place_without_collision, road_labels
from hotspots.street_tiles import tile_set
from hotspots.streets import read_street_layers, road_layer, write_street_layers

# Rugby town centre, metres on the British National Grid.
X0, Y0 = 450_000.0, 275_000.0


def _roads() -> gpd.GeoDataFrame:
    wiggle = [(X0 + i * 10.0, Y0 + (0.4 if i % 2 else 0.0)) for i in range(51)]
    return gpd.GeoDataFrame({
        "name": ["Regent Street", "Regent Street", None, None, "Footpath 7", "Clifton Road"],
        "ref": [None, None, None, None, None, "B5414"],
        "class": ["minor", "minor", "service", "track", "path", "secondary"],
    }, geometry=[LineString(wiggle[:26]), LineString(wiggle[25:]),
                 LineString([(X0, Y0 + 50), (X0 + 100, Y0 + 50)]),
                 LineString([(X0, Y0 + 80), (X0 + 100, Y0 + 80)]),
                 LineString([(X0, Y0 + 90), (X0 + 100, Y0 + 90)]),
                 LineString([(X0, Y0 - 200), (X0, Y0 + 400)])], crs=BNG)


def test_road_layer_keeps_drawn_classes_joins_pieces_and_keeps_names():
    out = road_layer(_roads(), tolerance_m=2.0)
    assert set(out["class"]) == {"minor", "secondary"}  # service, track and path left out
    regent = out[out["name"] == "Regent Street"]
    assert len(regent) == 1  # the two touching pieces are one line
    line = regent.geometry.iloc[0]
    assert line.length == pytest.approx(500.0, abs=1.0)
    assert len(line.coords) == 2  # the 0.4 m wiggle is simplified away, the name stays
    assert out.loc[out["name"] == "Clifton Road", "ref"].iloc[0] == "B5414"
    assert out["class"].iloc[0] == "secondary"  # higher classes first


def test_road_labels_lie_along_the_road_and_repeat_on_long_roads():
    layer = road_layer(_roads())
    labels = road_labels(layer, spacing_m=200.0)
    clifton = labels[labels["text"] == "Clifton Road (B5414)"]
    assert len(clifton) == 3 * 3  # 600 m at 200 m spacing, each with two fall-backs
    assert sorted(clifton["y"].round(1))[:3] == [Y0 - 200 + 50, Y0 - 200 + 100, Y0 - 200 + 150]
    assert set(np.abs(clifton["angle"])) == {90.0}  # a north-south road reads vertically
    regent = labels[labels["text"] == "Regent Street"]
    assert regent["angle"].abs().max() < 1.0
    assert (labels["priority"][labels["kind"] == "secondary"].max()
            < labels["priority"][labels["kind"] == "minor"].min())


def test_label_placement_drops_names_over_a_kept_one_or_a_blocked_box():
    boxes = np.array([[0, 0, 10, 4], [5, 1, 15, 5], [20, 0, 30, 4], [40, 0, 50, 4]])
    keep = place_without_collision(boxes, [2.0, 1.0, 3.0, 4.0],
                                   blocked=np.array([[45, 1, 46, 2]]))
    # The second box goes first (priority 1.0), so the first, overlapping it, is dropped; the
    # last overlaps a hotspot rank.
    assert keep.tolist() == [False, True, True, False]


def _hand_made_data(tmp_path: Path, roads: gpd.GeoDataFrame) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for part in ("boundaries", "roads"):
        (data / part).symlink_to(SHIPPED_DATA / part)
    places = gpd.GeoDataFrame({"name": ["Testville"], "class": ["town"]},
                              geometry=[Point(X0 + 300, Y0 + 300)], crs=BNG)
    write_street_layers({"roads": road_layer(roads), "places": places}, data / "streets")
    return data


def test_chunks_hold_the_roads_and_their_names(settings, tmp_path):
    s = settings.with_(data_dir=_hand_made_data(tmp_path, _roads()))
    tiles = tile_set(read_street_layers(s), s)
    assert tiles.path.is_relative_to(tmp_path / "data" / "cache")
    streets = tiles.cells["streets"]
    assert streets
    chunks = [json.loads((tiles.path / "streets" / f"{c}.json").read_text()) for c in streets]
    assert any("minor" in c["lines"] for c in chunks)
    assert any(label[0] == "Regent Street" for c in chunks for label in c["labels"])
    assert not any("service" in c["lines"] for c in chunks)


def test_map_page_stays_under_budget_with_no_outside_url(shipped_settings):
    from hotspots.base_layers import load_base_layers
    from hotspots.leaflet import offline_html, remote_references
    from hotspots.maps import build_map
    from hotspots.spatial.boundaries import area_geometry

    s = shipped_settings.with_(basemap_url="/component/streets")
    page = offline_html(build_map(base=load_base_layers(s), view=area_geometry("force", s),
                                  settings=s))
    assert len(page.encode("utf-8")) < 1_500_000
    assert remote_references(page) == []
    assert "OpenStreetMap contributors" in page
    assert '"base": "/component/streets"' in page  # the detail is fetched, not embedded


def _png_has(png: bytes, rgb: tuple[int, int, int]) -> int:
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).astype(int)
    return int((np.abs(img - np.array(rgb)).sum(axis=1) <= 6).sum())


def test_snapshot_draws_the_streets_when_there_are_some(settings, tmp_path):
    from hotspots.snapshot import render_map_png

    road = gpd.GeoDataFrame({"name": ["Test Road"], "ref": ["A1"], "class": ["primary"]},
                            geometry=[LineString([(X0 - 900, Y0), (X0 + 900, Y0)])], crs=BNG)
    view = box(X0 - 1000, Y0 - 600, X0 + 1000, Y0 + 600)
    with_streets = settings.with_(data_dir=_hand_made_data(tmp_path, road))
    without = settings.with_(data_dir=tmp_path / "data_no_streets")
    without.data_dir.mkdir()
    for part in ("boundaries", "roads"):
        (without.data_dir / part).symlink_to(SHIPPED_DATA / part)
    primary = (0xF6, 0xDB, 0xA6)  # the primary road's fill
    drawn = render_map_png(area_geometry=view, title="t", settings=with_streets, size="hd")
    plain = render_map_png(area_geometry=view, title="t", settings=without, size="hd")
    assert _png_has(drawn, primary) > 500
    assert _png_has(plain, primary) == 0


def _write_extract(path: Path) -> None:
    import osmium

    with osmium.SimpleWriter(str(path)) as w:
        lon0, lat0 = -1.262, 52.371
        for i in range(6):
            w.add_node(osmium.osm.mutable.Node(id=i + 1, location=(lon0 + i * 0.001, lat0)))
        for i in range(6):
            w.add_node(osmium.osm.mutable.Node(id=i + 11,
                                               location=(lon0, lat0 + (i + 1) * 0.001)))
        w.add_node(osmium.osm.mutable.Node(id=100, location=(lon0 + 0.002, lat0 + 0.002),
                                           tags={"place": "town", "name": "Testville"}))
        w.add_way(osmium.osm.mutable.Way(id=1, nodes=[1, 2, 3, 4, 5, 6],
                                         tags={"highway": "residential",
                                               "name": "Regent Street"}))
        w.add_way(osmium.osm.mutable.Way(id=2, nodes=[11, 12, 13, 14, 15, 16],
                                         tags={"highway": "service"}))
        w.add_way(osmium.osm.mutable.Way(id=3, nodes=[1, 11, 12],
                                         tags={"highway": "primary", "ref": "A426",
                                               "name": "Dunchurch Road"}))


@pytest.mark.parametrize("suffix", [".osm.pbf", ".osm"])
def test_basemap_build_writes_the_layers_from_an_extract(tmp_path, suffix, capsys):
    extract = tmp_path / f"tiny{suffix}"
    _write_extract(extract)
    out = tmp_path / "streets"
    assert main(["basemap", "build", str(extract), "--out", str(out)]) == 0
    roads = gpd.read_parquet(out / "roads.parquet")
    assert sorted(zip(roads["name"], roads["class"], strict=True)) == [
        ("Dunchurch Road", "primary"), ("Regent Street", "minor")]  # the service road dropped
    assert roads.crs.to_epsg() == 27700
    assert roads.loc[roads["name"] == "Regent Street"].geometry.length.iloc[0] == \
        pytest.approx(5 * 0.001 * 111_320 * np.cos(np.radians(52.371)), rel=0.02)
    places = gpd.read_parquet(out / "places.parquet")
    assert places["name"].tolist() == ["Testville"]
    assert "street basemap written" in capsys.readouterr().out


def test_basemap_build_refuses_a_missing_or_bad_file_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not an extract")
    for path in (tmp_path / "missing.osm.pbf", bad):
        assert main(["basemap", "build", str(path), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("hotspots: error:") and "\n" not in err
        assert str(path) in err


def test_polygon_land_use_from_an_extract_is_kept(tmp_path):
    from hotspots.streets import landuse_layer

    lu = gpd.GeoDataFrame({"class": ["residential", "zoo"]},
                          geometry=[Polygon([(X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 100)]),
                                    box(X0, Y0, X0 + 50, Y0 + 50)], crs=BNG)
    assert landuse_layer(lu)["class"].tolist() == ["residential"]
