"""The report: every tasking export of one selection written into a folder, and audited."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from hotspots import defaults
from hotspots.audit import Actor, check_log_writable, cli_actor, release
from hotspots.errors import InputError, ParameterError
from hotspots.filemodes import private_dir
from hotspots.gis import to_geojson, write_geopackage
from hotspots.jsonvalue import json_value
from hotspots.leaflet import ATTRIBUTION
from hotspots.methods import MapMethod
from hotspots.models.patrol import DEFAULT_RULE, PatrolRule, area_records
from hotspots.pack import write_tasking_pack
from hotspots.pack_inputs import PackInputs, build_pack_inputs
from hotspots.safe_csv import write_csv
from hotspots.selection import Selection

__all__ = ["write_report"]


def write_report(out_dir: str | os.PathLike, selection: Selection, *,
                 store_dir: str | os.PathLike | None = None, marking: str | None = None,
                 user: str | None = None, sites: int = defaults.SITES,
                 audit_path: str | os.PathLike | None = None,
                 method: str = defaults.MAP_METHOD,
                 bandwidth: float | str | Sequence[float] = defaults.BANDWIDTH,
                 top: float = defaults.TOP, correction: str = defaults.CORRECTION,
                 cluster_method: str = defaults.CLUSTER_METHOD,
                 rule: PatrolRule = DEFAULT_RULE) -> dict[str, Any]:
    """Write every tasking export of one selection into a folder and audit it.

    The map method and surface default to the dashboard's: kernel density with the ``auto``
    bandwidth (the surface with the best back-tested PAI at 5 % on months up to ``end``),
    the densest 5 % of the area as hotspot areas. ``method`` "gistar", "emerging" or
    "clusters" makes the map, tables and files show that method's areas instead, with its own
    back-test (as the dashboard's pack does when the map shows that method).

    Files: ``map.png`` (A4, 300 dpi), ``pack.pdf`` (the tasking pack), ``hotspots.geojson``
    (hotspot polygons, WGS84, RFC 7946), ``hotspots.gpkg`` (EPSG:27700; layers ``hotspots``,
    ``junctions`` and, with disruption sites, ``sites``) and ``sites.csv``. ``sites.csv``
    holds the disruption sites chosen by :mod:`hotspots.models.disruption` (then
    ``sites.geojson`` is written too); when that module is not installed, or ``sites=0``, it
    holds the hotspot table instead (rank, locations, counts, change, share, PAI, lon/lat),
    and the result's ``sites_csv`` says which. CSV cells are formula-injection safe. One line
    goes to the export audit log (:func:`hotspots.audit.record_export`); the log is checked
    for writing first, so nothing is exported that cannot be audited.

    Parameters
    ----------
    out_dir : path-like
        Created if missing; files of the same names are replaced.
    selection : Selection
        Force, area, period and crimes; its settings give the marking and the audit log.
    store_dir : path-like, optional
        Default ``selection.settings.store_dir``.
    marking : str, optional
        Default ``settings.marking``.
    user : str, optional
        Recorded in the audit line (default ``$USER``).
    sites : int
        Disruption sites to choose (default 5; 0 for none).
    audit_path : path-like, optional
        Audit log (default :func:`hotspots.audit.default_log_path`).
    method : str
        A registered map method (:func:`hotspots.registry.names`; default "kde").
    bandwidth : float, str or sequence of float
        KDE bandwidth: metres, a rule name, ``"auto"`` (default) or several metres for the
        multi-scale KDE.
    top : float
        Share of the area marked as hotspot by the KDE (default 0.05).
    correction : {"fdr_bh", "bonferroni", "none"}
        Multiple-testing correction of Gi* and emerging hot spots (default "fdr_bh").
    cluster_method : {"dbscan", "hdbscan"}
        Clustering of the "clusters" method (default "dbscan").
    rule : PatrolRule, default 10 areas of at most 1 km²
        How the areas are drawn: patrol areas, or ``PatrolRule(0)`` for the method's own
        (the KDE's ``top`` share of the area).

    Returns
    -------
    dict
        ``files`` (list of ``{"name", "path", "bytes"}``), ``sites_csv`` (what it holds),
        ``pages``, ``sections`` and ``omitted`` (of the pack), ``parameters`` (every parameter
        and count) and ``audit_log``, ``audit`` (the line written).

    Raises
    ------
    AuditError
        The audit log cannot be written (checked before anything is exported).
    HotspotsError
        Bad parameters, no data, unwritable output folder.
    """
    settings = selection.settings
    start, end = selection.start, selection.end
    if isinstance(sites, bool) or not isinstance(sites, (int, np.integer)) or sites < 0:
        raise ParameterError(f"sites must be a whole number >= 0, got {sites!r}")
    out = Path(out_dir)
    log = check_log_writable(audit_path, settings=settings)
    kind = MapMethod(str(method).strip().lower(), correction=correction,
                     cluster_method=cluster_method)  # checked by build_pack_inputs
    inputs = build_pack_inputs(selection, store_dir, marking=marking,
                               disruption_sites=int(sites), method=kind, bandwidth=bandwidth,
                               top=top, rule=rule)
    # Everything is written to a hidden staging folder first and moved into place only once
    # its audit line is written: an unwritable log releases nothing and leaves nothing.
    stage = out / f".staging-{uuid.uuid4().hex[:8]}"
    try:
        _write_file(stage, "map.png", inputs.map_png)
        pack = write_tasking_pack(stage / "pack.pdf", settings=settings,
                                  **inputs.pack_kwargs())
        gis_names, sites_what = _write_gis_files(stage, inputs)
        names = ("map.png", "pack.pdf", *gis_names)
        filters = {"store": inputs.params["store"], "area": inputs.area, "start": start,
                   "end": end, "groups": inputs.params["groups"],
                   "types": inputs.params["types"], "marking": inputs.marking,
                   "sites": int(sites), "method": kind.name,
                   "bandwidth": json_value(inputs.surface.bandwidths
                                           or inputs.surface.bandwidth),
                   "top": float(top), **rule.to_dict()}
        actor = Actor(user, "given", "local") if user else cli_actor()
        record = release("report", filters, [(stage / n, out / n) for n in names],
                         settings=settings, actor=actor, path=log)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    files = [{"name": f["name"], "path": f["path"], "bytes": f["bytes"],
              "sha256": f["sha256"]} for f in record["files"]]
    return {"files": files, "sites_csv": sites_what, "pages": pack["pages"],
            "areas": area_records(inputs.areas),
            "sections": pack["sections"], "omitted": pack["omitted"],
            "parameters": inputs.params, "audit_log": str(log), "audit": record}


def _write_file(out: Path, name: str, data: bytes | str) -> None:
    """Write ``out / name`` (text as UTF-8), creating ``out``; one-line error."""
    try:
        private_dir(out)
        if isinstance(data, bytes):
            (out / name).write_bytes(data)
        else:
            (out / name).write_text(data, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{out / name}: cannot write ({exc.strerror or exc})") from None


def _junctions_gdf(junctions: pd.DataFrame) -> gpd.GeoDataFrame:
    """The junction table as points (EPSG:27700), its monthly counts left out."""
    jgdf = gpd.GeoDataFrame(
        junctions.drop(columns=[c for c in ("monthly",) if c in junctions.columns]),
        geometry=gpd.points_from_xy(junctions["x"], junctions["y"]), crs=27700)
    jgdf.attrs["method"] = {"method": "incidents within radius_m straight-line of the SRN "
                                      "junction node, change against the previous period of "
                                      "equal length", **json_value(dict(junctions.attrs))}
    return jgdf


def _write_gis_files(out: Path, inputs: PackInputs) -> tuple[list[str], str]:
    """Write ``hotspots.geojson``, ``hotspots.gpkg``, ``sites.csv`` and, with disruption
    sites, ``sites.geojson``; return the names written and what ``sites.csv`` holds."""
    names = ["hotspots.geojson", "hotspots.gpkg", "sites.csv"]
    from hotspots.snapshot import attribution_lines

    # The sources of what each file holds: crime, boundaries, place names; sites add the SRN.
    sources = [*attribution_lines(roads=False), f"Place names: {ATTRIBUTION['osm']}"]
    _write_file(out, "hotspots.geojson", to_geojson(inputs.areas, metadata={
        **inputs.params, "hotspot_method": json_value(inputs.areas.attrs.get("method", {})),
        "attribution": sources}, marking=inputs.marking))
    layers: dict[str, gpd.GeoDataFrame] = {"hotspots": inputs.areas,
                                           "junctions": _junctions_gdf(inputs.junctions)}
    plan = inputs.disruption
    if plan is not None:
        layers["sites"] = _sites_gdf(plan)
    write_geopackage(layers, out / "hotspots.gpkg", inputs.marking)
    if plan is None:
        write_csv(inputs.hotspot_table, out / "sites.csv", inputs.marking)
        return names, ("hotspot table, not disruption sites ("
                       + inputs.omitted.get("disruption", "no disruption sites") + "): rank, "
                       "locations, incidents, previous period, change, share, PAI, lon/lat")
    write_csv(plan, out / "sites.csv", inputs.marking)
    method = layers["sites"].attrs.get("method")
    _write_file(out, "sites.geojson", to_geojson(layers["sites"], metadata={
        **(method if isinstance(method, dict) else {"method": method}),
        "attribution": attribution_lines(roads=True, junctions=True)},
        marking=inputs.marking))
    return [*names, "sites.geojson"], ("disruption sites (hotspots.models.disruption, maximal "
                                       "covering): rank, name, type, roads, coverage, "
                                       "rationale, lon/lat")


def _sites_gdf(sites: pd.DataFrame) -> gpd.GeoDataFrame:
    """Disruption sites as points (EPSG:27700), their method statement as the layer's."""
    gdf = gpd.GeoDataFrame(sites.copy(), geometry=gpd.points_from_xy(sites["x"], sites["y"]),
                           crs=27700)
    if sites.attrs.get("method"):
        gdf.attrs["method"] = {"method": sites.attrs["method"],
                               **sites.attrs.get("summary", {})}
    return gdf
