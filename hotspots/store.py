"""The incident store: a GeoParquet-compatible Parquet dataset partitioned by force and month.

What is committed is what :mod:`hotspots.manifest` lists: a write stages its part files, moves
them into their partitions and then swaps the manifest, so an interrupted write leaves the
store as it was. A read touching a damaged part raises a :class:`StoreError` naming the part and
``hotspots store check`` (which sets it aside, :mod:`hotspots.store_check`); reads of other
months never open it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from hotspots.errors import ParameterError, StoreError
from hotspots.filemodes import PRIVATE_FILE, make_private, private_dir
from hotspots.manifest import (
    BUILDING,
    STAGING,
    Manifest,
    Part,
    adopt_parts,
    clear_staging,
    committed_parts,
    file_sha256,
    read_manifest,
    remove_orphans,
    verify_part,
    write_manifest,
)
from hotspots.months import is_month
from hotspots.schema import INCIDENT_COLUMNS, conform, located_xy

#: Partition keys, in directory order: ``force=<slug>/month=YYYY-MM/part-*.parquet``.
PARTITION_KEYS = ("force", "month")

_ARROW_TYPES = {
    "string": pa.string(),
    # Millisecond timestamps: minute precision is the finest any source gives, and GDAL/QGIS
    # read ms timestamps everywhere while nanosecond support varies.
    "datetime64[ns]": pa.timestamp("ms"),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "boolean": pa.bool_(),
}
#: Schema of one part file: the canonical columns less the partition keys, plus WKB geometry.
FILE_SCHEMA = pa.schema(
    [pa.field(c, _ARROW_TYPES[t], nullable=(c != "has_location"))
     for c, t in INCIDENT_COLUMNS.items() if c not in PARTITION_KEYS]
    + [pa.field("geometry", pa.binary())]
)
_PARTITIONING = ds.partitioning(
    pa.schema([pa.field(k, pa.string()) for k in PARTITION_KEYS]), flavor="hive")
_DATASET_SCHEMA = pa.schema(list(FILE_SCHEMA) + [pa.field(k, pa.string()) for k in PARTITION_KEYS])
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
#: Without flock (Windows), a staging leftover older than this (seconds) belongs to a writer
#: that died; with it, every leftover found holding the writer lock does.
STALE_STAGING_S = 3600.0


def _missing(store_dir: Path) -> StoreError:
    return StoreError(f"{store_dir}: incident store is missing or empty; "
                      "run `hotspots ingest <files>` to build it")


def damaged_error(store_dir: str | os.PathLike, part: Part, reason: str) -> StoreError:
    """The one-line answer to a read that meets a damaged part: which part, why, and the
    command that sets it aside so the other months keep working."""
    return StoreError(f"{store_dir}: part {part.path} ({part.force}, {part.month}) is damaged: "
                      f"{reason}; run `hotspots store check --store {store_dir}` to set it "
                      "aside, then ingest that month's files again")


def _parts(store_dir: Path) -> tuple[Part, ...]:
    return committed_parts(store_dir)


def store_exists(store_dir: str | os.PathLike) -> bool:
    """Return True when ``store_dir`` holds at least one committed partition file."""
    return bool(_parts(Path(store_dir)))


def _require(store_dir: str | os.PathLike) -> tuple[Path, tuple[Part, ...]]:
    p = Path(store_dir)
    parts = _parts(p)
    if not parts:
        raise _missing(p)
    return p, parts


@lru_cache(maxsize=1)
def _bng_projjson() -> dict:
    from pyproj import CRS

    return CRS.from_epsg(27700).to_json_dict()


def _wkb_points(x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Build a WKB point column straight from coordinate arrays (null where not ``valid``).

    Going through shapely objects costs more than the whole Parquet write; a little-endian WKB
    point is a fixed 21-byte record, so numpy can lay the buffer out directly.
    """
    n = len(x)
    rec = np.empty(int(valid.sum()), dtype=[("order", "u1"), ("kind", "<u4"),
                                            ("x", "<f8"), ("y", "<f8")])
    rec["order"] = 1
    rec["kind"] = 1
    rec["x"] = x[valid]
    rec["y"] = y[valid]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.where(valid, rec.itemsize, 0), out=offsets[1:])
    bitmap = pa.array(valid, type=pa.bool_()).buffers()[1]
    return pa.Array.from_buffers(pa.binary(), n, [bitmap, pa.py_buffer(offsets),
                                                  pa.py_buffer(rec.tobytes())],
                                 null_count=int(n - valid.sum()))


