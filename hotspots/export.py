"""Tasking-meeting exports: GeoJSON, GeoPackage, safe CSV, offline HTML, the PDF pack, reports."""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from hotspots import wording
from hotspots.config import Settings, load_settings
from hotspots.errors import HotspotsError, InputError, NoDataError, ParameterError
from hotspots.jsonvalue import json_value
from hotspots.months import check_month, is_month, missing_months, month_range, previous_period

__all__ = [
    "DATA_CAVEATS",
    "PackInputs",
    "build_pack_inputs",
    "disruption_frame",
    "monthly_chart_png",
    "safe_csv",
    "to_geojson",
    "write_csv",
    "write_geopackage",
    "write_html_map",
    "write_report",
    "write_tasking_pack",
]

#: Caveats every pack states, whatever the selection (the missing months are added from the
#: store itself).
DATA_CAVEATS: tuple[str, ...] = (
    "police.uk moves every crime to one of a set of anonymous map points (\"On or near ...\") "
    "to protect victims: positions are approximate, many incidents share one point, and a "
    "location name describes the map point, not the premises.",
    "police.uk gives the month only: no day, time of day or day of the week, so near-repeat "
    "and time-of-day analysis need a force extract with exact dates.",
    "police.uk carries no serious-organised-crime marker: \"SOC-linked\" means Drugs and "
    "Possession of weapons, a proxy.",
    "Recorded crime reflects reporting and police activity as well as offending.",
    "Trunk-road alignments of the SRN are approximate (derived from junctions and traffic "
    "counter sites); motorway lines are surveyed (OS OpenRoads).",
)

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection),
#: plus the full-width forms some spreadsheet locales also accept.
_FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


# --------------------------------------------------------------------------------------------
# JSON-safe values
# --------------------------------------------------------------------------------------------


def _check_gdf(gdf: Any, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ParameterError(f"{what} must be a GeoDataFrame, got {type(gdf).__name__}")
    if gdf.crs is None:
        raise ParameterError(f"{what} has no coordinate reference system; set one (e.g. "
                             "EPSG:27700) before exporting")
    return gdf


def _round_coords(obj: Any, ndigits: int) -> Any:
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(c), ndigits) for c in obj]
        return [_round_coords(o, ndigits) for o in obj]
    return obj


# --------------------------------------------------------------------------------------------
# GeoJSON and GeoPackage
# --------------------------------------------------------------------------------------------


def to_geojson(gdf: gpd.GeoDataFrame, *, metadata: Mapping[str, Any] | None = None,
               precision: int = 6) -> str:
    """Return a GeoDataFrame as an RFC 7946 GeoJSON FeatureCollection (WGS84 lon/lat).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Any CRS (it is transformed to WGS84; the input is not modified). Every non-geometry
        column becomes a property; NaN and missing values become ``null``.
    metadata : mapping, optional
        Method and parameters, written as the foreign member ``"metadata"`` (RFC 7946 §6.1).
        Default ``gdf.attrs["method"]`` when present.
    precision : int, default 6
        Decimal places of the coordinates (6 is about 0.1 m).

    Returns
    -------
    str
        JSON text: ``{"type": "FeatureCollection", "features": [...]}``, polygons wound
        counter-clockwise (right-hand rule), no ``crs`` member, ``bbox`` of the features.

    Raises
    ------
    ParameterError
        Not a GeoDataFrame, or no CRS.
    """
    gdf = _check_gdf(gdf, "the layer")
    wgs = gdf.to_crs(4326)
    geoms = wgs.geometry.to_numpy()
    present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    oriented = geoms.copy()
    if present.any():
        # RFC 7946 §3.1.6: exterior rings counter-clockwise, holes clockwise.
        oriented[present] = shapely.orient_polygons(geoms[present], exterior_cw=False)
    props = [c for c in wgs.columns if c != wgs.geometry.name]
    records = wgs[props].to_dict("records") if props else [{} for _ in range(len(wgs))]
    features = []
    for g, rec in zip(oriented, records, strict=True):
        geometry = None
        if g is not None and not g.is_empty:
            gm = mapping(g)
            geometry = {"type": gm["type"],
                        "coordinates": _round_coords(gm["coordinates"], precision)}
        features.append({"type": "Feature", "properties": {str(k): json_value(v)
                                                             for k, v in rec.items()},
                         "geometry": geometry})
    out: dict[str, Any] = {"type": "FeatureCollection"}
    if present.any():
        b = shapely.total_bounds(oriented[present])
        out["bbox"] = [round(float(v), precision) for v in b]
    out["features"] = features
    meta = metadata if metadata is not None else gdf.attrs.get("method")
    if meta:
        out["metadata"] = json_value(meta)
    return json.dumps(out, ensure_ascii=False, allow_nan=False)


def _gpkg_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy GeoPackage can hold: EPSG:27700; lists and dicts as JSON text."""
    out = gdf.to_crs(27700)
    for col in out.columns:
        if col == out.geometry.name:
            continue
        s = out[col]
        if s.dtype == object and s.map(lambda v: isinstance(v, (list, tuple, dict,
                                                                np.ndarray))).any():
            out[col] = s.map(lambda v: json.dumps(json_value(v), ensure_ascii=False)
                             if isinstance(v, (list, tuple, dict, np.ndarray)) else v)
    out.columns = [str(c) for c in out.columns]
    return out


def write_geopackage(layers: Mapping[str, gpd.GeoDataFrame], path: str | os.PathLike) -> Path:
    """Write GeoDataFrames as the layers of one GeoPackage, in EPSG:27700.

    Parameters
    ----------
    layers : mapping of str to geopandas.GeoDataFrame
        Layer name -> frame (any CRS; transformed, not modified). List and dict cells are
        stored as JSON text. ``frame.attrs["method"]``, when present, is stored as the layer's
        metadata item ``hotspots_method`` (JSON).
    path : path-like
        Output file; an existing file is replaced whole (written to a temporary file first,
        so a failure leaves the old one in place).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        No layers, an empty or repeated layer name, a layer without CRS.
    InputError
        The file cannot be written.
    """
    if not layers:
        raise ParameterError("no layers to write; give at least one GeoDataFrame")
    seen: set[str] = set()
    for name, gdf in layers.items():
        if not isinstance(name, str) or not name.strip():
            raise ParameterError(f"GeoPackage layer names must be non-empty text, got {name!r}")
        if name.lower() in seen:
            raise ParameterError(f"GeoPackage layer {name!r} is given twice")
        seen.add(name.lower())
        _check_gdf(gdf, f"layer {name!r}")
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(suffix=".gpkg", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()  # GDAL wants to create the file itself
        for name, gdf in layers.items():
            kw: dict[str, Any] = {}
            if gdf.attrs.get("method"):
                kw["layer_metadata"] = {"hotspots_method": json.dumps(
                    json_value(gdf.attrs["method"]), ensure_ascii=False)}
            _gpkg_frame(gdf).to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", **kw)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the GeoPackage ({exc.strerror or exc})") \
            from None
    except Exception as exc:  # GDAL raises many types; the user needs the file and the gist
        raise InputError(f"{path}: cannot write the GeoPackage "
                         f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                         ) from None
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()
    return path


# --------------------------------------------------------------------------------------------
# CSV with formula injection neutralised
# --------------------------------------------------------------------------------------------


def _neutralise(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would run as a formula (OWASP)."""
    if not text:
        return text
    first = text.lstrip(" ")[:1] or text[0]
    risky = first in _FORMULA_START or ord(first) < 0x20 or ord(first) == 0x7F
    if risky and not _PLAIN_NUMBER.fullmatch(text.strip()):
        return "'" + text
    return text


def _csv_cell(v: Any) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return "" if math.isnan(f) else repr(f) if math.isfinite(f) else ""
    if isinstance(v, (pd.Timestamp, datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple, dict, np.ndarray)):
        return _neutralise(json.dumps(json_value(v), ensure_ascii=False))
    if isinstance(v, BaseGeometry):
        return _neutralise(v.wkt)
    try:
        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    return _neutralise(str(v))


