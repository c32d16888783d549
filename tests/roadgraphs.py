"""Tiny hand-built SRN graphs with known geometry, shared by the road and corridor tests."""

from __future__ import annotations

import geopandas as gpd
import osmnx as ox
from shapely.geometry import LineString

from hotspots.spatial.road_lines import SPEEDS_KPH


def hand_graph(lines, *, road_class="motorway", ref="M1", names=None):
    """Tiny osmnx graph from coordinate lists (both directions); ``names`` maps a node
    coordinate to a junction name."""
    names = names or {}
    nodes, ids = {}, {}
    rows = []
    for coords in lines:
        ends = []
        for xy in (coords[0], coords[-1]):
            if xy not in ids:
                ids[xy] = len(ids) + 1
                nodes[ids[xy]] = {"x": float(xy[0]), "y": float(xy[1]),
                                  "name": names.get(xy, ""),
                                  "kind": "junction" if xy in names else "via",
                                  "roads": ref, "alias": ""}
            ends.append(ids[xy])
        g = LineString(coords)
        speed = SPEEDS_KPH[road_class]
        for u, v, geom in ((ends[0], ends[1], g), (ends[1], ends[0], g.reverse())):
            rows.append({"u": u, "v": v, "key": 0, "ref": ref, "road_class": road_class,
                         "length": g.length, "speed_kph": speed,
                         "travel_time": g.length / (speed / 3.6), "geometry": geom,
                         "geometry_source": "surveyed"})
    e = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700").set_index(
        ["u", "v", "key"])
    n = gpd.GeoDataFrame.from_dict(nodes, orient="index")
    n.index.name = "osmid"
    n = gpd.GeoDataFrame(n, geometry=gpd.points_from_xy(n["x"], n["y"]), crs="EPSG:27700")
    return ox.graph_from_gdfs(n, e, graph_attrs={"crs": "EPSG:27700"})
