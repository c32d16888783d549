"""Which candidate sites cover which demand: demand points, reach by road or radius, decay."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from hotspots.errors import NoDataError, ParameterError
from hotspots.models.candidates import (
    as_sites,
    candidate_sites,
    existing_rows,
    nearest_road,
    parse_number,
    unique_names,
)
from hotspots.models.kde import Surface
from hotspots.months import is_month, missing_months
from hotspots.schema import located_xy
from hotspots.spatial.crs import BNG
from hotspots.spatial.drivetime import DEFAULT_CIRCUITY, DEFAULT_LOCAL_SPEED_KPH, reach_points
from hotspots.wording import month_runs_label

__all__ = [
    "DEFAULT_MINUTES",
    "DEFAULT_RADIUS_M",
    "Coverage",
    "aggregate_demand",
    "build_coverage",
]

#: Default reach by road: a 10-minute drive, the "within minutes" a patrol can respond in.
DEFAULT_MINUTES = 10.0

#: Default straight-line reach when a radius is asked for without a value (the CLI's 5 km).
DEFAULT_RADIUS_M = 5000.0

DECAYS = (None, "linear")

# Largest reaches accepted: beyond these "coverage" stops meaning a place a patrol can reach.
_MAX_MINUTES = 120.0
_MAX_RADIUS_M = 100_000.0


_GROUP_NOUNS = {
    "acquisitive": "acquisitive crimes",
    "soc": "SOC-linked crimes",
    "violence": "violent and sexual offences",
    "asb": "anti-social behaviour incidents",
    "other": "other crimes",
}


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


def _straight_reach(sites: gpd.GeoDataFrame, px: np.ndarray, py: np.ndarray,
                    radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(site, point, metres) for every point within ``radius`` of a site, straight line."""
    pairs = cKDTree(np.c_[sites["x"].to_numpy(float), sites["y"].to_numpy(float)]) \
        .sparse_distance_matrix(cKDTree(np.c_[px, py]), radius, output_type="ndarray")
    return pairs["i"].astype(int), pairs["j"].astype(int), pairs["v"].astype(float)


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


def reach_label(params: dict) -> str:
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
        r = parse_number(radius)
        if r is None or r <= 0:
            raise ParameterError(f"radius must be a distance above 0 metres, got {radius!r}")
        if r > _MAX_RADIUS_M:
            raise ParameterError(f"radius {r:g} m is over {_MAX_RADIUS_M / 1000:g} km; "
                                 "coverage that wide says nothing about site choice")
        return "radius", r
    m = DEFAULT_MINUTES if minutes is None else parse_number(minutes)
    if m is None or m <= 0:
        raise ParameterError(f"minutes must be a drive time above 0, got {minutes!r}")
    if m > _MAX_MINUTES:
        raise ParameterError(f"minutes {m:g} is over {_MAX_MINUTES:g}; choose a drive time a "
                             "patrol could respond in")
    return "drive_time", m


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


def _check_coverage_options(minutes: Any, radius: Any, decay: str | None, decay_steps: Any,
                            circuity: float, local_speed_kph: float,
                            graph: nx.MultiDiGraph | None, candidates: Any
                            ) -> tuple[str, float]:
    """Check the reach, decay and local-leg options; return the reach mode and value."""
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
    return mode, reach_value


def _coverage_sites(graph: nx.MultiDiGraph | None, candidates: Any, extra: Any, existing: Any
                    ) -> tuple[gpd.GeoDataFrame, list[str], list[dict]]:
    """Candidates (given or from the graph) plus extra and existing sites, with the nearest
    SRN road; returns the sites, the existing sites' names and every rejected file row."""
    if candidates is None:
        cands = candidate_sites(graph, extra=extra)
    else:
        cands = as_sites(candidates, "candidates")
        if extra is not None:
            more = as_sites(extra, "extra")
            cands = gpd.GeoDataFrame(pd.concat([cands, more], ignore_index=True),
                                     geometry="geometry", crs=BNG)
            cands.attrs["rejected"] = more.attrs.get("rejected", [])
            cands["name"] = unique_names(cands["name"].astype(str).tolist())
    rejected = list(cands.attrs.get("rejected", []))
    sites, existing_names, ex_rejected = existing_rows(cands, existing)
    rejected += ex_rejected
    return nearest_road(sites, graph), existing_names, rejected