def safe_csv(frame: pd.DataFrame) -> str:
    """Return a table as CSV text that spreadsheets cannot run as formulas.

    Every text cell (and header) starting with ``=``, ``+``, ``-``, ``@``, tab, carriage return
    or any other control character (also after leading spaces, and the full-width ``＝ ＋ －
    ＠``) gets a leading apostrophe, as the OWASP CSV injection guidance advises. Numbers stay
    numbers: numeric cells are written as they are (``-3.2``), and so is text that is nothing
    but a plain decimal number; ``"-3.2+cmd|' /C calc'!A0"`` is neutralised. Fields holding
    commas, quotes or line breaks are quoted (RFC 4180), so embedded newlines survive.

    Parameters
    ----------
    frame : pandas.DataFrame
        Not modified; the index is not written; a geometry column is written as WKT.

    Returns
    -------
    str
        CSV text, ``\\r\\n`` line ends, a header row first.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"safe_csv needs a DataFrame, got {type(frame).__name__}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow([_csv_cell(str(c)) for c in frame.columns])
    cols = [frame.iloc[:, i].tolist() for i in range(frame.shape[1])]
    for row in zip(*cols, strict=True):
        w.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write :func:`safe_csv` text as UTF-8 with a byte-order mark (so Excel reads ² and –)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(safe_csv(frame), encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the CSV file ({exc.strerror or exc})") from None
    return path


# --------------------------------------------------------------------------------------------
# Self-contained HTML map
# --------------------------------------------------------------------------------------------


def write_html_map(folium_map: Any, path: str | os.PathLike) -> Path:
    """Write a folium map as one self-contained HTML file that works with no network.

    Parameters
    ----------
    folium_map : folium.Map
        E.g. from :func:`hotspots.maps.build_map`.
    path : path-like

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        The map needs a file from another machine (see :func:`hotspots.leaflet.offline_html`).
    InputError
        The file cannot be written.
    """
    from hotspots.leaflet import offline_html

    page = offline_html(folium_map)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the HTML map ({exc.strerror or exc})") from None
    return path


# --------------------------------------------------------------------------------------------
# Months
# --------------------------------------------------------------------------------------------


_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                "Dec")


def _month_grid(monthly: pd.DataFrame) -> pd.DataFrame:
    """Counts as one row per year and a column per month; months without data are missing."""
    values = pd.to_numeric(monthly["incidents"], errors="coerce")
    rows: dict[str, dict[str, Any]] = {}
    for m, v in zip(monthly["month"].astype(str), values, strict=True):
        rows.setdefault(m[:4], {"year": m[:4]})[_MONTH_NAMES[int(m[5:7]) - 1]] = \
            None if pd.isna(v) else int(v)
    frame = pd.DataFrame(list(rows.values()))
    for name in _MONTH_NAMES:
        if name not in frame.columns:
            frame[name] = None
    return frame.astype(object).where(frame.notna(), None)


# --------------------------------------------------------------------------------------------
# Monthly trend chart
# --------------------------------------------------------------------------------------------


def monthly_chart_png(monthly: pd.DataFrame, *, title: str = "Incidents per month",
                      period: tuple[str, str] | None = None, dpi: int = 200) -> bytes:
    """Draw monthly counts as a line chart PNG; months without data are gaps, never zeros.

    Parameters
    ----------
    monthly : pandas.DataFrame
        ``month`` (``YYYY-MM``) and ``incidents``; months missing from the frame, or with NaN,
        are drawn as gaps (shaded "no data") and never joined across.
    title : str
    period : (str, str), optional
        First and last month of the selected period, shaded.
    dpi : int

    Returns
    -------
    bytes
        PNG, 10 x 3.6 inches.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(monthly, pd.DataFrame) or not {"month", "incidents"} <= set(monthly):
        raise ParameterError("monthly needs a frame with month and incidents columns")
    if monthly.empty:
        raise NoDataError("no months to chart")
    given = dict(zip(monthly["month"].astype(str),
                     pd.to_numeric(monthly["incidents"], errors="coerce"), strict=True))
    bad = [m for m in given if not is_month(m)]
    if bad:
        raise ParameterError(f"months must be YYYY-MM, got {bad[:3]}")
    months = month_range(min(given), max(given))
    values = np.array([given.get(m, np.nan) for m in months], dtype=float)
    x = np.arange(len(months))

    fig = Figure(figsize=(10, 3.6), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.07, 0.2, 0.91, 0.68))
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    if period is not None:
        a = months.index(period[0]) if period[0] in months else None
        b = months.index(period[1]) if period[1] in months else None
        if a is not None and b is not None:
            ax.axvspan(a - 0.5, b + 0.5, color="#0072B2", alpha=0.10, lw=0,
                       label="selected period")
    gap = ~np.isfinite(values)
    for i in np.flatnonzero(gap):
        ax.axvspan(i - 0.5, i + 0.5, facecolor="none", edgecolor="#9a9a9a", hatch="////",
                   lw=0, label="no data published" if i == np.flatnonzero(gap)[0] else None)
    # NaN breaks the line: a gap is never bridged.
    ax.plot(x, values, color="#1a1a1a", lw=1.6, marker="o", ms=3.5, label="incidents")
    ax.set_ylim(0, top * 1.15 if top > 0 else 1)
    ax.set_xlim(-0.5, len(months) - 0.5)
    step = max(1, math.ceil(len(months) / 18))
    ax.set_xticks(x[::step])
    names = _MONTH_NAMES
    ax.set_xticklabels([f"{names[int(m[5:7]) - 1]}\n{m[:4]}" if (k == 0 or m[5:7] == "01")
                        else names[int(m[5:7]) - 1]
                        for k, m in enumerate(months[::step])], fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_ylabel("incidents", fontsize=9)
    ax.grid(axis="y", color="#e0e0e0", lw=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, fontsize=10, loc="left", fontweight="bold")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.17), ncol=3, frameon=False, fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# The tasking pack (PDF)
# --------------------------------------------------------------------------------------------

#: Sections of the pack, in order, with their headings.
PACK_SECTIONS: dict[str, str] = {
    "map": "Hotspot map",
    "hotspots": "Top hotspots",
    "junctions": "SRN corridors and junctions",
    "disruption": "Disruption points",
    "trend": "Monthly trend",
    "accuracy": "Accuracy (back-test)",
    "notes": "Method notes and data caveats",
}


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _pack_pdf(marking: str, running: str, created: datetime):
    from fpdf import FPDF

    class _PackPDF(FPDF):
        def header(self) -> None:
            self.set_font("DejaVu", "B", 10)
            self.set_text_color(26, 26, 26)
            self.set_y(6)
            self.cell(0, 5, marking, align="C")
            self.set_font("DejaVu", "", 7)
            self.set_text_color(90, 90, 90)
            self.set_xy(self.l_margin, 6)
            self.cell(90, 5, running[:80], align="L")
            self.set_draw_color(180, 180, 180)
            self.line(self.l_margin, 12, self.w - self.r_margin, 12)
            self.set_y(15)
            self.set_text_color(26, 26, 26)

        def footer(self) -> None:
            self.set_y(-11)
            self.set_draw_color(180, 180, 180)
            self.line(self.l_margin, self.get_y() - 1, self.w - self.r_margin, self.get_y() - 1)
            self.set_font("DejaVu", "", 7)
            self.set_text_color(90, 90, 90)
            self.cell(90, 5, f"Created {created:%Y-%m-%d %H:%M} UTC", align="L")
            self.set_x(self.l_margin)
            self.set_font("DejaVu", "B", 10)
            self.set_text_color(26, 26, 26)
            self.cell(0, 5, marking, align="C")
            self.set_x(self.w - self.r_margin - 40)
            self.set_font("DejaVu", "", 8)
            self.cell(40, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    pdf = _PackPDF(orientation="L", unit="mm", format="A4")
    fonts = _font_dir()
    for style, name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf"),
                        ("I", "DejaVuSans-Oblique.ttf"), ("BI", "DejaVuSans-BoldOblique.ttf")):
        if not (fonts / name).is_file():
            raise InputError(f"{fonts / name}: font not found (matplotlib's DejaVu fonts are "
                             "needed for the PDF)")
        pdf.add_font("DejaVu", style, str(fonts / name))
    pdf.set_margins(12, 15, 12)
    pdf.set_auto_page_break(True, margin=14)
    pdf.set_title(running)
    pdf.set_creator("hotspots")
    pdf.set_creation_date(created)
    return pdf


def _heading(pdf, text: str) -> None:
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _para(pdf, text: str, size: float = 9.5, style: str = "", colour=(26, 26, 26)) -> None:
    pdf.set_font("DejaVu", style, size)
    pdf.set_text_color(*colour)
    pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(26, 26, 26)


def _bullets(pdf, items: Sequence[str], size: float = 9.5) -> None:
    pdf.set_font("DejaVu", "", size)
    for item in items:
        pdf.set_x(pdf.l_margin)
        pdf.cell(5, size * 0.5, "•")
        pdf.multi_cell(0, size * 0.5, str(item), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)


