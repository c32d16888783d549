"""Density clusters of incidents (DBSCAN, HDBSCAN) in metres, with snapped duplicates merged."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from hotspots.errors import NoDataError, ParameterError
from hotspots.months import missing_months
from hotspots.schema import located_xy
from hotspots.spatial.grid import CRS
from hotspots.wording import month_runs_label

#: The clustering algorithms, in the order the switcher and `--method` offer them.
CLUSTER_METHODS = ("dbscan", "hdbscan")
DUPLICATES = ("weight", "locations")

#: Default DBSCAN neighbourhood radius, metres: a few street blocks, about the spacing of
#: police.uk's anonymous map points in a town.
DEFAULT_EPS = 250.0

#: Default ``min_samples`` / ``min_cluster_size``: this share of the clustering units
#: (incidents, or distinct locations with ``duplicates="locations"``), at least MIN_DEFAULT.
DEFAULT_SHARE = 0.005
MIN_DEFAULT = 5

#: Radius, metres, drawn around hulls without area (one or two locations, or in a line).
HULL_BUFFER = 25.0

#: DBSCAN keeps every neighbour list in memory (8 bytes per entry in scikit-learn): refuse
#: jobs with more entries than this (about 2 GB).
MAX_NEIGHBOURS = 250_000_000

#: scikit-learn's HDBSCAN builds its minimum spanning tree with Prim's algorithm, whose time
#: grows with the square of the points (30-50 s for 100,000 on the benchmark machine):
#: refuse more rows than this so a dashboard click cannot hang for an hour.
MAX_HDBSCAN_ROWS = 100_000

#: Refuse k-nearest-neighbour tables (locations x k) larger than this (8 bytes an entry).
MAX_KNN = 60_000_000

COLUMNS = ("cluster", "incidents", "share", "locations", "by_group", "by_type", "first_month",
           "last_month", "months_active", "top_location", "top_locations", "harm", "area_km2",
           "geometry")


# ---------------------------------------------------------------------------- inputs
def _whole(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise ParameterError(f"{name} must be a whole number >= {least}, got {value!r}")
    return int(value)


def _merge(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct locations, incidents per location, and each row's location index."""
    codes, uniq = pd.factorize(x + 1j * y)
    uniq = np.asarray(uniq)
    # x + 1j*y packs both float64 values exactly, so real/imag give them back bit for bit.
    xy = np.column_stack([uniq.real, uniq.imag])
    return xy, np.bincount(codes, minlength=len(uniq)).astype(np.int64), codes.astype(np.int64)


def _default_size(units: int) -> int:
    return max(MIN_DEFAULT, math.ceil(DEFAULT_SHARE * units))


