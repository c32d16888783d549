"""Readers of incident files: CSV, ZIP archives, folders, GeoJSON, GeoPackage, (Geo)Parquet.

Each file becomes a :class:`Table` of its own columns as text, with the line of every row and
the rows that could not be read at all; :func:`hotspots.validate.normalise` checks the rest.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely

from hotspots.errors import InputError, ParameterError
from hotspots.schema import POLICE_UK_COLUMNS
from hotspots.validate import POLICE_UK_MAPPING, R_FIELDS, ColumnMapping, row_text

#: One path or several: files or folders.
Paths = str | os.PathLike | Iterable[str | os.PathLike]

_GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".parquet", ".geoparquet")
_FOLDER_SUFFIXES = (".csv", ".csv.gz", ".zip", ".geojson", ".gpkg", ".parquet", ".geoparquet")
# police.uk downloads put these beside the street files; they are not incident rows.
_NOT_STREET = re.compile(r"-(outcomes|stop-and-search)\.csv(\.gz)?$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Finding and opening files


@dataclass
class Table:
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
            mapping: ColumnMapping, **kw) -> Table:
    return Table(names=[name], shorts=[short], frame=frame, lines=lines,
                  file_idx=np.zeros(len(frame), dtype=np.int32), mapping=mapping, **kw)


def batches(tables: Iterable[Table]) -> Iterator[Table]:
    """Merge consecutive CSV tables read the same way (monthly police.uk files, typically).

    Validation costs a fixed overhead per call; a police.uk archive has hundreds of small files,
    so validating them as one batch is several times faster than file by file.
    """
    run: list[Table] = []

    def flush() -> Iterator[Table]:
        if len(run) == 1:
            yield run[0]
        elif run:
            offsets = np.cumsum([0] + [len(t.names) for t in run])
            yield Table(
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


def as_paths(paths: Paths) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        return [Path(paths)]
    out = [Path(p) for p in paths]
    if not out:
        raise InputError("no input files given")
    return out


def discover(path: Path) -> list[Path]:
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


def read_tables(path: Path, mapping: ColumnMapping | None) -> Iterator[Table]:
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


def _zip_tables(path: Path, mapping: ColumnMapping | None) -> Iterator[Table]:
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


def _csv_table(data: bytes, name: str, short: str, mapping: ColumnMapping | None) -> Table:
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
                bad.append((start, R_FIELDS, row_text(row)))
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


def _geo_table(path: Path, mapping: ColumnMapping | None) -> Table:
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


def _plain_parquet_table(path: Path, mapping: ColumnMapping | None) -> Table:
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
