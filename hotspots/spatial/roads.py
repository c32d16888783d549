"""The Strategic Road Network as an osmnx-compatible graph, and a junction drive-time model."""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import re
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings, load_settings
from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.spatial.crs import BNG, to_wgs84

__all__ = [
    "DEFAULT_CIRCUITY",
    "DEFAULT_LOCAL_SPEED_KPH",
    "ROAD_FILES",
    "SPEEDS_KPH",
    "DriveTimes",
    "build_srn_graph",
    "download_srn_graph",
    "drive_times",
    "edge_table",
    "find_junction",
    "graph_from_osm",
    "graph_summary",
    "junctions_frame",
]

#: Congestion-free planning speeds (km/h) per road class. They are not legal limits or observed
#: speeds: 100 km/h (62 mph) is a typical free-flow motorway average, 80 km/h (50 mph) a trunk
#: A-road with roundabouts and at-grade junctions, 50 km/h (31 mph) a slip road or interchange
#: movement. Real journey times at peak hours are longer.
SPEEDS_KPH: dict[str, float] = {"motorway": 100.0, "trunk": 80.0, "link": 50.0}

#: Network distance / straight-line distance assumed for the local leg from an SRN exit to an
#: off-network incident. Published UK and European circuity factors for road travel lie around
#: 1.2-1.4 (e.g. Ballou, Rahardja & Sakai 2002; Boscoe, Henry & Zdeb 2012); 1.3 is an
#: assumption in that range, not a measurement for Warwickshire.
DEFAULT_CIRCUITY = 1.3

#: Average speed (km/h) assumed on local roads between an SRN exit and an incident.
DEFAULT_LOCAL_SPEED_KPH = 40.0

#: Shipped road layers, under ``settings.data_dir / "roads"``.
ROAD_FILES = {
    "motorways": "motorways.parquet",
    "junctions": "srn_junctions.parquet",
    "links": "srn_links.parquet",
    "sites": "webtris_sites.parquet",
    "services": "osm_services.parquet",
}

# Bump when the build changes what it produces, so stale caches are not reused.
_BUILD_VERSION = "2"
# A HATRIS junction cluster is the mean of its link ends; big interchanges put it a few hundred
# metres off each carriageway, so it is joined to motorway lines up to this far away.
_JUNCTION_SNAP_M = 1500.0
# Services further than this from any SRN carriageway are not on the SRN (e.g. truck stops on
# local roads) and are left out.
_SERVICES_SNAP_M = 1000.0
# A surveyed motorway route between two HATRIS junctions longer than this multiple of their
# straight-line distance (or longer by this many metres) is a detour, not the link itself.
_DETOUR_RATIO = 1.6
_DETOUR_EXTRA_M = 3000.0
# WebTRIS sites on the two carriageways of a dual road face each other a few tens of metres
# apart; sites closer than this along the link are merged so the derived line does not zigzag.
_SITE_MERGE_M = 150.0
# OpenRoads labels a few short pieces inside interchanges with the other motorway's ref (the M6
# runs through 14 m of "M54" at J10A): a link may cross pieces of another ref up to this long.
_FOREIGN_PIECE_M = 400.0
# Cuts closer than this to a line end or to each other are merged (metres).
_CUT_TOL_M = 1.0
# Spacing of the sampled exits along trunk roads (at-grade access) in the drive-time model.
_TRUNK_EXIT_SPACING_M = 200.0
# Cached graphs kept in the cache folder (one per input/area combination), newest first.
_CACHE_KEEP = 8
# Node coordinates are matched after rounding to this many decimals (0.1 m).
_KEY_DECIMALS = 1

# Well-known local names of SRN junctions, matched to the nearest junction within 500 m.
# They are aliases only: the canonical name stays the road/junction-number one.
_ALIASES = (
    ("Tollbar End", 436_462.0, 275_718.0),  # A45 / A46, south-east Coventry
    ("Thickthorn", 429_931.0, 270_407.0),  # A46 / A452, Kenilworth
    ("Longbridge", 426_470.0, 262_524.0),  # M40 J15 / A46, Warwick
)

_MOTORWAY_JUNCTION = re.compile(r"^\s*(A\d+\s*\(M\)|M\d+)\s*(TOLL)?\s*([JT])\s*(\d+[A-Z]?)\s*$",
                                re.IGNORECASE)
