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
from PIL import Image

from hotspots import wording
from hotspots.config import Settings
from hotspots.errors import InputError, ParameterError
from hotspots.jsonvalue import json_value
from hotspots.leaflet import ATTRIBUTION
from hotspots.pack_areas import CLASSES_COMPUTED
from hotspots.pack_profile import FOUR_PS, ProfileDetails, change_test
from hotspots.pdf import (
    PackPDF,
    draw_table,
    draw_table_with_changes,
    format_cell,
    monthly_chart_png,
    pack_document,
    plain,
    png_size,
    write_bullets,
    write_heading,
    write_paragraph,
)
from hotspots.snapshot import attribution_lines
from hotspots.streets import read_street_layers

__all__ = ["DATA_CAVEATS", "MARKING_BAND_IN", "PACK_PARTS", "PACK_SECTIONS", "PROFILE_SECTIONS",
           "disruption_frame", "map_for_page", "site_attribution", "write_tasking_pack"]

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
    "summary": "Summary of key findings",
    "terms": "Terms of reference",
    "map": "Hotspot map",
    "hotspots": "Ranked patrol areas",
    "change": "Change on the previous period and last year",
    "junctions": "SRN corridors and junctions",
    "disruption": "Suggested disruption points",
    "review": "Tasking review: did last period's tasking work?",
    "recommendations": "Recommendations: Pursue, Prevent, Protect, Prepare",
    "trend": "Monthly trend",
    "accuracy": "Accuracy: how well such maps predicted the next month",
    "notes": "Method notes and data caveats",
    "gaps": "Intelligence and data gaps",
}

#: Sections only a problem profile holds: left out of a pack without them, with no note.
PROFILE_SECTIONS = ("summary", "terms", "change", "review", "recommendations", "gaps")

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


#: Where a disruption site's data come from, by the SRN graph's ``source`` and the site's kind:
#: the shipped layers' and an OSM extract's services are OpenStreetMap's (ODbL: attribute
#: wherever they appear), the HAPMS graph names its services from National Highways data.
def site_attribution(kind: str, graph_source: str, name: str = "",
                     osm_services: Sequence[str] = ()) -> str:
    """The attribution of one disruption site (``kind`` "junction", "services", ...); a
    services area named in ``osm_services`` (the HAPMS graph's OpenStreetMap additions) is
    OpenStreetMap's."""
    if graph_source == "osm" or (kind == "services" and (graph_source != "hapms"
                                                         or name in set(osm_services))):
        return f"{kind[:1].upper()}{kind[1:]} from OpenStreetMap: {ATTRIBUTION['osm']}"
    if kind in ("junction", "slip", "services", "end"):
        return f"SRN {kind}: {ATTRIBUTION['national_highways']}"
    return "Site given by the user"


