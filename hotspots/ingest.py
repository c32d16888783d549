"""Read police.uk and force incident files into the canonical frame, accounting for every row."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings, load_settings
from hotspots.errors import InputError, ParameterError, StoreError
from hotspots.schema import POLICE_UK_COLUMNS, conform, empty_incidents
from hotspots.spatial.crs import to_bng, to_wgs84
from hotspots.store import append_new, clear_store, first_occurrence, store_exists

__all__ = [
    "ColumnMapping",
    "IngestReport",
    "IngestResult",
    "POLICE_UK_MAPPING",
    "REASONS",
    "build_default_store",
    "force_slug",
    "ingest",
    "read_incidents",
    "rejects_path",
]

# Rejection reasons: short, stable strings that scripts and the rejects file rely on.
R_TYPE = "missing crime type"
R_DATE = "unparseable date"
R_COORDS = "unparseable coordinates"
R_RANGE = "coordinates out of range"
R_GEOMETRY = "not a point geometry"
R_OUTSIDE = "coordinates outside force area"
R_FIELDS = "wrong number of fields"
#: Every reason a row can be rejected for. Index + 1 is the internal reason code.
REASONS = (R_TYPE, R_DATE, R_COORDS, R_RANGE, R_GEOMETRY, R_OUTSIDE, R_FIELDS)
_CODE = {r: i + 1 for i, r in enumerate(REASONS)}

REJECT_COLUMNS = ("file", "line", "reason", "row")

#: One path or several: files or folders.
Paths = str | os.PathLike | Iterable[str | os.PathLike]
#: "force", a shapely geometry in EPSG:27700, or None for no check.
Boundary = str | BaseGeometry | None

# British National Grid's defined extent; anything beyond it is not in Great Britain and the
# projection is meaningless there (this also catches the 0,0 "null island" placeholder).
_BNG_X = (0.0, 700_000.0)
_BNG_Y = (0.0, 1_300_000.0)

_GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".parquet", ".geoparquet")
_FOLDER_SUFFIXES = (".csv", ".csv.gz", ".zip", ".geojson", ".gpkg", ".parquet", ".geoparquet")
# police.uk downloads put these beside the street files; they are not incident rows.
_NOT_STREET = re.compile(r"-(outcomes|stop-and-search)\.csv(\.gz)?$", re.IGNORECASE)
_MONTH_RE = r"\d{4}-(0[1-9]|1[0-2])"
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def force_slug(name: str) -> str:
    """Return the police.uk-style slug of a force name.

    Examples: "Warwickshire Police" -> "warwickshire", "West Mercia Police" -> "west-mercia",
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