# ---------------------------------------------------------------------------- eps
def k_distances(xy: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """Return each location's weighted k-distance: the radius holding ``k`` incidents.

    Parameters
    ----------
    xy : numpy.ndarray
        ``(L, 2)`` distinct locations, metres.
    weights : numpy.ndarray
        Incidents at each location (>= 1).
    k : int
        Incidents to reach, the location's own included (DBSCAN's ``min_samples``).

    Returns
    -------
    numpy.ndarray
        ``(L,)`` metres; 0 where a location alone holds ``k`` incidents, ``inf`` where all the
        data together hold fewer than ``k``.
    """
    n_loc = xy.shape[0]
    m = min(k, n_loc)  # each location holds >= 1 incident, so k neighbours always suffice
    if n_loc * m > MAX_KNN:
        raise ParameterError(f"the k-distance table of {n_loc:,} locations x {m:,} neighbours "
                             "is too large; give eps in metres")
    dist, idx = cKDTree(xy).query(xy, k=m)
    dist = np.asarray(dist, dtype=float).reshape(n_loc, m)
    idx = np.asarray(idx).reshape(n_loc, m)
    cum = np.cumsum(weights[idx], axis=1)
    reached = cum >= k
    first = np.argmax(reached, axis=1)
    out = dist[np.arange(n_loc), first]
    out[~reached.any(axis=1)] = np.inf
    return out


def elbow_eps(xy: np.ndarray, weights: np.ndarray, k: int) -> float:
    """Return eps at the elbow of the sorted weighted k-distance curve (Kneedle rule).

    Every incident contributes its location's k-distance; the curve is sorted ascending and
    both axes scaled to [0, 1]; the elbow is the point furthest below the chord from the
    first to the last point (largest ``rank - distance``), as in Satopää et al. (2011).
    """
    kd = k_distances(xy, weights, k)
    ok = np.isfinite(kd)
    curve = np.sort(np.repeat(kd[ok], weights[ok]))
    if curve.size < 3 or curve[-1] <= curve[0]:
        raise ParameterError("the k-distance curve is flat (too few or identical locations); "
                             "give eps in metres")
    xs = np.linspace(0.0, 1.0, curve.size)
    ys = (curve - curve[0]) / (curve[-1] - curve[0])
    eps = float(curve[int(np.argmax(xs - ys))])
    if not eps > 0:
        raise ParameterError("the k-distance elbow is at 0 m (most incidents share map points "
                             "with min_samples others); give eps in metres")
    return eps


# ---------------------------------------------------------------------------- clustering
def _dbscan(xy: np.ndarray, w: np.ndarray, eps: float, min_samples: int) -> np.ndarray:
    from sklearn.cluster import DBSCAN

    tree = cKDTree(xy)
    n_loc = xy.shape[0]
    if n_loc > 20_000:
        pick = np.random.default_rng(0).choice(n_loc, 2000, replace=False)
        est = float(tree.query_ball_point(xy[pick], eps, return_length=True).mean()) * n_loc
    else:
        est = float(tree.count_neighbors(tree, eps))
    if est > MAX_NEIGHBOURS:
        raise ParameterError(
            f"DBSCAN with eps {eps:g} m on {n_loc:,} distinct locations needs about "
            f"{est:,.0f} neighbour entries ({est * 8 / 1e9:.1f} GB), over the "
            f"{MAX_NEIGHBOURS:,} limit; use a smaller eps, a shorter period or area, or hdbscan")
    model = DBSCAN(eps=eps, min_samples=min_samples, metric="euclidean", algorithm="kd_tree")
    # Unit weights change nothing, and scikit-learn sums weights in a Python loop: skip them.
    weight = None if (w == 1).all() else w.astype(float)
    return model.fit_predict(xy, sample_weight=weight)


def _hdbscan(xy: np.ndarray, w: np.ndarray, min_cluster_size: int,
             min_samples: int) -> tuple[np.ndarray, int, int]:
    """HDBSCAN labels per location, the rows clustered and how many locations were split.

    Each location is repeated ``min(w, min_samples)`` times. scikit-learn's core distance is
    the distance to the ``min_samples``-th nearest row counting the row itself, so a location
    with ``min_samples`` copies already has core distance 0 and further copies change no core
    distance, mutual reachability or tree merge: only the sizes that ``min_cluster_size`` and
    cluster stability count, in which a busy map point is capped at ``min_samples``.
    """
    from sklearn.cluster import HDBSCAN

    rep = np.minimum(w, min_samples)
    rows = int(rep.sum())
    if rows > MAX_HDBSCAN_ROWS:
        raise ParameterError(
            f"HDBSCAN on {rows:,} points is too slow here (the limit is "
            f"{MAX_HDBSCAN_ROWS:,}; time grows with the square of the points); use dbscan, "
            "a shorter period or a smaller area")
    if rows * min_samples > MAX_KNN:
        raise ParameterError(f"HDBSCAN's neighbour table of {rows:,} points x {min_samples:,} "
                             "is too large; lower min_samples")
    owner = np.repeat(np.arange(xy.shape[0]), rep)
    model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                    metric="euclidean", copy=False)
    lab = model.fit_predict(xy[owner])
    # Copies of one location tied in the hierarchy can land on different sides of a split;
    # give the whole location the label most of its copies got (a cluster over noise on ties).
    loc = np.full(xy.shape[0], -1, dtype=np.int64)
    multi = rep[owner] > 1
    loc[owner[~multi]] = lab[~multi]
    split = 0
    if multi.any():
        df = pd.DataFrame({"loc": owner[multi], "lab": lab[multi]})
        per = df.groupby(["loc", "lab"]).size().rename("n").reset_index()
        split = int((per.groupby("loc").size() > 1).sum())
        per["noise"] = per["lab"] < 0
        per = per.sort_values(["loc", "n", "noise", "lab"], ascending=[True, False, True, True])
        best = per.drop_duplicates("loc")
        loc[best["loc"].to_numpy()] = best["lab"].to_numpy()
    return loc, rows, split


