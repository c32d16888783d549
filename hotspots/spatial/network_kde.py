"""Network kernel density along the SRN: incidents per km of road, by network distance."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from hotspots.errors import ParameterError
from hotspots.spatial.crs import BNG
from hotspots.spatial.road_lines import cut_line, edge_table

__all__ = [
    "NKDE_KERNELS",
    "network_kde",
]

#: One-dimensional kernels of :func:`network_kde`, each integrating to 1 along a line
#: (spNetwork's definitions): ``K(d) = k(d/h) / h`` for ``d < h``.
NKDE_KERNELS = {
    "quartic": lambda u: 15.0 / 16.0 * (1.0 - u * u) ** 2,
    "epanechnikov": lambda u: 0.75 * (1.0 - u * u),
    "triangle": lambda u: 1.0 - u,
    "uniform": lambda u: np.full_like(u, 0.5),
}

# Dense Dijkstra output is (sources x vertices) float64; cap one chunk at about 32 MB.
_DIJKSTRA_CHUNK_CELLS = 4_000_000


def _lixelize(graph: nx.MultiDiGraph, lixel: float):
    """Cut every road piece into ~``lixel`` m pieces; return the lixel table and vertex count.

    Vertices are lixel ends; graph nodes keep one vertex each so lixels of different pieces
    meet there. Connector edges are lixelized too (they carry the network across junctions)
    but flagged so they are neither snapping targets nor output.
    """
    et = edge_table(graph, include_connectors=True)
    vid: dict = {}

    def vertex(node) -> int:
        if node not in vid:
            vid[node] = len(vid)
        return vid[node]

    start, end, length, geoms, piece = [], [], [], [], []
    for r in et.itertuples():
        vertex(r.u)
        vertex(r.v)
    next_v = len(vid)  # lixel ends inside a piece are numbered after the graph nodes
    for i, r in enumerate(et.itertuples()):
        L = float(r.geometry.length)
        n = max(1, int(round(L / lixel)))
        coords = np.asarray(r.geometry.coords)[:, :2]
        if n > 1:
            pieces, _ = cut_line(coords, np.arange(1, n) * (L / n))
        else:
            pieces = [coords]
        vs = [vid[r.u]] + list(range(next_v, next_v + n - 1)) + [vid[r.v]]
        next_v += n - 1
        for j, pc in enumerate(pieces):
            start.append(vs[j])
            end.append(vs[j + 1])
            geoms.append(LineString(pc))
            length.append(L / n)
            piece.append(i)
    piece = np.asarray(piece)
    lix = pd.DataFrame({"start": start, "end": end, "length": length, "piece": piece})
    lix["road"] = (et["geometry_source"].to_numpy() != "connector")[piece]
    return et, lix, np.array(geoms, dtype=object), next_v


def network_kde(graph: nx.MultiDiGraph, x: Sequence[float] | np.ndarray,
                y: Sequence[float] | np.ndarray, *, lixel: float = 100.0,
                bandwidth: float = 1000.0, kernel: str = "quartic", band: float = 500.0,
                weights: Sequence[float] | np.ndarray | None = None) -> gpd.GeoDataFrame:
    """Network kernel density of incidents along the SRN (Xie & Yan 2008, "simple" method).

    Every road piece is cut into lixels of about ``lixel`` metres. Incidents within ``band``
    metres of the network are snapped to their nearest point on a road lixel; the others are
    ignored. The density at a lixel's centre is ``sum_i w_i K(d_i)``, where ``d_i`` is the
    shortest-path network distance from incident ``i``'s snapped point to the centre (both
    directions of travel allowed) and ``K(d) = k(d / h) / h`` a one-dimensional kernel of
    bandwidth ``h`` that integrates to 1 along a line (spNetwork's definitions); the result is
    multiplied by 1000 to give **incidents per km of road**. As in spNetwork's "simple"
    method the kernel is not split at junctions, so density near junctions is overstated
    relative to the "discontinuous"/"continuous" corrections of Okabe & Sugihara (2012).

    Network distances come from ``scipy.sparse.csgraph.dijkstra`` on the lixel-end graph,
    limited to the bandwidth, run once per lixel end that has incidents beside it.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
    x, y : array-like
        Incident positions, British National Grid metres (NaN are ignored).
    lixel : float
        Target lixel length, metres (each piece is cut into equal lixels closest to it).
    bandwidth : float
        Kernel bandwidth along the network, metres.
    kernel : {"quartic", "epanechnikov", "triangle", "uniform"}
    band : float
        Incidents further than this from every road are not snapped.
    weights : array-like, optional
        Weight per incident (e.g. harm); default 1.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per road lixel: ``u``, ``v`` (graph nodes of its piece), ``ref``,
        ``road_class``, ``geometry_source``, ``length_m``, ``incidents`` (snapped onto it),
        ``density`` (incidents per km of road), ``geometry``. ``attrs``: ``bandwidth_m``,
        ``lixel_m``, ``kernel``, ``band_m``, ``n_points``, ``n_snapped``, ``units``.
    """
    if kernel not in NKDE_KERNELS:
        raise ParameterError(f"unknown kernel {kernel!r}; choose one of "
                             f"{', '.join(NKDE_KERNELS)}")
    if not (lixel > 0 and bandwidth > 0 and band >= 0):
        raise ParameterError("lixel and bandwidth must be positive and band non-negative")
    if bandwidth < lixel:
        raise ParameterError(f"bandwidth {bandwidth} m is shorter than a lixel ({lixel} m)")
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    if x.shape != y.shape:
        raise ParameterError(f"x and y differ in length ({x.size} vs {y.size})")
    w = np.ones(x.size) if weights is None else np.asarray(weights, float).ravel()
    if w.shape != x.shape:
        raise ParameterError("weights must have one value per point")

    et, lix, lgeoms, n_vertices = _lixelize(graph, lixel)
    road = lix["road"].to_numpy()
    road_idx = np.flatnonzero(road)
    llen = lix["length"].to_numpy()
    density = np.zeros(len(lix))
    snapped_count = np.zeros(len(lix), int)

    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(w)
    n_snapped = 0
    if ok.any() and len(road_idx):
        tree = shapely.STRtree(lgeoms[road_idx])
        pts = shapely.points(x[ok], y[ok])
        (qi, ti), _d = tree.query_nearest(pts, max_distance=band, return_distance=True,
                                          all_matches=False)
        a = road_idx[ti]
        s = shapely.line_locate_point(lgeoms[a], pts[qi])
        ew = w[ok][qi]
        n_snapped = int(len(qi))
    if n_snapped:
        snapped_count = np.bincount(a, minlength=len(lix))
        # Incidents on the same spot of the same lixel share every distance: merge them.
        ev = pd.DataFrame({"a": a, "s": np.round(s, 2), "w": ew})
        ev = ev.groupby(["a", "s"], as_index=False, sort=False)["w"].sum()
        a, s, ew = ev["a"].to_numpy(), ev["s"].to_numpy(), ev["w"].to_numpy()
        density = _nkde_sum(lix, n_vertices, a, s, ew, bandwidth, NKDE_KERNELS[kernel])

    piece = lix["piece"].to_numpy()[road_idx]
    out = gpd.GeoDataFrame({
        "u": et["u"].to_numpy()[piece],
        "v": et["v"].to_numpy()[piece],
        "ref": et["ref"].to_numpy()[piece],
        "road_class": et["road_class"].to_numpy()[piece],
        "geometry_source": et["geometry_source"].to_numpy()[piece],
        "length_m": llen[road_idx],
        "incidents": snapped_count[road_idx],
        "density": density[road_idx] * 1000.0,
    }, geometry=lgeoms[road_idx], crs=BNG)
    out.attrs.update({"bandwidth_m": float(bandwidth), "lixel_m": float(lixel),
                      "kernel": kernel, "band_m": float(band), "n_points": int(x.size),
                      "n_snapped": n_snapped, "units": "incidents per km of road"})
    return out


def _nkde_sum(lix: pd.DataFrame, n_vertices: int, a: np.ndarray, s: np.ndarray,
              w: np.ndarray, h: float, k) -> np.ndarray:
    """Sum kernel contributions of events (lixel ``a``, offset ``s``, weight ``w``) per lixel.

    For an event on lixel ``a`` (ends ``p``, ``q``, length ``L_a``) and another lixel ``b``
    (length ``L_b``) the network distance to ``b``'s centre is
    ``L_b/2 + min(s + D(p, b), L_a - s + D(q, b))`` with ``D(x, b)`` the distance from vertex
    ``x`` to the nearer end of ``b``; on ``a`` itself it is ``|s - L_a/2|``.
    """
    llen = lix["length"].to_numpy()
    lstart = lix["start"].to_numpy()
    lend = lix["end"].to_numpy()
    road = lix["road"].to_numpy()
    n_lix = len(lix)
    # Undirected vertex graph, shortest parallel lixel kept.
    pairs = pd.DataFrame({"i": np.minimum(lstart, lend), "j": np.maximum(lstart, lend),
                          "w": llen}).groupby(["i", "j"], as_index=False)["w"].min()
    graph = coo_matrix((np.maximum(pairs["w"].to_numpy(), 1e-9),
                        (pairs["i"].to_numpy(), pairs["j"].to_numpy())),
                       shape=(n_vertices, n_vertices)).tocsr()
    # vertex -> road lixels it ends
    inc_v = np.r_[lstart[road], lend[road]]
    inc_l = np.r_[np.flatnonzero(road), np.flatnonzero(road)]
    order = np.argsort(inc_v, kind="stable")
    inc_v, inc_l = inc_v[order], inc_l[order]
    inc_ptr = np.searchsorted(inc_v, np.arange(n_vertices + 1))

    used = np.unique(a)
    src = np.unique(np.r_[lstart[used], lend[used]])
    chunk = max(1, _DIJKSTRA_CHUNK_CELLS // max(n_vertices, 1))
    xs, bs, ds = [], [], []
    for c0 in range(0, len(src), chunk):
        ids = src[c0:c0 + chunk]
        dist = dijkstra(graph, directed=False, indices=ids, limit=h)
        r, v = np.nonzero(np.isfinite(dist))
        dv = dist[r, v]
        # expand vertex -> lixels at that vertex
        cnt = inc_ptr[v + 1] - inc_ptr[v]
        rep = np.repeat(np.arange(len(v)), cnt)
        pos = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(
            inc_ptr[v], cnt)
        xs.append(ids[r][rep])
        bs.append(inc_l[pos])
        ds.append(dv[rep])
    xv = np.concatenate(xs)
    bv = np.concatenate(bs)
    dv = np.concatenate(ds)
    # D(x, b): nearer end of b
    key = xv.astype(np.int64) * n_lix + bv
    order = np.lexsort((dv, key))
    key, dv = key[order], dv[order]
    first = np.r_[True, key[1:] != key[:-1]]
    key, dv = key[first], dv[first]
    nx_x = key // n_lix
    nx_b = key % n_lix

    # Per used lixel a: candidate lixels b with P = D(start_a, b), Q = D(end_a, b).
    src_pos = {int(v): i for i, v in enumerate(src)}
    x_sorted_ptr = np.searchsorted(nx_x, src)  # nx_x is sorted since key sorts by x first
    x_sorted_end = np.r_[x_sorted_ptr[1:], len(nx_x)]
    cand_a, cand_b, cand_p, cand_q = [], [], [], []
    for la in used:
        p_i = src_pos[int(lstart[la])]
        q_i = src_pos[int(lend[la])]
        bp = nx_b[x_sorted_ptr[p_i]:x_sorted_end[p_i]]
        dp = dv[x_sorted_ptr[p_i]:x_sorted_end[p_i]]
        bq = nx_b[x_sorted_ptr[q_i]:x_sorted_end[q_i]]
        dq = dv[x_sorted_ptr[q_i]:x_sorted_end[q_i]]
        b_all = np.union1d(bp, bq)
        P = np.full(len(b_all), np.inf)
        Q = np.full(len(b_all), np.inf)
        P[np.searchsorted(b_all, bp)] = dp
        Q[np.searchsorted(b_all, bq)] = dq
        cand_a.append(np.full(len(b_all), la))
        cand_b.append(b_all)
        cand_p.append(P)
        cand_q.append(Q)
    ca = np.concatenate(cand_a)
    cb = np.concatenate(cand_b)
    cp = np.concatenate(cand_p)
    cq = np.concatenate(cand_q)
    # candidates are grouped by a in `used` order (sorted): CSR over a
    a_ptr = np.searchsorted(ca, np.r_[used, used[-1] + 1])
    a_of = np.searchsorted(used, a)
    cnt = a_ptr[a_of + 1] - a_ptr[a_of]
    ev = np.repeat(np.arange(len(a)), cnt)
    pos = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(a_ptr[a_of],
                                                                                 cnt)
    b = cb[pos]
    ea = a[ev]
    es = s[ev]
    d = llen[b] / 2.0 + np.minimum(es + cp[pos], llen[ea] - es + cq[pos])
    same = b == ea
    d[same] = np.abs(es[same] - llen[ea[same]] / 2.0)
    keep = d < h
    contrib = w[ev[keep]] * k(d[keep] / h) / h
    return np.bincount(b[keep], weights=contrib, minlength=n_lix)
