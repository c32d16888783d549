"""The store's manifest: a batch visible all at once or not at all, leftovers removed, stores
from before manifests adopted, owner-only modes."""

from __future__ import annotations

import hashlib
import json
import stat

import pandas as pd
import pytest
from support import run_killed_after

from hotspots.errors import StoreError
from hotspots.ingest import ingest, read_incidents, rejects_path
from hotspots.manifest import MANIFEST, parts_on_disk, read_manifest
from hotspots.store import read_store, store_fingerprint, store_months, write_store

_WRITE = """
from hotspots.config import load_settings
from hotspots.ingest import read_incidents
from hotspots.store import write_store
settings = load_settings(env={}).with_(data_dir=Path(args[2]))
frame = read_incidents(args[0], boundary=None, settings=settings).incidents
write_store(frame, args[1])
"""


@pytest.fixture
def incidents_csv(tmp_path, police_row, write_police_csv):
    """Five incidents in five partitions (two forces, three months)."""
    rows = [
        police_row("warwick", crime_id="w1", month="2025-01"),
        police_row("rugby", crime_id="w2", month="2025-02"),
        police_row("nuneaton", crime_id="w3", month="2025-03"),
        police_row("redditch", crime_id="m1", month="2025-01",
                   falls_within="West Mercia Police", reported_by="West Mercia Police"),
        police_row("redditch", crime_id="m2", month="2025-03",
                   falls_within="West Mercia Police", reported_by="West Mercia Police"),
    ]
    return write_police_csv(tmp_path / "in.csv", rows)


@pytest.fixture
def incidents(incidents_csv, settings) -> pd.DataFrame:
    return read_incidents(incidents_csv, boundary=None, settings=settings).incidents


def _ids(store) -> list[str]:
    return sorted(read_store(store, columns=["incident_id"])["incident_id"])


# Five part moves then the manifest swap: killed before any move, mid-way, with every part
# moved but the manifest not swapped, and not at all (the batch completes).
@pytest.mark.parametrize("moves", [0, 2, 5, 6])
def test_a_batch_killed_during_its_commit_is_all_or_nothing(tmp_path, settings, police_row,
                                                            write_police_csv, incidents_csv,
                                                            moves):
    store = tmp_path / "store"
    first = write_police_csv(tmp_path / "first.csv", [police_row("leamington", crime_id="a0")])
    write_store(read_incidents(first, boundary=None, settings=settings).incidents, store)
    before = store_fingerprint(store)

    code = run_killed_after(moves, _WRITE, incidents_csv, store, settings.data_dir)

    everything = ["a0", "m1", "m2", "w1", "w2", "w3"]
    if moves < 6:
        assert code < 0  # killed
        assert _ids(store) == ["a0"] and store_fingerprint(store) == before
        assert store_months(store) == ["2025-01"]
        assert list(store.glob(".tmp-*")), "a killed writer leaves its staging folder"
    else:
        assert code == 0 and _ids(store) == everything
    # The next write removes what the killed one left and commits its own batch whole.
    write_store(read_incidents(incidents_csv, boundary=None, settings=settings).incidents,
                store)
    assert _ids(store) == everything
    assert not list(store.glob(".tmp-*"))
    assert parts_on_disk(store) == sorted(p.path for p in read_manifest(store).parts)


def test_parts_the_manifest_does_not_list_are_invisible_and_removed_by_the_next_write(
        tmp_path, incidents):
    store = tmp_path / "store"
    write_store(incidents.iloc[:2], store)
    listed = parts_on_disk(store)
    stray = store / listed[0].replace("part-", "part-0-uncommitted-")
    stray.write_bytes((store / listed[0]).read_bytes())
    assert len(read_store(store)) == 2
    write_store(incidents, store)
    assert not stray.exists() and len(read_store(store)) == 5


def test_a_store_written_before_manifests_is_read_then_adopted_on_the_next_write(
        tmp_path, incidents):
    store = tmp_path / "store"
    write_store(incidents.iloc[:3], store)
    (store / MANIFEST).unlink()  # as an older version left it
    assert len(read_store(store)) == 3 and store_months(store) == ["2025-01", "2025-02",
                                                                   "2025-03"]
    assert write_store(incidents, store) == 2
    man = read_manifest(store)
    assert sum(p.rows for p in man.parts) == 5 and all(p.sha256 for p in man.parts)
    assert parts_on_disk(store) == sorted(p.path for p in man.parts)


def test_the_manifest_records_each_part_and_the_fingerprint_is_its_hash(tmp_path, incidents):
    store = tmp_path / "store"
    write_store(incidents, store)
    doc = json.loads((store / MANIFEST).read_bytes())
    assert {(p["force"], p["month"]) for p in doc["parts"]} == {
        ("warwickshire", "2025-01"), ("warwickshire", "2025-02"), ("warwickshire", "2025-03"),
        ("west-mercia", "2025-01"), ("west-mercia", "2025-03")}
    assert sum(p["rows"] for p in doc["parts"]) == 5
    for p in doc["parts"]:
        assert (store / p["path"]).stat().st_size == p["size"]
    assert store_fingerprint(store) == hashlib.sha1((store / MANIFEST).read_bytes()
                                                    ).hexdigest()[:16]


def test_an_unreadable_manifest_is_a_store_error_naming_the_check(tmp_path, incidents):
    store = tmp_path / "store"
    write_store(incidents, store)
    (store / MANIFEST).write_text("{not json")
    with pytest.raises(StoreError, match=r"manifest is unreadable.*hotspots store check") as e:
        read_store(store)
    assert "\n" not in str(e.value)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_and_rejects_are_owner_only(tmp_path, settings, police_row, write_police_csv):
    f = write_police_csv(tmp_path / "in.csv", [police_row("warwick"),
                                               police_row("london")])  # london is rejected
    store = tmp_path / "store"
    ingest(f, store, settings=settings)
    assert _mode(store) == 0o700 and _mode(rejects_path(store)) == 0o600
    for p in store.rglob("*"):
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), p