def _reach_pairs(graph: nx.MultiDiGraph | None, sites: gpd.GeoDataFrame, px: np.ndarray,
                 py: np.ndarray, mode: str, reach_value: float, circuity: float,
                 local_speed_kph: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(site, point, seconds or metres) within reach, by road or in a straight line."""
    if mode == "drive_time":
        return reach_points(graph, sites, px, py, reach_value * 60.0, float(circuity),
                            float(local_speed_kph))
    return _straight_reach(sites, px, py, reach_value)


def _missing_months(dem: pd.DataFrame, period: tuple[str, str] | None,
                    months: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """Months without data (never read as zero crime) and the notes saying so."""
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
            notes.append(f"no data for {month_runs_label(missing)}: coverage counts only the "
                         "months with data")
    elif present:
        missing = missing_months(present[0], present[-1], present)
        if missing:
            notes.append(f"no incidents in {month_runs_label(missing)} (a gap in the data or none "
                         "recorded): those months add nothing")
    return missing, notes


def _hotspot_reach(graph: nx.MultiDiGraph | None, sites: gpd.GeoDataFrame, hotspots: Any,
                   mode: str, reach_value: float, circuity: float, local_speed_kph: float
                   ) -> tuple[csr_matrix | None, list[str]]:
    """``(sites, hotspots)`` 1 where a hotspot's representative point is within reach."""
    hx, hy, labels = _hotspot_points(hotspots)
    if not hx.size:
        return None, labels
    hs, hp, _ = _reach_pairs(graph, sites, hx, hy, mode, reach_value, circuity, local_speed_kph)
    return csr_matrix((np.ones(hs.size), (hs, hp)), shape=(len(sites), hx.size)), labels


def _out_of_reach(dem: pd.DataFrame, credit: csr_matrix, notes: list[str]) -> float:
    """Share of the demand weight no candidate reaches; notes it and the unmapped rows."""
    if dem.attrs.get("not_located"):
        notes.append(f"{dem.attrs['not_located']} incidents without a location cannot be "
                     "covered and are left out of every share")
    uncoverable = np.asarray(credit.sum(axis=0)).ravel() == 0
    out_of_reach = float(dem["weight"].to_numpy()[uncoverable].sum() / dem["weight"].sum())
    if out_of_reach > 0:
        notes.append(f"{out_of_reach:.1%} of the demand weight is out of reach of every "
                     "candidate site")
    return out_of_reach


def _coverage_params(dem: pd.DataFrame, mode: str,
                     reach_value: float, circuity: float, local_speed_kph: float,
                     decay: str | None, decay_steps: int) -> dict[str, Any]:
    """The JSON-ready method and parameters of a coverage (notes and timings added later)."""
    return {
        "reach_mode": mode,
        "minutes": reach_value if mode == "drive_time" else None,
        "radius_m": reach_value if mode == "radius" else None,
        "distance_method": "network+circuity" if mode == "drive_time" else "straight-line",
        "distance_note": ("SRN drive time from the site (congestion-free class speeds), then "
                          f"straight line x {float(circuity):g} at {float(local_speed_kph):g} "
                          "km/h from the best exit")
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
    }


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
        model of :func:`hotspots.spatial.drivetime.drive_times` (network + circuity).
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
    mode, reach_value = _check_coverage_options(minutes, radius, decay, decay_steps, circuity,
                                                local_speed_kph, graph, candidates)
    dem = aggregate_demand(demand, weight=weight, soc_boost=soc_boost, study_area=study_area)
    sites, existing_names, rejected = _coverage_sites(graph, candidates, extra, existing)
    px, py = dem["x"].to_numpy(float), dem["y"].to_numpy(float)
    si, pi, val = _reach_pairs(graph, sites, px, py, mode, reach_value, circuity,
                               local_speed_kph)
    shape = (len(sites), len(dem))
    reach_unit = reach_value * 60.0 if mode == "drive_time" else reach_value
    cred = _credit(val, reach_unit, decay, int(decay_steps))
    credit = csr_matrix((cred, (si, pi)), shape=shape)
    reach_m = csr_matrix((val, (si, pi)), shape=shape)  # explicit zeros are kept as entries
    hot, hot_labels = None, []
    if hotspots is not None:
        hot, hot_labels = _hotspot_reach(graph, sites, hotspots, mode, reach_value, circuity,
                                         local_speed_kph)
    missing, notes = _missing_months(dem, period, months)
    out_of_reach = _out_of_reach(dem, credit, notes)
    params = _coverage_params(dem, mode, reach_value, circuity, local_speed_kph, decay,
                              decay_steps)
    params.update({
        "uncoverable_share": out_of_reach,
        "candidates": int((~sites["existing"]).sum()),
        "existing": existing_names,
        "label": _demand_label(dem, label),
        "months": dem.attrs.get("months") or [],
        "missing_months": missing,
        "rejected_sites": rejected,
        "notes": notes,
        "seconds": round(time.perf_counter() - t0, 3),
    })
    if dem.attrs["source"] == "surface":
        params["surface"] = dem.attrs["surface"]
    return Coverage(sites=sites, demand=dem, credit=credit, reach=reach_m, hotspot_reach=hot,
                    hotspot_labels=hot_labels, params=params)
