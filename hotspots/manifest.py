"""The incident store's manifest: which part files are committed, swapped in atomically.

A store is ``force=<slug>/month=YYYY-MM/part-*.parquet`` files plus ``_manifest.json``, the
list of committed parts (path, force, month, rows, size, SHA-256, crime types). A batch is
committed by replacing the manifest with :func:`os.replace` after its parts are in place, so a
reader sees the whole batch or none of it: parts on disk that the manifest does not list are
leftovers of a writer that died, invisible to readers and removed by the next writer (or by
``hotspots store check``). A part found damaged is moved to ``_quarantine/`` and listed there
with its reason. A store written before the manifest existed has none: readers then list the
part files, and the next write or check adopts them (:func:`adopt_parts`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hotspots.errors import StoreError
from hotspots.filemodes import PRIVATE_FILE, make_private, private_dir

__all__ = ["BUILDING", "MANIFEST", "QUARANTINE", "Manifest", "Part", "adopt_parts",
           "clear_staging", "committed_parts", "file_sha256", "parts_on_disk", "quarantine",
           "read_manifest", "remove_orphans", "verify_part", "write_manifest"]

#: The manifest's file name, at the store's root.
MANIFEST = "_manifest.json"
#: Folder (at the store's root) holding parts found damaged, with their partition path.
QUARANTINE = "_quarantine"
#: Marker of a first-run build in progress (see :func:`hotspots.ingest.build_default_store`).
BUILDING = "_building"
#: Prefix of staging folders and files: hidden from readers by the leading dot.
STAGING = ".tmp-"
_PART_GLOB = "force=*/month=*/part-*.parquet"
_FORMAT = "hotspots-store"
_VERSION = 1


@dataclass(frozen=True)
class Part:
    """One committed part file.

    Attributes
    ----------
    path : str
        Path relative to the store, ``force=<slug>/month=YYYY-MM/part-*.parquet``.
    force, month : str
        Its partition keys.
    rows : int or None
        Rows it holds (None only for a store read before adoption).
    size : int or None
        File size when committed; a different size on disk means the file was damaged.
    sha256 : str or None
        SHA-256 of the file when committed.
    crime_types : tuple of str
        Distinct crime types it holds, so listing the store's types opens no part.
    """

    path: str
    force: str
    month: str
    rows: int | None = None
    size: int | None = None
    sha256: str | None = None
    crime_types: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """The manifest entry (plain JSON values)."""
        d = asdict(self)
        d["crime_types"] = list(self.crime_types)
        return d


@dataclass(frozen=True)
class Manifest:
    """A store's committed parts and its quarantined ones.

    Attributes
    ----------
    parts : tuple of Part
        Committed parts, in commit order.
    quarantined : tuple of dict
        Parts moved to ``_quarantine/``: ``path`` (where it was), ``moved_to``, ``rows``,
        ``reason``, ``time``.
    digest : str
        Short hash of the manifest's bytes (the store fingerprint); ``""`` when not read from
        a file (a store without manifest).
    """

    parts: tuple[Part, ...] = ()
    quarantined: tuple[dict, ...] = ()
    digest: str = ""

    def to_json(self) -> bytes:
        """The manifest file's bytes."""
        return json.dumps({"format": _FORMAT, "version": _VERSION,
                           "parts": [p.to_dict() for p in self.parts],
                           "quarantined": list(self.quarantined)},
                          indent=0, separators=(",", ":")).encode()


def _unreadable(store: Path, why: str) -> StoreError:
    return StoreError(f"{store / MANIFEST}: the store's manifest is unreadable ({why}); run "
                      "`hotspots store check` to rebuild it from the part files")


