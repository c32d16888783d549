"""CSV that spreadsheets cannot run as formulas (OWASP CSV injection guidance)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from hotspots.errors import InputError, ParameterError
from hotspots.jsonvalue import json_value

__all__ = ["safe_csv", "write_csv"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection),
#: plus the full-width forms some spreadsheet locales also accept.
_FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _invisible(ch: str) -> bool:
    """Characters a spreadsheet may skip before reading a formula: any Unicode space (NBSP,
    U+3000, U+2028, U+0085, ...) and format characters (U+FEFF, U+200B, ...)."""
    return ch.isspace() or unicodedata.category(ch) in ("Cf", "Zs", "Zl", "Zp")


def _neutralise(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would run as a formula (OWASP)."""
    if not text:
        return text
    first = next((ch for ch in text if not _invisible(ch)), text[0])
    risky = (first in _FORMULA_START or ord(text[0]) < 0x20 or ord(text[0]) == 0x7F
             or ord(first) < 0x20 or ord(first) == 0x7F)
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


def safe_csv(frame: pd.DataFrame, marking: str | None = None) -> str:
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
    marking : str, optional
        Protective marking, written as a first row of one cell, ``# OFFICIAL-SENSITIVE``
        (readers skip it with ``comment="#"`` or ``skiprows=1``; a spreadsheet shows it in A1).

    Returns
    -------
    str
        CSV text, ``\\r\\n`` line ends, a header row first.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"safe_csv needs a DataFrame, got {type(frame).__name__}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if marking:
        w.writerow([f"# {' '.join(str(marking).split())}"])
    w.writerow([_csv_cell(str(c)) for c in frame.columns])
    cols = [frame.iloc[:, i].tolist() for i in range(frame.shape[1])]
    for row in zip(*cols, strict=True):
        w.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, marking: str | None = None
              ) -> Path:
    """Write :func:`safe_csv` text (with the ``marking`` row first) as UTF-8 with a
    byte-order mark (so Excel reads ² and –)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(safe_csv(frame, marking), encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the CSV file ({exc.strerror or exc})") from None
    return path