@dataclass
class IngestReport:
    """What happened to every row read: ``rows_read == accepted + rejected + duplicates``.

    Attributes
    ----------
    rows_read : int
        Data rows found (header lines and blank lines are not rows).
    accepted : int
        Rows kept (for :func:`ingest`: rows newly written to the store).
    rejected : int
        Rows refused; each has a line in the rejects with its reason.
    duplicates : int
        Rows whose ``incident_id`` was already read, or already in the store.
    no_location : int
        Accepted rows without coordinates (kept, ``has_location`` False).
    by_reason : dict of str to int
        Rejected rows per reason, most frequent first.
    months : list of str
        ``YYYY-MM`` months of the valid rows (accepted or duplicate), sorted.
    forces : list of str
        Force slugs of the valid rows, sorted.
    files : list of str
        Files read, in order (zip members as ``archive.zip!member``).
    """

    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    no_location: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    months: list[str] = field(default_factory=list)
    forces: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return the report as plain JSON-ready types."""
        return asdict(self)

    def merged(self, other: IngestReport) -> IngestReport:
        """Return the sum of two reports (counts added, lists united)."""
        reasons = dict(self.by_reason)
        for k, v in other.by_reason.items():
            reasons[k] = reasons.get(k, 0) + v
        return IngestReport(
            rows_read=self.rows_read + other.rows_read,
            accepted=self.accepted + other.accepted,
            rejected=self.rejected + other.rejected,
            duplicates=self.duplicates + other.duplicates,
            no_location=self.no_location + other.no_location,
            by_reason=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            months=sorted(set(self.months) | set(other.months)),
            forces=sorted(set(self.forces) | set(other.forces)),
            files=[*self.files, *other.files],
        )


@dataclass
class IngestResult:
    """Output of :func:`read_incidents`.

    Attributes
    ----------
    incidents : pandas.DataFrame
        Accepted rows, canonical frame, first occurrence of each ``incident_id``.
    rejects : pandas.DataFrame
        Columns ``file``, ``line``, ``reason``, ``row`` (the original row as CSV text).
    report : IngestReport
    """

    incidents: pd.DataFrame
    rejects: pd.DataFrame
    report: IngestReport


# --------------------------------------------------------------------------------------------
# Finding and opening files


@dataclass
class _Table:
    """Rows of one file - or of several files with the same columns - before validation."""

    names: list[str]  # shown in rejects and the report: the path, or archive.zip!member
    shorts: list[str]  # file names used in ``source``
    frame: pd.DataFrame  # the files' own columns as strings, NA where empty
    lines: np.ndarray  # line number (CSV) or feature number (geo) of each frame row
    file_idx: np.ndarray  # index into names/shorts of each frame row
    mapping: ColumnMapping
    bad: list[tuple[int, int, str, str]] = field(default_factory=list)  # file, line, why, text
    xy: tuple[np.ndarray, np.ndarray] | None = None  # BNG from geometry (geo files)
    not_point: np.ndarray | None = None  # geometry present but not a point
    geoms: np.ndarray | None = None  # shapely geometries (geo files), for reject rows' text

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.bad)


def _single(name: str, short: str, frame: pd.DataFrame, lines: np.ndarray,
            mapping: ColumnMapping, **kw) -> _Table:
    return _Table(names=[name], shorts=[short], frame=frame, lines=lines,
                  file_idx=np.zeros(len(frame), dtype=np.int32), mapping=mapping, **kw)


def _batches(tables: Iterable[_Table]) -> Iterator[_Table]:
    """Merge consecutive CSV tables read the same way (monthly police.uk files, typically).

    Validation costs a fixed overhead per call; a police.uk archive has hundreds of small files,
    so validating them as one batch is several times faster than file by file.
    """
    run: list[_Table] = []

    def flush() -> Iterator[_Table]:
        if len(run) == 1:
            yield run[0]
        elif run:
            offsets = np.cumsum([0] + [len(t.names) for t in run])
            yield _Table(
                names=[n for t in run for n in t.names],
                shorts=[n for t in run for n in t.shorts],
                frame=pd.concat([t.frame for t in run], ignore_index=True),
                lines=np.concatenate([t.lines for t in run]),
                file_idx=np.concatenate([t.file_idx + o for t, o in zip(run, offsets,
                                                                        strict=False)]),
                mapping=run[0].mapping,
                bad=[(f + o, *rest) for t, o in zip(run, offsets, strict=False)
                     for f, *rest in t.bad])
        run.clear()

    for t in tables:
        if t.xy is not None:
            yield from flush()
            yield t
        elif run and (t.mapping != run[0].mapping
                      or list(t.frame.columns) != list(run[0].frame.columns)):
            yield from flush()
            run.append(t)
        else:
            run.append(t)
    yield from flush()


def _as_paths(paths: Paths) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        return [Path(paths)]
    out = [Path(p) for p in paths]
    if not out:
        raise InputError("no input files given")
    return out


def _discover(path: Path) -> list[Path]:
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    found = []
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).parts
        # Skip hidden things and hive partitions, so pointing at a data folder that holds the
        # store does not re-read the store itself.
        if any(part.startswith(".") or "=" in part for part in rel) or not p.is_file():
            continue
        name = p.name.lower()
        if name.endswith(_FOLDER_SUFFIXES) and not _NOT_STREET.search(name):
            found.append(p)
    if not found:
        raise InputError(f"{path}: no incident files in this folder (looked for "
                         f"{', '.join(_FOLDER_SUFFIXES)})")
    return found


def _magic(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(16)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def _tables(path: Path, mapping: ColumnMapping | None) -> Iterator[_Table]:
    head = _magic(path)
    name = path.name.lower()
    if head.startswith(b"PK\x03\x04") or name.endswith(".zip"):
        yield from _zip_tables(path, mapping)
    elif head.startswith((b"PAR1", b"SQLite format 3\x00")) or name.endswith(_GEO_SUFFIXES):
        yield _geo_table(path, mapping)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror})") from None
        yield _csv_table(data, str(path), path.name, mapping)


def _zip_tables(path: Path, mapping: ColumnMapping | None) -> Iterator[_Table]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{path}: not a readable zip archive ({exc})") from None
    with zf:
        members = sorted(m for m in zf.namelist()
                         if m.lower().endswith((".csv", ".csv.gz")) and not _NOT_STREET.search(m)
                         and not any(p.startswith((".", "__MACOSX")) for p in m.split("/")))
        if not members:
            raise InputError(f"{path}: zip archive holds no street-level CSV files")
        for m in members:
            try:
                data = zf.read(m)
            except (zipfile.BadZipFile, OSError, zlib.error) as exc:
                raise InputError(f"{path}!{m}: cannot extract from the archive ({exc})") from None
            yield _csv_table(data, f"{path}!{m}", m.rsplit("/", 1)[-1], mapping)


# --------------------------------------------------------------------------------------------
# CSV


def _decode_header(data: bytes, name: str) -> tuple[list[str], str]:
    """Return the header fields and the encoding (utf8 or cp1252) the header decodes with."""
    end = data.find(b"\n")
    raw = data[: end if end >= 0 else len(data)]
    try:
        text, enc = raw.decode("utf-8-sig"), "utf8"
    except UnicodeDecodeError:
        try:
            text, enc = raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            raise InputError(f"{name}: not a text CSV file (neither UTF-8 nor Windows-1252)"
                             ) from None
    cols = [c.strip() for c in next(csv.reader([text.rstrip("\r")]), [])]
    return cols, enc


def _csv_table(data: bytes, name: str, short: str, mapping: ColumnMapping | None) -> _Table:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{name}: corrupt gzip file ({exc})") from None
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise InputError(f"{name}: empty file")
    if b"\x00" in data[:65536]:
        raise InputError(f"{name}: binary content, not a CSV file")
    cols, enc = _decode_header(data, name)
    if len(set(cols)) != len(cols):
        dupes = sorted({c for c in cols if cols.count(c) > 1})
        raise InputError(f"{name}: repeated column name(s) {', '.join(map(repr, dupes))}")
    mp = _choose_mapping(cols, mapping, name, geo=False)
    frame, lines, bad = _parse_fast(data, cols, enc)
    if frame is None:
        frame, lines, bad = _parse_slow(data, cols, name)
    return _single(name, short, frame, lines, mp, bad=[(0, *b) for b in bad])


def _parse_fast(data: bytes, cols: list[str], enc: str):
    """Parse with pyarrow; return (None, None, None) when the slow path must take over.

    The fast path maps rows to line numbers by position, which is only right when every line
    after the header is exactly one row: so any malformed row, blank line or quoted newline
    sends the file to :func:`_parse_slow`, which tracks lines one by one.
    """
    # Only the empty string is missing: pyarrow's default null markers ("NA", "null", "N/A"...)
    # could be a real location or reference.
    opts = pacsv.ConvertOptions(column_types={c: pa.string() for c in cols}, null_values=[""],
                                strings_can_be_null=True, quoted_strings_can_be_null=True)
    for encoding in (enc, "cp1252") if enc == "utf8" else (enc,):
        try:
            table = pacsv.read_csv(
                pa.BufferReader(data),
                read_options=pacsv.ReadOptions(column_names=cols, skip_rows=1,
                                               encoding=encoding, block_size=1 << 22),
                parse_options=pacsv.ParseOptions(newlines_in_values=False),
                convert_options=opts)
        except (pa.ArrowException, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            if "UTF8" in str(exc) and encoding == "utf8":
                continue  # Windows-1252 export: retry transcoding
            return None, None, None
        break
    else:
        return None, None, None
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if table.num_rows + 1 != n_lines:
        return None, None, None
    return _to_pandas(table), np.arange(2, table.num_rows + 2, dtype=np.int64), []


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=lambda t: pd.StringDtype()
                           if pa.types.is_string(t) or pa.types.is_large_string(t) else None)


def _row_text(values: Iterable) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def _parse_slow(data: bytes, cols: list[str], name: str):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise InputError(f"{name}: not a text CSV file (neither UTF-8 nor Windows-1252)"
                             ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        next(reader)
        rows, lines, bad = [], [], []
        last = reader.line_num
        for row in reader:
            start, last = last + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line is not a row
            if len(row) != len(cols):
                bad.append((start, R_FIELDS, _row_text(row)))
            else:
                rows.append(row)
                lines.append(start)
    except csv.Error as exc:
        raise InputError(f"{name}: not a readable CSV file (line {reader.line_num}: {exc})"
                         ) from None
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(cols)
    frame = _to_pandas(pa.table({c: pa.array([v or None for v in values], type=pa.string())
                                 for c, values in zip(cols, columns, strict=True)}))
    return frame, np.asarray(lines, dtype=np.int64), bad


def _is_police_uk(cols: Iterable[str]) -> bool:
    return len(set(cols) & set(POLICE_UK_COLUMNS)) >= 3


def _auto_mapping(cols: list[str], geo: bool) -> ColumnMapping | None:
    """Guess a mapping from canonical or common column names (case-insensitive)."""
    lower = {c.lower(): c for c in cols}

    def pick(*names: str) -> str | None:
        return next((lower[n] for n in names if n in lower), None)

    category = pick("crime_type", "crime type", "category", "offence", "type")
    dates = {"datetime": pick("occurred", "datetime", "date_time"), "date": pick("date"),
             "month": pick("month")}
    kind = next((k for k, v in dates.items() if v), None)
    if category is None or kind is None:
        return None
    coords = {}
    if not geo:
        lon, lat = pick("lon", "longitude"), pick("lat", "latitude")
        east, north = pick("easting", "x"), pick("northing", "y")
        if lon and lat:
            coords = {"lon": lon, "lat": lat}
        elif east and north:
            coords = {"easting": east, "northing": north}
        else:
            return None
    return ColumnMapping(
        category=category, **coords, **{kind: dates[kind]},
        id=pick("incident_id", "crime id", "id"), location=pick("location"),
        soc_flag=pick("soc_flag"), ocg_ref=pick("ocg_ref"), county_line=pick("county_line"),
        force=pick("force", "falls within"), reported_by=pick("reported_by", "reported by"),
        lsoa_code=pick("lsoa_code", "lsoa code"), lsoa_name=pick("lsoa_name", "lsoa name"),
        outcome=pick("outcome", "last outcome category"))


def _choose_mapping(cols: list[str], mapping: ColumnMapping | None, name: str,
                    geo: bool) -> ColumnMapping:
    police = set(POLICE_UK_MAPPING.source_columns().values())
    if not geo and (police <= set(cols) or (mapping is None and _is_police_uk(cols))):
        # Looks like police.uk: read it as such even when a mapping for other files is given;
        # a partial police.uk header fails below with the missing columns named.
        mp, what = POLICE_UK_MAPPING, "police.uk column(s)"
    elif mapping is not None:
        mp, what = mapping, "mapped column(s)"
        if not geo and not (mp.lon or mp.easting):
            raise ParameterError(f"{name}: the column mapping names no lon/lat or "
                                 "easting/northing columns")
    else:
        mp = _auto_mapping(cols, geo)
        if mp is None:
            shown = ", ".join(cols[:8]) + (", ..." if len(cols) > 8 else "")
            raise InputError(f"{name}: not a police.uk street-level file and no column mapping "
                             f"given (columns: {shown or 'none'})")
        what = "column(s)"
    missing = [c for k, c in mp.source_columns().items()
               if c not in cols and not (geo and k in ("lon", "lat", "easting", "northing"))]
    if missing:
        raise InputError(f"{name}: missing {what} {', '.join(map(repr, missing))}")
    return mp


# --------------------------------------------------------------------------------------------
# GeoJSON, GeoPackage, GeoParquet (and plain Parquet tables)


def _geo_table(path: Path, mapping: ColumnMapping | None) -> _Table:
    import geopandas as gpd
    import pyarrow.parquet as pq

    name = str(path)
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet") or _magic(path).startswith(b"PAR1"):
            meta = pq.read_schema(path).metadata or {}
            if b"geo" not in meta:
                return _plain_parquet_table(path, mapping)
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path, engine="pyogrio")
    except InputError:
        raise
    except Exception as exc:  # GDAL/Arrow raise many types; the user needs the file and gist
        msg = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputError(f"{name}: cannot read as GeoJSON/GeoPackage/GeoParquet ({msg})"
                         ) from None
    if len(gdf.columns) <= 1 and gdf.empty:
        raise InputError(f"{name}: empty file (no features)")
    if gdf.crs is None:
        raise InputError(f"{name}: no coordinate reference system; save it with one "
                         "(e.g. EPSG:27700 or EPSG:4326)")
    geom = gdf.geometry
    attrs = pd.DataFrame(gdf.drop(columns=[geom.name]))
    cols = [str(c) for c in attrs.columns]
    attrs.columns = cols
    mp = _choose_mapping(cols, mapping, name, geo=True)
    values = geom.to_crs("EPSG:27700").values if len(gdf) else geom.values
    arr = np.asarray(values, dtype=object)
    present = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    point = present & (shapely.get_type_id(arr) == shapely.GeometryType.POINT)
    x = np.full(len(arr), np.nan)
    y = np.full(len(arr), np.nan)
    x[point] = shapely.get_x(arr[point])
    y[point] = shapely.get_y(arr[point])
    frame = pd.DataFrame({c: _as_text(attrs[c]) for c in cols}, index=pd.RangeIndex(len(attrs)))
    return _single(name, path.name, frame, np.arange(1, len(frame) + 1, dtype=np.int64), mp,
                   xy=(x, y), not_point=present & ~point, geoms=arr)


def _plain_parquet_table(path: Path, mapping: ColumnMapping | None) -> _Table:
    frame = pd.read_parquet(path)
    cols = [str(c) for c in frame.columns]
    frame.columns = cols
    if not cols:
        raise InputError(f"{path}: empty file (no columns)")
    mp = _choose_mapping(cols, mapping, str(path), geo=False)
    text = pd.DataFrame({c: _as_text(frame[c]) for c in cols}, index=pd.RangeIndex(len(frame)))
    return _single(str(path), path.name, text, np.arange(1, len(text) + 1, dtype=np.int64), mp)


def _as_text(s: pd.Series) -> pd.Series:
    """Return a column as strings with NA for missing, the form CSV columns arrive in."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%dT%H:%M:%S")
    else:
        out = s.astype("string")
    out = out.astype("string").reset_index(drop=True)
    return out.mask(out == "")


