"""Download buttons for the current view: map, snapshots, tasking pack, GIS files and tables."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from hotspots import access, registry, wording
from hotspots.audit import Actor, audited_bytes, os_account
from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.leaflet import ATTRIBUTION
from hotspots.snapshot import attribution_lines
from hotspots.ui import auth, compute, corridor_compute, meeting
from hotspots.ui.common import Layers, md_escape
from hotspots.ui.compute import Params
from hotspots.ui.corridor_compute import CorridorParams
from hotspots.ui.pack_editor import PackEdits, pack_editor
from hotspots.viewstate import query_string

if TYPE_CHECKING:
    from hotspots.methods import MapAreas
    from hotspots.models.kde import Surface

#: Disruption sites in the tasking pack, as ``hotspots report`` chooses by default.
PACK_SITES = 5
#: Map snapshot sizes offered, as :data:`hotspots.snapshot.SIZES` names them, with the button
#: labels (before and after the file is made).
PNG_SIZES = {"a4": ("Prepare A4 map", "A4 map (PNG, 300 dpi)"),
             "hd": ("Prepare screen map", "Screen map (PNG, 1920 × 1080)")}
#: Columns of the hotspot table CSV (the tasking pack's hotspot table, less what it adds).
TABLE_COLUMNS = ("rank", "locations", "incidents", "share", "area_km2", "pai", "peak_density",
                 "harm", "lon", "lat")
#: The Gi*, emerging and cluster areas' own columns, added before ``lon``/``lat`` when present.
EXTRA_COLUMNS = ("confidence", "max_z", "pattern", "cluster", "crime_mix", "first_month",
                 "last_month")

_PREPARED = "_hs_prepared_"


# ------------------------------------------------------------------- files (no Streamlit here)


def slug(text: str) -> str:
    """A file-name-safe name: ``"Nuneaton and Bedworth"`` -> ``"nuneaton-and-bedworth"``."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "area"


def file_stem(kind: str, area: str, start: str, end: str) -> str:
    """The common start of a download's file name: kind, area and period."""
    return f"{slug(kind)}-{slug(area)}-{start}-{end}"


def selection_filters(params: Params, settings: Settings, *, view: str,
                      **extra: Any) -> dict[str, Any]:
    """What an audit line says about the selection behind an export.

    Parameters
    ----------
    params : Params
    settings : Settings
    view : str
        ``"hotspots"`` or ``"corridors"``.
    **extra
        Further parameters (e.g. ``size``, ``radius``, ``link``).

    Returns
    -------
    dict
        ``source``, ``view``, ``store``, ``area``, ``start``, ``end``, ``groups`` and
        ``types`` (one of them None, as ``hotspots report`` records them), ``marking``, then
        ``extra``.
    """
    return {"source": "dashboard", "view": view, "store": str(settings.store_dir),
            "area": params.area_label(), "start": params.start, "end": params.end,
            "groups": None if params.types else list(params.groups),
            "types": list(params.types) or None, "marking": settings.marking, **extra}


