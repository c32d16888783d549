"""Candidate disruption sites: SRN junctions, slip-road ends, services, and your own files."""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
import shapely.prepared
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.spatial.crs import BNG, to_bng, to_wgs84
from hotspots.spatial.road_lines import check_graph, edge_table
from hotspots.spatial.road_names import junctions_frame

__all__ = [
    "CANDIDATE_KINDS",
    "candidate_sites",
    "read_sites",
]

#: Candidate kinds taken from the graph by default.
CANDIDATE_KINDS = ("junction", "slip", "services")

# Slip-road ends closer than this are one place (the on- and off-slip meet the same roundabout).
_SLIP_MERGE_M = 100.0

# A slip-road end takes the name of the nearest named junction within this distance.
_SLIP_NAME_M = 3000.0

# Great Britain in British National Grid metres: coordinates outside are a typo or a swap.
_GB_EXTENT = (0.0, 0.0, 700_000.0, 1_300_000.0)

_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west",
            "north-west")


def _site_frame(rows: list[dict]) -> gpd.GeoDataFrame:
    cols = ["name", "kind", "roads", "x", "y", "lon", "lat", "nodes"]
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        lon, lat = to_wgs84(df["x"].to_numpy(float), df["y"].to_numpy(float))
        df["lon"], df["lat"] = lon, lat
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["x"], df["y"]), crs=BNG)


def _column(columns: Sequence[str], *names: str) -> str | None:
    low = {c.strip().lower(): c for c in columns}
    return next((low[n] for n in names if n in low), None)


def _check_site_xy(x: float, y: float) -> str | None:
    if not (math.isfinite(x) and math.isfinite(y)):
        return "coordinates do not project to British National Grid"
    x0, y0, x1, y1 = _GB_EXTENT
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return (f"easting/northing {x:.0f}, {y:.0f} is outside Great Britain "
                "(easting 0-700000, northing 0-1300000)")
    return None


def _lonlat_problem(lon: float, lat: float) -> str | None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        if -90 <= lon <= 90 and -180 <= lat <= 180:
            return f"lon {lon:g}, lat {lat:g} looks swapped (lat is 49-61 in Great Britain)"
        return f"lon {lon:g}, lat {lat:g} is out of range"
    if 49 <= lon <= 61 and -9 <= lat <= 2:
        return f"lon {lon:g}, lat {lat:g} looks swapped (lat is 49-61 in Great Britain)"
    return None


def parse_number(text: Any) -> float | None:
    try:
        v = float(str(text).strip())
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _read_site_table(path: Path) -> tuple[list[dict], list[dict]]:
    """Rows ``{line, name, kind, x|lon, y|lat, crs}`` of a CSV site file, and rejections."""
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise InputError(f"{path}: not a text CSV file (binary content)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise InputError(f"{path}: not readable as UTF-8 or Windows-1252 text") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: the site file is empty") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    name_c = _column(header, "name", "site", "site_name", "site name")
    lon_c, lat_c = _column(header, "lon", "longitude", "lng", "long"), \
        _column(header, "lat", "latitude")
    e_c, n_c = _column(header, "easting", "x", "east"), _column(header, "northing", "y", "north")
    kind_c = _column(header, "kind", "type")
    if name_c is None or not ((e_c and n_c) or (lon_c and lat_c)):
        raise InputError(f"{path}: a site file needs a name column and lon/lat or "
                         f"easting/northing columns (found: {', '.join(header) or 'none'})")
    use_bng = bool(e_c and n_c)
    pos = {c: i for i, c in enumerate(header)}
    rows, rejected = [], []

    def cell(rec: list[str], col: str | None) -> str:
        return rec[pos[col]].strip() if col and pos[col] < len(rec) else ""

    try:
        records = list(reader)
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    for line, rec in enumerate(records, start=2):
        if not any(v.strip() for v in rec):
            continue
        a, b = (cell(rec, e_c), cell(rec, n_c)) if use_bng else \
            (cell(rec, lon_c), cell(rec, lat_c))
        rows.append({"line": line, "name": cell(rec, name_c),
                     "kind": cell(rec, kind_c) or "user", "a": a, "b": b, "bng": use_bng})
    return rows, rejected


