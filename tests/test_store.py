"""The incident store: partitions, GeoParquet metadata, append-only atomic writes, reads."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import hotspots.store as store_mod
from hotspots.errors import StoreError
from hotspots.ingest import read_incidents
from hotspots.schema import INCIDENT_COLUMNS
from hotspots.store import (
    read_store,
    store_exists,
    store_fingerprint,
    store_forces,
    store_ids,
    store_months,
    write_store,
)


@pytest.fixture
def incidents(tmp_path, settings, police_row, write_police_csv) -> pd.DataFrame:
    """Six canonical incidents: two forces, three months, one without location, one ASB."""
    rows = [
        police_row("warwick", crime_id="w1", month="2025-01"),
        police_row("rugby", crime_id="w2", month="2025-01", crime_type="Drugs"),
        police_row("nuneaton", crime_id="w3", month="2025-02", lon="", lat=""),
        police_row("stratford", crime_id="", month="2025-03",
                   crime_type="Anti-social behaviour", outcome=""),
        police_row("redditch", crime_id="m1", month="2025-01",
                   falls_within="West Mercia Police", reported_by="West Mercia Police"),
        police_row("redditch", crime_id="m2", month="2025-03",
                   falls_within="West Mercia Police", reported_by="West Mercia Police"),
    ]
    f = write_police_csv(tmp_path / "in.csv", rows)
    return read_incidents(f, boundary=None, settings=settings).incidents


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("incident_id").reset_index(drop=True)


def test_store_is_partitioned_by_force_and_month(tmp_path, incidents):
    store = tmp_path / "store"
    assert write_store(incidents, store) == 6
    parts = sorted(p.relative_to(store).parent.as_posix()
                   for p in store.glob("**/part-*.parquet"))
    assert parts == ["force=warwickshire/month=2025-01", "force=warwickshire/month=2025-02",
                     "force=warwickshire/month=2025-03", "force=west-mercia/month=2025-01",
                     "force=west-mercia/month=2025-03"]
    assert store_months(store) == ["2025-01", "2025-02", "2025-03"]
    assert store_forces(store) == ["warwickshire", "west-mercia"]


def test_a_partition_file_is_geoparquet_in_british_national_grid(tmp_path, incidents):
    store = tmp_path / "store"
    write_store(incidents, store)
    part = next((store / "force=warwickshire" / "month=2025-01").glob("part-*.parquet"))
    meta = json.loads(pq.read_schema(part).metadata[b"geo"])
    assert meta["primary_column"] == "geometry"
    assert meta["columns"]["geometry"]["encoding"] == "WKB"
    gdf = gpd.read_parquet(part)
    assert gdf.crs.to_epsg() == 27700
    # The WKB geometry and the plain x/y columns describe the same points.
    assert np.allclose(gdf.geometry.x, gdf["x"]) and np.allclose(gdf.geometry.y, gdf["y"])
    assert len(gdf) == 2


def test_rows_without_location_have_null_geometry(tmp_path, incidents):
    store = tmp_path / "store"
    write_store(incidents, store)
    part = next((store / "force=warwickshire" / "month=2025-02").glob("part-*.parquet"))
    table = pq.read_table(part, columns=["geometry", "has_location"])
    assert table.column("geometry").null_count == 1
    assert table.column("has_location").to_pylist() == [False]


def test_read_store_round_trips_the_canonical_frame(tmp_path, incidents):
    store = tmp_path / "store"
    write_store(incidents, store)
    back = read_store(store)
    assert list(back.columns) == list(INCIDENT_COLUMNS)
    assert [str(t) for t in back.dtypes] == list(INCIDENT_COLUMNS.values())
    pd.testing.assert_frame_equal(_sorted(back), _sorted(incidents))


def test_read_store_filters_by_month_and_force_and_selects_columns(tmp_path, incidents):
    store = tmp_path / "store"
    write_store(incidents, store)
    jan = read_store(store, months=["2025-01"])
    assert sorted(jan["incident_id"]) == ["m1", "w1", "w2"]
    home = read_store(store, forces=["warwickshire"], months=["2025-01", "2025-03"])
    assert set(home["incident_id"]) >= {"w1", "w2"} and len(home) == 3
    assert set(home["month"]) == {"2025-01", "2025-03"} and set(home["force"]) == {"warwickshire"}
    xy = read_store(store, columns=["x", "y", "month"])
    assert list(xy.columns) == ["x", "y", "month"] and len(xy) == 6
    assert str(xy["month"].dtype) == "string"
    assert read_store(store, months=["1999-01"]).empty
    assert read_store(store, months=[]).empty and read_store(store, forces=[]).empty


def test_write_store_appends_only_rows_it_does_not_hold(tmp_path, incidents):
    store = tmp_path / "store"
    assert write_store(incidents.iloc[:4], store) == 4
    assert write_store(incidents, store) == 2
    assert write_store(incidents, store) == 0
    doubled = pd.concat([incidents, incidents], ignore_index=True)
    assert write_store(doubled, tmp_path / "other") == 6
    assert sorted(store_ids(store)) == sorted(incidents["incident_id"])
    assert len(read_store(store)) == 6


def test_write_store_does_not_change_its_input(tmp_path, incidents):
    before = incidents.copy()
    write_store(incidents, tmp_path / "store")
    pd.testing.assert_frame_equal(incidents, before)


def test_interrupted_write_leaves_no_visible_partial_partition(tmp_path, incidents,
                                                               monkeypatch):
    store = tmp_path / "store"
    write_store(incidents.iloc[:1], store)
    fingerprint = store_fingerprint(store)
    real = store_mod.pq.write_table
    calls = []

    def crash_on_third(table, where, **kw):
        calls.append(where)
        if len(calls) == 3:
            real(table, where, **kw)  # leave a finished temp file behind, then die mid-batch
            raise RuntimeError("power cut")
        real(table, where, **kw)

    monkeypatch.setattr(store_mod.pq, "write_table", crash_on_third)
    with pytest.raises(RuntimeError, match="power cut"):
        write_store(incidents, store)
    assert len(calls) == 3
    assert store_fingerprint(store) == fingerprint
    assert read_store(store)["incident_id"].tolist() == ["w1"]
    assert not list(store.glob(".tmp-*"))
    monkeypatch.setattr(store_mod.pq, "write_table", real)
    assert write_store(incidents, store) == 5


def test_a_failing_disk_write_is_a_store_error(tmp_path, incidents, monkeypatch):
    def full_disk(*args, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod.pq, "write_table", full_disk)
    with pytest.raises(StoreError, match="cannot write the incident store"):
        write_store(incidents, tmp_path / "store")
    assert not store_exists(tmp_path / "store")


@pytest.mark.parametrize("fn", [read_store, store_ids, store_months, store_forces,
                                store_fingerprint])
def test_missing_or_empty_store_says_to_run_ingest(tmp_path, fn):
    (tmp_path / "empty").mkdir()
    for where in (tmp_path / "absent", tmp_path / "empty"):
        with pytest.raises(StoreError, match="run `hotspots ingest") as info:
            fn(where)
        assert "\n" not in str(info.value) and str(where) in str(info.value)


def test_fingerprint_changes_only_when_rows_are_added(tmp_path, incidents):
    store = tmp_path / "store"
    write_store(incidents.iloc[:3], store)
    first = store_fingerprint(store)
    assert store_fingerprint(store) == first
    write_store(incidents.iloc[:3], store)
    assert store_fingerprint(store) == first
    write_store(incidents, store)
    assert store_fingerprint(store) != first


def test_store_ids_supports_membership(tmp_path, incidents):
    store = tmp_path / "store"
    write_store(incidents, store)
    ids = store_ids(store)
    assert "w1" in ids and "zz" not in ids and len(ids) == 6