def hotspot_table(areas: pd.DataFrame) -> pd.DataFrame:
    """The hotspot areas as a table for a spreadsheet: one row per area, ranked.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        :func:`hotspots.models.areas.hotspot_areas` output (EPSG:27700).

    Returns
    -------
    pandas.DataFrame
        :data:`TABLE_COLUMNS`: rank, most frequent police.uk map points (``locations``),
        incidents, share of the study area's mapped incidents, km², in-sample PAI, peak
        density (incidents per km²), harm, and ``lon``/``lat`` of a point inside the area.
        The Gi*, emerging and cluster areas' own columns (:data:`EXTRA_COLUMNS`) come before
        ``lon``/``lat``.
    """
    from hotspots.spatial.crs import to_wgs84

    if not len(areas):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TABLE_COLUMNS})
    inner = areas.geometry.representative_point()
    lon, lat = to_wgs84(inner.x.to_numpy(), inner.y.to_numpy())
    out = pd.DataFrame({
        "rank": areas["rank"].astype(int).to_numpy(),
        "locations": areas["top_locations"].astype(str).to_numpy(),
        "incidents": areas["incidents"].astype(int).to_numpy(),
        "share": areas["share"].astype(float).round(4).to_numpy(),
        "area_km2": areas["area_km2"].astype(float).round(2).to_numpy(),
        "pai": areas["pai"].astype(float).round(2).to_numpy(),
        "peak_density": areas["peak_density"].astype(float).round(1).to_numpy(),
        "harm": areas["harm"].astype(float).to_numpy() if "harm" in areas else np.nan})
    for col in EXTRA_COLUMNS:
        if col in areas.columns:
            v = areas[col]
            out[col] = v.astype(float).round(3).to_numpy() if col == "max_z" else v.to_numpy()
    out["lon"], out["lat"] = np.round(lon, 6), np.round(lat, 6)
    return out


def _areas(analysis: compute.Analysis, shown: MapAreas | None) -> pd.DataFrame:
    return analysis.areas if shown is None else shown.areas


def _is_density(shown: MapAreas | None) -> bool:
    return shown is None or registry.get(shown.method).density


def hotspot_csv(analysis: compute.Analysis, shown: MapAreas | None = None,
                marking: str | None = None) -> bytes:
    """The hotspot table as spreadsheet-safe CSV.

    Parameters
    ----------
    analysis : compute.Analysis
    shown : MapAreas, optional
        The areas the map shows (Gi*, emerging or clusters); default the analysis' kernel
        density areas.

    Returns
    -------
    bytes
        :func:`hotspot_table` through :func:`hotspots.safe_csv.safe_csv` (formula injection
        neutralised), UTF-8 with a byte-order mark so that spreadsheets read "²" and "–".
    """
    from hotspots.safe_csv import safe_csv

    return ("\ufeff" + safe_csv(hotspot_table(_areas(analysis, shown)), marking)
            ).encode("utf-8")


def _title(params: Params, shown: MapAreas | None) -> str:
    crimes = params.crimes()
    crimes = crimes[:1].upper() + crimes[1:]
    return f"{crimes} hotspots" if _is_density(shown) else f"{crimes}: {shown.name}"


def _metadata(analysis: compute.Analysis, settings: Settings,
              shown: MapAreas | None = None) -> dict[str, Any]:
    p = analysis.params
    areas = _areas(analysis, shown)
    return {"title": _title(p, shown),
            "area": p.area_label(), "start": p.start, "end": p.end,
            "groups": None if p.types else list(p.groups), "types": list(p.types) or None,
            "areas": "Hotspot areas" if shown is None else shown.name,
            "method_statement": analysis.method() if shown is None else shown.statement,
            "hotspot_method": areas.attrs.get("method", {}),
            "incidents": analysis.incidents, "mapped": analysis.mapped,
            "without_location": analysis.no_location, "missing_months": analysis.missing_months,
            "marking": settings.marking,
            "attribution": [*attribution_lines(roads=False),
                            f"Place names: {ATTRIBUTION['osm']}"],
            "created": datetime.now(UTC).isoformat(timespec="seconds")}


def hotspot_geojson(analysis: compute.Analysis, settings: Settings,
                    shown: MapAreas | None = None) -> bytes:
    """The hotspot polygons as RFC 7946 GeoJSON (WGS84).

    Parameters
    ----------
    analysis : compute.Analysis
    settings : Settings
        For the protective marking.
    shown : MapAreas, optional
        The areas the map shows; default the kernel density areas.

    Returns
    -------
    bytes
        UTF-8 JSON; ``metadata`` holds the selection, the method statement, the hotspot
        method's parameters, the counts, the marking and the creation time.
    """
    from hotspots.gis import to_geojson

    return to_geojson(_areas(analysis, shown), metadata=_metadata(analysis, settings, shown),
                      marking=settings.marking).encode("utf-8")