def disruption_frame(plan: Any, graph_source: str = "", osm_services: Sequence[str] = ()
                     ) -> pd.DataFrame:
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
        ``hotspots`` (hotspot labels in reach), ``rationale``, ``attribution`` (the data
        source of each site: :func:`site_attribution` of its kind and ``graph_source``, the
        SRN graph's ``graph["source"]``), ``lon``, ``lat``, ``x``, ``y``;
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
        "attribution": [site_attribution(str(k), graph_source, str(n), osm_services)
                        for k, n in zip(sites["kind"], sites["name"], strict=True)],
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
                       force: str = "", details: ProfileDetails | None = None,
                       findings: Sequence[str] = (), terms: Sequence[str] = (),
                       changes: Sequence[str] = (), change_png: bytes | None = None,
                       review: Any = None,
                       recommendations: Mapping[str, Sequence[str]] | None = None,
                       recommendations_edited: bool = False,
                       gaps: Sequence[str] = (), sources: Sequence[str] = (),
                       settings: Settings) -> dict[str, Any]:
    """Write the tasking pack: a problem profile for a tasking meeting, A4 landscape PDF.

    Pages: cover (title, force, area, period, crimes, marking and handling note, author,
    owner, version, date, review date, contents); then each section given, a section
    starting on a new page only when the one before leaves too little room: summary of key
    findings, terms of reference, hotspot map, ranked patrol areas, change, SRN corridors and
    junctions, suggested disruption points with their reasons and data sources, the tasking
    review of the previous period, recommendations under the four Ps, monthly trend, accuracy
    (back-test), method notes and data caveats, intelligence and data gaps. A section not
    given is left out with a one-line note saying why; nothing is made up. The protective
    marking is printed once at the top and once at the bottom of every page (the map's own
    marking bands are cut off), with page numbers.

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
        Key figures, label -> text (on the summary page, or the cover without findings).
    hotspots : pandas.DataFrame, optional
        Ranked areas: ``rank``, ``name`` or ``locations`` (or ``top_locations``),
        ``district``, ``incidents``, ``previous``, ``change``, ``change_test``, ``share``,
        ``pai``, ``area_km2``, ``class``, ``change_note``; columns absent are not shown. The
        first ``hotspot_rows`` rows are printed.
    junctions : pandas.DataFrame, optional
        :func:`hotspots.spatial.corridors.junction_stats` output; the first
        ``junction_rows`` rows are printed, each change with whether it is beyond chance.
    corridors : pandas.DataFrame, optional
        :func:`hotspots.spatial.corridors.corridor_bands` output.
    disruption : pandas.DataFrame, optional
        Disruption points: ``rank``, ``name`` (or ``site``/``location``), ``rationale`` and
        any of ``type``, ``covered``, ``cumulative_share``, ``attribution`` (the data source
        of each site, printed under the table); ``attrs["method"]`` is printed above it.
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
        Section (or ``"classes"``) -> why it is not in the pack (default "not supplied").
    hotspot_rows, junction_rows : int
    force : str
        The force (or forces) in words, for the cover.
    details : ProfileDetails, optional
        Author, owner, version, date, review date and handling note for the cover.
    findings, terms, changes, gaps : sequence of str
        Key findings, terms of reference, change statements and intelligence gaps
        (:mod:`hotspots.pack_profile`); each section is there only when given.
    change_png : bytes, optional
        The change map, drawn in the change section.
    review : Review, optional
        :class:`hotspots.review.Review` of the previous period's tasking.
    recommendations : mapping of str to sequence of str, optional
        The four Ps -> recommendations (:func:`hotspots.pack_profile.apply_recommendations`).
    recommendations_edited : bool
        Whether the analyst edited the drafts (said under the heading).
    sources : sequence of str
        Data attributions beyond the standard ones (e.g. OpenStreetMap for services sites).
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
        disruption=disruption, monthly=monthly, accuracy=accuracy, findings=findings,
        terms=terms, changes=changes, review=review, recommendations=recommendations,
        gaps=gaps)
    profile = bool(findings)
    not_included = ([f"{PACK_SECTIONS[k]}: {reasons[k]}" for k, ok in given.items()
                     if not ok and (k not in PROFILE_SECTIONS or k in (omitted or {}))]
                    + [f"{PACK_PARTS[k]}: {reasons[k]}" for k in parts_missing])

    pdf = pack_document(marking, " · ".join(p for p in (title, area, period) if p), created)
    _cover_page(pdf, marking=marking, title=title, force=force, area=area, period=period,
                crimes=crimes, created=created, summary=None if profile else summary,
                given=given, not_included=not_included, details=details)
    if given["summary"]:
        _summary_page(pdf, findings, summary)
    if given["terms"]:
        _section(pdf, "terms", 40)
        write_bullets(pdf, terms, 9.5)
    if map_png is not None:
        _map_page(pdf, map_png, area=area, period=period)
    if hotspots is not None:
        _hotspots_page(pdf, hotspots, rows=hotspot_rows, has_class="classes" not in parts_missing,
                       no_class_reason=reasons["classes"])
    if given["change"]:
        _change_page(pdf, changes, change_png)
    if junctions is not None or corridors is not None:
        _junctions_page(pdf, junctions, corridors, rows=junction_rows)
    if disruption is not None:
        _disruption_page(pdf, disruption)
    if given["review"]:
        _review_page(pdf, review)
    if given["recommendations"]:
        _recommendations_page(pdf, recommendations, edited=recommendations_edited)
    if monthly is not None:
        _trend_page(pdf, monthly, title=f"Incidents per month: {crimes or title}, {area}",
                    period=monthly_period)
    if given["accuracy"]:
        _accuracy_page(pdf, accuracy)
    _notes_page(pdf, method_notes=method_notes,
                caveats=DATA_CAVEATS if caveats is None else caveats, not_included=not_included,
                streets=map_png is not None and read_street_layers(settings) is not None,
                sources=sources)
    if given["gaps"]:
        _section(pdf, "gaps", 30)
        write_bullets(pdf, gaps, 9.5)

    path = _save_pdf(pdf, Path(path))
    missing = [k for k, ok in given.items() if not ok
               and (k not in PROFILE_SECTIONS or k in (omitted or {}))]
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
              monthly: pd.DataFrame | None, accuracy: str | Mapping[str, Any] | None,
              findings: Sequence[str], terms: Sequence[str], changes: Sequence[str],
              review: Any, recommendations: Mapping[str, Sequence[str]] | None,
              gaps: Sequence[str]) -> tuple[dict[str, bool], dict[str, str], list[str]]:
    """Which sections are given (in order), why each absent one is, and the parts of a given
    section that are missing (``"classes"``: a non-empty hotspot table without a class)."""
    reasons = {k: "not supplied" for k in (*PACK_SECTIONS, *PACK_PARTS)}
    reasons.update(omitted or {})
    present = {
        "summary": bool(findings), "terms": bool(terms),
        "map": map_png is not None,
        "hotspots": hotspots is not None,
        "change": bool(changes),
        "junctions": junctions is not None or corridors is not None,
        "disruption": disruption is not None,
        "review": review is not None,
        "recommendations": bool(recommendations),
        "trend": monthly is not None,
        "accuracy": accuracy is not None and bool(accuracy),
        "notes": True,
        "gaps": bool(gaps),
    }
    given = {k: present[k] for k in PACK_SECTIONS}
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


def _section(pdf: PackPDF, key: str, need_mm: float) -> None:
    """Start a section: on the same page when ``need_mm`` of room is left under the last one
    (so that no page is left nearly blank), else on a new page."""
    first = pdf.page_no() == 0 or getattr(pdf, "_pack_fresh", False)
    if first or pdf.get_y() + need_mm > pdf.page_break_trigger:
        pdf.add_page()
    else:
        pdf.ln(5)
    pdf._pack_fresh = False
    write_heading(pdf, PACK_SECTIONS[key])


def _subheading(pdf: PackPDF, text: str, need_mm: float = 20) -> None:
    if pdf.get_y() + need_mm > pdf.page_break_trigger:
        pdf.add_page()
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")


def _cover_page(pdf: PackPDF, *, marking: str, title: str, force: str, area: str, period: str,
                crimes: str, created: datetime, summary: Mapping[str, str] | None,
                given: Mapping[str, bool], not_included: Sequence[str],
                details: ProfileDetails | None) -> None:
    """Title, force, area, period, crimes, the handling note, the document details, what the
    pack holds and what it leaves out. The marking is the page's own, top and bottom."""
    pdf.add_page()
    pdf.ln(8)
    pdf.set_font("DejaVu", "B", 11)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(0, 6, "Problem profile for the tasking and co-ordinating group" if details
             else "Tasking pack", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(26, 26, 26)
    pdf.set_font("DejaVu", "B", 26)
    pdf.multi_cell(0, 12, title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    rows = [("Force", force), ("Area", area), ("Period", period), ("Crimes", crimes)]
    if details is not None:
        rows += details.rows()
    rows.append(("Created", f"{created:%Y-%m-%d %H:%M} UTC"))
    for label, value in rows:
        if value:
            pdf.set_font("DejaVu", "B", 11)
            pdf.cell(30, 6.5, label)
            pdf.set_font("DejaVu", "", 11)
            pdf.multi_cell(0, 6.5, str(value), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(30, 5.5, "Handling")
    pdf.set_font("DejaVu", "", 9.5)
    note = details.handling if details is not None else ProfileDetails().handling
    pdf.multi_cell(0, 5.5, f"Protective marking as at the top and bottom of each page. {note}",
                   align="L", new_x="LMARGIN", new_y="NEXT")
    if summary:
        pdf.ln(4)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, "Key figures", new_x="LMARGIN", new_y="NEXT")
        _figure_rows(pdf, summary)
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, "In this pack", new_x="LMARGIN", new_y="NEXT")
    items = [PACK_SECTIONS[k] for k, ok in given.items() if ok]
    pdf.set_font("DejaVu", "", 9.5)
    pdf.multi_cell(0, 5, " · ".join(items), align="L", new_x="LMARGIN", new_y="NEXT")
    if not_included:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, "Not included", new_x="LMARGIN", new_y="NEXT")
        write_bullets(pdf, not_included, 9)
    pdf._pack_fresh = True  # the cover is a page of its own