# ---------------------------------------------------------------------------- summaries
def _months(incidents: pd.DataFrame) -> pd.Series | None:
    if "month" in incidents.columns:
        return incidents["month"].astype("string")
    if "occurred" in incidents.columns:
        occ = pd.to_datetime(incidents["occurred"], errors="coerce")
        return occ.dt.strftime("%Y-%m").astype("string")
    return None


def _month_span_gaps(months: pd.Series | None) -> tuple[list[str], list[str]]:
    """Months present, and months inside their span without any incident."""
    if months is None:
        return [], []
    present = sorted(m for m in months.dropna().unique().tolist() if m)
    if not present:
        return [], []
    return present, missing_months(present[0], present[-1], present)


def _ranges(months: list[str]) -> str:
    """Compress ``["2024-05", ..., "2024-12"]`` into ``2024-05..2024-12``."""
    return month_runs_label(months)


def _counts(labels: np.ndarray, values: pd.Series | None, k: int) -> list[dict[str, int]]:
    """Per cluster 1..k, ``{value: count}`` most frequent first (ties alphabetical)."""
    out: list[dict[str, int]] = [{} for _ in range(k)]
    if values is None or labels.size == 0:
        return out
    df = pd.DataFrame({"lab": labels,
                       "v": values.astype("string").fillna("unknown").to_numpy(dtype=object)})
    c = df.groupby(["lab", "v"]).size().rename("n").reset_index()
    c = c.sort_values(["lab", "n", "v"], ascending=[True, False, True])
    for lab, g in c.groupby("lab", sort=False):
        out[int(lab) - 1] = {str(v): int(n) for v, n in zip(g["v"], g["n"], strict=True)}
    return out


def _names(labels: np.ndarray, names: pd.Series | None, k: int,
           n: int) -> tuple[list[str | None], list[str]]:
    """Most frequent location name per cluster, and the top ``n`` as "name (count); ..."."""
    top: list[str | None] = [None] * k
    lst = [""] * k
    if names is None or labels.size == 0:
        return top, lst
    df = pd.DataFrame({"lab": labels, "name": names.to_numpy(dtype=object)})
    df = df[df["name"].notna()]
    df = df[df["name"].astype(str).str.strip() != ""]
    if df.empty:
        return top, lst
    c = df.groupby(["lab", "name"]).size().rename("n").reset_index()
    c = c.sort_values(["lab", "n", "name"], ascending=[True, False, True])
    for lab, g in c.groupby("lab", sort=False):
        i = int(lab) - 1
        top[i] = str(g["name"].iloc[0])
        lst[i] = "; ".join(f"{nm} ({int(v)})" for nm, v in
                           zip(g["name"].head(n), g["n"].head(n), strict=True))
    return top, lst


def _hulls(xy: np.ndarray, loc_label: np.ndarray) -> np.ndarray:
    """Convex hull of each cluster's locations; hulls without area buffered by HULL_BUFFER."""
    sel = loc_label > 0
    order = np.argsort(loc_label[sel], kind="stable")
    pts = xy[sel][order]
    ids = loc_label[sel][order] - 1
    multi = shapely.multipoints(pts, indices=ids)
    hulls = shapely.convex_hull(multi)
    flat = shapely.area(hulls) <= 0
    if flat.any():
        hulls[flat] = shapely.buffer(hulls[flat], HULL_BUFFER)
    return hulls


def _empty(params: dict[str, Any], labels: np.ndarray) -> gpd.GeoDataFrame:
    dtypes = {"cluster": "int64", "incidents": "int64", "share": "float64",
              "locations": "int64", "by_group": "object", "by_type": "object",
              "first_month": "string", "last_month": "string", "months_active": "int64",
              "top_location": "object", "top_locations": "object", "harm": "float64",
              "area_km2": "float64"}
    gdf = gpd.GeoDataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()},
                           geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)
    gdf.attrs["params"] = params
    gdf.attrs["labels"] = labels
    return gdf


