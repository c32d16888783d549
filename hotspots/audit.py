"""The export audit log: one JSON line per export, saying who exported what with which filters."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import stat
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotspots.config import Settings
from hotspots.errors import AuditError
from hotspots.filemodes import PRIVATE_FILE, make_private, private_dir

__all__ = ["Actor", "AuditError", "audited_bytes", "check_log_writable", "cli_actor",
           "default_log_path", "os_account", "read_exports", "record_export", "release",
           "resolve_user", "staged_path"]

#: Where the admin names the audit log: the ``audit_log`` key of the settings file. It is
#: never read from the environment, so a user cannot point it at ``/dev/null``.
LOG_SETTING = "audit_log"


@dataclass(frozen=True)
class Actor:
    """Who exports: a name, how it is known and the role it acts in.

    Attributes
    ----------
    name : str
        The signed-in user's e-mail or name, or the operating-system account.
    kind : str
        ``"signed in"`` (the identity provider said so), ``"os account"`` (the CLI, or the
        dashboard in single-user local mode: the account the process runs as).
    role : str
        ``viewer``, ``analyst`` or ``admin``; ``local`` in single-user local mode.
    """

    name: str
    kind: str = "os account"
    role: str = "local"


def os_account() -> str:
    """The operating-system account this process runs as (not ``$USER``, which anyone sets)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, OSError):  # an account with no passwd entry (e.g. a container's uid)
        return f"uid {os.getuid()}"


def cli_actor() -> Actor:
    """The command line's exporter: the OS account, labelled as such."""
    return Actor(os_account(), "os account", "local")


def default_log_path(settings: Settings) -> Path:
    """Return where export audit lines go.

    The settings' ``audit_log`` when the admin set one, else ``logs/exports.jsonl`` beside the
    incident store (``settings.store_dir.parent``): the log stays with the data it audits,
    e.g. ``data/logs/exports.jsonl`` for the shipped store.
    """
    if settings.audit_log:
        return Path(settings.audit_log)
    return Path(settings.store_dir).parent / "logs" / "exports.jsonl"


def resolve_user(user: str | None = None) -> str:
    """Return ``user`` if given, else the OS account (:func:`os_account`)."""
    if user is not None and str(user).strip():
        return str(user).strip()
    return os_account()


def _fail(path: Path, exc: OSError) -> AuditError:
    reason = exc.strerror or type(exc).__name__
    return AuditError(f"cannot write the export audit log {path} ({reason}); exports are not "
                      f"allowed without it: make the folder writable or set {LOG_SETTING} in "
                      "the settings file to a writable file")


def _check_regular(log: Path) -> None:
    """Refuse a log that is not a plain file (``/dev/null``, a FIFO, a device)."""
    try:
        mode = log.stat().st_mode  # follows links: a link to /dev/null is refused too
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _fail(log, exc) from None
    if not stat.S_ISREG(mode):
        raise AuditError(f"the export audit log {log} is not a regular file; exports are not "
                         f"allowed without a real log: set {LOG_SETTING} in the settings file "
                         "to a file")


def check_log_writable(path: str | os.PathLike | None = None, *,
                       settings: Settings) -> Path:
    """Make sure the audit log can take a line (creating its folder); return its path.

    Call it before writing an export, so that nothing leaves the system unaudited.

    Raises
    ------
    AuditError
        The folder cannot be created, the file cannot be opened for appending, or the log is
        not a regular file.
    """
    log = Path(path) if path is not None else default_log_path(settings)
    _check_regular(log)
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


def staged_path(final: str | os.PathLike) -> Path:
    """A hidden name beside ``final`` to write an export to before its audit line exists."""
    final = Path(final)
    return final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.partial")


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def release(what: str, filters: Mapping[str, Any],
            outputs: Sequence[tuple[str | os.PathLike, str | os.PathLike]], *,
            settings: Settings, actor: Actor | None = None,
            path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Write the audit line of staged export files, then move them into place.

    Parameters
    ----------
    what : str
        What is exported (e.g. ``"kde"``, ``"report"``).
    filters : mapping
        The selection and parameters behind it.
    outputs : sequence of (staged, final) paths
        Files written under :func:`staged_path` names, and where they go.
    settings : Settings
    actor : Actor, optional
        Default :func:`cli_actor`.
    path : path-like, optional
        Audit log; default :func:`default_log_path`.

    Returns
    -------
    dict
        The audit line; its ``files`` give each file's name, path, size and SHA-256.

    Raises
    ------
    AuditError
        The line could not be written: every staged file is deleted, nothing is released.
    """
    staged = [(Path(s), Path(f)) for s, f in outputs]
    try:
        files = [{"name": f.name, "path": str(f), "bytes": s.stat().st_size,
                  "sha256": _digest(s)} for s, f in staged]
        record = record_export(what, filters, actor=actor or cli_actor(), path=path,
                               settings=settings, files=files)
        for s, f in staged:
            os.chmod(s, 0o600)
            os.replace(s, f)
    except BaseException:
        for s, _ in staged:
            s.unlink(missing_ok=True)
        raise
    return record


def audited_bytes(what: str, filters: Mapping[str, Any], file_name: str, data: bytes, *,
                  settings: Settings, actor: Actor,
                  path: str | os.PathLike | None = None) -> bytes:
    """Write the audit line of one download (name, size, SHA-256), then return its bytes.

    The dashboard hands this to the download button as the file's producer, so the bytes
    exist on the server only once their line is written; an :class:`AuditError` releases
    nothing.
    """
    record_export(what, filters, actor=actor, path=path, settings=settings,
                  files=[{"name": file_name, "bytes": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()}])
    return data


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
                  files: Sequence[str | Mapping[str, Any]] | None = None,
                  now: datetime | None = None, actor: Actor | None = None
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
        Who exported (a name given by the caller); default the OS account. Ignored when
        ``actor`` is given.
    path : path-like, optional
        Audit log file; default :func:`default_log_path`. Its folder is created.
    settings : Settings
    files : sequence of str or mapping, optional
        Paths written, or ``{"name", "bytes", "sha256"[, "path"]}`` records, as ``files``.
    now : datetime, optional
        Time of the export (default now); recorded in UTC.
    actor : Actor, optional
        Who exported, how they are known and their role (default: ``user`` if given, else the
        OS account; role ``local``).

    Returns
    -------
    dict
        ``{"time": "2025-06-01T12:00:00Z", "user", "user_kind", "role", "what", "filters"
        [, "files"]}``: exactly the line written.

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
    if actor is None:
        given = user is not None and bool(str(user).strip())
        actor = Actor(resolve_user(user), "given" if given else "os account", "local")
    record: dict[str, Any] = {
        "time": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "user": actor.name,
        "user_kind": actor.kind,
        "role": actor.role,
        "what": what.strip(),
        "filters": _jsonable(dict(filters)),
    }
    if files is not None:
        record["files"] = [_jsonable(dict(f)) if isinstance(f, Mapping) else str(f)
                           for f in files]
    line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    log = Path(path) if path is not None else default_log_path(settings)
    _check_regular(log)
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
