"""Where to put stop-checks and ANPR patrols: maximal covering site selection on the SRN."""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import json
import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix as _coo
from scipy.sparse import csr_matrix, hstack, identity, vstack
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.jsonvalue import json_value
from hotspots.models.kde import Surface
from hotspots.months import is_month, missing_months
from hotspots.schema import located_xy
from hotspots.spatial.crs import BNG, to_bng, to_wgs84
from hotspots.spatial.roads import (
    _TRUNK_EXIT_SPACING_M,
    DEFAULT_CIRCUITY,
    DEFAULT_LOCAL_SPEED_KPH,
    SPEEDS_KPH,
    _check_graph,
    edge_table,
    junctions_frame,
)
from hotspots.wording import month_runs_label

__all__ = [
    "CANDIDATE_KINDS",
    "DEFAULT_MINUTES",
    "DEFAULT_RADIUS_M",
    "DEFAULT_TIME_LIMIT_S",
    "Coverage",
    "SitePlan",
    "aggregate_demand",
    "build_coverage",
    "candidate_sites",
    "choose_sites",
    "coverage_curve",
    "lscp",
    "read_sites",
]

#: Default reach by road: a 10-minute drive, the "within minutes" a patrol can respond in.
DEFAULT_MINUTES = 10.0
#: Default straight-line reach when a radius is asked for without a value (the CLI's 5 km).
DEFAULT_RADIUS_M = 5000.0
#: Seconds the exact solver may run before the best solution found so far (or greedy) is used.
DEFAULT_TIME_LIMIT_S = 30.0
#: Candidate kinds taken from the graph by default.
CANDIDATE_KINDS = ("junction", "slip", "services")
SOLVERS = ("highs", "cbc", "greedy")
DECAYS = (None, "linear")

# Slip-road ends closer than this are one place (the on- and off-slip meet the same roundabout).
_SLIP_MERGE_M = 100.0
# A slip-road end takes the name of the nearest named junction within this distance.
_SLIP_NAME_M = 3000.0
# Largest reaches accepted: beyond these "coverage" stops meaning a place a patrol can reach.
_MAX_MINUTES = 120.0
_MAX_RADIUS_M = 100_000.0
# Great Britain in British National Grid metres: coordinates outside are a typo or a swap.
_GB_EXTENT = (0.0, 0.0, 700_000.0, 1_300_000.0)
# Dense Dijkstra output per chunk (sources x nodes, float64): about 32 MB.
_DIJKSTRA_CHUNK_CELLS = 4_000_000
# 1 - 1/e: the greedy algorithm's worst-case ratio for maximum coverage (Nemhauser et al. 1978).
_GREEDY_RATIO = 1.0 - 1.0 / math.e

_GROUP_NOUNS = {
    "acquisitive": "acquisitive crimes",
    "soc": "SOC-linked crimes",
    "violence": "violent and sexual offences",
    "asb": "anti-social behaviour incidents",
    "other": "other crimes",
}
_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west",
            "north-west")


# --------------------------------------------------------------------------------------------
# Candidate sites
# --------------------------------------------------------------------------------------------

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


def _number(text: Any) -> float | None:
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


def read_sites(path: str | os.PathLike) -> gpd.GeoDataFrame:
    """Read user-supplied candidate or existing sites (lay-bys, safe stop sites, ANPR cameras).

    Parameters
    ----------
    path : path-like
        CSV with a ``name`` column and ``lon``/``lat`` (WGS84) or ``easting``/``northing``
        (British National Grid) columns, optionally ``kind``; or GeoJSON Point features with a
        ``name`` property (WGS84, or EPSG:27700 when the file's legacy ``crs`` member says so).

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
        Missing or unreadable file, unknown format, missing columns, or no usable row.
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
    good: list[dict] = []
    seen: dict[str, int] = {}
    for r in rows:
        name = str(r["name"]).strip()
        if not name:
            rejected.append({"line": r["line"], "name": "", "reason": "no name"})
            continue
        a, b = _number(r["a"]), _number(r["b"])
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

    The shipped graph's links are synthetic junction connectors, so it has none; OSM extracts
    (``graph_from_osm``) have real ``motorway_link``/``trunk_link`` ways.
    """
    classes: dict[Any, set] = {}
    for u, v, d in graph.edges(data=True):
        cls = "slip" if (d.get("road_class") == "link"
                         and d.get("geometry_source") != "connector") else d.get("road_class")
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


def _unique_names(names: list[str]) -> list[str]:
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
    _check_graph(graph)
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
        user = _as_sites(extra, "extra")
        rejected = list(user.attrs.get("rejected", []))
        rows += [{"name": r.name, "kind": r.kind, "roads": r.roads, "x": r.x, "y": r.y,
                  "nodes": ()} for r in user.itertuples()]
    if not rows:
        raise NoDataError("no candidate sites: the graph has no named junctions or services "
                          "of the kinds asked for; add your own with extra=")
    out = _site_frame(rows)
    out["name"] = _unique_names(out["name"].astype(str).tolist())
    out.attrs["rejected"] = rejected
    return out


def _is_site_file(value: Any) -> bool:
    """A path-like, or a string naming a site file (rather than a site such as "M6 J2")."""
    if isinstance(value, os.PathLike):
        return True
    return isinstance(value, str) and (
        value.lower().endswith((".csv", ".txt", ".geojson", ".json")) or Path(value).is_file())


def _as_sites(sites: Any, what: str) -> gpd.GeoDataFrame:
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


# --------------------------------------------------------------------------------------------
# Demand
# --------------------------------------------------------------------------------------------

