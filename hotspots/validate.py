"""Column mapping and row validation: the incident fields of a file, checked and made canonical.

A reader (:mod:`hotspots.readers`) gives the file's own columns as text; :func:`normalise` maps
them (:class:`ColumnMapping`), parses dates, numbers and coordinates, rejects the rows that fail
with a stable reason (:data:`REASONS`), and projects the rest to the canonical incident frame.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import ParameterError
from hotspots.forces import INFO as FORCE_INFO
from hotspots.forces import NO_AREA_FORCES, lookup_slug
from hotspots.spatial.crs import to_bng, to_wgs84

if TYPE_CHECKING:
    from hotspots.readers import Table

# Rejection reasons: short, stable strings that scripts and the rejects file rely on.
R_TYPE = "missing crime type"
R_DATE = "unparseable date"
R_COORDS = "unparseable coordinates"
R_RANGE = "coordinates out of range"
R_GEOMETRY = "not a point geometry"
R_OUTSIDE = "coordinates outside force area"
R_FIELDS = "wrong number of fields"
R_UNKNOWN_FORCE = "unknown force"
R_NO_AREA = "force has no area in England and Wales"
#: Every reason a row can be rejected for. Index + 1 is the internal reason code.
REASONS = (R_TYPE, R_DATE, R_COORDS, R_RANGE, R_GEOMETRY, R_OUTSIDE, R_FIELDS,
           R_UNKNOWN_FORCE, R_NO_AREA)
_CODE = {r: i + 1 for i, r in enumerate(REASONS)}

REJECT_COLUMNS = ("file", "line", "reason", "row")

# British National Grid's defined extent; anything beyond it is not in Great Britain and the
# projection is meaningless there (this also catches the 0,0 "null island" placeholder).
_BNG_X = (0.0, 700_000.0)
_BNG_Y = (0.0, 1_300_000.0)
_MONTH_RE = r"\d{4}-(0[1-9]|1[0-2])"
#: police.uk file names: ``2025-01-essex-street.csv`` (also gzipped), the slug in the middle.
_POLICE_UK_FILE = re.compile(r"\d{4}-\d{2}-(?P<slug>[a-z0-9-]+?)-street\.csv(\.gz)?$")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def row_force(name: str) -> str:
    """The slug of a force as a row names it: the registry's (BTP is ``btp``), else
    :func:`force_slug`."""
    return lookup_slug(name) or force_slug(name)


def file_force(name: str) -> str | None:
    """The force a police.uk file name names (``2025-01-essex-street.csv`` -> ``essex``), if
    the slug is a known force; None otherwise."""
    m = _POLICE_UK_FILE.search(re.split(r"[\\/!]", str(name))[-1])
    return lookup_slug(m.group("slug")) if m else None


@dataclass(frozen=True)
class ForceAreas:
    """The default ingest check: each row against its own force's area plus ``buffer_m``.

    A row's force is its force column ("Falls within" for police.uk), else the force in the
    police.uk file name, else the mapping's ``default_force`` or ``settings.force``. Rows of
    a force without an area in England and Wales (British Transport Police, PSNI) are
    rejected as :data:`R_NO_AREA`, of a force not in the registry as :data:`R_UNKNOWN_FORCE`.
    """

    settings: Settings
    buffer_m: float

    def area(self, slug: str) -> BaseGeometry | None:
        """The prepared, buffered area of a force, or None when it has none."""
        if slug not in FORCE_INFO:
            return None
        key = (str(self.settings.data_dir), slug, float(self.buffer_m))
        if key not in _FORCE_AREAS:
            from hotspots.spatial.boundaries import force_area

            geom = force_area(slug, self.settings)
            # A copy, so preparing it leaves the cached boundary untouched.
            geom = geom.buffer(self.buffer_m) if self.buffer_m else shapely.from_wkb(
                shapely.to_wkb(geom))
            shapely.prepare(geom)
            _FORCE_AREAS[key] = geom
        return _FORCE_AREAS[key]


_FORCE_AREAS: dict[tuple[str, str, float], BaseGeometry] = {}


def force_slug(name: str) -> str:
    """Return the police.uk-style slug of a force name.

    Examples: "Essex Police" -> "essex", "West Mercia Police" -> "west-mercia",
    "Avon and Somerset Constabulary" -> "avon-and-somerset", "Metropolitan Police Service" ->
    "metropolitan". A slug is returned unchanged.
    """
    s = str(name).strip().lower().replace("&", "and")
    s = re.sub(r"^police service of\s+", "", s)
    s = re.sub(r"\s+(police service|police|constabulary)$", "", s)
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


@dataclass(frozen=True)
class ColumnMapping:
    """Which columns of a non-police.uk file hold the incident fields.

    Parameters
    ----------
    category : str
        Crime type column (matched against ``settings.crime_groups`` and ``settings.harm``).
    lon, lat : str, optional
        WGS84 longitude and latitude columns.
    easting, northing : str, optional
        British National Grid columns, metres. Give either lon/lat or easting/northing for a
        CSV; GeoJSON, GeoPackage and GeoParquet take the location from the geometry instead.
    date, datetime, month : str, optional
        Exactly one: a calendar date (precision "day"), a date and time (precision "minute") or
        a month (precision "month", first day of the month).
    date_format : str, optional
        ``strftime`` format of that column, e.g. ``"%d/%m/%Y %H:%M"``. Default: ISO 8601
        (``YYYY-MM`` for a month column).
    id : str, optional
        Incident reference. Rows without one get a stable content hash.
    location, soc_flag, ocg_ref, county_line, force, reported_by, lsoa_code, lsoa_name, outcome
        : str, optional
        Further columns. ``soc_flag``/``county_line`` accept true/false, yes/no, y/n, 1/0;
        ``force`` holds force names or slugs.
    default_force : str, optional
        Force for rows without a force column or value (default: ``settings.force``).
    """

    category: str
    lon: str | None = None
    lat: str | None = None
    easting: str | None = None
    northing: str | None = None
    date: str | None = None
    datetime: str | None = None
    month: str | None = None
    date_format: str | None = None
    id: str | None = None
    location: str | None = None
    soc_flag: str | None = None
    ocg_ref: str | None = None
    county_line: str | None = None
    force: str | None = None
    default_force: str | None = None
    reported_by: str | None = None
    lsoa_code: str | None = None
    lsoa_name: str | None = None
    outcome: str | None = None

    def __post_init__(self) -> None:
        dates = [k for k in ("date", "datetime", "month") if getattr(self, k)]
        if len(dates) != 1:
            raise ParameterError("ColumnMapping needs exactly one of date, datetime or month "
                                 f"(got {', '.join(dates) or 'none'})")
        if (self.lon is None) != (self.lat is None):
            raise ParameterError("ColumnMapping needs both lon and lat, or neither")
        if (self.easting is None) != (self.northing is None):
            raise ParameterError("ColumnMapping needs both easting and northing, or neither")
        if self.lon and self.easting:
            raise ParameterError("ColumnMapping takes lon/lat or easting/northing, not both")
        if self.default_force is not None and not force_slug(self.default_force):
            raise ParameterError(f"ColumnMapping default_force {self.default_force!r} is not a "
                                 "force name")

    @property
    def date_kind(self) -> str:
        """``"date"``, ``"datetime"`` or ``"month"``: which date column is set."""
        return next(k for k in ("date", "datetime", "month") if getattr(self, k))

    @property
    def date_column(self) -> str:
        """Name of the date column."""
        return getattr(self, self.date_kind)

    def source_columns(self) -> dict[str, str]:
        """Return field -> column name for every column the mapping reads."""
        skip = {"date_format", "default_force"}
        return {k: v for k, v in asdict(self).items() if v and k not in skip}


#: The mapping police.uk street-level files are read with (detected by their header).
POLICE_UK_MAPPING = ColumnMapping(
    category="Crime type", lon="Longitude", lat="Latitude", month="Month", id="Crime ID",
    location="Location", force="Falls within", reported_by="Reported by", lsoa_code="LSOA code",
    lsoa_name="LSOA name", outcome="Last outcome category")


def row_text(values: Iterable) -> str:
    """Return a row's values as one CSV line, as the rejects file shows it."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(["" if v is None else v for v in values])
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Validation and conversion to the canonical frame


