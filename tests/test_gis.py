"""GeoJSON (RFC 7946) and GeoPackage exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, Polygon

from hotspots.errors import ParameterError
from hotspots.gis import to_geojson, write_geopackage

CREATED = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# GeoJSON and GeoPackage
# --------------------------------------------------------------------------------------------


@pytest.fixture
def polygons() -> gpd.GeoDataFrame:
    # Exterior given clockwise on purpose: RFC 7946 output must be counter-clockwise.
    cw = Polygon([(440000, 270000), (440000, 271000), (441000, 271000), (441000, 270000)])
    hole = Polygon([(445000, 272000), (445000, 274000), (447000, 274000), (447000, 272000)],
                   [[(445500, 272500), (446500, 272500), (446500, 273500), (445500, 273500)]])
    gdf = gpd.GeoDataFrame({
        "rank": [1, 2], "incidents": [12, 7], "share": [0.6, float("nan")],
        "previous": pd.array([5, pd.NA], dtype="Int64"),
        "top_locations": [["On or near A (3)", "On or near B (2)"], []],
        "note": ["=HYPERLINK(\"x\")", "plain"],
    }, geometry=[cw, hole], crs=27700)
    gdf.attrs["method"] = {"top": 0.05, "kernel": "quartic"}
    return gdf


def ring_area(coords) -> float:
    xy = np.asarray(coords)
    return 0.5 * float(np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]))


def test_geojson_is_an_rfc7946_feature_collection_in_wgs84(polygons):
    doc = json.loads(to_geojson(polygons))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    assert len(doc["features"]) == 2
    for feat in doc["features"]:
        assert feat["type"] == "Feature" and feat["geometry"]["type"] == "Polygon"
        rings = feat["geometry"]["coordinates"]
        for ring in rings:
            xy = np.asarray(ring)
            assert np.all((-180 <= xy[:, 0]) & (xy[:, 0] <= 180))
            assert np.all((-90 <= xy[:, 1]) & (xy[:, 1] <= 90))
            # Warwickshire: about 1.5 degrees west, 52.3 north.
            assert np.all((-2.0 < xy[:, 0]) & (xy[:, 0] < -1.0))
            assert np.all((52.0 < xy[:, 1]) & (xy[:, 1] < 52.7))
        assert ring_area(rings[0]) > 0  # exterior counter-clockwise
        for hole in rings[1:]:
            assert ring_area(hole) < 0  # holes clockwise
    lon0, lat0, lon1, lat1 = doc["bbox"]
    assert lon0 < lon1 and lat0 < lat1
    props = doc["features"][1]["properties"]
    assert props["share"] is None and props["previous"] is None and props["top_locations"] == []
    assert doc["features"][0]["properties"]["previous"] == 5
    assert doc["metadata"] == {"top": 0.05, "kernel": "quartic"}


def test_geojson_round_trips_through_geopandas_and_leaves_the_input_alone(polygons, tmp_path):
    before = polygons.copy()
    path = tmp_path / "h.geojson"
    path.write_text(to_geojson(polygons), encoding="utf-8")
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == 4326 and len(back) == 2
    area = back.to_crs(27700).geometry.area.to_numpy()
    np.testing.assert_allclose(area, polygons.geometry.area.to_numpy(), rtol=1e-4)
    assert polygons.crs.to_epsg() == 27700
    assert polygons.geometry.equals(before.geometry)


def test_geojson_without_a_crs_is_refused(polygons):
    with pytest.raises(ParameterError, match="coordinate reference system"):
        to_geojson(polygons.set_crs(None, allow_override=True))
    with pytest.raises(ParameterError, match="GeoDataFrame"):
        to_geojson(pd.DataFrame({"a": [1]}))


def test_geopackage_holds_every_layer_in_british_national_grid(polygons, tmp_path):
    points = gpd.GeoDataFrame({"name": ["M6 J1"], "by_group": [{"acquisitive": 3}]},
                              geometry=[Point(-1.25, 52.4)], crs=4326)
    path = write_geopackage({"hotspots": polygons, "junctions": points}, tmp_path / "x.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {"hotspots", "junctions"}
    hs = gpd.read_file(path, layer="hotspots")
    assert hs.crs.to_epsg() == 27700 and len(hs) == 2
    assert hs.geometry.area.sum() == pytest.approx(polygons.geometry.area.sum())
    assert json.loads(hs["top_locations"].iloc[0]) == ["On or near A (3)", "On or near B (2)"]
    j = gpd.read_file(path, layer="junctions")
    assert j.crs.to_epsg() == 27700 and json.loads(j["by_group"].iloc[0]) == {"acquisitive": 3}
    assert 430000 < j.geometry.x.iloc[0] < 460000
    meta = pyogrio.read_info(path, layer="hotspots")["layer_metadata"]
    assert json.loads(meta["hotspots_method"]) == {"top": 0.05, "kernel": "quartic"}


def test_geopackage_is_replaced_whole_not_appended(polygons, tmp_path):
    path = tmp_path / "x.gpkg"
    write_geopackage({"old": polygons}, path)
    write_geopackage({"new": polygons.head(1)}, path)
    assert [n for n, _ in pyogrio.list_layers(path)] == ["new"]
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.parametrize("layers, fragment", [({}, "no layers"),
                                              ({"": None}, "non-empty"),
                                              ({"a": "not a frame"}, "GeoDataFrame")])
def test_bad_geopackage_layers_are_refused(tmp_path, layers, fragment):
    with pytest.raises(ParameterError, match=fragment):
        write_geopackage(layers, tmp_path / "x.gpkg")



def test_the_marking_is_in_the_geojson_and_every_geopackage_layer(polygons, tmp_path):
    doc = json.loads(to_geojson(polygons, marking="OFFICIAL-SENSITIVE"))
    assert list(doc)[:2] == ["type", "marking"] and doc["marking"] == "OFFICIAL-SENSITIVE"
    assert "marking" not in json.loads(to_geojson(polygons))
    path = write_geopackage({"a": polygons, "b": polygons}, tmp_path / "m.gpkg",
                            marking="OFFICIAL-SENSITIVE")
    for layer in ("a", "b"):
        info = pyogrio.read_info(path, layer=layer)
        assert info["layer_metadata"]["marking"] == "OFFICIAL-SENSITIVE"