def _fmt(v: Any, kind: str = "") -> str:
    """Format one table cell; missing values are an en dash, never a zero."""
    if v is None or v is pd.NA:
        return "–"
    if isinstance(v, float) and math.isnan(v):
        return "–"
    if kind == "int":
        return f"{int(v):,}"
    if kind == "signed":
        return f"{int(v):+,}" if int(v) else "0"
    if kind == "pct":
        return f"{float(v):.1%}"
    if kind == "signed_pct":
        return f"{float(v):+.0f}%"
    if kind == "1dp":
        return f"{float(v):,.1f}"
    if kind == "2dp":
        return f"{float(v):,.2f}"
    if isinstance(v, Mapping):
        return ", ".join(f"{k} {x}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return "; ".join(str(x) for x in v)
    return str(v)


def _table(pdf, frame: pd.DataFrame, spec: Sequence[tuple[str, str, float, str, str]],
           size: float = 8.0) -> None:
    """Draw ``frame`` with columns ``(column, heading, width share, format, align)``."""
    from fpdf.fonts import FontFace

    cols = [s for s in spec if s[0] in frame.columns]
    if not cols:
        return
    pdf.set_font("DejaVu", "", size)
    heading = FontFace(emphasis="BOLD", fill_color=(232, 232, 228))
    with pdf.table(col_widths=[c[2] for c in cols], headings_style=heading,
                   line_height=size * 0.55, text_align=tuple(c[4] for c in cols),
                   padding=1.2, borders_layout="HORIZONTAL_LINES", align="LEFT",
                   width=pdf.w - pdf.l_margin - pdf.r_margin) as table:
        head = table.row()
        for c in cols:
            head.cell(c[1])
        for rec in frame[[c[0] for c in cols]].to_dict("records"):
            row = table.row()
            for c in cols:
                row.cell(_fmt(rec[c[0]], c[3]))


def _png_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        return im.size



def _table_with_changes(pdf, table: pd.DataFrame, spec: list, *, note_width: float) -> None:
    """Draw a table whose rows may carry a ``change_note``: one note shared by every row is
    printed once under the table, differing notes get a column of their own."""
    notes = (table["change_note"].dropna().astype(str) if "change_note" in table
             else pd.Series(dtype=str))
    notes = notes[notes.str.strip() != ""]
    uniform = notes.nunique() == 1 and len(notes) == len(table)
    if len(notes) and not uniform:
        spec = [*spec, ("change_note", "Note", note_width, "", "LEFT")]
    _table(pdf, table, spec, 8)
    if uniform:
        pdf.ln(2)
        _para(pdf, f"Change not computed: {notes.iloc[0]}.", 8.5, "I", (90, 90, 90))


def write_tasking_pack(path: str | os.PathLike, *, title: str, area: str, period: str,
                       crimes: str = "", marking: str | None = None,
                       created: datetime | None = None, map_png: bytes | None = None,
                       summary: Mapping[str, str] | None = None,
                       hotspots: pd.DataFrame | None = None,
                       junctions: pd.DataFrame | None = None,
                       corridors: pd.DataFrame | None = None,
                       disruption: pd.DataFrame | None = None,
                       monthly: pd.DataFrame | None = None,
                       monthly_period: tuple[str, str] | None = None,
                       accuracy: str | Mapping[str, Any] | None = None,
                       method_notes: Sequence[str] = (),
                       caveats: Sequence[str] | None = None,
                       omitted: Mapping[str, str] | None = None,
                       hotspot_rows: int = 20, junction_rows: int = 15,
                       settings: Settings | None = None) -> dict[str, Any]:
    """Write the tasking pack: an A4 landscape PDF for a tasking meeting.

    Pages: cover (title, area, period, crimes, marking, creation time, key figures, what the
    pack holds and what it leaves out); then each section given: hotspot map, top hotspots
    table, SRN corridor and junction tables, disruption points with rationale, monthly trend
    chart (gaps as gaps), back-test accuracy statement, method notes and data caveats. A
    section not given is left out with a one-line note saying why; nothing is made up. The
    protective marking is printed at the top and bottom of every page, with page numbers.

    Parameters
    ----------
    path : path-like
        Output PDF.
    title, area, period, crimes : str
        Cover and running-header text, e.g. ``"Acquisitive crime hotspots"``, ``"Rugby"``,
        ``"Apr–Jun 2025"``, ``"acquisitive crime"``.
    marking : str, optional
        Protective marking; default ``settings.marking``.
    created : datetime, optional
        Default now (UTC).
    map_png : bytes, optional
        The map (:func:`hotspots.snapshot.render_map_png`), fitted to a page.
    summary : mapping of str to str, optional
        Key figures for the cover, label -> text.
    hotspots : pandas.DataFrame, optional
        Top hotspots: ``rank``, ``locations`` (or ``top_locations``), ``district``,
        ``incidents``, ``previous``, ``change``, ``change_pct``, ``share``, ``pai``,
        ``area_km2``, ``class`` (when classes are known), ``change_note``; columns absent are
        not shown. The first ``hotspot_rows`` rows are printed.
    junctions : pandas.DataFrame, optional
        :func:`hotspots.spatial.corridors.junction_stats` output (``name``, ``alias``,
        ``roads``, ``incidents``, ``previous``, ``change``, ``change_note``); the first
        ``junction_rows`` rows are printed.
    corridors : pandas.DataFrame, optional
        :func:`hotspots.spatial.corridors.corridor_bands` output.
    disruption : pandas.DataFrame, optional
        Disruption points: ``rank``, ``name`` (or ``site``/``location``), ``rationale`` and
        any of ``type``, ``score``, ``covered``, ``cumulative_share``; ``attrs["method"]``
        (text), when present, is printed above the table.
    monthly : pandas.DataFrame, optional
        ``month``, ``incidents`` (NaN = no data): charted by :func:`monthly_chart_png`.
    monthly_period : (str, str), optional
        Months to shade on the chart as the selected period.
    accuracy : str or mapping, optional
        Back-test statement, or label -> value pairs.
    method_notes : sequence of str
        Method and parameter statements.
    caveats : sequence of str, optional
        Data caveats; default :data:`DATA_CAVEATS`.
    omitted : mapping of str to str, optional
        Section (or ``"classes"``, the hotspot table's class column) -> why it is not in the
        pack (default "not supplied").
    hotspot_rows, junction_rows : int
    settings : Settings, optional

    Returns
    -------
    dict
        ``path``, ``bytes``, ``pages``, ``sections`` (included, in order) and ``omitted``
        (section -> reason; also ``"classes"`` when a non-empty hotspot table has no class).

    Raises
    ------
    ParameterError
        Empty marking or title, a table without the columns it needs.
    InputError
        The file cannot be written.
    """
    settings = settings or load_settings()
    marking = " ".join(str(settings.marking if marking is None else marking).split())
    if not marking:
        raise ParameterError("the protective marking is empty; give one, e.g. OFFICIAL")
    if not str(title).strip():
        raise ParameterError("the tasking pack needs a title")
    created = (created or datetime.now(UTC))
    created = (created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(UTC)
    reasons = {k: "not supplied" for k in (*PACK_SECTIONS, *PACK_PARTS)}
    reasons.update(omitted or {})
    given = {
        "map": map_png is not None,
        "hotspots": hotspots is not None,
        "junctions": junctions is not None or corridors is not None,
        "disruption": disruption is not None,
        "trend": monthly is not None,
        "accuracy": accuracy is not None and bool(accuracy),
        "notes": True,
    }
    for name, frame in (("hotspots", hotspots), ("junctions", junctions),
                        ("corridors", corridors), ("disruption", disruption),
                        ("monthly", monthly)):
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise ParameterError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    if disruption is not None and "rationale" not in disruption.columns:
        raise ParameterError("disruption points need a rationale column: say why each site")
    # Parts of a section: missing when the section is there without them.
    has_class = hotspots is not None and "class" in hotspots.columns and bool(
        hotspots["class"].fillna("").astype(str).str.strip().ne("").any())
    parts_missing = ["classes"] if hotspots is not None and len(hotspots) and not has_class \
        else []
    not_included = ([f"{PACK_SECTIONS[k]}: {reasons[k]}" for k, ok in given.items() if not ok]
                    + [f"{PACK_PARTS[k]}: {reasons[k]}" for k in parts_missing])

    running = " · ".join(p for p in (title, area, period) if p)
    pdf = _pack_pdf(marking, running, created)

    # ---- cover
    pdf.add_page()
    pdf.ln(14)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 8, marking, align="C", border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.set_font("DejaVu", "B", 26)
    pdf.multi_cell(0, 12, title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for label, value in (("Area", area), ("Period", period), ("Crimes", crimes),
                         ("Created", f"{created:%Y-%m-%d %H:%M} UTC")):
        if value:
            pdf.set_font("DejaVu", "B", 12)
            pdf.cell(28, 7, label)
            pdf.set_font("DejaVu", "", 12)
            pdf.multi_cell(0, 7, str(value), align="L", new_x="LMARGIN", new_y="NEXT")
    if summary:
        pdf.ln(5)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, "Key figures", new_x="LMARGIN", new_y="NEXT")
        for label, value in summary.items():
            pdf.set_font("DejaVu", "B", 9.5)
            pdf.cell(55, 5.5, str(label))
            pdf.set_font("DejaVu", "", 9.5)
            pdf.multi_cell(0, 5.5, str(value), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "In this pack", new_x="LMARGIN", new_y="NEXT")
    _bullets(pdf, [PACK_SECTIONS[k] for k, ok in given.items() if ok], 9.5)
    missing = [k for k, ok in given.items() if not ok]
    if not_included:
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, "Not included", new_x="LMARGIN", new_y="NEXT")
        _bullets(pdf, not_included, 9.5)

    # ---- map
    if map_png is not None:
        pdf.add_page()
        wpx, hpx = _png_size(map_png)
        avail_w = pdf.w - pdf.l_margin - pdf.r_margin
        avail_h = pdf.h - 16 - 15
        w = min(avail_w, avail_h * wpx / hpx)
        pdf.image(io.BytesIO(map_png), x=(pdf.w - w) / 2, y=16, w=w,
                  alt_text=f"Hotspot map, {area}, {period}")

    # ---- hotspots
    if hotspots is not None:
        pdf.add_page()
        _heading(pdf, PACK_SECTIONS["hotspots"])
        hs = hotspots.copy()
        if "locations" not in hs.columns and "top_locations" in hs.columns:
            hs["locations"] = hs["top_locations"]
        n = len(hs)
        if n == 0:
            _para(pdf, "No hotspot areas were selected for this period and crime selection.")
        else:
            shown = hs.head(hotspot_rows)
            _para(pdf, f"The {len(shown)} of {n:,} hotspot areas with most incidents "
                       "(all areas are in the GeoJSON/GeoPackage exports). Locations are the "
                       "most frequent police.uk map points in the area, with counts.", 9)
            pdf.ln(2)
            spec = [("rank", "Rank", 5, "int", "CENTER"),
                    ("locations", "Locations (police.uk map points, incidents)", 58, "", "LEFT"),
                    ("district", "District", 15, "", "LEFT"),
                    ("incidents", "Incidents", 8, "int", "RIGHT"),
                    ("previous", "Previous", 8, "int", "RIGHT"),
                    ("change", "Change", 7, "signed", "RIGHT"),
                    ("share", "Share", 7, "pct", "RIGHT"),
                    ("pai", "PAI", 5, "1dp", "RIGHT"),
                    ("area_km2", "km²", 6, "2dp", "RIGHT"),
                    ("class", "Class", 12, "", "LEFT")]
            _table_with_changes(pdf, shown, spec, note_width=20)
            if has_class:
                pdf.ln(1)
                _para(pdf, "Class: the emerging hot spot pattern of the area (space-time Gi* "
                           "and Mann-Kendall trend; how it is assigned is in the method "
                           "notes)." if hotspots.attrs.get("class_source") == "emerging"
                      else "Class: as supplied with the hotspot table.", 8.5, "I",
                      (90, 90, 90))
            else:
                pdf.ln(1)
                _para(pdf, f"Class not shown: {reasons['classes']}.", 8.5, "I", (90, 90, 90))

    # ---- junctions and corridors
    if junctions is not None or corridors is not None:
        pdf.add_page()
        _heading(pdf, PACK_SECTIONS["junctions"])
        if junctions is not None:
            jt = junctions.head(junction_rows)
            radius = junctions.attrs.get("radius_m")
            lead = (f"SRN junctions by incidents within {radius:,.0f} m" if radius
                    else "SRN junctions by incidents")
            _para(pdf, f"{lead} (top {len(jt)} of {len(junctions):,} with any).", 9)
            pdf.ln(2)
            if len(jt):
                spec = [("name", "Junction", 20, "", "LEFT"),
                        ("alias", "Also known as", 18, "", "LEFT"),
                        ("roads", "Roads", 16, "", "LEFT"),
                        ("incidents", "Incidents", 9, "int", "RIGHT"),
                        ("previous", "Previous", 9, "int", "RIGHT"),
                        ("change", "Change", 8, "signed", "RIGHT"),
                        ("change_pct", "Change %", 8, "signed_pct", "RIGHT")]
                _table_with_changes(pdf, jt, spec, note_width=24)
            else:
                _para(pdf, "No incidents of this selection near an SRN junction.")
            pdf.ln(4)
        if corridors is not None and len(corridors):
            # Keep the band table and its note together on one page.
            if pdf.get_y() + 7 + (len(corridors) + 1) * 6.5 + 10 > pdf.page_break_trigger:
                pdf.add_page()
            pdf.set_font("DejaVu", "B", 11)
            pdf.cell(0, 7, "Corridor bands: distance from the SRN", new_x="LMARGIN",
                     new_y="NEXT")
            _table(pdf, corridors, [("band", "Band", 20, "", "LEFT"),
                                    ("incidents", "Incidents", 12, "int", "RIGHT"),
                                    ("share", "Share of incidents", 14, "pct", "RIGHT"),
                                    ("area_km2", "Area km²", 12, "1dp", "RIGHT"),
                                    ("density_km2", "Per km²", 12, "1dp", "RIGHT"),
                                    ("lq", "Location quotient", 14, "2dp", "RIGHT")], 8.5)
            pdf.ln(1)
            _para(pdf, "Location quotient = share of incidents / share of area: above 1, more "
                       "crime than the band's area would suggest.", 8.5, "I", (90, 90, 90))

    # ---- disruption
    if disruption is not None:
        pdf.add_page()
        _heading(pdf, PACK_SECTIONS["disruption"])
        d = disruption.copy()
        if "name" not in d.columns:
            for alt in ("site", "location"):
                if alt in d.columns:
                    d["name"] = d[alt]
                    break
        if d.empty:
            _para(pdf, "The disruption analysis proposed no site for this selection.")
        else:
            lead = d.attrs.get("method")
            if lead:
                _para(pdf, str(lead), 9)
                pdf.ln(2)
            _table(pdf, d, [("rank", "Rank", 5, "int", "CENTER"),
                            ("name", "Site", 18, "", "LEFT"),
                            ("type", "Type", 9, "", "LEFT"),
                            ("score", "Score", 7, "2dp", "RIGHT"),
                            ("covered", "Covered", 8, "int", "RIGHT"),
                            ("cumulative_share", "Cumulative", 9, "pct", "RIGHT"),
                            ("rationale", "Rationale", 60, "", "LEFT")], 8)

    # ---- trend
    if monthly is not None:
        pdf.add_page()
        _heading(pdf, PACK_SECTIONS["trend"])
        png = monthly_chart_png(monthly, title=f"Incidents per month: {crimes or title}, {area}",
                                period=monthly_period)
        wpx, hpx = _png_size(png)
        w = pdf.w - pdf.l_margin - pdf.r_margin
        pdf.image(io.BytesIO(png), x=pdf.l_margin, w=w, alt_text="Monthly trend chart")
        pdf.ln(2)
        gaps = monthly.loc[~np.isfinite(pd.to_numeric(monthly["incidents"], errors="coerce")
                                        .to_numpy(dtype=float)), "month"].astype(str).tolist()
        if gaps:
            _para(pdf, f"No data published for {wording.missing_months_label(gaps)}: shown as a "
                       "gap, never as zero, and no line is drawn across it.", 9, "I",
                  (90, 90, 90))
        pdf.ln(3)
        _table(pdf, _month_grid(monthly), [("year", "Year", 8, "", "LEFT")]
               + [(m, m, 7, "int", "RIGHT") for m in _MONTH_NAMES], 8)

    # ---- accuracy
    if given["accuracy"]:
        pdf.add_page()
        _heading(pdf, PACK_SECTIONS["accuracy"])
        if isinstance(accuracy, Mapping):
            frame = pd.DataFrame({"measure": [str(k) for k in accuracy],
                                  "value": [_fmt(v) for v in accuracy.values()]})
            _table(pdf, frame, [("measure", "Measure", 40, "", "LEFT"),
                                ("value", "Value", 60, "", "LEFT")], 9)
        else:
            _para(pdf, str(accuracy))

    # ---- notes (always), with the omitted sections' notes
    pdf.add_page()
    _heading(pdf, PACK_SECTIONS["notes"])
    pdf.set_font("DejaVu", "B", 11)
    if method_notes:
        pdf.cell(0, 7, "Method and parameters", new_x="LMARGIN", new_y="NEXT")
        _bullets(pdf, method_notes, 9)
        pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "Data caveats", new_x="LMARGIN", new_y="NEXT")
    _bullets(pdf, DATA_CAVEATS if caveats is None else caveats, 9)
    if not_included:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, "Sections not included", new_x="LMARGIN", new_y="NEXT")
        _bullets(pdf, not_included, 9)
    pdf.ln(2)
    from hotspots.snapshot import attribution_lines

    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "Data sources", new_x="LMARGIN", new_y="NEXT")
    _bullets(pdf, attribution_lines(roads=True, junctions=True), 8)

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pdf.output(str(path))
    except OSError as exc:
        raise InputError(f"{path}: cannot write the PDF ({exc.strerror or exc})") from None
    return {"path": str(path), "bytes": path.stat().st_size, "pages": pdf.page_no(),
            "sections": [k for k, ok in given.items() if ok],
            "omitted": {k: reasons[k] for k in (*missing, *parts_missing)}}


