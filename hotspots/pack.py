"""The tasking pack: an A4 landscape PDF for a tasking meeting, one page (or more) per section."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hotspots import wording
from hotspots.config import Settings
from hotspots.errors import InputError, ParameterError
from hotspots.jsonvalue import json_value
from hotspots.leaflet import ATTRIBUTION
from hotspots.pack_areas import CLASSES_COMPUTED
from hotspots.pdf import (
    PackPDF,
    draw_table,
    draw_table_with_changes,
    format_cell,
    monthly_chart_png,
    pack_document,
    png_size,
    write_bullets,
    write_heading,
    write_paragraph,
)
from hotspots.snapshot import attribution_lines
from hotspots.streets import read_street_layers

__all__ = ["DATA_CAVEATS", "PACK_PARTS", "PACK_SECTIONS", "disruption_frame", "write_tasking_pack"]

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
    "SRN roads are National Highways HAPMS sections (surveyed, March 2020); junction names "
    "come from National Highways HATRIS; junction positions can sit a few hundred metres "
    "from the carriageway at large interchanges.",
)

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

#: Parts of a section that can be missing while the section is there.
PACK_PARTS: dict[str, str] = {
    "classes": "Hotspot class (emerging hot spot pattern)",
}


def _month_grid(monthly: pd.DataFrame) -> pd.DataFrame:
    """Counts as one row per year and a column per month; months without data are missing."""
    values = pd.to_numeric(monthly["incidents"], errors="coerce")
    rows: dict[str, dict[str, Any]] = {}
    for m, v in zip(monthly["month"].astype(str), values, strict=True):
        rows.setdefault(m[:4], {"year": m[:4]})[wording.MONTH_NAMES[int(m[5:7]) - 1]] = \
            None if pd.isna(v) else int(v)
    frame = pd.DataFrame(list(rows.values()))
    for name in wording.MONTH_NAMES:
        if name not in frame.columns:
            frame[name] = None
    return frame.astype(object).where(frame.notna(), None)


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
                       settings: Settings) -> dict[str, Any]:
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
    settings : Settings

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
    marking, created = _check_pack_args(marking, title, created, settings)
    _check_tables(hotspots=hotspots, junctions=junctions, corridors=corridors,
                  disruption=disruption, monthly=monthly)
    given, reasons, parts_missing = _contents(
        omitted, hotspots=hotspots, map_png=map_png, junctions=junctions, corridors=corridors,
        disruption=disruption, monthly=monthly, accuracy=accuracy)
    not_included = ([f"{PACK_SECTIONS[k]}: {reasons[k]}" for k, ok in given.items() if not ok]
                    + [f"{PACK_PARTS[k]}: {reasons[k]}" for k in parts_missing])

    pdf = pack_document(marking, " · ".join(p for p in (title, area, period) if p), created)
    _cover_page(pdf, marking=marking, title=title, area=area, period=period, crimes=crimes,
                created=created, summary=summary, given=given, not_included=not_included)
    if map_png is not None:
        _map_page(pdf, map_png, area=area, period=period)
    if hotspots is not None:
        _hotspots_page(pdf, hotspots, rows=hotspot_rows, has_class="classes" not in parts_missing,
                       no_class_reason=reasons["classes"])
    if junctions is not None or corridors is not None:
        _junctions_page(pdf, junctions, corridors, rows=junction_rows)
    if disruption is not None:
        _disruption_page(pdf, disruption)
    if monthly is not None:
        _trend_page(pdf, monthly, title=f"Incidents per month: {crimes or title}, {area}",
                    period=monthly_period)
    if given["accuracy"]:
        _accuracy_page(pdf, accuracy)
    _notes_page(pdf, method_notes=method_notes,
                caveats=DATA_CAVEATS if caveats is None else caveats, not_included=not_included,
                streets=map_png is not None and read_street_layers(settings) is not None)

    path = _save_pdf(pdf, Path(path))
    missing = [k for k, ok in given.items() if not ok]
    return {"path": str(path), "bytes": path.stat().st_size, "pages": pdf.page_no(),
            "sections": [k for k, ok in given.items() if ok],
            "omitted": {k: reasons[k] for k in (*missing, *parts_missing)}}


def _check_pack_args(marking: str | None, title: str, created: datetime | None,
                     settings: Settings) -> tuple[str, datetime]:
    """The marking on one line (default the configured one) and the creation time in UTC."""
    marking = " ".join(str(settings.marking if marking is None else marking).split())
    if not marking:
        raise ParameterError("the protective marking is empty; give one, e.g. OFFICIAL")
    if not str(title).strip():
        raise ParameterError("the tasking pack needs a title")
    created = (created or datetime.now(UTC))
    created = (created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(UTC)
    return marking, created


def _contents(omitted: Mapping[str, str] | None, *, hotspots: pd.DataFrame | None,
              map_png: bytes | None, junctions: pd.DataFrame | None,
              corridors: pd.DataFrame | None, disruption: pd.DataFrame | None,
              monthly: pd.DataFrame | None, accuracy: str | Mapping[str, Any] | None
              ) -> tuple[dict[str, bool], dict[str, str], list[str]]:
    """Which sections are given (in order), why each absent one is, and the parts of a given
    section that are missing (``"classes"``: a non-empty hotspot table without a class)."""
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
    has_class = hotspots is not None and "class" in hotspots.columns and bool(
        hotspots["class"].fillna("").astype(str).str.strip().ne("").any())
    parts_missing = ["classes"] if hotspots is not None and len(hotspots) and not has_class \
        else []
    return given, reasons, parts_missing


def _check_tables(**frames: pd.DataFrame | None) -> None:
    """Every table given is a DataFrame, and disruption points say why each site."""
    for name, frame in frames.items():
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise ParameterError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    disruption = frames.get("disruption")
    if disruption is not None and "rationale" not in disruption.columns:
        raise ParameterError("disruption points need a rationale column: say why each site")


def _cover_page(pdf: PackPDF, *, marking: str, title: str, area: str, period: str, crimes: str,
                created: datetime, summary: Mapping[str, str] | None,
                given: Mapping[str, bool], not_included: Sequence[str]) -> None:
    """Title, area, period, crimes, marking, creation time, key figures, what the pack holds
    and what it leaves out."""
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
    write_bullets(pdf, [PACK_SECTIONS[k] for k, ok in given.items() if ok], 9.5)
    if not_included:
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, "Not included", new_x="LMARGIN", new_y="NEXT")
        write_bullets(pdf, not_included, 9.5)


def _map_page(pdf: PackPDF, map_png: bytes, *, area: str, period: str) -> None:
    """The map, fitted to the page and centred."""
    pdf.add_page()
    wpx, hpx = png_size(map_png)
    avail_w = pdf.w - pdf.l_margin - pdf.r_margin
    avail_h = pdf.h - 16 - 15
    w = min(avail_w, avail_h * wpx / hpx)
    pdf.image(io.BytesIO(map_png), x=(pdf.w - w) / 2, y=16, w=w,
              alt_text=f"Hotspot map, {area}, {period}")


def _hotspots_page(pdf: PackPDF, hotspots: pd.DataFrame, *, rows: int, has_class: bool,
                   no_class_reason: str) -> None:
    """The top ``rows`` hotspot areas, with the class column's source or why it is absent."""
    pdf.add_page()
    write_heading(pdf, PACK_SECTIONS["hotspots"])
    hs = hotspots.copy()
    if "locations" not in hs.columns and "top_locations" in hs.columns:
        hs["locations"] = hs["top_locations"]
    n = len(hs)
    if n == 0:
        write_paragraph(pdf, "No hotspot areas were selected for this period and crime "
                             "selection.")
        return
    shown = hs.head(rows)
    named = "name" in shown.columns and shown["name"].astype(str).str.len().gt(0).all()
    what = ("Each patrol area is named by its place and its commonest streets (police.uk map "
            "points)." if named else "Locations are the most frequent police.uk map points in "
            "the area, with counts.")
    write_paragraph(pdf, f"The {len(shown)} of {n:,} hotspot areas with most incidents "
                         f"(all areas are in the GeoJSON/GeoPackage exports). {what}", 9)
    pdf.ln(2)
    where = (("name", "Area (place: streets)", 58, "", "LEFT") if named else
             ("locations", "Locations (police.uk map points, incidents)", 58, "", "LEFT"))
    spec = [("rank", "Rank", 5, "int", "CENTER"),
            where,
            ("district", "District", 15, "", "LEFT"),
            ("incidents", "Incidents", 8, "int", "RIGHT"),
            ("previous", "Previous", 8, "int", "RIGHT"),
            ("change", "Change", 7, "signed", "RIGHT"),
            ("share", "Share", 7, "pct", "RIGHT"),
            ("pai", "PAI", 5, "1dp", "RIGHT"),
            ("area_km2", "km²", 6, "2dp", "RIGHT"),
            ("class", "Class", 12, "", "LEFT")]
    draw_table_with_changes(pdf, shown, spec, note_width=20)
    pdf.ln(1)
    if has_class:
        write_paragraph(pdf, "Class: the emerging hot spot pattern of the area (space-time Gi* "
                             "and Mann-Kendall trend; how it is assigned is in the method "
                             "notes)." if hotspots.attrs.get("class_source") == CLASSES_COMPUTED
                        else "Class: as supplied with the hotspot table.", 8.5, "I",
                        (90, 90, 90))
    else:
        write_paragraph(pdf, f"Class not shown: {no_class_reason}.", 8.5, "I", (90, 90, 90))


