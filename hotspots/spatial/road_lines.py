"""Road pieces as line records: cut, assembled into an osmnx graph, read back as an edge table."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from hotspots.errors import NoDataError, ParameterError
from hotspots.spatial.crs import BNG, to_wgs84

__all__ = [
    "SPEEDS_KPH",
    "edge_table",
]

#: Congestion-free planning speeds (km/h) per road class. They are not legal limits or observed
#: speeds: 100 km/h (62 mph) is a typical free-flow motorway average, 80 km/h (50 mph) a trunk
#: A-road with roundabouts and at-grade junctions, 50 km/h (31 mph) a slip road or interchange
#: movement. Real journey times at peak hours are longer.
SPEEDS_KPH: dict[str, float] = {"motorway": 100.0, "trunk": 80.0, "link": 50.0}

# Cuts closer than this to a line end or to each other are merged (metres).
_CUT_TOL_M = 1.0

# Node coordinates are matched after rounding to this many decimals (0.1 m).
_KEY_DECIMALS = 1


@dataclass
class RoadLine:
    coords: np.ndarray  # (n, 2) BNG metres, n >= 2
    fwd: bool  # traversable first -> last vertex
    bwd: bool  # traversable last -> first vertex
    attrs: dict


def node_key(x: float, y: float) -> tuple[float, float]:
    return (round(float(x), _KEY_DECIMALS), round(float(y), _KEY_DECIMALS))


def _dedupe_coords(coords: np.ndarray) -> np.ndarray:
    keep = np.r_[True, np.any(np.abs(np.diff(coords, axis=0)) > 1e-9, axis=1)]
    return coords[keep]


def cut_line(coords: np.ndarray, positions: Sequence[float]) -> tuple[list[np.ndarray], np.ndarray]:
    """Cut a polyline at distances strictly inside it; return the pieces and the cut points."""
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    bounds = np.r_[0.0, np.asarray(positions, float), cum[-1]]
    px = np.interp(bounds, cum, coords[:, 0])
    py = np.interp(bounds, cum, coords[:, 1])
    px[0], py[0] = coords[0]
    px[-1], py[-1] = coords[-1]
    pieces = []
    for a in range(len(bounds) - 1):
        lo, hi = bounds[a], bounds[a + 1]
        inner = coords[(cum > lo) & (cum < hi)]
        piece = _dedupe_coords(np.vstack([[px[a], py[a]], inner, [px[a + 1], py[a + 1]]]))
        pieces.append(piece)
    return pieces, np.c_[px[1:-1], py[1:-1]]


def split_lines(lines: list[RoadLine], requests: list[tuple[int, float]]
                 ) -> tuple[list[RoadLine], list[tuple[float, float]]]:
    """Cut ``lines`` at (line index, distance along) requests.

    Returns the new line list and, per request, the coordinate of the vertex it became (a cut
    point, or the line end it was merged into).
    """
    by_line: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for r, (i, d) in enumerate(requests):
        by_line[i].append((r, d))
    where: list[tuple[float, float]] = [(math.nan, math.nan)] * len(requests)
    out: list[RoadLine] = []
    for i, line in enumerate(lines):
        if i not in by_line:
            out.append(line)
            continue
        length = float(np.hypot(*np.diff(line.coords, axis=0).T).sum())
        cuts: list[float] = []
        assign: dict[int, int | str] = {}
        for r, d in sorted(by_line[i], key=lambda t: t[1]):
            if d <= _CUT_TOL_M:
                assign[r] = "start"
            elif d >= length - _CUT_TOL_M:
                assign[r] = "end"
            elif cuts and d - cuts[-1] <= _CUT_TOL_M:
                assign[r] = len(cuts) - 1
            else:
                cuts.append(d)
                assign[r] = len(cuts) - 1
        pieces, points = cut_line(line.coords, cuts)
        for r, a in assign.items():
            p = line.coords[0] if a == "start" else line.coords[-1] if a == "end" else points[a]
            where[r] = (float(p[0]), float(p[1]))
        out.extend(RoadLine(p, line.fwd, line.bwd, dict(line.attrs)) for p in pieces if len(p) > 1)
    return out, where


def line_tree(lines: list[RoadLine]) -> tuple[shapely.STRtree, np.ndarray]:
    geoms = np.array([LineString(ln.coords) for ln in lines], dtype=object)
    return shapely.STRtree(geoms), geoms


def assemble_lines(lines: list[RoadLine], known: dict[tuple[float, float], dict], *,
              first_id: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Turn line records into osmnx node and edge GeoDataFrames.

    ``known`` maps a rounded coordinate to the attributes (including ``osmid``) of a node that
    must keep its id and name there; other line ends get fresh ids from ``first_id`` up.
    """
    ids: dict[tuple[float, float], int] = {}
    node_rows: dict[int, dict] = {}
    used = {int(a["osmid"]) for a in known.values()}
    next_id = first_id

    def node_at(x: float, y: float) -> int:
        nonlocal next_id
        k = node_key(x, y)
        if k in ids:
            return ids[k]
        if k in known:
            attrs = dict(known[k])
            nid = int(attrs.pop("osmid"))
        else:
            while next_id in used:
                next_id += 1
            nid = next_id
            used.add(nid)
            attrs = {"name": "", "kind": "via", "roads": "", "alias": ""}
        attrs.setdefault("x", float(x))
        attrs.setdefault("y", float(y))
        ids[k] = nid
        node_rows[nid] = attrs
        return nid

    edge_rows = []
    keys: dict[tuple[int, int], int] = defaultdict(int)
    for line in lines:
        u = node_at(*line.coords[0])
        v = node_at(*line.coords[-1])
        # Draw edges from the node positions so geometry and topology agree exactly.
        c = line.coords.copy()
        c[0] = (node_rows[u]["x"], node_rows[u]["y"])
        c[-1] = (node_rows[v]["x"], node_rows[v]["y"])
        geom = LineString(c)
        length = float(geom.length)
        if length <= 0:
            continue
        rc = line.attrs["road_class"]
        speed = float(line.attrs.get("speed_kph") or SPEEDS_KPH[rc])
        base = {**line.attrs, "length": length, "speed_kph": speed,
                "travel_time": length / (speed / 3.6), "oneway": not (line.fwd and line.bwd)}
        for a, b, g, ok, rev in ((u, v, geom, line.fwd, False),
                                 (v, u, geom.reverse(), line.bwd, True)):
            if not ok:
                continue
            k = keys[(a, b)]
            keys[(a, b)] += 1
            edge_rows.append({"u": a, "v": b, "key": k, **base, "reversed": rev, "geometry": g})
    if not edge_rows:
        raise NoDataError("no Strategic Road Network road left to build a graph from")
    edges = gpd.GeoDataFrame(edge_rows, geometry="geometry", crs=BNG).set_index(["u", "v", "key"])
    nodes = pd.DataFrame.from_dict(node_rows, orient="index")
    nodes.index.name = "osmid"
    lon, lat = to_wgs84(nodes["x"].to_numpy(), nodes["y"].to_numpy())
    nodes["lon"], nodes["lat"] = lon, lat
    nodes = gpd.GeoDataFrame(nodes, geometry=gpd.points_from_xy(nodes["x"], nodes["y"]), crs=BNG)
    # A via vertex that only one road piece touches is where the data stops (clipped extract,
    # slip road not in the data): call it an end, so nobody mistakes it for a junction.
    pairs = pd.DataFrame({"a": edges.index.get_level_values("u"),
                          "b": edges.index.get_level_values("v")})
    undirected = pd.concat([pairs.min(axis=1), pairs.max(axis=1)], axis=1).drop_duplicates()
    degree = pd.Series(np.r_[undirected[0], undirected[1]]).value_counts()
    dangling = nodes.index.isin(degree[degree == 1].index) & (nodes["kind"] == "via")
    nodes.loc[dangling, "kind"] = "end"
    return nodes, edges