def _key(t: Table, name: str | None, rows: np.ndarray | None = None) -> pd.Series:
    """Stripped column with "" for empty (all "" when the mapping has no such column)."""
    index = t.frame.index if rows is None else t.frame.index[rows]
    if name is None:
        return pd.Series("", index=index, dtype="string")
    s = t.frame[name] if rows is None else t.frame[name][rows]
    return s.str.strip().fillna("")


def _per_unique(s: pd.Series, fn) -> np.ndarray:
    """Apply ``fn`` to the distinct values of ``s`` only: months, types and forces repeat a lot."""
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    return np.asarray(fn(pd.Index(uniques).astype(object)))[codes]


def _parse_dates(raw: pd.Series, mp: ColumnMapping) -> tuple[np.ndarray, np.ndarray]:
    """Return (occurred as datetime64[ns], month as object array of YYYY-MM or None)."""
    kind, fmt = mp.date_kind, mp.date_format
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    u = pd.Index(uniques).astype(object)
    if kind == "month" and fmt is None:
        ok = pd.Series(u, dtype=object).str.fullmatch(_MONTH_RE).fillna(False).to_numpy(bool)
        out = pd.to_datetime(pd.Index(np.where(ok, u, None)), format="%Y-%m", errors="coerce")
    else:
        out = _to_datetime(u, fmt or "ISO8601")
        if kind in ("date", "month"):
            out = out.normalize()
        if kind == "month":
            out = out.to_period("M").to_timestamp()
    occ_u = np.asarray(out, dtype="datetime64[ns]")
    month_u = np.array([None if np.isnat(v) else str(v)[:7] for v in occ_u], dtype=object)
    return occ_u[codes], month_u[codes]