def _junctions_page(pdf: PackPDF, junctions: pd.DataFrame | None,
                    corridors: pd.DataFrame | None, *, rows: int) -> None:
    """The busiest ``rows`` SRN junctions, then the corridor bands kept on one page."""
    pdf.add_page()
    write_heading(pdf, PACK_SECTIONS["junctions"])
    if junctions is not None:
        jt = junctions.head(rows)
        radius = junctions.attrs.get("radius_m")
        lead = (f"SRN junctions by incidents within {radius:,.0f} m" if radius
                else "SRN junctions by incidents")
        write_paragraph(pdf, f"{lead} (top {len(jt)} of {len(junctions):,} with any).", 9)
        pdf.ln(2)
        if len(jt):
            spec = [("name", "Junction", 20, "", "LEFT"),
                    ("alias", "Also known as", 18, "", "LEFT"),
                    ("roads", "Roads", 16, "", "LEFT"),
                    ("incidents", "Incidents", 9, "int", "RIGHT"),
                    ("previous", "Previous", 9, "int", "RIGHT"),
                    ("change", "Change", 8, "signed", "RIGHT"),
                    ("change_pct", "Change %", 8, "signed_pct", "RIGHT")]
            draw_table_with_changes(pdf, jt, spec, note_width=24)
        else:
            write_paragraph(pdf, "No incidents of this selection near an SRN junction.")
        pdf.ln(4)
    if corridors is None or not len(corridors):
        return
    # Keep the band table and its note together on one page.
    if pdf.get_y() + 7 + (len(corridors) + 1) * 6.5 + 10 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "Corridor bands: distance from the SRN", new_x="LMARGIN", new_y="NEXT")
    draw_table(pdf, corridors, [("band", "Band", 20, "", "LEFT"),
                                ("incidents", "Incidents", 12, "int", "RIGHT"),
                                ("share", "Share of incidents", 14, "pct", "RIGHT"),
                                ("area_km2", "Area km²", 12, "1dp", "RIGHT"),
                                ("density_km2", "Per km²", 12, "1dp", "RIGHT"),
                                ("lq", "Location quotient", 14, "2dp", "RIGHT")], 8.5)
    pdf.ln(1)
    write_paragraph(pdf, "Location quotient = share of incidents / share of area: above 1, "
                         "more crime than the band's area would suggest.", 8.5, "I",
                    (90, 90, 90))


