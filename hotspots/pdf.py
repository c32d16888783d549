"""PDF drawing for the tasking pack: the page with its marking, headings, paragraphs, bullets and
tables, and the monthly trend chart the pack embeds."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from fpdf import FPDF
from fpdf.fonts import FontFace
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from hotspots import wording
from hotspots.errors import InputError, NoDataError, ParameterError
from hotspots.months import is_month, month_range

__all__ = ["PackPDF", "column_widths", "draw_table", "draw_table_with_changes", "format_cell",
           "monthly_chart_png", "pack_document", "plain", "png_size", "write_bullets",
           "write_heading", "write_paragraph"]


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
    names = wording.MONTH_NAMES
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


#: A code name of the library ("hotspots.models.evaluate"), with its brackets when it is an
#: aside: a reader of the pack has no use for it.
_CODE_NAME = re.compile(r"\s*\((?:see |from |by )?:?(?:func|mod)?:?`?~?hotspots(?:\.\w+)+`?\)"
                        r"|(?::(?:func|mod|data|class|meth):)?`?~?hotspots(?:\.\w+)+(?:\(\))?`?")


def plain(text: Any) -> str:
    """Text for a reader: code names of the library taken out (a bracketed aside goes, a
    name in running text becomes "the tool")."""
    out = _CODE_NAME.sub(lambda m: "" if m.group(0).lstrip().startswith("(") else "the tool",
                         str(text))
    return re.sub(r" {2,}", " ", out)


def _font_dir() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


class PackPDF(FPDF):
    """An A4 landscape page with the protective marking at the top and bottom, the running
    title, the creation time and "Page n of N"."""

    def __init__(self, marking: str, running: str, created: datetime) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.pack_marking, self.pack_running, self.pack_created = marking, running, created

    def header(self) -> None:
        self.set_font("DejaVu", "B", 10)
        self.set_text_color(26, 26, 26)
        self.set_y(6)
        self.cell(0, 5, self.pack_marking, align="C")
        self.set_font("DejaVu", "", 7)
        self.set_text_color(90, 90, 90)
        self.set_xy(self.l_margin, 6)
        self.cell(90, 5, self.pack_running[:80], align="L")
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
        self.cell(90, 5, f"Created {self.pack_created:%Y-%m-%d %H:%M} UTC", align="L")
        self.set_x(self.l_margin)
        self.set_font("DejaVu", "B", 10)
        self.set_text_color(26, 26, 26)
        self.cell(0, 5, self.pack_marking, align="C")
        self.set_x(self.w - self.r_margin - 40)
        self.set_font("DejaVu", "", 8)
        self.cell(40, 5, f"Page {self.page_no()} of {{nb}}", align="R")


def pack_document(marking: str, running: str, created: datetime) -> PackPDF:
    """A new, empty pack PDF with the DejaVu fonts (matplotlib's) as ``"DejaVu"``.

    Raises
    ------
    InputError
        A DejaVu font file is missing.
    """
    pdf = PackPDF(marking, running, created)
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


def write_heading(pdf: FPDF, text: str) -> None:
    """A section heading, 15 pt bold."""
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def write_paragraph(pdf: FPDF, text: str, size: float = 9.5, style: str = "",
                    colour: tuple[int, int, int] = (26, 26, 26)) -> None:
    """A paragraph across the page, wrapped; the text colour is reset after it."""
    pdf.set_font("DejaVu", style, size)
    pdf.set_text_color(*colour)
    pdf.multi_cell(0, size * 0.5, plain(text), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(26, 26, 26)


def write_bullets(pdf: FPDF, items: Sequence[str], size: float = 9.5) -> None:
    """One bullet per item, each wrapped under itself."""
    pdf.set_font("DejaVu", "", size)
    for item in items:
        pdf.set_x(pdf.l_margin)
        pdf.cell(5, size * 0.5, "•")
        pdf.multi_cell(0, size * 0.5, plain(item), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)


def format_cell(v: Any, kind: str = "") -> str:
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


#: Cell padding of the pack's tables, mm.
_PADDING = 1.2


def column_widths(pdf: FPDF, frame: pd.DataFrame,
                  cols: Sequence[tuple[str, str, float, str, str]], size: float,
                  width: float) -> list[float]:
    """Column widths (mm) summing to ``width``: each at least its heading's longest word (bold)
    and, for a right-aligned or centred column, its longest value, so that no heading breaks
    inside a word and no number wraps; the rest shared by the given width shares.

    Raises
    ------
    ParameterError
        The columns' minimum widths do not fit ``width``.
    """
    pad = 2 * _PADDING + 0.6
    need = []
    for c in cols:
        pdf.set_font("DejaVu", "B", size)
        words = str(c[1]).split() or [""]
        least = max(pdf.get_string_width(w) for w in words) + pad
        if c[4] != "LEFT" and len(frame):
            pdf.set_font("DejaVu", "", size)
            least = max(least, max(pdf.get_string_width(format_cell(v, c[3]))
                                   for v in frame[c[0]]) + pad)
        need.append(least)
    if sum(need) > width:
        raise ParameterError(f"the table's columns need {sum(need):.0f} mm, the page has "
                             f"{width:.0f} mm")
    shares = np.array([float(c[2]) for c in cols])
    widths = shares / shares.sum() * width
    # Raise the narrow ones to their minimum, once fixed always fixed, and share the rest of
    # the room among the others by their shares.
    least = np.array(need)
    fixed = np.zeros(len(cols), dtype=bool)
    for _ in range(len(cols)):
        short = ~fixed & (widths < least - 1e-9)
        if not short.any():
            break
        fixed |= short
        widths[fixed] = least[fixed]
        free = ~fixed
        if free.any():
            widths[free] = shares[free] / shares[free].sum() * (width - widths[fixed].sum())
    return [float(w) for w in widths]


def draw_table(pdf: FPDF, frame: pd.DataFrame, spec: Sequence[tuple[str, str, float, str, str]],
               size: float = 8.0) -> None:
    """Draw ``frame`` with columns ``(column, heading, width share, format, align)``; the
    widths come from :func:`column_widths`."""
    cols = [s for s in spec if s[0] in frame.columns]
    if not cols:
        return
    width = pdf.w - pdf.l_margin - pdf.r_margin
    widths = column_widths(pdf, frame, cols, size, width)
    pdf.set_font("DejaVu", "", size)
    heading = FontFace(emphasis="BOLD", fill_color=(232, 232, 228))
    with pdf.table(col_widths=widths, headings_style=heading,
                   line_height=size * 0.55, text_align=tuple(c[4] for c in cols),
                   padding=_PADDING, borders_layout="HORIZONTAL_LINES", align="LEFT",
                   width=width) as table:
        head = table.row()
        for c in cols:
            head.cell(c[1])
        for rec in frame[[c[0] for c in cols]].to_dict("records"):
            row = table.row()
            for c in cols:
                row.cell(plain(format_cell(rec[c[0]], c[3])))


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG, pixels."""
    with Image.open(io.BytesIO(png)) as im:
        return im.size


def draw_table_with_changes(pdf: FPDF, table: pd.DataFrame, spec: list, *,
                            note_width: float) -> None:
    """Draw a table whose rows may carry a ``change_note``: one note shared by every row is
    printed once under the table, differing notes get a column of their own."""
    notes = (table["change_note"].dropna().astype(str) if "change_note" in table
             else pd.Series(dtype=str))
    notes = notes[notes.str.strip() != ""]
    uniform = notes.nunique() == 1 and len(notes) == len(table)
    if len(notes) and not uniform:
        spec = [*spec, ("change_note", "Note", note_width, "", "LEFT")]
    draw_table(pdf, table, spec, 8)
    if uniform:
        pdf.ln(2)
        write_paragraph(pdf, f"Change not computed: {notes.iloc[0]}.", 8.5, "I", (90, 90, 90))