def aggregate_demand(source: pd.DataFrame | Surface, *, weight: str = "harm",
                     soc_boost: float = 1.0, study_area: Any = None) -> pd.DataFrame:
    """Demand points to cover: incidents merged by location, or a hotspot surface's mass.

    Parameters
    ----------
    source : pandas.DataFrame or Surface
        Canonical incident frame (mapped rows are used; ``x``, ``y``, ``crime_type``,
        ``crime_group``, ``harm``), or a :class:`~hotspots.models.kde.Surface` whose cell
        centres become demand points carrying ``value x cell area`` (incidents per cell).
    weight : {"harm", "count"}
        What the selection maximises for incidents: summed harm (default) or incident count.
    soc_boost : float
        Multiplier on the weight of SOC-linked incidents (``crime_group == "soc"``); 1 = none.
    study_area : shapely geometry, optional
        Surfaces only: keep the cells whose centre lies inside it (EPSG:27700).

    Returns
    -------
    pandas.DataFrame
        One row per distinct location (police.uk map point) or surface cell: ``x``, ``y``,
        ``incidents`` (count, or surface mass), ``harm`` (NaN for surfaces), ``weight`` (what is
        maximised), then one count column per crime type named ``"type:<crime type>"``.
        ``attrs``: ``weight``, ``soc_boost``, ``source`` (``"incidents"`` or ``"surface"``),
        ``incidents`` (all rows), ``not_located``, ``soc_incidents``, ``months``, ``groups``,
        ``types``, and ``surface`` (its parameters) for surfaces.

    Raises
    ------
    ParameterError
        Unknown weight, bad boost, missing harm, wrong input type.
    NoDataError
        Nothing mapped to cover.
    """
    if weight not in ("harm", "count"):
        raise ParameterError(f"weight must be 'harm' or 'count', got {weight!r}")
    try:
        boost = float(soc_boost)
    except (TypeError, ValueError):
        raise ParameterError(f"soc_boost must be a number, got {soc_boost!r}") from None
    if not (0 < boost <= 100 and math.isfinite(boost)):
        raise ParameterError(f"soc_boost must be a multiplier above 0 (1 = no boost), "
                             f"got {soc_boost!r}")
    if isinstance(source, Surface):
        return _surface_demand(source, study_area)
    if not isinstance(source, pd.DataFrame):
        raise ParameterError("demand must be an incident frame or a kde Surface, got "
                             f"{type(source).__name__}")
    ok, x, y = located_xy(source)
    n_all = len(source)
    if not ok.any():
        raise NoDataError(f"no mapped incidents to cover ({n_all} selected, none with a "
                          "location); widen the period or the crime selection")
    group = source["crime_group"].astype("string").fillna("other").to_numpy(object)[ok] \
        if "crime_group" in source.columns else np.full(ok.sum(), "other", dtype=object)
    ctype = source["crime_type"].astype("string").fillna("unknown").to_numpy(object)[ok] \
        if "crime_type" in source.columns else np.full(ok.sum(), "unknown", dtype=object)
    if "harm" in source.columns:
        harm = pd.to_numeric(source["harm"], errors="coerce").to_numpy(float)[ok]
    else:
        harm = np.full(ok.sum(), np.nan)
    if weight == "harm":
        bad = ~np.isfinite(harm) | (harm < 0)
        if bad.any():
            raise ParameterError(f"{int(bad.sum())} incidents have no valid harm weight; "
                                 "fill harm or use weight='count'")
        w = harm.copy()
    else:
        w = np.ones(ok.sum())
    is_soc = group == "soc"
    w[is_soc] *= boost
    codes, uniq = pd.factorize(x[ok] + 1j * y[ok])
    uniq = np.asarray(uniq)
    n = len(uniq)
    out = pd.DataFrame({
        "x": uniq.real.copy(), "y": uniq.imag.copy(),
        "incidents": np.bincount(codes, minlength=n).astype(float),
        "harm": np.bincount(codes, weights=np.nan_to_num(harm), minlength=n)
        if np.isfinite(harm).all() else np.full(n, np.nan),
        "weight": np.bincount(codes, weights=w, minlength=n)})
    if not w.sum() > 0:
        raise NoDataError("the selected incidents have zero total weight (harm); nothing to "
                          "cover - use weight='count' or check the harm table")
    tcodes, tnames = pd.factorize(ctype, sort=True)
    mix = np.zeros((n, len(tnames)))
    np.add.at(mix, (codes, tcodes), 1.0)
    for j, t in enumerate(tnames):
        out[f"type:{t}"] = mix[:, j]
    months = sorted(source["month"].dropna().astype(str).unique().tolist()) \
        if "month" in source.columns else []
    out.attrs.update({
        "source": "incidents", "weight": weight, "soc_boost": boost, "incidents": n_all,
        "not_located": int(n_all - ok.sum()), "soc_incidents": int(is_soc.sum()),
        "months": months, "groups": sorted(set(group.tolist())),
        "types": [str(t) for t in tnames]})
    return out


def _surface_demand(surface: Surface, study_area: Any) -> pd.DataFrame:
    grid = surface.grid
    keep = surface.values > 0
    if study_area is not None:
        keep &= grid.mask(study_area)
    if not keep.any():
        raise NoDataError("the surface has no density inside the study area to cover")
    xc, yc = grid.centres(mesh=True)
    mass = surface.values[keep] * grid.cell_area / 1e6
    out = pd.DataFrame({"x": xc[keep], "y": yc[keep], "incidents": mass,
                        "harm": np.full(mass.size, np.nan), "weight": mass})
    out.attrs.update({"source": "surface", "weight": "surface mass", "soc_boost": 1.0,
                      "incidents": float(surface.total_weight), "not_located": 0,
                      "soc_incidents": 0, "months": [], "groups": [], "types": [],
                      "surface": surface.params()})
    return out


# --------------------------------------------------------------------------------------------
# Reach: which sites cover which points, and how quickly
# --------------------------------------------------------------------------------------------

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
    csr = _coo((np.maximum(e["w"].to_numpy(), 1e-6), (e["u"].to_numpy(), e["v"].to_numpy())),
               shape=(n, n)).tocsr()
    return nodes, index, csr


def _exit_table(graph: nx.MultiDiGraph, index: dict) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
    """Where the SRN can be left, as (graph node index, seconds after that node, x/y).

    Mirrors ``hotspots.spatial.roads.drive_times``: junction and data-end nodes, and points
    every 200 m along trunk roads (at-grade access) timed from the edge's start node.
    """
    node, off, xs, ys = [], [], [], []
    for n, d in graph.nodes(data=True):
        if d.get("kind") in ("junction", "end"):
            node.append(index[n])
            off.append(0.0)
            xs.append(float(d["x"]))
            ys.append(float(d["y"]))
    for u, _v, d in graph.edges(data=True):
        if d.get("road_class") != "trunk":
            continue
        geom = d["geometry"]
        length = float(geom.length)
        s = np.r_[np.arange(0.0, length, _TRUNK_EXIT_SPACING_M), length]
        pts = shapely.line_interpolate_point(geom, s)
        node += [index[u]] * len(s)
        off += list(s / length * float(d["travel_time"]))
        xs += list(shapely.get_x(pts))
        ys += list(shapely.get_y(pts))
    return np.asarray(node, int), np.asarray(off, float), np.c_[xs, ys]