# --------------------------------------------------------------------------------------------
# Building the pack's inputs from the store
# --------------------------------------------------------------------------------------------


@dataclass
class PackInputs:
    """Everything a tasking pack and a report need, computed from the store.

    Attributes
    ----------
    title, area, period, crimes : str
        Words for the cover and the map.
    start, end : str
        Period, ``YYYY-MM``.
    surface : Surface
    areas : geopandas.GeoDataFrame
        Hotspot polygons (:func:`hotspots.models.areas.hotspot_areas`), EPSG:27700, with the
        hotspot table's extra columns (``district``, ``previous``, ``change``, ``change_pct``,
        ``change_note``, ``class``: the emerging hot spot pattern, or the classes given).
    hotspot_table : pandas.DataFrame
        The areas without geometry plus ``lon``/``lat`` of a point inside each.
    junctions, corridors : pandas.DataFrame
        :func:`~hotspots.spatial.corridors.junction_stats` (junctions with incidents only) and
        :func:`~hotspots.spatial.corridors.corridor_bands`.
    monthly : pandas.DataFrame
        ``month``, ``label``, ``incidents`` (NaN where the store has no data), ``has_data``,
        ``selected``.
    geometry : shapely geometry
        The study area, EPSG:27700.
    map_png : bytes
        A4 map.
    method_notes, caveats : list of str
    summary : dict of str to str
    params : dict
        Every parameter and count, JSON-ready.
    disruption : pandas.DataFrame, optional
        Disruption points, given or chosen.
    accuracy : str or mapping, optional
        The back-test statement (computed, or as given); None when the section is left out.
    omitted : dict of str to str
        Why a section (or the hotspot ``classes``) is absent.
    """

    title: str
    area: str
    period: str
    crimes: str
    start: str
    end: str
    surface: Any
    areas: gpd.GeoDataFrame
    hotspot_table: pd.DataFrame
    junctions: pd.DataFrame
    corridors: pd.DataFrame
    monthly: pd.DataFrame
    geometry: BaseGeometry
    map_png: bytes
    method_notes: list[str]
    caveats: list[str]
    summary: dict[str, str]
    params: dict[str, Any]
    marking: str
    created: datetime
    disruption: pd.DataFrame | None = None
    accuracy: str | Mapping[str, Any] | None = None
    omitted: dict[str, str] = field(default_factory=dict)

    def pack_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`write_tasking_pack`."""
        return {"title": self.title, "area": self.area, "period": self.period,
                "crimes": self.crimes, "marking": self.marking, "created": self.created,
                "map_png": self.map_png, "summary": self.summary,
                "hotspots": self.hotspot_table, "junctions": self.junctions,
                "corridors": self.corridors, "disruption": self.disruption,
                "monthly": self.monthly, "monthly_period": (self.start, self.end),
                "accuracy": self.accuracy, "method_notes": self.method_notes,
                "caveats": self.caveats, "omitted": self.omitted}


def disruption_frame(plan: Any) -> pd.DataFrame:
    """Turn a :class:`hotspots.models.disruption.SitePlan` into the pack's site table.

    Parameters
    ----------
    plan : SitePlan
        From :func:`hotspots.models.disruption.choose_sites` (or ``lscp``).

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``name``, ``type`` (junction, services, ...), ``roads`` (text), ``covered``,
        ``covered_share``, ``covered_incident_share``, ``marginal``, ``cumulative_share``,
        ``hotspots`` (hotspot labels in reach), ``rationale``, ``lon``, ``lat``, ``x``, ``y``;
        ``attrs["method"]`` states the method and parameters in one paragraph and
        ``attrs["summary"]`` holds the plan's JSON-ready summary.
    """
    sites = plan.sites
    frame = pd.DataFrame({
        "rank": sites["rank"].astype("int64"),
        "name": sites["name"].astype(str),
        "type": sites["kind"].astype(str),
        "roads": ["; ".join(r) if isinstance(r, (list, tuple)) else str(r)
                  for r in sites["roads"]],
        "covered": sites["covered"],
        "covered_share": sites["covered_share"].astype(float),
        "covered_incident_share": sites["covered_incident_share"].astype(float),
        "marginal": sites["marginal"],
        "cumulative_share": sites["cumulative_share"].astype(float),
        "hotspots": [list(h) if isinstance(h, (list, tuple)) else [] for h in sites["hotspots"]],
        "rationale": sites["rationale"].astype(str),
        "lon": sites["lon"].astype(float), "lat": sites["lat"].astype(float),
        "x": sites["x"].astype(float), "y": sites["y"].astype(float),
    })
    summ = plan.summary
    cov = summ.get("coverage", {})
    optimal = ("proven optimal" if plan.gap == 0 else f"within {plan.gap:.1%} of the best "
               "possible")
    frame.attrs["method"] = (
        f"Disruption points: {len(frame)} sites chosen by {plan.method.upper()} (maximal "
        f"covering location problem, Church & ReVelle 1974) among {cov.get('candidates', '?')} "
        f"candidate SRN junctions and services, maximising the {summ.get('share_basis', '')} "
        f"of the period's mapped incidents {summ.get('reach', '')}; {optimal}. Together they "
        f"cover {summ.get('covered_share', float('nan')):.0%} of it. Reach: "
        f"{cov.get('distance_note', cov.get('distance_method', ''))}. Ranks are by marginal "
        "coverage: each site is counted against the sites ranked above it.")
    frame.attrs["summary"] = json_value({k: v for k, v in plan.to_dict().items()
                                          if k not in ("sites", "existing")})
    return frame


def _check_shown_areas(areas: Any, statement: str, name: str) -> gpd.GeoDataFrame:
    """Validate another method's areas for the pack (one-line errors)."""
    if not isinstance(areas, gpd.GeoDataFrame):
        raise ParameterError(f"areas must be a GeoDataFrame, got {type(areas).__name__}")
    from hotspots.models.areas import COLUMNS

    missing = [c for c in COLUMNS if c not in areas.columns]
    if missing:
        raise ParameterError("areas lack the hotspot-area columns " + ", ".join(missing))
    if areas.crs is None or areas.crs.to_epsg() != 27700:
        raise ParameterError("areas must be in British National Grid (EPSG:27700)")
    if not statement.strip() or not name.strip():
        raise ParameterError("areas need their statement and name (areas_statement, "
                             "areas_name)")
    return areas


