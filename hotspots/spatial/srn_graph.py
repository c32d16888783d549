"""The Strategic Road Network graph built from the shipped road layers, cached on disk."""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from hotspots import forces as force_registry
from hotspots.config import Settings
from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.spatial.boundaries import (
    area_geometry,
    detailed_force,
    force_area,
    national_forces,
)
from hotspots.spatial.crs import BNG
from hotspots.spatial.road_lines import (
    SPEEDS_KPH,
    RoadLine,
    assemble_lines,
    edge_table,
    line_tree,
    lines_to_graph,
    node_key,
    split_lines,
)
from hotspots.spatial.road_names import (
    ROAD_IN_TEXT,
    disambiguate,
    junction_label,
    norm_ref,
    parse_list,
    road_class_of,
    road_sort_key,
)
from hotspots.spatial.srn_national import (
    NATIONAL_FILES,
    OSM_HINT,
    forces_at,
    graph_from_sections,
    read_national,
)

__all__ = [
    "DEFAULT_BUFFER_M",
    "ROAD_FILES",
    "build_srn_graph",
    "force_areas",
    "srn_graph_for",
    "graph_summary",
]

#: Shipped road layers, under ``settings.data_dir / "roads"``.
ROAD_FILES = {
    "motorways": "motorways.parquet",
    "junctions": "srn_junctions.parquet",
    "links": "srn_links.parquet",
    "sites": "webtris_sites.parquet",
    "services": "osm_services.parquet",
}

#: Local names of junctions, under ``settings.data_dir / "roads"``.
ALIASES_FILE = "junction_aliases.csv"

# Bump when the build changes what it produces, so stale caches are not reused.
_BUILD_VERSION = "3"
_NATIONAL_VERSION = "4"

#: Metres of road kept around the forces' areas in the national graph: routes that leave and
#: re-enter the area, and the junctions just over the border, stay in.
DEFAULT_BUFFER_M = 10_000.0

# A HATRIS junction cluster is the mean of its link ends; big interchanges put it a few hundred
# metres off each carriageway, so it is joined to motorway lines up to this far away.
_JUNCTION_SNAP_M = 1500.0

# Services further than this from any SRN carriageway are not on the SRN (e.g. truck stops on
# local roads) and are left out.
SERVICES_SNAP_M = 1000.0

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

# Cached graphs kept in the cache folder (one per input/area combination), newest first.
_CACHE_KEEP = 8


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
    return norm_ref(head)


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
            "services_snap": SERVICES_SNAP_M, "detour": [_DETOUR_RATIO, _DETOUR_EXTRA_M],
            "site_merge": _SITE_MERGE_M}


def read_aliases(settings: Settings) -> list[tuple[str, float, float]]:
    """Well-known local names of junctions (``data/roads/junction_aliases.csv``: ``name``,
    ``x``, ``y`` in EPSG:27700, ``note``); none when the file is absent.

    They are aliases only, matched to the nearest junction within 500 m: the canonical name
    stays the road/junction-number one.
    """
    path = settings.data_dir / "roads" / ALIASES_FILE
    if not path.is_file():
        return []
    try:
        table = pd.read_csv(path, dtype={"name": str})
        return [(str(r.name), float(r.x), float(r.y)) for r in table.itertuples()
                if str(r.name).strip()]
    except (ValueError, AttributeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read junction aliases ({exc})") from None


def _junction_clusters(junctions: gpd.GeoDataFrame, links: pd.DataFrame
                       ) -> tuple[dict[int, np.ndarray], dict[int, list[str]],
                                  dict[int, list[str]]]:
    """Position, HATRIS names and SRN roads of every junction cluster a link touches.

    Clusters missing from the junction file sit at the mean of their link ends.
    """
    cxy: dict[int, np.ndarray] = {}
    cnames: dict[int, list[str]] = defaultdict(list)
    croads: dict[int, list[str]] = defaultdict(list)
    for row in junctions.itertuples():
        cid = int(row.cluster_id)
        cxy[cid] = np.array([row.geometry.x, row.geometry.y])
        cnames[cid] += parse_list(row.junction_names)
        croads[cid] += [norm_ref(r) for r in parse_list(row.roads)]
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
    return cxy, cnames, croads


def _name_junctions(cxy: dict[int, np.ndarray], cnames: dict[int, list[str]],
                    croads: dict[int, list[str]], aliases: list[tuple[str, float, float]]
                    ) -> tuple[dict[int, str], dict[int, bool], dict[int, str]]:
    """Officer-style label, county-border flag and local alias of each junction cluster."""
    labels: dict[int, str] = {}
    border: dict[int, bool] = {}
    for cid in cxy:
        labels[cid], border[cid] = junction_label(cnames[cid], croads[cid])
    labels = disambiguate(labels, {c: tuple(p) for c, p in cxy.items()})
    alias = {}
    cids = np.array(list(cxy))
    cpts = np.array([cxy[c] for c in cids])
    for name, x, y in aliases:
        d = np.hypot(cpts[:, 0] - x, cpts[:, 1] - y)
        if d.min() <= 500:
            alias[int(cids[d.argmin()])] = name
    return labels, border, alias


def _junction_pairs(links: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, set[str]]]:
    """HATRIS links as junction pairs (``a < b``, ``ref``, ``dir``, ``link_ref``), and the
    motorway refs whose links meet at each cluster."""
    refs_at: dict[int, set[str]] = defaultdict(set)
    pair_rows = []
    for row in links.itertuples():
        a, b = int(row.StartCluster), int(row.EndCluster)
        if a == b:
            continue  # a movement inside one junction cluster: no length in this model
        pair_rows.append({"a": min(a, b), "b": max(a, b), "ref": row.ref, "dir": (a, b),
                          "link_ref": row.LinkRef})
        if road_class_of(row.ref) == "motorway":
            refs_at[a].add(row.ref)
            refs_at[b].add(row.ref)
    return pd.DataFrame(pair_rows), refs_at