# ---------------------------------------------------------------------------- public
def find_clusters(incidents: pd.DataFrame, *, method: str = "dbscan",
                  eps: float | str | None = None, min_samples: int | None = None,
                  min_cluster_size: int | None = None, duplicates: str = "weight",
                  n_locations: int = 3) -> gpd.GeoDataFrame:
    """Return density clusters of mapped incidents, one polygon per cluster, largest first.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame (needs ``x``, ``y`` in British National Grid metres; uses
        ``has_location``, ``crime_type``, ``crime_group``, ``month`` or ``occurred``,
        ``location`` and ``harm`` when present). Rows without a location are not clustered.
        Not modified.
    method : {"dbscan", "hdbscan"}, default "dbscan"
        scikit-learn's ``DBSCAN`` (fixed radius) or ``HDBSCAN`` (density hierarchy; no radius).
    eps : float or "elbow", optional
        DBSCAN only: neighbourhood radius in metres. Default 250 m (:data:`DEFAULT_EPS`);
        ``"elbow"`` takes the elbow of the weighted k-distance curve (:func:`elbow_eps`,
        k = ``min_samples``). Giving it with ``method="hdbscan"`` is an error.
    min_samples : int, optional
        DBSCAN: incidents (with ``duplicates="weight"``) that must lie within ``eps`` of a
        point, itself included, for it to be a core point; default 0.5 % of the mapped
        incidents, at least 5. HDBSCAN: the ``k`` of its core distance; default
        ``min_cluster_size`` (scikit-learn's default).
    min_cluster_size : int, optional
        HDBSCAN only: the smallest group (>= 2) it calls a cluster; default 0.5 % of the
        mapped incidents, at least 5. Giving it with ``method="dbscan"`` is an error.
    duplicates : {"weight", "locations"}, default "weight"
        How incidents at the same coordinates (police.uk snaps every crime to one of a few
        thousand anonymous map points) count. ``"weight"``: every incident counts; the
        clustering runs on distinct locations weighted by their incidents (DBSCAN
        ``sample_weight``; HDBSCAN, which takes no weights, on each location repeated
        ``min(incidents, min_samples)`` times, which leaves its core distances unchanged).
        DBSCAN: a map point with at least ``min_samples`` incidents is a core point on its
        own and can be a one-location cluster (the busiest single places are clusters, as
        ``min_samples`` says). HDBSCAN: a map point counts at most ``min_samples`` times
        towards ``min_cluster_size``, so it is a cluster by itself only when
        ``min_samples >= min_cluster_size``. ``"locations"``: each distinct location counts
        once, so a cluster needs ``min_samples`` distinct map points and one busy point is
        never a cluster by itself; defaults then count locations, not incidents.
    n_locations : int, default 3
        How many location names ``top_locations`` lists.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:27700, one row per cluster sorted by ``cluster`` (1 = most incidents; ties by
        more locations, then west to east). Columns: ``cluster``; ``incidents``; ``share``
        (of the mapped incidents); ``locations`` (distinct map points); ``by_group`` and
        ``by_type`` (dicts of incident counts, most first); ``first_month``, ``last_month``
        (``YYYY-MM``) and ``months_active`` (distinct months with an incident: months
        without data inside the span are *not* bridged, see ``params["months_without_
        incidents"]``); ``top_location`` (the most frequent location name, ties
        alphabetical); ``top_locations`` (``"On or near X (12); ..."``); ``harm`` (sum of
        known harm, NaN without it); ``area_km2`` (of the hull); ``geometry`` (convex hull
        of the cluster's locations, buffered by :data:`HULL_BUFFER` metres when it has no
        area, i.e. one or two locations or a straight line).

        ``attrs["labels"]``: int64 array, one per input row in order: the row's cluster,
        ``0`` for noise (mapped but in no cluster), ``-1`` for rows without a location.
        ``attrs["params"]``: JSON-ready method, parameters (with how each default was
        chosen), counts and notes.

    Raises
    ------
    InputError
        Not a frame, or no ``x``/``y`` columns.
    NoDataError
        No mapped incidents.
    ParameterError
        Unknown method or duplicates mode, a parameter out of range or for the other method,
        or a job too big for memory or time (message says what to change).
    """
    _check_options(method, duplicates, n_locations, eps, min_cluster_size)
    ok, x, y = located_xy(incidents)
    n_rows = len(incidents)
    n_mapped = int(ok.sum())
    if n_mapped == 0:
        raise NoDataError("no mapped incidents to cluster; widen the period, area or crime "
                          "selection")
    idx = np.flatnonzero(ok)
    xy, counts, codes = _merge(x[idx], y[idx])
    n_loc = xy.shape[0]
    w = counts if duplicates == "weight" else np.ones(n_loc, dtype=np.int64)
    units = n_mapped if duplicates == "weight" else n_loc

    params: dict[str, Any] = {"method": method, "duplicates": duplicates}
    if method == "dbscan":
        raw = _run_dbscan(xy, w, units, duplicates, eps, min_samples, params)
    else:
        raw = _run_hdbscan(xy, w, units, duplicates, min_cluster_size, min_samples, params)
    loc_label, k = _rank_clusters(raw, counts, xy)
    labels = np.full(n_rows, -1, dtype=np.int64)
    labels[idx] = loc_label[codes]

    months = _months(incidents)
    _describe_run(params, labels, months, ok, counts, duplicates, n_rows, n_mapped, n_loc, k)
    if k == 0:
        return _empty(params, labels)
    gdf = _cluster_table(incidents, labels, idx, loc_label, xy, k, months, n_mapped,
                         n_locations)
    gdf.attrs["params"] = params
    gdf.attrs["labels"] = labels
    return gdf


