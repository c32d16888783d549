"""The export audit log: one JSON line per export, who, when, what and with which filters."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from hotspots.audit import (
    LOG_SETTING,
    Actor,
    AuditError,
    check_log_writable,
    default_log_path,
    os_account,
    read_exports,
    record_export,
    release,
    resolve_user,
    staged_path,
)
from hotspots.config import load_settings
from hotspots.errors import HotspotsError


def lines(path: Path) -> list[dict]:
    return [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()]


def test_each_export_appends_one_json_line_with_time_user_what_and_filters(settings, tmp_path):
    log = tmp_path / "logs" / "exports.jsonl"
    filters = {"area": "Rugby", "start": "2025-01", "end": "2025-03", "groups": ["soc"]}
    first = record_export("map.png", filters, user="PS 1234", path=log, settings=settings)
    second = record_export("report", {"area": "Warwick"}, user="analyst", path=log,
                           settings=settings)
    got = lines(log)
    assert len(got) == 2
    assert got[0] == first and got[1] == second
    assert got[0]["user"] == "PS 1234" and got[0]["what"] == "map.png"
    assert got[0]["filters"] == filters
    assert got[1]["what"] == "report" and got[1]["filters"] == {"area": "Warwick"}
    stamp = datetime.fromisoformat(got[0]["time"].replace("Z", "+00:00"))
    assert stamp.utcoffset() == timedelta(0) and got[0]["time"].endswith("Z")
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60


def test_time_is_recorded_in_utc_whatever_zone_it_was_given_in(settings, tmp_path):
    log = tmp_path / "a.jsonl"
    bst = timezone(timedelta(hours=1))
    rec = record_export("x", {}, user="u", path=log, now=datetime(2025, 6, 1, 10, 30, tzinfo=bst),
                        settings=settings)
    assert rec["time"] == "2025-06-01T09:30:00Z"
    naive = record_export("x", {}, user="u", path=log, now=datetime(2025, 1, 2, 3, 4, 5),
                          settings=settings)
    assert naive["time"] == "2025-01-02T03:04:05Z"


def test_user_is_the_given_name_else_the_os_account_not_the_user_variable(settings,
                                                                          monkeypatch, tmp_path):
    import pwd

    account = pwd.getpwuid(os.getuid()).pw_name
    monkeypatch.setenv("USER", "someone_else")
    assert resolve_user("given") == "given"
    assert resolve_user(None) == resolve_user("  ") == account == os_account()
    rec = record_export("x", {}, path=tmp_path / "l.jsonl", settings=settings)
    assert (rec["user"], rec["user_kind"], rec["role"]) == (account, "os account", "local")
    rec = record_export("x", {}, path=tmp_path / "l.jsonl", settings=settings,
                        actor=Actor("ps1234@force.police.uk", "signed in", "analyst"))
    assert (rec["user"], rec["user_kind"], rec["role"]) == \
        ("ps1234@force.police.uk", "signed in", "analyst")


def test_default_log_sits_beside_the_store_and_only_the_settings_file_can_move_it(
        settings, tmp_path, monkeypatch):
    expected = Path(settings.store_dir).parent / "logs" / "exports.jsonl"
    assert default_log_path(settings) == expected
    record_export("report", {"area": "force"}, user="u", settings=settings)
    assert expected.is_file() and len(lines(expected)) == 1
    assert expected.stat().st_mode & 0o077 == 0  # owner only
    moved = tmp_path / "elsewhere" / "audit.jsonl"
    monkeypatch.setenv("HOTSPOTS_AUDIT_LOG", str(tmp_path / "ignored.jsonl"))
    conf = tmp_path / "admin.toml"
    conf.write_text(f'audit_log = "{moved}"\n')
    admin = load_settings(conf, env={"HOTSPOTS_AUDIT_LOG": "/dev/null"})
    assert default_log_path(admin) == moved
    record_export("report", {}, user="u", settings=admin)
    assert len(lines(moved)) == 1 and not (tmp_path / "ignored.jsonl").exists()


def test_a_log_that_is_not_a_regular_file_is_refused(settings, tmp_path):
    link = tmp_path / "null.jsonl"
    link.symlink_to("/dev/null")
    for log in (Path("/dev/null"), link):
        with pytest.raises(AuditError, match="not a regular file"):
            record_export("x", {}, path=log, settings=settings)
        with pytest.raises(AuditError, match="not a regular file"):
            check_log_writable(log, settings=settings)


def test_release_writes_the_line_with_size_and_digest_then_moves_the_files(settings,
                                                                          tmp_path):
    import hashlib

    out = tmp_path / "out" / "a.geojson"
    out.parent.mkdir()
    staged = staged_path(out)
    staged.write_bytes(b'{"type": "FeatureCollection"}')
    rec = release("kde", {"area": "Rugby"}, [(staged, out)], settings=settings,
                  path=tmp_path / "log.jsonl")
    assert out.read_bytes() == b'{"type": "FeatureCollection"}' and not staged.exists()
    assert rec["files"] == [{"name": "a.geojson", "path": str(out), "bytes": 29,
                             "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}]
    assert out.stat().st_mode & 0o077 == 0 and lines(tmp_path / "log.jsonl") == [rec]


def test_release_with_an_unwritable_log_leaves_nothing(settings, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = tmp_path / "b.csv"
    staged = staged_path(out)
    staged.write_text("x")
    with pytest.raises(AuditError):
        release("kde", {}, [(staged, out)], settings=settings, path=blocker / "log.jsonl")
    assert not out.exists() and not staged.exists()


def test_unwritable_location_raises_one_clear_line_not_a_traceback(settings, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    log = blocker / "logs" / "exports.jsonl"  # a folder cannot be made inside a file
    with pytest.raises(AuditError) as info:
        record_export("report", {"area": "Rugby"}, user="u", path=log, settings=settings)
    msg = str(info.value)
    assert "\n" not in msg and str(log) in msg and LOG_SETTING in msg
    assert isinstance(info.value, HotspotsError)
    with pytest.raises(AuditError):
        check_log_writable(log, settings=settings)


def test_check_log_writable_creates_the_folder_but_no_empty_log(settings, tmp_path):
    log = tmp_path / "deep" / "er" / "exports.jsonl"
    assert check_log_writable(log, settings=settings) == log
    assert log.parent.is_dir() and not log.exists()
    record_export("report", {"area": "Rugby"}, user="u", path=log, settings=settings)
    assert check_log_writable(log, settings=settings) == log and log.read_text().count("\n") == 1


def test_values_json_cannot_hold_are_written_as_json_friendly_values(settings, tmp_path):
    log = tmp_path / "l.jsonl"
    rec = record_export("x", {"n": np.int64(3), "share": np.float64(0.25), "set": {"b", "a"},
                              "path": tmp_path, "nan": float("nan"), "nested": {"k": (1, 2)}},
                        user="u", path=log, files=[tmp_path / "map.png"], settings=settings)
    got = lines(log)[0]
    assert got == rec
    assert got["filters"] == {"n": 3, "share": 0.25, "set": ["a", "b"], "path": str(tmp_path),
                              "nan": None, "nested": {"k": [1, 2]}}
    assert got["files"] == [str(tmp_path / "map.png")]


def test_read_exports_returns_records_in_order_and_rejects_an_altered_log(settings, tmp_path):
    log = tmp_path / "l.jsonl"
    assert read_exports(log, settings=settings) == []
    for i in range(3):
        record_export(f"e{i}", {"i": i}, user="u", path=log, settings=settings)
    assert [r["what"] for r in read_exports(log, settings=settings)] == ["e0", "e1", "e2"]
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("not json\n")
    with pytest.raises(AuditError, match=r":4: not a JSON audit record"):
        read_exports(log, settings=settings)


def test_concurrent_exports_never_interleave_lines(settings, tmp_path):
    log = tmp_path / "l.jsonl"

    def work(k: int) -> None:
        for i in range(40):
            record_export("report", {"thread": k, "i": i, "pad": "x" * 300}, user=f"u{k}",
                          path=log, settings=settings)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = lines(log)
    assert len(got) == 240
    assert sorted((r["filters"]["thread"], r["filters"]["i"]) for r in got) == \
        [(k, i) for k in range(6) for i in range(40)]


@pytest.mark.parametrize("what, filters", [("", {}), ("report", ["area"])])
def test_bad_arguments_are_refused_with_audit_errors(settings, tmp_path, what, filters):
    with pytest.raises(AuditError):
        record_export(what, filters, user="u", path=tmp_path / "l.jsonl", settings=settings)
    assert not (tmp_path / "l.jsonl").exists()


def test_the_log_and_its_new_folder_are_owner_only(settings, tmp_path):
    import stat

    log = tmp_path / "logs" / "exports.jsonl"
    record_export("report", {"area": "Rugby"}, path=log, settings=settings)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
