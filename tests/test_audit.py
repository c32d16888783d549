"""The export audit log: one JSON line per export, who, when, what and with which filters."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from hotspots.audit import (
    LOG_ENV,
    AuditError,
    check_log_writable,
    default_log_path,
    read_exports,
    record_export,
    resolve_user,
)
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


def test_user_comes_from_argument_then_user_then_username_then_unknown(settings, monkeypatch,
                                                                       tmp_path):
    monkeypatch.setenv("USER", "from_user")
    monkeypatch.setenv("USERNAME", "from_username")
    assert resolve_user("given") == "given"
    assert resolve_user(None) == "from_user"
    monkeypatch.delenv("USER")
    assert resolve_user() == "from_username"
    monkeypatch.delenv("USERNAME")
    assert resolve_user() == "unknown"
    assert record_export("x", {}, path=tmp_path / "l.jsonl", settings=settings)["user"] == "unknown"
    assert resolve_user("  ", env={"USER": "env_user"}) == "env_user"


def test_default_log_sits_beside_the_store_and_the_environment_can_move_it(settings, tmp_path,
                                                                         monkeypatch):
    monkeypatch.delenv(LOG_ENV, raising=False)
    expected = Path(settings.store_dir).parent / "logs" / "exports.jsonl"
    assert default_log_path(settings) == expected
    record_export("report", {"area": "force"}, user="u", settings=settings)
    assert expected.is_file() and len(lines(expected)) == 1
    moved = tmp_path / "elsewhere" / "audit.jsonl"
    assert default_log_path(settings, env={LOG_ENV: str(moved)}) == moved
    monkeypatch.setenv(LOG_ENV, str(moved))
    record_export("report", {}, user="u", settings=settings)
    assert len(lines(moved)) == 1 and len(lines(expected)) == 1


def test_unwritable_location_raises_one_clear_line_not_a_traceback(settings, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    log = blocker / "logs" / "exports.jsonl"  # a folder cannot be made inside a file
    with pytest.raises(AuditError) as info:
        record_export("report", {"area": "Rugby"}, user="u", path=log, settings=settings)
    msg = str(info.value)
    assert "\n" not in msg and str(log) in msg and LOG_ENV in msg
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