def _check_options(method: str, duplicates: str, n_locations: int, eps: Any,
                   min_cluster_size: int | None) -> None:
    """Reject an unknown method or duplicates mode, and a parameter of the other method."""
    if method not in CLUSTER_METHODS:
        raise ParameterError(f"unknown cluster method {method!r}; choose dbscan or hdbscan")
    if duplicates not in DUPLICATES:
        raise ParameterError(f"duplicates must be 'weight' or 'locations', got {duplicates!r}")
    _whole("n_locations", n_locations, 0)
    if method == "hdbscan" and eps is not None:
        raise ParameterError("eps applies to dbscan only; HDBSCAN needs no radius "
                             "(set min_cluster_size and min_samples)")
    if method == "dbscan" and min_cluster_size is not None:
        raise ParameterError("min_cluster_size applies to hdbscan only; for dbscan set eps "
                             "and min_samples")


def _unit_name(duplicates: str) -> str:
    return "incidents" if duplicates == "weight" else "distinct locations"


def _dbscan_eps(eps: float | str | None, xy: np.ndarray, w: np.ndarray, min_samples: int
                ) -> tuple[float, str]:
    """Return DBSCAN's radius in metres and how it was chosen."""
    if eps is None:
        return DEFAULT_EPS, f"default: fixed {DEFAULT_EPS:g} m"
    if isinstance(eps, str):
        if eps.strip().lower() != "elbow":
            raise ParameterError(f"eps must be metres or 'elbow', got {eps!r}")
        return elbow_eps(xy, w, min_samples), (f"elbow of the weighted {min_samples}-distance "
                                               "curve (Kneedle: furthest below the chord)")
    if isinstance(eps, bool):
        raise ParameterError(f"eps must be metres or 'elbow', got {eps!r}")
    try:
        eps_v = float(eps)
    except (TypeError, ValueError):
        raise ParameterError(f"eps must be metres or 'elbow', got {eps!r}") from None
    if not (math.isfinite(eps_v) and eps_v > 0):
        raise ParameterError(f"eps must be a positive number of metres, got {eps!r}")
    return eps_v, "given"


def _size_or_default(name: str, value: int | None, minimum: int, units: int, duplicates: str,
                     params: dict[str, Any]) -> int:
    """A size parameter as given (checked), or its default share of the units; the rule is
    recorded in ``params[name + "_rule"]``."""
    if value is None:
        params[f"{name}_rule"] = (f"default: {DEFAULT_SHARE:.1%} of the {units:,} "
                                  f"{_unit_name(duplicates)}, at least {MIN_DEFAULT}")
        return _default_size(units)
    params[f"{name}_rule"] = "given"
    return _whole(name, value, minimum)