def _network_reach(graph: nx.MultiDiGraph, sites: gpd.GeoDataFrame, px: np.ndarray,
                   py: np.ndarray, reach_s: float, circuity: float,
                   speed_kph: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(site, point, seconds) for every point a site reaches within ``reach_s``.

    Drive-time model of ``drive_times``: on the SRN from the site, off it at the exit giving
    the earliest arrival, then straight line x circuity at the local speed. A site off the
    graph (a lay-by) joins it at the nearest graph node by the same local leg, and can also
    drive straight to a point on local roads, as can a slip-road end.
    """
    speed = speed_kph / 3.6
    r_max = reach_s * speed / circuity  # the longest local leg that can still arrive in time
    nodes, index, csr = _graph_csr(graph)
    ex_node, ex_off, ex_xy = _exit_table(graph, index)
    pts = np.c_[px, py]
    ptree = cKDTree(pts)
    # Exits with no point within a full local leg cannot cover anything.
    if len(ex_xy):
        d_any, _ = ptree.query(ex_xy, distance_upper_bound=r_max)
        useful = np.isfinite(d_any)
        ex_node, ex_off, ex_xy = ex_node[useful], ex_off[useful], ex_xy[useful]
    pairs = cKDTree(ex_xy).sparse_distance_matrix(ptree, r_max, output_type="ndarray") \
        if len(ex_xy) else np.zeros(0, dtype=[("i", int), ("j", int), ("v", float)])
    E_indptr, E_indices, E_data = _csr_parts(pairs, len(ex_xy), circuity / speed)

    xy_nodes = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes], float)
    ntree = cKDTree(xy_nodes)
    entries: list[list[tuple[int, float]]] = []
    for r in sites.itertuples():
        ids = [index[n] for n in (r.nodes or ()) if n in index]
        if ids:
            entries.append([(i, 0.0) for i in ids])
        else:
            d, i = ntree.query([r.x, r.y])
            entries.append([(int(i), float(d) * circuity / speed)])
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


def _csr_parts(pairs: np.ndarray, n_rows: int, scale: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays of (row, col, value * scale) triples, keeping zero values as entries."""
    order = np.argsort(pairs["i"], kind="stable")
    rows = pairs["i"][order]
    indptr = np.searchsorted(rows, np.arange(n_rows + 1))
    return indptr, pairs["j"][order].astype(int), pairs["v"][order] * scale


def _straight_reach(sites: gpd.GeoDataFrame, px: np.ndarray, py: np.ndarray,
                    radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(site, point, metres) for every point within ``radius`` of a site, straight line."""
    pairs = cKDTree(np.c_[sites["x"].to_numpy(float), sites["y"].to_numpy(float)]) \
        .sparse_distance_matrix(cKDTree(np.c_[px, py]), radius, output_type="ndarray")
    return pairs["i"].astype(int), pairs["j"].astype(int), pairs["v"].astype(float)


# --------------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------------

@dataclass
class Coverage:
    """Which candidate sites cover which demand points, with how the reach was measured.

    Attributes
    ----------
    sites : geopandas.GeoDataFrame
        Candidates then existing sites (column ``existing``), as from :func:`candidate_sites`.
    demand : pandas.DataFrame
        From :func:`aggregate_demand`.
    credit : scipy.sparse.csr_matrix
        ``(sites, points)``: share of a point's weight a site earns, 1 within reach without
        decay; stepped values with ``decay="linear"``. Absent entries are 0 (out of reach).
    reach : scipy.sparse.csr_matrix
        Same pattern: seconds (drive time) or metres (straight line) from site to point.
    hotspot_reach : scipy.sparse.csr_matrix or None
        ``(sites, hotspots)``, 1 where a hotspot's representative point is within reach.
    hotspot_labels : list of str
    params : dict
        Method and parameters, JSON-ready (see :func:`build_coverage`).
    """

    sites: gpd.GeoDataFrame
    demand: pd.DataFrame
    credit: csr_matrix
    reach: csr_matrix
    hotspot_reach: csr_matrix | None = None
    hotspot_labels: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def weights(self) -> np.ndarray:
        """Demand weight per point (what is maximised)."""
        return self.demand["weight"].to_numpy(float)

    @property
    def total_weight(self) -> float:
        """Total demand weight of the mapped incidents (the denominator of every share)."""
        return float(self.demand["weight"].sum())

    @property
    def existing(self) -> np.ndarray:
        """Row indices of the existing (forced) sites."""
        return np.flatnonzero(self.sites["existing"].to_numpy(bool))

    @property
    def free(self) -> np.ndarray:
        """Row indices of the sites that can be chosen."""
        return np.flatnonzero(~self.sites["existing"].to_numpy(bool))

    def value(self, chosen: Sequence[int]) -> float:
        """Weight covered by ``chosen`` site rows plus the existing sites (best credit per
        point)."""
        rows = np.unique(np.r_[np.asarray(chosen, int), self.existing])
        if not rows.size:
            return 0.0
        best = self.credit[rows].max(axis=0).toarray().ravel()
        return float(best @ self.weights)


def _reach_label(params: dict) -> str:
    if params["reach_mode"] == "drive_time":
        m = params["minutes"]
        return f"within {m:g} minute{'s' if m != 1 else ''} by road"
    r = params["radius_m"]
    dist = f"{r / 1000:g} km" if r >= 1000 else f"{r:g} m"
    return f"within {dist} (straight line)"


def _demand_label(demand: pd.DataFrame, label: str | None) -> str:
    if label:
        return label
    if demand.attrs.get("source") == "surface":
        return "incidents' worth of hotspot density"
    groups = demand.attrs.get("groups") or []
    types = demand.attrs.get("types") or []
    if len(groups) == 1:
        return _GROUP_NOUNS.get(groups[0], f"{groups[0]} crimes")
    if len(types) == 1:
        return f"{types[0].lower()} offences"
    return "crimes"


def _check_reach(minutes: Any, radius: Any) -> tuple[str, float]:
    if minutes is not None and radius is not None:
        raise ParameterError("give a drive time (minutes) or a straight-line radius, not both")
    if radius is not None:
        r = _number(radius)
        if r is None or r <= 0:
            raise ParameterError(f"radius must be a distance above 0 metres, got {radius!r}")
        if r > _MAX_RADIUS_M:
            raise ParameterError(f"radius {r:g} m is over {_MAX_RADIUS_M / 1000:g} km; "
                                 "coverage that wide says nothing about site choice")
        return "radius", r
    m = DEFAULT_MINUTES if minutes is None else _number(minutes)
    if m is None or m <= 0:
        raise ParameterError(f"minutes must be a drive time above 0, got {minutes!r}")
    if m > _MAX_MINUTES:
        raise ParameterError(f"minutes {m:g} is over {_MAX_MINUTES:g}; choose a drive time a "
                             "patrol could respond in")
    return "drive_time", m


def _existing_rows(cands: gpd.GeoDataFrame, existing: Any
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
    ex = _as_sites(existing, "existing")
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
    out["name"] = _unique_names(out["name"].astype(str).tolist())
    rejected = [dict(r, file="existing") for r in ex.attrs.get("rejected", [])]
    return out, out.loc[out["existing"], "name"].tolist(), rejected


def _nearest_road(sites: gpd.GeoDataFrame, graph: nx.MultiDiGraph | None) -> gpd.GeoDataFrame:
    """Add ``srn_ref`` and ``srn_distance_m``: the nearest SRN road to each site."""
    sites = sites.copy()
    sites["srn_ref"], sites["srn_distance_m"] = None, np.nan
    if graph is None:
        return sites
    _check_graph(graph)
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


def _hotspot_points(hotspots: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if isinstance(hotspots, gpd.GeoSeries):
        hotspots = gpd.GeoDataFrame(geometry=hotspots)
    if not isinstance(hotspots, gpd.GeoDataFrame):
        raise ParameterError("hotspots must be a GeoDataFrame of hotspot polygons or points "
                             "(e.g. from hotspot_areas)")
    if hotspots.empty:
        return np.zeros(0), np.zeros(0), []
    g = hotspots.geometry if hotspots.crs is None else hotspots.to_crs(BNG).geometry
    pts = g.representative_point()
    if "name" in hotspots.columns:
        labels = hotspots["name"].astype(str).tolist()
    elif "rank" in hotspots.columns:
        labels = [f"hotspot {int(r)}" for r in hotspots["rank"]]
    else:
        labels = [f"hotspot {i + 1}" for i in range(len(hotspots))]
    return pts.x.to_numpy(float), pts.y.to_numpy(float), labels


def _credit(values: np.ndarray, reach: float, decay: str | None, steps: int) -> np.ndarray:
    if decay is None:
        return np.ones(values.size)
    band = np.clip(np.ceil(values / (reach / steps) - 1e-12), 1, steps)
    return (steps - band + 1) / steps


def build_coverage(demand: pd.DataFrame | Surface, graph: nx.MultiDiGraph | None = None, *,
                   candidates: gpd.GeoDataFrame | None = None, extra: Any = None,
                   existing: Any = None, minutes: float | None = None,
                   radius: float | None = None, weight: str = "harm", soc_boost: float = 1.0,
                   decay: str | None = None, decay_steps: int = 4,
                   circuity: float = DEFAULT_CIRCUITY,
                   local_speed_kph: float = DEFAULT_LOCAL_SPEED_KPH, hotspots: Any = None,
                   study_area: Any = None, label: str | None = None,
                   period: tuple[str, str] | None = None,
                   months: Sequence[str] | None = None) -> Coverage:
    """Build the site x demand coverage matrix (sparse, cut off at the reach).

    Parameters
    ----------
    demand : pandas.DataFrame or Surface
        Incidents of the chosen crimes and period (canonical frame), or a KDE surface; see
        :func:`aggregate_demand`. Not modified.
    graph : networkx.MultiDiGraph, optional
        SRN graph (EPSG:27700). Needed for drive-time reach and for the default candidates.
    candidates : GeoDataFrame, optional
        Default ``candidate_sites(graph, extra=extra)``.
    extra : path-like or GeoDataFrame, optional
        User candidate sites added to the default candidates (see :func:`read_sites`).
    existing : path-like, GeoDataFrame or list of candidate names, optional
        Sites already in place (e.g. fixed ANPR cameras): always in the solution, their
        coverage counted first and reported separately. A candidate of the same name (within
        500 m) is marked rather than duplicated.
    minutes : float, optional
        Reach as a drive time (default 10 when ``radius`` is not given), by the drive-time
        model of :func:`hotspots.spatial.roads.drive_times` (network + circuity).
    radius : float, optional
        Reach as a straight-line distance in metres instead.
    weight : {"harm", "count"}
    soc_boost : float
        Weight multiplier for ``crime_group == "soc"`` (default 1: no boost).
    decay : {None, "linear"}
        None: a point within reach counts in full. ``"linear"``: stepped linear decay - with
        ``decay_steps`` S, a point in the b-th of S equal bands of the reach earns
        ``(S - b + 1) / S`` (with S=4 and 10 minutes: 1 within 2.5 min, 0.75 to 5, 0.5 to 7.5,
        0.25 to 10), a step approximation of ``1 - t / reach`` from above.
    decay_steps : int
    circuity, local_speed_kph : float
        Off-SRN leg of the drive-time model (defaults 1.3 and 40 km/h, both assumptions; see
        docs/roads.md).
    hotspots : GeoDataFrame, optional
        Hotspot polygons or points (e.g. ``hotspot_areas``); each site reports which are in
        reach (of their representative point).
    study_area : shapely geometry, optional
        For surface demand: only cells inside it.
    label : str, optional
        Noun phrase for the rationale, e.g. ``"vehicle crimes"``; default from the crime groups.
    period : (str, str), optional
        The months asked for, ``("YYYY-MM", "YYYY-MM")``; with ``months`` (the store's months)
        the months without data are reported, never read as zero.
    months : sequence of str, optional

    Returns
    -------
    Coverage
        ``params`` holds: ``reach_mode`` (``drive_time`` or ``radius``), ``minutes`` or
        ``radius_m``, ``distance_method`` (``"network+circuity"`` or ``"straight-line"``),
        ``circuity``, ``local_speed_kph``, ``decay``, ``decay_steps``, ``weight``,
        ``soc_boost``, ``demand_points``, ``incidents``, ``mapped_incidents``,
        ``not_located``, ``total_weight``, ``candidates``, ``existing``, ``label``,
        ``months``, ``missing_months``, ``rejected_sites``, ``notes``, ``seconds``.

    Raises
    ------
    ParameterError
        Reach of zero or below, both minutes and radius, no graph for drive times, unknown
        existing site, bad decay.
    NoDataError
        No mapped incidents, no candidates.
    InputError
        Unreadable site files.
    """
    t0 = time.perf_counter()
    mode, reach_value = _check_reach(minutes, radius)
    if decay not in DECAYS:
        raise ParameterError(f"decay must be None or 'linear', got {decay!r}")
    if isinstance(decay_steps, bool) or not isinstance(decay_steps, (int, np.integer)) \
            or not 1 <= decay_steps <= 20:
        raise ParameterError(f"decay_steps must be a whole number 1-20, got {decay_steps!r}")
    if not (1.0 <= float(circuity) <= 3.0):
        raise ParameterError(f"circuity {circuity} is outside 1-3 (road distance / straight line)")
    if not (5.0 <= float(local_speed_kph) <= 130.0):
        raise ParameterError(f"local_speed_kph {local_speed_kph} is outside 5-130 km/h")
    if graph is None and (mode == "drive_time" or candidates is None):
        raise ParameterError("drive-time coverage and the default candidates need the SRN "
                             "graph (build_srn_graph()); or give radius= and candidates=")
    dem = aggregate_demand(demand, weight=weight, soc_boost=soc_boost, study_area=study_area)
    if candidates is None:
        cands = candidate_sites(graph, extra=extra)
    else:
        cands = _as_sites(candidates, "candidates")
        if extra is not None:
            more = _as_sites(extra, "extra")
            cands = gpd.GeoDataFrame(pd.concat([cands, more], ignore_index=True),
                                     geometry="geometry", crs=BNG)
            cands.attrs["rejected"] = more.attrs.get("rejected", [])
            cands["name"] = _unique_names(cands["name"].astype(str).tolist())
    rejected = list(cands.attrs.get("rejected", []))
    sites, existing_names, ex_rejected = _existing_rows(cands, existing)
    rejected += ex_rejected
    sites = _nearest_road(sites, graph)
    px, py = dem["x"].to_numpy(float), dem["y"].to_numpy(float)
    if mode == "drive_time":
        reach_s = reach_value * 60.0
        si, pi, val = _network_reach(graph, sites, px, py, reach_s, float(circuity),
                                     float(local_speed_kph))
        reach_unit = reach_s
    else:
        si, pi, val = _straight_reach(sites, px, py, reach_value)
        reach_unit = reach_value
    shape = (len(sites), len(dem))
    cred = _credit(val, reach_unit, decay, int(decay_steps))
    credit = csr_matrix((cred, (si, pi)), shape=shape)
    reach_m = csr_matrix((val, (si, pi)), shape=shape)  # explicit zeros are kept as entries
    hot, hot_labels = None, []
    if hotspots is not None:
        hx, hy, hot_labels = _hotspot_points(hotspots)
        if hx.size:
            if mode == "drive_time":
                hs, hp, _ = _network_reach(graph, sites, hx, hy, reach_s, float(circuity),
                                           float(local_speed_kph))
            else:
                hs, hp, _ = _straight_reach(sites, hx, hy, reach_value)
            hot = csr_matrix((np.ones(hs.size), (hs, hp)), shape=(len(sites), hx.size))
    notes = []
    present = dem.attrs.get("months") or []
    missing: list[str] = []
    if period is not None:
        ok = isinstance(period, (tuple, list)) and len(period) == 2 and all(
            is_month(m) for m in period)
        if not ok or period[1] < period[0]:
            raise ParameterError(f"period must be (first, last) months as YYYY-MM, in order, "
                                 f"got {period!r}")
    if period is not None and months is not None:
        missing = missing_months(*period, months)
        if missing:
            notes.append(f"no data for {_span_text(missing)}: coverage counts only the months "
                         "with data")
    elif present:
        missing = missing_months(present[0], present[-1], present)
        if missing:
            notes.append(f"no incidents in {_span_text(missing)} (a gap in the data or none "
                         "recorded): those months add nothing")
    if dem.attrs.get("not_located"):
        notes.append(f"{dem.attrs['not_located']} incidents without a location cannot be "
                     "covered and are left out of every share")
    uncoverable = np.asarray(credit.sum(axis=0)).ravel() == 0
    out_of_reach = float(dem["weight"].to_numpy()[uncoverable].sum() / dem["weight"].sum())
    if out_of_reach > 0:
        notes.append(f"{out_of_reach:.1%} of the demand weight is out of reach of every "
                     "candidate site")
    params = {
        "reach_mode": mode,
        "minutes": reach_value if mode == "drive_time" else None,
        "radius_m": reach_value if mode == "radius" else None,
        "distance_method": "network+circuity" if mode == "drive_time" else "straight-line",
        "distance_note": ("SRN drive time from the site (congestion-free class speeds), then "
                          f"straight line x {float(circuity):g} at {float(local_speed_kph):g} "
                          "km/h from the best exit (hotspots.spatial.roads.drive_times)")
        if mode == "drive_time" else "straight-line distance from the site",
        "circuity": float(circuity) if mode == "drive_time" else None,
        "local_speed_kph": float(local_speed_kph) if mode == "drive_time" else None,
        "decay": decay,
        "decay_steps": int(decay_steps) if decay else None,
        "weight": dem.attrs["weight"],
        "soc_boost": dem.attrs["soc_boost"],
        "soc_incidents": dem.attrs["soc_incidents"],
        "demand_source": dem.attrs["source"],
        "demand_points": len(dem),
        "incidents": dem.attrs["incidents"],
        "mapped_incidents": float(dem["incidents"].sum()) if dem.attrs["source"] == "surface"
        else int(dem["incidents"].sum()),
        "not_located": dem.attrs["not_located"],
        "total_weight": float(dem["weight"].sum()),
        "uncoverable_share": out_of_reach,
        "candidates": int((~sites["existing"]).sum()),
        "existing": existing_names,
        "label": _demand_label(dem, label),
        "months": present,
        "missing_months": missing,
        "rejected_sites": rejected,
        "notes": notes,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if dem.attrs["source"] == "surface":
        params["surface"] = dem.attrs["surface"]
    return Coverage(sites=sites, demand=dem, credit=credit, reach=reach_m, hotspot_reach=hot,
                    hotspot_labels=hot_labels, params=params)


def _span_text(months: list[str]) -> str:
    """``2024-05..2024-12`` for consecutive runs, comma-joined."""
    return month_runs_label(months)


# --------------------------------------------------------------------------------------------
# Optimisation
# --------------------------------------------------------------------------------------------

@dataclass
class _Model:
    """Covering rows after removing what existing sites cover and merging equal patterns.

    ``rows`` is ``(n_rows, n_free)`` 0/1: which free sites cover the row; ``w`` its weight.
    A point whose best credit comes in levels c1 > c2 > ... contributes one row per level
    with weight ``w_i (c_l - c_{l+1})``: covering it at level l earns exactly its credit.
    """

    rows: csr_matrix
    w: np.ndarray
    base: float  # weight covered by the existing sites alone
    free: np.ndarray  # site rows of the model's columns


def _build_model(cov: Coverage) -> _Model:
    w = cov.weights
    free = cov.free
    ex = cov.existing
    credit = cov.credit
    levels = np.unique(credit.data)[::-1]
    nxt = np.r_[levels[1:], 0.0]
    ex_best = credit[ex].max(axis=0).toarray().ravel() if ex.size else np.zeros(len(w))
    base = float(ex_best @ w)
    keys: dict[bytes, int] = {}
    row_w: list[float] = []
    r_idx: list[np.ndarray] = []
    sub = credit[free].tocsc()
    for lv, nx_ in zip(levels, nxt, strict=True):
        # existing sites at or above this level make these rows constant
        m = (sub >= lv).tocsc()
        m.sort_indices()
        gain = w * (lv - nx_)
        for i in np.flatnonzero(np.diff(m.indptr) > 0):
            if ex_best[i] >= lv:
                continue
            cols = m.indices[m.indptr[i]:m.indptr[i + 1]]
            key = cols.tobytes()
            r = keys.get(key)
            if r is None:
                keys[key] = len(row_w)
                row_w.append(gain[i])
                r_idx.append(cols)
            else:
                row_w[r] += gain[i]
    n = len(row_w)
    if n:
        lens = np.array([len(c) for c in r_idx])
        rows = csr_matrix((np.ones(lens.sum()), np.concatenate(r_idx),
                           np.r_[0, np.cumsum(lens)]), shape=(n, len(free)))
    else:
        rows = csr_matrix((0, len(free)))
    return _Model(rows=rows, w=np.asarray(row_w, float), base=base, free=free)


def _milp(c: np.ndarray, A: csr_matrix, lb: np.ndarray, ub: np.ndarray, lo: np.ndarray,
          hi: np.ndarray, integer: np.ndarray, solver: str, time_limit: float
          ) -> tuple[np.ndarray | None, bool, float | None, str]:
    """Minimise ``c.z`` s.t. ``lb <= A z <= ub``, ``lo <= z <= hi``; integer where flagged.

    Returns the solution (or None), whether it is proven optimal, the solver's dual bound on
    the optimum (None when the solver does not give one), and a status text.
    """
    if solver == "highs":
        res = milp(c, integrality=integer.astype(int), bounds=Bounds(lo, hi),
                   constraints=LinearConstraint(A, lb, ub),
                   options={"time_limit": float(time_limit), "mip_rel_gap": 0.0,
                            "presolve": True})
        z = None if res.x is None else np.asarray(res.x)
        bound = getattr(res, "mip_dual_bound", None)
        return z, res.status == 0, (None if bound is None or not np.isfinite(bound)
                                    else float(bound)), str(res.message)
    return _milp_cbc(c, A, lb, ub, lo, hi, integer, time_limit)


def _milp_cbc(c: np.ndarray, A: csr_matrix, lb: np.ndarray, ub: np.ndarray, lo: np.ndarray,
              hi: np.ndarray, integer: np.ndarray, time_limit: float
              ) -> tuple[np.ndarray | None, bool, float | None, str]:
    """:func:`_milp` with CBC through PuLP (optional dependency)."""
    try:
        import pulp
    except ImportError:
        raise ParameterError("solver='cbc' needs PuLP (pip install pulp); or use "
                             "solver='highs'") from None
    # PuLP 3.3 warns that its bundled CBC and variable constructor change in 4.0; both paths
    # are handled below, so the warnings would only be noise for a sergeant.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cbc = None
        for name in ("COIN_CMD", "PULP_CBC_CMD"):
            cls = getattr(pulp, name, None)
            if cls is not None and cls(msg=False).available():
                cbc = cls(msg=False, timeLimit=float(time_limit), gapRel=0.0)
                break
        if cbc is None:
            raise ParameterError("solver='cbc' found no CBC binary (pip install 'pulp[cbc]'); "
                                 "or use solver='highs'")
        prob = pulp.LpProblem("sites", pulp.LpMinimize)
        add = getattr(prob, "add_variable", None)
        z = []
        for i in range(len(c)):
            kw = {"lowBound": float(lo[i]), "upBound": float(hi[i]),
                  "cat": "Integer" if integer[i] else "Continuous"}
            z.append(add(f"z{i}", **kw) if add else pulp.LpVariable(f"z{i}", **kw))
        prob += pulp.lpSum(float(c[i]) * z[i] for i in np.flatnonzero(c))
        A = A.tocsr()
        for r in range(A.shape[0]):
            s, e = A.indptr[r], A.indptr[r + 1]
            expr = pulp.lpSum(float(v) * z[j] for j, v in zip(A.indices[s:e], A.data[s:e],
                                                              strict=True))
            if lb[r] == ub[r]:
                prob += expr == float(lb[r])
            else:
                if np.isfinite(ub[r]):
                    prob += expr <= float(ub[r])
                if np.isfinite(lb[r]):
                    prob += expr >= float(lb[r])
        status = prob.solve(cbc)
    values = np.array([v.value() if v.value() is not None else np.nan for v in z], float)
    ok = status == pulp.LpStatusOptimal and not np.isnan(values).any()
    proven = ok and prob.sol_status == pulp.LpSolutionOptimal
    return (values if ok else None), proven, None, f"CBC: {pulp.LpStatus[status]}"


def _lp_bound(c: np.ndarray, A: csr_matrix, lb: np.ndarray, ub: np.ndarray, lo: np.ndarray,
              hi: np.ndarray) -> float | None:
    """Optimum of the LP relaxation (a bound on the integer optimum), or None."""
    eq = lb == ub
    up = ~eq & np.isfinite(ub)
    down = ~eq & np.isfinite(lb)
    A_ub = vstack([A[up], -A[down]]).tocsr() if (up | down).any() else None
    b_ub = np.r_[ub[up], -lb[down]] if A_ub is not None else None
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A[eq] if eq.any() else None,
                  b_eq=ub[eq] if eq.any() else None, bounds=np.c_[lo, hi], method="highs")
    return float(res.fun) if res.status == 0 else None


def _greedy(cov: Coverage, k: int | None, target: float | None = None,
            start: Sequence[int] = ()) -> list[int]:
    """Greedy selection of free sites by marginal weight, ties to the earlier site row.

    Stops after ``k`` sites, or once ``target`` weight is reached.
    """
    w = cov.weights
    credit = cov.credit
    cur = credit[cov.existing].max(axis=0).toarray().ravel() if cov.existing.size \
        else np.zeros(len(w))
    for s in start:
        cur = np.maximum(cur, credit[s].toarray().ravel())
    free = cov.free
    sub = credit[free].tocsr()
    chosen: list[int] = list(start)
    taken = np.isin(free, chosen)
    while True:
        if k is not None and len(chosen) >= k:
            break
        if target is not None and cur @ w >= target - 1e-9 * max(target, 1.0):
            break
        gain_data = np.maximum(sub.data - cur[sub.indices], 0.0) * w[sub.indices]
        gains = np.add.reduceat(np.r_[gain_data, 0.0], sub.indptr[:-1]) * \
            (np.diff(sub.indptr) > 0)
        gains[taken] = -1.0
        j = int(np.argmax(gains))
        if gains[j] < 0 or (target is not None and gains[j] <= 0):
            break
        taken[j] = True
        chosen.append(int(free[j]))
        row = sub[j]
        cur[row.indices] = np.maximum(cur[row.indices], row.data)
    return chosen


def _check_solver(solver: str, time_limit: Any) -> float:
    if solver not in SOLVERS:
        raise ParameterError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    t = _number(time_limit)
    if t is None or t <= 0:
        raise ParameterError(f"time_limit must be seconds above 0, got {time_limit!r}")
    return t


def _mclp_problem(model: _Model, k: int):
    n_x, n_y = len(model.free), len(model.w)
    c = np.r_[np.zeros(n_x), -model.w]
    # y_r <= sum of the free sites covering row r;  sum x = k
    cover = hstack([-model.rows, identity(n_y, format="csr")]).tocsr()
    count = csr_matrix(np.r_[np.ones(n_x), np.zeros(n_y)][None, :])
    A = vstack([cover, count]).tocsr()
    lb = np.r_[np.full(n_y, -np.inf), k]
    ub = np.r_[np.zeros(n_y), k]
    lo, hi = np.zeros(n_x + n_y), np.ones(n_x + n_y)
    # y may stay continuous: with integer x its best value is 0 or 1 anyway
    integer = np.r_[np.ones(n_x, bool), np.zeros(n_y, bool)]
    return c, A, lb, ub, lo, hi, integer


def _solve_mclp(cov: Coverage, k: int, solver: str, time_limit: float) -> dict[str, Any]:
    """Best ``k`` free sites: exact with a greedy fallback, and the evidence for the answer."""
    t0 = time.perf_counter()
    model = _build_model(cov)
    greedy = _greedy(cov, k)
    g_val = cov.value(greedy)
    chosen, method, proven, status = greedy, "greedy", False, "greedy requested"
    bounds: list[tuple[float, str]] = []
    if len(model.w) == 0:
        # the existing sites already reach everything any candidate could
        chosen, method, proven, status = greedy, "mclp", True, "nothing left to cover"
    elif solver != "greedy":
        problem = _mclp_problem(model, k)
        z, proven, dual, status = _milp(*problem, solver, time_limit)
        exact = None
        if z is not None:
            exact = [int(model.free[i]) for i in np.flatnonzero(z[:len(model.free)] > 0.5)]
            exact = exact if len(exact) == k else None
        e_val = cov.value(exact) if exact is not None else -np.inf
        proven = bool(proven and exact is not None)
        if proven or e_val >= g_val:
            chosen, method = exact, "mclp"
        if dual is not None and not proven:
            bounds.append((model.base - dual, f"{solver} dual bound"))
    value = cov.value(chosen)
    if proven:
        bound, source, gap = value, "proven optimal", 0.0
    else:
        lp = _lp_bound(*_mclp_problem(model, k)[:6])
        if lp is not None:
            bounds.append((model.base - lp, "LP relaxation"))
        # greedy's worst case bounds the optimum of what the new sites add
        bounds.append((model.base + (g_val - model.base) / _GREEDY_RATIO,
                       "greedy (1-1/e) bound"))
        bound, source = min(bounds, key=lambda t: t[0])
        bound = max(bound, value)
        gap = (bound - value) / bound if bound > 0 else 0.0
    return {"chosen": chosen, "method": method, "proven_optimal": bool(proven),
            "value": value, "greedy_value": g_val, "bound": float(bound), "bound_source": source,
            "gap": float(max(gap, 0.0)), "status": status, "solver": solver,
            "time_limit_s": time_limit, "model_rows": len(model.w),
            "seconds": round(time.perf_counter() - t0, 3)}


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------

@dataclass
class SitePlan:
    """Ranked sites with what each covers, how they were chosen and how good the choice is.

    Attributes
    ----------
    sites : pandas.DataFrame
        New sites, by ``rank`` (1 = largest marginal coverage given the existing sites and the
        higher ranks): ``rank, name, kind, roads, lon, lat, x, y, covered, covered_harm,
        covered_share, covered_incident_share, marginal, marginal_harm, marginal_share,
        cumulative, cumulative_harm, cumulative_share, crime_mix, hotspots, rationale``.
        ``covered*`` count what the site reaches on its own; ``marginal*`` what no existing or
        higher-ranked site reaches; ``cumulative*`` the union up to this rank, existing sites
        included. Shares are of the total demand weight (``share_basis``);
        ``covered_incident_share`` is of the incidents.
    existing : pandas.DataFrame
        Existing sites with the same columns (``rank`` 0), counted before any new site.
    method : str
        ``"mclp"`` (exact solver's answer), ``"greedy"``, ``"lscp"``.
    gap : float
        ``(bound - value) / bound``: 0.0 when proven optimal.
    summary : dict
        Objective, bound and its source, solver status, timings, coverage parameters.
    """

    sites: pd.DataFrame
    existing: pd.DataFrame
    method: str
    gap: float
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``sites`` (ordered), ``existing``, ``method``, ``gap`` and the
        method, parameters and totals behind them."""
        return json_value({"method": self.method, "gap": round(self.gap, 6),
                          "sites": self.sites.drop(columns=["x", "y"]).to_dict("records"),
                          "existing": self.existing.drop(columns=["x", "y"])
                          .to_dict("records"),
                          **self.summary})


def _fmt_count(v: float, surface: bool) -> str:
    return f"{v:,.1f}" if surface else f"{int(round(v)):,}"


def _corridor_phrase(roads: list[str], site: pd.Series) -> str:
    if roads:
        if len(roads) == 1:
            return f"it sits on the {roads[0]} corridor"
        return f"it sits on the {', '.join(roads[:-1])} and {roads[-1]} corridors"
    dist, ref = site.get("srn_distance_m"), site.get("srn_ref")
    if dist is None or not np.isfinite(dist):
        return "its distance from the SRN is not known (no road graph given)"
    text = f"{dist:,.0f} m" if dist < 1000 else f"{dist / 1000:.1f} km"
    if dist < 2000:
        return f"it is {text} from the {ref}"
    return f"it is {text} from the nearest SRN road ({ref})"


def _site_rows(cov: Coverage, order: list[int], rank0: int) -> list[dict]:
    """Per-site statistics in ``order``, each counted against the sites before it."""
    w = cov.weights
    inc = cov.demand["incidents"].to_numpy(float)
    harm = cov.demand["harm"].to_numpy(float)
    total_w = cov.total_weight
    total_n = float(inc.sum())
    surface = cov.params["demand_source"] == "surface"
    has_harm = bool(np.isfinite(harm).all())
    mix_cols = [c for c in cov.demand.columns if c.startswith("type:")]
    mix = cov.demand[mix_cols].to_numpy(float) if mix_cols else None
    label = cov.params["label"]
    reach = _reach_label(cov.params)
    ex = cov.existing
    cur = cov.credit[ex].max(axis=0).toarray().ravel() if ex.size and rank0 > 0 \
        else np.zeros(len(w))
    within = (cov.credit[ex].getnnz(axis=0) > 0) if ex.size and rank0 > 0 \
        else np.zeros(len(w), bool)
    rows = []
    for pos, s in enumerate(order):
        row = cov.credit[s]
        idx, cr = row.indices, row.data
        reach_mask = np.zeros(len(w), bool)
        reach_mask[idx] = True
        new_mask = reach_mask & ~within
        gain = float((np.maximum(cr - cur[idx], 0.0) * w[idx]).sum())
        cur[idx] = np.maximum(cur[idx], cr)
        within |= reach_mask
        site = cov.sites.iloc[s]
        roads = [r for r in str(site["roads"]).split("; ") if r]
        covered = float(inc[reach_mask].sum())
        marginal = float(inc[new_mask].sum())
        hot = []
        if cov.hotspot_reach is not None:
            hot = [cov.hotspot_labels[j] for j in cov.hotspot_reach[s].indices]
        crime_mix = {}
        if mix is not None:
            counts = mix[reach_mask].sum(axis=0)
            crime_mix = {mix_cols[j][5:]: int(round(counts[j]))
                         for j in np.argsort(-counts, kind="stable") if counts[j] > 0}
        d = {"rank": rank0 + pos if rank0 > 0 else 0, "name": site["name"],
             "kind": site["kind"], "roads": roads, "lon": float(site["lon"]),
             "lat": float(site["lat"]), "x": float(site["x"]), "y": float(site["y"]),
             "covered": round(covered, 1) if surface else int(round(covered)),
             "covered_harm": float(harm[reach_mask].sum()) if has_harm else None,
             "covered_share": float((cr * w[idx]).sum() / total_w),
             "covered_incident_share": covered / total_n if total_n else 0.0,
             "marginal": round(marginal, 1) if surface else int(round(marginal)),
             "marginal_harm": float(harm[new_mask].sum()) if has_harm else None,
             "marginal_share": gain / total_w,
             "cumulative": round(float(inc[within].sum()), 1) if surface
             else int(round(inc[within].sum())),
             "cumulative_harm": float(harm[within].sum()) if has_harm else None,
             "cumulative_share": float(cur @ w / total_w),
             "crime_mix": crime_mix, "hotspots": hot}
        d["rationale"] = _rationale(d, label, reach, surface, rank0 == 0, bool(ex.size),
                                    _corridor_phrase(roads, site), cov.params["weight"],
                                    bool(cov.params["decay"]))
        rows.append(d)
    return rows


def _rationale(d: dict, label: str, reach: str, surface: bool, is_existing: bool,
               any_existing: bool, corridor: str, weight: str, decay: bool) -> str:
    """One plain-English sentence from the site's numbers."""
    n = _fmt_count(d["covered"], surface)
    share = f"{d['covered_incident_share']:.0%} of the total"
    if weight == "harm":
        share += f", {d['covered_share']:.0%} of the harm"
    if decay:
        share += " after distance decay" if weight == "harm" else \
            f", {d['covered_share']:.0%} after distance decay"
    text = f"{d['name']} covers {n} {label} ({share}) {reach}"
    others = "any higher-ranked or existing site" if any_existing else "any higher-ranked site"
    if is_existing:
        text += " (existing site, counted first)"
    elif d["rank"] > 1 or any_existing:
        if d["marginal"] == 0:
            text += f", none of them beyond what {others.replace('any ', '')}s cover"
        elif d["marginal"] == d["covered"]:
            text += f", none of them covered by {others}"
        else:
            text += f", {_fmt_count(d['marginal'], surface)} of them not covered by {others}"
    text += f"; {corridor}"
    if d["hotspots"]:
        h = len(d["hotspots"])
        text += f", with {h} hotspot area{'s' if h != 1 else ''} within reach"
    return text + "."


def _order_by_marginal(cov: Coverage, chosen: list[int]) -> list[int]:
    """Chosen sites ordered greedily by marginal weight (given existing and earlier ranks)."""
    order: list[int] = []
    w = cov.weights
    ex = cov.existing
    cur = cov.credit[ex].max(axis=0).toarray().ravel() if ex.size else np.zeros(len(w))
    left = sorted(set(chosen))
    while left:
        gains = []
        for s in left:
            r = cov.credit[s]
            gains.append(((np.maximum(r.data - cur[r.indices], 0.0) * w[r.indices]).sum(),
                          (r.data * w[r.indices]).sum(), -s))
        best = left[int(max(range(len(left)), key=lambda i: gains[i]))]
        r = cov.credit[best]
        cur[r.indices] = np.maximum(cur[r.indices], r.data)
        order.append(best)
        left.remove(best)
    return order


def _plan(cov: Coverage, chosen: list[int], method: str, gap: float, extra: dict) -> SitePlan:
    order = _order_by_marginal(cov, chosen)
    cols = ["rank", "name", "kind", "roads", "lon", "lat", "x", "y", "covered", "covered_harm",
            "covered_share", "covered_incident_share", "marginal", "marginal_harm",
            "marginal_share", "cumulative", "cumulative_harm", "cumulative_share", "crime_mix",
            "hotspots", "rationale"]
    sites = pd.DataFrame(_site_rows(cov, order, 1), columns=cols)
    existing = pd.DataFrame(_site_rows(cov, list(cov.existing), 0), columns=cols)
    ex_val = cov.value([])
    value = cov.value(chosen)
    total = cov.total_weight
    inc = cov.demand["incidents"].to_numpy(float)
    within = cov.credit[np.r_[np.asarray(chosen, int), cov.existing]].getnnz(axis=0) > 0 \
        if len(chosen) or cov.existing.size else np.zeros(len(inc), bool)
    summary = {
        "k": len(chosen),
        "covered_share": value / total,
        "existing_share": ex_val / total,
        "covered_incidents": float(inc[within].sum()),
        "total_incidents": float(inc.sum()),
        "total_weight": total,
        "share_basis": cov.params["weight"] if cov.params["weight"] != "harm"
        else "harm (sum of incidents' harm weights)",
        "reach": _reach_label(cov.params),
        "coverage": cov.params,
        **extra,
    }
    return SitePlan(sites=sites, existing=existing, method=method, gap=gap, summary=summary)


def _check_k(cov: Coverage, k: Any, what: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"{what} must be a whole number of sites >= 1, got {k!r}")
    n = len(cov.free)
    if k > n:
        raise ParameterError(f"{what}={k} but there are only {n} candidate sites"
                             + (f" (plus {len(cov.existing)} existing)" if len(cov.existing)
                                else "") + "; lower k or add sites with extra=")
    return int(k)


def choose_sites(coverage: Coverage, k: int = 5, *, solver: str = "highs",
                 time_limit: float = DEFAULT_TIME_LIMIT_S) -> SitePlan:
    """Choose ``k`` new sites covering the most demand (maximal covering location problem).

    MCLP (Church & ReVelle 1974): maximise the demand weight within reach of at least one
    chosen site, existing sites forced in. Solved exactly as a mixed-integer programme
    (``solver="highs"``: HiGHS through ``scipy.optimize.milp``; ``"cbc"``: CBC through PuLP)
    with ``mip_rel_gap = 0`` and a time limit. The greedy solution is always computed too;
    when the solver does not prove optimality in time, the better of its incumbent and greedy
    is returned with the optimality gap against the tightest bound available (the solver's
    dual bound, the LP relaxation, or greedy's ``1 - 1/e`` guarantee).

    Parameters
    ----------
    coverage : Coverage
        From :func:`build_coverage`.
    k : int
        New sites to choose (existing sites come on top).
    solver : {"highs", "cbc", "greedy"}
    time_limit : float
        Seconds for the exact solver (default 30).

    Returns
    -------
    SitePlan
        ``method`` ``"mclp"`` or ``"greedy"``; ``gap`` 0.0 when proven optimal;
        ``summary``: ``covered_share``, ``existing_share``, ``objective``, ``bound``,
        ``bound_source``, ``greedy_share``, ``solver``, ``status``, ``seconds``, ``coverage``
        (the coverage parameters).

    Raises
    ------
    ParameterError
        ``k`` below 1 or above the number of candidates; unknown solver; bad time limit.
    """
    if not isinstance(coverage, Coverage):
        raise ParameterError("coverage must come from build_coverage()")
    k = _check_k(coverage, k)
    time_limit = _check_solver(solver, time_limit)
    res = _solve_mclp(coverage, k, solver, time_limit)
    total = coverage.total_weight
    extra = {"objective": res["value"], "bound": res["bound"],
             "bound_source": res["bound_source"], "proven_optimal": res["proven_optimal"],
             "greedy_share": res["greedy_value"] / total, "solver": res["solver"],
             "time_limit_s": res["time_limit_s"], "status": res["status"],
             "model_rows": res["model_rows"], "seconds": res["seconds"],
             "problem": "MCLP: maximise demand weight within reach of k new sites "
                        "(existing sites forced in)"}
    return _plan(coverage, res["chosen"], res["method"], res["gap"], extra)


def lscp(coverage: Coverage, target: float = 0.8, *, solver: str = "highs",
         time_limit: float = DEFAULT_TIME_LIMIT_S) -> SitePlan:
    """The fewest new sites that together cover ``target`` of the demand (set covering).

    Partial location set covering: minimise the number of new sites such that the demand
    weight within reach (existing sites included) is at least ``target`` x the total. Exact
    with a time limit; otherwise greedy (add the site adding most until the target is met),
    with the gap in sites against the solver's bound.

    Parameters
    ----------
    coverage : Coverage
    target : float
        Share of the total demand weight, ``0 < target <= 1`` (default 0.8).
    solver, time_limit
        As in :func:`choose_sites`.

    Returns
    -------
    SitePlan
        ``method`` ``"lscp"`` (proven minimal) or ``"greedy"``; ``summary["target"]``,
        ``summary["min_sites_bound"]``.

    Raises
    ------
    ParameterError
        Bad target; the target is out of reach even with every candidate.
    """
    if not isinstance(coverage, Coverage):
        raise ParameterError("coverage must come from build_coverage()")
    t = _number(target)
    if t is None or not 0 < t <= 1:
        raise ParameterError(f"target must be a share between 0 and 1, e.g. 0.8, got {target!r}")
    time_limit = _check_solver(solver, time_limit)
    t0 = time.perf_counter()
    total = coverage.total_weight
    need = t * total
    all_val = coverage.value(list(coverage.free))
    if all_val < need * (1 - 1e-12):
        raise ParameterError(f"target {t:.0%} cannot be met: all {len(coverage.free)} "
                             f"candidate sites together cover {all_val / total:.1%} "
                             f"{_reach_label(coverage.params)}; lower the target or widen the "
                             "reach")
    model = _build_model(coverage)
    greedy = _greedy(coverage, None, target=need)
    chosen, method, proven, status, lower = greedy, "greedy", False, "greedy requested", 0
    if model.base >= need * (1 - 1e-12):
        chosen, method, proven, status, lower = [], "lscp", True, "existing sites suffice", 0
    elif solver != "greedy":
        n_x, n_y = len(model.free), len(model.w)
        c = np.r_[np.ones(n_x), np.zeros(n_y)]
        cover = hstack([-model.rows, identity(n_y, format="csr")]).tocsr()
        wrow = csr_matrix(np.r_[np.zeros(n_x), model.w][None, :])
        A = vstack([cover, wrow]).tocsr()
        # a hair under the target absorbs rounding in the summed weights
        lb = np.r_[np.full(n_y, -np.inf), need - model.base - 1e-9 * total]
        ub = np.r_[np.zeros(n_y), np.inf]
        lo, hi = np.zeros(n_x + n_y), np.ones(n_x + n_y)
        integer = np.r_[np.ones(n_x, bool), np.zeros(n_y, bool)]
        z, proven, dual, status = _milp(c, A, lb, ub, lo, hi, integer, solver, time_limit)
        if z is not None:
            exact = [int(model.free[i]) for i in np.flatnonzero(z[:n_x] > 0.5)]
            if len(exact) <= len(greedy) and coverage.value(exact) >= need * (1 - 1e-9):
                chosen, method = exact, "lscp"
        if proven and method == "lscp":
            lower = len(chosen)
        else:
            proven = False
            lp = _lp_bound(c, A, lb, ub, lo, hi)
            lower = max(math.ceil(dual - 1e-6) if dual is not None else 0,
                        math.ceil(lp - 1e-6) if lp is not None else 0)
    n = len(chosen)
    gap = 0.0 if proven else (n - lower) / n if n else 0.0
    extra = {"target": t, "min_sites_bound": int(lower if not proven else n),
             "proven_optimal": bool(proven), "objective": coverage.value(chosen),
             "bound_source": "proven optimal" if proven else
             "solver dual / LP relaxation bound on the number of sites",
             "solver": solver, "time_limit_s": time_limit, "status": status,
             "model_rows": len(model.w), "seconds": round(time.perf_counter() - t0, 3),
             "problem": f"LSCP (partial): fewest new sites covering {t:.0%} of the demand "
                        "weight (existing sites count towards it)"}
    return _plan(coverage, chosen, method, gap, extra)


def coverage_curve(coverage: Coverage, k_max: int = 15, *, solver: str = "highs",
                   time_limit: float = 10.0) -> list[tuple[int, float]]:
    """Covered share of the demand weight against the number of new sites, k = 1..k_max.

    Each point is its own MCLP (the best k sites need not contain the best k-1), solved as in
    :func:`choose_sites`; if a solve is not proven optimal in ``time_limit`` the better of its
    incumbent and greedy is used, and the curve is kept non-decreasing (adding a site never
    loses coverage). ``k_max`` above the number of candidates stops at that number. Existing
    sites are counted at every k.

    Returns
    -------
    list of (int, float)
        ``(k, cumulative share)``, JSON-ready.
    """
    if not isinstance(coverage, Coverage):
        raise ParameterError("coverage must come from build_coverage()")
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or k_max < 1:
        raise ParameterError(f"k_max must be a whole number >= 1, got {k_max!r}")
    time_limit = _check_solver(solver, time_limit)
    total = coverage.total_weight
    out: list[tuple[int, float]] = []
    last = coverage.value([]) / total
    for k in range(1, min(int(k_max), len(coverage.free)) + 1):
        res = _solve_mclp(coverage, k, solver, time_limit)
        last = max(last, res["value"] / total)
        out.append((k, float(last)))
    return out