def hotspot_geopackage(analysis: compute.Analysis, shown: MapAreas | None = None,
                       marking: str | None = None) -> bytes:
    """The hotspot polygons as a GeoPackage.

    Parameters
    ----------
    analysis : compute.Analysis
    shown : MapAreas, optional
        The areas the map shows; default the kernel density areas.

    Returns
    -------
    bytes
        A GeoPackage with one layer, ``hotspots``, in EPSG:27700 (written by
        :func:`hotspots.gis.write_geopackage` in a temporary folder).
    """
    from hotspots.gis import write_geopackage

    with tempfile.TemporaryDirectory(prefix="hotspots-gpkg-") as tmp:
        path = write_geopackage({"hotspots": _areas(analysis, shown)},
                                Path(tmp) / "hotspots.gpkg", marking)
        return path.read_bytes()


def density_surface(params: Params, settings: Settings) -> Surface:
    """The density surface behind an analysis, computed as :func:`compute.run_analysis` does.

    The dashboard caches the analysis without its surface (only a snapshot needs it), so it is
    made again here from the same incidents, cells, kernel and bandwidth.

    Parameters
    ----------
    params : Params
    settings : Settings

    Returns
    -------
    Surface
    """
    from hotspots.models.kde import kernel_density
    from hotspots.query import load_incidents
    from hotspots.spatial.grid import Grid

    sel = params.to_selection(settings)
    inc = load_incidents(settings.store_dir, start=params.start, end=params.end,
                         area=sel.area, forces=list(sel.all_forces), mapped_only=True,
                         settings=settings, geometry=sel.geometry, **params.selection())
    grid = Grid.from_geometry(sel.geometry, compute.CELL_M)
    return kernel_density(inc["x"].to_numpy(), inc["y"].to_numpy(), cell=compute.CELL_M,
                          bandwidth=params.bandwidth, kernel=compute.KERNEL, grid=grid)


def map_png(analysis: compute.Analysis, settings: Settings, size: str, *,
            services: bool = False, surface: Surface | None = None,
            shown: MapAreas | None = None) -> bytes:
    """The map snapshot of an analysis: marking, title, surface, hotspots, method in full.

    Parameters
    ----------
    analysis : compute.Analysis
    settings : Settings
    size : {"a4", "hd"}
        A4 landscape at 300 dpi (3508 x 2480) or 1920 x 1080.
    services : bool
        Draw the motorway service areas (as the map's layer).
    surface : Surface, optional
        Default :func:`density_surface` of the analysis' parameters.
    shown : MapAreas, optional
        A Gi*, emerging or cluster map's areas: drawn (with that method's statement) instead
        of the density surface and its hotspot areas.

    Returns
    -------
    bytes
        PNG.
    """
    from hotspots.snapshot import render_map_png
    p = analysis.params
    if _is_density(shown):
        surf = surface if surface is not None else density_surface(p, settings)
        areas, text, label = analysis.areas, analysis.method(), "Hotspot area"
    else:
        surf, areas, text, label = None, shown.areas, shown.statement, shown.legend
    return render_map_png(
        surf, areas, area_geometry=p.to_selection(settings).geometry, title=_title(p, shown),
        period=wording.period_label(p.start, p.end),
        groups=list(p.types) or list(p.groups), method_text=text,
        marking=settings.marking, size=size, area=p.area_label(), services=services,
        hotspots_label=label, forces=p.force_list(settings), settings=settings)