def _read_site_geojson(path: Path) -> tuple[list[dict], list[dict]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid GeoJSON ({str(exc).splitlines()[0]})") from None
    feats = doc.get("features") if isinstance(doc, dict) else None
    if doc.get("type") == "Feature" if isinstance(doc, dict) else False:
        feats = [doc]
    if not isinstance(feats, list):
        raise InputError(f"{path}: GeoJSON has no features list")
    crs_name = str(((doc.get("crs") or {}).get("properties") or {}).get("name", ""))
    use_bng = "27700" in crs_name
    rows, rejected = [], []
    for i, f in enumerate(feats, start=1):
        if not isinstance(f, dict):
            rejected.append({"line": i, "name": "", "reason": "not a GeoJSON feature"})
            continue
        props = f.get("properties") or {}
        if not isinstance(props, dict):
            props = {}
        name = str(next((props[k] for k in props if k.strip().lower() in
                         ("name", "site", "site_name")), "") or "").strip()
        kind = str(next((props[k] for k in props if k.strip().lower() in ("kind", "type")),
                        "") or "user").strip() or "user"
        geom = f.get("geometry")
        if not geom or not isinstance(geom, dict):
            rejected.append({"line": i, "name": name, "reason": "no geometry"})
            continue
        if geom.get("type") != "Point":
            rejected.append({"line": i, "name": name,
                             "reason": f"not a point ({geom.get('type')})"})
            continue
        c = geom.get("coordinates")
        c = c if isinstance(c, list) else []
        rows.append({"line": i, "name": name, "kind": kind,
                     "a": c[0] if len(c) > 0 else "", "b": c[1] if len(c) > 1 else "",
                     "bng": use_bng})
    return rows, rejected


#: Most sites one file may hold: each candidate adds a column to the covering problem and a
#: drive-time search, so a file of 100,000 would pin the server for minutes.
MAX_SITES = 2_000
#: How far outside the selected area an uploaded site may lie and still be considered.
SITE_BUFFER_M = 5_000.0


def read_sites(path: str | os.PathLike, *, area: BaseGeometry | None = None,
               buffer_m: float = SITE_BUFFER_M, max_sites: int = MAX_SITES
               ) -> gpd.GeoDataFrame:
    """Read user-supplied candidate or existing sites (lay-bys, safe stop sites, ANPR cameras).

    Parameters
    ----------
    path : path-like
        CSV with a ``name`` column and ``lon``/``lat`` (WGS84) or ``easting``/``northing``
        (British National Grid) columns, optionally ``kind``; or GeoJSON Point features with a
        ``name`` property (WGS84, or EPSG:27700 when the file's legacy ``crs`` member says so).
    area : shapely geometry, optional
        The selected area (EPSG:27700): a site more than ``buffer_m`` outside it is rejected
        with that reason (e.g. a site in Edinburgh for a plan in the Midlands).
    buffer_m : float, default 5000
        Metres beyond ``area`` a site may lie.
    max_sites : int, default 2000
        Most rows the file may hold; more is refused with one line before any work is done.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:27700: ``name``, ``kind`` (the file's, default ``"user"``), ``roads`` (empty),
        ``x``, ``y``, ``lon``, ``lat``, ``nodes`` (empty tuple: not a graph node).
        ``attrs["rejected"]`` lists each rejected row as ``{line, name, reason}`` (line = CSV
        line, or feature number in GeoJSON); ``attrs["source"]`` is the path.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown format, missing columns, more than ``max_sites``
        rows, or no usable row.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such site file")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt"):
        rows, rejected = _read_site_table(p)
    elif suffix in (".geojson", ".json"):
        rows, rejected = _read_site_geojson(p)
    else:
        raise InputError(f"{p}: site files must be CSV or GeoJSON (.csv, .geojson)")
    if len(rows) + len(rejected) > max_sites:
        raise InputError(f"{p}: {len(rows) + len(rejected):,} sites; at most {max_sites:,} can "
                         "be considered at once (each adds a drive-time search and a column "
                         "to the covering problem): split the file or keep the likeliest")
    reach = None
    if area is not None:
        reach = shapely.prepared.prep(area.buffer(buffer_m))
    good: list[dict] = []
    seen: dict[str, int] = {}
    for r in rows:
        name = str(r["name"]).strip()
        if not name:
            rejected.append({"line": r["line"], "name": "", "reason": "no name"})
            continue
        a, b = parse_number(r["a"]), parse_number(r["b"])
        if a is None or b is None:
            rejected.append({"line": r["line"], "name": name,
                             "reason": f"unparseable coordinates {r['a']!r}, {r['b']!r}"})
            continue
        if r["bng"]:
            x, y = a, b
        else:
            problem = _lonlat_problem(a, b)
            if problem:
                rejected.append({"line": r["line"], "name": name, "reason": problem})
                continue
            xa, ya = to_bng(np.array([a]), np.array([b]))
            x, y = float(xa[0]), float(ya[0])
        problem = _check_site_xy(x, y)
        if problem:
            rejected.append({"line": r["line"], "name": name, "reason": problem})
            continue
        if reach is not None and not reach.contains(shapely.Point(x, y)):
            rejected.append({"line": r["line"], "name": name,
                             "reason": f"outside the selected area (more than "
                                       f"{buffer_m / 1000:g} km beyond it)"})
            continue
        if name.lower() in seen:
            rejected.append({"line": r["line"], "name": name,
                             "reason": f"duplicate name (first on line {seen[name.lower()]})"})
            continue
        seen[name.lower()] = r["line"]
        good.append({"name": name, "kind": r["kind"], "roads": "", "x": x, "y": y,
                     "lon": np.nan, "lat": np.nan, "nodes": ()})
    rejected.sort(key=lambda d: d["line"])
    if not good:
        detail = "; ".join(f"line {d['line']}: {d['reason']}" for d in rejected[:3])
        raise InputError(f"{p}: no usable site ({len(rejected)} rejected"
                         + (f": {detail}" if detail else "") + ")")
    out = _site_frame(good)
    out.attrs["rejected"] = rejected
    out.attrs["source"] = str(p)
    return out


def _compass(dx: float, dy: float) -> str:
    bearing = math.degrees(math.atan2(dx, dy)) % 360.0
    return _COMPASS[int((bearing + 22.5) // 45) % 8]


def _slip_ends(graph: nx.MultiDiGraph, named: pd.DataFrame) -> list[dict]:
    """Where slip roads meet the local road: ends of surveyed/OSM link edges off the motorway.

    The shipped extent's links are synthetic junction connectors, so it has none; the national
    (HAPMS) graph and OSM extracts (``graph_from_osm``) have real slip roads.
    """
    classes: dict[Any, set] = {}
    for u, v, d in graph.edges(data=True):
        # HAPMS graphs say what each section is: roundabouts and lay-bys are links too, but
        # only slip roads have the ends sought; a slip meeting the main carriageway is not one.
        func = d.get("function")
        cls = "slip" if (d.get("road_class") == "link" and d.get("geometry_source") != "connector"
                         and func in (None, "slip")) else \
            "motorway" if func == "main" else d.get("road_class")
        classes.setdefault(u, set()).add(cls)
        classes.setdefault(v, set()).add(cls)
    ends = [n for n, c in classes.items() if "slip" in c and "motorway" not in c
            and graph.nodes[n].get("kind") not in ("junction", "services")]
    if not ends:
        return []
    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in ends], float)
    label = np.arange(len(ends))
    for i, j in sorted(cKDTree(xy).query_pairs(_SLIP_MERGE_M)):
        label[label == label[j]] = label[i]
    jtree = cKDTree(named[["x", "y"]].to_numpy()) if len(named) else None
    out = []
    for lab in np.unique(label):
        idx = np.flatnonzero(label == lab)
        x, y = xy[idx].mean(axis=0)
        nodes = tuple(ends[i] for i in idx)
        refs = sorted({str(d.get("ref") or "") for n in nodes
                       for _, _, d in itertools.chain(graph.in_edges(n, data=True),
                                                      graph.out_edges(n, data=True))} - {""})
        base, direction = "slip road", ""
        if jtree is not None:
            dist, j = jtree.query([x, y])
            if dist <= _SLIP_NAME_M:
                row = named.iloc[int(j)]
                base = f"{row['name']} slip road"
                direction = _compass(x - row["x"], y - row["y"])
                refs = list(dict.fromkeys([*str(row["roads"]).split("; "), *refs]))
        out.append({"name": base, "direction": direction, "kind": "slip",
                    "roads": "; ".join(r for r in refs if r), "x": float(x), "y": float(y),
                    "nodes": nodes})
    # Several ends at one junction are told apart by compass point, then by number.
    by_name: dict[str, list[dict]] = {}
    for r in out:
        by_name.setdefault(r["name"], []).append(r)
    for name, group in by_name.items():
        for r in group:
            r["name"] = f"{name} end" if len(group) == 1 else \
                f"{name} end ({r['direction']})" if r["direction"] else f"{name} end"
    return [{k: v for k, v in r.items() if k != "direction"} for r in out]


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        c = seen.get(n, 0) + 1
        seen[n] = c
        out.append(n if c == 1 else f"{n} ({c})")
    return out


def candidate_sites(graph: nx.MultiDiGraph, *, extra: Any = None,
                    kinds: Sequence[str] = CANDIDATE_KINDS) -> gpd.GeoDataFrame:
    """Candidate stop-check / patrol sites: SRN junctions, slip-road ends, services, your own.

    Parameters
    ----------
    graph : networkx.MultiDiGraph
        SRN graph in EPSG:27700 (``build_srn_graph`` or ``graph_from_osm``).
    extra : path-like or GeoDataFrame, optional
        User sites (lay-bys, known safe stop sites): a file for :func:`read_sites` or its
        result.
    kinds : sequence of str
        Which graph sites to offer: ``"junction"`` (named junctions, same-named nodes merged as
        in ``junctions_frame``), ``"slip"`` (where non-connector link edges, i.e. slip roads,
        leave the SRN; only graphs with real slip roads, such as OSM extracts, have them),
        ``"services"`` (service areas).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:27700, one row per site: ``name`` (unique, e.g. ``"M6 J2"``,
        ``"M6 J2 slip road end (north)"``, ``"M40 Warwick Services Northbound"``), ``kind``
        (``junction``, ``slip``, ``services`` or the user file's kind), ``roads``
        (``"; "``-joined SRN roads at the site), ``x``, ``y``, ``lon``, ``lat``, ``nodes``
        (graph node ids; empty for user sites), ``geometry``.
        ``attrs["rejected"]`` carries the user file's rejected rows.

    Raises
    ------
    ParameterError
        Unknown kind, or a graph that is not an SRN graph in EPSG:27700.
    NoDataError
        No candidate at all.
    """
    check_graph(graph)
    unknown = [k for k in kinds if k not in CANDIDATE_KINDS]
    if unknown:
        raise ParameterError(f"unknown candidate kind(s) {', '.join(map(repr, unknown))}; "
                             f"choose from {', '.join(CANDIDATE_KINDS)}")
    rows: list[dict] = []
    try:
        named = junctions_frame(graph, kinds=("junction",))
    except NoDataError:
        named = pd.DataFrame(columns=["name", "kind", "roads", "x", "y", "nodes"])
    if "junction" in kinds:
        rows += [{"name": r.name, "kind": "junction", "roads": r.roads, "x": r.x, "y": r.y,
                  "nodes": tuple(r.nodes)} for r in named.itertuples()]
    if "slip" in kinds:
        rows += _slip_ends(graph, named)
    if "services" in kinds:
        try:
            sv = junctions_frame(graph, kinds=("services",))
        except NoDataError:
            sv = named.iloc[:0]
        rows += [{"name": r.name, "kind": "services", "roads": r.roads, "x": r.x, "y": r.y,
                  "nodes": tuple(r.nodes)} for r in sv.itertuples()]
    rejected: list[dict] = []
    if extra is not None:
        user = as_sites(extra, "extra")
        rejected = list(user.attrs.get("rejected", []))
        rows += [{"name": r.name, "kind": r.kind, "roads": r.roads, "x": r.x, "y": r.y,
                  "nodes": ()} for r in user.itertuples()]
    if not rows:
        raise NoDataError("no candidate sites: the graph has no named junctions or services "
                          "of the kinds asked for; add your own with extra=")
    out = _site_frame(rows)
    out["name"] = unique_names(out["name"].astype(str).tolist())
    out.attrs["rejected"] = rejected
    return out


def _is_site_file(value: Any) -> bool:
    """A path-like, or a string naming a site file (rather than a site such as "M6 J2")."""
    if isinstance(value, os.PathLike):
        return True
    return isinstance(value, str) and (
        value.lower().endswith((".csv", ".txt", ".geojson", ".json")) or Path(value).is_file())


def as_sites(sites: Any, what: str) -> gpd.GeoDataFrame:
    """A site frame in EPSG:27700 with the candidate columns, from a (Geo)DataFrame."""
    if _is_site_file(sites):
        return read_sites(sites)
    if not isinstance(sites, pd.DataFrame):
        raise ParameterError(f"{what} must be a site file or a (Geo)DataFrame of sites")
    if "name" not in sites.columns:
        raise ParameterError(f"{what} needs a 'name' column")
    df = pd.DataFrame(sites).copy()
    if isinstance(sites, gpd.GeoDataFrame) and sites.crs is not None and \
            not {"x", "y"} <= set(df.columns):
        pts = sites.to_crs(BNG).geometry
        if not (pts.geom_type == "Point").all():
            raise ParameterError(f"{what} geometries must be points")
        df["x"], df["y"] = pts.x.to_numpy(), pts.y.to_numpy()
    elif not {"x", "y"} <= set(df.columns):
        if {"lon", "lat"} <= set(df.columns):
            df["x"], df["y"] = to_bng(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
        else:
            raise ParameterError(f"{what} needs x/y (BNG metres) or lon/lat columns")
    x, y = df["x"].to_numpy(float), df["y"].to_numpy(float)
    bad = [n for n, a, b in zip(df["name"], x, y, strict=True) if _check_site_xy(a, b)]
    if bad:
        raise ParameterError(f"{what}: site(s) {', '.join(map(str, bad[:5]))} have coordinates "
                             "outside Great Britain")
    rows = [{"name": str(r["name"]), "kind": str(r.get("kind") or "user"),
             "roads": str(r.get("roads") or ""), "x": float(r["x"]), "y": float(r["y"]),
             "nodes": tuple(r["nodes"]) if isinstance(r.get("nodes"), (tuple, list)) else ()}
            for r in df.to_dict("records")]
    out = _site_frame(rows)
    out.attrs.update(getattr(sites, "attrs", {}))
    return out


def existing_rows(cands: gpd.GeoDataFrame, existing: Any
                   ) -> tuple[gpd.GeoDataFrame, list[str], list[dict]]:
    """Mark existing sites: names of candidates are flagged, other sites are appended.

    Returns the sites, the existing sites' names and the rows rejected from a site file.
    """
    cands = cands.copy()
    cands["existing"] = False
    if existing is None:
        return cands, [], []
    if isinstance(existing, str) and not _is_site_file(existing):
        existing = [existing]
    if isinstance(existing, (list, tuple)) and all(isinstance(e, str) for e in existing):
        lookup = {n.lower(): i for i, n in enumerate(cands["name"])}
        names = []
        for e in existing:
            i = lookup.get(e.strip().lower())
            if i is None:
                close = difflib.get_close_matches(e, cands["name"].tolist(), n=3, cutoff=0.5)
                raise ParameterError(f"existing site {e!r} is not a candidate site"
                                     + (f"; did you mean {', '.join(close)}?" if close else
                                        "; pass a site file or frame with coordinates instead"))
            cands.iloc[i, cands.columns.get_loc("existing")] = True
            names.append(cands["name"].iat[i])
        return cands, names, []
    ex = as_sites(existing, "existing")
    lookup = {n.lower(): i for i, n in enumerate(cands["name"])}
    add = []
    for r in ex.itertuples():
        i = lookup.get(str(r.name).lower())
        if i is not None and math.hypot(cands["x"].iat[i] - r.x, cands["y"].iat[i] - r.y) < 500:
            cands.iloc[i, cands.columns.get_loc("existing")] = True
        else:
            add.append(r.Index)
    extra = ex.loc[add].copy()
    extra["existing"] = True
    merged = pd.concat([cands, extra], ignore_index=True)
    out = gpd.GeoDataFrame(merged, geometry="geometry", crs=BNG)
    out["name"] = unique_names(out["name"].astype(str).tolist())
    rejected = [dict(r, file="existing") for r in ex.attrs.get("rejected", [])]
    return out, out.loc[out["existing"], "name"].tolist(), rejected


def nearest_road(sites: gpd.GeoDataFrame, graph: nx.MultiDiGraph | None) -> gpd.GeoDataFrame:
    """Add ``srn_ref`` and ``srn_distance_m``: the nearest SRN road to each site."""
    sites = sites.copy()
    sites["srn_ref"], sites["srn_distance_m"] = None, np.nan
    if graph is None:
        return sites
    check_graph(graph)
    try:
        et = edge_table(graph)
    except NoDataError:
        return sites
    tree = shapely.STRtree(et.geometry.to_numpy())
    (qi, ti), dist = tree.query_nearest(shapely.points(sites["x"], sites["y"]),
                                        return_distance=True, all_matches=False)
    ref = np.full(len(sites), None, dtype=object)
    d = np.full(len(sites), np.nan)
    ref[qi] = et["ref"].to_numpy()[ti]
    d[qi] = dist
    sites["srn_ref"], sites["srn_distance_m"] = ref, d
    return sites