def _figure_rows(pdf: PackPDF, figures: Mapping[str, str]) -> None:
    for label, value in figures.items():
        pdf.set_font("DejaVu", "B", 9.5)
        pdf.cell(55, 5.5, str(label))
        pdf.set_font("DejaVu", "", 9.5)
        pdf.multi_cell(0, 5.5, plain(value), align="L", new_x="LMARGIN", new_y="NEXT")


def _summary_page(pdf: PackPDF, findings: Sequence[str],
                  summary: Mapping[str, str] | None) -> None:
    """The key findings, then the key figures they rest on."""
    _section(pdf, "summary", 60)
    write_bullets(pdf, findings, 10)
    if summary:
        pdf.ln(2)
        _subheading(pdf, "Key figures")
        _figure_rows(pdf, summary)


def _map_page(pdf: PackPDF, map_png: bytes, *, area: str, period: str) -> None:
    """The map on a page of its own, fitted and centred; its own marking bands are cut off
    (the page carries the marking once at the top and once at the bottom)."""
    pdf.add_page()
    image, (wpx, hpx) = map_for_page(map_png)
    avail_w = pdf.w - pdf.l_margin - pdf.r_margin
    avail_h = pdf.h - 16 - 15
    w = min(avail_w, avail_h * wpx / hpx)
    pdf.image(io.BytesIO(image), x=(pdf.w - w) / 2, y=16, w=w,
              alt_text=f"Hotspot map, {area}, {period}")
    pdf._pack_fresh = True