def _geo_metadata(x: np.ndarray, y: np.ndarray, valid: np.ndarray) -> bytes:
    column = {"encoding": "WKB", "geometry_types": ["Point"], "crs": _bng_projjson()}
    if valid.any():
        column["bbox"] = [float(x[valid].min()), float(y[valid].min()),
                          float(x[valid].max()), float(y[valid].max())]
    return json.dumps({"version": "1.1.0", "primary_column": "geometry",
                       "columns": {"geometry": column}}).encode()


def _to_table(frame: pd.DataFrame) -> pa.Table:
    """Return the part-file table for rows of one partition (canonical frame in)."""
    valid, x, y = located_xy(frame)
    cols = []
    for f in FILE_SCHEMA:
        if f.name == "geometry":
            cols.append(_wkb_points(x, y, valid))
        else:
            cols.append(pa.array(frame[f.name], from_pandas=True).cast(f.type))
    table = pa.Table.from_arrays(cols, schema=FILE_SCHEMA)
    return table.replace_schema_metadata({b"geo": _geo_metadata(x, y, valid)})


@contextmanager
def _flock(store_dir: Path, name: str) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``store_dir/name``; yield whether it is exclusive (False
    where the system has no ``flock``: Windows, where a single writer is assumed). A killed
    holder releases it with its process."""
    try:
        private_dir(store_dir)
        fh = os.fdopen(os.open(store_dir / name, os.O_RDWR | os.O_CREAT, PRIVATE_FILE), "r+b")
    except OSError as exc:
        raise StoreError(f"{store_dir}: cannot create the incident store "
                         f"({exc.strerror})") from None
    try:
        try:
            import fcntl
        except ImportError:
            fcntl = None
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield fcntl is not None
    finally:
        fh.close()  # closing releases the flock


def writer_lock(store_dir: Path):
    """Serialise writers of one store (two dashboards starting at once both build it)."""
    return _flock(store_dir, ".lock")


@contextmanager
def build_lock(store_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold the store's build lock (beside the writer lock, which each batch takes in turn)
    for a build of several batches; yield the build marker's path.

    A build writes the marker (:func:`mark_building`) before its first batch and removes it
    after its last, so a marker found on entry is a build that was killed part-way.
    """
    store = Path(store_dir)
    with _flock(store, ".build.lock"):
        yield store / BUILDING


def mark_building(marker: Path) -> None:
    """Write the build marker durably (before a build's first batch)."""
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        try:
            os.write(fd, f"build started {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
                         "\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"{marker.parent}: cannot start building the incident store "
                         f"({exc.strerror})") from None


def prepare_store(store: Path, exclusive: bool = True) -> Manifest:
    """Make the store consistent before a write, holding the writer lock; return its manifest.

    Removes staging leftovers and the part files of batches whose commit never happened, and
    gives a store written before manifests one (adopting its parts, setting aside any that
    does not read), or an empty one to a new store, so the first batch commits like any other.
    """
    clear_staging(store, older_than_s=0.0 if exclusive else STALE_STAGING_S)
    man = read_manifest(store)
    if man is None:
        parts, bad = adopt_parts(store, FILE_SCHEMA)
        man = write_manifest(store, parts, bad)
    remove_orphans(store, [p.path for p in man.parts])
    return man