# --------------------------------------------------------------------------------------------
# Validation and conversion to the canonical frame


def _key(t: _Table, name: str | None, rows: np.ndarray | None = None) -> pd.Series:
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


def _source_column(t: _Table) -> pd.Series:
    files = pa.DictionaryArray.from_arrays(pa.array(t.file_idx, type=pa.int32()),
                                           pa.array(t.shorts, type=pa.string()))
    text = pc.binary_join_element_wise(files.cast(pa.string()),
                                       pc.cast(pa.array(t.lines), pa.string()), ":")
    return pd.Series(text.to_pandas(types_mapper=lambda _: pd.StringDtype()).array,
                     index=t.frame.index)


def _in_grid(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (x >= _BNG_X[0]) & (x <= _BNG_X[1]) & (y >= _BNG_Y[0]) & (y <= _BNG_Y[1])


def _normalise(t: _Table, settings: Settings, area: BaseGeometry | None
               ) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Validate a table: return (canonical frame of all rows, which are valid, rejects)."""
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

    if area is not None:
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

    default_force = force_slug(mp.default_force or settings.force)
    if mp.force:
        force = _per_unique(_key(t, mp.force),
                            lambda u: [force_slug(v) or default_force for v in u])
    else:
        force = np.full(n, default_force, dtype=object)
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


def _rejects(t: _Table, code: np.ndarray) -> pd.DataFrame:
    """Rejects of one table, in file and line order; ``row`` is the original row as CSV."""
    rejected = np.flatnonzero(code != 0)
    if not rejected.size and not t.bad:
        return _empty_rejects()
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
        "row": [_row_text(r) for r in rows] + [b[3] for b in t.bad],
        "_file": np.concatenate([t.file_idx[rejected], [b[0] for b in t.bad]]).astype(int),
    })
    out = out.sort_values(["_file", "line"], kind="stable").drop(columns="_file")
    return out.reset_index(drop=True)


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"file": pd.Series(dtype=object), "line": pd.Series(dtype=np.int64),
                         "reason": pd.Series(dtype=object), "row": pd.Series(dtype=object)})


# --------------------------------------------------------------------------------------------
# Public API

_AREA_CACHE: dict[tuple[str, str, float], BaseGeometry] = {}


def _resolve_boundary(boundary: Boundary, buffer_m: float | None, settings: Settings
                      ) -> BaseGeometry | None:
    if boundary is None:
        return None
    buf = settings.boundary_buffer_m if buffer_m is None else buffer_m
    try:
        buf = float(buf)
    except (TypeError, ValueError):
        raise ParameterError(f"buffer {buffer_m!r} is not a number of metres") from None
    if not np.isfinite(buf) or buf < 0:
        raise ParameterError(f"buffer {buf} m must be zero or more metres")
    if isinstance(boundary, str):
        if boundary != "force":
            raise ParameterError(f"boundary {boundary!r} must be 'force', a shapely geometry "
                                 "in EPSG:27700, or None")
        key = (str(settings.data_dir), settings.force, buf)
        if key not in _AREA_CACHE:
            from hotspots.spatial.boundaries import area_geometry

            geom = area_geometry(None, settings)
            geom = geom.buffer(buf) if buf else shapely.from_wkb(shapely.to_wkb(geom))
            shapely.prepare(geom)
            _AREA_CACHE[key] = geom
        return _AREA_CACHE[key]
    if not isinstance(boundary, BaseGeometry):
        raise ParameterError(f"boundary of type {type(boundary).__name__} must be 'force', a "
                             "shapely geometry in EPSG:27700, or None")
    if boundary.is_empty:
        raise ParameterError("boundary geometry is empty")
    # A copy, so preparing it leaves the caller's geometry untouched.
    geom = boundary.buffer(buf) if buf else shapely.from_wkb(shapely.to_wkb(boundary))
    shapely.prepare(geom)
    return geom


def read_incidents(paths: Paths, *, mapping: ColumnMapping | None = None,
                   boundary: Boundary = "force", buffer_m: float | None = None,
                   settings: Settings | None = None) -> IngestResult:
    """Read incident files into the canonical frame, accounting for every row.

    Parameters
    ----------
    paths : path-like or sequence of path-like
        police.uk street-level CSVs (``.csv`` or ``.csv.gz``), police.uk archives (``.zip``),
        generic CSVs, GeoJSON, GeoPackage or GeoParquet files, or folders of any of these
        (searched recursively; police.uk ``-outcomes`` and ``-stop-and-search`` files and hidden
        or ``key=value`` folders are skipped). police.uk files are recognised by their header.
    mapping : ColumnMapping, optional
        How to read files that are not police.uk. Without it, canonical or common column names
        are recognised (``crime_type``, ``occurred``/``date``/``month``, ``lon``/``lat`` or
        ``easting``/``northing``, ``incident_id`` ...).
    boundary : "force", shapely geometry or None
        Area located rows must fall in: the configured force area (default), a polygon in
        EPSG:27700, or None for no check. Rows without coordinates are never checked.
    buffer_m : float, optional
        Metres allowed outside ``boundary`` (default ``settings.boundary_buffer_m``).
    settings : Settings, optional

    Returns
    -------
    IngestResult
        ``report.rows_read == accepted + rejected + duplicates`` always holds.

    Raises
    ------
    InputError
        A path is missing, a folder holds no data, or a file is not readable incident data
        (binary, empty, missing columns). Nothing is returned for any file then.
    ParameterError
        ``boundary``, ``buffer_m`` or ``mapping`` is invalid.
    """
    settings = settings or load_settings()
    area = _resolve_boundary(boundary, buffer_m, settings)
    files = [f for p in _as_paths(paths) for f in _discover(p)]
    # Read every file before validating any, so a bad file fails the call before work is done.
    tables = [t for f in files for t in _tables(f, mapping)]
    frames, oks, rejects, names = [], [], [], []
    rows_read = 0
    for t in _batches(tables):
        names += t.names
        rows_read += t.rows_read
        out, ok, bad = _normalise(t, settings, area)
        frames.append(out)
        oks.append(ok)
        if len(bad):
            rejects.append(bad)
    del tables
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else \
        frames[0].reset_index(drop=True) if frames else empty_incidents()
    ok = np.flatnonzero(np.concatenate(oks)) if oks else np.zeros(0, dtype=np.int64)
    first = first_occurrence(frame["incident_id"].iloc[ok])
    # Select rows once, at the end: each row selection copies every string column.
    keep = ok[first]
    incidents = conform(frame if len(keep) == len(frame) else frame.take(keep))
    incidents = incidents.reset_index(drop=True)
    valid = frame[["month", "force"]].iloc[ok]
    rej = pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects()
    counts = rej["reason"].value_counts()
    report = IngestReport(
        rows_read=rows_read,
        accepted=len(incidents),
        rejected=len(rej),
        duplicates=int((~first).sum()),
        no_location=int((~incidents["has_location"]).sum()),
        by_reason={str(k): int(v) for k, v in
                   sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))},
        months=sorted(valid["month"].dropna().unique().tolist()),
        forces=sorted(valid["force"].dropna().unique().tolist()),
        files=names,
    )
    return IngestResult(incidents=incidents, rejects=rej, report=report)


def rejects_path(store_dir: str | os.PathLike) -> Path:
    """Return the rejects CSV that sits beside ``store_dir`` (``<store>.rejects.csv``)."""
    p = Path(store_dir)
    return p.with_name(p.name + ".rejects.csv")


def _append_rejects(rejects: pd.DataFrame, path: Path) -> None:
    """Append rejects not already listed, so re-ingesting a file does not repeat its rejects."""
    try:
        if path.exists():
            old = pd.read_csv(path, dtype=str, keep_default_na=False)
            if list(old.columns) != list(REJECT_COLUMNS):
                raise StoreError(f"{path}: not a rejects file (columns {', '.join(old.columns)})")
            seen = set(old.itertuples(index=False, name=None))
            as_text = rejects.astype({"line": str}).astype(str)
            keep = [r not in seen for r in as_text.itertuples(index=False, name=None)]
            new = rejects[keep]
            if len(new):
                new.to_csv(path, mode="a", header=False, index=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            rejects.to_csv(path, index=False, columns=list(REJECT_COLUMNS))
    except OSError as exc:
        raise StoreError(f"{path}: cannot write the rejects file ({exc.strerror})") from None


def ingest(paths: Paths, store_dir: str | os.PathLike, *, boundary: Boundary = "force",
           buffer_m: float | None = None, mapping: ColumnMapping | None = None,
           settings: Settings | None = None) -> IngestReport:
    """Read incident files and append the new rows to the incident store.

    Rows whose ``incident_id`` the store already holds count as duplicates, so ingesting the
    same files again changes nothing and an overlapping download adds only its new rows.
    Rejected rows are appended to :func:`rejects_path` (columns file, line, reason, row).

    Parameters
    ----------
    paths : path-like or sequence of path-like
        See :func:`read_incidents`.
    store_dir : path-like
        Store folder (created if missing).
    boundary, buffer_m, mapping, settings
        See :func:`read_incidents`.

    Returns
    -------
    IngestReport
        ``accepted`` counts rows newly written; ``months``/``forces`` cover all valid rows read.
    """
    result = read_incidents(paths, mapping=mapping, boundary=boundary, buffer_m=buffer_m,
                            settings=settings)
    written = append_new(result.incidents, store_dir)
    _append_rejects(result.rejects, rejects_path(store_dir))
    r = result.report
    added = result.incidents[written]
    return IngestReport(
        rows_read=r.rows_read,
        accepted=int(written.sum()),
        rejected=r.rejected,
        duplicates=r.duplicates + int((~written).sum()),
        no_location=int((~added["has_location"]).sum()),
        by_reason=r.by_reason,
        months=r.months,
        forces=r.forces,
        files=r.files,
    )


#: Metres the neighbouring forces' context rows may lie outside the force area.
NEIGHBOUR_BUFFER_M = 12_000.0


def build_default_store(settings: Settings | None = None, *, rebuild: bool = False
                        ) -> IngestReport | None:
    """Build the store from the shipped data if it is missing or empty (or ``rebuild``).

    Ingests ``<data_dir>/crime/<force>`` with the force boundary and default buffer, then
    ``<data_dir>/crime/neighbours`` (if present) with the force boundary buffered
    :data:`NEIGHBOUR_BUFFER_M`: they are near-border context rows.

    Parameters
    ----------
    settings : Settings, optional
    rebuild : bool
        Delete the store's partitions and rejects file first.

    Returns
    -------
    IngestReport or None
        The combined report, or None when the store already held data.
    """
    settings = settings or load_settings()
    store = Path(settings.store_dir)
    if rebuild:
        clear_store(store)
        rejects_path(store).unlink(missing_ok=True)
    elif store_exists(store):
        return None
    crime = Path(settings.data_dir) / "crime"
    report = ingest(crime / settings.force, store, boundary="force", settings=settings)
    if (crime / "neighbours").is_dir():
        report = report.merged(ingest(crime / "neighbours", store, boundary="force",
                                      buffer_m=NEIGHBOUR_BUFFER_M, settings=settings))
    return report