def map_for_page(map_png: bytes) -> tuple[bytes, tuple[int, int]]:
    """The map as a JPEG without its protective marking bands (top and bottom
    :data:`MARKING_BAND_IN` inches), and its size in pixels.

    A PNG without a known pixel density (not from :func:`hotspots.snapshot.render_map_png`)
    is kept whole.
    """
    with Image.open(io.BytesIO(map_png)) as im:
        rgb = im.convert("RGB")
        dpi = im.info.get("dpi", (0, 0))[0]
    cut = int(round(MARKING_BAND_IN * float(dpi))) if dpi else 0
    if cut and rgb.height > 4 * cut:
        rgb = rgb.crop((0, cut, rgb.width, rgb.height - cut))
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=88, optimize=False)
    return buf.getvalue(), rgb.size


#: Height of the map PNG's protective marking band at its top and at its bottom, inches
#: (the snapshot's outer margin and half its marking box).
MARKING_BAND_IN = 0.42


def _hotspots_page(pdf: PackPDF, hotspots: pd.DataFrame, *, rows: int, has_class: bool,
                   no_class_reason: str) -> None:
    """The top ``rows`` areas, with the class column's source or why it is absent."""
    _section(pdf, "hotspots", 60)
    hs = hotspots.copy()
    if "locations" not in hs.columns and "top_locations" in hs.columns:
        hs["locations"] = hs["top_locations"]
    n = len(hs)
    if n == 0:
        write_paragraph(pdf, "No hotspot areas were selected for this period and crime "
                             "selection.")
        return
    shown = hs.head(rows)
    if "change_test" not in shown.columns and {"incidents", "previous"} <= set(shown.columns):
        shown = shown.assign(change_test=[_test_words(a, b) for a, b in
                                          zip(shown["incidents"], shown["previous"],
                                              strict=True)])
    named = "name" in shown.columns and shown["name"].astype(str).str.len().gt(0).all()
    what = ("Each patrol area is named by its place and its commonest streets (police.uk map "
            "points)." if named else "Locations are the most frequent police.uk map points in "
            "the area, with counts.")
    write_paragraph(pdf, f"The {len(shown)} of {n:,} areas with most incidents, ranked (all "
                         f"areas are in the GeoJSON/GeoPackage exports). {what} Previous: the "
                         "same area in the previous period of equal length; against chance: "
                         "whether the change is larger than chance alone gives for those "
                         "counts.", 9)
    pdf.ln(2)
    where = (("name", "Area (place: streets)", 58, "", "LEFT") if named else
             ("locations", "Map points (incidents at each)", 58, "", "LEFT"))
    single_district = "district" in shown and shown["district"].astype(str).nunique() <= 1
    spec = [("rank", "Rank", 4, "int", "CENTER"),
            where,
            *([] if single_district else [("district", "District", 15, "", "LEFT")]),
            ("incidents", "Incidents", 8, "int", "RIGHT"),
            ("previous", "Previous", 8, "int", "RIGHT"),
            ("change", "Change", 7, "signed", "RIGHT"),
            ("change_test", "Against chance", 12, "", "LEFT"),
            ("share", "Share", 7, "pct", "RIGHT"),
            ("pai", "PAI", 5, "1dp", "RIGHT"),
            ("area_km2", "km²", 6, "2dp", "RIGHT"),
            ("class", "Class (over time)", 14, "", "LEFT")]
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