def tasking_pack(params: Params, settings: Settings, shown: MapAreas | None = None,
                 edits: PackEdits | None = None) -> bytes:
    """The tasking pack PDF of a selection, as ``hotspots report`` builds it.

    Parameters
    ----------
    params : Params
        Area, period and crimes; its bandwidth and hotspot share are used for the surface.
    settings : Settings
    shown : MapAreas, optional
        A Gi*, emerging or cluster map's areas: the pack's map, hotspot table, change and
        disruption demand use them (with that method's statement) instead of the kernel
        density hotspot areas, and its back-test makes each test month's map that way.
    edits : PackEdits, optional
        The analyst's cover details and recommendations (:mod:`hotspots.ui.pack_editor`).

    Returns
    -------
    bytes
        The PDF (:func:`hotspots.pack_inputs.build_pack_inputs` with :data:`PACK_SITES`
        disruption sites, then :func:`hotspots.pack.write_tasking_pack`).
    """
    from hotspots.pack import write_tasking_pack
    from hotspots.pack_inputs import build_pack_inputs

    own = None if _is_density(shown) else shown
    inputs = build_pack_inputs(params.to_selection(settings), disruption_sites=PACK_SITES,
                               bandwidth=params.bandwidth, top=params.top,
                               bandwidth_rule=params.bandwidth_rule, shown=own,
                               method=None if own is None else own.method,
                               details=None if edits is None else edits.details(),
                               map_size="a4_pack")
    if edits is not None:
        inputs = inputs.with_recommendations(edits.recommendations())
    with tempfile.TemporaryDirectory(prefix="hotspots-pack-") as tmp:
        path = Path(tmp) / "pack.pdf"
        write_tasking_pack(path, settings=settings, **inputs.pack_kwargs())
        return path.read_bytes()


def junction_csv(junctions: pd.DataFrame, marking: str | None = None) -> bytes:
    """The ranked junction table as spreadsheet-safe CSV.

    Parameters
    ----------
    junctions : pandas.DataFrame
        :func:`corridor_compute.corridor_junctions` rows (with ``x``/``y`` in EPSG:27700).

    Returns
    -------
    bytes
        :func:`corridor_compute.junction_table` plus ``lon``/``lat``, UTF-8 with a byte-order
        mark.
    """
    from hotspots.safe_csv import safe_csv
    from hotspots.spatial.crs import to_wgs84

    table = corridor_compute.junction_table(junctions)
    lon, lat = to_wgs84(junctions["x"].to_numpy(float), junctions["y"].to_numpy(float))
    table = table.assign(lon=np.round(lon, 6), lat=np.round(lat, 6))
    return ("\ufeff" + safe_csv(table, marking)).encode("utf-8")


def record(what: str, filters: Mapping[str, Any], file_name: str, settings: Settings,
           user: str | None = None, data: bytes | None = None) -> dict[str, Any]:
    """Append the audit line of one download.

    Parameters
    ----------
    what : str
        The kind of file, e.g. ``"map.png"``.
    filters : mapping
        :func:`selection_filters` and the file's own parameters.
    file_name : str
        The name the browser saves the file under.
    settings : Settings
    user : str, optional
        The signed-in user; default the OS account the dashboard runs as (single-user local
        mode), labelled as such.
    data : bytes, optional
        The file's bytes: their size and SHA-256 go in the line.

    Returns
    -------
    dict
        The line written (:func:`hotspots.audit.record_export`).
    """
    from hotspots.audit import record_export

    entry: str | dict[str, Any] = file_name
    if data is not None:
        entry = {"name": file_name, "bytes": len(data),
                 "sha256": hashlib.sha256(data).hexdigest()}
    return record_export(what, filters, actor=_actor(user), settings=settings, files=[entry])


def _actor(user: str | None = None) -> Actor:
    """Who downloads: the signed-in user, else (local mode) the OS account, labelled so."""
    if user:
        return Actor(user, "signed in", _role())
    return Actor(os_account(), "os account", "local")


def _role() -> str:
    """The signed-in user's role, as :func:`hotspots.ui.auth.gate` found it from the settings'
    ``[roles]`` (``none``, which may not export, when it has not run)."""
    return auth.current_role()