def _parse(store: Path, raw: bytes) -> Manifest:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _unreadable(store, f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise _unreadable(store, "not a hotspots store manifest")
    if doc.get("version") != _VERSION:
        raise StoreError(f"{store / MANIFEST}: manifest version {doc.get('version')!r} is not "
                         f"{_VERSION}; this version of hotspots cannot read the store")
    try:
        parts = tuple(Part(path=str(p["path"]), force=str(p["force"]), month=str(p["month"]),
                           rows=p.get("rows"), size=p.get("size"), sha256=p.get("sha256"),
                           crime_types=tuple(p.get("crime_types") or ()))
                      for p in doc["parts"])
        quarantined = tuple(dict(q) for q in doc.get("quarantined") or ())
    except (KeyError, TypeError, ValueError) as exc:
        raise _unreadable(store, f"bad entry: {exc}") from None
    for p in parts:
        # A listed path escaping the store (``..``) would let a manifest read any file.
        if ".." in Path(p.path).parts or Path(p.path).is_absolute():
            raise _unreadable(store, f"part path {p.path!r} leaves the store")
    return Manifest(parts=parts, quarantined=quarantined,
                    digest=hashlib.sha1(raw).hexdigest()[:16])


_CACHE: dict[str, tuple[tuple[int, int, int], Manifest]] = {}


def read_manifest(store_dir: str | os.PathLike) -> Manifest | None:
    """Return the store's manifest, or None when it has none (missing, or older than
    manifests).

    Parsed once per version of the file (keyed by its inode, size and mtime), since the
    dashboard reads the store on every click.

    Raises
    ------
    StoreError
        The manifest exists but cannot be read or parsed.
    """
    store = Path(store_dir)
    path = store / MANIFEST
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unreadable(store, exc.strerror or str(exc)) from None
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    hit = _CACHE.get(str(path))
    if hit is not None and hit[0] == key:
        return hit[1]
    try:
        raw = path.read_bytes()
    except FileNotFoundError:  # replaced between stat and read: read the new one
        return read_manifest(store)
    except OSError as exc:
        raise _unreadable(store, exc.strerror or str(exc)) from None
    man = _parse(store, raw)
    if len(_CACHE) > 8:
        _CACHE.clear()
    _CACHE[str(path)] = (key, man)
    return man


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; its renames are durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_manifest(store_dir: str | os.PathLike, parts: Sequence[Part],
                   quarantined: Sequence[dict] = ()) -> Manifest:
    """Commit ``parts`` as the store's content: write the manifest beside the old one, flush it
    to disk and swap it in with :func:`os.replace` (atomic), so readers see the old list or the
    new one, never a mix. Call it holding the writer lock.

    Returns
    -------
    Manifest
        What was written, with its digest.
    """
    store = Path(store_dir)
    man = Manifest(parts=tuple(parts), quarantined=tuple(quarantined))
    raw = man.to_json()
    tmp = store / f"{STAGING}manifest-{uuid.uuid4().hex}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            os.write(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)
        make_private(tmp)
        os.replace(tmp, store / MANIFEST)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"{store}: cannot commit the incident store's manifest ({exc})"
                         ) from None
    _fsync_dir(store)
    return Manifest(parts=man.parts, quarantined=man.quarantined,
                    digest=hashlib.sha1(raw).hexdigest()[:16])


def _keys(rel: str) -> tuple[str, str]:
    force, month = Path(rel).parts[:2]
    return force.split("=", 1)[1], month.split("=", 1)[1]


def parts_on_disk(store_dir: str | os.PathLike) -> list[str]:
    """Every part file under the store's partition folders, committed or not (sorted relative
    paths)."""
    store = Path(store_dir)
    return sorted(p.relative_to(store).as_posix() for p in store.glob(_PART_GLOB))


def committed_parts(store_dir: str | os.PathLike) -> tuple[Part, ...]:
    """The parts a reader sees: the manifest's, or for a store without manifest every part
    file on disk (a store written before manifests)."""
    man = read_manifest(store_dir)
    if man is not None:
        return man.parts
    return tuple(Part(path=rel, force=_keys(rel)[0], month=_keys(rel)[1])
                 for rel in parts_on_disk(store_dir))


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def clear_staging(store_dir: str | os.PathLike, *, older_than_s: float = 0.0) -> int:
    """Remove staging leftovers (``.tmp-*`` folders and files) of writers that died; return how
    many. Call it holding the writer lock (then every leftover is dead: ``older_than_s`` 0)."""
    now = time.time()
    n = 0
    for d in Path(store_dir).glob(f"{STAGING}*"):
        try:
            if older_than_s and now - d.lstat().st_mtime <= older_than_s:
                continue
            if d.is_dir() and not d.is_symlink():
                shutil.rmtree(d)
            else:
                d.unlink()
            n += 1
        except OSError:
            pass
    return n


