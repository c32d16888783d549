"""The SRN of any English force or region from the National Highways HAPMS sections.

True geometry for every motorway and trunk section, slip road and roundabout; junctions named
from the HATRIS junction graph; services from the HAPMS section descriptions; WebTRIS sites.
See ``docs/roads.md`` ("Any force: the national graph").
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import NoDataError
from hotspots.spatial.crs import BNG
from hotspots.spatial.road_lines import (
    SPEEDS_KPH,
    RoadLine,
    assemble_lines,
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
    road_class_of,
    road_sort_key,
)

__all__ = [
    "HAPMS_ATTRIBUTION",
    "NATIONAL_FILES",
    "OSM_HINT",
    "forces_at",
    "graph_from_sections",
    "srn_layers",
]

#: National road layers, under ``settings.data_dir / "roads"`` (``scripts/build_srn_national.py``).
NATIONAL_FILES = {
    "sections": "national/hapms_sections.parquet",
    "links": "national/hatris_links.parquet",
    "sites": "national/webtris_sites.parquet",
}

#: What to do where the national layers hold no SRN (Wales: HAPMS is England's network).
OSM_HINT = ("build the graph from an OpenStreetMap extract instead: hotspots corridors/disrupt "
            "--roads EXTRACT.osm.pbf (hotspots.spatial.osm_roads.graph_from_osm)")

# HAPMS section ends that meet are digitised to the same point, give or take the 0.1 m the
# shipped copy is rounded to; a few metres also joins ends surveyed separately.
SNAP_M = 5.0

# A section that stops beside another one's middle (a lay-by, a merge drawn as a T) joins it.
T_JOIN_M = 15.0

# A slip road's loose end (where it meets the local road HAPMS does not hold) belongs to the
# HATRIS junction within this distance; HATRIS puts its point in the middle of the interchange.
JUNCTION_JOIN_M = 1000.0

# Loose slip-road ends with no HATRIS junction nearby that lie this close are one junction.
_END_GROUP_M = 400.0

# HAPMS names service areas in its slip-road descriptions ("M5 Frankley Services North Entry
# Slip"); slips naming the same services within this distance are one services area.
_SERVICES_GROUP_M = 2000.0
_SERVICES = re.compile(r"([A-Z][A-Za-z'.]+(?:\s+[A-Z][A-Za-z'.]+){0,3})\s+Services\b")
_NOT_A_NAME = {"Entry", "Exit", "Slip", "Northbound", "Southbound", "Eastbound", "Westbound",
               "From", "To", "Start", "End", "And", "Of", "The", "Road", "Link", "M", "Way",
               "On", "Off", "Nb", "Sb", "Eb", "Wb"}

# A services area mapped by OpenStreetMap is joined to the SRN within this distance (farther ones
# are truck stops on local roads); one within OSM_SERVICES_SAME_M of a HAPMS-named services
# area is that area.
OSM_SERVICES_SNAP_M = 1000.0
OSM_SERVICES_SAME_M = 2000.0

#: The HAPMS / HATRIS / WebTRIS licence line (``SOURCES.md`` of the upstream data).
HAPMS_ATTRIBUTION = ("Contains National Highways data © Crown copyright and database right, "
                     "licensed under the Open Government Licence v3.0.")

_FUNCTION_CLASS = {"slip": "link", "roundabout": "link", "layby": "link"}


def forces_at(x: np.ndarray, y: np.ndarray, force_areas: gpd.GeoDataFrame) -> np.ndarray:
    """The slug of the force area holding each point (``""`` outside every area given).

    ``force_areas`` has a ``slug`` column and polygons in EPSG:27700.
    """
    out = np.full(len(x), "", dtype=object)
    if not len(x) or force_areas.empty:
        return out
    pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
    tree = shapely.STRtree(force_areas.geometry.values)
    p, a = tree.query(pts, predicate="within")
    slugs = force_areas["slug"].to_numpy()
    out[p] = slugs[a]
    return out


def _section_lines(sections: gpd.GeoDataFrame) -> list[RoadLine]:
    lines = []
    for row in sections.itertuples():
        coords = np.asarray(row.geometry.coords)[:, :2]
        if len(coords) < 2:
            continue
        func = str(row.function)
        rc = _FUNCTION_CLASS.get(func, str(row.road_class))
        ref = norm_ref(row.ref)
        # Both directions, as the shipped extent's motorway lines are: about 2% of HAPMS's
        # one-way sections are drawn against the traffic and a few joins between roads are
        # drawn on one carriageway only, which would leave whole roads unreachable one way.
        # The cost is a turn allowed at any section end (typically 500-1000 m apart).
        lines.append(RoadLine(coords, True, True, {
            "ref": ref, "name": str(row.location or ref), "road_class": rc,
            "highway": ("motorway" if row.road_class == "motorway" else "trunk")
            + ("_link" if rc == "link" else ""),
            "function": func, "geometry_source": "surveyed", "link": "",
            "direction": str(row.direction), "carriageway": str(row.carriageway)}))
    return lines


def _snap_ends(lines: list[RoadLine]) -> list[RoadLine]:
    """Move section ends within :data:`SNAP_M` of each other to their common mean, then join
    ends left alone to the middle of a section within :data:`T_JOIN_M` (cutting it there)."""
    ends = np.array([ln.coords[i] for ln in lines for i in (0, -1)], float)
    label = np.arange(len(ends))
    for i, j in sorted(cKDTree(ends).query_pairs(SNAP_M)):
        a, b = label[i], label[j]
        if a != b:
            label[label == b] = a
    centre = pd.DataFrame(ends).groupby(label).transform("mean").to_numpy()
    size = np.bincount(label, minlength=len(ends))[label]
    out = []
    for k, ln in enumerate(lines):
        c = ln.coords.copy()
        c[0], c[-1] = centre[2 * k], centre[2 * k + 1]
        out.append(RoadLine(c, ln.fwd, ln.bwd, ln.attrs))
    geoms = np.array([shapely.LineString(ln.coords) for ln in out], dtype=object)
    tree = shapely.STRtree(geoms)
    alone = np.flatnonzero(size == 1)
    pts = shapely.points(centre[alone])
    p, g = tree.query(pts, predicate="dwithin", distance=T_JOIN_M)
    requests: list[tuple[int, float]] = []
    moves: list[tuple[int, int]] = []  # (end index, request index)
    best: dict[int, tuple[float, int]] = {}
    for pi, gi in zip(p, g, strict=True):
        e = int(alone[pi])
        if gi == e // 2:
            continue
        d = float(shapely.distance(geoms[gi], pts[pi]))
        if e not in best or d < best[e][0]:
            best[e] = (d, int(gi))
    for e, (_, gi) in sorted(best.items()):
        moves.append((e, len(requests)))
        requests.append((gi, float(geoms[gi].project(pts[alone.searchsorted(e)]))))
    if not requests:
        return out
    where_by_end = {}
    cut, where = split_lines(out, requests)
    for e, r in moves:
        where_by_end[e] = where[r]
    # split_lines keeps uncut lines in order and replaces cut ones by their pieces, so ends
    # to move are found again by their old coordinates.
    old = {node_key(*centre[e]): where_by_end[e] for e in where_by_end}
    final = []
    for ln in cut:
        c = ln.coords.copy()
        for i in (0, -1):
            k = node_key(*c[i])
            if k in old:
                c[i] = old[k]
        final.append(RoadLine(c, ln.fwd, ln.bwd, ln.attrs))
    return final


def _clusters(links: pd.DataFrame) -> tuple[dict[int, np.ndarray], dict[int, str],
                                             dict[int, str]]:
    """Position (mean of its link ends), officer-style name and SRN roads of each HATRIS
    cluster."""
    pts: dict[int, list] = defaultdict(list)
    names: dict[int, list[str]] = defaultdict(list)
    roads: dict[int, list[str]] = defaultdict(list)
    for row in links.itertuples():
        ref = norm_ref(str(row.LinkDescription).split(" between ")[0]
                       if " between " in str(row.LinkDescription) else row.road)
        for cid, name, x, y in ((row.StartCluster, row.StartJunction, row.StartClusterX,
                                 row.StartClusterY),
                                (row.EndCluster, row.EndJunction, row.EndClusterX,
                                 row.EndClusterY)):
            cid = int(cid)
            pts[cid].append((float(x), float(y)))
            if str(name) not in names[cid]:
                names[cid].append(str(name))
            roads[cid].append(ref)
    cxy = {c: np.mean(p, axis=0) for c, p in pts.items()}
    labels = {}
    for c in cxy:
        labels[c], _ = junction_label(names[c], sorted(set(roads[c]), key=road_sort_key))
    return cxy, labels, {c: "; ".join(sorted(set(r), key=road_sort_key))
                         for c, r in roads.items()}


def _services_groups(lines: list[RoadLine]) -> list[tuple[str, str, np.ndarray, list[int]]]:
    """(name, road, position, slip line indices) of each services area named by HAPMS."""
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, ln in enumerate(lines):
        if ln.attrs["function"] != "slip":
            continue
        for m in _SERVICES.finditer(ln.attrs["name"]):
            words = [w for w in m.group(1).split() if w.strip(".").title() not in _NOT_A_NAME]
            if words:
                found[(" ".join(words).title(), ln.attrs["ref"])].append(i)
                break
    out = []
    for (name, ref), idx in found.items():
        mids = np.array([lines[i].coords[len(lines[i].coords) // 2] for i in idx])
        label = np.arange(len(idx))
        for a, b in sorted(cKDTree(mids).query_pairs(_SERVICES_GROUP_M)):
            label[label == label[b]] = label[a]
        for lab in np.unique(label):
            sel = np.flatnonzero(label == lab)
            out.append((f"{name} Services", ref, mids[sel].mean(axis=0),
                        [idx[s] for s in sel]))
    return out


def _loose_ends(lines: list[RoadLine]) -> dict[tuple, tuple[int, int]]:
    """Ends touched by one section only: key -> (line index, 0 or -1)."""
    count: dict[tuple, list] = defaultdict(list)
    for i, ln in enumerate(lines):
        for e in (0, -1):
            count[node_key(*ln.coords[e])].append((i, e))
    return {k: v[0] for k, v in count.items() if len(v) == 1}


def _connector(a: np.ndarray, b: np.ndarray, ref: str, name: str) -> RoadLine:
    return RoadLine(np.vstack([a, b]), True, True, {
        "ref": ref, "name": name, "road_class": "link", "function": "connector",
        "highway": "motorway_link" if ref.startswith("M") else "trunk_link",
        "geometry_source": "connector", "link": "", "direction": ""})


_LOCAL_ROAD = re.compile(r"\b([ABM])\.?\s?(\d{1,4})(\(M\))?(?![\d/])")
_PLACE = re.compile(r"((?:[A-Z][\w.']+\s+){1,3}?)(Interchange|Junction|Roundabout|Rbt|"
                    r"Services|Crossroads)\b")


def _junction_name_from_text(refs: list[str], texts: list[str]) -> str:
    """A junction HATRIS does not hold, named from the SRN road and the roads its HAPMS
    descriptions mention ("A12 / B1002"), else the place they name ("A12 Margaretting
    Interchange"), else "<road> junction"."""
    main = sorted(dict.fromkeys(r for r in refs if r), key=road_sort_key)
    other = []
    for t in texts:
        for m in _LOCAL_ROAD.finditer(t):
            r = f"{m.group(1)}{m.group(2)}{m.group(3) or ''}"
            if r not in main and r not in other:
                other.append(r)
    if other:
        return " / ".join(main + sorted(other, key=road_sort_key))
    for t in texts:
        m = _PLACE.search(t)
        if m:
            place = m.group(1).strip()
            word = "Roundabout" if m.group(2) == "Rbt" else m.group(2)
            return f"{' / '.join(main)} {place} {word}".strip()
    return f"{' / '.join(main)} junction".strip()


def _join_junctions(lines: list[RoadLine], cxy: dict[int, np.ndarray], labels: dict[int, str],
                    croads: dict[int, str], services: list[tuple[str, str, np.ndarray, list[int]]]
                    ) -> tuple[list[RoadLine], dict[tuple, dict]]:
    """Junction and services nodes, joined to the loose slip-road ends by connectors.

    A loose end goes to its services area if one of that area's slips holds it, else to the
    nearest HATRIS junction within :data:`JUNCTION_JOIN_M`; loose ends with no junction near
    become junctions of their own, named from the HAPMS descriptions.
    """
    loose = _loose_ends(lines)
    keys = list(loose)
    known: dict[tuple, dict] = {}
    conns: list[RoadLine] = []
    taken: set[tuple] = set()
    for n, (name, ref, pos, idx) in enumerate(services):
        k = node_key(*pos)
        known[k] = {"osmid": 20_000_000 + n, "name": name, "kind": "services", "roads": ref,
                    "alias": "", "operator": ""}
        for i in idx:
            for e in (0, -1):
                ek = node_key(*lines[i].coords[e])
                if ek in loose and ek not in taken:
                    taken.add(ek)
                    conns.append(_connector(pos, lines[i].coords[e], ref, f"{name} access"))
    slip_keys = [k for k in keys if k not in taken]
    cids = np.array(sorted(cxy))
    cpts = np.array([cxy[c] for c in cids]) if len(cids) else np.empty((0, 2))
    ctree = cKDTree(cpts) if len(cids) else None
    by_cluster: dict[int, list[tuple]] = defaultdict(list)
    orphans: list[tuple] = []
    for k in slip_keys:
        line = lines[loose[k][0]]
        if line.attrs["function"] != "slip":
            continue  # a main carriageway stopping is where the data (or the area) ends
        if ctree is not None:
            d, j = ctree.query(k)
            if d <= JUNCTION_JOIN_M:
                by_cluster[int(cids[j])].append(k)
                continue
        orphans.append(k)
    # Clusters with no loose slip end (at-grade junctions, interchanges drawn closed): the
    # nearest section end within reach stands for the junction's position.
    ends = np.array(sorted({node_key(*ln.coords[e]) for ln in lines for e in (0, -1)}))
    etree = cKDTree(ends)
    for c, p in zip(cids, cpts, strict=True):
        known[node_key(*p)] = {"osmid": int(c), "name": labels[int(c)], "kind": "junction",
                               "roads": croads[int(c)], "alias": ""}
        if by_cluster.get(int(c)):
            for k in by_cluster[int(c)]:
                ref = lines[loose[k][0]].attrs["ref"]
                conns.append(_connector(p, np.array(k), ref, f"{labels[int(c)]} ({ref})"))
        else:
            d, j = etree.query(p)
            if d <= JUNCTION_JOIN_M / 2:
                conns.append(_connector(p, ends[j], "", labels[int(c)]))
            else:
                known.pop(node_key(*p))
    if orphans:
        pts = np.array(orphans)
        label = np.arange(len(pts))
        for a, b in sorted(cKDTree(pts).query_pairs(_END_GROUP_M)):
            label[label == label[b]] = label[a]
        for n, lab in enumerate(np.unique(label)):
            members = [orphans[i] for i in np.flatnonzero(label == lab)]
            pos = np.array(members).mean(axis=0)
            refs = [lines[loose[k][0]].attrs["ref"] for k in members]
            name = _junction_name_from_text(refs, [lines[loose[k][0]].attrs["name"]
                                                   for k in members])
            known[node_key(*pos)] = {"osmid": 30_000_000 + n, "name": name, "kind": "junction",
                                     "roads": "; ".join(sorted(set(refs), key=road_sort_key)),
                                     "alias": ""}
            for k in members:
                if np.hypot(*(np.array(k) - pos)) > 0.05:
                    conns.append(_connector(pos, np.array(k), lines[loose[k][0]].attrs["ref"],
                                            f"{name} access"))
    return lines + conns, known


def _join_osm_services(lines: list[RoadLine], services: gpd.GeoDataFrame, extent: BaseGeometry,
                       known: dict[tuple, dict]) -> tuple[list[RoadLine], list[str]]:
    """Add the named OpenStreetMap services areas in ``extent`` that HAPMS does not name, each
    joined by a connector to the nearest carriageway of the road its name gives (else the
    nearest SRN road) within :data:`OSM_SERVICES_SNAP_M`; ``known`` gains their nodes.

    Returns the lines (cut at the joins, plus the connectors) and the names left out as off
    the SRN.
    """
    named = services[~services["name_is_placeholder"].astype(bool)] \
        if "name_is_placeholder" in services else services
    named = named[named.intersects(extent)]
    # A services area drawn twice (one point per carriageway) is one area, as is one HAPMS names.
    taken = [np.array(k[:2]) for k, v in known.items() if v["kind"] == "services"]
    tree, geoms = line_tree(lines)
    refs = np.array([ln.attrs["ref"] for ln in lines])
    requests, chosen, skipped = [], [], []
    for row in named.itertuples():
        p = row.geometry
        if taken and np.hypot(*(np.array(taken) - (p.x, p.y)).T).min() <= OSM_SERVICES_SAME_M:
            continue
        hint = [norm_ref(h) for h in ROAD_IN_TEXT.findall(str(row.name))]
        idx = np.flatnonzero(np.isin(refs, hint)) if hint else np.array([], int)
        if not len(idx):
            idx = tree.query(p, predicate="dwithin", distance=OSM_SERVICES_SNAP_M)
        dist = shapely.distance(geoms[idx], p) if len(idx) else np.array([np.inf])
        if dist.min() > OSM_SERVICES_SNAP_M:
            skipped.append(str(row.name))
            continue
        j = int(idx[int(np.argmin(dist))])
        taken.append(np.array([p.x, p.y]))
        chosen.append((row, lines[j].attrs["ref"]))
        requests.append((j, float(geoms[j].project(p))))
    lines, where = split_lines(lines, requests)
    for n, ((row, ref), end) in enumerate(zip(chosen, where, strict=True)):
        pos = np.array([row.geometry.x, row.geometry.y])
        known[node_key(*pos)] = {"osmid": 40_000_000 + n, "name": str(row.name),
                                 "kind": "services", "roads": ref, "alias": "",
                                 "operator": str(getattr(row, "operator", "") or "")}
        conn = _connector(pos, np.array(end), ref, f"{row.name} access")
        conn.attrs["highway"] = ("motorway_link" if road_class_of(ref) == "motorway"
                                 else "trunk_link")
        lines.append(conn)
    return lines, skipped


def graph_from_sections(sections: gpd.GeoDataFrame, links: pd.DataFrame,
                        sites: gpd.GeoDataFrame, extent: BaseGeometry, *,
                        force_areas: gpd.GeoDataFrame | None = None,
                        aliases: Sequence[tuple[str, float, float]] = (),
                        attrs: dict | None = None,
                        osm_services: gpd.GeoDataFrame | None = None) -> nx.MultiDiGraph:
    """Build the SRN graph of ``extent`` from HAPMS-like sections.

    Parameters
    ----------
    sections : geopandas.GeoDataFrame
        EPSG:27700 lines with ``ref``, ``road_class`` (``motorway``/``trunk``), ``function``
        (``main``, ``slip``, ``roundabout``, ``layby``), ``direction``, ``carriageway``
        (``dual``, ``one-way``, ``two-way``: one-way sections are drawn in the direction of
        travel), ``location`` (HAPMS's description).
    links : pandas.DataFrame
        HATRIS directed links (``LinkDescription``, ``road``, ``Start/EndJunction``,
        ``Start/EndCluster``, ``Start/EndClusterX/Y``): the junctions and their names.
    sites : geopandas.GeoDataFrame
        WebTRIS sites (points); those in ``extent`` are kept in ``graph["webtris_sites"]``.
    extent : shapely geometry
        Sections touching it are kept whole.
    force_areas : geopandas.GeoDataFrame, optional
        ``slug`` and polygon per force: each node's ``force`` is the one holding it.
    aliases : sequence of (name, x, y)
        Local names given to the nearest junction within 500 m (never the name itself).
    attrs : dict, optional
        Added to ``graph.graph``.
    osm_services : geopandas.GeoDataFrame, optional
        OpenStreetMap services points (``name``, ``operator``, ``name_is_placeholder``) where
        the data holds them: those in ``extent`` that HAPMS does not name become ``services``
        nodes too (see :func:`_join_osm_services`).

    Returns
    -------
    networkx.MultiDiGraph
        As :func:`hotspots.spatial.srn_graph.build_srn_graph`, with ``geometry_source`` =
        ``surveyed`` (HAPMS) or ``connector``, and an edge ``function`` (``main``, ``slip``,
        ``roundabout``, ``layby``, ``connector``).

    Raises
    ------
    NoDataError
        No section touches ``extent``.
    """
    keep = sections[sections.intersects(extent)]
    if keep.empty:
        raise NoDataError("no Strategic Road Network section in the area; " + OSM_HINT)
    lines = _snap_ends(_section_lines(keep))
    cxy, labels, croads = _clusters(links)
    near = shapely.buffer(extent, JUNCTION_JOIN_M)
    cxy = {c: p for c, p in cxy.items() if shapely.contains_xy(near, *p)}
    services = _services_groups(lines)
    lines, known = _join_junctions(lines, cxy, labels, croads, services)
    skipped: list[str] = []
    osm_used = osm_services is not None and len(osm_services) > 0
    if osm_used:
        lines, skipped = _join_osm_services(lines, osm_services, extent, known)
        osm_used = any(v["osmid"] >= 40_000_000 for v in known.values()
                       if v["kind"] == "services")
    nodes, edges = assemble_lines(lines, known, first_id=10_000_000)
    nodes["alias"] = nodes["alias"].fillna("")
    junction = nodes["kind"] == "junction"
    # Names shared by two junctions (two "A46 / A44") get a compass word.
    jn = nodes[junction]
    nodes.loc[jn.index, "name"] = pd.Series(disambiguate(
        jn["name"].to_dict(), {n: (r.x, r.y) for n, r in jn.iterrows()}))
    for name, x, y in aliases:
        d = np.hypot(nodes["x"] - x, nodes["y"] - y).where(junction)
        if d.notna().any() and d.min() <= 500:
            nodes.loc[d.idxmin(), "alias"] = name
    for col in ("roads", "operator"):
        if col in nodes:
            nodes[col] = nodes[col].fillna("")
    nodes["force"] = forces_at(nodes["x"].to_numpy(), nodes["y"].to_numpy(),
                               force_areas) if force_areas is not None else ""
    in_area = sites[sites.intersects(extent)] if len(sites) else sites
    G = lines_to_graph(nodes, edges, {
        "source": "hapms",
        "layers": "National Highways HAPMS network sections (surveyed, 2 March 2020); HATRIS "
                  "junctions; WebTRIS sites" + ("; OSM services" if osm_used else ""),
        "attribution": HAPMS_ATTRIBUTION + (" Services © OpenStreetMap contributors, ODbL."
                                            if osm_used else ""),
        # Which services areas came from OpenStreetMap, so each site credits its own source.
        "osm_services": sorted({str(v["name"]) for v in known.values()
                                if v["kind"] == "services" and v["osmid"] >= 40_000_000}),
        "speeds_kph": dict(SPEEDS_KPH),
        "services_skipped": skipped,
        "webtris_sites_used": int(len(in_area)),
        **(attrs or {}),
    })
    G.graph["webtris_sites"] = [
        {"site_id": int(r.site_id), "description": str(r.description), "road": str(r.road),
         "x": float(r.geometry.x), "y": float(r.geometry.y)} for r in in_area.itertuples()] \
        if len(in_area) and "site_id" in in_area else []
    return G


def srn_layers(sections: gpd.GeoDataFrame, links: pd.DataFrame, extent: BaseGeometry, *,
               osm_services: gpd.GeoDataFrame | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The SRN of ``extent`` as map layers, without building the graph.

    Parameters
    ----------
    sections, links
        As :func:`graph_from_sections`.
    extent : shapely geometry
        EPSG:27700; sections touching it are kept whole, junctions within it.
    osm_services : geopandas.GeoDataFrame, optional
        OpenStreetMap services points added where HAPMS names none within
        :data:`OSM_SERVICES_SAME_M`.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        ``roads``: one (multi)line per road and class (``ref``, ``road_class``: ``motorway``
        or ``trunk``), main carriageways only; ``junctions``: HATRIS junction clusters
        (``name``); ``services``: services areas (``name``, ``source``: ``hapms`` or ``osm``).
        All EPSG:27700.
    """
    keep = sections[sections.intersects(extent)]
    main = keep[keep["function"] == "main"].assign(ref=lambda d: d["ref"].map(norm_ref))
    rows = []
    for (ref, rc), part in main.groupby(["ref", "road_class"], sort=True):
        rows.append((ref, rc, shapely.line_merge(shapely.union_all(part.geometry.to_numpy()))))
    roads = gpd.GeoDataFrame({"ref": [r[0] for r in rows], "road_class": [r[1] for r in rows]},
                             geometry=[r[2] for r in rows], crs=BNG)
    cxy, labels, _ = _clusters(links)
    inside = {c: p for c, p in cxy.items() if shapely.contains_xy(extent, *p)}
    junctions = gpd.GeoDataFrame({"name": [labels[c] for c in inside]},
                                 geometry=shapely.points([inside[c] for c in inside])
                                 if inside else [], crs=BNG)
    groups = _services_groups(_section_lines(keep)) if len(keep) else []
    names = [g[0] for g in groups]
    pts = [shapely.Point(g[2]) for g in groups]
    source = ["hapms"] * len(groups)
    if osm_services is not None and len(osm_services):
        named = osm_services[~osm_services["name_is_placeholder"].astype(bool)] \
            if "name_is_placeholder" in osm_services else osm_services
        near = named[named.intersects(extent)]
        # As in the graph: a services point farther from the SRN is off it (a truck stop).
        tree = shapely.STRtree(keep.geometry.to_numpy())
        on_srn = tree.query(near.geometry.to_numpy(), predicate="dwithin",
                            distance=OSM_SERVICES_SNAP_M)[0] if len(keep) else []
        for row in near.iloc[sorted(set(on_srn))].itertuples():
            if all(row.geometry.distance(q) > OSM_SERVICES_SAME_M for q in pts):
                names.append(str(row.name))
                pts.append(row.geometry)
                source.append("osm")
    services = gpd.GeoDataFrame({"name": names, "source": source}, geometry=pts, crs=BNG)
    return {"roads": roads, "junctions": junctions, "services": services}


def read_national(settings: Settings) -> dict[str, gpd.GeoDataFrame] | None:
    """The national layers, or None when the data folder has none."""
    paths = {k: settings.data_dir / "roads" / f for k, f in NATIONAL_FILES.items()}
    if not all(p.is_file() for p in paths.values()):
        return None
    return {"sections": gpd.read_parquet(paths["sections"]),
            "links": pd.read_parquet(paths["links"]),
            "sites": gpd.read_parquet(paths["sites"]).to_crs(BNG)}