def first_occurrence(ids: pd.Series) -> np.ndarray:
    """Return a bool array: True at the first row holding each value of ``ids``.

    Factorising is ~5x faster than ``Series.duplicated`` on a million Arrow-backed
    64-character ids, and ingest calls this on every row it reads.
    """
    if len(ids) == 0:
        return np.zeros(0, dtype=bool)
    codes = pd.factorize(ids, use_na_sentinel=False)[0]
    first = np.zeros(len(codes), dtype=bool)
    first[np.unique(codes, return_index=True)[1]] = True
    return first


def _ids(store_dir: Path, parts: Sequence[Part]) -> pa.ChunkedArray:
    if not parts:
        return pa.chunked_array([], type=pa.string())
    return _read_parts(store_dir, parts, ["incident_id"]).column("incident_id")


def _is_canonical(frame: pd.DataFrame) -> bool:
    return list(frame.columns) == list(INCIDENT_COLUMNS) and all(
        str(t) == INCIDENT_COLUMNS[c] for c, t in frame.dtypes.items())


def append_new(frame: pd.DataFrame, store_dir: str | os.PathLike) -> np.ndarray:
    """Write the rows of ``frame`` the store does not hold yet; return which rows were written.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical incident frame (see :func:`hotspots.schema.conform`). Not modified.
    store_dir : path-like
        Store folder; created if missing.

    Returns
    -------
    numpy.ndarray of bool
        One flag per row of ``frame``: True where the row was new and is now in the store; False
        where its ``incident_id`` was already stored or appeared earlier in ``frame``.

    Raises
    ------
    StoreError
        The store cannot be written, or a part it holds is damaged (run
        ``hotspots store check``).

    Notes
    -----
    Each partition file is written into a staging folder inside the store (hidden from readers
    by its leading dot), moved into its partition, and committed by swapping the manifest
    (:func:`hotspots.manifest.write_manifest`) once every file of the call is in place: a
    process killed at any point leaves the store holding all of the batch or none of it, and
    the next write removes what it left behind. Files are owner-only (``0600``, folders
    ``0700``).
    """
    store = Path(store_dir)
    data = frame if _is_canonical(frame) else conform(frame)
    bad = data["force"].isna() | data["month"].isna()
    if bad.any():
        raise ParameterError(f"{store}: {int(bad.sum())} rows have no force or month to "
                             "partition on")
    with writer_lock(store) as exclusive:
        man = prepare_store(store, exclusive)
        held = _ids(store, man.parts)
        ids = pa.array(data["incident_id"], from_pandas=True)
        new = ~np.asarray(pc.fill_null(pc.is_in(ids, value_set=held.combine_chunks()), False))
        new &= first_occurrence(data["incident_id"])
        rows = data if new.all() else data[new]
        if rows.empty:
            return new
        for key in rows["force"].unique():
            if not _SLUG.fullmatch(str(key)):
                raise ParameterError(f"{store}: force {key!r} is not a slug like 'warwickshire'")
        for key in rows["month"].unique():
            if not is_month(str(key)):
                raise ParameterError(f"{store}: month {key!r} is not in the form YYYY-MM")
        _commit(store, man, rows)
    return new