def producer(what: str, filters: Mapping[str, Any], file_name: str, settings: Settings,
             data: bytes, user: str | None = None) -> Callable[[], bytes]:
    """The download button's data: a function that writes the audit line, then returns the
    bytes. Streamlit runs it only when the button is clicked, so no file is served (nor
    fetchable by its media URL) before its line is written, and an unwritable log raises
    :class:`hotspots.audit.AuditError` instead of releasing it."""
    actor = _actor(user)

    def produce() -> bytes:
        # Enforced where the bytes are made, on the server: a viewer's session gets no
        # button, and a click that reached here anyway gets an AccessError, not the file.
        access.require(actor.role, "export")
        return audited_bytes(what, filters, file_name, data, settings=settings, actor=actor)

    return produce


# ------------------------------------------------------------------- cached (keyed by store)


@st.cache_data(show_spinner=False, max_entries=16)
def _cheap(kind: str, fingerprint: str, settings_key: str, params: Params,
           months: tuple[str, ...], shown_key: tuple[str, str], _analysis: compute.Analysis,
           _shown: MapAreas | None, _settings: Settings) -> bytes:
    if kind == "csv":
        return hotspot_csv(_analysis, _shown, _settings.marking)
    if kind == "geojson":
        return hotspot_geojson(_analysis, _settings, _shown)
    return hotspot_geopackage(_analysis, _shown, _settings.marking)


@st.cache_data(show_spinner=False, max_entries=8)
def _png(fingerprint: str, settings_key: str, params: Params, months: tuple[str, ...],
         size: str, services: bool, shown_key: tuple[str, str], _analysis: compute.Analysis,
         _shown: MapAreas | None, _settings: Settings) -> bytes:
    return map_png(_analysis, _settings, size, services=services, shown=_shown)


@st.cache_data(show_spinner=False, max_entries=4)
def _pack(fingerprint: str, settings_key: str, params: Params, shown_key: tuple[str, str],
          edits: PackEdits, _shown: MapAreas | None, _settings: Settings) -> bytes:
    return tasking_pack(params, _settings, _shown, edits)


@st.cache_data(show_spinner=False, max_entries=8)
def _junctions(fingerprint: str, settings_key: str, cp: CorridorParams,
               months: tuple[str, ...], marking: str, _junctions_frame: pd.DataFrame) -> bytes:
    return junction_csv(_junctions_frame, marking)


# ------------------------------------------------------------------- the panel


def signed_in_user() -> str | None:
    """The signed-in user (:func:`hotspots.ui.auth.signed_in_email`); None in local mode, where
    the audit records the OS account."""
    return auth.signed_in_email()


def _prepare(flag: str, token: str) -> None:
    st.session_state[flag] = token


def _link() -> str:
    """The current view's query string (as the URL keeps it) for the audit line."""
    state = st.session_state.get(meeting.STATE_KEY)
    return "?" + query_string(state) if state is not None else ""


def _button(target: Any, label: str, data: bytes, *, file_name: str,
            mime: str, key: str, what: str, filters: dict[str, Any], settings: Settings,
            help: str | None = None) -> None:
    target.download_button(label, producer(what, filters, file_name, settings, data,
                                           user=signed_in_user()),
                           file_name=file_name, mime=mime, key=key, help=help,
                           on_click="ignore", icon=":material/download:", width="stretch")


def _lazy(col: Any, kind: str, token: str, labels: tuple[str, str], spinner: str,
          make: Callable[[], bytes], *, file_name: str, mime: str, what: str,
          filters: dict[str, Any], settings: Settings, help: str) -> None:
    """A "Prepare" button that turns into the download button once the file is made."""
    prepare, label = labels
    slot = col.empty()
    flag = _PREPARED + kind
    if st.session_state.get(flag) != token:
        slot.button(prepare, key=f"prepare_{kind}",
                    on_click=_prepare, args=(flag, token), icon=":material/build:",
                    width="stretch", help=help)
        return
    try:
        with slot.container(), st.spinner(spinner):
            data = make()
    except HotspotsError as exc:
        st.session_state.pop(flag, None)
        slot.error(md_escape(str(exc)))
        return
    _button(slot, label, data, file_name=file_name, mime=mime, key=f"download_{kind}",
            what=what, filters=filters, settings=settings, help=help)


