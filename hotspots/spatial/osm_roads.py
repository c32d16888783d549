"""SRN graphs from OpenStreetMap: a user's .osm / .osm.pbf extract, or an opt-in download."""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.spatial.boundaries import area_geometry
from hotspots.spatial.crs import BNG, to_bng
from hotspots.spatial.road_lines import (
    SPEEDS_KPH,
    RoadLine,
    assemble_lines,
    line_tree,
    lines_to_graph,
    node_key,
    split_lines,
)
from hotspots.spatial.road_names import ROAD_IN_TEXT, norm_ref
from hotspots.spatial.srn_graph import SERVICES_SNAP_M, clip_graph, extent_geometry

__all__ = [
    "download_srn_graph",
    "graph_from_osm",
]

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
                r = norm_ref(ref.split(";")[0])
                if r not in refs_at[n]:
                    refs_at[n].append(r)
    lines: list[RoadLine] = []
    seen: dict[tuple, int] = {}
    for (u, v, _k), row in edges.iterrows():
        hw = str(_first(row.get("highway")) or "")
        rc = "link" if hw.endswith("_link") else ("motorway" if hw == "motorway" else "trunk")
        ref = norm_ref(str(_first(row.get("ref")) or "").split(";")[0])
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
        lines.append(RoadLine(coords, True, False, {
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
                road_refs.setdefault(node_key(*end), ln.attrs["ref"])
    for ln in lines:
        if ln.attrs["road_class"] == "link" and not ln.attrs["ref"]:
            ln.attrs["ref"] = road_refs.get(node_key(*ln.coords[0])) or \
                road_refs.get(node_key(*ln.coords[-1])) or ""

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
        known[node_key(row["x"], row["y"])] = {"osmid": int(nid), "name": name, "kind": kind,
                                           "roads": "; ".join(refs_at.get(nid, [])),
                                           "alias": alias}
    # Both carriageways carry their own "M6 J2" node: same name on purpose, merged by
    # junctions_frame(); no compass suffix here.
    tree, geoms = line_tree(lines)
    refs = np.array([ln.attrs["ref"] for ln in lines])
    roadlike = np.array([ln.attrs["road_class"] != "link" for ln in lines])
    requests, svc = [], []
    for sid, sname, lonlat in services:
        x, y = to_bng(np.array([lonlat[0]]), np.array([lonlat[1]]))
        p = Point(float(x[0]), float(y[0]))
        hint = [norm_ref(h) for h in ROAD_IN_TEXT.findall(str(sname))]
        idx = np.flatnonzero(np.isin(refs, hint) & roadlike) if hint else np.array([], int)
        if not len(idx):
            idx = np.asarray(tree.query(p, predicate="dwithin", distance=SERVICES_SNAP_M))
            idx = idx[roadlike[idx]] if len(idx) else idx
        if not len(idx):
            continue
        dist = shapely.distance(geoms[idx], p)
        if dist.min() > SERVICES_SNAP_M:
            continue
        j = int(idx[int(np.argmin(dist))])
        svc.append((sid, sname, p, lines[j].attrs["ref"], len(requests)))
        requests.append((j, float(geoms[j].project(p))))
    lines, where = split_lines(lines, requests)
    # OSM numbers nodes and ways separately: a services area's way id may equal a node id.
    taken = {int(n) for n in nodes.index}
    spare = max(taken | {int(s[0]) for s in services} | {0}) + 1
    for sid, sname, p, ref, r in svc:
        if int(sid) in taken:
            sid, spare = spare, spare + 1
        taken.add(int(sid))
        known[node_key(p.x, p.y)] = {"osmid": int(sid), "name": str(sname), "kind": "services",
                                 "roads": ref, "alias": ""}
        lines.append(RoadLine(np.vstack([[p.x, p.y], where[r]]), True, True, {
            "ref": ref, "name": f"{sname} access", "road_class": "link", "highway": "services",
            "geometry_source": "connector", "link": "", "osm_way": ""}))
    n_gdf, e_gdf = assemble_lines(lines, known, first_id=spare)
    return lines_to_graph(n_gdf, e_gdf, {
        "source": source,
        "attribution": "© OpenStreetMap contributors, ODbL",
        "speeds_kph": dict(SPEEDS_KPH),
    })


def graph_from_osm(path: str | os.PathLike, *, area: str | BaseGeometry | None = None,
                   settings: Settings) -> nx.MultiDiGraph:
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
    settings : Settings
        Resolves a district name in ``area``.

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
    geom, label = extent_geometry(area, settings) if area is not None \
        else (None, "")
    return clip_graph(G, geom, label) if geom is not None else G


def download_srn_graph(polygon: BaseGeometry | None = None, *, allow_download: bool = False,
                       settings: Settings) -> nx.MultiDiGraph:
    """Download the SRN from OpenStreetMap (Overpass) with osmnx; off unless asked for.

    Parameters
    ----------
    polygon : shapely geometry, optional
        Area in EPSG:27700. Default: the force area buffered by 10 km.
    allow_download : bool
        Must be True: nothing leaves the machine by default.
    settings : Settings

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