def _surveyed_lines(motorways: gpd.GeoDataFrame) -> list[RoadLine]:
    """OS OpenRoads motorway lines, both directions (OpenRoads carries no direction)."""
    lines: list[RoadLine] = []
    for row in motorways.itertuples():
        ref = norm_ref(row.ref)
        lines.append(RoadLine(np.asarray(row.geometry.coords)[:, :2], True, True,
                           {"ref": ref, "name": ref, "road_class": "motorway",
                            "highway": "motorway", "geometry_source": "surveyed", "link": ""}))
    return lines


def _join_junctions(lines: list[RoadLine], cxy: dict[int, np.ndarray],
                    refs_at: dict[int, set[str]], labels: dict[int, str]
                    ) -> tuple[list[RoadLine], list[RoadLine]]:
    """Cut the motorway lines where each junction joins them; return the lines and the
    connector lines from each junction to its motorways."""
    line_refs = np.array([ln.attrs["ref"] for ln in lines])
    _, geoms = line_tree(lines)
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
    lines, where = split_lines(lines, requests)
    conn_lines = []
    for cid, ref, r in connectors:
        end = np.array(where[r])
        if np.hypot(*(end - cxy[cid])) < 0.05:
            continue
        conn_lines.append(RoadLine(np.vstack([cxy[cid], end]), True, True,
                                {"ref": ref, "name": f"{labels[cid]} ({ref})",
                                 "road_class": "link", "highway": "motorway_link",
                                 "geometry_source": "connector", "link": ""}))
    return lines, conn_lines


def _carried_links(lines: list[RoadLine], pairs_all: pd.DataFrame, cxy: dict[int, np.ndarray]
                   ) -> set[tuple[int, int, str]]:
    """Motorway junction pairs the surveyed lines carry along their own road, no detour."""
    covered: set[tuple[int, int, str]] = set()
    mpairs = pairs_all[[road_class_of(r) == "motorway" for r in pairs_all["ref"]]] \
        if len(pairs_all) else pairs_all
    ref_graph = _ref_graphs(
        [(node_key(*ln.coords[0]), node_key(*ln.coords[-1]),
          float(np.hypot(*np.diff(ln.coords, axis=0).T).sum()), ln.attrs, None)
         for ln in lines])
    for (a, b, ref), _grp in mpairs.groupby(["a", "b", "ref"]):
        path = _path_along(ref_graph, ref, node_key(*cxy[a]), node_key(*cxy[b]))
        if path is None:
            continue
        g = ref_graph[ref]
        length = sum(g[p][q]["w"] for p, q in zip(path[:-1], path[1:], strict=True))
        straight = float(np.hypot(*(cxy[a] - cxy[b])))
        if length <= max(_DETOUR_RATIO * straight, straight + _DETOUR_EXTRA_M):
            covered.add((a, b, ref))
    return covered


