"""The export audit log: one JSON line per export, saying who exported what with which filters."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotspots.config import Settings
from hotspots.errors import AuditError
from hotspots.filemodes import PRIVATE_FILE, make_private, private_dir

__all__ = ["AuditError", "check_log_writable", "default_log_path", "read_exports",
           "record_export", "resolve_user"]

#: Environment variable naming the audit log file (overrides the default location).
LOG_ENV = "HOTSPOTS_AUDIT_LOG"


def default_log_path(settings: Settings, env: Mapping[str, str] | None = None
                     ) -> Path:
    """Return where export audit lines go.

    ``$HOTSPOTS_AUDIT_LOG`` when set, else ``logs/exports.jsonl`` beside the incident store
    (``settings.store_dir.parent``): the log stays with the data it audits, e.g.
    ``data/logs/exports.jsonl`` for the shipped store.
    """
    env = os.environ if env is None else env
    if env.get(LOG_ENV):
        return Path(env[LOG_ENV])
    return Path(settings.store_dir).parent / "logs" / "exports.jsonl"


def resolve_user(user: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Return ``user`` if given, else ``$USER``, else ``$USERNAME``, else ``"unknown"``."""
    if user is not None and str(user).strip():
        return str(user).strip()
    env = os.environ if env is None else env
    for key in ("USER", "USERNAME"):
        if env.get(key, "").strip():
            return env[key].strip()
    return "unknown"


def _fail(path: Path, exc: OSError) -> AuditError:
    reason = exc.strerror or type(exc).__name__
    return AuditError(f"cannot write the export audit log {path} ({reason}); exports are not "
                      f"allowed without it: make the folder writable or set {LOG_ENV} to a "
                      "writable file")


def check_log_writable(path: str | os.PathLike | None = None, *,
                       settings: Settings) -> Path:
    """Make sure the audit log can take a line (creating its folder); return its path.

    Call it before writing an export, so that nothing leaves the system unaudited.

    Raises
    ------
    AuditError
        The folder cannot be created or the file cannot be opened for appending.
    """
    log = Path(path) if path is not None else default_log_path(settings)
    try:
        private_dir(log.parent)
        if log.exists():
            fd = os.open(log, os.O_WRONLY | os.O_APPEND)
            os.close(fd)
        elif not os.access(log.parent, os.W_OK | os.X_OK):
            # The log is created by the first export, not by this check: opening the
            # dashboard leaves no empty audit file behind.
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise _fail(log, exc) from None
    return log


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_jsonable(v) for v in items]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def record_export(what: str, filters: Mapping[str, Any], *, user: str | None = None,
                  path: str | os.PathLike | None = None, settings: Settings,
                  files: Sequence[str] | None = None, now: datetime | None = None
                  ) -> dict[str, Any]:
    """Append one JSON line to the export audit log and return the record written.

    Parameters
    ----------
    what : str
        What was exported, e.g. ``"report"``, ``"hotspots.geojson"``, ``"map.png"``.
    filters : mapping
        The selection behind it (area, period, crime groups or types, marking, ...); values
        that JSON cannot hold are written as text.
    user : str, optional
        Who exported; default ``$USER``, else ``$USERNAME``, else ``"unknown"``.
    path : path-like, optional
        Audit log file; default :func:`default_log_path`. Its folder is created.
    settings : Settings
    files : sequence of str, optional
        Paths written, recorded as ``files``.
    now : datetime, optional
        Time of the export (default now); recorded in UTC.

    Returns
    -------
    dict
        ``{"time": "2025-06-01T12:00:00Z", "user", "what", "filters"[, "files"]}``: exactly
        the line written.

    Raises
    ------
    AuditError
        The log cannot be written (a read-only folder, a full disk): one line saying which file
        and what to do.
    """
    if not isinstance(what, str) or not what.strip():
        raise AuditError("record_export needs what was exported, e.g. 'report'")
    if not isinstance(filters, Mapping):
        raise AuditError(f"record_export filters must be a mapping, got {type(filters).__name__}")
    when = (now or datetime.now(UTC))
    when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    record: dict[str, Any] = {
        "time": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "user": resolve_user(user),
        "what": what.strip(),
        "filters": _jsonable(dict(filters)),
    }
    if files is not None:
        record["files"] = [str(f) for f in files]
    line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    log = Path(path) if path is not None else default_log_path(settings)
    try:
        private_dir(log.parent)
        # One write on an O_APPEND descriptor: concurrent exports never interleave lines.
        # Owner-only: the lines name who exported which places and crimes.
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        try:
            written = os.write(fd, line)
        finally:
            os.close(fd)
        if written != len(line):
            raise OSError(28, "short write (disk full?)")
        make_private(log)  # a log created by an older version
    except OSError as exc:
        raise _fail(log, exc) from None
    return record


def read_exports(path: str | os.PathLike | None = None, *,
                 settings: Settings) -> list[dict[str, Any]]:
    """Return the audit log's records, oldest first (empty when there is no log yet).

    Raises
    ------
    AuditError
        The file cannot be read, or a line is not a JSON object (names the line).
    """
    log = Path(path) if path is not None else default_log_path(settings)
    try:
        text = log.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AuditError(f"cannot read the export audit log {log} "
                         f"({exc.strerror or type(exc).__name__})") from None
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError:
            rec = None
        if not isinstance(rec, dict):
            raise AuditError(f"{log}:{n}: not a JSON audit record; the log has been altered")
        out.append(rec)
    return out
