"""Read police.uk and force incident files into the canonical frame, accounting for every row."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import ParameterError, StoreError
from hotspots.filemodes import make_private
from hotspots.readers import Paths, as_paths, batches, discover, read_tables
from hotspots.schema import conform, empty_incidents
from hotspots.store import (
    append_new,
    build_lock,
    clear_store,
    first_occurrence,
    mark_building,
    store_exists,
)
from hotspots.validate import (
    REJECT_COLUMNS,
    ColumnMapping,
    ForceAreas,
    empty_rejects,
    normalise,
)

__all__ = [
    "IngestReport",
    "IngestResult",
    "build_default_store",
    "ingest",
    "read_incidents",
    "rejects_path",
]

#: "force" (each row in its own force's area), a shapely geometry in EPSG:27700, or None for
#: no check.
Boundary = str | BaseGeometry | None


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
# Public API

def _resolve_boundary(boundary: Boundary, buffer_m: float | None, settings: Settings
                      ) -> BaseGeometry | ForceAreas | None:
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
        return ForceAreas(settings, buf)
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
                   settings: Settings) -> IngestResult:
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
        Area located rows must fall in: ``"force"`` (default) the area of the row's own force
        - its "Falls within" (or mapped ``force``) column, else the force of a police.uk file
        name (``2025-01-essex-street.csv``), else the mapping's ``default_force`` or
        ``settings.force``; rows of British Transport Police or PSNI (no area in England and
        Wales) and of unknown forces are rejected with their own reason. Or a polygon in
        EPSG:27700, or None for no check. Rows without coordinates are never checked against
        an area.
    buffer_m : float, optional
        Metres allowed outside ``boundary`` (default ``settings.boundary_buffer_m``).
    settings : Settings

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
    area = _resolve_boundary(boundary, buffer_m, settings)
    files = [f for p in as_paths(paths) for f in discover(p)]
    # Read every file before validating any, so a bad file fails the call before work is done.
    tables = [t for f in files for t in read_tables(f, mapping)]
    frames, oks, rejects, names = [], [], [], []
    rows_read = 0
    for t in batches(tables):
        names += t.names
        rows_read += t.rows_read
        out, ok, bad = normalise(t, settings, area)
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
    rej = pd.concat(rejects, ignore_index=True) if rejects else empty_rejects()
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
    """Append rejects not already listed, so re-ingesting a file does not repeat its rejects.

    A reject is keyed like a stored row by what it holds, its reason and row text, not by
    where it was read: the same rows re-read from a renamed file, from inside a ZIP or at
    other line numbers are already recorded. Identical rows count as many times as they
    occur (police.uk repeats some rows), so only rows beyond those already listed are added.
    """
    try:
        if path.exists():
            old = pd.read_csv(path, dtype=str, keep_default_na=False)
            if list(old.columns) != list(REJECT_COLUMNS):
                raise StoreError(f"{path}: not a rejects file (columns {', '.join(old.columns)})")
            seen = Counter(zip(old["reason"], old["row"], strict=True))
            keep = []
            for key in zip(rejects["reason"].astype(str), rejects["row"].astype(str),
                           strict=True):
                keep.append(seen[key] == 0)
                seen[key] = max(seen[key] - 1, 0)
            new = rejects[keep]
            if len(new):
                new.to_csv(path, mode="a", header=False, index=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            rejects.to_csv(path, index=False, columns=list(REJECT_COLUMNS))
        make_private(path)  # rejected rows are incident data too
    except OSError as exc:
        raise StoreError(f"{path}: cannot write the rejects file ({exc.strerror})") from None


def ingest(paths: Paths, store_dir: str | os.PathLike, *, boundary: Boundary = "force",
           buffer_m: float | None = None, mapping: ColumnMapping | None = None,
           settings: Settings) -> IngestReport:
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


def build_default_store(settings: Settings, *, rebuild: bool = False
                        ) -> IngestReport | None:
    """Build the store from the shipped data if it is missing, empty or half-built (or
    ``rebuild``).

    Ingests ``<data_dir>/crime/<force>`` checked against its own force area with the default
    buffer, then ``<data_dir>/crime/neighbours`` (if present) checked against the configured
    force's area buffered :data:`NEIGHBOUR_BUFFER_M`: they are its near-border context rows.

    The build either completes or is redone: it holds the store's build lock (a second
    dashboard starting at once waits, then finds the store built) and a build marker from
    before its first batch until after its last, so a build killed part-way (some months, no
    neighbours) is found by the next run, cleared and built again.

    Parameters
    ----------
    settings : Settings
    rebuild : bool
        Delete the store's partitions and rejects file first.

    Returns
    -------
    IngestReport or None
        The combined report, or None when the store already held a complete build or data.
    """
    store = Path(settings.store_dir)
    with build_lock(store) as marker:
        unfinished = marker.exists()
        if not (rebuild or unfinished) and store_exists(store):
            return None
        if rebuild or unfinished:
            clear_store(store)
            rejects_path(store).unlink(missing_ok=True)
        mark_building(marker)
        crime = Path(settings.data_dir) / "crime"
        report = ingest(crime / settings.force, store, boundary="force", settings=settings)
        if (crime / "neighbours").is_dir():
            from hotspots.spatial.boundaries import force_area

            report = report.merged(ingest(crime / "neighbours", store,
                                          boundary=force_area(settings.force, settings),
                                          buffer_m=NEIGHBOUR_BUFFER_M, settings=settings))
        marker.unlink()
    return report