def _audit_ready(settings: Settings) -> bool:
    """Check the audit log can take a line before offering any file (else say why)."""
    from hotspots.audit import check_log_writable

    if not auth.may("export"):
        st.info(md_escape(f"Downloads need the analyst role; you are signed in as "
                          f"{_role()}."))
        return False
    try:
        check_log_writable(settings=settings)
    except HotspotsError as exc:
        st.error("Downloads are switched off: " + md_escape(str(exc)))
        return False
    return True


def hotspots_panel(settings: Settings, key: str, fingerprint: str, months: tuple[str, ...],
                   params: Params, layers: Layers, analysis: compute.Analysis, page: str,
                   shown: MapAreas | None = None) -> None:
    """The Hotspots view's downloads, under the map.

    The map (HTML), the hotspot table (CSV) and polygons (GeoJSON, GeoPackage) are ready at
    once; the map snapshots and the tasking pack are made on request (cached by the store
    fingerprint and the selection). Each download appends one line to the export audit log.

    Parameters
    ----------
    settings : Settings
    key : str
        The settings' cache key.
    fingerprint : str
        The store's fingerprint.
    months : tuple of str
        Months the store holds.
    params : Params
        The selection.
    layers : Layers
        The map's optional layers (service areas are drawn on the snapshot when shown).
    analysis : compute.Analysis
        The view's analysis (cached).
    page : str
        The map's offline HTML page.
    shown : MapAreas, optional
        The areas the map shows: the table, polygons and snapshots follow the map's method
        (Gi*, emerging hot spots or clusters); default the kernel density areas.
    """
    density = _is_density(shown)
    if density:
        shown = None
    shown_key = ("kde", "") if shown is None else (shown.method, shown.statement)
    with st.expander("Download for the tasking meeting: map, snapshots, tasking pack, GIS "
                     "files, table", expanded=False, icon=":material/download:"):
        if not _audit_ready(settings):
            return
        services = bool(layers.services)
        stem = file_stem("hotspots", params.area, params.start, params.end)
        base = selection_filters(params, settings, view="hotspots",
                                 method=analysis.method() if shown is None else shown.statement,
                                 map_method=shown_key[0], bandwidth=params.bandwidth,
                                 top=params.top, link=_link())
        ready = st.columns(4)
        _button(ready[0], "Map (HTML, works offline)", page.encode("utf-8"),
                file_name=f"{stem}.html", mime="text/html", key="download_map",
                what="map.html", filters=base, settings=settings,
                help="The interactive map as one file: opens in any browser, with no network.")
        cheap = (("csv", "Hotspot table (CSV)", "text/csv", "hotspots.csv",
                  "Rank, locations, incidents, share, km², PAI, lon/lat; safe to open in a "
                  "spreadsheet."),
                 ("geojson", "Hotspot polygons (GeoJSON)", "application/geo+json",
                  "hotspots.geojson", "WGS84 (RFC 7946), with the method and parameters."),
                 ("gpkg", "Hotspot polygons (GeoPackage)", "application/geopackage+sqlite3",
                  "hotspots.gpkg", "British National Grid (EPSG:27700), for GIS."))
        for col, (kind, label, mime, what, text) in zip(ready[1:], cheap, strict=True):
            data = _cheap(kind, fingerprint, key, params, months, shown_key, analysis, shown,
                          settings)
            _button(col, label, data, file_name=f"{stem}.{kind}", mime=mime,
                    key=f"download_{kind}", what=what, filters=base, settings=settings,
                    help=text)

        heavy = st.columns(3)
        for col, (size, labels) in zip(heavy[:2], PNG_SIZES.items(), strict=True):
            _lazy(col, f"png_{size}", repr((fingerprint, key, params, services, shown_key)),
                  labels, labels[0].replace("Prepare ", "Drawing the ") + "...",
                  lambda size=size: _png(fingerprint, key, params, months, size, services,
                                         shown_key, analysis, shown, settings),
                  file_name=f"{stem}-{size}.png", mime="image/png", what="map.png",
                  filters={**base, "size": size, "services": services}, settings=settings,
                  help="Print-ready map with the protective marking, the method in full, a "
                       "scale bar and the sources; drawn from the shipped data, no tiles.")
        edits = pack_editor()
        _lazy(heavy[2], "pack", repr((fingerprint, key, params, shown_key, edits)),
              ("Prepare tasking pack", "Tasking pack (PDF)"),
              "Building the tasking pack (findings, areas, junctions, disruption sites, "
              "tasking review)...",
              lambda: _pack(fingerprint, key, params, shown_key, edits, shown, settings),
              file_name=f"{file_stem('tasking-pack', params.area, params.start, params.end)}"
                        ".pdf",
              mime="application/pdf", what="pack.pdf",
              filters={**base, "sites": PACK_SITES}, settings=settings,
              help=f"A problem profile: cover, key findings, terms of reference, A4 map, "
                   f"ranked patrol areas with their change, SRN junctions and corridor bands, "
                   f"{PACK_SITES} disruption sites, the review of last period's tasking, "
                   "recommendations (Pursue, Prevent, Protect, Prepare: edit them above), "
                   "trend, accuracy, method notes, caveats and gaps.")
        what = ("the kernel density hotspot areas" if shown is None
                else "the " + shown.name.lower() + " shown on the map")
        st.caption(md_escape(
            f"The HTML map is the map shown; the table, the polygons, the map snapshots and "
            f"the tasking pack hold {what} (in the pack each area with its emerging hot spot "
            "class and the back-test of maps made the same way). Every file carries or "
            "states the protective marking, the method and its parameters. Each download is "
            "recorded in the export audit log (time, user, file and selection)."))