def _run_dbscan(xy: np.ndarray, w: np.ndarray, units: int, duplicates: str,
                eps: float | str | None, min_samples: int | None, params: dict[str, Any]
                ) -> np.ndarray:
    """Label each location by DBSCAN (-1 noise); record the parameters in ``params``."""
    params["algorithm"] = ("scikit-learn DBSCAN on distinct locations, "
                           + ("sample_weight = incidents at each location"
                              if duplicates == "weight" else "each location once"))
    min_samples = _size_or_default("min_samples", min_samples, 1, units, duplicates, params)
    eps_v, params["eps_rule"] = _dbscan_eps(eps, xy, w, min_samples)
    params.update(eps_m=round(eps_v, 3), min_samples=min_samples, min_cluster_size=None)
    if int(w.sum()) < min_samples:
        return np.full(xy.shape[0], -1, dtype=np.int64)
    return _dbscan(xy, w, eps_v, min_samples)


def _run_hdbscan(xy: np.ndarray, w: np.ndarray, units: int, duplicates: str,
                 min_cluster_size: int | None, min_samples: int | None,
                 params: dict[str, Any]) -> np.ndarray:
    """Label each location by HDBSCAN (-1 noise); record the parameters in ``params``."""
    params["algorithm"] = (
        "scikit-learn HDBSCAN (excess of mass) on distinct locations, "
        + ("each repeated min(incidents, min_samples) times: core distances equal those "
           "of every incident, while a busy map point counts at most min_samples times "
           "towards min_cluster_size; a location's incidents all take the label most of "
           "its copies got" if duplicates == "weight" else "each location once"))
    min_cluster_size = _size_or_default("min_cluster_size", min_cluster_size, 2, units,
                                        duplicates, params)
    if min_samples is None:
        min_samples = min_cluster_size
        params["min_samples_rule"] = "default: min_cluster_size (scikit-learn's default)"
    else:
        min_samples = _whole("min_samples", min_samples, 1)
        params["min_samples_rule"] = "given"
    params.update(eps_m=None, min_samples=min_samples, min_cluster_size=min_cluster_size,
                  cluster_selection="eom", allow_single_cluster=False)
    rows = int(np.minimum(w, min_samples).sum())
    if rows < max(min_cluster_size, min_samples, 2):
        loc_label, split = np.full(xy.shape[0], -1, dtype=np.int64), 0
    else:
        loc_label, rows, split = _hdbscan(xy, w, min_cluster_size, min_samples)
    params.update(rows_clustered=rows, locations_split_and_resolved=split)
    return loc_label


def _rank_clusters(raw: np.ndarray, counts: np.ndarray, xy: np.ndarray
                   ) -> tuple[np.ndarray, int]:
    """Renumber clusters 1..k by incidents (then locations, then west to east); 0 = noise."""
    k = int(raw.max()) + 1 if raw.size and raw.max() >= 0 else 0
    if not k:
        return np.zeros(raw.size, dtype=np.int64), 0
    hit = raw >= 0
    inc = np.bincount(raw[hit], weights=counts[hit], minlength=k)
    nloc = np.bincount(raw[hit], minlength=k)
    west = np.full(k, np.inf)
    np.minimum.at(west, raw[hit], xy[hit, 0])
    order = np.lexsort((west, -nloc, -inc))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(1, k + 1)
    return np.where(hit, rank[np.maximum(raw, 0)], 0), k


def _describe_run(params: dict[str, Any], labels: np.ndarray, months: pd.Series | None,
                  ok: np.ndarray, counts: np.ndarray, duplicates: str, n_rows: int,
                  n_mapped: int, n_loc: int, k: int) -> None:
    """Add the counts, months, hull rule and notes of a run to ``params``."""
    present, gaps = _month_span_gaps(months[ok] if months is not None else None)
    clustered = int((labels > 0).sum())
    params.update(
        units=_unit_name(duplicates),
        incidents=n_rows, mapped=n_mapped, unmapped=n_rows - n_mapped, locations=n_loc,
        busiest_location_incidents=int(counts.max()),
        clusters=k, clustered_incidents=clustered, noise_incidents=n_mapped - clustered,
        months=_ranges(present), months_without_incidents=_ranges(gaps),
        hull=f"convex hull of the cluster's locations; buffered {HULL_BUFFER:g} m when it "
             "has no area (one or two locations, or in a line)",
        hull_buffer_m=HULL_BUFFER, crs=CRS,
        labels="attrs['labels']: cluster per input row, 0 = noise, -1 = no location",
    )
    notes = []
    if n_loc < n_mapped:
        notes.append(f"{n_mapped - n_loc:,} of {n_mapped:,} mapped incidents share exact "
                     "coordinates with another (police.uk snaps crimes to anonymous map "
                     "points); they are merged into locations "
                     + ("weighted by their incidents" if duplicates == "weight"
                        else "counted once each"))
    if gaps:
        notes.append(f"no incidents in {_ranges(gaps)}: first and last months of a cluster "
                     "may span months without data; months_active counts only months with "
                     "incidents")
    params["notes"] = notes