def _commit(store: Path, man: Manifest, rows: pd.DataFrame) -> None:
    """Stage, move and commit one batch (see :func:`append_new`); holding the writer lock."""
    tmp = store / f"{STAGING}{uuid.uuid4().hex}"
    moved: list[Path] = []
    committed = False
    try:
        private_dir(tmp, parents=False)
        staged, added = [], []
        # Part names sort in write order so a partition's rows read back in ingest order.
        stamp = f"{time.time_ns():020d}"
        for (force, month), part in rows.groupby(["force", "month"], sort=True,
                                                 observed=True):
            name = f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
            pq.write_table(_to_table(part), tmp / name, compression="zstd",
                           compression_level=1)
            make_private(tmp / name)
            rel = f"force={force}/month={month}/{name}"
            types = part["crime_type"].dropna().unique().tolist()
            added.append(Part(path=rel, force=str(force), month=str(month), rows=len(part),
                              size=(tmp / name).stat().st_size,
                              sha256=file_sha256(tmp / name),
                              crime_types=tuple(sorted(map(str, types)))))
            staged.append((tmp / name, store / rel))
        for src, dst in staged:
            private_dir(dst.parent)
            os.replace(src, dst)
            moved.append(dst)
        # The commit point: until the manifest is swapped, readers see none of the batch.
        write_manifest(store, [*man.parts, *added], man.quarantined)
        committed = True
    except OSError as exc:
        raise StoreError(f"{store}: cannot write the incident store ({exc})") from None
    finally:
        if not committed:
            for dst in moved:  # best effort; the next write removes what is left
                dst.unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)


def write_store(frame: pd.DataFrame, store_dir: str | os.PathLike) -> int:
    """Append the rows of ``frame`` whose ``incident_id`` the store does not hold yet.

    Writing the same rows twice changes nothing; an overlapping batch adds only its new rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical incident frame. Not modified.
    store_dir : path-like
        Store folder; created if missing.

    Returns
    -------
    int
        Number of rows written.
    """
    return int(append_new(frame, store_dir).sum())


def _check_sizes(store: Path, parts: Sequence[Part]) -> None:
    """Raise the damaged-part error for a selected part missing or not of its committed size:
    one ``stat`` per part, so a truncated file is named before Arrow trips over it."""
    for part in parts:
        try:
            size = os.stat(store / part.path).st_size
        except FileNotFoundError:
            raise damaged_error(store, part, "the file is missing") from None
        except OSError as exc:
            raise damaged_error(store, part, f"cannot be read ({exc.strerror})") from None
        if part.size is not None and size != part.size:
            raise damaged_error(store, part, f"{size} bytes on disk, {part.size} when "
                                             "written (truncated or overwritten)")


def _read_parts(store: Path, parts: Sequence[Part], columns: Sequence[str]) -> pa.Table:
    """Read ``columns`` of the given committed parts as one table.

    Only these files are opened, so a damaged part of another month does not stop the read.
    """
    _check_sizes(store, parts)
    try:
        dataset = ds.dataset([str(store / p.path) for p in parts], format="parquet",
                             partitioning=_PARTITIONING, partition_base_dir=str(store),
                             schema=_DATASET_SCHEMA)
        return dataset.to_table(columns=list(columns))
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    # Rare path: find which part fails, so the message names it.
    for part in parts:
        reason = verify_part(store, part, FILE_SCHEMA)
        if reason is not None:
            raise damaged_error(store, part, reason)
    raise StoreError(f"{store}: cannot read the incident store ({first}); run "
                     f"`hotspots store check --store {store}`")


def _types_mapper(t: pa.DataType):
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    return None


def _select(parts: Sequence[Part], months: Sequence[str] | None,
            forces: Sequence[str] | None) -> list[Part]:
    months = None if months is None else set(months)
    forces = None if forces is None else set(forces)
    return [p for p in parts if (months is None or p.month in months)
            and (forces is None or p.force in forces)]