def _disruption_page(pdf: PackPDF, disruption: pd.DataFrame) -> None:
    """The disruption points with their rationale, under the method statement when given."""
    pdf.add_page()
    write_heading(pdf, PACK_SECTIONS["disruption"])
    d = disruption.copy()
    if "name" not in d.columns:
        for alt in ("site", "location"):
            if alt in d.columns:
                d["name"] = d[alt]
                break
    if d.empty:
        write_paragraph(pdf, "The disruption analysis proposed no site for this selection.")
        return
    lead = d.attrs.get("method")
    if lead:
        write_paragraph(pdf, str(lead), 9)
        pdf.ln(2)
    draw_table(pdf, d, [("rank", "Rank", 5, "int", "CENTER"),
                        ("name", "Site", 18, "", "LEFT"),
                        ("type", "Type", 9, "", "LEFT"),
                        ("score", "Score", 7, "2dp", "RIGHT"),
                        ("covered", "Covered", 8, "int", "RIGHT"),
                        ("cumulative_share", "Cumulative", 9, "pct", "RIGHT"),
                        ("rationale", "Rationale", 60, "", "LEFT")], 8)


def _trend_page(pdf: PackPDF, monthly: pd.DataFrame, *, title: str,
                period: tuple[str, str] | None) -> None:
    """The monthly chart (gaps as gaps, said so under it) and the counts by year and month."""
    pdf.add_page()
    write_heading(pdf, PACK_SECTIONS["trend"])
    png = monthly_chart_png(monthly, title=title, period=period)
    w = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.image(io.BytesIO(png), x=pdf.l_margin, w=w, alt_text="Monthly trend chart")
    pdf.ln(2)
    gaps = monthly.loc[~np.isfinite(pd.to_numeric(monthly["incidents"], errors="coerce")
                                    .to_numpy(dtype=float)), "month"].astype(str).tolist()
    if gaps:
        runs = wording.missing_months_label(gaps)
        write_paragraph(pdf, f"No data published for {runs}: shown as a gap, "
                             "never as zero, and no line is drawn across it.", 9, "I",
                        (90, 90, 90))
    pdf.ln(3)
    draw_table(pdf, _month_grid(monthly), [("year", "Year", 8, "", "LEFT")]
               + [(m, m, 7, "int", "RIGHT") for m in wording.MONTH_NAMES], 8)


