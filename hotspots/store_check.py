"""``hotspots store check``: verify every part of the incident store and set damaged ones aside.

A damaged part (truncated, overwritten, unreadable, missing) is moved to ``_quarantine/`` and
dropped from the manifest, so every analysis that does not need its rows works again; its
rows come back by ingesting that month's files again (the store no longer holds their ids).
The check also removes staging leftovers and uncommitted part files of writers that died,
gives a store written before manifests (or with an unreadable one) a manifest, and makes the
store owner-only.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hotspots.errors import StoreError
from hotspots.filemodes import private_tree
from hotspots.manifest import (
    BUILDING,
    QUARANTINE,
    adopt_parts,
    clear_staging,
    quarantine,
    read_manifest,
    remove_orphans,
    verify_part,
    write_manifest,
)
from hotspots.store import FILE_SCHEMA, STALE_STAGING_S, writer_lock

__all__ = ["CheckReport", "check_store"]


@dataclass
class CheckReport:
    """What :func:`check_store` found and did.

    Attributes
    ----------
    store : str
    parts_checked : int
        Committed parts verified (size, SHA-256, footer, columns, rows, every page).
    ok : int
        Parts found sound.
    rows : int
        Rows in the sound parts.
    corrupt : list of dict
        One per damaged part: ``part``, ``force``, ``month``, ``rows`` (as committed, or
        None), ``reason``.
    quarantined : list of dict
        The parts this check set aside: ``path``, ``moved_to`` (under ``_quarantine/``, None
        for a missing file), ``rows``, ``reason``, ``time``.
    earlier_quarantined : int
        Parts set aside by earlier checks (listed in the manifest).
    staging_removed : int
        Staging leftovers (``.tmp-*``) of writers that died, removed.
    uncommitted_removed : list of str
        Part files of batches whose commit never happened, removed.
    manifest : str
        ``ok``, ``created`` (a store written before manifests: its parts adopted) or
        ``rebuilt`` (it was unreadable: every readable part file adopted).
    unfinished_build : bool
        A first-run build of the default store was killed part-way; the next command (or
        the dashboard) builds it again.
    permissions_fixed : int
        Files and folders made owner-only (0600 / 0700).
    """

    store: str
    parts_checked: int = 0
    ok: int = 0
    rows: int = 0
    corrupt: list[dict] = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)
    earlier_quarantined: int = 0
    staging_removed: int = 0
    uncommitted_removed: list[str] = field(default_factory=list)
    manifest: str = "ok"
    unfinished_build: bool = False
    permissions_fixed: int = 0

    def to_dict(self) -> dict:
        """The report as plain JSON-ready types."""
        return asdict(self)

    def lines(self) -> list[str]:
        """The report as the command's text output."""
        out = [f"store {self.store}: {self.parts_checked} parts checked, {self.ok} ok "
               f"({self.rows:,} rows), {len(self.corrupt)} corrupt, "
               f"{len(self.quarantined)} quarantined"]
        for c in self.corrupt:
            rows = "" if c["rows"] is None else f", {c['rows']:,} rows"
            out.append(f"  corrupt: {c['part']} ({c['force']}, {c['month']}{rows}): "
                       f"{c['reason']}")
        for q in self.quarantined:
            where = f"moved to {q['moved_to']}" if q["moved_to"] else "file was missing"
            out.append(f"  quarantined: {q['path']} ({where})")
        if self.corrupt:
            months = sorted({(c["force"], c["month"]) for c in self.corrupt})
            out.append("  the other months read as before; to restore the rows set aside, "
                       "ingest the files of " + ", ".join(f"{f} {m}" for f, m in months)
                       + " again (hotspots ingest FILES)")
        if self.manifest != "ok":
            out.append(f"manifest: {self.manifest}")
        if self.staging_removed or self.uncommitted_removed:
            out.append(f"removed {self.staging_removed} staging leftover(s) and "
                       f"{len(self.uncommitted_removed)} uncommitted part file(s) of "
                       "interrupted writes")
        if self.earlier_quarantined:
            out.append(f"{self.earlier_quarantined} part(s) set aside by earlier checks are "
                       f"in {QUARANTINE}/")
        if self.unfinished_build:
            out.append("a first-run build was interrupted: the next hotspots command or the "
                       "dashboard builds the store again")
        if self.permissions_fixed:
            out.append(f"made {self.permissions_fixed} file(s) and folder(s) owner-only")
        return out


def check_store(store_dir: str | os.PathLike) -> CheckReport:
    """Verify every committed part of the store; set damaged ones aside; tidy what interrupted
    writes left.

    Holds the writer lock, so it never mistakes a running ingest's parts for leftovers.

    Parameters
    ----------
    store_dir : path-like

    Returns
    -------
    CheckReport

    Raises
    ------
    StoreError
        The store folder does not exist, or it cannot be written.
    """
    store = Path(store_dir)
    if not store.is_dir():
        raise StoreError(f"{store}: incident store is missing; run `hotspots ingest <files>` "
                         "to build it")
    report = CheckReport(store=str(store))
    try:
        with writer_lock(store) as exclusive:
            report.staging_removed = clear_staging(
                store, older_than_s=0.0 if exclusive else STALE_STAGING_S)
            try:
                man = read_manifest(store)
            except StoreError:
                man, report.manifest = None, "rebuilt (it was unreadable)"
            if man is None:
                _adopt(store, report)
            else:
                _verify(store, man, report)
            report.unfinished_build = (store / BUILDING).exists()
            report.permissions_fixed = private_tree(store)
    except OSError as exc:
        raise StoreError(f"{store}: cannot check the incident store ({exc})") from None
    return report


def _corrupt(part, reason: str) -> dict:
    return {"part": part.path, "force": part.force, "month": part.month, "rows": part.rows,
            "reason": reason}


def _adopt(store: Path, report: CheckReport) -> None:
    """A store without a (readable) manifest: every readable part file becomes committed."""
    if report.manifest == "ok":
        report.manifest = "created (the store predates manifests; its parts were adopted)"
    parts, bad = adopt_parts(store, FILE_SCHEMA)
    report.parts_checked = len(parts) + len(bad)
    report.ok = len(parts)
    report.rows = sum(p.rows or 0 for p in parts)
    for q in bad:
        force, month = (s.split("=", 1)[1] for s in Path(q["path"]).parts[:2])
        report.corrupt.append({"part": q["path"], "force": force, "month": month,
                               "rows": None, "reason": q["reason"]})
    report.quarantined = bad
    write_manifest(store, parts, bad)


def _verify(store: Path, man, report: CheckReport) -> None:
    report.earlier_quarantined = len(man.quarantined)
    report.uncommitted_removed = remove_orphans(store, [p.path for p in man.parts])
    good = []
    for part in man.parts:
        reason = verify_part(store, part, FILE_SCHEMA, full=True)
        if reason is None:
            good.append(part)
            continue
        report.corrupt.append(_corrupt(part, reason))
        report.quarantined.append(quarantine(store, part.path, reason, part.rows))
    report.parts_checked = len(man.parts)
    report.ok = len(good)
    report.rows = sum(p.rows or 0 for p in good)
    if report.quarantined:
        # One manifest swap: readers see the store with the damaged parts, or without them.
        write_manifest(store, good, [*man.quarantined, *report.quarantined])