def _previous_counts(areas: gpd.GeoDataFrame, grid, x: np.ndarray, y: np.ndarray
                     ) -> np.ndarray:
    """Incidents per hotspot polygon, by the cell they fall in (the rule hotspot_areas uses)."""
    row, col = grid.cell_index(x, y)
    on = row >= 0
    xc = grid.x0 + (col[on] + 0.5) * grid.cell
    yc = grid.y0 + (row[on] + 0.5) * grid.cell
    out = np.zeros(len(areas), dtype=np.int64)
    for i, g in enumerate(areas.geometry):
        # Polygons are unions of whole cells, so a cell centre is never on their edge.
        out[i] = int(shapely.contains_xy(g, xc, yc).sum())
    return out


def _change_note(cur: list[str], prev: list[str], have: set[str]) -> str:
    gaps_cur = [m for m in cur if m not in have]
    gaps_prev = [m for m in prev if m not in have]
    if gaps_cur:
        return f"period has no data for {wording.missing_months_label(gaps_cur)}"
    if len(gaps_prev) == len(prev):
        return f"no data for previous period {wording.period_label(prev[0], prev[-1])}"
    if gaps_prev:
        return f"previous period lacks data for {wording.missing_months_label(gaps_prev)}"
    return ""


#: Parts of a section that can be missing while the section is there.
PACK_PARTS: dict[str, str] = {
    "classes": "Hotspot class (emerging hot spot pattern)",
}


def _one_line(exc: BaseException) -> str:
    """An exception as one line: the message of a HotspotsError, else the type and message."""
    from hotspots.errors import HotspotsError

    text = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, HotspotsError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _share_words(share: float) -> str:
    """A share of the area in words: whole per cent, one decimal under 1 % ("0.4%", never
    "0%" for an area that is there)."""
    return f"{share:.1%}" if 0 < share < 0.0095 else f"{share:.0%}"


def _upto(incidents: pd.DataFrame, end: str) -> pd.DataFrame:
    """Nothing after the pack's last month: the folds end with it, and so does the data."""
    return incidents[(incidents["month"].astype(str) <= end).to_numpy(bool)]


def _pack_evaluation(incidents: pd.DataFrame, *, months_held: Sequence[str], end: str,
                     study_area: BaseGeometry, cell: float, top: float,
                     groups: Sequence[str] | None, types: Sequence[str] | None) -> Any:
    """Every default method back-tested on the months up to ``end`` (3-month windows), at the
    usual coverages and the pack's hotspot share; ``auto`` chooses at 5 % as everywhere."""
    from hotspots.models.evaluate import DEFAULT_COVERAGES, crime_noun, evaluate

    held = sorted(m for m in months_held if m <= end)
    return evaluate(_upto(incidents, end), months=held, study_area=study_area, cell=cell,
                    coverages=tuple(sorted(set(DEFAULT_COVERAGES) | {float(top)})),
                    crimes=crime_noun(groups, types))


def _back_test(incidents: pd.DataFrame, *, months_held: Sequence[str], end: str,
               study_area: BaseGeometry, cell: float, top: float, surface: Any,
               groups: Sequence[str] | None, types: Sequence[str] | None,
               shown_recipe: tuple[Any, str] | None = None, res: Any = None
               ) -> tuple[str | None, str, dict[str, Any]]:
    """Back-test statement for a pack whose period ends in ``end``: folds up to ``end`` only.

    Returns ``(statement, "", info)``, or ``(None, reason, {})`` when no fold is possible.
    The pack's method is quoted when it is among the methods back-tested (a fixed-bandwidth
    quartic KDE at 200, 300, 500, 750 or 1000 m, or the multi-scale KDE), else ``auto`` (each
    month's method chosen from earlier months only). ``shown_recipe`` = ``(recipe, how)`` of a
    Gi*, emerging or cluster map (:func:`hotspots.methods.area_recipe`): each test month's map
    is made that way and scored on the area it marks. ``surface=None`` without
    ``shown_recipe`` (another method's areas, recipe unknown) quotes ``auto``. ``res``:
    :func:`_pack_evaluation` when already run.
    """
    from hotspots.models.evaluate import (
        DEFAULT_TRAIN_MONTHS,
        crime_noun,
        evaluate,
        plan_folds,
        summarise,
    )

    held = sorted(m for m in months_held if m <= end)
    window = DEFAULT_TRAIN_MONTHS
    folds, _ = plan_folds(held, window) if held else ([], [])
    if not folds:
        return None, (f"no back-test fold is available up to "
                      f"{wording.period_label(end, end)}: each "
                      f"test month needs the {window} calendar months before it in the store, "
                      f"and up to then the store holds only "
                      f"{wording.missing_months_label(held) if held else 'no month'}"), {}
    data = _upto(incidents, end)
    if res is None:
        res = _pack_evaluation(incidents, months_held=months_held, end=end,
                               study_area=study_area, cell=cell, top=top, groups=groups,
                               types=types)
    labels = set(res.summary["label"])

    own = "" if surface is None else wording.bandwidth_label(surface.bandwidths
                                                             or surface.bandwidth)
    if shown_recipe is not None:
        from hotspots.methods import MAP_COVERAGE

        recipe, how = shown_recipe
        mine = evaluate(data, months=held, study_area=study_area, cell=cell, methods=[recipe],
                        fallback=recipe.label, coverages=(MAP_COVERAGE,),
                        select_coverage=MAP_COVERAGE, crimes=crime_noun(groups, types))
        label, who = recipe.label, how[:1].upper() + how[1:]
        row = mine.row(label, MAP_COVERAGE)
        coverage = float(row["area_share"])
    else:
        if surface is not None and surface.bandwidth_rule in ("fixed", "multi-scale") \
                and surface.kernel == "quartic" and own in labels:
            label, who = own, own
        else:
            label = "auto"
            who = "Auto (each test month's method chosen from earlier test months only)"
        row = res.row(label, top)
        coverage = float(top)
    reading = summarise(row["hit_rate"], row["area_share"], None,
                        crimes=res.params.get("crimes", "crimes"))
    reading = (f"{who} {reading.removeprefix('this map ')}" if reading.startswith("this map ")
               else f"{who}: {reading}")
    figures = [f"PAI {row['pai']:.1f}" if math.isfinite(row["pai"]) else "",
               f"PEI {row['pei']:.2f}" if math.isfinite(row["pei"]) else ""]
    figures = [f for f in figures if f]
    if figures:
        reading += f" ({', '.join(figures)})"
    pick = str(res.default["label"])
    pick_row = res.row(pick, top)
    tested = list(res.default["periods"])
    context = ["rolling origin", f"{window} training months", "next-month test",
               f"{len(tested)} test month{'s' if len(tested) != 1 else ''} "
               f"{wording.missing_months_label(tested)}"]
    if max(months_held) > end:
        context[-1] += (f" (none after {wording.period_label(end, end)}, so no data later than the "
                        "pack's period is used)")
    spans_gap = [f["test"] for f in res.skipped
                 if str(f.get("reason", "")).startswith("training window spans a gap")]
    gaps = missing_months(held[0], end, held)
    if spans_gap and gaps:
        context.append(f"{wording.missing_months_label(spans_gap)} skipped as their training "
                       "windows reach "
                       f"into the {wording.missing_months_label(gaps)} gap")
    statement = (f"Back-test ({', '.join(context[:3])}, {'; '.join(context[3:])}): {reading}. "
                 f"Auto choice: {pick} (PAI {pick_row['pai']:.1f}).")
    info = {"statement": statement, "method": label, "coverage": coverage,
            "scored_on": "the area the map marks" if shown_recipe is not None
            else "the densest share of the area",
            "hit_rate": row["hit_rate"], "pai": row["pai"], "pei": row["pei"],
            "area_share": row["area_share"], "test_months": tested,
            "train_months": window, "auto_choice": pick, "auto_choice_pai": pick_row["pai"],
            "auto_reason": res.default.get("reason"),
            "candidates": [str(m["label"]) for m in res.methods if m.get("label") != "auto"]}
    return statement, "", json_value(info)


def _hotspot_classes(areas: gpd.GeoDataFrame, incidents: pd.DataFrame, *,
                     months_held: Sequence[str], study_area: BaseGeometry
                     ) -> tuple[list[str], dict[str, Any]]:
    """Emerging hot spot pattern of each hotspot area, from the cells it overlaps.

    :func:`hotspots.models.emerging.emerging_hotspots` on ``incidents`` (every month up to the
    pack's last); each polygon takes the pattern of the emerging cells it overlaps (by area,
    not just a shared edge), weighted by the cells' incidents: the heaviest pattern other than
    "no pattern detected" (ties: more cells, then the order of ``PATTERNS``), else "no pattern
    detected". Returns the classes in the order of ``areas`` and the analysis' parameters.
    """
    from hotspots.models.emerging import PATTERNS, emerging_hotspots

    no_pattern = "no pattern detected"
    cells = emerging_hotspots(incidents, study_area=study_area, months_held=list(months_held))
    geoms = cells.geometry.to_numpy()
    pattern = cells["pattern"].astype(str).to_numpy()
    weight = cells["count"].to_numpy(dtype=float)
    tree = shapely.STRtree(geoms)
    out = []
    for poly in areas.geometry:
        idx = tree.query(poly, predicate="intersects")
        idx = idx[shapely.area(shapely.intersection(geoms[idx], poly)) > 0]
        score: dict[str, list[float]] = {}
        for i in idx:
            if pattern[i] != no_pattern:
                s = score.setdefault(pattern[i], [0.0, 0.0])
                s[0] += weight[i]
                s[1] += 1
        out.append(max(score, key=lambda p: (score[p][0], score[p][1],
                                             -PATTERNS.index(p) if p in PATTERNS else -99))
                   if score else no_pattern)
    return out, dict(cells.attrs.get("params", {}))


