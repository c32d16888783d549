"""``hotspots store check``: every part verified, a damaged one quarantined with its reason, the
other months still analysable, no traceback for a damaged store."""

from __future__ import annotations

import json
import shutil

import pytest

from hotspots.cli import main
from hotspots.errors import StoreError
from hotspots.ingest import read_incidents
from hotspots.manifest import MANIFEST, QUARANTINE, read_manifest
from hotspots.query import crime_types
from hotspots.store import read_store, store_months, write_store
from hotspots.store_check import check_store


@pytest.fixture
def small_store(tmp_path, settings, police_row, write_police_csv):
    """A store of three months, two incidents each."""
    rows = [police_row(place, month=m) for m in ("2025-01", "2025-02", "2025-03")
            for place in ("warwick", "rugby")]
    f = write_police_csv(tmp_path / "in.csv", rows)
    store = tmp_path / "store"
    write_store(read_incidents(f, boundary=None, settings=settings).incidents, store)
    return store, f


def _truncate(store, month: str, force: str = "warwickshire") -> str:
    part = next((store / f"force={force}" / f"month={month}").glob("part-*.parquet"))
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    return part.relative_to(store).as_posix()


def test_check_of_a_sound_store_reports_every_part_ok(small_store):
    store, _ = small_store
    report = check_store(store)
    assert (report.parts_checked, report.ok, report.rows) == (3, 3, 6)
    assert report.corrupt == [] and report.quarantined == [] and report.manifest == "ok"


def test_a_truncated_part_is_named_by_reads_of_its_month_only(small_store):
    store, _ = small_store
    bad = _truncate(store, "2025-02")
    assert len(read_store(store, months=["2025-01", "2025-03"])) == 4
    with pytest.raises(StoreError, match="hotspots store check") as info:
        read_store(store)
    assert bad in str(info.value) and "\n" not in str(info.value)
    assert "truncated" in str(info.value)


def test_check_quarantines_a_truncated_part_and_its_rows_come_back_by_ingesting_again(
        small_store, settings):
    store, f = small_store
    bad = _truncate(store, "2025-02")
    report = check_store(store)
    assert (report.parts_checked, report.ok, len(report.corrupt)) == (3, 2, 1)
    assert report.corrupt[0]["part"] == bad and report.corrupt[0]["rows"] == 2
    assert "truncated" in report.corrupt[0]["reason"]
    assert report.quarantined[0]["moved_to"] == f"{QUARANTINE}/{bad}"
    assert (store / QUARANTINE / bad).exists() and not (store / bad).exists()
    assert len(read_store(store)) == 4 and store_months(store) == ["2025-01", "2025-03"]
    assert read_manifest(store).quarantined[0]["path"] == bad
    # Checked again: sound, the earlier quarantine remembered.
    again = check_store(store)
    assert again.corrupt == [] and again.earlier_quarantined == 1
    assert write_store(read_incidents(f, boundary=None, settings=settings).incidents,
                       store) == 2
    assert len(read_store(store)) == 6


def test_a_part_overwritten_with_same_size_is_found_by_its_checksum(small_store):
    store, _ = small_store
    part = next((store / "force=warwickshire" / "month=2025-03").glob("part-*.parquet"))
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    report = check_store(store)
    assert len(report.corrupt) == 1 and "SHA-256" in report.corrupt[0]["reason"]


def test_check_removes_staging_leftovers_and_adopts_an_older_store(small_store):
    store, _ = small_store
    (store / ".tmp-deadbeef").mkdir()
    (store / ".tmp-deadbeef" / "part-x.parquet").write_bytes(b"half")
    (store / MANIFEST).unlink()
    bad = _truncate(store, "2025-01")
    report = check_store(store)
    assert report.staging_removed == 1 and not list(store.glob(".tmp-*"))
    assert report.manifest.startswith("created")
    assert [c["part"] for c in report.corrupt] == [bad]
    assert sorted(p.month for p in read_manifest(store).parts) == ["2025-02", "2025-03"]


def test_check_rebuilds_an_unreadable_manifest_from_the_parts(small_store):
    store, _ = small_store
    (store / MANIFEST).write_text("garbage")
    report = check_store(store)
    assert report.manifest.startswith("rebuilt") and report.ok == 3
    assert len(read_store(store)) == 6


def test_crime_types_are_listed_with_a_damaged_part(small_store, settings):
    store, _ = small_store
    _truncate(store, "2025-02")
    assert crime_types(store, settings=settings) == ["Burglary"]


@pytest.fixture
def damaged_shipped(store, tmp_path):
    """A copy of the session's shipped store with one part of 2025-05 truncated."""
    copy = tmp_path / "shipped"
    shutil.copytree(store, copy)
    return copy, _truncate(copy, "2025-05")


def test_cli_on_a_damaged_store_other_months_work_and_the_damaged_one_names_the_fix(
        damaged_shipped, capsys):
    copy, bad = damaged_shipped
    kde = ["kde", "--store", str(copy), "--group", "acquisitive", "--bandwidth", "500"]
    assert main([*kde, "--from", "2025-10", "--to", "2025-12"]) == 0
    capsys.readouterr()
    assert main([*kde, "--from", "2025-04", "--to", "2025-06"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert bad in err and f"hotspots store check --store {copy}" in err
    # The advised repair: check, then the month reads without the part set aside.
    assert main(["store", "check", "--store", str(copy), "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["parts_checked"] == d["ok"] + 1
    assert [c["part"] for c in d["corrupt"]] == [bad] and d["corrupt"][0]["reason"]
    assert d["quarantined"][0]["path"] == bad
    assert main([*kde, "--from", "2025-04", "--to", "2025-06"]) == 0
    capsys.readouterr()
    assert main(["store", "check", "--store", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "0 corrupt" in out and "set aside by earlier checks" in out


def test_cli_store_check_text_names_the_corrupt_part_and_how_to_restore_it(small_store,
                                                                          capsys):
    store, _ = small_store
    bad = _truncate(store, "2025-02")
    assert main(["store", "check", "--store", str(store)]) == 1
    out = capsys.readouterr().out
    assert "3 parts checked, 2 ok" in out and "1 corrupt, 1 quarantined" in out
    assert f"corrupt: {bad}" in out and "ingest the files of warwickshire 2025-02" in out


def test_no_command_answers_an_unreadable_manifest_with_a_traceback(small_store, capsys):
    store, f = small_store
    (store / MANIFEST).write_text("garbage")
    for argv in (["kde", "--store", str(store), "--group", "acquisitive", "--from", "2025-01",
                  "--to", "2025-03", "--bandwidth", "500"],
                 ["ingest", "--store", str(store), "--boundary", "none", str(f)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "hotspots store check" in err, err


def test_store_check_of_a_missing_store_is_one_line(tmp_path, capsys):
    assert main(["store", "check", "--store", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