def lines_to_graph(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, graph_attrs: dict
              ) -> nx.MultiDiGraph:
    import osmnx as ox  # imported late: osmnx is slow to import and only the build needs it

    return ox.graph_from_gdfs(nodes, edges, graph_attrs={"crs": BNG, **graph_attrs})


def check_graph(graph: nx.MultiDiGraph) -> None:
    if not isinstance(graph, nx.MultiDiGraph) or graph.number_of_edges() == 0:
        raise ParameterError("graph must be a non-empty networkx.MultiDiGraph "
                             "(from build_srn_graph or graph_from_osm)")
    crs = str(graph.graph.get("crs", ""))
    if crs.upper() not in ("EPSG:27700",) and "27700" not in crs:
        raise ParameterError(f"graph is in {crs or 'an unknown CRS'}; project it to EPSG:27700 "
                             "(osmnx.project_graph(G, to_crs='EPSG:27700'))")


def edge_table(graph: nx.MultiDiGraph, *, include_connectors: bool = False) -> gpd.GeoDataFrame:
    """One row per road piece, both directions folded together.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
    include_connectors : bool
        Also list the synthetic junction/services connector edges.

    Returns
    -------
    geopandas.GeoDataFrame
        ``u``, ``v``, ``key`` (of the first direction met), ``ref``, ``road_class``,
        ``geometry_source``, ``length``, ``tt_fwd``/``tt_bwd`` (seconds u->v / v->u, NaN when
        that direction is not in the graph), ``geometry`` (u -> v).
    """
    check_graph(graph)
    rows: dict[tuple, dict] = {}
    for u, v, k, d in graph.edges(keys=True, data=True):
        geom = d.get("geometry")
        if geom is None:
            geom = LineString([(graph.nodes[u]["x"], graph.nodes[u]["y"]),
                               (graph.nodes[v]["x"], graph.nodes[v]["y"])])
        src = d.get("geometry_source", "unknown")
        if src == "connector" and not include_connectors:
            continue
        length = float(d.get("length", geom.length))
        tt = float(d.get("travel_time", length / (SPEEDS_KPH.get(d.get("road_class"), 50) / 3.6)))
        key = (min(u, v), max(u, v), round(length, 1))
        if key in rows and u != v:
            r = rows[key]
            if r["u"] == v:
                r["tt_bwd"] = tt if math.isnan(r["tt_bwd"]) else min(r["tt_bwd"], tt)
                continue
        if key in rows:
            continue
        rows[key] = {"u": u, "v": v, "key": k, "ref": str(d.get("ref", "") or ""),
                     "road_class": str(d.get("road_class", "") or ""),
                     "geometry_source": src, "length": length, "tt_fwd": tt,
                     "tt_bwd": math.nan, "geometry": geom}
    if not rows:
        raise NoDataError("the graph has no road edges")
    return gpd.GeoDataFrame(list(rows.values()), geometry="geometry", crs=BNG)