def _derived_lines(pairs_all: pd.DataFrame, covered: set[tuple[int, int, str]],
                   cxy: dict[int, np.ndarray], sites: gpd.GeoDataFrame
                   ) -> tuple[list[RoadLine], int]:
    """Approximate alignments of the links no surveyed line carries (trunk roads, motorways
    off the extract): junction -> WebTRIS sites -> junction, in HATRIS's directions.

    Returns the lines and the number of merged site positions used.
    """
    site_pts = sites[sites["carriagewayType"] == "mainCarriageway"].copy()
    site_pts["road"] = [norm_ref(r) for r in site_pts["road_parsed"]]
    approx = pairs_all[[(a, b, r) not in covered for a, b, r in zip(
        pairs_all["a"], pairs_all["b"], pairs_all["ref"], strict=True)]] \
        if len(pairs_all) else pairs_all
    derived: list[RoadLine] = []
    n_sites_used = 0
    if not len(approx):
        return derived, n_sites_used
    uniq = approx.drop_duplicates(["a", "b", "ref"])[["a", "b", "ref"]]
    assigned = _assign_sites(uniq, cxy, site_pts)
    for (a, b, ref), grp in approx.groupby(["a", "b", "ref"]):
        coords, n = _derived_polyline(cxy[a], cxy[b], assigned.get((a, b), np.empty((0, 2))))
        n_sites_used += n
        dirs = set(grp["dir"])
        rc = road_class_of(ref)
        derived.append(RoadLine(coords, (a, b) in dirs, (b, a) in dirs, {
            "ref": ref, "name": ref, "road_class": rc, "highway": rc,
            "geometry_source": "approximate",
            "link": "; ".join(sorted(grp["link_ref"]))}))
    return derived, n_sites_used


def _join_services(lines: list[RoadLine], services: gpd.GeoDataFrame
                   ) -> tuple[list[RoadLine], dict[tuple[float, float], dict], list[str]]:
    """Join each named services area to the nearest carriageway of the road its name gives
    (else the nearest SRN road) within the snap distance.

    Returns the lines (cut at the joins, plus the access connectors), the services nodes to
    keep by position, and the names of the services left out as off the SRN.
    """
    named = services[~services["name_is_placeholder"].astype(bool)]
    tree, geoms = line_tree(lines)
    refs = np.array([ln.attrs["ref"] for ln in lines])
    requests, svc = [], []
    skipped = []
    for row in named.itertuples():
        p = row.geometry
        hint = ROAD_IN_TEXT.findall(str(row.name))
        idx = np.flatnonzero(np.isin(refs, [norm_ref(h) for h in hint])) if hint else []
        if not len(idx):
            idx = tree.query(p, predicate="dwithin", distance=SERVICES_SNAP_M)
        if not len(idx):
            skipped.append(str(row.name))
            continue
        dist = shapely.distance(geoms[idx], p)
        j = int(idx[int(np.argmin(dist))])
        if dist.min() > SERVICES_SNAP_M:
            skipped.append(str(row.name))
            continue
        svc.append((row, lines[j].attrs["ref"], len(requests)))
        requests.append((j, float(geoms[j].project(p))))
    lines, where = split_lines(lines, requests)
    known: dict[tuple[float, float], dict] = {}
    for row, ref, r in svc:
        sx, sy = row.geometry.x, row.geometry.y
        end = np.array(where[r])
        known[node_key(sx, sy)] = {"osmid": int(row.osm_id), "name": str(row.name),
                                   "kind": "services", "roads": ref, "alias": "",
                                   "operator": str(row.operator)}
        lines.append(RoadLine(np.vstack([[sx, sy], end]), True, True, {
            "ref": ref, "name": f"{row.name} access", "road_class": "link",
            "highway": "motorway_link" if road_class_of(ref) == "motorway" else "trunk_link",
            "geometry_source": "connector", "link": ""}))
    return lines, known, skipped