def _accuracy_page(pdf: PackPDF, accuracy: str | Mapping[str, Any]) -> None:
    """The back-test statement, or its measures as a two-column table."""
    pdf.add_page()
    write_heading(pdf, PACK_SECTIONS["accuracy"])
    if isinstance(accuracy, Mapping):
        frame = pd.DataFrame({"measure": [str(k) for k in accuracy],
                              "value": [format_cell(v) for v in accuracy.values()]})
        draw_table(pdf, frame, [("measure", "Measure", 40, "", "LEFT"),
                                ("value", "Value", 60, "", "LEFT")], 9)
    else:
        write_paragraph(pdf, str(accuracy))


def _notes_page(pdf: PackPDF, *, method_notes: Sequence[str], caveats: Sequence[str],
                not_included: Sequence[str], streets: bool = False) -> None:
    """Method notes, data caveats, the sections left out and the data sources (always)."""
    pdf.add_page()
    write_heading(pdf, PACK_SECTIONS["notes"])
    pdf.set_font("DejaVu", "B", 11)
    if method_notes:
        pdf.cell(0, 7, "Method and parameters", new_x="LMARGIN", new_y="NEXT")
        write_bullets(pdf, method_notes, 9)
        pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "Data caveats", new_x="LMARGIN", new_y="NEXT")
    write_bullets(pdf, caveats, 9)
    if not_included:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, "Sections not included", new_x="LMARGIN", new_y="NEXT")
        write_bullets(pdf, not_included, 9)
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "Data sources", new_x="LMARGIN", new_y="NEXT")
    # The map page's street basemap (OpenStreetMap, ONS wards); patrol areas are named after
    # OpenStreetMap places.
    write_bullets(pdf, [*attribution_lines(roads=True, junctions=True, streets=streets),
                        f"Place names: {ATTRIBUTION['osm']}"], 8)


def _save_pdf(pdf: PackPDF, path: Path) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pdf.output(str(path))
    except OSError as exc:
        raise InputError(f"{path}: cannot write the PDF ({exc.strerror or exc})") from None
    return path
