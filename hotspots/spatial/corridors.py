"""Crime along the Strategic Road Network: distance, corridor bands, junctions, links."""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from hotspots.errors import NoDataError, ParameterError
from hotspots.months import is_month, month_index, month_name
from hotspots.schema import located_xy
from hotspots.spatial.crs import BNG
from hotspots.spatial.drivetime import DEFAULT_CIRCUITY, DEFAULT_LOCAL_SPEED_KPH
from hotspots.spatial.road_lines import edge_table
from hotspots.spatial.road_names import junctions_frame
from hotspots.wording import month_runs_label

__all__ = [
    "DEFAULT_BANDS",
    "band_label",
    "corridor_bands",
    "junction_stats",
    "link_stats",
    "nearest_srn",
]

#: Corridor band edges in metres: 0-500 m, 500 m-1 km, 1-2 km, 2-5 km, over 5 km.
DEFAULT_BANDS: tuple[float, ...] = (0.0, 500.0, 1000.0, 2000.0, 5000.0, math.inf)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

def _located(incidents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mask of mapped rows and BNG coordinates for every row (NaN where unmapped)."""
    return located_xy(incidents)


def _study_area(study_area) -> BaseGeometry:
    if isinstance(study_area, BaseGeometry):
        geom = study_area
    elif isinstance(study_area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if study_area.crs is None:
            raise ParameterError("study_area has no CRS; set it (EPSG:27700 expected)")
        geom = study_area.to_crs(BNG).geometry.union_all() \
            if isinstance(study_area, gpd.GeoDataFrame) else study_area.to_crs(BNG).union_all()
    else:
        raise ParameterError("study_area must be a polygon in EPSG:27700 or a GeoDataFrame "
                             "(for the force or a district: "
                             "hotspots.spatial.boundaries.area_geometry(area, settings))")
    if geom.is_empty or geom.area <= 0:
        raise ParameterError("study_area has no area")
    return geom


def _group_dict(values: pd.Series) -> dict[str, int]:
    counts = values.fillna("unknown").astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.items()}


# --------------------------------------------------------------------------------------------
# Nearest SRN
# --------------------------------------------------------------------------------------------

def _segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Straight segments of line geometries: start (m, 2), end (m, 2), owning geometry index."""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    same = owner[1:] == owner[:-1]
    return coords[:-1][same], coords[1:][same], owner[:-1][same]


def _point_segment_distance(px, py, ax, ay, bx, by) -> np.ndarray:
    dx, dy = bx - ax, by - ay
    l2 = dx * dx + dy * dy
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(l2 > 0, l2, 1.0), 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _nearest_segment(px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray,
                     cell: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact distance from each point to the nearest of segments ``a -> b``, and its index.

    Points are binned in ``cell`` m squares. For a cell with centre ``c`` and half-diagonal
    ``r``, if the segment nearest ``c`` is ``dc`` away, every point of the cell has a segment
    within ``dc + r``, so its nearest segment lies within ``dc + 2r`` of ``c``: only those
    candidates (found with an STRtree) are measured, in numpy. Much faster than a per-point
    STRtree nearest query on millions of points, and exact.
    """
    n = px.size
    dist = np.full(n, np.inf)
    seg = np.full(n, -1)
    if n == 0 or len(a) == 0:
        return dist, seg
    tree = shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))
    x0, y0 = px.min(), py.min()
    if cell is None:
        # About 256 points per occupied cell if they were spread evenly: small cells mean short
        # candidate lists, few points per cell mean more Python-level iterations.
        extent = max((px.max() - x0) * (py.max() - y0), 1.0)
        cell = float(np.clip(math.sqrt(extent * 256.0 / n), 250.0, 5000.0))
    ix = np.floor((px - x0) / cell).astype(np.int64)
    iy = np.floor((py - y0) / cell).astype(np.int64)
    cid = ix * (int(iy.max()) + 1) + iy
    order = np.argsort(cid, kind="stable")
    cells, first, count = np.unique(cid[order], return_index=True, return_counts=True)
    cx = x0 + (ix[order][first] + 0.5) * cell
    cy = y0 + (iy[order][first] + 0.5) * cell
    centres = shapely.points(cx, cy)
    (ci, si), dc = tree.query_nearest(centres, return_distance=True, all_matches=False)
    dcell = np.empty(len(cells))
    dcell[ci] = dc
    half = cell * math.sqrt(0.5)
    qi, qs = tree.query(centres, predicate="dwithin", distance=dcell + 2.0 * half + 1e-6)
    o = np.lexsort((qs, qi))
    qi, qs = qi[o], qs[o]
    ptr = np.searchsorted(qi, np.arange(len(cells) + 1))
    for c in range(len(cells)):
        idx = order[first[c]:first[c] + count[c]]
        cand = qs[ptr[c]:ptr[c + 1]]
        d = _point_segment_distance(px[idx, None], py[idx, None], a[cand, 0], a[cand, 1],
                                    b[cand, 0], b[cand, 1])
        j = d.argmin(axis=1)
        dist[idx] = d[np.arange(len(idx)), j]
        seg[idx] = cand[j]
    return dist, seg


def nearest_srn(incidents: pd.DataFrame, graph: nx.MultiDiGraph, *,
                circuity: float = DEFAULT_CIRCUITY,
                local_speed_kph: float = DEFAULT_LOCAL_SPEED_KPH) -> pd.DataFrame:
    """Distance from each incident to the SRN and to its nearest junction.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame (needs ``x``, ``y``; ``has_location`` and ``force`` are used
        when present). Not modified.
    graph : networkx.MultiDiGraph
        From :func:`hotspots.spatial.srn_graph.build_srn_graph` or ``graph_from_osm``.
    circuity, local_speed_kph : float
        Drive-time model for the junction -> incident leg (see
        :func:`hotspots.spatial.drivetime.drive_times`).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``incidents``: ``srn_distance_m`` (straight line to the nearest SRN road
        geometry; connectors excluded), ``srn_ref`` (that road), ``nearest_junction`` (name),
        ``junction_distance_m`` (straight line), ``junction_drive_s`` (that distance x
        circuity at the local speed), and ``force`` when the input has it. NaN/None for rows
        without a location.
    """
    ok, x, y = _located(incidents)
    et = edge_table(graph)
    try:
        jf = junctions_frame(graph)
    except NoDataError:  # e.g. an OSM extract of trunk roads only: distances still make sense
        jf = None
    n = len(incidents)
    dist = np.full(n, np.nan)
    ref = np.full(n, None, dtype=object)
    jname = np.full(n, None, dtype=object)
    jdist = np.full(n, np.nan)
    if ok.any():
        # police.uk puts many incidents on one anonymous map point: query each point once.
        z = x[ok] + 1j * y[ok]
        uz, inv = np.unique(z, return_inverse=True)
        sa, sb, owner = _segments(et.geometry.to_numpy())
        ud, us = _nearest_segment(uz.real, uz.imag, sa, sb)
        dist[ok] = ud[inv]
        ref[ok] = et["ref"].to_numpy()[owner[us]][inv]
        if jf is not None:
            jd, ji = cKDTree(jf[["x", "y"]].to_numpy()).query(np.c_[uz.real, uz.imag])
            jdist[ok] = jd[inv]
            jname[ok] = jf["name"].to_numpy()[ji][inv]
    out = pd.DataFrame({"srn_distance_m": dist, "srn_ref": ref, "nearest_junction": jname,
                        "junction_distance_m": jdist,
                        "junction_drive_s": jdist * circuity / (local_speed_kph / 3.6)},
                       index=incidents.index)
    if "force" in incidents.columns:
        out["force"] = incidents["force"].to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# Corridor bands
# --------------------------------------------------------------------------------------------

def _fmt_m(v: float) -> tuple[str, str]:
    if v >= 1000:
        return f"{v / 1000:g}", "km"
    return f"{v:g}", "m"


def band_label(lo: float, hi: float) -> str:
    """``0–500 m``, ``500 m–1 km``, ``1–2 km``, ``over 5 km``."""
    if math.isinf(hi):
        a, ua = _fmt_m(lo)
        return f"over {a} {ua}"
    a, ua = _fmt_m(lo)
    b, ub = _fmt_m(hi)
    if lo == 0:
        return f"0–{b} {ub}"
    return f"{a}–{b} {ub}" if ua == ub else f"{a} {ua}–{b} {ub}"


def _check_bands(bands: Sequence[float]) -> np.ndarray:
    b = np.asarray(list(bands), float)
    if b.size < 2 or b[0] != 0 or np.any(np.diff(b) <= 0) or np.isnan(b).any():
        raise ParameterError("bands must be increasing distances in metres starting at 0, "
                             "e.g. (0, 500, 1000, 2000, 5000, inf)")
    if not math.isinf(b[-1]):
        raise ParameterError("bands must end with inf so every incident falls in a band")
    return b


def corridor_bands(incidents: pd.DataFrame, graph: nx.MultiDiGraph, study_area, *,
                   bands: Sequence[float] = DEFAULT_BANDS,
                   by: Sequence[str] | None = None) -> pd.DataFrame:
    """Incidents and area by distance band from the SRN, with location quotients.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame. Rows without a location, or outside ``study_area``, are not
        counted (their numbers are in ``attrs``).
    graph : networkx.MultiDiGraph
    study_area : shapely geometry (EPSG:27700) or GeoDataFrame
        E.g. ``area_geometry(area, settings)`` for the force or a district.
    bands : sequence of float
        Band edges in metres, from 0 and ending with ``inf``; a band is ``[lo, hi)``.
    by : list of str, optional
        Columns to split by, e.g. ``["crime_group"]``, ``["month"]`` or ``["force"]``.

    Returns
    -------
    pandas.DataFrame
        One row per (group, band): ``[*by,] band, lo_m, hi_m, incidents, share, area_km2,
        area_share, density_km2, lq``. ``area_km2`` is the band's area inside the study area
        (buffer differences of the SRN roads, clipped to it); ``share`` is the band's share of
        the group's mapped incidents in the area; ``lq = share / area_share`` (location
        quotient: above 1 means more crime than the band's area would suggest).
        ``attrs``: ``mapped_in_area``, ``not_located``, ``outside_area``, ``study_area_km2``.
    """
    edges = _check_bands(bands)
    by = list(by or [])
    for col in by:
        if col not in incidents.columns:
            raise ParameterError(f"cannot split by {col!r}: incidents have no such column")
    area = _study_area(study_area)
    ok, x, y = _located(incidents)
    inside = np.zeros(len(incidents), bool)
    inside[ok] = shapely.contains_xy(area, x[ok], y[ok])
    et = edge_table(graph)
    reach = float(edges[-2]) + 1.0
    geoms = et.geometry.to_numpy()
    # Roads further than the widest finite band from the area change neither a band area nor
    # any band membership; leaving them out keeps the buffers cheap.
    geoms = geoms[shapely.dwithin(geoms, area, reach)]

    area_km2 = area.area / 1e6
    covered = [0.0]
    for hi in edges[1:-1]:
        # Buffering piece by piece then merging is ~100x faster in GEOS than buffering the
        # merged network, and gives the same polygon.
        covered.append(area.intersection(shapely.union_all(shapely.buffer(geoms, hi))).area
                       / 1e6 if len(geoms) else 0.0)
    covered.append(area_km2)
    band_area = np.diff(np.asarray(covered))

    d = np.full(len(incidents), np.inf)
    if inside.any() and len(geoms):
        z = x[inside] + 1j * y[inside]
        uz, inv = np.unique(z, return_inverse=True)
        tree = shapely.STRtree(geoms)
        (qi, _ti), dd = tree.query_nearest(shapely.points(uz.real, uz.imag),
                                           return_distance=True, all_matches=False)
        ud = np.full(len(uz), np.inf)
        ud[qi] = dd
        d[inside] = ud[inv]
    band_idx = np.searchsorted(edges, d, side="right") - 1
    labels = [band_label(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]

    sel = pd.DataFrame({"band_i": band_idx[inside]})
    for col in by:
        sel[col] = incidents[col].to_numpy()[inside]
    groups = [((), sel)] if not by else list(sel.groupby(by, sort=True, dropna=False))
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        counts = np.bincount(g["band_i"].to_numpy(), minlength=len(labels))
        total = counts.sum()
        for i, label in enumerate(labels):
            share = counts[i] / total if total else math.nan
            a_share = band_area[i] / area_km2
            rows.append({**dict(zip(by, key, strict=True)), "band": label,
                         "lo_m": float(edges[i]), "hi_m": float(edges[i + 1]),
                         "incidents": int(counts[i]), "share": float(share),
                         "area_km2": float(band_area[i]), "area_share": float(a_share),
                         "density_km2": float(counts[i] / band_area[i]) if band_area[i] > 0
                         else math.nan,
                         "lq": float(share / a_share) if a_share > 0 and total else math.nan})
    out = pd.DataFrame(rows, columns=[*by, "band", "lo_m", "hi_m", "incidents", "share",
                                      "area_km2", "area_share", "density_km2", "lq"])
    out.attrs.update({"mapped_in_area": int(inside.sum()), "not_located": int((~ok).sum()),
                      "outside_area": int((ok & ~inside).sum()),
                      "study_area_km2": float(area_km2), "bands_m": [float(b) for b in edges]})
    return out


# --------------------------------------------------------------------------------------------
# Junction statistics
# --------------------------------------------------------------------------------------------

def _ranges(months: list[int]) -> str:
    """Compress month indices into ``2024-05..2024-12, 2025-03``."""
    return month_runs_label([month_name(m) for m in months])


def _parse_period(period, coverage: list[int]) -> tuple[int, int]:
    if period is None:
        if not coverage:
            raise NoDataError("incidents have no months to summarise")
        return min(coverage), max(coverage)
    if isinstance(period, str):
        period = period.split("..") if ".." in period else (period, period)
    try:
        start, end = (str(p) for p in period)
    except (TypeError, ValueError):
        raise ParameterError("period must be ('YYYY-MM', 'YYYY-MM'), 'YYYY-MM..YYYY-MM' "
                             "or 'YYYY-MM'") from None
    for m in (start, end):
        if not is_month(m):
            raise ParameterError(f"period month {m!r} is not YYYY-MM")
    a, b = month_index(start), month_index(end)
    if b < a:
        raise ParameterError(f"period end {end} is before its start {start}")
    return a, b


def junction_stats(incidents: pd.DataFrame, graph: nx.MultiDiGraph, *, radius: float = 2000.0,
                   period=None, months: Sequence[str] | None = None) -> pd.DataFrame:
    """Incidents within ``radius`` of each SRN junction, by group and month, with change.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame; pass the whole span of data, not only ``period``, so the
        previous period can be compared. Not modified.
    graph : networkx.MultiDiGraph
    radius : float
        Straight-line radius around the junction node, metres. A junction's count includes
        every incident within it, so an incident can count for two close junctions.
    period : (str, str), str or None
        First and last month (``"YYYY-MM"``) of the period to count; ``"YYYY-MM..YYYY-MM"``
        and a single month are accepted. None: every month the data covers.
    months : sequence of str, optional
        Months the data covers (e.g. the store's month list). Default: months present in
        ``incidents``. A month not covered is a gap, never a zero.

    Returns
    -------
    pandas.DataFrame
        Per junction, sorted by ``incidents`` descending: ``name``, ``alias``, ``roads``,
        ``lon``, ``lat``, ``x``, ``y``, ``incidents``, ``by_group`` (dict crime_group ->
        count), ``by_force`` (dict), ``monthly`` (dict month -> count, None for months without
        data), ``previous`` (count in the equally long period just before, or None),
        ``change``, ``change_pct`` (None/NaN when it cannot be computed) and ``change_note``
        (why not, e.g. "no data for previous period 2024-09..2024-12"). ``attrs``: ``period``,
        ``previous_period``, ``radius_m``, ``gaps``.
    """
    if radius <= 0:
        raise ParameterError(f"radius must be positive, got {radius}")
    ok, x, y = _located(incidents)
    jf = junctions_frame(graph)
    if "month" in incidents.columns:
        mcol = incidents["month"].astype("string")
        valid = mcol.str.match(r"^\d{4}-(0[1-9]|1[0-2])$").fillna(False).to_numpy(bool)
        midx = np.full(len(incidents), -1)
        midx[valid] = [month_index(m) for m in mcol[valid]]
    else:
        midx = np.full(len(incidents), -1)
    if months is not None:
        bad = [m for m in months if not is_month(str(m))]
        if bad:
            raise ParameterError(f"months must be YYYY-MM, got {bad[:3]}")
        coverage = sorted({month_index(str(m)) for m in months})
    else:
        coverage = sorted(set(midx[midx >= 0].tolist()))
    has_months = bool(coverage)
    if has_months:
        a, b = _parse_period(period, coverage)
        span = b - a + 1
        cur_months = list(range(a, b + 1))
        prev_months = list(range(a - span, a))
        cov = set(coverage)
        gaps_cur = [m for m in cur_months if m not in cov]
        gaps_prev = [m for m in prev_months if m not in cov]
        in_cur = ok & (midx >= a) & (midx <= b)
        in_prev = ok & (midx >= a - span) & (midx < a)
    else:
        if period is not None:
            raise ParameterError("incidents have no month column to select a period by")
        cur_months, prev_months, gaps_cur, gaps_prev = [], [], [], []
        in_cur, in_prev = ok, np.zeros(len(incidents), bool)

    if gaps_cur:
        note = f"period has no data for {_ranges(gaps_cur)}"
    elif not has_months:
        note = "incidents have no month column"
    elif gaps_prev and len(gaps_prev) == len(prev_months):
        note = f"no data for previous period {_ranges(prev_months)}"
    elif gaps_prev:
        note = f"previous period lacks data for {_ranges(gaps_prev)}"
    else:
        note = ""

    use = in_cur | in_prev
    rows_idx = np.flatnonzero(use)
    tree = cKDTree(np.c_[x[rows_idx], y[rows_idx]]) if len(rows_idx) else None
    hits = tree.query_ball_point(jf[["x", "y"]].to_numpy(), r=radius) if tree is not None \
        else [[] for _ in range(len(jf))]
    group = incidents["crime_group"] if "crime_group" in incidents.columns else None
    force = incidents["force"] if "force" in incidents.columns else None
    records = []
    for j, h in zip(jf.itertuples(), hits, strict=True):
        idx = rows_idx[np.asarray(h, int)]
        cur = idx[in_cur[idx]]
        prev_n = int(in_prev[idx].sum())
        monthly = {}
        if has_months:
            cnt = pd.Series(midx[cur]).value_counts()
            monthly = {month_name(m): (int(cnt.get(m, 0)) if m not in gaps_cur else None)
                       for m in cur_months}
        n = int(len(cur))
        if note:
            previous, change, pct = None, None, math.nan
            jnote = note
        else:
            previous, change = prev_n, n - prev_n
            pct = 100.0 * change / prev_n if prev_n else math.nan
            jnote = "" if prev_n else "previous period had no incidents here"
        records.append({
            "name": j.name, "alias": j.alias, "roads": j.roads, "force": j.force,
            "lon": float(j.lon),
            "lat": float(j.lat), "x": float(j.x), "y": float(j.y), "incidents": n,
            "by_group": _group_dict(group.iloc[cur]) if group is not None else {},
            "by_force": _group_dict(force.iloc[cur]) if force is not None else {},
            "monthly": monthly, "previous": previous, "change": change, "change_pct": pct,
            "change_note": jnote})
    out = pd.DataFrame(records).sort_values(["incidents", "name"], ascending=[False, True],
                                            kind="stable").reset_index(drop=True)
    out.attrs.update({
        "radius_m": float(radius),
        "period": (month_name(cur_months[0]), month_name(cur_months[-1])) if cur_months
        else None,
        "previous_period": (month_name(prev_months[0]), month_name(prev_months[-1]))
        if prev_months else None,
        "gaps": _ranges(sorted(set(gaps_cur) | set(gaps_prev))),
    })
    return out


# --------------------------------------------------------------------------------------------
# Link statistics
# --------------------------------------------------------------------------------------------

def _links(graph: nx.MultiDiGraph) -> list[dict]:
    """HATRIS links stored by build_srn_graph, else one link per road piece (OSM graphs)."""
    stored = graph.graph.get("links")
    if stored:
        return stored
    et = edge_table(graph)
    return [{"a": int(r.u), "b": int(r.v), "ref": r.ref, "link_refs": "",
             "edges": [(int(r.u), int(r.v), int(r.key))]} for r in et.itertuples()]


def link_stats(incidents: pd.DataFrame, graph: nx.MultiDiGraph, *, band: float = 500.0
               ) -> gpd.GeoDataFrame:
    """Incidents within ``band`` metres of each SRN link between junctions, per km of road.

    Each incident counts once, for its nearest link within the band, so link counts add up to
    the incidents near the network and rates are comparable between links.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame; not modified.
    graph : networkx.MultiDiGraph
        A graph from :func:`~hotspots.spatial.srn_graph.build_srn_graph` carries the HATRIS links
        (junction to junction); for other graphs each road piece between graph nodes is a link.
    band : float
        Metres either side of the road.

    Returns
    -------
    geopandas.GeoDataFrame
        Sorted by ``per_km`` descending: ``name`` (e.g. ``"M6: M6 J2 – M6 J3"``), ``ref``,
        ``from_junction``, ``to_junction``, ``link_refs``, ``length_km``,
        ``geometry_source`` (surveyed, approximate, osm or mixed), ``incidents``, ``per_km``,
        ``by_group``, ``geometry`` (EPSG:27700). ``attrs``: ``band_m``, ``assigned``,
        ``located``.
    """
    if band <= 0:
        raise ParameterError(f"band must be positive, got {band}")
    ok, x, y = _located(incidents)
    names = {n: v for n, v in nx.get_node_attributes(graph, "name").items() if v}
    links = _links(graph)
    if not graph.graph.get("links"):
        # Road pieces of an OSM graph mostly end at unnamed nodes: name them after the nearest
        # junction instead ("near M6 J2").
        try:
            jf = junctions_frame(graph)
            tree = cKDTree(jf[["x", "y"]].to_numpy())
            for lk in links:
                for end in ("a", "b"):
                    node = lk[end]
                    if node not in names:
                        _d, i = tree.query((graph.nodes[node]["x"], graph.nodes[node]["y"]))
                        names[node] = f"near {jf['name'].iloc[int(i)]}"
        except NoDataError:
            pass
    rows = []
    for lk in links:
        geoms, length, sources = [], 0.0, set()
        for u, v, k in lk["edges"]:
            d = graph.edges[u, v, k]
            if d.get("geometry_source") == "connector":
                continue
            g = d.get("geometry") or LineString([(graph.nodes[u]["x"], graph.nodes[u]["y"]),
                                                 (graph.nodes[v]["x"], graph.nodes[v]["y"])])
            geoms.append(g)
            length += float(d.get("length", g.length))
            sources.add(d.get("geometry_source", "unknown"))
        if not geoms or length <= 0:
            continue
        merged = shapely.line_merge(shapely.union_all(geoms)) if len(geoms) > 1 else geoms[0]
        a, b = names.get(lk["a"], ""), names.get(lk["b"], "")
        rows.append({"name": f"{lk['ref']}: {a or '?'} – {b or '?'}", "ref": lk["ref"],
                     "from_junction": a, "to_junction": b, "link_refs": lk.get("link_refs", ""),
                     "length_km": length / 1000.0,
                     "geometry_source": sources.pop() if len(sources) == 1 else "mixed",
                     "geometry": merged})
    if not rows:
        raise NoDataError("the graph has no SRN links to summarise")
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=BNG)
    counts = np.zeros(len(out), int)
    group_of: list[dict] = [{} for _ in range(len(out))]
    assigned = 0
    if ok.any():
        tree = shapely.STRtree(out.geometry.to_numpy())
        idx = np.flatnonzero(ok)
        (qi, ti), _d = tree.query_nearest(shapely.points(x[idx], y[idx]), max_distance=band,
                                          return_distance=True, all_matches=False)
        counts = np.bincount(ti, minlength=len(out))
        assigned = int(len(qi))
        if "crime_group" in incidents.columns and len(qi):
            gdf = pd.DataFrame({"link": ti, "group": incidents["crime_group"].to_numpy()[idx[qi]]})
            for link, g in gdf.groupby("link"):
                group_of[int(link)] = _group_dict(g["group"])
    out["incidents"] = counts.astype(int)
    out["per_km"] = out["incidents"] / out["length_km"]
    out["by_group"] = group_of
    out = out.sort_values(["per_km", "name"], ascending=[False, True], kind="stable")
    out = out.reset_index(drop=True)
    out = out[["name", "ref", "from_junction", "to_junction", "link_refs", "length_km",
               "geometry_source", "incidents", "per_km", "by_group", "geometry"]]
    out.attrs.update({"band_m": float(band), "assigned": assigned, "located": int(ok.sum())})
    return out