def _build_from_layers(layers: dict[str, gpd.GeoDataFrame],
                       aliases: list[tuple[str, float, float]]) -> nx.MultiDiGraph:
    """Assemble the graph: junctions, surveyed motorways, derived links, services."""
    links = layers["links"].copy()
    links["ref"] = [_link_ref(d, r) for d, r in zip(links["LinkDescription"], links["road"],
                                                     strict=True)]
    cxy, cnames, croads = _junction_clusters(layers["junctions"], links)
    in_file = set(int(c) for c in layers["junctions"]["cluster_id"])
    labels, border, alias = _name_junctions(cxy, cnames, croads, aliases)
    pairs_all, refs_at = _junction_pairs(links)

    lines, conn_lines = _join_junctions(_surveyed_lines(layers["motorways"]), cxy, refs_at,
                                        labels)
    covered = _carried_links(lines + conn_lines, pairs_all, cxy)
    derived, n_sites_used = _derived_lines(pairs_all, covered, cxy, layers["sites"])
    lines, known, skipped = _join_services(lines + derived, layers["services"])
    lines = lines + conn_lines

    for cid, p in cxy.items():
        roads = sorted(set(croads[cid]), key=road_sort_key)
        known[node_key(*p)] = {"osmid": cid, "name": labels[cid],
                           "kind": "end" if border[cid] else "junction",
                           "roads": "; ".join(roads), "alias": alias.get(cid, ""),
                           "in_area_file": cid in in_file}
    nodes, edges = assemble_lines(lines, known, first_id=10_000_000)
    nodes["alias"] = nodes["alias"].fillna("") if "alias" in nodes else ""
    nodes["in_area_file"] = nodes["in_area_file"].fillna(False).astype(bool)
    G = lines_to_graph(nodes, edges, {
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
            if road_class_of(ref) == "motorway" else []
        for a, b, w, e in items + extra:
            if not g.has_edge(a, b) or g[a][b]["w"] > w:
                g.add_edge(a, b, w=w, edge=e)
        out[ref] = g
    return out


def _path_along(graphs: dict[str, nx.Graph], ref: str, a: object, b: object
                ) -> list | None:
    """The shortest path from ``a`` to ``b`` on road ``ref``'s own graph, or None."""
    g = graphs.get(ref)
    if g is None or a not in g or b not in g:
        return None
    try:
        return nx.dijkstra_path(g, a, b, weight="w")
    except nx.NetworkXNoPath:
        return None


def _hatris_link_paths(G: nx.MultiDiGraph, pairs: pd.DataFrame) -> list[dict]:
    """Route each HATRIS junction pair through the built graph along its own road."""
    if not len(pairs):
        return []
    by_ref = _ref_graphs([(u, v, float(d["length"]), d, (u, v, k))
                          for u, v, k, d in G.edges(keys=True, data=True)])
    out = []
    for (a, b, ref), grp in pairs.groupby(["a", "b", "ref"]):
        path = _path_along(by_ref, ref, a, b)
        if path is None:
            continue
        g = by_ref[ref]
        edges = [g[p][q]["edge"] for p, q in zip(path[:-1], path[1:], strict=True)]
        out.append({"a": int(a), "b": int(b), "ref": ref,
                    "link_refs": "; ".join(sorted(grp["link_ref"])),
                    "edges": [tuple(int(i) for i in e) for e in edges]})
    return out


def extent_geometry(area: str | BaseGeometry | None, settings: Settings
                   ) -> tuple[BaseGeometry | None, str]:
    if area is None:
        return None, "the shipped extent"
    if isinstance(area, BaseGeometry):
        if area.is_empty:
            raise ParameterError("area is an empty geometry")
        return area, "the given area"
    if isinstance(area, str):
        return area_geometry(area, settings), repr(area)
    raise ParameterError(f"area must be a district name, 'force', a shapely geometry or None, "
                         f"not {type(area).__name__}")


def clip_graph(G: nx.MultiDiGraph, area: BaseGeometry, label: str) -> nx.MultiDiGraph:
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


def build_srn_graph(settings: Settings, *, area: str | BaseGeometry | None = None,
                    cache: bool = True, forces: Sequence[str] | None = None,
                    buffer_m: float = DEFAULT_BUFFER_M) -> nx.MultiDiGraph:
    """Build the Strategic Road Network graph from the shipped road data.

    Without ``forces``: the graph of the shipped default force's extent. Motorways come from OS
    OpenRoads (surveyed centre lines, ``geometry_source="surveyed"``), cut where the HATRIS
    junction clusters join them by short connector edges (``road_class="link"``,
    ``geometry_source="connector"``). Trunk A-roads, and motorway links beyond the OpenRoads
    extract, have no line geometry in those layers: their alignment is derived as junction ->
    WebTRIS counter sites of that road ordered along the link -> junction
    (``geometry_source="approximate"``). Named OSM services are nodes of kind ``services``.

    With ``forces``: the graph of those forces' areas plus ``buffer_m`` from the national
    HAPMS sections (true geometry for every carriageway, slip road and roundabout; see
    :func:`hotspots.spatial.srn_national.graph_from_sections`).

    Parameters
    ----------
    settings : Settings
        Reads ``settings.data_dir / "roads"``; the cache lives in ``settings.data_dir / "cache"``.
    area : str or shapely geometry, optional
        Keep only edges touching this area (a district name, ``"force"``, or a polygon in
        EPSG:27700). Default: everything built.
    cache : bool
        Reuse (and write) a pickled graph keyed by a hash of the input files' bytes, the build
        parameters, the forces, the buffer and the area.
    forces : sequence of str, optional
        Force slugs (e.g. a ``Selection``'s ``all_forces``): build from the national layers.
    buffer_m : float
        Metres around the forces' areas (national graph only; 0-50 km).

    Returns
    -------
    networkx.MultiDiGraph
        osmnx-compatible, ``graph["crs"] == "EPSG:27700"``. Nodes: ``x``, ``y``, ``lon``,
        ``lat``, ``name`` (e.g. ``"M6 J2"``, ``"M42 J7 / M6 J4"``, ``"A45 / A46"``), ``alias``
        (e.g. ``"Tollbar End"``), ``kind`` (``junction``, ``services``, ``end``, ``via``),
        ``roads`` (``"; "``-joined), ``force`` (the force area holding it, ``""`` outside
        all). Edges: ``ref``, ``road_class`` (``motorway``, ``trunk``, ``link``), ``length``
        (m), ``speed_kph`` (see :data:`SPEEDS_KPH`), ``travel_time`` (s), ``geometry``,
        ``geometry_source``, ``oneway``, ``link`` (HATRIS LinkRefs for derived edges),
        ``function`` (national graph: ``main``, ``slip``, ``roundabout``, ``layby``,
        ``connector``). ``graph["links"]`` lists each HATRIS junction pair with the edges that
        carry it (shipped extent; used by :func:`hotspots.spatial.corridors.link_stats`).

    Raises
    ------
    InputError
        A road data file is missing or unreadable.
    ParameterError
        An unknown force, or ``buffer_m`` out of range.
    NoDataError
        ``area`` holds no SRN road, or the forces have none in the national data (the Welsh
        forces: HAPMS is England's network); the message names the OpenStreetMap path.
    """
    if forces is not None:
        return _national_graph(settings, area=area, cache=cache, forces=forces,
                               buffer_m=buffer_m)
    paths = _road_paths(settings)
    aliases = read_aliases(settings)
    geom, label = extent_geometry(area, settings)
    cache_file = None
    if cache:
        key = _hash_inputs(paths, {**_build_params(), "aliases": aliases,
                                   "area": geom.wkb_hex if geom else None})
        cache_file = settings.data_dir / "cache" / f"srn-graph-{key[:24]}.pickle"
        G = _read_cache(cache_file)
        if G is not None:
            return G
    layers = {name: _read_layer(p) for name, p in paths.items()}
    G = _build_from_layers(layers, aliases)
    _label_forces(G, settings)
    if geom is not None:
        G = clip_graph(G, geom, label)
    if cache_file is not None:
        _write_cache(G, cache_file)
    return G


def srn_graph_for(settings: Settings, forces: Sequence[str], *,
                  extract: str | os.PathLike | None = None,
                  buffer_m: float = DEFAULT_BUFFER_M) -> nx.MultiDiGraph:
    """The SRN graph for a selection's forces.

    The national (HAPMS) graph of the forces plus ``buffer_m``, for every English force,
    the shipped extent's included (its services also from the shipped OpenStreetMap layer);
    or, with ``extract``, the graph of an OpenStreetMap extract (the only way for the Welsh
    forces), clipped to the forces' areas plus ``buffer_m``. Only a data folder without the
    national layers falls back to the shipped extent's derived graph. Nodes carry ``force``.

    Raises
    ------
    NoDataError
        The forces have no SRN in the national data (the message names the OSM path).
    InputError
        The extract cannot be read.
    """
    slugs = tuple(dict.fromkeys(force_registry.force_info(f).slug for f in forces))
    if extract is not None:
        from hotspots.spatial.osm_roads import graph_from_osm  # it imports this module

        area = shapely.union_all([force_area(s, settings) for s in slugs]).buffer(buffer_m)
        G = graph_from_osm(extract, area=area, settings=settings)
        _label_forces(G, settings)
        return G
    national = all((settings.data_dir / "roads" / f).is_file() for f in NATIONAL_FILES.values())
    if not national and slugs == (detailed_force(settings),) and all(
            (settings.data_dir / "roads" / f).is_file() for f in ROAD_FILES.values()):
        return build_srn_graph(settings)
    return build_srn_graph(settings, forces=slugs, buffer_m=buffer_m)


def _read_cache(path: Path) -> nx.MultiDiGraph | None:
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            G = pickle.load(fh)
        return G if isinstance(G, nx.MultiDiGraph) else None
    except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never fatal
        return None


def force_areas(settings: Settings) -> gpd.GeoDataFrame:
    """The national force areas with their registry ``slug`` (EPSG:27700)."""
    areas = national_forces(settings.data_dir)
    by_code = {info.ons_code: slug for slug, info in force_registry.INFO.items()}
    out = areas.assign(slug=areas["code"].map(by_code).fillna(""))
    return out[out["slug"] != ""][["slug", "code", "geometry"]].reset_index(drop=True)


def _label_forces(G: nx.MultiDiGraph, settings: Settings) -> None:
    """Each node's ``force``: the national force area holding it (``""`` without the file)."""
    if not (settings.data_dir / "boundaries" / "national" / "forces.parquet").is_file():
        nx.set_node_attributes(G, "", "force")
        return
    nodes = list(G.nodes)
    x = np.array([G.nodes[n]["x"] for n in nodes], float)
    y = np.array([G.nodes[n]["y"] for n in nodes], float)
    for n, f in zip(nodes, forces_at(x, y, force_areas(settings)), strict=True):
        G.nodes[n]["force"] = f


def _national_graph(settings: Settings, *, area: str | BaseGeometry | None, cache: bool,
                    forces: Sequence[str], buffer_m: float) -> nx.MultiDiGraph:
    if isinstance(buffer_m, bool) or not 0 <= float(buffer_m) <= 50_000:
        raise ParameterError(f"buffer_m {buffer_m!r} is outside 0-50000 m")
    slugs = sorted(dict.fromkeys(force_registry.force_info(f).slug for f in forces))
    if not slugs:
        raise ParameterError("forces is empty: give at least one force")
    english = [s for s in slugs if force_registry.INFO[s].ons_code.startswith("E")]
    if not english:
        raise NoDataError(f"{', '.join(slugs)}: the shipped SRN (National Highways HAPMS) "
                          f"covers England only; {OSM_HINT}")
    paths = {k: settings.data_dir / "roads" / f for k, f in NATIONAL_FILES.items()}
    missing = [p for p in paths.values() if not p.is_file()]
    if missing:
        raise InputError(f"{missing[0]}: national road layer not found (rebuild it with "
                         "scripts/build_srn_national.py)")
    aliases = read_aliases(settings)
    services_file = settings.data_dir / "roads" / ROAD_FILES["services"]
    cache_file = None
    if cache:
        # Keyed by what decides the extent (the boundary files, forces, buffer, area), so a
        # cached graph is found without buffering the forces' polygons again.
        boundaries = {"forces": settings.data_dir / "boundaries" / "national" / "forces.parquet"}
        if detailed_force(settings) in slugs:
            boundaries["county"] = settings.data_dir / "boundaries" / "county.parquet"
        if services_file.is_file():
            boundaries["osm_services"] = services_file
        where = area.wkb_hex if isinstance(area, BaseGeometry) else area
        key = _hash_inputs({**paths, **boundaries},
                           {"version": _NATIONAL_VERSION, "speeds": SPEEDS_KPH,
                            "aliases": aliases, "forces": slugs, "buffer_m": float(buffer_m),
                            "area": where})
        cache_file = settings.data_dir / "cache" / f"srn-graph-{key[:24]}.pickle"
        G = _read_cache(cache_file)
        if G is not None:
            return G
    if area is not None:
        geom, label = extent_geometry(area, settings)
    else:
        geom = shapely.union_all([force_area(s, settings) for s in slugs])
        label = ", ".join(slugs)
    extent = geom.buffer(float(buffer_m)) if buffer_m else geom
    layers = read_national(settings)
    try:
        G = graph_from_sections(layers["sections"], layers["links"], layers["sites"], extent,
                                force_areas=force_areas(settings), aliases=aliases,
                                osm_services=(_read_layer(services_file)
                                              if services_file.is_file() else None),
                                attrs={"forces": slugs, "buffer_m": float(buffer_m),
                                       "forces_without_srn": [s for s in slugs
                                                              if s not in english]})
    except NoDataError:
        raise NoDataError(f"no Strategic Road Network road within {label} in the national "
                          f"(England) data; {OSM_HINT}") from None
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