def _month_spans(lab_c: np.ndarray, months: pd.Series | None, rows_c: np.ndarray, k: int
                 ) -> tuple[list[str | None], list[str | None], np.ndarray]:
    """First and last month and the number of months with incidents, per cluster."""
    first: list[str | None] = [None] * k
    last: list[str | None] = [None] * k
    active = np.zeros(k, dtype=np.int64)
    if months is None:
        return first, last, active
    mdf = pd.DataFrame({"lab": lab_c, "m": months.iloc[rows_c].to_numpy(dtype=object)})
    mdf = mdf[mdf["m"].notna()]
    if not mdf.empty:
        g = mdf.groupby("lab")["m"]
        for lab, lo, hi, na in zip(g.min().index, g.min(), g.max(), g.nunique(), strict=True):
            first[int(lab) - 1], last[int(lab) - 1] = str(lo), str(hi)
            active[int(lab) - 1] = int(na)
    return first, last, active


def _harm_sums(incidents: pd.DataFrame, lab_c: np.ndarray, rows_c: np.ndarray, k: int
               ) -> np.ndarray:
    """Known harm summed per cluster; NaN throughout without a ``harm`` value."""
    harm = np.full(k, np.nan)
    if "harm" in incidents.columns:
        hv = pd.to_numeric(incidents["harm"], errors="coerce").to_numpy(dtype=float,
                                                                         na_value=np.nan)[rows_c]
        known = np.isfinite(hv)
        if known.any():
            harm = np.bincount(lab_c[known], weights=hv[known], minlength=k + 1)[1:]
    return harm


def _cluster_table(incidents: pd.DataFrame, labels: np.ndarray, idx: np.ndarray,
                   loc_label: np.ndarray, xy: np.ndarray, k: int, months: pd.Series | None,
                   n_mapped: int, n_locations: int) -> gpd.GeoDataFrame:
    """One row per cluster: counts, mix, months, locations, harm and hull (:data:`COLUMNS`)."""
    sub = labels[idx]
    in_c = sub > 0
    lab_c = sub[in_c]
    rows_c = idx[in_c]

    def col(name: str) -> pd.Series | None:
        return incidents[name].iloc[rows_c] if name in incidents.columns else None

    inc = np.bincount(lab_c, minlength=k + 1)[1:]
    nloc = np.bincount(loc_label[loc_label > 0], minlength=k + 1)[1:]
    top, tops = _names(lab_c, col("location"), k, n_locations)
    first, last, active = _month_spans(lab_c, months, rows_c, k)
    hulls = _hulls(xy, loc_label)
    gdf = gpd.GeoDataFrame({
        "cluster": np.arange(1, k + 1, dtype=np.int64),
        "incidents": inc.astype(np.int64),
        "share": inc / n_mapped,
        "locations": nloc.astype(np.int64),
        "by_group": _counts(lab_c, col("crime_group"), k),
        "by_type": _counts(lab_c, col("crime_type"), k),
        "first_month": pd.array(first, dtype="string"),
        "last_month": pd.array(last, dtype="string"),
        "months_active": active,
        "top_location": top,
        "top_locations": tops,
        "harm": _harm_sums(incidents, lab_c, rows_c, k),
        "area_km2": shapely.area(hulls) / 1e6,
    }, geometry=gpd.GeoSeries(hulls, crs=CRS), crs=CRS)
    return gdf[list(COLUMNS)]