_ROAD = re.compile(r"^\s*(A\d+\s*\(M\)|[AM]\d+)(\s*TOLL)?\s*$", re.IGNORECASE)
_ROAD_IN_TEXT = re.compile(r"\b(A\d+\(M\)|[AM]\d+)\b")
_COUNTY_BORDER = re.compile(r"^\s*c(ou)?nty\s*border\s*$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Naming
# --------------------------------------------------------------------------------------------

def _parse_list(value: Any) -> list[str]:
    """Read a list stored as text: numpy repr ``['A' 'B']``, ``"A; B"`` or a real sequence."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value)
    quoted = re.findall(r"'([^']*)'|\"([^\"]*)\"", text)
    if quoted:
        return [(a or b).strip() for a, b in quoted if (a or b).strip()]
    return [p.strip() for p in re.split(r"[;,]", text.strip("[] ")) if p.strip()]


def _norm_ref(ref: Any) -> str:
    """Canonical road reference: ``M6``, ``M6 Toll``, ``A46``, ``A38(M)``."""
    text = re.sub(r"\s+", " ", str(ref or "")).strip()
    m = _ROAD.match(text)
    if not m:
        return text
    return re.sub(r"\s+", "", m.group(1)).upper() + (" Toll" if m.group(2) else "")


def _road_sort_key(ref: str) -> tuple:
    m = re.match(r"([AM])(\d+)", ref)
    return (0 if ref.startswith("M") else 1, int(m.group(2)) if m else 0, ref)


def _road_class_of(ref: str) -> str:
    return "motorway" if ref.startswith("M") or ref.endswith("(M)") else "trunk"


def _junction_label(names: Iterable[str], roads: Iterable[str]) -> tuple[str, bool]:
    """Officer-style junction name from HATRIS junction names and the SRN roads there.

    Returns the name and whether the junction is a county-border end rather than a junction.
    """
    numbered: list[str] = []
    crossing: list[str] = []
    border = False
    roads = [_norm_ref(r) for r in roads]
    for name in names:
        m = _MOTORWAY_JUNCTION.match(name) or _MOTORWAY_JUNCTION.match(
            re.sub(r"(?i)toll", " Toll ", name))
        if m:
            road = re.sub(r"\s+", "", m.group(1)).upper() + (" Toll" if m.group(2) else "")
            label = f"{road} {m.group(3).upper()}{m.group(4).upper()}"
            if label not in numbered:
                numbered.append(label)
        elif _COUNTY_BORDER.match(name):
            border = True
        else:
            # HATRIS marks the two arms of a split junction with -E/-W (e.g. A428-E).
            base = _norm_ref(re.sub(r"-[NESW]$", "", name.strip()))
            if base and base not in crossing and not base.endswith(" Toll"):
                crossing.append(base)
    if numbered:
        return " / ".join(sorted(numbered)), False
    main = sorted(dict.fromkeys(r for r in roads if r), key=_road_sort_key)
    extra = sorted((c for c in crossing if c not in main), key=_road_sort_key)
    if border and not extra:
        return (f"{' / '.join(main)} county boundary" if main else "county boundary"), True
    parts = main + extra
    if len(parts) == 1:
        # e.g. HATRIS's "A446" junction on the A446 itself
        return f"{parts[0]} junction", False
    return (" / ".join(parts) if parts else "unnamed junction"), False


def _disambiguate(names: dict[int, str], xy: dict[int, tuple[float, float]]) -> dict[int, str]:
    """Append a compass word to names shared by several junctions (e.g. two A46 / A44)."""
    out = dict(names)
    groups: dict[str, list[int]] = defaultdict(list)
    for node, name in names.items():
        groups[name].append(node)
    for name, nodes in groups.items():
        if len(nodes) < 2:
            continue
        pts = np.array([xy[n] for n in nodes])
        centre = pts.mean(axis=0)
        spread = pts.max(axis=0) - pts.min(axis=0)
        axis = 0 if spread[0] >= spread[1] else 1
        words = ("west", "east") if axis == 0 else ("south", "north")
        order = np.argsort(pts[:, axis])
        for rank, i in enumerate(order):
            if len(nodes) == 2:
                word = words[0] if pts[i, axis] < centre[axis] else words[1]
            else:
                word = f"{words[0]} {rank + 1}" if rank < len(nodes) - 1 else words[1]
            out[nodes[i]] = f"{name} ({word})"
    return out


def _norm_query(text: str) -> str:
    t = str(text).casefold()
    t = re.sub(r"junction\s*", "j", t)
    return re.sub(r"[\s/_\-.,()]+", "", t)


# --------------------------------------------------------------------------------------------
# Line records: undirected polylines with allowed directions, cut and assembled into a graph
# --------------------------------------------------------------------------------------------

@dataclass
class _Line:
    coords: np.ndarray  # (n, 2) BNG metres, n >= 2
    fwd: bool  # traversable first -> last vertex
    bwd: bool  # traversable last -> first vertex
    attrs: dict


def _key(x: float, y: float) -> tuple[float, float]:
    return (round(float(x), _KEY_DECIMALS), round(float(y), _KEY_DECIMALS))


def _dedupe_coords(coords: np.ndarray) -> np.ndarray:
    keep = np.r_[True, np.any(np.abs(np.diff(coords, axis=0)) > 1e-9, axis=1)]
    return coords[keep]


def _cut(coords: np.ndarray, positions: Sequence[float]) -> tuple[list[np.ndarray], np.ndarray]:
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


def _split_lines(lines: list[_Line], requests: list[tuple[int, float]]
                 ) -> tuple[list[_Line], list[tuple[float, float]]]:
    """Cut ``lines`` at (line index, distance along) requests.

    Returns the new line list and, per request, the coordinate of the vertex it became (a cut
    point, or the line end it was merged into).
    """
    by_line: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for r, (i, d) in enumerate(requests):
        by_line[i].append((r, d))
    where: list[tuple[float, float]] = [(math.nan, math.nan)] * len(requests)
    out: list[_Line] = []
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
        pieces, points = _cut(line.coords, cuts)
        for r, a in assign.items():
            p = line.coords[0] if a == "start" else line.coords[-1] if a == "end" else points[a]
            where[r] = (float(p[0]), float(p[1]))
        out.extend(_Line(p, line.fwd, line.bwd, dict(line.attrs)) for p in pieces if len(p) > 1)
    return out, where


def _line_tree(lines: list[_Line]) -> tuple[shapely.STRtree, np.ndarray]:
    geoms = np.array([LineString(ln.coords) for ln in lines], dtype=object)
    return shapely.STRtree(geoms), geoms


def _assemble(lines: list[_Line], known: dict[tuple[float, float], dict], *,
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
        k = _key(x, y)
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


def _to_graph(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, graph_attrs: dict
              ) -> nx.MultiDiGraph:
    import osmnx as ox  # imported late: osmnx is slow to import and only the build needs it

    return ox.graph_from_gdfs(nodes, edges, graph_attrs={"crs": BNG, **graph_attrs})


# --------------------------------------------------------------------------------------------
# Shipped data -> graph
# --------------------------------------------------------------------------------------------

def _road_paths(settings: Settings) -> dict[str, Path]:
    paths = {k: settings.data_dir / "roads" / f for k, f in ROAD_FILES.items()}
    for p in paths.values():
        if not p.is_file():
            raise InputError(f"{p}: road data file not found (is the data/ folder complete?)")
    return paths


def _read_layer(path: Path) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types; the user needs the file and gist
        raise InputError(f"{path}: cannot read road layer ({str(exc).splitlines()[0]})") from None
    if gdf.crs is None or gdf.crs.to_epsg() != 27700:
        gdf = gdf.set_crs(BNG, allow_override=True) if gdf.crs is None else gdf.to_crs(BNG)
    return gdf


def _link_ref(desc: str, road: str) -> str:
    head = str(desc).split(" between ")[0] if " between " in str(desc) else str(road)
    return _norm_ref(head)


def _derived_polyline(a: np.ndarray, b: np.ndarray, sites: np.ndarray) -> tuple[np.ndarray, int]:
    """Junction -> counter sites ordered along the link -> junction; returns coords, n sites."""
    if len(sites) == 0:
        return np.vstack([a, b]), 0
    d = b - a
    t = ((sites - a) @ d) / float(d @ d)
    order = np.argsort(t)
    sites, t = sites[order], t[order]
    along = t * math.hypot(*d)
    merged, group = [], [0]
    for i in range(1, len(sites)):
        if along[i] - along[group[0]] <= _SITE_MERGE_M:
            group.append(i)
        else:
            merged.append(sites[group].mean(axis=0))
            group = [i]
    merged.append(sites[group].mean(axis=0))
    return np.vstack([a, np.array(merged), b]), len(merged)


def _assign_sites(pairs: pd.DataFrame, cxy: dict[int, np.ndarray], sites: gpd.GeoDataFrame
                  ) -> dict[tuple[int, int], np.ndarray]:
    """Give each main-carriageway WebTRIS site to the nearest link of its road, if in corridor."""
    out: dict[tuple[int, int], list] = defaultdict(list)
    if sites.empty:
        return {}
    sx = sites.geometry.x.to_numpy()
    sy = sites.geometry.y.to_numpy()
    sref = sites["road"].to_numpy()
    for ref, grp in pairs.groupby("ref"):
        mask = sref == ref
        if not mask.any():
            continue
        pts = np.c_[sx[mask], sy[mask]]
        a = np.array([cxy[p] for p in grp["a"]])
        b = np.array([cxy[p] for p in grp["b"]])
        d = b - a
        dd = np.maximum((d * d).sum(axis=1), 1e-9)
        # (sites x links): projection parameter and perpendicular distance to each chord
        t = ((pts[:, None, :] - a[None]) * d[None]).sum(axis=2) / dd[None]
        foot = a[None] + np.clip(t, 0, 1)[..., None] * d[None]
        dist = np.hypot(*(pts[:, None, :] - foot).transpose(2, 0, 1))
        length = np.sqrt(dd)
        # Real alignments bow away from the chord on long links; allow 30% of the length.
        corridor = np.clip(0.3 * length, 300.0, 3000.0)
        dist = np.where((t > 0.02) & (t < 0.98) & (dist <= corridor[None]), dist, np.inf)
        best = dist.argmin(axis=1)
        ok = np.isfinite(dist[np.arange(len(pts)), best])
        keys = list(zip(grp["a"], grp["b"], strict=True))
        for i in np.flatnonzero(ok):
            out[keys[best[i]]].append(pts[i])
    return {k: np.array(v) for k, v in out.items()}


def _build_params() -> dict:
    return {"version": _BUILD_VERSION, "speeds": SPEEDS_KPH, "junction_snap": _JUNCTION_SNAP_M,
            "services_snap": _SERVICES_SNAP_M, "detour": [_DETOUR_RATIO, _DETOUR_EXTRA_M],
            "site_merge": _SITE_MERGE_M, "aliases": _ALIASES}


def _build_from_layers(layers: dict[str, gpd.GeoDataFrame]) -> nx.MultiDiGraph:
    motorways, junctions, links = layers["motorways"], layers["junctions"], layers["links"]
    sites, services = layers["sites"], layers["services"]

    # --- junction clusters: position, names, roads -------------------------------------
    cxy: dict[int, np.ndarray] = {}
    cnames: dict[int, list[str]] = defaultdict(list)
    croads: dict[int, list[str]] = defaultdict(list)
    for row in junctions.itertuples():
        cid = int(row.cluster_id)
        cxy[cid] = np.array([row.geometry.x, row.geometry.y])
        cnames[cid] += _parse_list(row.junction_names)
        croads[cid] += [_norm_ref(r) for r in _parse_list(row.roads)]
    links = links.copy()
    links["ref"] = [_link_ref(d, r) for d, r in zip(links["LinkDescription"], links["road"],
                                                     strict=True)]
    ends: dict[int, list[np.ndarray]] = defaultdict(list)
    for row in links.itertuples():
        for cid, name, x, y in ((row.StartCluster, row.StartJunction, row.StartClusterX,
                                 row.StartClusterY),
                                (row.EndCluster, row.EndJunction, row.EndClusterX,
                                 row.EndClusterY)):
            cid = int(cid)
            if cid not in cxy:
                ends[cid].append(np.array([x, y], float))
                if name not in cnames[cid]:
                    cnames[cid].append(str(name))
            croads[cid].append(row.ref)
    for cid, pts in ends.items():
        cxy[cid] = np.mean(pts, axis=0)
    link_refs_at: dict[int, set[str]] = defaultdict(set)
    for row in links.itertuples():
        link_refs_at[int(row.StartCluster)].add(row.ref)
        link_refs_at[int(row.EndCluster)].add(row.ref)
    for cid, refs in link_refs_at.items():
        # The junction file lists the M6 Toll as "M6": say "M6 Toll" where only toll links meet.
        croads[cid] = [r for r in croads[cid]
                       if not (f"{r} Toll" in refs and r not in refs)]
    in_file = set(int(c) for c in junctions["cluster_id"])

    labels: dict[int, str] = {}
    border: dict[int, bool] = {}
    for cid in cxy:
        labels[cid], border[cid] = _junction_label(cnames[cid], croads[cid])
    labels = _disambiguate(labels, {c: tuple(p) for c, p in cxy.items()})
    alias = {}
    cids = np.array(list(cxy))
    cpts = np.array([cxy[c] for c in cids])
    for name, x, y in _ALIASES:
        d = np.hypot(cpts[:, 0] - x, cpts[:, 1] - y)
        if d.min() <= 500:
            alias[int(cids[d.argmin()])] = name

    # --- motorway lines (surveyed), cut where junctions join them ----------------------
    lines: list[_Line] = []
    for row in motorways.itertuples():
        ref = _norm_ref(row.ref)
        lines.append(_Line(np.asarray(row.geometry.coords)[:, :2], True, True,
                           {"ref": ref, "name": ref, "road_class": "motorway",
                            "highway": "motorway", "geometry_source": "surveyed", "link": ""}))
    refs_at: dict[int, set[str]] = defaultdict(set)
    pair_rows = []
    for row in links.itertuples():
        a, b = int(row.StartCluster), int(row.EndCluster)
        if a == b:
            continue  # a movement inside one junction cluster: no length in this model
        pair_rows.append({"a": min(a, b), "b": max(a, b), "ref": row.ref, "dir": (a, b),
                          "link_ref": row.LinkRef})
        if _road_class_of(row.ref) == "motorway":
            refs_at[a].add(row.ref)
            refs_at[b].add(row.ref)
    pairs_all = pd.DataFrame(pair_rows)

    line_refs = np.array([ln.attrs["ref"] for ln in lines])
    _, geoms = _line_tree(lines)
    requests: list[tuple[int, float]] = []
    connectors: list[tuple[int, str, int]] = []  # (cluster, ref, request index)
    for cid in sorted(refs_at):
        p = Point(cxy[cid])
        for ref in sorted(refs_at[cid]):
            idx = np.flatnonzero(line_refs == ref)
            if not len(idx):
                continue
            dist = shapely.distance(geoms[idx], p)
            j = idx[int(np.argmin(dist))]
            if dist.min() > _JUNCTION_SNAP_M:
                continue
            connectors.append((cid, ref, len(requests)))
            requests.append((int(j), float(geoms[j].project(p))))
    lines, where = _split_lines(lines, requests)
    conn_lines = []
    for cid, ref, r in connectors:
        end = np.array(where[r])
        if np.hypot(*(end - cxy[cid])) < 0.05:
            continue
        conn_lines.append(_Line(np.vstack([cxy[cid], end]), True, True,
                                {"ref": ref, "name": f"{labels[cid]} ({ref})",
                                 "road_class": "link", "highway": "motorway_link",
                                 "geometry_source": "connector", "link": ""}))

    # --- which motorway HATRIS links the surveyed lines carry ---------------------------
    covered: set[tuple[int, int, str]] = set()
    mpairs = pairs_all[[_road_class_of(r) == "motorway" for r in pairs_all["ref"]]] \
        if len(pairs_all) else pairs_all
    ref_graph = _ref_graphs(
        [(_key(*ln.coords[0]), _key(*ln.coords[-1]),
          float(np.hypot(*np.diff(ln.coords, axis=0).T).sum()), ln.attrs, None)
         for ln in lines + conn_lines])
    for (a, b, ref), _grp in mpairs.groupby(["a", "b", "ref"]):
        g = ref_graph.get(ref)
        ka, kb = _key(*cxy[a]), _key(*cxy[b])
        if g is None or ka not in g or kb not in g:
            continue
        try:
            length = nx.dijkstra_path_length(g, ka, kb, weight="w")
        except nx.NetworkXNoPath:
            continue
        straight = float(np.hypot(*(cxy[a] - cxy[b])))
        if length <= max(_DETOUR_RATIO * straight, straight + _DETOUR_EXTRA_M):
            covered.add((a, b, ref))

    # --- derived (approximate) alignments: trunk links and motorway links off the data --
    site_pts = sites[sites["carriagewayType"] == "mainCarriageway"].copy()
    site_pts["road"] = [_norm_ref(r) for r in site_pts["road_parsed"]]
    approx = pairs_all[[(a, b, r) not in covered for a, b, r in zip(
        pairs_all["a"], pairs_all["b"], pairs_all["ref"], strict=True)]] \
        if len(pairs_all) else pairs_all
    derived_lines: list[_Line] = []
    n_sites_used = 0
    if len(approx):
        uniq = approx.drop_duplicates(["a", "b", "ref"])[["a", "b", "ref"]]
        assigned = _assign_sites(uniq, cxy, site_pts)
        for (a, b, ref), grp in approx.groupby(["a", "b", "ref"]):
            coords, n = _derived_polyline(cxy[a], cxy[b], assigned.get((a, b), np.empty((0, 2))))
            n_sites_used += n
            dirs = set(grp["dir"])
            rc = _road_class_of(ref)
            derived_lines.append(_Line(coords, (a, b) in dirs, (b, a) in dirs, {
                "ref": ref, "name": ref, "road_class": rc, "highway": rc,
                "geometry_source": "approximate",
                "link": "; ".join(sorted(grp["link_ref"]))}))
    lines = lines + derived_lines

    # --- services: a node joined to the nearest carriageway (of the road its name gives) -
    named = services[~services["name_is_placeholder"].astype(bool)]
    tree, geoms = _line_tree(lines)
    refs = np.array([ln.attrs["ref"] for ln in lines])
    requests, svc = [], []
    skipped = []
    for row in named.itertuples():
        p = row.geometry
        hint = _ROAD_IN_TEXT.findall(str(row.name))
        idx = np.flatnonzero(np.isin(refs, [_norm_ref(h) for h in hint])) if hint else []
        if not len(idx):
            idx = tree.query(p, predicate="dwithin", distance=_SERVICES_SNAP_M)
        if not len(idx):
            skipped.append(str(row.name))
            continue
        dist = shapely.distance(geoms[idx], p)
        j = int(idx[int(np.argmin(dist))])
        if dist.min() > _SERVICES_SNAP_M:
            skipped.append(str(row.name))
            continue
        svc.append((row, lines[j].attrs["ref"], len(requests)))
        requests.append((j, float(geoms[j].project(p))))
    lines, where = _split_lines(lines, requests)
    known: dict[tuple[float, float], dict] = {}
    for row, ref, r in svc:
        sx, sy = row.geometry.x, row.geometry.y
        end = np.array(where[r])
        known[_key(sx, sy)] = {"osmid": int(row.osm_id), "name": str(row.name), "kind": "services",
                               "roads": ref, "alias": "", "operator": str(row.operator)}
        lines.append(_Line(np.vstack([[sx, sy], end]), True, True, {
            "ref": ref, "name": f"{row.name} access", "road_class": "link",
            "highway": "motorway_link" if _road_class_of(ref) == "motorway" else "trunk_link",
            "geometry_source": "connector", "link": ""}))
    lines = lines + conn_lines

    for cid, p in cxy.items():
        roads = sorted(set(croads[cid]), key=_road_sort_key)
        known[_key(*p)] = {"osmid": cid, "name": labels[cid],
                           "kind": "end" if border[cid] else "junction",
                           "roads": "; ".join(roads), "alias": alias.get(cid, ""),
                           "in_area_file": cid in in_file}
    nodes, edges = _assemble(lines, known, first_id=10_000_000)
    nodes["alias"] = nodes["alias"].fillna("") if "alias" in nodes else ""
    nodes["in_area_file"] = nodes["in_area_file"].fillna(False).astype(bool)
    G = _to_graph(nodes, edges, {
        "source": "shipped",
        "layers": "OS OpenRoads motorways (surveyed); National Highways HATRIS links and "
                  "WebTRIS sites (trunk alignments derived: approximate); OSM services",
        "attribution": "Contains OS data © Crown copyright and database right 2024; contains "
                       "National Highways data © Crown copyright, OGL v3.0; services © "
                       "OpenStreetMap contributors, ODbL",
        "speeds_kph": dict(SPEEDS_KPH),
        "services_skipped": skipped,
        "webtris_sites_used": int(n_sites_used),
    })
    G.graph["links"] = _hatris_link_paths(G, pairs_all)
    return G


def _ref_graphs(pieces: list[tuple]) -> dict[str, nx.Graph]:
    """Per road ref, an undirected graph of its pieces (plus short foreign interchange pieces).

    ``pieces`` holds ``(a, b, length, attrs, edge)`` tuples; ``edge`` is kept on the graph edge.
    """
    own: dict[str, list[tuple]] = defaultdict(list)
    foreign: list[tuple] = []
    for a, b, w, attrs, edge in pieces:
        own[attrs["ref"]].append((a, b, w, edge))
        if attrs["geometry_source"] == "surveyed" and w <= _FOREIGN_PIECE_M:
            foreign.append((a, b, w, edge, attrs["ref"]))
    out: dict[str, nx.Graph] = {}
    for ref, items in own.items():
        g = nx.Graph()
        extra = [(a, b, w, e) for a, b, w, e, r in foreign if r != ref] \
            if _road_class_of(ref) == "motorway" else []
        for a, b, w, e in items + extra:
            if not g.has_edge(a, b) or g[a][b]["w"] > w:
                g.add_edge(a, b, w=w, edge=e)
        out[ref] = g
    return out


def _hatris_link_paths(G: nx.MultiDiGraph, pairs: pd.DataFrame) -> list[dict]:
    """Route each HATRIS junction pair through the built graph along its own road."""
    if not len(pairs):
        return []
    by_ref = _ref_graphs([(u, v, float(d["length"]), d, (u, v, k))
                          for u, v, k, d in G.edges(keys=True, data=True)])
    out = []
    for (a, b, ref), grp in pairs.groupby(["a", "b", "ref"]):
        g = by_ref.get(ref)
        if g is None or a not in g or b not in g:
            continue
        try:
            path = nx.dijkstra_path(g, a, b, weight="w")
        except nx.NetworkXNoPath:
            continue
        edges = [g[p][q]["edge"] for p, q in zip(path[:-1], path[1:], strict=True)]
        out.append({"a": int(a), "b": int(b), "ref": ref,
                    "link_refs": "; ".join(sorted(grp["link_ref"])),
                    "edges": [tuple(int(i) for i in e) for e in edges]})
    return out


def _area_geometry(area: str | BaseGeometry | None, settings: Settings
                   ) -> tuple[BaseGeometry | None, str]:
    if area is None:
        return None, "the shipped extent"
    if isinstance(area, BaseGeometry):
        if area.is_empty:
            raise ParameterError("area is an empty geometry")
        return area, "the given area"
    if isinstance(area, str):
        from hotspots.spatial.boundaries import area_geometry

        return area_geometry(area, settings), repr(area)
    raise ParameterError(f"area must be a district name, 'force', a shapely geometry or None, "
                         f"not {type(area).__name__}")


def _clip(G: nx.MultiDiGraph, area: BaseGeometry, label: str) -> nx.MultiDiGraph:
    """Keep whole edges that touch ``area`` (routes across it stay intact)."""
    keys = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True)
            if d.get("geometry") is not None and d["geometry"].intersects(area)]
    if not keys:
        raise NoDataError(f"no Strategic Road Network road within {label}")
    H = G.edge_subgraph(keys).copy()
    H.graph = dict(G.graph)
    kept = set(keys)
    H.graph["links"] = [lk for lk in G.graph.get("links", [])
                        if all(tuple(e) in kept for e in lk["edges"])]
    return H


def _hash_inputs(paths: dict[str, Path], extra: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(paths):
        h.update(name.encode())
        h.update(paths[name].read_bytes())
    h.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return h.hexdigest()


def build_srn_graph(settings: Settings | None = None, *, area: str | BaseGeometry | None = None,
                    cache: bool = True) -> nx.MultiDiGraph:
    """Build the Strategic Road Network graph from the shipped road data.

    Motorways come from OS OpenRoads (surveyed centre lines, ``geometry_source="surveyed"``),
    cut where the HATRIS junction clusters join them by short connector edges
    (``road_class="link"``, ``geometry_source="connector"``). Trunk A-roads, and motorway links
    beyond the OpenRoads extract, have no line geometry in the data: their alignment is derived
    as junction -> WebTRIS counter sites of that road ordered along the link -> junction
    (``geometry_source="approximate"``). Named OSM services are nodes of kind ``services``
    joined to the nearest carriageway of the road their name gives (else the nearest SRN road).

    Parameters
    ----------
    settings : Settings, optional
        Reads ``settings.data_dir / "roads"``; the cache lives in ``settings.data_dir / "cache"``.
    area : str or shapely geometry, optional
        Keep only edges touching this area (a district name, ``"force"``, or a polygon in
        EPSG:27700). Default: everything shipped (the county plus about 10 km around).
    cache : bool
        Reuse (and write) a pickled graph keyed by a hash of the input files' bytes and the
        build parameters.

    Returns
    -------
    networkx.MultiDiGraph
        osmnx-compatible, ``graph["crs"] == "EPSG:27700"``. Nodes: ``x``, ``y``, ``lon``,
        ``lat``, ``name`` (e.g. ``"M6 J2"``, ``"M42 J7 / M6 J4"``, ``"A45 / A46"``), ``alias``
        (e.g. ``"Tollbar End"``), ``kind`` (``junction``, ``services``, ``end``, ``via``),
        ``roads`` (``"; "``-joined). Edges: ``ref``, ``road_class`` (``motorway``, ``trunk``,
        ``link``), ``length`` (m), ``speed_kph`` (see :data:`SPEEDS_KPH`), ``travel_time``
        (s), ``geometry``, ``geometry_source``, ``oneway``, ``link`` (HATRIS LinkRefs for
        derived edges). ``graph["links"]`` lists each HATRIS junction pair with the edges that
        carry it (used by :func:`hotspots.spatial.corridors.link_stats`).

    Raises
    ------
    InputError
        A road data file is missing or unreadable.
    NoDataError
        ``area`` holds no SRN road.
    """
    settings = settings or load_settings()
    paths = _road_paths(settings)
    geom, label = _area_geometry(area, settings)
    cache_file = None
    if cache:
        key = _hash_inputs(paths, {**_build_params(), "area": geom.wkb_hex if geom else None})
        cache_file = settings.data_dir / "cache" / f"srn-graph-{key[:24]}.pickle"
        if cache_file.is_file():
            try:
                with open(cache_file, "rb") as fh:
                    G = pickle.load(fh)
                if isinstance(G, nx.MultiDiGraph):
                    return G
            except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never fatal
                pass
    layers = {name: _read_layer(p) for name, p in paths.items()}
    G = _build_from_layers(layers)
    if geom is not None:
        G = _clip(G, geom, label)
    if cache_file is not None:
        _write_cache(G, cache_file)
    return G


def _write_cache(G: nx.MultiDiGraph, path: Path) -> None:
    """Pickle ``G`` to ``path`` atomically; a read-only data folder only costs a rebuild."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".srn-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(G, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the dashboard may run as another user
        os.replace(tmp, path)
        tmp = None
        # Every input change or area leaves a new entry: keep the most recent few only.
        old = sorted(path.parent.glob("srn-graph-*.pickle"), key=lambda f: f.stat().st_mtime)
        for stale in old[:-_CACHE_KEEP]:
            stale.unlink(missing_ok=True)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# OpenStreetMap -> graph
# --------------------------------------------------------------------------------------------

_SRN_HIGHWAYS = ("motorway", "motorway_link", "trunk", "trunk_link")


@dataclass
class _OsmExtract:
    nodes: dict[int, tuple[float, float]] = field(default_factory=dict)  # id -> (lon, lat)
    node_tags: dict[int, dict] = field(default_factory=dict)  # junction nodes' tags
    ways: list[tuple[int, list[int], dict]] = field(default_factory=list)
    services: list[tuple[int, str, list[int] | tuple[float, float]]] = field(default_factory=list)


def _read_osm_xml(path: Path) -> _OsmExtract:
    """Read the SRN ways, junction nodes and services from an OSM XML file, in two passes."""
    ext = _OsmExtract()
    wanted: set[int] = set()
    tagged_nodes: dict[int, tuple[float, float, dict]] = {}

    def parse(handler) -> None:
        try:
            root_seen = False
            for event, elem in ET.iterparse(path, events=("start", "end")):
                if event == "start":
                    if not root_seen:
                        root_seen = True
                        if elem.tag != "osm":
                            raise InputError(f"{path}: not an OpenStreetMap XML file "
                                             f"(root element <{elem.tag}>, expected <osm>)")
                    continue
                if elem.tag in ("node", "way"):
                    handler(elem)
                    elem.clear()
        except ET.ParseError as exc:
            raise InputError(f"{path}: corrupt or truncated OpenStreetMap XML ({exc})") from None

    def first_pass(elem) -> None:
        tags = {t.get("k"): t.get("v") for t in elem.findall("tag")}
        if elem.tag == "node":
            if tags.get("highway") in ("motorway_junction", "services"):
                tagged_nodes[int(elem.get("id"))] = (float(elem.get("lon")),
                                                     float(elem.get("lat")), tags)
            return
        refs = [int(nd.get("ref")) for nd in elem.findall("nd")]
        hw = tags.get("highway")
        if hw in _SRN_HIGHWAYS and len(refs) >= 2:
            ext.ways.append((int(elem.get("id")), refs, tags))
            wanted.update(refs)
        elif hw == "services" and len(refs) >= 3:
            ext.services.append((int(elem.get("id")), tags.get("name", "services"), refs))
            wanted.update(refs)

    def second_pass(elem) -> None:
        if elem.tag == "node":
            nid = int(elem.get("id"))
            if nid in wanted:
                ext.nodes[nid] = (float(elem.get("lon")), float(elem.get("lat")))

    try:
        parse(first_pass)
        if ext.ways:
            parse(second_pass)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed OpenStreetMap element ({exc})") from None
    for nid, (lon, lat, tags) in tagged_nodes.items():
        if tags.get("highway") == "services":
            ext.services.append((nid, tags.get("name", "services"), (lon, lat)))
        else:
            ext.node_tags[nid] = tags
    return ext


def _read_osm_pbf(path: Path) -> _OsmExtract:
    try:
        import osmium
    except ImportError:
        raise InputError(f"{path}: reading .osm.pbf needs the optional package osmium "
                         "(pip install osmium), or convert the file to .osm XML") from None
    ext = _OsmExtract()

    class Handler(osmium.SimpleHandler):
        def node(self, n) -> None:
            hw = n.tags.get("highway")
            if hw == "motorway_junction":
                ext.node_tags[n.id] = {t.k: t.v for t in n.tags}
            elif hw == "services":
                ext.services.append((n.id, n.tags.get("name", "services"),
                                     (n.location.lon, n.location.lat)))

        def way(self, w) -> None:
            hw = w.tags.get("highway")
            if hw not in _SRN_HIGHWAYS and hw != "services":
                return
            refs, pts = [], []
            for nd in w.nodes:
                if not nd.location.valid():
                    continue
                refs.append(nd.ref)
                pts.append((nd.location.lon, nd.location.lat))
            if hw == "services":
                if len(pts) >= 3:
                    ext.services.append((w.id, w.tags.get("name", "services"), refs))
                    ext.nodes.update(zip(refs, pts, strict=True))
                return
            if len(refs) >= 2:
                ext.ways.append((w.id, refs, {t.k: t.v for t in w.tags}))
                ext.nodes.update(zip(refs, pts, strict=True))

    try:
        Handler().apply_file(str(path), locations=True)
    except RuntimeError as exc:
        raise InputError(f"{path}: corrupt or truncated .osm.pbf "
                         f"({str(exc).splitlines()[0] if str(exc) else 'unreadable'})") from None
    return ext


def _write_filtered_xml(ext: _OsmExtract, path: Path) -> None:
    """Write only the SRN ways and their nodes, for osmnx.graph_from_xml."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
        used = {n for _, refs, _ in ext.ways for n in refs}
        for nid in sorted(used):
            if nid not in ext.nodes:
                continue
            lon, lat = ext.nodes[nid]
            tags = ext.node_tags.get(nid, {})
            body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()
                           if k in ("highway", "ref", "name"))
            fh.write(f'<node id="{nid}" lat="{lat:.7f}" lon="{lon:.7f}">{body}</node>\n')
        for wid, refs, tags in ext.ways:
            nds = "".join(f'<nd ref="{n}"/>' for n in refs if n in ext.nodes)
            body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
            fh.write(f'<way id="{wid}">{nds}{body}</way>\n')
        fh.write("</osm>\n")


def _first(value: Any) -> Any:
    """First non-null of an osmnx attribute that may be a list after simplification."""
    if isinstance(value, (list, tuple)):
        return next((v for v in value if v is not None and v == v), None)
    return None if value is None or value != value else value


def _finish_osm_graph(G: nx.MultiDiGraph, services: list[tuple[int, str, tuple[float, float]]],
                      source: str, node_tags: dict[int, dict] | None = None
                      ) -> nx.MultiDiGraph:
    """Simplify, project and label an osmnx graph of SRN ways; add services.

    ``node_tags`` gives the full tags of junction nodes (osmnx keeps only a few, not ``name``).
    """
    node_tags = node_tags or {}
    import osmnx as ox

    for _n, d in G.nodes(data=True):
        if d.get("highway") == "motorway_junction":
            d["is_motorway_junction"] = True
    G = ox.simplify_graph(G, node_attrs_include=["is_motorway_junction"])
    G = ox.project_graph(G, to_crs=BNG)
    nodes, edges = ox.graph_to_gdfs(G)
    # motorway refs of the ways through each junction node, for "M6 J2"
    refs_at: dict[int, list[str]] = defaultdict(list)
    for (u, v, _k), row in edges.iterrows():
        hw = _first(row.get("highway"))
        ref = _first(row.get("ref"))
        if hw == "motorway" and isinstance(ref, str) and ref:
            for n in (u, v):
                r = _norm_ref(ref.split(";")[0])
                if r not in refs_at[n]:
                    refs_at[n].append(r)
    lines: list[_Line] = []
    seen: dict[tuple, int] = {}
    for (u, v, _k), row in edges.iterrows():
        hw = str(_first(row.get("highway")) or "")
        rc = "link" if hw.endswith("_link") else ("motorway" if hw == "motorway" else "trunk")
        ref = _norm_ref(str(_first(row.get("ref")) or "").split(";")[0])
        geom = row.geometry
        coords = np.asarray(geom.coords)[:, :2]
        # osmnx keeps both directions of a two-way way as twin edges: make them one record
        twin = (min(u, v), max(u, v), round(float(geom.length), 1))
        if twin in seen and u != v:
            other = lines[seen[twin]]
            if np.allclose(other.coords[0], coords[-1]) and np.allclose(other.coords[-1],
                                                                         coords[0]):
                other.bwd = True
                continue
        seen[twin] = len(lines)
        lines.append(_Line(coords, True, False, {
            "ref": ref, "name": str(_first(row.get("name")) or ref), "road_class": rc,
            "highway": hw, "geometry_source": "osm", "link": "",
            "osm_way": str(_first(row.get("osmid")) or "")}))
    if not lines:
        raise NoDataError(f"{source}: no motorway or trunk roads in this OpenStreetMap data")
    # Slip roads rarely carry a ref in OSM: give them the road they leave or join.
    road_refs: dict[tuple[float, float], str] = {}
    for ln in lines:
        if ln.attrs["road_class"] != "link" and ln.attrs["ref"]:
            for end in (ln.coords[0], ln.coords[-1]):
                road_refs.setdefault(_key(*end), ln.attrs["ref"])
    for ln in lines:
        if ln.attrs["road_class"] == "link" and not ln.attrs["ref"]:
            ln.attrs["ref"] = road_refs.get(_key(*ln.coords[0])) or \
                road_refs.get(_key(*ln.coords[-1])) or ""

    known: dict[tuple[float, float], dict] = {}
    for nid, row in nodes.iterrows():
        kind, name, alias = "via", "", ""
        if row.get("highway") == "motorway_junction":
            kind = "junction"
            tags = node_tags.get(nid, {})
            jref = str(_first(row.get("ref")) or tags.get("ref") or "").strip()
            alias = str(tags.get("name") or "")
            roads = refs_at.get(nid) or [""]
            name = " / ".join(sorted(f"{r} J{jref.upper()}".strip() for r in roads)) if jref \
                else (alias or f"{roads[0]} junction".strip())
        known[_key(row["x"], row["y"])] = {"osmid": int(nid), "name": name, "kind": kind,
                                           "roads": "; ".join(refs_at.get(nid, [])),
                                           "alias": alias}
    # Both carriageways carry their own "M6 J2" node: same name on purpose, merged by
    # junctions_frame(); no compass suffix here.
    tree, geoms = _line_tree(lines)
    refs = np.array([ln.attrs["ref"] for ln in lines])
    roadlike = np.array([ln.attrs["road_class"] != "link" for ln in lines])
    requests, svc = [], []
    for sid, sname, lonlat in services:
        from hotspots.spatial.crs import to_bng

        x, y = to_bng(np.array([lonlat[0]]), np.array([lonlat[1]]))
        p = Point(float(x[0]), float(y[0]))
        hint = [_norm_ref(h) for h in _ROAD_IN_TEXT.findall(str(sname))]
        idx = np.flatnonzero(np.isin(refs, hint) & roadlike) if hint else np.array([], int)
        if not len(idx):
            idx = np.asarray(tree.query(p, predicate="dwithin", distance=_SERVICES_SNAP_M))
            idx = idx[roadlike[idx]] if len(idx) else idx
        if not len(idx):
            continue
        dist = shapely.distance(geoms[idx], p)
        if dist.min() > _SERVICES_SNAP_M:
            continue
        j = int(idx[int(np.argmin(dist))])
        svc.append((sid, sname, p, lines[j].attrs["ref"], len(requests)))
        requests.append((j, float(geoms[j].project(p))))
    lines, where = _split_lines(lines, requests)
    # OSM numbers nodes and ways separately: a services area's way id may equal a node id.
    taken = {int(n) for n in nodes.index}
    spare = max(taken | {int(s[0]) for s in services} | {0}) + 1
    for sid, sname, p, ref, r in svc:
        if int(sid) in taken:
            sid, spare = spare, spare + 1
        taken.add(int(sid))
        known[_key(p.x, p.y)] = {"osmid": int(sid), "name": str(sname), "kind": "services",
                                 "roads": ref, "alias": ""}
        lines.append(_Line(np.vstack([[p.x, p.y], where[r]]), True, True, {
            "ref": ref, "name": f"{sname} access", "road_class": "link", "highway": "services",
            "geometry_source": "connector", "link": "", "osm_way": ""}))
    n_gdf, e_gdf = _assemble(lines, known, first_id=spare)
    return _to_graph(n_gdf, e_gdf, {
        "source": source,
        "attribution": "© OpenStreetMap contributors, ODbL",
        "speeds_kph": dict(SPEEDS_KPH),
    })


def graph_from_osm(path: str | os.PathLike, *, area: str | BaseGeometry | None = None,
                   settings: Settings | None = None) -> nx.MultiDiGraph:
    """Build an SRN graph from an OpenStreetMap extract the user supplies.

    Keeps ``highway`` = ``motorway``, ``trunk`` and their ``_link`` roads; names
    ``highway=motorway_junction`` nodes from their ``ref`` and the motorway's (ref ``2`` on an
    ``M6`` way gives ``"M6 J2"``; the node's own ``name``, if any, becomes its alias); adds
    ``highway=services`` nodes and areas as ``services`` nodes joined to the nearest carriageway.
    Built with :func:`osmnx.graph_from_xml` (offline) and projected to EPSG:27700.

    Parameters
    ----------
    path : path-like
        ``.osm`` XML (optionally ``.osm.gz``/``.osm.bz2`` is *not* read: decompress first), or
        ``.osm.pbf`` when the optional package ``osmium`` is installed.
    area : str or shapely geometry, optional
        Keep only edges touching this area (see :func:`build_srn_graph`).
    settings : Settings, optional
        Needed only to resolve a district name in ``area``.

    Returns
    -------
    networkx.MultiDiGraph
        Same attributes as :func:`build_srn_graph`, with ``geometry_source="osm"`` for mapped
        roads and ``"connector"`` for services access edges. Speeds are the class defaults of
        :data:`SPEEDS_KPH` (OSM ``maxspeed`` is a legal limit, not a planning speed).

    Raises
    ------
    InputError
        Missing, corrupt or truncated file; ``.pbf`` without ``osmium``.
    NoDataError
        No motorway or trunk road in the file, or none within ``area``.
    """
    import osmnx as ox

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: OpenStreetMap file not found")
    name = p.name.lower()
    if name.endswith(".pbf"):
        ext = _read_osm_pbf(p)
    elif name.endswith((".osm", ".xml")):
        ext = _read_osm_xml(p)
    else:
        raise InputError(f"{p}: not an OpenStreetMap extract (expected .osm or .osm.pbf)")
    if not ext.ways:
        raise NoDataError(f"{p}: no motorway or trunk roads in this OpenStreetMap file")
    service_points: list[tuple[int, str, tuple[float, float]]] = []
    for sid, sname, where in ext.services:
        if isinstance(where, tuple):
            service_points.append((sid, sname, where))
        else:
            pts = [ext.nodes[n] for n in where if n in ext.nodes]
            if len(pts) >= 3:
                c = shapely.Polygon(pts).centroid if len(pts) >= 4 else shapely.MultiPoint(
                    pts).centroid
                service_points.append((sid, sname, (c.x, c.y)))
    with tempfile.TemporaryDirectory(prefix="hotspots-osm-") as tmp:
        filtered = Path(tmp) / "srn.osm"
        _write_filtered_xml(ext, filtered)
        try:
            raw = ox.graph_from_xml(filtered, simplify=False, retain_all=True)
        except Exception as exc:  # noqa: BLE001 - osmnx raises many types on odd data
            raise InputError(f"{p}: osmnx could not build a graph "
                             f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                             ) from None
    G = _finish_osm_graph(raw, service_points, source=str(p), node_tags=ext.node_tags)
    geom, label = _area_geometry(area, settings or load_settings()) if area is not None \
        else (None, "")
    return _clip(G, geom, label) if geom is not None else G


def download_srn_graph(polygon: BaseGeometry | None = None, *, allow_download: bool = False,
                       settings: Settings | None = None) -> nx.MultiDiGraph:
    """Download the SRN from OpenStreetMap (Overpass) with osmnx; off unless asked for.

    Parameters
    ----------
    polygon : shapely geometry, optional
        Area in EPSG:27700. Default: the force area buffered by 10 km.
    allow_download : bool
        Must be True: nothing leaves the machine by default.
    settings : Settings, optional

    Returns
    -------
    networkx.MultiDiGraph
        As :func:`graph_from_osm`.

    Raises
    ------
    ParameterError
        ``allow_download`` is False.
    InputError
        The download failed (no network, Overpass refused).
    """
    if not allow_download:
        raise ParameterError("downloading roads from OpenStreetMap is off: pass "
                             "allow_download=True (needs internet access), or read an extract "
                             "you downloaded with graph_from_osm(path)")
    import osmnx as ox

    from hotspots.spatial.boundaries import area_geometry

    settings = settings or load_settings()
    poly = polygon if polygon is not None else area_geometry(None, settings).buffer(10_000)
    poly_wgs = gpd.GeoSeries([poly], crs=BNG).to_crs("EPSG:4326").iloc[0]
    filt = '["highway"~"^(motorway|motorway_link|trunk|trunk_link)$"]'
    try:
        raw = ox.graph_from_polygon(poly_wgs, custom_filter=filt, simplify=False,
                                    retain_all=True)
        feats = ox.features_from_polygon(poly_wgs, tags={"highway": "services"})
    except Exception as exc:  # noqa: BLE001 - network and Overpass errors vary
        raise InputError(f"OpenStreetMap download failed ({str(exc).splitlines()[0]})") from None
    services = [(int(i[1]) if isinstance(i, tuple) else int(i), str(r.get("name") or "services"),
                 (r.geometry.centroid.x, r.geometry.centroid.y)) for i, r in feats.iterrows()]
    return _finish_osm_graph(raw, services, source="OpenStreetMap download")


# --------------------------------------------------------------------------------------------
# Reading a graph
# --------------------------------------------------------------------------------------------

def _check_graph(graph: nx.MultiDiGraph) -> None:
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
    _check_graph(graph)
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


def junctions_frame(graph: nx.MultiDiGraph, *, kinds: Sequence[str] = ("junction",),
                    merge_m: float = 3000.0) -> pd.DataFrame:
    """One row per named junction; same-named nodes within ``merge_m`` are merged.

    OSM maps a motorway junction on each carriageway (two ``"M6 J2"`` nodes): they are one
    junction to an officer, so they become one row at their mean position.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``alias``, ``kind``, ``roads``, ``x``, ``y``, ``lon``, ``lat``, ``nodes``
        (tuple of node ids), sorted by name.
    """
    _check_graph(graph)
    rows = [(n, d) for n, d in graph.nodes(data=True) if d.get("kind") in kinds and d.get("name")]
    if not rows:
        raise NoDataError("the graph has no named junctions")
    df = pd.DataFrame({"node": [n for n, _ in rows],
                       "name": [str(d["name"]) for _, d in rows],
                       "alias": [str(d.get("alias") or "") for _, d in rows],
                       "kind": [str(d.get("kind")) for _, d in rows],
                       "roads": [str(d.get("roads") or "") for _, d in rows],
                       "x": [float(d["x"]) for _, d in rows],
                       "y": [float(d["y"]) for _, d in rows]})
    out = []
    for name, grp in df.groupby("name", sort=True):
        pts = grp[["x", "y"]].to_numpy()
        # single-linkage within merge_m, so far-apart namesakes stay separate junctions
        label = np.arange(len(grp))
        if len(grp) > 1:
            tree = cKDTree(pts)
            for i, j in sorted(tree.query_pairs(merge_m)):
                li, lj = label[i], label[j]
                label[label == lj] = li
        for lab in np.unique(label):
            g = grp[label == lab]
            out.append({"name": name, "alias": next((a for a in g["alias"] if a), ""),
                        "kind": g["kind"].iloc[0],
                        "roads": "; ".join(dict.fromkeys(
                            r for rs in g["roads"] for r in rs.split("; ") if r)),
                        "x": float(g["x"].mean()), "y": float(g["y"].mean()),
                        "nodes": tuple(g["node"].tolist())})
    res = pd.DataFrame(out)
    lon, lat = to_wgs84(res["x"].to_numpy(), res["y"].to_numpy())
    res["lon"], res["lat"] = lon, lat
    return res[["name", "alias", "kind", "roads", "x", "y", "lon", "lat", "nodes"]]


def find_junction(graph: nx.MultiDiGraph, query: str | int) -> list[int]:
    """Return the node id(s) of a junction named like ``"M6 J2"``, ``"m6 junction 2"``,
    ``"M42 J7"`` (part of ``"M42 J7 / M6 J4"``) or ``"A46 Tollbar End"``; a node id passes.

    Raises
    ------
    ParameterError
        Nothing matches (the message suggests the closest names).
    """
    if isinstance(query, (int, np.integer)) and not isinstance(query, bool):
        if query in graph:
            return [int(query)]
        raise ParameterError(f"node {query} is not in the graph")
    q = _norm_query(str(query))
    if not q:
        raise ParameterError("empty junction name")
    jf = junctions_frame(graph, kinds=("junction", "services", "end"))
    exact, partial = [], []
    for row in jf.itertuples():
        parts = [row.name, *row.name.split(" / ")]
        if row.alias:
            parts += [row.alias] + [f"{r} {row.alias}" for r in row.roads.split("; ") if r]
        normed = [_norm_query(p) for p in parts]
        if q == normed[0]:
            return list(row.nodes)
        if q in normed:
            exact.append(row)
        elif any(q in p for p in normed) and len(q) >= 3:
            partial.append(row)
    hits = exact or partial
    if len(hits) == 1:
        return list(hits[0].nodes)
    if hits:
        raise ParameterError(f"{query!r} matches several junctions: "
                             + ", ".join(h.name for h in hits[:8]))
    import difflib

    close = difflib.get_close_matches(str(query), jf["name"].tolist(), n=5, cutoff=0.5)
    raise ParameterError(f"no junction named {query!r}"
                         + (f"; did you mean {', '.join(close)}?" if close else ""))


def graph_summary(graph: nx.MultiDiGraph) -> dict:
    """Counts a report or the CLI can print: nodes, edges, km by geometry source, junctions."""
    et = edge_table(graph)
    km = (et.groupby("geometry_source")["length"].sum() / 1000).round(1)
    kinds = pd.Series([d.get("kind", "") for _, d in graph.nodes(data=True)]).value_counts()
    named = sum(1 for _, d in graph.nodes(data=True) if d.get("kind") == "junction"
                and d.get("name"))
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
            "road_km": {str(k): float(v) for k, v in km.items()},
            "nodes_by_kind": {str(k): int(v) for k, v in kinds.items()},
            "named_junctions": int(named),
            "weakly_connected_components": nx.number_weakly_connected_components(graph)}


# --------------------------------------------------------------------------------------------
# Drive-time model
# --------------------------------------------------------------------------------------------

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


def _exits(graph: nx.MultiDiGraph, T: dict) -> pd.DataFrame:
    """Places a vehicle can leave the SRN, with the network time to reach them.

    Motorways are left only at junctions (and where the data stops); trunk A-roads have
    at-grade accesses, approximated by points every 200 m along them.
    """
    rows_x, rows_y, rows_t, rows_n = [], [], [], []
    for n, d in graph.nodes(data=True):
        if d.get("kind") in ("junction", "end") and n in T:
            rows_x.append(float(d["x"]))
            rows_y.append(float(d["y"]))
            rows_t.append(float(T[n]))
            rows_n.append(str(d.get("name") or d.get("kind")))
    for u, _v, d in graph.edges(data=True):
        if d.get("road_class") != "trunk" or u not in T:
            continue
        geom = d["geometry"]
        length = float(geom.length)
        s = np.r_[np.arange(0.0, length, _TRUNK_EXIT_SPACING_M), length]
        pts = shapely.line_interpolate_point(geom, s)
        rows_x += list(shapely.get_x(pts))
        rows_y += list(shapely.get_y(pts))
        rows_t += list(T[u] + s / length * float(d["travel_time"]))
        rows_n += [f"{d.get('ref') or 'trunk road'} roadside"] * len(s)
    return pd.DataFrame({"x": rows_x, "y": rows_y, "t": rows_t, "name": rows_n})


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
    _check_graph(graph)
    if not (1.0 <= circuity <= 3.0):
        raise ParameterError(f"circuity {circuity} is outside 1-3 (road distance / straight line)")
    if not (5.0 <= local_speed_kph <= 130.0):
        raise ParameterError(f"local_speed_kph {local_speed_kph} is outside 5-130 km/h")
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    if x.shape != y.shape:
        raise ParameterError(f"x and y differ in length ({x.size} vs {y.size})")
    src_list = [sources] if isinstance(sources, (str, int, np.integer)) else list(sources)
    if not src_list:
        raise ParameterError("no source junction given")
    src_nodes = sorted({n for s in src_list for n in find_junction(graph, s)})
    T = nx.multi_source_dijkstra_path_length(graph, src_nodes, weight="travel_time")
    exits = _exits(graph, T)
    speed_ms = local_speed_kph / 3.6
    n = x.size
    seconds = np.full(n, np.nan)
    network_s = np.full(n, np.nan)
    access_m = np.full(n, np.nan)
    exit_name = np.full(n, "", dtype=object)
    ok = np.isfinite(x) & np.isfinite(y)
    if exits.empty:
        seconds[ok] = np.inf
        return DriveTimes(seconds, network_s, seconds - network_s, access_m, exit_name,
                          "network+circuity" if local_graph is None else "network+local-graph",
                          float(circuity), float(local_speed_kph), tuple(src_nodes))
    ex = exits[["x", "y"]].to_numpy()
    et = exits["t"].to_numpy()
    pts = np.c_[x[ok], y[ok]]
    if local_graph is None:
        method = "network+circuity"
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
        dist = np.hypot(*(pts - ex[best_i]).T)
        seconds[ok] = best_t
        network_s[ok] = et[best_i]
        access_m[ok] = dist * circuity
        exit_name[ok] = exits["name"].to_numpy()[best_i]
    else:
        method = "network+local-graph"
        lg = local_graph
        crs = str(lg.graph.get("crs", ""))
        if "27700" not in crs:
            if not crs:
                raise ParameterError("local_graph has no 'crs' graph attribute")
            import osmnx as ox

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
        total = dist[i_pt] + d_pt / speed_ms
        used = origin[i_pt]
        seconds[ok] = total
        net = np.where(used >= 0, et[np.maximum(used, 0)], np.nan)
        network_s[ok] = net
        access_m[ok] = along[i_pt] + d_pt
        exit_name[ok] = np.where(used >= 0, exits["name"].to_numpy()[np.maximum(used, 0)], "")
    return DriveTimes(seconds, network_s, seconds - network_s, access_m, exit_name, method,
                      float(circuity), float(local_speed_kph), tuple(src_nodes))
