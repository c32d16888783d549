"""The drive-time model: SRN Dijkstra from the source, the exit, then the last leg off the SRN."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from hotspots.errors import ParameterError
from hotspots.spatial.crs import BNG
from hotspots.spatial.road_lines import SPEEDS_KPH, check_graph
from hotspots.spatial.road_names import find_junction

__all__ = [
    "DEFAULT_CIRCUITY",
    "DEFAULT_LOCAL_SPEED_KPH",
    "DriveTimes",
    "drive_times",
    "exit_table",
    "reach_points",
]

#: Network distance / straight-line distance assumed for the local leg from an SRN exit to an
#: off-network incident. Published UK and European circuity factors for road travel lie around
#: 1.2-1.4 (e.g. Ballou, Rahardja & Sakai 2002; Boscoe, Henry & Zdeb 2012); 1.3 is an
#: assumption in that range, not a measurement for any one force.
DEFAULT_CIRCUITY = 1.3

#: Average speed (km/h) assumed on local roads between an SRN exit and an incident.
DEFAULT_LOCAL_SPEED_KPH = 40.0

# Spacing of the sampled exits along trunk roads (at-grade access) in the drive-time model.
_TRUNK_EXIT_SPACING_M = 200.0


@dataclass(frozen=True)
class DriveTimes:
    """Estimated drive times from SRN source junctions to points, with how they were made.

    Attributes
    ----------
    seconds : numpy.ndarray
        Total estimate per point (NaN for NaN input, inf if no exit is reachable).
    network_s : numpy.ndarray
        Part driven on the SRN graph (sources -> exit), at :data:`SPEEDS_KPH`.
    access_s : numpy.ndarray
        Part off the SRN (exit -> point).
    access_m : numpy.ndarray
        Distance of the off-SRN part: straight line x circuity, or along ``local_graph`` plus
        the straight step from the nearest local node.
    exit_name : numpy.ndarray
        Where the SRN is left: a junction name, or ``"<ref> roadside"`` for a trunk road with
        at-grade access.
    method : str
        ``"network+circuity"`` or ``"network+local-graph"``.
    circuity, local_speed_kph : float
    sources : tuple
        Source node ids.
    """

    seconds: np.ndarray
    network_s: np.ndarray
    access_s: np.ndarray
    access_m: np.ndarray
    exit_name: np.ndarray
    method: str
    circuity: float
    local_speed_kph: float
    sources: tuple

    def to_frame(self) -> pd.DataFrame:
        """Per-point table: ``seconds``, ``minutes``, ``network_s``, ``access_s``, ``access_m``,
        ``exit``."""
        return pd.DataFrame({"seconds": self.seconds, "minutes": self.seconds / 60.0,
                             "network_s": self.network_s, "access_s": self.access_s,
                             "access_m": self.access_m, "exit": self.exit_name})


def exit_table(graph: nx.MultiDiGraph) -> pd.DataFrame:
    """Places a vehicle can leave the SRN, timed from a graph node.

    Motorways are left only at junctions (and where the data stops); trunk A-roads have
    at-grade accesses, approximated by points every 200 m along them. The network time to an
    exit is the time to its ``node`` plus ``offset`` seconds.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        SRN graph in EPSG:27700.

    Returns
    -------
    pandas.DataFrame
        ``node`` (graph node the exit is timed from: the junction itself, or the trunk edge's
        start), ``offset`` (seconds after ``node``), ``x``, ``y`` (BNG metres), ``name`` (a
        junction name, or ``"<ref> roadside"``); junctions first, in graph order.
    """
    node: list = []
    off: list[float] = []
    xs: list[float] = []
    ys: list[float] = []
    names: list[str] = []
    for n, d in graph.nodes(data=True):
        if d.get("kind") in ("junction", "end"):
            node.append(n)
            off.append(0.0)
            xs.append(float(d["x"]))
            ys.append(float(d["y"]))
            names.append(str(d.get("name") or d.get("kind")))
    for u, _v, d in graph.edges(data=True):
        if d.get("road_class") != "trunk":
            continue
        geom = d["geometry"]
        length = float(geom.length)
        s = np.r_[np.arange(0.0, length, _TRUNK_EXIT_SPACING_M), length]
        pts = shapely.line_interpolate_point(geom, s)
        node += [u] * len(s)
        off += list(s / length * float(d["travel_time"]))
        xs += list(shapely.get_x(pts))
        ys += list(shapely.get_y(pts))
        names += [f"{d.get('ref') or 'trunk road'} roadside"] * len(s)
    return pd.DataFrame({"node": pd.Series(node, dtype=object), "offset": np.asarray(off, float),
                         "x": np.asarray(xs, float), "y": np.asarray(ys, float),
                         "name": pd.Series(names, dtype=object)})


def _reached_exits(graph: nx.MultiDiGraph, T: dict) -> pd.DataFrame:
    """The exits whose node the sources reach, with the network time ``t`` to each."""
    exits = exit_table(graph)
    reached = np.array([n in T for n in exits["node"]], bool)
    exits = exits[reached].reset_index(drop=True)
    exits["t"] = [T[n] + o for n, o in zip(exits["node"], exits["offset"], strict=True)]
    return exits


def _local_csr(local_graph: nx.MultiDiGraph, speed_ms: float):
    nodes = list(local_graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    xy = np.array([(local_graph.nodes[n]["x"], local_graph.nodes[n]["y"]) for n in nodes], float)
    u, v, w, ln = [], [], [], []
    for a, b, d in local_graph.edges(data=True):
        length = float(d.get("length", 0.0) or 0.0)
        tt = d.get("travel_time")
        u.append(index[a])
        v.append(index[b])
        ln.append(length)
        w.append(float(tt) if tt is not None and tt == tt else length / speed_ms)
    # keep the quickest of parallel edges (and its length, for reporting distance)
    e = pd.DataFrame({"u": u, "v": v, "w": w, "length": ln}).sort_values("w")
    e = e.drop_duplicates(["u", "v"])
    return nodes, xy, e


def _source_nodes(graph: nx.MultiDiGraph, sources: str | int | Sequence[str | int]
                  ) -> list[int]:
    src_list = [sources] if isinstance(sources, (str, int, np.integer)) else list(sources)
    if not src_list:
        raise ParameterError("no source junction given")
    return sorted({n for s in src_list for n in find_junction(graph, s)})


def _best_exit_straight(ex: np.ndarray, et: np.ndarray, pts: np.ndarray, circuity: float,
                        speed_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Earliest arrival over all exits with a straight x circuity last leg: (seconds, exit).

    Exact: nearest exits first, widening while a farther exit could still win.
    """
    tree = cKDTree(ex)
    best_t = np.full(len(pts), np.inf)
    best_i = np.zeros(len(pts), int)
    todo = np.arange(len(pts))
    k = min(16, len(ex))
    while len(todo):
        d, i = tree.query(pts[todo], k=k)
        d, i = d.reshape(len(todo), -1), i.reshape(len(todo), -1)
        total = et[i] + d * circuity / speed_ms
        j = total.argmin(axis=1)
        best_t[todo] = total[np.arange(len(todo)), j]
        best_i[todo] = i[np.arange(len(todo)), j]
        # An exit further than the k-th could still win only if its access leg alone is
        # shorter than the best total found; widen the search for those points.
        if k >= len(ex):
            break
        unresolved = d[:, -1] * circuity / speed_ms < best_t[todo]
        todo = todo[unresolved]
        k = min(k * 4, len(ex))
    return best_t, best_i