def _to_datetime(values: pd.Index, fmt: str) -> pd.DatetimeIndex:
    try:
        out = pd.to_datetime(values, format=fmt, errors="coerce")
    except (ValueError, TypeError):
        # Mixed UTC offsets cannot share one tz; bring them to UTC first.
        out = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    if getattr(out, "tz", None) is not None:
        out = out.tz_convert("Europe/London").tz_localize(None)
    return pd.DatetimeIndex(out)


def _arrow(s: pd.Series) -> pa.Array:
    arr = pa.array(s, from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _parse_number(s: pd.Series) -> np.ndarray:
    """Parse stripped text as float; "" and non-numbers give NaN."""
    arr = _arrow(s)
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    try:
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Some value is not a number: let pandas coerce those to NaN one by one.
        return pd.to_numeric(s.mask(s == ""), errors="coerce").to_numpy(dtype=float,
                                                                        na_value=np.nan)


def _bool_column(s: pd.Series) -> pd.Series:
    def conv(u: pd.Index):
        low = [str(v).lower() for v in u]
        return np.array([True if v in _TRUE else False if v in _FALSE else None for v in low],
                        dtype=object)

    return pd.Series(_per_unique(s, conv), index=s.index, dtype="boolean")


def _content_ids(parts: list[pd.Series], file_idx: np.ndarray) -> np.ndarray:
    """Stable id for rows without one: sha1 of the row's content and its occurrence index.

    police.uk ASB rows carry no Crime ID and identical rows are real separate reports (same
    snap point, same month), so the n-th identical row of a file hashes with n: both are kept,
    and the same file read again - or an overlapping download - yields the same ids.
    """
    key = pc.binary_join_element_wise(*[_arrow(p).cast(pa.large_string()) for p in parts],
                                      pa.scalar("\x1f", pa.large_string()))
    key_s = pd.Series(key.to_pandas(types_mapper=lambda t: pd.StringDtype()), copy=False)
    occurrence = key_s.groupby([file_idx, key_s.to_numpy()], sort=False).cumcount()
    return np.array([hashlib.sha1(f"{k}\x1f{o}".encode()).hexdigest()
                     for k, o in zip(key.to_pylist(), occurrence.tolist(), strict=True)],
                    dtype=object)


def _source_column(t: Table) -> pd.Series:
    files = pa.DictionaryArray.from_arrays(pa.array(t.file_idx, type=pa.int32()),
                                           pa.array(t.shorts, type=pa.string()))
    text = pc.binary_join_element_wise(files.cast(pa.string()),
                                       pc.cast(pa.array(t.lines), pa.string()), ":")
    return pd.Series(text.to_pandas(types_mapper=lambda _: pd.StringDtype()).array,
                     index=t.frame.index)


def _in_grid(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (x >= _BNG_X[0]) & (x <= _BNG_X[1]) & (y >= _BNG_Y[0]) & (y <= _BNG_Y[1])


def _forces(t: Table, settings: Settings) -> np.ndarray:
    """Each row's force slug: its force column, else its police.uk file's force, else the
    mapping's default force (or ``settings.force``)."""
    mp, n = t.mapping, len(t.frame)
    default = row_force(mp.default_force or settings.force)
    by_file = np.array([file_force(name) or default for name in t.names], dtype=object)
    fallback = by_file[t.file_idx] if len(by_file) else np.full(n, default, dtype=object)
    if not mp.force:
        return fallback
    named = _per_unique(_key(t, mp.force), lambda u: [row_force(v) if v else "" for v in u])
    return np.where(named == "", fallback, named).astype(object)


def _check_own_force(areas: ForceAreas, force: np.ndarray, code: np.ndarray, has: np.ndarray,
                     x: np.ndarray, y: np.ndarray) -> None:
    """Reject rows outside their own force's area (in place on ``code``)."""
    valid = code == 0
    for slug in pd.unique(force[valid]):
        rows = valid & (force == slug)
        geom = areas.area(slug)
        if geom is None:
            code[rows] = _CODE[R_NO_AREA if slug in NO_AREA_FORCES else R_UNKNOWN_FORCE]
            continue
        check = np.flatnonzero(rows & has)
        if check.size:
            inside = shapely.contains_xy(geom, x[check], y[check])
            code[check[~inside]] = _CODE[R_OUTSIDE]


def normalise(t: Table, settings: Settings, area: BaseGeometry | ForceAreas | None
              ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Validate a table: return (canonical frame of all rows, which are valid, rejects).

    ``area`` is a polygon every located row must fall in, :class:`ForceAreas` (each row in
    its own force's area), or None (no area check).
    """
    mp, n = t.mapping, len(t.frame)
    code = np.zeros(n, dtype=np.int8)

    def reject(mask: np.ndarray, reason: str) -> None:
        code[(code == 0) & mask] = _CODE[reason]

    ctype = _key(t, mp.category)
    reject((ctype == "").to_numpy(bool), R_TYPE)
    occurred, month = _parse_dates(_key(t, mp.date_column), mp)
    reject(np.isnat(occurred), R_DATE)

    if t.xy is not None:
        x, y = t.xy
        has = np.isfinite(x) & np.isfinite(y)
        reject(t.not_point, R_GEOMETRY)
        reject(has & ~_in_grid(x, y), R_RANGE)
        lon, lat = to_wgs84(x, y)
        coord_text = [pd.Series(np.round(v, 1), index=t.frame.index).astype("string").fillna("")
                      for v in (x, y)]
    else:
        a, b = ((_key(t, mp.lon), _key(t, mp.lat)) if mp.lon
                else (_key(t, mp.easting), _key(t, mp.northing)))
        coord_text = [a, b]
        ea, eb = (a == "").to_numpy(bool), (b == "").to_numpy(bool)
        va, vb = _parse_number(a), _parse_number(b)
        fa, fb = np.isfinite(va), np.isfinite(vb)
        reject((ea != eb) | (~ea & ~fa) | (~eb & ~fb), R_COORDS)
        has = fa & fb
        if mp.lon:
            reject(has & ((np.abs(va) > 180) | (np.abs(vb) > 90)), R_RANGE)
            lon, lat = np.where(has, va, np.nan), np.where(has, vb, np.nan)
            # Project only rows still valid: junk such as lon 500 need not reach PROJ.
            x, y = to_bng(np.where(code == 0, lon, np.nan), np.where(code == 0, lat, np.nan))
        else:
            x, y = np.where(has, va, np.nan), np.where(has, vb, np.nan)
            lon, lat = to_wgs84(x, y)
        reject(has & ~_in_grid(x, y), R_RANGE)

    force = _forces(t, settings)
    if isinstance(area, ForceAreas):
        _check_own_force(area, force, code, has, x, y)
    elif area is not None:
        check = np.flatnonzero((code == 0) & has)
        if check.size:
            inside = shapely.contains_xy(area, x[check], y[check])
            code[check[~inside]] = _CODE[R_OUTSIDE]

    ids = _key(t, mp.id)
    noid = (ids == "").to_numpy(bool)
    if noid.any():
        cols = mp.source_columns()
        content = sorted(k for k in cols
                         if k not in ("id", "outcome", "lon", "lat", "easting", "northing"))
        parts = [_key(t, cols[k], noid) for k in content] + [c[noid] for c in coord_text]
        ids = ids.copy()
        ids[noid] = _content_ids(parts, t.file_idx[noid])

    codes, types = pd.factorize(ctype, use_na_sentinel=False)
    types = list(pd.Index(types).astype(object))
    groups = np.array([settings.crime_groups.get(v, "other") for v in types], dtype=object)
    harm = np.array([settings.harm.get(v, settings.harm_default) for v in types], dtype=float)
    located = has & (code == 0)
    data = {
        "incident_id": ids,
        "occurred": occurred,
        "date_precision": {"month": "month", "date": "day", "datetime": "minute"}[mp.date_kind],
        "month": month,
        "crime_type": ctype,
        "crime_group": groups[codes],
        "harm": harm[codes],
        "x": np.where(located, x, np.nan),
        "y": np.where(located, y, np.nan),
        "lon": np.where(located, lon, np.nan),
        "lat": np.where(located, lat, np.nan),
        "has_location": has,
        "force": force,
        "source": _source_column(t),
    }
    for name in ("location", "lsoa_code", "lsoa_name", "reported_by", "outcome", "ocg_ref"):
        if getattr(mp, name):
            data[name] = t.frame[getattr(mp, name)]
    for name in ("soc_flag", "county_line"):
        if getattr(mp, name):
            data[name] = _bool_column(_key(t, getattr(mp, name)))
    out = pd.DataFrame(data, index=t.frame.index)
    return out, code == 0, _rejects(t, code)


def _rejects(t: Table, code: np.ndarray) -> pd.DataFrame:
    """Rejects of one table, in file and line order; ``row`` is the original row as CSV."""
    rejected = np.flatnonzero(code != 0)
    if not rejected.size and not t.bad:
        return empty_rejects()
    rows = [tuple("" if pd.isna(v) else v for v in r)
            for r in t.frame.iloc[rejected].itertuples(index=False, name=None)]
    if t.geoms is not None:
        wkt = shapely.to_wkt(t.geoms[rejected], rounding_precision=-1)
        rows = [(*r, "" if w is None else w) for r, w in zip(rows, wkt, strict=True)]
    names = np.asarray(t.names, dtype=object)
    out = pd.DataFrame({
        "file": np.concatenate([names[t.file_idx[rejected]],
                                names[np.asarray([b[0] for b in t.bad], dtype=np.int64)]]),
        "line": np.concatenate([t.lines[rejected],
                                np.asarray([b[1] for b in t.bad], dtype=np.int64)]),
        "reason": [REASONS[c - 1] for c in code[rejected]] + [b[2] for b in t.bad],
        "row": [row_text(r) for r in rows] + [b[3] for b in t.bad],
        "_file": np.concatenate([t.file_idx[rejected], [b[0] for b in t.bad]]).astype(int),
    })
    out = out.sort_values(["_file", "line"], kind="stable").drop(columns="_file")
    return out.reset_index(drop=True)


def empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"file": pd.Series(dtype=object), "line": pd.Series(dtype=np.int64),
                         "reason": pd.Series(dtype=object), "row": pd.Series(dtype=object)})