def build_pack_inputs(store_dir: str | os.PathLike | None = None, *, start: str, end: str,
                      area: str | None = None, groups: Sequence[str] | None = None,
                      types: Sequence[str] | None = None, cell: float = 100.0,
                      bandwidth: float | str | Sequence[float] = 500.0, kernel: str = "quartic",
                      top: float = 0.05, bandwidth_rule: str = "", method: Any = None,
                      radius: float = 2000.0,
                      marking: str | None = None, created: datetime | None = None,
                      disruption: pd.DataFrame | None = None, disruption_sites: int = 0,
                      accuracy: str | Mapping[str, Any] | bool | None = None,
                      classes: Mapping[int, str] | bool | None = None,
                      areas: gpd.GeoDataFrame | None = None, areas_statement: str = "",
                      areas_name: str = "", areas_legend: str = "Hotspot area",
                      settings: Settings | None = None) -> PackInputs:
    """Compute what a tasking pack holds from the incident store.

    Kernel density and hotspot areas for the period, each area's count in the previous period
    of equal length (only when the store has every one of its months), each area's emerging
    hot spot class, monthly counts over everything the store holds, SRN junction counts and
    corridor bands, a back-test accuracy statement, and the A4 map. Neither the classes nor
    the back-test read any month after ``end``.

    Parameters
    ----------
    store_dir : path-like, optional
        Default ``settings.store_dir``.
    start, end : str
        First and last month, ``YYYY-MM``.
    area : str, optional
        None/"force" for the force area, or a district name.
    groups, types : sequence of str, optional
        Crime groups or police.uk crime types (one of the two).
    cell, bandwidth, kernel, top : optional
        Surface and hotspot parameters (defaults: 100 m cells, fixed 500 m quartic, top 5%);
        several bandwidths give the multi-scale KDE; ``"auto"`` the surface the dashboard's
        auto draws (:func:`hotspots.methods.resolve_auto`, folds up to ``end`` only), stated
        as such and reported under ``params["auto"]``.
    bandwidth_rule : str
        How a bandwidth in metres was chosen, for the method statement (e.g. the dashboard's
        "auto: best back-tested PAI at 5% on earlier months"); default the surface's own rule.
    method : MapMethod or str, optional
        The map method (:class:`hotspots.methods.MapMethod` or its name: "kde", "gistar",
        "emerging", "clusters"); default the density surface. For Gi*, emerging hot spots or
        clusters the pack shows that method's areas (computed from the period's incidents
        unless ``areas`` are given) and its back-test makes each test month's map the same way
        (:func:`hotspots.methods.area_recipe`), scored on the area it marks.
    radius : float
        Junction radius, metres (default 2000).
    marking : str, optional
        Default ``settings.marking``.
    created : datetime, optional
        Creation time stamped on the map and the pack; default now (UTC).
    disruption : pandas.DataFrame, optional
        Disruption points with a ``rationale`` and ``x``/``y``, computed elsewhere; used for
        the map's sites and the pack's disruption section.
    disruption_sites : int
        When ``disruption`` is not given and this is above 0, choose this many sites with
        :mod:`hotspots.models.disruption` (maximal covering of the period's mapped incidents'
        harm within a 10-minute drive; see :func:`disruption_frame`). 0: no disruption section.
    accuracy : str, mapping or bool, optional
        Back-test statement (text, or label -> value pairs) to print instead of the computed
        one; ``False`` leaves the accuracy section out (``omitted`` says so). Default
        (``None``/``True``): :func:`hotspots.models.evaluate.evaluate` on the selection, with
        test months up to ``end`` only (rolling origin, 3 training months, next-month test),
        quoting the pack's own KDE when its bandwidth is among those back-tested (fixed
        quartic 200, 300, 500, 750 or 1000 m) and ``auto`` otherwise, at the pack's hotspot
        share, with ``auto``'s choice over those months. When no fold ends by ``end`` the
        section is omitted saying so.
    classes : mapping of int to str or bool, optional
        Hotspot rank -> class, to print instead of the computed ones; ``False`` leaves the
        class column out (``omitted["classes"]`` says so). Default: the emerging hot spot
        pattern (:func:`hotspots.models.emerging.emerging_hotspots` over every month the
        store holds up to ``end``, gaps dropped) of the cells each area overlaps, weighted by
        the cells' incidents; the most common pattern other than "no pattern detected", else
        "no pattern detected".
    areas : geopandas.GeoDataFrame, optional
        The map's own areas when it shows another method than the density surface: Gi* hot
        spot, emerging hot spot or cluster areas (:func:`hotspots.models.areas.gistar_areas`,
        :func:`~hotspots.models.areas.emerging_areas`,
        :func:`~hotspots.models.areas.cluster_areas`), EPSG:27700, with the hotspot-area
        columns and ``attrs["method"]``. They replace the density hotspot areas on the map (shaded,
        no surface), in the hotspot table, the change on the previous period (not for
        clusters, which are groups of incidents rather than fixed places), the classes and the
        disruption demand. The back-test stays that of the kernel density methods (``auto``)
        and says so, unless ``method`` names the method that made them: then it is that
        method's own.
    areas_statement : str
        With ``areas``: the map legend's statement of method and parameters (first in the
        method notes and on the map).
    areas_name : str
        With ``areas``: what they are, for the title (e.g. "Gi* hot spot areas (90%+
        confidence)").
    areas_legend : str
        With ``areas``: one area's name in the map legend (default "Hotspot area").
    settings : Settings, optional

    An error inside the back-test or the classes (e.g. too few months) does not stop the
    pack: the part is left out and ``omitted`` holds the one-line reason.

    Returns
    -------
    PackInputs

    Raises
    ------
    ParameterError
        Bad months or parameters.
    NoDataError
        No mapped incident matches the selection.
    """
    from hotspots.models.areas import hotspot_areas
    from hotspots.models.kde import kernel_density
    from hotspots.query import available_months, load_incidents
    from hotspots.snapshot import render_map_png
    from hotspots.spatial.boundaries import area_geometry, load_boundary
    from hotspots.spatial.corridors import corridor_bands, junction_stats
    from hotspots.spatial.grid import Grid
    from hotspots.spatial.roads import build_srn_graph

    settings = settings or load_settings()
    store = settings.store_dir if store_dir is None else Path(store_dir)
    start, end = check_month(start, "start"), check_month(end, "end")
    if end < start:
        raise ParameterError(f"end {end} is before start {start}")
    if not groups and not types:
        raise ParameterError("choose crimes with groups=[...] or types=[...]")
    marking = " ".join(str(settings.marking if marking is None else marking).split())
    if not marking:
        raise ParameterError("the protective marking is empty; give one, e.g. OFFICIAL")
    created = created or datetime.now(UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)

    have = available_months(store, settings=settings)
    if not have:
        raise NoDataError(f"{store}: the incident store holds no months")
    first, last = min(have), max(have)
    selection = {"groups": list(groups) if groups and not types else None,
                 "types": list(types) if types else None}
    # The whole span, once: the trend and the junctions' previous period need it.
    everything = load_incidents(store, area=area, settings=settings, **selection)
    months_col = everything["month"].astype(str)
    in_period = ((months_col >= start) & (months_col <= end)).to_numpy(bool)
    period_inc = everything[in_period]
    located = period_inc["has_location"].fillna(False).to_numpy(bool)
    mapped = period_inc[located]
    area_words = "Warwickshire (force area)" if area is None or area.strip().lower() in (
        "force", "all", settings.force) else area.strip()
    crimes_text = wording.crimes_label(selection["groups"], selection["types"])
    period = wording.period_label(start, end)
    cur_months = month_range(start, end)
    missing_now = [m for m in cur_months if m not in set(have)]
    if mapped.empty:
        raise NoDataError(f"no mapped {crimes_text} incidents in {area_words} for {period}"
                          + (" (the store has no data for "
                             f"{wording.missing_months_label(missing_now)})"
                             if missing_now else "") + "; widen the period, area or crimes")

    from hotspots import methods as mm

    map_kind = mm.check_method(mm.MapMethod(method) if isinstance(method, str)
                               else method or mm.MapMethod())
    geom = area_geometry(area, settings)
    grid = Grid.from_geometry(geom, cell)
    auto_info = None
    evaluation = None
    if isinstance(bandwidth, str) and bandwidth.strip().lower() == mm.AUTO:
        # One back-test serves auto's choice and the accuracy section: the folds up to ``end``
        # are self-contained, so this is resolve_auto's choice without a second run.
        try:
            evaluation = _pack_evaluation(everything, months_held=have, end=end,
                                          study_area=geom, cell=cell, top=top,
                                          groups=selection["groups"], types=selection["types"])
        except HotspotsError as exc:
            choice = mm.fallback_choice(str(exc))
        else:
            choice = mm.auto_choice(evaluation, end)
        bandwidth, bandwidth_rule = choice.bandwidth, bandwidth_rule or choice.rule
        auto_info = mm.describe_auto(choice)
    surface = kernel_density(mapped["x"].to_numpy(), mapped["y"].to_numpy(), cell=cell,
                             bandwidth=bandwidth, kernel=kernel, grid=grid)
    if areas is None and map_kind.name != mm.KDE:
        model = mm.model_result(map_kind, period_inc, study_area=geom, months_held=have)
        made = mm.model_areas(map_kind, model, period_inc, start=start, end=end,
                              crimes=crimes_text, study_area=geom, months_held=have)
        areas, areas_statement, areas_name = made.areas, made.statement, made.name
        areas_legend = made.legend
    shown = areas is not None
    own = None
    if shown:
        areas = _check_shown_areas(areas, areas_statement, areas_name)
        if map_kind.name != mm.KDE:
            own = mm.area_recipe(map_kind, areas)
    else:
        areas = hotspot_areas(surface, mapped, top=top, study_area=geom)
    method = dict(areas.attrs.get("method", {}))
    # Clusters are groups of this period's incidents, not fixed places: no previous count.
    clusters = shown and "cluster" in areas.columns

    omitted: dict[str, str] = {}
    class_info: dict[str, Any] | None = None
    class_note = ""

    # Previous period of equal length, compared only when the store holds all of it.
    prev_months = month_range(*previous_period(start, end))
    note = _change_note(cur_months, prev_months, set(have))
    if clusters:
        note = ("clusters are groups of this period's incidents, not fixed places: no "
                "previous count")
    areas = areas.copy()
    if len(areas):
        if note:
            areas["previous"] = pd.array([pd.NA] * len(areas), dtype="Int64")
        else:
            prev = everything[(months_col >= prev_months[0]).to_numpy(bool)
                              & (months_col <= prev_months[-1]).to_numpy(bool)]
            prev = prev[prev["has_location"].fillna(False).to_numpy(bool)]
            areas["previous"] = pd.array(_previous_counts(areas, grid, prev["x"].to_numpy(),
                                                          prev["y"].to_numpy()), dtype="Int64")
        areas["change"] = (areas["incidents"].astype("Int64") - areas["previous"])
        prev_f = areas["previous"].astype("Float64")
        areas["change_pct"] = (100.0 * areas["change"].astype("Float64")
                               / prev_f.where(prev_f > 0)).astype("float64")
        areas["change_note"] = note or ""
        if not note:
            areas.loc[areas["previous"] == 0, "change_note"] = \
                "previous period had no incidents here"
        districts = load_boundary("districts", settings)
        inner = areas.geometry.representative_point()
        areas["district"] = [next((str(n) for n, g in zip(districts["name"],
                                                           districts.geometry, strict=True)
                                   if g.contains(p)), "") for p in inner]
        if isinstance(classes, Mapping):
            areas["class"] = [classes.get(int(r), "") for r in areas["rank"]]
            class_info = {"source": "supplied"}
        elif classes is False:
            omitted["classes"] = "not asked for (classes=False)"
        else:
            try:
                upto = everything[(months_col <= end).to_numpy(bool)]
                found, class_params = _hotspot_classes(areas, upto, months_held=have,
                                                       study_area=geom)
            except Exception as exc:  # noqa: BLE001 - a failed class must not stop the pack
                omitted["classes"] = f"emerging hot spot classes not computed: {_one_line(exc)}"
            else:
                areas["class"] = found
                class_info = {"source": "emerging hot spot analysis",
                              "cell_m": class_params.get("cell_m"),
                              "periods": list(class_params.get("periods") or []),
                              "gaps": list(class_params.get("gaps") or []),
                              "by_class": pd.Series(found).value_counts().to_dict()}
                class_note = (
                    f"Class: {wording.emerging_statement(class_params, crimes=crimes_text)}, "
                    "on every month the store holds up to "
                    f"{wording.period_label(end, end)} (nothing later). "
                    "Each hotspot area takes the pattern of the emerging-analysis cells it "
                    "overlaps, weighted by the cells' incidents over those steps: the most "
                    "common pattern other than \"no pattern detected\", else \"no pattern "
                    "detected\". Patterns follow ArcGIS Pro's Emerging Hot Spot Analysis.")
                warn = [str(w) for w in class_params.get("warnings") or []]
                if warn:
                    class_note += " Warning: " + "; ".join(warn) + "."
    else:
        for col, dtype in (("previous", "Int64"), ("change", "Int64"),
                           ("change_pct", "float64"), ("change_note", "object"),
                           ("district", "object")):
            areas[col] = pd.Series(dtype=dtype)
    areas.attrs["method"] = {**method, "previous_period": (prev_months[0], prev_months[-1]),
                             "change_note": note}

    from hotspots.spatial.crs import to_wgs84

    table = pd.DataFrame(areas.drop(columns=areas.geometry.name))
    if len(areas):
        pts = areas.geometry.representative_point()
        lon, lat = to_wgs84(pts.x.to_numpy(), pts.y.to_numpy())
        table["lon"], table["lat"] = np.round(lon, 6), np.round(lat, 6)
    else:
        table["lon"], table["lat"] = pd.Series(dtype=float), pd.Series(dtype=float)
    table = table.rename(columns={"top_locations": "locations"})
    order = ["rank", "locations", "district", "incidents", "previous", "change", "change_pct",
             "change_note", "share", "area_km2", "pai", "peak_density", "harm", "class", "lon",
             "lat"]
    table = table[[c for c in order if c in table.columns]]
    if class_info is not None:
        table.attrs["class_source"] = ("emerging" if class_info.get("source") != "supplied"
                                       else "supplied")

    # Monthly counts over everything the store holds; months it lacks are NaN, not zero.
    counts = months_col.value_counts()
    span_all = month_range(first, last)
    monthly = pd.DataFrame({
        "month": span_all,
        "label": [wording.period_label(m, m) for m in span_all],
        "incidents": [float(counts.get(m, 0)) if m in set(have) else np.nan for m in span_all],
        "has_data": [m in set(have) for m in span_all],
        "selected": [start <= m <= end for m in span_all],
    })

    graph = build_srn_graph(settings)
    junctions = junction_stats(everything, graph, radius=radius, period=(start, end),
                               months=have)
    junctions = junctions[junctions["incidents"] > 0].reset_index(drop=True)
    corridors = corridor_bands(period_inc, graph, geom)

    method_text = wording.method_statement(
        kernel=surface.kernel, bandwidth=surface.bandwidths or surface.bandwidth,
        bandwidth_rule=bandwidth_rule or surface.bandwidth_rule, cell=surface.grid.cell,
        top=top, start=start,
        end=end, crimes=crimes_text, missing=missing_now)
    title = f"{crimes_text[:1].upper()}{crimes_text[1:]} hotspots"
    if shown:
        method_text = areas_statement.rstrip(". ")
        title = f"{crimes_text[:1].upper()}{crimes_text[1:]}: {areas_name}"
    if disruption is None and disruption_sites:
        try:
            dmod = importlib.import_module("hotspots.models.disruption")
        except ImportError:
            omitted["disruption"] = "the disruption model (hotspots.models.disruption) is not " \
                                    "installed"
        else:
            cov = dmod.build_coverage(period_inc, graph, hotspots=areas, study_area=geom,
                                      period=(start, end), months=have)
            plan = dmod.choose_sites(cov, k=min(int(disruption_sites), len(cov.free)))
            disruption = disruption_frame(plan)
    sites = disruption if disruption is not None and len(disruption) else None
    map_method = method_text
    if sites is not None and disruption.attrs.get("method"):
        map_method += ". " + str(disruption.attrs["method"])
    map_png = render_map_png(None if shown else surface, areas, area_geometry=geom, title=title,
                             period=period, groups=selection["types"] or selection["groups"],
                             method_text=map_method, marking=marking, size="a4",
                             area=area_words, sites=sites, junctions=junctions,
                             created=created, hotspots_label=areas_legend if shown
                             else "Hotspot area", settings=settings)

    n_inc, n_mapped = int(len(period_inc)), int(len(mapped))
    n_in_study = int(method.get("incidents_in_study_area", n_mapped))
    hot_inc = int(areas["incidents"].sum()) if len(areas) else 0
    hot_km2 = float(areas["area_km2"].sum()) if len(areas) else 0.0
    study_km2 = float(method.get("study_area_km2", geom.area / 1e6))
    share = hot_inc / n_in_study if n_in_study else float("nan")
    pai = share / (hot_km2 / study_km2) if hot_km2 and n_in_study else float("nan")
    summary = {
        "Incidents": f"{n_inc:,} ({n_mapped:,} mapped; {n_inc - n_mapped:,} without a "
                     "location, counted but not mapped)",
        "Hotspot areas": (f"{len(areas):,}, covering {hot_km2:,.1f} km² "
                          f"({hot_km2 / study_km2:.1%} of the area) and holding {share:.1%} of "
                          f"mapped incidents (PAI {pai:.1f}, in-sample)")
        if len(areas) else "none selected",
        "Busiest SRN junction": (f"{junctions['name'].iloc[0]}: "
                                 f"{int(junctions['incidents'].iloc[0]):,} incidents within "
                                 f"{radius:,.0f} m") if len(junctions) else "none near",
    }
    if missing_now:
        summary["Missing months"] = ("the store has no data for "
                                     f"{wording.missing_months_label(missing_now)}")

    thr = method.get("threshold_density")
    how = (f"Hotspot areas: the densest {top:.0%} of the study area's {cell:g} m cells "
           f"({method.get('study_cells', 0):,} cells; threshold "
           f"{(thr if thr is not None else float('nan')):.1f} incidents per km²), joined where "
           "cells share an edge and ranked by the mapped incidents they contain."
           if not shown else
           f"{areas_name[:1].upper()}{areas_name[1:]}: {method.get('method', '')}. The "
           "table, map and disruption demand use these areas, not the density surface.")
    method_notes = [
        method_text + ".",
        how + " Share = the "
        "area's incidents / all mapped incidents in the study area. PAI (in-sample) = share of "
        "incidents / share of the study area: it says how concentrated the period's crime "
        "is, not how well it forecasts.",
        f"Change: the same polygons counted in the previous period of equal length "
        f"({wording.period_label(prev_months[0], prev_months[-1])}). Months without published data "
        "are never read as zero: " + (f"not computed here ({note})." if note
                                      else "every month of both periods has data."),
        f"Junctions: incidents within {radius:,.0f} m straight-line of each SRN junction node "
        "(an incident near two junctions counts for both), compared with the previous period "
        "of equal length where the store holds it.",
        "Corridor bands: straight-line distance from each mapped incident to the nearest SRN "
        "road; location quotient = share of incidents / share of the area.",
        f"Counts: {n_inc:,} incidents in the period, {n_mapped:,} mapped; rows without a "
        "location count in totals and trends but are not mapped.",
    ]
    gaps_all = [m for m in span_all if m not in set(have)]
    caveats = list(DATA_CAVEATS)
    if gaps_all:
        caveats.insert(2, "The store has no data for "
                          f"{wording.missing_months_label(gaps_all)}: trends show the "
                          "gap and no comparison bridges it.")

    if disruption is None:
        omitted.setdefault("disruption", "no disruption analysis asked for or supplied")
    elif disruption.attrs.get("method"):
        method_notes.append(str(disruption.attrs["method"]))
    if class_note:
        method_notes.append(class_note)
    accuracy_info: dict[str, Any] | None = None
    if accuracy is False:
        accuracy = None
        omitted["accuracy"] = "not asked for (accuracy=False)"
    elif accuracy is None or accuracy is True:
        accuracy = None
        try:
            accuracy, why, accuracy_info = _back_test(
                everything, months_held=have, end=end, study_area=geom, cell=cell, top=top,
                surface=None if shown else surface, groups=selection["groups"],
                types=selection["types"], shown_recipe=own, res=evaluation)
        except Exception as exc:  # noqa: BLE001 - a failed back-test must not stop the pack
            omitted["accuracy"] = f"back-test not computed: {_one_line(exc)}"
        else:
            if accuracy is None:
                omitted["accuracy"], accuracy_info = why, None
            else:
                made_how = (f"its densest {top:.0%} of the area is" if own is None else
                            f"the area it marks ({own[1]}) is")
                method_notes.append(
                    "Accuracy: rolling-origin back-test (hotspots.models.evaluate) on this "
                    f"area and crime selection, {cell:g} m cells as the map: each test "
                    f"month's map is fitted on the 3 months before it and {made_how} "
                    "compared with the test month's mapped incidents; "
                    "a training window never crosses a month the store lacks. Hit rate = share "
                    "of the test month's incidents inside; PAI = hit rate / share of the area; "
                    "PEI = hits / the most any area of the same size could have held; figures "
                    "are means over the test months. Auto choice = the method with the best "
                    "mean PAI at the requested area (5%) over those months among the "
                    f"{len(accuracy_info['candidates'])} back-tested: "
                    + ", ".join(accuracy_info["candidates"]) + "."
                    + (f" The map shows {areas_name}; " + (
                        "this back-test is of the kernel density methods (the dashboard's "
                        "Evaluation view and the line under its map back-test the shown "
                        "method itself)." if own is None else
                        "the back-test makes each test month's map the same way from its own "
                        "training months.") if shown else ""))
                n_test = len(accuracy_info["test_months"])
                summary["Back-test"] = (
                    f"{accuracy_info['method'].replace('auto', 'Auto')}: "
                    f"{accuracy_info['hit_rate']:.0%} of next month's incidents in "
                    f"{_share_words(accuracy_info['area_share'])} of the area (PAI "
                    f"{accuracy_info['pai']:.1f}, mean of {n_test} test "
                    f"month{'s' if n_test != 1 else ''})"
                    if accuracy_info.get("hit_rate") is not None
                    and accuracy_info.get("pai") is not None else "see the accuracy section")
    elif not accuracy:
        accuracy = None
        omitted["accuracy"] = "an empty back-test statement was supplied"
    else:
        accuracy_info = {"source": "supplied"}
    params = {
        "store": str(store), "area": area_words, "start": start, "end": end,
        "groups": selection["groups"], "types": selection["types"],
        "months_missing_in_period": missing_now, "previous_period": [prev_months[0],
                                                                     prev_months[-1]],
        "change_note": note, "incidents": n_inc, "mapped": n_mapped,
        "without_location": n_inc - n_mapped, "hotspots": int(len(areas)),
        "share_in_hotspots": None if math.isnan(share) else round(share, 4),
        "pai": None if math.isnan(pai) else round(pai, 3), "top": top,
        "surface": surface.params(), "junction_radius_m": float(radius),
        "map_method": areas_name if shown else "kernel density", "auto": auto_info,
        "areas_method": json_value(method) if shown else None,
        "accuracy": accuracy_info, "classes": class_info,
        "marking": marking, "created": created.astimezone(UTC).isoformat(timespec="seconds"),
    }
    return PackInputs(
        title=title, area=area_words, period=period, crimes=crimes_text, start=start, end=end,
        surface=surface, areas=areas, hotspot_table=table, junctions=junctions,
        corridors=corridors, monthly=monthly, geometry=geom, map_png=map_png,
        method_notes=method_notes, caveats=caveats, summary=summary, params=params,
        marking=marking, created=created, disruption=disruption, accuracy=accuracy,
        omitted=omitted)