def read_store(store_dir: str | os.PathLike, *, columns: Sequence[str] | None = None,
               months: Sequence[str] | None = None,
               forces: Sequence[str] | None = None) -> pd.DataFrame:
    """Read incidents from the store as a canonical frame.

    Parameters
    ----------
    store_dir : path-like
    columns : sequence of str, optional
        Canonical columns to read (default all). Fewer columns read faster.
    months : sequence of str, optional
        ``YYYY-MM`` months to read (default all); only their part files are opened.
    forces : sequence of str, optional
        Force slugs to read (default all).

    Returns
    -------
    pandas.DataFrame
        Canonical columns (all, or ``columns`` in the order given) with canonical dtypes.

    Raises
    ------
    StoreError
        The store is missing or empty, or a part of the months and forces asked for is damaged
        (the message names it and says to run ``hotspots store check``).
    """
    store, parts = _require(store_dir)
    wanted = list(INCIDENT_COLUMNS) if columns is None else list(columns)
    unknown = [c for c in wanted if c not in INCIDENT_COLUMNS]
    if unknown:
        raise ParameterError(f"unknown store column(s) {', '.join(unknown)}; choose from "
                             + ", ".join(INCIDENT_COLUMNS))
    chosen = _select(parts, months, forces)
    if chosen:
        table = _read_parts(store, chosen, wanted)
    else:
        table = _DATASET_SCHEMA.empty_table().select(wanted)
    frame = table.to_pandas(types_mapper=_types_mapper)
    if columns is None:
        return conform(frame)
    return pd.DataFrame({c: frame[c].astype(INCIDENT_COLUMNS[c]) for c in wanted},
                        index=frame.index)


def store_ids(store_dir: str | os.PathLike) -> pd.Index:
    """Return the ``incident_id`` of every stored incident (supports ``in`` and ``isin``)."""
    store, parts = _require(store_dir)
    return pd.Index(_ids(store, parts).to_pandas(types_mapper=_types_mapper),
                    name="incident_id")


def store_months(store_dir: str | os.PathLike, force: str | None = None) -> list[str]:
    """Return the months (``YYYY-MM``, sorted) the store holds, from the manifest alone:
    of any force, or of ``force`` (a slug) only."""
    _, parts = _require(store_dir)
    return sorted({p.month for p in parts if force is None or p.force == force})


def store_forces(store_dir: str | os.PathLike) -> list[str]:
    """Return the force slugs the store holds, sorted, from the manifest alone."""
    _, parts = _require(store_dir)
    return sorted({p.force for p in parts})


def store_crime_types(store_dir: str | os.PathLike) -> list[str]:
    """Return the distinct crime types the store holds, sorted (any force).

    From the manifest, which records each part's types, so no part is opened (a damaged part
    does not stop it); a store written before manifests reads its ``crime_type`` column.
    """
    store, parts = _require(store_dir)
    if any(p.rows is None for p in parts):
        column = _read_parts(store, parts, ["crime_type"]).column("crime_type")
        return sorted(column.unique().drop_null().to_pylist())
    return sorted({t for p in parts for t in p.crime_types})


def store_fingerprint(store_dir: str | os.PathLike) -> str:
    """Return a short hash of what the store has committed.

    The manifest's hash (read once per version of the file), so it changes exactly when a
    batch is committed or a part is set aside, and costs one ``stat`` on a dashboard click. A
    store written before manifests hashes its part files' names, sizes and mtimes.
    """
    store, parts = _require(store_dir)
    man = read_manifest(store)
    if man is not None:
        return man.digest
    h = hashlib.sha1()
    for p in parts:
        st = (store / p.path).stat()
        h.update(f"{p.path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def clear_store(store_dir: str | os.PathLike) -> None:
    """Delete the store's partitions (only ``force=*`` folders, staging leftovers and the
    manifest's list; other files are left alone).

    The emptied manifest is committed first, so a reader never sees a half-deleted store.
    """
    store = Path(store_dir)
    if not store.is_dir():
        return
    with writer_lock(store) as exclusive:
        try:
            man = read_manifest(store)
        except StoreError:  # an unreadable manifest is being cleared anyway
            man = None
        write_manifest(store, [], man.quarantined if man else ())
        clear_staging(store, older_than_s=0.0 if exclusive else STALE_STAGING_S)
        try:
            for d in store.glob("force=*"):
                shutil.rmtree(d)
        except OSError as exc:
            raise StoreError(f"{store}: cannot clear the incident store ({exc})") from None