def _test_words(now: Any, before: Any) -> str:
    """Whether a count's change is beyond chance, "" when the earlier count is unknown."""
    if before is None or before is pd.NA or pd.isna(before) or pd.isna(now):
        return ""
    return change_test(int(now), int(before))[1]


def _change_page(pdf: PackPDF, changes: Sequence[str], change_png: bytes | None) -> None:
    """The change statements, and the change map when drawn."""
    _section(pdf, "change", 40 if change_png is None else 120)
    write_bullets(pdf, changes, 9.5)
    if change_png is not None:
        wpx, hpx = png_size(change_png)
        avail_h = pdf.page_break_trigger - pdf.get_y() - 2
        w = min(pdf.w - pdf.l_margin - pdf.r_margin, avail_h * wpx / hpx)
        if w < 120:
            pdf.add_page()
            avail_h = pdf.page_break_trigger - pdf.get_y() - 2
            w = min(pdf.w - pdf.l_margin - pdf.r_margin, avail_h * wpx / hpx)
        pdf.image(io.BytesIO(change_png), x=(pdf.w - w) / 2, w=w,
                  alt_text="Change map: density against the previous period")


def _junctions_page(pdf: PackPDF, junctions: pd.DataFrame | None,
                    corridors: pd.DataFrame | None, *, rows: int) -> None:
    """The busiest ``rows`` SRN junctions, then the corridor bands kept on one page."""
    _section(pdf, "junctions", 60)
    if junctions is not None:
        jt = junctions.head(rows)
        radius = junctions.attrs.get("radius_m")
        lead = (f"SRN junctions by incidents within {radius:,.0f} m" if radius
                else "SRN junctions by incidents")
        write_paragraph(pdf, f"{lead} (top {len(jt)} of {len(junctions):,} with any). Changes "
                             "are counts: a percentage of a few incidents misleads; against "
                             "chance says whether the change is larger than chance gives.", 9)
        pdf.ln(2)
        if len(jt):
            if "change_test" not in jt.columns and "previous" in jt.columns:
                jt = jt.assign(change_test=[_test_words(a, b) for a, b in
                                            zip(jt["incidents"], jt["previous"], strict=True)])
            spec = [("name", "Junction", 20, "", "LEFT"),
                    ("alias", "Also known as", 18, "", "LEFT"),
                    ("roads", "Roads", 16, "", "LEFT"),
                    ("incidents", "Incidents", 9, "int", "RIGHT"),
                    ("previous", "Previous", 9, "int", "RIGHT"),
                    ("change", "Change", 8, "signed", "RIGHT"),
                    ("change_test", "Against chance", 13, "", "LEFT")]
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
    """The disruption points with their reasons, under the method statement when given, and
    the data source of the sites under the table."""
    _section(pdf, "disruption", 60)
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
                        ("covered", "Covered", 8, "int", "RIGHT"),
                        ("cumulative_share", "Together", 9, "pct", "RIGHT"),
                        ("rationale", "Why this site", 60, "", "LEFT")], 8)
    if "attribution" in d.columns:
        seen = list(dict.fromkeys(str(a) for a in d["attribution"] if str(a).strip()))
        if seen:
            pdf.ln(1)
            write_paragraph(pdf, "Sites: " + " ".join(seen), 8, "I", (90, 90, 90))