# --------------------------------------------------------------------------------------------
# The report: every export of one selection, audited
# --------------------------------------------------------------------------------------------


def _sites_gdf(sites: pd.DataFrame) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(sites.copy(), geometry=gpd.points_from_xy(sites["x"], sites["y"]),
                           crs=27700)
    if sites.attrs.get("method"):
        gdf.attrs["method"] = {"method": sites.attrs["method"],
                               **sites.attrs.get("summary", {})}
    return gdf


def write_report(out_dir: str | os.PathLike, *, store_dir: str | os.PathLike | None = None,
                 area: str | None = None, groups: Sequence[str] | None = None,
                 types: Sequence[str] | None = None, start: str, end: str,
                 marking: str | None = None, user: str | None = None,
                 sites: int = 5, audit_path: str | os.PathLike | None = None,
                 method: str = "kde", bandwidth: float | str | Sequence[float] = "auto",
                 top: float = 0.05, correction: str = "fdr_bh", cluster_method: str = "dbscan",
                 settings: Settings | None = None) -> dict[str, Any]:
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
    store_dir : path-like, optional
        Default ``settings.store_dir``.
    area : str, optional
        District name, or None/"force".
    groups, types : sequence of str, optional
        One of the two.
    start, end : str
        ``YYYY-MM``.
    marking : str, optional
        Default ``settings.marking``.
    user : str, optional
        Recorded in the audit line (default ``$USER``).
    sites : int
        Disruption sites to choose (default 5; 0 for none).
    audit_path : path-like, optional
        Audit log (default :func:`hotspots.audit.default_log_path`).
    method : {"kde", "gistar", "emerging", "clusters"}
        The map method (default "kde").
    bandwidth : float, str or sequence of float
        KDE bandwidth: metres, a rule name, ``"auto"`` (default) or several metres for the
        multi-scale KDE.
    top : float
        Share of the area marked as hotspot by the KDE (default 0.05).
    correction : {"fdr_bh", "bonferroni", "none"}
        Multiple-testing correction of Gi* and emerging hot spots (default "fdr_bh").
    cluster_method : {"dbscan", "hdbscan"}
        Clustering of the "clusters" method (default "dbscan").
    settings : Settings, optional

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
    from hotspots.audit import check_log_writable, record_export

    settings = settings or load_settings()
    if isinstance(sites, bool) or not isinstance(sites, (int, np.integer)) or sites < 0:
        raise ParameterError(f"sites must be a whole number >= 0, got {sites!r}")
    out = Path(out_dir)
    log = check_log_writable(audit_path, settings=settings)
    from hotspots.methods import MapMethod

    kind = MapMethod(str(method).strip().lower(), correction=correction,
                     cluster_method=cluster_method)  # checked by build_pack_inputs
    inputs = build_pack_inputs(store_dir, start=start, end=end, area=area, groups=groups,
                               types=types, marking=marking, disruption_sites=int(sites),
                               method=kind, bandwidth=bandwidth, top=top, settings=settings)

    def write(name: str, data: bytes | str) -> None:
        try:
            out.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                (out / name).write_bytes(data)
            else:
                (out / name).write_text(data, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{out / name}: cannot write ({exc.strerror or exc})") from None

    names = ["map.png", "pack.pdf", "hotspots.geojson", "hotspots.gpkg", "sites.csv"]
    write("map.png", inputs.map_png)
    pack = write_tasking_pack(out / "pack.pdf", settings=settings, **inputs.pack_kwargs())
    write("hotspots.geojson", to_geojson(inputs.areas, metadata={
        **inputs.params, "hotspot_method": json_value(inputs.areas.attrs.get("method", {}))}))
    junctions = inputs.junctions
    jgdf = gpd.GeoDataFrame(
        junctions.drop(columns=[c for c in ("monthly",) if c in junctions.columns]),
        geometry=gpd.points_from_xy(junctions["x"], junctions["y"]), crs=27700)
    jgdf.attrs["method"] = {"method": "incidents within radius_m straight-line of the SRN "
                                      "junction node, change against the previous period of "
                                      "equal length", **json_value(dict(junctions.attrs))}
    layers: dict[str, gpd.GeoDataFrame] = {"hotspots": inputs.areas, "junctions": jgdf}
    plan = inputs.disruption
    if plan is not None:
        layers["sites"] = _sites_gdf(plan)
    write_geopackage(layers, out / "hotspots.gpkg")
    if plan is not None:
        write_csv(plan, out / "sites.csv")
        write("sites.geojson", to_geojson(layers["sites"]))
        names.append("sites.geojson")
        sites_what = ("disruption sites (hotspots.models.disruption, maximal covering): rank, "
                      "name, type, roads, coverage, rationale, lon/lat")
    else:
        write_csv(inputs.hotspot_table, out / "sites.csv")
        sites_what = ("hotspot table, not disruption sites ("
                      + inputs.omitted.get("disruption", "no disruption sites") + "): rank, "
                      "locations, incidents, previous period, change, share, PAI, lon/lat")
    files = [{"name": n, "path": str(out / n), "bytes": (out / n).stat().st_size}
             for n in names]
    filters = {"store": inputs.params["store"], "area": inputs.area, "start": start,
               "end": end, "groups": inputs.params["groups"], "types": inputs.params["types"],
               "marking": inputs.marking, "sites": int(sites), "method": kind.name,
               "bandwidth": json_value(inputs.surface.bandwidths or inputs.surface.bandwidth),
               "top": float(top)}
    record = record_export("report", filters, user=user, path=log, settings=settings,
                           files=[f["path"] for f in files])
    return {"files": files, "sites_csv": sites_what, "pages": pack["pages"],
            "sections": pack["sections"], "omitted": pack["omitted"],
            "parameters": inputs.params, "audit_log": str(log), "audit": record}
