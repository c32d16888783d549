"""Junction and road names the way officers say them: refs, junction labels, aliases, lookup."""

from __future__ import annotations

import difflib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from hotspots.errors import NoDataError, ParameterError
from hotspots.spatial.crs import to_wgs84
from hotspots.spatial.road_lines import check_graph

__all__ = [
    "find_junction",
    "junctions_frame",
]

_MOTORWAY_JUNCTION = re.compile(r"^\s*(A\d+\s*\(M\)|M\d+)\s*(TOLL)?\s*([JT])\s*(\d+[A-Z]?)\s*$",
                                re.IGNORECASE)

_ROAD = re.compile(r"^\s*(A\d+\s*\(M\)|[AM]\d+)(\s*TOLL)?\s*$", re.IGNORECASE)

ROAD_IN_TEXT = re.compile(r"\b(A\d+\(M\)|[AM]\d+)\b")

_COUNTY_BORDER = re.compile(r"^\s*c(ou)?nty\s*border\s*$", re.IGNORECASE)


def parse_list(value: Any) -> list[str]:
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


def norm_ref(ref: Any) -> str:
    """Canonical road reference: ``M6``, ``M6 Toll``, ``A46``, ``A38(M)``."""
    text = re.sub(r"\s+", " ", str(ref or "")).strip()
    m = _ROAD.match(text)
    if not m:
        return text
    return re.sub(r"\s+", "", m.group(1)).upper() + (" Toll" if m.group(2) else "")


def road_sort_key(ref: str) -> tuple:
    m = re.match(r"([AM])(\d+)", ref)
    return (0 if ref.startswith("M") else 1, int(m.group(2)) if m else 0, ref)


def road_class_of(ref: str) -> str:
    return "motorway" if ref.startswith("M") or ref.endswith("(M)") else "trunk"


def junction_label(names: Iterable[str], roads: Iterable[str]) -> tuple[str, bool]:
    """Officer-style junction name from HATRIS junction names and the SRN roads there.

    Returns the name and whether the junction is a county-border end rather than a junction.
    """
    numbered: list[str] = []
    crossing: list[str] = []
    border = False
    roads = [norm_ref(r) for r in roads]
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
            base = norm_ref(re.sub(r"-[NESW]$", "", name.strip()))
            if base and base not in crossing and not base.endswith(" Toll"):
                crossing.append(base)
    if numbered:
        return " / ".join(sorted(numbered)), False
    main = sorted(dict.fromkeys(r for r in roads if r), key=road_sort_key)
    extra = sorted((c for c in crossing if c not in main), key=road_sort_key)
    if border and not extra:
        return (f"{' / '.join(main)} county boundary" if main else "county boundary"), True
    parts = main + extra
    if len(parts) == 1:
        # e.g. HATRIS's "A446" junction on the A446 itself
        return f"{parts[0]} junction", False
    return (" / ".join(parts) if parts else "unnamed junction"), False


def disambiguate(names: dict[int, str], xy: dict[int, tuple[float, float]]) -> dict[int, str]:
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


def junctions_frame(graph: nx.MultiDiGraph, *, kinds: Sequence[str] = ("junction",),
                    merge_m: float = 3000.0) -> pd.DataFrame:
    """One row per named junction; same-named nodes within ``merge_m`` are merged.

    OSM maps a motorway junction on each carriageway (two ``"M6 J2"`` nodes): they are one
    junction to an officer, so they become one row at their mean position.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``alias``, ``kind``, ``roads``, ``force`` (the force area holding the
        junction, ``""`` when the graph does not say), ``x``, ``y``, ``lon``, ``lat``,
        ``nodes`` (tuple of node ids), sorted by name.
    """
    check_graph(graph)
    rows = [(n, d) for n, d in graph.nodes(data=True) if d.get("kind") in kinds and d.get("name")]
    if not rows:
        raise NoDataError("the graph has no named junctions")
    df = pd.DataFrame({"node": [n for n, _ in rows],
                       "name": [str(d["name"]) for _, d in rows],
                       "alias": [str(d.get("alias") or "") for _, d in rows],
                       "kind": [str(d.get("kind")) for _, d in rows],
                       "roads": [str(d.get("roads") or "") for _, d in rows],
                       "force": [str(d.get("force") or "") for _, d in rows],
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
                        "force": next((f for f in g["force"] if f), ""),
                        "x": float(g["x"].mean()), "y": float(g["y"].mean()),
                        "nodes": tuple(g["node"].tolist())})
    res = pd.DataFrame(out)
    lon, lat = to_wgs84(res["x"].to_numpy(), res["y"].to_numpy())
    res["lon"], res["lat"] = lon, lat
    return res[["name", "alias", "kind", "roads", "force", "x", "y", "lon", "lat", "nodes"]]


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
    close = difflib.get_close_matches(str(query), jf["name"].tolist(), n=5, cutoff=0.5)
    raise ParameterError(f"no junction named {query!r}"
                         + (f"; did you mean {', '.join(close)}?" if close else ""))