def remove_orphans(store_dir: str | os.PathLike, listed: Iterable[str]) -> list[str]:
    """Delete part files the manifest does not list (a batch whose commit never happened) and
    partition folders left empty; return the removed paths. Call it holding the writer lock."""
    store = Path(store_dir)
    keep = set(listed)
    removed = []
    for rel in parts_on_disk(store):
        if rel not in keep:
            try:
                (store / rel).unlink()
                removed.append(rel)
            except OSError:
                pass
    for d in sorted(store.glob("force=*/month=*")) + sorted(store.glob("force=*")):
        try:
            d.rmdir()  # only when empty
        except OSError:
            pass
    return removed


def verify_part(store_dir: str | os.PathLike, part: Part, schema: pa.Schema, *,
                full: bool = True) -> str | None:
    """Return why ``part`` is damaged, or None when it is sound.

    Checks, cheapest first: the file exists, has its committed size and SHA-256, its Parquet
    footer reads, its columns are ``schema``'s, its row count is the committed one and (with
    ``full``) every page decodes.
    """
    path = Path(store_dir) / part.path
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "the file is missing"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if part.size is not None and size != part.size:
        return f"{size} bytes on disk, {part.size} when written (truncated or overwritten)"
    try:
        if part.sha256 is not None and file_sha256(path) != part.sha256:
            return "its content changed since it was written (SHA-256 differs)"
        meta = pq.ParquetFile(path)
        names = meta.schema_arrow.names
        if names != schema.names:
            return f"unexpected columns ({', '.join(names[:6])}...)"
        rows = meta.metadata.num_rows
        if part.rows is not None and rows != part.rows:
            return f"{rows} rows, {part.rows} when written"
        if full:
            meta.read()
    except (OSError, pa.ArrowException) as exc:
        return f"not readable Parquet ({str(exc).splitlines()[0]})"
    return None


def describe_part(store_dir: str | os.PathLike, rel: str, schema: pa.Schema,
                  crime_column: str = "crime_type") -> Part:
    """A manifest entry for a part file already in place (adoption): its rows, size, SHA-256
    and crime types, read from the file.

    Raises
    ------
    OSError, pyarrow.ArrowException
        The file cannot be read as a part of ``schema``.
    """
    path = Path(store_dir) / rel
    f = pq.ParquetFile(path)
    if f.schema_arrow.names != schema.names:
        raise pa.ArrowInvalid(f"unexpected columns ({', '.join(f.schema_arrow.names[:6])}...)")
    table = f.read()  # every page, so a damaged one is found now rather than by a reader
    types = table.column(crime_column).unique().drop_null().to_pylist()
    force, month = _keys(rel)
    return Part(path=rel, force=force, month=month, rows=table.num_rows,
                size=path.stat().st_size, sha256=file_sha256(path),
                crime_types=tuple(sorted(types)))


def quarantine(store_dir: str | os.PathLike, rel: str, reason: str,
               rows: int | None = None) -> dict:
    """Move a damaged part to ``_quarantine/<its partition path>``; return its quarantine
    entry (``path``, ``moved_to``, ``rows``, ``reason``, ``time``). A missing file is only
    recorded."""
    store = Path(store_dir)
    src = store / rel
    dst = store / QUARANTINE / rel
    moved_to = None
    if src.exists():
        private_dir(dst.parent)
        if dst.exists():
            dst = dst.with_name(f"{dst.stem}-{uuid.uuid4().hex[:8]}{dst.suffix}")
        os.replace(src, dst)
        moved_to = dst.relative_to(store).as_posix()
    return {"path": rel, "moved_to": moved_to, "rows": rows, "reason": reason,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def adopt_parts(store_dir: str | os.PathLike, schema: pa.Schema
                ) -> tuple[list[Part], list[dict]]:
    """Describe every part file on disk for a store that has no manifest yet: the parts that
    read soundly, and quarantine entries for those that do not (moved to ``_quarantine/``)."""
    parts, bad = [], []
    for rel in parts_on_disk(store_dir):
        try:
            parts.append(describe_part(store_dir, rel, schema))
        except (OSError, pa.ArrowException) as exc:
            why = f"not readable Parquet ({str(exc).splitlines()[0]})"
            bad.append(quarantine(store_dir, rel, why))
    return parts, bad