def corridors_panel(settings: Settings, key: str, fingerprint: str, months: tuple[str, ...],
                    cp: CorridorParams, junctions: pd.DataFrame | None,
                    page: str) -> None:
    """The Corridors view's downloads, under the map: the map (HTML) and the junction table.

    Parameters
    ----------
    settings : Settings
    key : str
    fingerprint : str
    months : tuple of str
    cp : CorridorParams
    junctions : pandas.DataFrame, optional
        :func:`corridor_compute.corridor_junctions` rows.
    page : str
        The corridor map's offline HTML page.
    """
    with st.expander("Download for the tasking meeting: corridor map, junction table",
                     expanded=False, icon=":material/download:"):
        if not _audit_ready(settings):
            return
        sel = cp.crimes_params()
        stem = file_stem("corridors", cp.area, cp.start, cp.end)
        base = selection_filters(sel, settings, view="corridors", radius=cp.radius,
                                 road_bandwidth=cp.bandwidth, neighbours=cp.neighbours,
                                 link=_link())
        cols = st.columns(4)
        _button(cols[0], "Corridor map (HTML, works offline)", page.encode("utf-8"),
                file_name=f"{stem}.html", mime="text/html", key="download_corridor_map",
                what="corridors.html", filters=base, settings=settings,
                help="The interactive map as one file: opens in any browser, with no network.")
        if junctions is not None and len(junctions):
            _button(cols[1], "Junction table (CSV)",
                    _junctions(fingerprint, key, cp, months, settings.marking, junctions),
                    file_name=f"{stem}-junctions.csv", mime="text/csv",
                    key="download_junctions", what="junctions.csv", filters=base,
                    settings=settings,
                    help="The ranked junctions with lon/lat; safe to open in a spreadsheet.")
        st.caption("Map snapshots, the tasking pack and the hotspot GIS files are in the "
                   "Hotspots view. Each download is recorded in the export audit log.")