def _review_page(pdf: PackPDF, review: Any) -> None:
    """The tasking review: the method, one row per tasked area with its counts, and the
    caveats."""
    _section(pdf, "review", 70)
    table = review.table
    write_paragraph(pdf, review.method_words(), 9)
    pdf.ln(1)
    c0, c1 = int(table["c_before"].iloc[0]), int(table["c_after"].iloc[0])
    write_paragraph(pdf, f"Comparison area (the rest of the study area): {c0:,} before, "
                         f"{c1:,} after.", 9, "B")
    pdf.ln(1)
    t = table.assign(area=[("All tasked areas together" if int(r) == 0 else f"{int(r)}. {n}")
                           for r, n in zip(table["rank"], table["name"], strict=True)],
                     wdq_text=["–" if not np.isfinite(w) else f"{w:+.2f}"
                               for w in table["wdq"].astype(float)],
                     read=[f"{v[:1].upper()}{v[1:]}; {c}." for v, c in
                           zip(table["verdict"], table["chance"], strict=True)])
    draw_table(pdf, t, [("area", "Tasked area", 30, "", "LEFT"),
                        ("r_before", "Before", 6, "int", "RIGHT"),
                        ("r_after", "After", 6, "int", "RIGHT"),
                        ("d_before", "Buffer before", 7, "int", "RIGHT"),
                        ("d_after", "Buffer after", 7, "int", "RIGHT"),
                        ("wdq_text", "WDQ", 6, "", "RIGHT"),
                        ("read", "Reading", 58, "", "LEFT")], 8)
    pdf.ln(1)
    write_paragraph(pdf, review.note, 8.5, "I", (90, 90, 90))


def _recommendations_page(pdf: PackPDF, recommendations: Mapping[str, Sequence[str]], *,
                          edited: bool) -> None:
    """The recommendations under the four Ps."""
    _section(pdf, "recommendations", 60)
    write_paragraph(pdf, ("Edited by the analyst from drafts made from the findings."
                          if edited else "Drafted from the findings; for the analyst and the "
                          "meeting to confirm, change or strike out."), 9, "I", (90, 90, 90))
    pdf.ln(1)
    for p, what in FOUR_PS.items():
        items = list(recommendations.get(p, []))
        _subheading(pdf, f"{p}: {what}", 16)
        write_bullets(pdf, items or ["None recorded."], 9.5)


def _trend_page(pdf: PackPDF, monthly: pd.DataFrame, *, title: str,
                period: tuple[str, str] | None) -> None:
    """The monthly chart (gaps as gaps, said so under it) and the counts by year and month."""
    _section(pdf, "trend", 120)
    png = monthly_chart_png(monthly, title=title, period=period, dpi=150)
    w = pdf.w - pdf.l_margin - pdf.r_margin
    avail_h = pdf.page_break_trigger - pdf.get_y() - 40
    wpx, hpx = png_size(png)
    w = min(w, avail_h * wpx / hpx)
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
    _section(pdf, "accuracy", 30)
    if isinstance(accuracy, Mapping):
        frame = pd.DataFrame({"measure": [str(k) for k in accuracy],
                              "value": [format_cell(v) for v in accuracy.values()]})
        draw_table(pdf, frame, [("measure", "Measure", 40, "", "LEFT"),
                                ("value", "Value", 60, "", "LEFT")], 9)
    else:
        write_paragraph(pdf, str(accuracy))


def _notes_page(pdf: PackPDF, *, method_notes: Sequence[str], caveats: Sequence[str],
                not_included: Sequence[str], streets: bool = False,
                sources: Sequence[str] = ()) -> None:
    """Method notes, data caveats, the sections left out and the data sources (always)."""
    _section(pdf, "notes", 50)
    if method_notes:
        _subheading(pdf, "Method and parameters")
        write_bullets(pdf, method_notes, 9)
        pdf.ln(2)
    _subheading(pdf, "Data caveats")
    write_bullets(pdf, caveats, 9)
    if not_included:
        pdf.ln(2)
        _subheading(pdf, "Sections not included")
        write_bullets(pdf, not_included, 9)
    pdf.ln(2)
    _subheading(pdf, "Data sources")
    # The map page's street basemap (OpenStreetMap, ONS wards); patrol areas are named after
    # OpenStreetMap places.
    write_bullets(pdf, list(dict.fromkeys(
        [*attribution_lines(roads=True, junctions=True, streets=streets),
         f"Place names: {ATTRIBUTION['osm']}", *sources])), 8)


def _save_pdf(pdf: PackPDF, path: Path) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pdf.output(str(path))
    except OSError as exc:
        raise InputError(f"{path}: cannot write the PDF ({exc.strerror or exc})") from None
    return path