def _route_local_graph(local_graph: nx.MultiDiGraph, ex: np.ndarray, et: np.ndarray,
                       pts: np.ndarray, speed_ms: float
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Last leg along ``local_graph``: per point (seconds, exit index or -1, metres off SRN)."""
    lg = local_graph
    crs = str(lg.graph.get("crs", ""))
    if "27700" not in crs:
        if not crs:
            raise ParameterError("local_graph has no 'crs' graph attribute")
        import osmnx as ox  # imported late: osmnx is slow to import and only this path needs it

        lg = ox.project_graph(lg, to_crs=BNG)
    nodes, nxy, e = _local_csr(lg, speed_ms)
    if not len(nodes):
        raise ParameterError("local_graph has no nodes")
    m = len(nodes)
    ltree = cKDTree(nxy)
    # Super-source m: one edge to each exit's nearest local node, weighted by the SRN time
    # plus the straight step onto the local network.
    d_ex, i_ex = ltree.query(ex)
    start = pd.DataFrame({"v": i_ex, "w": et + d_ex / speed_ms,
                          "exit": np.arange(len(ex))}).sort_values("w")
    start = start.drop_duplicates("v")
    rows = np.r_[e["u"].to_numpy(), np.full(len(start), m)]
    cols = np.r_[e["v"].to_numpy(), start["v"].to_numpy()]
    w = np.r_[e["w"].to_numpy(), start["w"].to_numpy()]
    w = np.maximum(w, 1e-6)  # csgraph treats 0 as "no edge"
    csr = coo_matrix((w, (rows, cols)), shape=(m + 1, m + 1)).tocsr()
    dist, pred = dijkstra(csr, directed=True, indices=m, return_predecessors=True)
    # Which exit each local node was reached from, and the distance driven from it:
    # follow predecessors in distance order (a predecessor is always settled first).
    origin = np.full(m + 1, -1)
    along = np.full(m + 1, np.nan)
    origin[start["v"].to_numpy()] = start["exit"].to_numpy()
    along[start["v"].to_numpy()] = d_ex[start["exit"].to_numpy()]
    step = dict(zip(zip(e["u"], e["v"], strict=True), e["length"], strict=True))
    for node in np.argsort(dist[:m]):
        p = pred[node]
        if p >= 0 and p != m:
            origin[node] = origin[p]
            along[node] = along[p] + step.get((p, node), 0.0)
    d_pt, i_pt = ltree.query(pts)
    return dist[i_pt] + d_pt / speed_ms, origin[i_pt], along[i_pt] + d_pt


def drive_times(graph: nx.MultiDiGraph, sources: str | int | Sequence[str | int],
                x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *,
                circuity: float = DEFAULT_CIRCUITY,
                local_speed_kph: float = DEFAULT_LOCAL_SPEED_KPH,
                local_graph: nx.MultiDiGraph | None = None) -> DriveTimes:
    """Estimate drive times from SRN junctions (e.g. a response base's junction) to points.

    The SRN part is a multi-source Dijkstra on ``travel_time`` (congestion-free class speeds,
    :data:`SPEEDS_KPH`). A vehicle leaves the SRN at a junction (motorways have no other
    exits) or anywhere along a trunk road (at-grade access, sampled every 200 m), whichever
    gives the earliest arrival. The off-SRN leg is the straight-line distance from the exit
    times ``circuity`` at ``local_speed_kph`` - unless ``local_graph`` is given, in which case
    it is routed along that network (its ``travel_time``, or its ``length`` at
    ``local_speed_kph``) from the exit's nearest node to the point's nearest node.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        SRN graph in EPSG:27700.
    sources : junction name(s) or node id(s)
        e.g. ``"M6 J2"`` or ``["M40 J15", "M42 J6"]``.
    x, y : array-like
        Points in British National Grid metres.
    circuity : float
        Local-road distance / straight-line distance (default 1.3, an assumption; published
        UK/European values lie around 1.2-1.4).
    local_speed_kph : float
        Average speed off the SRN.
    local_graph : networkx.MultiDiGraph, optional
        Local road network (e.g. an osmnx graph of an OSM extract), any CRS (projected here).

    Returns
    -------
    DriveTimes
        ``method`` says which model was used.

    Raises
    ------
    ParameterError
        Unknown source, bad circuity/speed, mismatched x/y.
    """
    check_graph(graph)
    if not (1.0 <= circuity <= 3.0):
        raise ParameterError(f"circuity {circuity} is outside 1-3 (road distance / straight line)")
    if not (5.0 <= local_speed_kph <= 130.0):
        raise ParameterError(f"local_speed_kph {local_speed_kph} is outside 5-130 km/h")
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    if x.shape != y.shape:
        raise ParameterError(f"x and y differ in length ({x.size} vs {y.size})")
    src_nodes = _source_nodes(graph, sources)
    T = nx.multi_source_dijkstra_path_length(graph, src_nodes, weight="travel_time")
    exits = _reached_exits(graph, T)
    method = "network+circuity" if local_graph is None else "network+local-graph"
    speed_ms = local_speed_kph / 3.6
    n = x.size
    seconds = np.full(n, np.nan)
    network_s = np.full(n, np.nan)
    access_m = np.full(n, np.nan)
    exit_name = np.full(n, "", dtype=object)
    ok = np.isfinite(x) & np.isfinite(y)
    if exits.empty:
        seconds[ok] = np.inf
        return DriveTimes(seconds, network_s, seconds - network_s, access_m, exit_name, method,
                          float(circuity), float(local_speed_kph), tuple(src_nodes))
    ex = exits[["x", "y"]].to_numpy()
    et = exits["t"].to_numpy()
    names = exits["name"].to_numpy()
    pts = np.c_[x[ok], y[ok]]
    if local_graph is None:
        best_t, best_i = _best_exit_straight(ex, et, pts, circuity, speed_ms)
        seconds[ok] = best_t
        network_s[ok] = et[best_i]
        access_m[ok] = np.hypot(*(pts - ex[best_i]).T) * circuity
        exit_name[ok] = names[best_i]
    else:
        total, used, along = _route_local_graph(local_graph, ex, et, pts, speed_ms)
        seconds[ok] = total
        network_s[ok] = np.where(used >= 0, et[np.maximum(used, 0)], np.nan)
        access_m[ok] = along
        exit_name[ok] = np.where(used >= 0, names[np.maximum(used, 0)], "")
    return DriveTimes(seconds, network_s, seconds - network_s, access_m, exit_name, method,
                      float(circuity), float(local_speed_kph), tuple(src_nodes))


# Dense Dijkstra output per chunk (sources x nodes, float64): about 32 MB.
_DIJKSTRA_CHUNK_CELLS = 4_000_000


def _graph_csr(graph: nx.MultiDiGraph) -> tuple[list, dict, csr_matrix]:
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    u, v, w = [], [], []
    for a, b, d in graph.edges(data=True):
        tt = d.get("travel_time")
        if tt is None or not tt == tt:
            tt = float(d.get("length", 0.0)) / (SPEEDS_KPH.get(d.get("road_class"), 50.0) / 3.6)
        u.append(index[a])
        v.append(index[b])
        w.append(float(tt))
    # parallel edges: keep the quickest (coo -> csr would add them up)
    e = pd.DataFrame({"u": u, "v": v, "w": w}).sort_values("w").drop_duplicates(["u", "v"])
    n = len(nodes)
    csr = coo_matrix((np.maximum(e["w"].to_numpy(), 1e-6), (e["u"].to_numpy(),
                                                            e["v"].to_numpy())),
                     shape=(n, n)).tocsr()
    return nodes, index, csr


def _csr_parts(pairs: np.ndarray, n_rows: int, scale: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays of (row, col, value * scale) triples, keeping zero values as entries."""
    order = np.argsort(pairs["i"], kind="stable")
    rows = pairs["i"][order]
    indptr = np.searchsorted(rows, np.arange(n_rows + 1))
    return indptr, pairs["j"][order].astype(int), pairs["v"][order] * scale


def _exit_legs(graph: nx.MultiDiGraph, index: dict, ptree: cKDTree, r_max: float,
               scale: float) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Exits that have a point within a full local leg, as (graph node index, seconds after
    it), and the sparse exit-to-point last-leg seconds as CSR arrays."""
    exits = exit_table(graph)
    ex_node = np.array([index[n] for n in exits["node"]], int)
    ex_off = exits["offset"].to_numpy(float)
    ex_xy = exits[["x", "y"]].to_numpy(float).reshape(-1, 2)
    # Exits with no point within a full local leg cannot cover anything.
    if len(ex_xy):
        d_any, _ = ptree.query(ex_xy, distance_upper_bound=r_max)
        useful = np.isfinite(d_any)
        ex_node, ex_off, ex_xy = ex_node[useful], ex_off[useful], ex_xy[useful]
    pairs = cKDTree(ex_xy).sparse_distance_matrix(ptree, r_max, output_type="ndarray") \
        if len(ex_xy) else np.zeros(0, dtype=[("i", int), ("j", int), ("v", float)])
    return ex_node, ex_off, _csr_parts(pairs, len(ex_xy), scale)


def _site_entries(graph: nx.MultiDiGraph, nodes: list, index: dict, sites: pd.DataFrame,
                  scale: float) -> list[list[tuple[int, float]]]:
    """Per site, the graph nodes (index, seconds to get there) it starts from: its own nodes,
    or the nearest graph node by the straight local leg for a site off the graph."""
    xy_nodes = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes], float)
    ntree = cKDTree(xy_nodes)
    entries: list[list[tuple[int, float]]] = []
    for r in sites.itertuples():
        ids = [index[n] for n in (r.nodes or ()) if n in index]
        if ids:
            entries.append([(i, 0.0) for i in ids])
        else:
            d, i = ntree.query([r.x, r.y])
            entries.append([(int(i), float(d) * scale)])
    return entries


def reach_points(graph: nx.MultiDiGraph, sites: pd.DataFrame, px: np.ndarray, py: np.ndarray,
                 reach_s: float, circuity: float = DEFAULT_CIRCUITY,
                 local_speed_kph: float = DEFAULT_LOCAL_SPEED_KPH
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every point each site reaches within ``reach_s`` seconds, by the drive-time model.

    The numbers of :func:`drive_times` (network + circuity), for all sites at once: on the SRN
    from the site, off it at the exit giving the earliest arrival, then straight line x
    ``circuity`` at ``local_speed_kph``. One Dijkstra per source node cut at the reach, and
    one sparse exit-to-point table cut at the longest possible local leg. A site off the graph
    (a lay-by) joins it at the nearest graph node by the same local leg, and can also drive
    straight to a point on local roads, as can a slip-road end.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        SRN graph in EPSG:27700.
    sites : pandas.DataFrame
        ``x``, ``y`` (BNG metres), ``nodes`` (graph node ids, empty for a site off the graph),
        ``kind`` (``"slip"`` ends may also drive straight to a point).
    px, py : numpy.ndarray
        Points, BNG metres.
    reach_s : float
        Reach, seconds.
    circuity, local_speed_kph : float
        The off-SRN leg.

    Returns
    -------
    site, point, seconds : numpy.ndarray
        One triple per site-point pair within reach (site and point as row positions).
    """
    speed = local_speed_kph / 3.6
    r_max = reach_s * speed / circuity  # the longest local leg that can still arrive in time
    nodes, index, csr = _graph_csr(graph)
    pts = np.c_[px, py]
    ptree = cKDTree(pts)
    ex_node, ex_off, (E_indptr, E_indices, E_data) = _exit_legs(graph, index, ptree, r_max,
                                                                circuity / speed)
    entries = _site_entries(graph, nodes, index, sites, circuity / speed)
    src = sorted({i for e in entries for i, _ in e})
    src_pos = {s: k for k, s in enumerate(src)}
    self_exit = np.array([not r.nodes or r.kind == "slip" for r in sites.itertuples()])
    out_s, out_p, out_t = [], [], []
    chunk = max(1, _DIJKSTRA_CHUNK_CELLS // max(len(nodes), 1))
    D = np.full((len(src), len(nodes)), np.inf)
    for c0 in range(0, len(src), chunk):
        D[c0:c0 + chunk] = dijkstra(csr, directed=True, indices=src[c0:c0 + chunk],
                                    limit=reach_s)
    for s, ent in enumerate(entries):
        T = np.min([off + D[src_pos[i]] for i, off in ent], axis=0)
        t_exit = T[ex_node] + ex_off
        R = np.flatnonzero(t_exit <= reach_s)
        idx_list, tot_list = [], []
        if R.size:
            starts, ends = E_indptr[R], E_indptr[R + 1]
            lens = ends - starts
            take = np.repeat(starts - np.r_[0, np.cumsum(lens)[:-1]], lens) + \
                np.arange(lens.sum())
            idx_list.append(E_indices[take])
            tot_list.append(np.repeat(t_exit[R], lens) + E_data[take])
        if self_exit[s]:
            near = ptree.query_ball_point([sites.x.iat[s], sites.y.iat[s]], r_max)
            if near:
                near = np.asarray(near, int)
                d = np.hypot(px[near] - sites.x.iat[s], py[near] - sites.y.iat[s])
                idx_list.append(near)
                tot_list.append(d * circuity / speed)
        if not idx_list:
            continue
        idx = np.concatenate(idx_list)
        tot = np.concatenate(tot_list)
        keep = tot <= reach_s
        idx, tot = idx[keep], tot[keep]
        if not idx.size:
            continue
        best = np.full(len(pts), np.inf)
        np.minimum.at(best, idx, tot)
        hit = np.flatnonzero(np.isfinite(best))
        out_s.append(np.full(hit.size, s))
        out_p.append(hit)
        out_t.append(best[hit])
    if not out_s:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    return np.concatenate(out_s), np.concatenate(out_p), np.concatenate(out_t)
