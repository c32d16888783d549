"""Ingest: reading police.uk and force files, full accounting, rejects, the store round trip."""

from __future__ import annotations

import json
import os
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from support import PLACES, REPO, run_killed_after

from hotspots import cli
from hotspots.errors import InputError, ParameterError
from hotspots.ingest import build_default_store, ingest, read_incidents, rejects_path
from hotspots.schema import INCIDENT_COLUMNS
from hotspots.spatial.crs import to_bng
from hotspots.store import read_store, store_fingerprint, store_forces, store_ids
from hotspots.validate import REASONS, ColumnMapping, force_slug

SHIPPED = REPO / "data" / "crime" / "warwickshire"
NEIGHBOURS = REPO / "data" / "crime" / "neighbours"
COUNTY = REPO / "data" / "boundaries" / "county.parquet"


def _balanced(report) -> bool:
    return report.rows_read == report.accepted + report.rejected + report.duplicates


def _counted(folders, buffers_m) -> dict[str, int]:
    """The shipped files counted independently of the ingest, with pandas and shapely.

    Rows read, rows without coordinates, rows further than the folder's buffer outside the
    county polygon, and repeated Crime IDs (the second and later copies; empty IDs are ASB
    rows, never duplicates) over all the folders together.
    """
    county = gpd.read_parquet(COUNTY).geometry.union_all()
    counts = {"rows": 0, "no_location": 0, "outside": 0}
    ids = []
    for folder, buffer_m in zip(folders, buffers_m, strict=True):
        raw = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False)
                         for f in sorted(folder.glob("*.csv.gz"))], ignore_index=True)
        lon = pd.to_numeric(raw["Longitude"], errors="coerce").to_numpy()
        lat = pd.to_numeric(raw["Latitude"], errors="coerce").to_numpy()
        located = np.isfinite(lon) & np.isfinite(lat)
        x, y = to_bng(lon[located], lat[located])
        far = shapely.distance(county, shapely.points(x, y)) > buffer_m
        counts["rows"] += len(raw)
        counts["no_location"] += int((~located).sum())
        counts["outside"] += int(far.sum())
        kept = raw[located].loc[~far]
        ids += list(kept.loc[kept["Crime ID"] != "", "Crime ID"]) + list(
            raw.loc[~located & (raw["Crime ID"] != ""), "Crime ID"])
    counts["duplicates"] = int(pd.Series(ids).duplicated().sum())
    return counts


# --- the shipped data ----------------------------------------------------------------------


def test_shipped_warwickshire_data_accounts_for_every_row(settings):
    res = read_incidents(SHIPPED, boundary="force", buffer_m=2000.0, settings=settings)
    r = res.report
    # Counted independently with pandas and shapely (data/README.md: 67,036 rows in 16 files,
    # 359 without coordinates): rows, rows more than 2 km outside the county, repeated IDs.
    want = _counted([SHIPPED], [2000.0])
    accepted = want["rows"] - want["outside"] - want["duplicates"]
    assert (r.rows_read, r.accepted, r.rejected, r.duplicates, r.no_location) == \
        (want["rows"], accepted, want["outside"], want["duplicates"], want["no_location"])
    assert want["outside"] > 0 and want["no_location"] > 0 and want["duplicates"] > 0
    assert _balanced(r)
    assert r.by_reason == {"coordinates outside force area": want["outside"]}
    assert len(res.rejects) == want["outside"] and len(res.incidents) == accepted
    assert r.months == [f"2024-{m:02d}" for m in range(1, 5)] + \
        [f"2025-{m:02d}" for m in range(1, 13)]
    assert r.forces == ["warwickshire"]
    assert len(r.files) == len(list(SHIPPED.glob("*.csv.gz")))
    assert res.incidents["incident_id"].is_unique
    # ASB rows have no Crime ID; they are kept under content-hash ids.
    asb = res.incidents[res.incidents["crime_type"] == "Anti-social behaviour"]
    assert len(asb) > 13000 and asb["incident_id"].str.len().eq(40).all()
    assert list(res.incidents.columns) == list(INCIDENT_COLUMNS)
    assert {str(t) for t in res.incidents.dtypes} == set(INCIDENT_COLUMNS.values())


# --- police.uk rows ------------------------------------------------------------------------


def test_police_uk_row_becomes_a_canonical_incident(tmp_path, settings, police_row,
                                                    write_police_csv):
    f = write_police_csv(tmp_path / "2025-03-warwickshire-street.csv",
                         [police_row("rugby", crime_id="abc", month="2025-03",
                                     crime_type="Vehicle crime")])
    inc = read_incidents(f, settings=settings).incidents
    row = inc.iloc[0]
    x, y = to_bng([PLACES["rugby"][0]], [PLACES["rugby"][1]])
    assert row["incident_id"] == "abc"
    assert row["occurred"] == pd.Timestamp("2025-03-01")
    assert (row["date_precision"], row["month"]) == ("month", "2025-03")
    assert (row["crime_group"], row["harm"]) == ("acquisitive", settings.harm["Vehicle crime"])
    assert row["x"] == pytest.approx(x[0]) and row["y"] == pytest.approx(y[0])
    assert row["has_location"] and row["force"] == "warwickshire"
    assert row["source"] == "2025-03-warwickshire-street.csv:2"
    assert pd.isna(row["soc_flag"])


def test_text_that_looks_like_a_null_marker_is_kept(tmp_path, settings, police_row,
                                                   write_police_csv):
    f = write_police_csv(tmp_path / "a.csv", [police_row(crime_id="NA", location="N/A",
                                                         outcome="null")])
    row = read_incidents(f, settings=settings).incidents.iloc[0]
    assert (row["incident_id"], row["location"], row["outcome"]) == ("NA", "N/A", "null")


def test_unknown_crime_type_falls_into_other_with_default_harm(tmp_path, settings, police_row,
                                                               write_police_csv):
    f = write_police_csv(tmp_path / "a.csv", [police_row(crime_type="Something new")])
    row = read_incidents(f, settings=settings).incidents.iloc[0]
    assert (row["crime_group"], row["harm"]) == ("other", settings.harm_default)


def test_rows_without_coordinates_are_accepted_but_not_located(tmp_path, settings, police_row,
                                                               write_police_csv):
    f = write_police_csv(tmp_path / "a.csv", [police_row(), police_row(lon="", lat="")])
    res = read_incidents(f, settings=settings)
    assert (res.report.accepted, res.report.rejected, res.report.no_location) == (2, 0, 1)
    unlocated = res.incidents[~res.incidents["has_location"]].iloc[0]
    assert np.isnan([unlocated["x"], unlocated["y"], unlocated["lon"], unlocated["lat"]]).all()


@pytest.mark.parametrize(("lon", "lat", "reason"), [
    ("abc", "52.3", "unparseable coordinates"),
    ("-1.5", "", "unparseable coordinates"),
    ("nan", "52.3", "unparseable coordinates"),
    ("200", "52.3", "coordinates out of range"),
    ("-1.5", "95", "coordinates out of range"),
])
def test_bad_coordinates_are_rejected_with_file_line_and_original_row(
        tmp_path, settings, police_row, write_police_csv, lon, lat, reason):
    bad = police_row(lon=lon, lat=lat, crime_id="bad1")
    f = write_police_csv(tmp_path / "a.csv", [police_row(), bad])
    res = read_incidents(f, settings=settings)
    assert (res.report.accepted, res.report.rejected) == (1, 1)
    assert res.report.by_reason == {reason: 1}
    rej = res.rejects.iloc[0]
    assert (rej["file"], rej["line"], rej["reason"]) == (str(f), 3, reason)
    assert rej["row"].startswith("bad1,2025-01,Warwickshire Police,")


def test_null_island_is_out_of_range_even_without_a_boundary(tmp_path, settings, police_row,
                                                             write_police_csv):
    f = write_police_csv(tmp_path / "a.csv", [police_row(lon="0", lat="0")])
    res = read_incidents(f, boundary=None, settings=settings)
    assert res.report.by_reason == {"coordinates out of range": 1}


def test_force_boundary_rejects_rows_beyond_the_buffer(tmp_path, settings, police_row,
                                                       write_police_csv):
    rows = [police_row("warwick"), police_row("near_border"), police_row("coventry"),
            police_row("london")]
    f = write_police_csv(tmp_path / "a.csv", rows)
    default = read_incidents(f, settings=settings)  # default buffer is 2 km
    assert default.report.accepted == 2
    assert default.report.by_reason == {"coordinates outside force area": 2}
    assert read_incidents(f, buffer_m=5000, settings=settings).report.accepted == 3
    assert read_incidents(f, buffer_m=0, settings=settings).report.accepted == 1
    assert read_incidents(f, boundary=None, settings=settings).report.accepted == 4


def test_a_boundary_geometry_is_used_without_being_changed(tmp_path, settings, police_row,
                                                           write_police_csv):
    x, y = to_bng([PLACES["rugby"][0]], [PLACES["rugby"][1]])
    area = shapely.Point(x[0], y[0]).buffer(500)
    f = write_police_csv(tmp_path / "a.csv", [police_row("rugby"), police_row("warwick")])
    res = read_incidents(f, boundary=area, buffer_m=0, settings=settings)
    assert res.incidents["source"].tolist() == ["a.csv:2"]
    assert not shapely.is_prepared(area)


def test_invalid_boundary_and_buffer_are_parameter_errors(tmp_path, settings, police_row,
                                                          write_police_csv):
    f = write_police_csv(tmp_path / "a.csv", [police_row()])
    with pytest.raises(ParameterError, match="boundary"):
        read_incidents(f, boundary="county", settings=settings)
    with pytest.raises(ParameterError, match="buffer"):
        read_incidents(f, buffer_m=-1, settings=settings)


def test_missing_crime_type_and_unparseable_month_are_rejected(tmp_path, settings, police_row,
                                                               write_police_csv):
    rows = [police_row(crime_type=""), police_row(month="2025-13"), police_row(month="Jan"),
            police_row()]
    res = read_incidents(write_police_csv(tmp_path / "a.csv", rows), settings=settings)
    assert res.report.by_reason == {"unparseable date": 2, "missing crime type": 1}
    assert res.rejects["line"].tolist() == [2, 3, 4]
    assert set(res.report.by_reason) <= set(REASONS)


def test_duplicate_crime_id_across_overlapping_files_is_kept_once(tmp_path, settings,
                                                                  police_row, write_police_csv):
    a, b, c = (police_row(crime_id=i) for i in ("A", "B", "C"))
    write_police_csv(tmp_path / "dl1" / "x.csv", [a, b])
    write_police_csv(tmp_path / "dl2" / "y.csv", [b, c])
    res = read_incidents([tmp_path / "dl1", tmp_path / "dl2"], settings=settings)
    assert (res.report.rows_read, res.report.accepted, res.report.duplicates) == (4, 3, 1)
    assert res.incidents["incident_id"].tolist() == ["A", "B", "C"]
    # The first occurrence is the one kept.
    assert res.incidents.loc[1, "source"] == "x.csv:3"


def test_identical_asb_rows_without_crime_id_are_all_kept(tmp_path, settings, police_row,
                                                          write_police_csv):
    asb = police_row(crime_id="", crime_type="Anti-social behaviour", outcome="")
    other = police_row(crime_id="", crime_type="Anti-social behaviour", outcome="",
                       location="On or near Park Road")
    f = write_police_csv(tmp_path / "one.csv", [asb, asb, other])
    res = read_incidents(f, settings=settings)
    assert (res.report.accepted, res.report.duplicates) == (3, 0)
    assert res.incidents["incident_id"].is_unique
    assert (res.incidents["crime_group"] == "asb").all()
    # The ids hang on content, not on the file: the same rows under another name match.
    g = write_police_csv(tmp_path / "renamed.csv", [asb, asb, other])
    again = read_incidents(g, settings=settings).incidents["incident_id"].tolist()
    assert again == res.incidents["incident_id"].tolist()
    both = read_incidents([f, g], settings=settings).report
    assert (both.accepted, both.duplicates) == (3, 3)


@pytest.mark.parametrize(("name", "expected"), [
    ("Warwickshire Police", "warwickshire"),
    ("West Mercia Police", "west-mercia"),
    ("Avon and Somerset Constabulary", "avon-and-somerset"),
    ("Metropolitan Police Service", "metropolitan"),
    ("City of London Police", "city-of-london"),
    ("Police Service of Northern Ireland", "northern-ireland"),
    ("thames-valley", "thames-valley"),
])
def test_force_slug_follows_police_uk_naming(name, expected):
    assert force_slug(name) == expected


def test_force_comes_from_falls_within(tmp_path, settings, police_row, write_police_csv):
    f = write_police_csv(tmp_path / "a.csv", [
        police_row("redditch", falls_within="West Mercia Police"),
        police_row("warwick", falls_within="")])
    res = read_incidents(f, boundary=None, settings=settings)
    assert res.incidents["force"].tolist() == ["west-mercia", "warwickshire"]
    assert res.report.forces == ["warwickshire", "west-mercia"]


# --- encodings, archives, folders ------------------------------------------------------------


def test_utf8_file_with_byte_order_mark_is_read(tmp_path, settings, police_row,
                                                write_police_csv):
    f = write_police_csv(tmp_path / "bom.csv",
                         [police_row(crime_id="id1", location="On or near Café Street")],
                         encoding="utf-8-sig")
    assert f.read_bytes().startswith(b"\xef\xbb\xbf")
    inc = read_incidents(f, settings=settings).incidents
    assert inc.loc[0, "incident_id"] == "id1"  # the BOM did not stick to the first column
    assert inc.loc[0, "location"] == "On or near Café Street"


def test_windows_1252_file_is_read(tmp_path, settings, police_row, write_police_csv):
    f = write_police_csv(tmp_path / "cp.csv",
                         [police_row(location="On or near St Mary’s Café")], encoding="cp1252")
    assert b"\x92" in f.read_bytes()  # the curly apostrophe, not valid UTF-8
    inc = read_incidents(f, settings=settings).incidents
    assert inc.loc[0, "location"] == "On or near St Mary’s Café"


def test_police_uk_zip_archive_reads_street_members_only(tmp_path, settings, police_row,
                                                         write_police_csv):
    src = tmp_path / "src"
    jan = write_police_csv(src / "2025-01-warwickshire-street.csv", [police_row(month="2025-01")])
    feb = write_police_csv(src / "2025-02-warwickshire-street.csv",
                           [police_row(month="2025-02"), police_row(month="2025-02")])
    outcomes = src / "2025-01-warwickshire-outcomes.csv"
    outcomes.write_text("Crime ID,Month,Outcome type\nx,2025-01,Charged\n")
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(jan, "2025-01/2025-01-warwickshire-street.csv")
        zf.write(feb, "2025-02/2025-02-warwickshire-street.csv")
        zf.write(outcomes, "2025-01/2025-01-warwickshire-outcomes.csv")
    res = read_incidents(archive, settings=settings)
    assert (res.report.rows_read, res.report.accepted) == (3, 3)
    assert res.report.months == ["2025-01", "2025-02"]
    assert res.report.files == [f"{archive}!2025-01/2025-01-warwickshire-street.csv",
                                f"{archive}!2025-02/2025-02-warwickshire-street.csv"]
    assert res.incidents["source"].iloc[-1] == "2025-02-warwickshire-street.csv:3"


def test_folder_of_monthly_folders_is_read_recursively(tmp_path, settings, police_row,
                                                       write_police_csv):
    root = tmp_path / "police-uk"
    write_police_csv(root / "2025-01" / "2025-01-warwickshire-street.csv", [police_row()])
    write_police_csv(root / "2025-02" / "2025-02-warwickshire-street.csv.gz",
                     [police_row(month="2025-02")])
    (root / "2025-02" / "2025-02-warwickshire-stop-and-search.csv").write_text("Type\nx\n")
    (root / "2025-02" / "notes.txt").write_text("not data")
    res = read_incidents(root, settings=settings)
    assert res.report.months == ["2025-01", "2025-02"]
    assert [os.path.basename(f) for f in res.report.files] == [
        "2025-01-warwickshire-street.csv", "2025-02-warwickshire-street.csv.gz"]


def test_malformed_rows_are_rejected_and_later_lines_keep_their_numbers(tmp_path, settings,
                                                                        police_row,
                                                                        write_police_csv):
    f = write_police_csv(tmp_path / "a.csv", [police_row(crime_id="first")])
    with open(f, "a", encoding="utf-8") as fh:
        fh.write("only,three,fields\n\n")  # line 3 malformed, line 4 blank
    with open(f, "a", encoding="utf-8", newline="") as fh:
        import csv

        row = police_row(crime_id="last")
        csv.writer(fh, lineterminator="\n").writerow(row.values())  # line 5
    res = read_incidents(f, settings=settings)
    assert (res.report.rows_read, res.report.accepted, res.report.rejected) == (3, 2, 1)
    assert res.rejects.iloc[0][["line", "reason", "row"]].tolist() == \
        [3, "wrong number of fields", "only,three,fields"]
    assert res.incidents["source"].tolist() == ["a.csv:2", "a.csv:5"]


def test_quoted_newline_in_a_value_keeps_line_numbers_right(tmp_path, settings, police_row,
                                                             write_police_csv):
    rows = [police_row(crime_id="a", location="On or near\nTwo Lines"), police_row(crime_id="b")]
    f = write_police_csv(tmp_path / "a.csv", rows)
    res = read_incidents(f, settings=settings)
    assert res.incidents["location"].iloc[0] == "On or near\nTwo Lines"
    assert res.incidents["source"].tolist() == ["a.csv:2", "a.csv:4"]


# --- generic CSV and GIS files ---------------------------------------------------------------


def test_generic_csv_with_easting_northing_and_datetime_gives_minute_precision(tmp_path,
                                                                               settings):
    f = tmp_path / "rms.csv"
    f.write_text(
        "ref,offence,when,east,north,street,soc,ocg,cl,force\n"
        "R1,Burglary,03/02/2025 14:35,428429,264987,High St,Y,OCG-7,no,\n"
        "R2,Drugs,04/02/2025 09:05,450138,275004,Main St,n,,yes,West Mercia Police\n"
        "R3,Drugs,31/02/2025 09:05,450138,275004,Main St,n,,yes,\n", encoding="utf-8")
    mapping = ColumnMapping(category="offence", easting="east", northing="north",
                            datetime="when", date_format="%d/%m/%Y %H:%M", id="ref",
                            location="street", soc_flag="soc", ocg_ref="ocg", county_line="cl",
                            force="force")
    # No area check: R2 names West Mercia but lies in Warwickshire (the check is pinned in
    # test_forces.py); this test is about reading the columns.
    res = read_incidents(f, mapping=mapping, boundary=None, settings=settings)
    assert res.report.by_reason == {"unparseable date": 1}
    inc = res.incidents
    assert inc["date_precision"].tolist() == ["minute", "minute"]
    assert inc["occurred"].tolist() == [pd.Timestamp("2025-02-03 14:35"),
                                        pd.Timestamp("2025-02-04 09:05")]
    assert inc["month"].tolist() == ["2025-02", "2025-02"]
    assert inc["x"].tolist() == [428429.0, 450138.0]
    assert inc["lon"].iloc[0] == pytest.approx(PLACES["warwick"][0], abs=1e-4)
    assert inc["soc_flag"].tolist() == [True, False]
    assert inc["county_line"].tolist() == [False, True]
    assert inc["ocg_ref"].iloc[0] == "OCG-7" and pd.isna(inc["ocg_ref"].iloc[1])
    assert inc["force"].tolist() == ["warwickshire", "west-mercia"]
    assert inc["crime_group"].tolist() == ["acquisitive", "soc"]


def test_generic_csv_with_lon_lat_and_date_gives_day_precision(tmp_path, settings):
    f = tmp_path / "force.csv"
    f.write_text("type,day,x_lon,y_lat\nRobbery,2025-06-30,-1.5847,52.2823\n",
                 encoding="utf-8")
    mapping = ColumnMapping(category="type", date="day", lon="x_lon", lat="y_lat",
                            default_force="Warwickshire Police")
    row = read_incidents(f, mapping=mapping, settings=settings).incidents.iloc[0]
    assert (row["date_precision"], row["occurred"]) == ("day", pd.Timestamp("2025-06-30"))
    assert row["force"] == "warwickshire" and row["has_location"]
    assert len(row["incident_id"]) == 40  # no id column: content hash


def test_generic_csv_without_mapping_uses_canonical_column_names(tmp_path, settings):
    f = tmp_path / "canonical.csv"
    f.write_text("incident_id,crime_type,month,lon,lat\nZ1,Drugs,2025-04,-1.2650,52.3708\n",
                 encoding="utf-8")
    row = read_incidents(f, settings=settings).incidents.iloc[0]
    assert (row["incident_id"], row["month"], row["date_precision"]) == ("Z1", "2025-04",
                                                                          "month")


@pytest.mark.parametrize("kwargs", [
    {"category": "t"},
    {"category": "t", "date": "d", "month": "m"},
    {"category": "t", "date": "d", "lon": "x"},
    {"category": "t", "date": "d", "lon": "x", "lat": "y", "easting": "e", "northing": "n"},
])
def test_inconsistent_column_mapping_is_a_parameter_error(kwargs):
    with pytest.raises(ParameterError, match="ColumnMapping"):
        ColumnMapping(**kwargs)


def test_mapped_columns_missing_from_the_file_are_named(tmp_path, settings):
    f = tmp_path / "rms.csv"
    f.write_text("offence,when,east\nBurglary,2025-01-01,1\n", encoding="utf-8")
    mapping = ColumnMapping(category="offence", date="when", easting="east", northing="north")
    with pytest.raises(InputError, match=r"rms\.csv: missing mapped column\(s\) 'north'"):
        read_incidents(f, mapping=mapping, settings=settings)


def _points_frame(crs: str) -> gpd.GeoDataFrame:
    pts = [PLACES["warwick"], PLACES["rugby"], None]
    gdf = gpd.GeoDataFrame(
        {"Crime ID": ["g1", "g2", "g3"], "Month": ["2025-05"] * 3,
         "Crime type": ["Burglary", "Drugs", "Shoplifting"], "Falls within": [""] * 3},
        geometry=[shapely.Point(p) if p else None for p in pts], crs="EPSG:4326")
    return gdf.to_crs(crs)


@pytest.mark.parametrize(("suffix", "crs"), [
    ("geojson", "EPSG:4326"),
    ("gpkg", "EPSG:27700"),
    ("parquet", "EPSG:3857"),
])
def test_gis_point_files_in_any_crs_are_projected_to_bng(tmp_path, settings, suffix, crs):
    f = tmp_path / f"points.{suffix}"
    gdf = _points_frame(crs)
    if suffix == "parquet":
        gdf.to_parquet(f)
    else:
        gdf.to_file(f)
    res = read_incidents(f, settings=settings)
    inc = res.incidents
    assert res.report.accepted == 3 and res.report.no_location == 1
    x, y = to_bng([PLACES["warwick"][0]], [PLACES["warwick"][1]])
    assert inc.loc[0, "x"] == pytest.approx(x[0], abs=0.01)
    assert inc.loc[0, "y"] == pytest.approx(y[0], abs=0.01)
    assert inc["incident_id"].tolist() == ["g1", "g2", "g3"]
    assert inc["source"].tolist() == [f"points.{suffix}:{i}" for i in (1, 2, 3)]
    assert inc["crime_group"].tolist() == ["acquisitive", "soc", "acquisitive"]


def test_gis_file_with_a_polygon_feature_rejects_that_feature(tmp_path, settings):
    x, y = to_bng([PLACES["warwick"][0]], [PLACES["warwick"][1]])
    gdf = gpd.GeoDataFrame(
        {"crime_type": ["Burglary", "Drugs"], "datetime": ["2025-05-01T10:00", "2025-05-02"]},
        geometry=[shapely.Point(x[0], y[0]), shapely.Point(x[0], y[0]).buffer(10)],
        crs="EPSG:27700")
    f = tmp_path / "mixed.gpkg"
    gdf.to_file(f)
    res = read_incidents(f, settings=settings)
    assert res.report.by_reason == {"not a point geometry": 1}
    assert res.rejects.iloc[0]["line"] == 2
    assert "POLYGON" in res.rejects.iloc[0]["row"]
    assert res.incidents.loc[0, "date_precision"] == "minute"


def test_gis_file_without_a_crs_is_an_input_error(tmp_path, settings):
    gdf = _points_frame("EPSG:27700").set_crs(None, allow_override=True)
    f = tmp_path / "nocrs.parquet"
    gdf.to_parquet(f)
    with pytest.raises(InputError, match=r"nocrs\.parquet: no coordinate reference system"):
        read_incidents(f, settings=settings)


# --- unreadable input -------------------------------------------------------------------------


def _bad_inputs(tmp_path, write_police_csv, police_row):
    png = tmp_path / "map.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    noise = tmp_path / "noise.csv"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,age\nann,3\n", encoding="utf-8")
    partial = write_police_csv(tmp_path / "partial.csv", [police_row()],
                               header=("Crime ID", "Month", "Longitude", "Latitude"))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "readme.md").write_text("no data here")
    return {
        "missing file": (tmp_path / "absent.csv", "no such file"),
        "folder without data": (tmp_path / "nothing", "no incident files"),
        "png image": (png, "binary content"),
        "random bytes": (noise, "binary content"),
        "wrong columns": (wrong, "not a police.uk street-level file"),
        "police.uk header missing columns": (partial, "missing police.uk column"),
        "empty file": (empty, "empty file"),
    }


BAD = ["missing file", "folder without data", "png image", "random bytes", "wrong columns",
       "police.uk header missing columns", "empty file"]


@pytest.mark.parametrize("case", BAD)
def test_unreadable_input_is_an_input_error_naming_the_file(tmp_path, settings, case,
                                                            write_police_csv, police_row):
    path, gist = _bad_inputs(tmp_path, write_police_csv, police_row)[case]
    with pytest.raises(InputError) as info:
        read_incidents(path, settings=settings)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and gist in msg


@pytest.mark.parametrize("case", BAD)
def test_unreadable_input_exits_2_with_one_stderr_line(tmp_path, capsys, case, settings,
                                                       write_police_csv, police_row):
    path, gist = _bad_inputs(tmp_path, write_police_csv, police_row)[case]
    code = cli.main(["ingest", str(path), "--store", str(settings.store_dir)])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("hotspots: error: ") and gist in err
    assert "Traceback" not in err and out == ""
    assert not settings.store_dir.exists() or not any(settings.store_dir.glob("force=*"))


def test_one_bad_file_among_good_ones_writes_nothing(tmp_path, settings, police_row,
                                                     write_police_csv):
    good = write_police_csv(tmp_path / "good.csv", [police_row()])
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    with pytest.raises(InputError, match="bad.csv"):
        ingest([good, bad], settings.store_dir, settings=settings)
    assert not any(settings.store_dir.glob("force=*"))


# --- ingest into the store ---------------------------------------------------------------------


def test_reingesting_the_same_files_changes_nothing(tmp_path, settings, police_row,
                                                    write_police_csv):
    rows = [police_row(), police_row(crime_id="", crime_type="Anti-social behaviour"),
            police_row(crime_id="", crime_type="Anti-social behaviour"), police_row("london")]
    f = write_police_csv(tmp_path / "a.csv", rows)
    store = settings.store_dir
    first = ingest(f, store, settings=settings)
    assert (first.accepted, first.rejected, first.duplicates) == (3, 1, 0)
    ids, print_ = set(store_ids(store)), store_fingerprint(store)
    rejects = rejects_path(store).read_text()
    again = ingest(f, store, settings=settings)
    assert (again.rows_read, again.accepted, again.rejected, again.duplicates) == (4, 0, 1, 3)
    assert _balanced(again)
    assert set(store_ids(store)) == ids and len(read_store(store)) == 3
    assert store_fingerprint(store) == print_
    assert rejects_path(store).read_text() == rejects  # rejects are not listed twice


def test_overlapping_download_adds_only_new_rows(tmp_path, settings, police_row,
                                                 write_police_csv):
    jan = [police_row(crime_id=f"j{i}", month="2025-01") for i in range(3)]
    feb = [police_row(crime_id=f"f{i}", month="2025-02") for i in range(2)]
    asb = police_row(crime_id="", month="2025-02", crime_type="Anti-social behaviour")
    store = settings.store_dir
    ingest(write_police_csv(tmp_path / "dl1.csv", jan + feb[:1] + [asb]), store,
           settings=settings)
    report = ingest(write_police_csv(tmp_path / "dl2.csv", jan[1:] + feb + [asb]), store,
                    settings=settings)
    assert (report.rows_read, report.accepted, report.duplicates) == (5, 1, 4)
    assert report.months == ["2025-01", "2025-02"]  # what the download covered
    held = read_store(store)
    assert len(held) == 6 and held["incident_id"].is_unique
    named = sorted(i for i in held["incident_id"] if len(i) < 40)
    assert named == ["f0", "f1", "j0", "j1", "j2"]


def test_rejects_file_is_written_beside_the_store(tmp_path, settings, police_row,
                                                  write_police_csv):
    f = write_police_csv(tmp_path / "a.csv", [police_row(), police_row(lon="x", crime_id="q")])
    ingest(f, settings.store_dir, settings=settings)
    path = settings.store_dir.with_name(settings.store_dir.name + ".rejects.csv")
    assert rejects_path(settings.store_dir) == path
    rej = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(rej.columns) == ["file", "line", "reason", "row"]
    assert rej.iloc[0].tolist() == [str(f), "3", "unparseable coordinates",
                                    ",".join(police_row(lon="x", crime_id="q").values())]


def test_ingest_json_output_reports_the_accounting(tmp_path, capsys, settings, police_row,
                                                   write_police_csv):
    f = write_police_csv(tmp_path / "a.csv", [police_row(), police_row(lon="", lat=""),
                                               police_row("london")])
    code = cli.main(["ingest", str(f), "--store", str(settings.store_dir), "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    d = json.loads(out)
    assert {"rows_read", "accepted", "rejected", "duplicates", "no_location", "by_reason",
            "months", "forces"} <= set(d)
    assert (d["rows_read"], d["accepted"], d["rejected"], d["duplicates"], d["no_location"]) == \
        (3, 2, 1, 0, 1)
    assert d["by_reason"] == {"coordinates outside force area": 1}
    assert (d["months"], d["forces"]) == (["2025-01"], ["warwickshire"])


def test_ingest_cli_boundary_none_accepts_rows_anywhere_in_britain(tmp_path, capsys, settings,
                                                                   police_row,
                                                                   write_police_csv):
    f = write_police_csv(tmp_path / "a.csv", [police_row("london")])
    code = cli.main(["ingest", str(f), "--store", str(settings.store_dir), "--boundary", "none",
                     "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["accepted"] == 1


def test_build_default_store_builds_once_from_the_shipped_data(tmp_path, settings):
    from hotspots.ingest import NEIGHBOUR_BUFFER_M

    report = build_default_store(settings)
    assert report is not None and _balanced(report)
    # Warwickshire (2 km check) + neighbours within 10 km (12 km check), counted independently.
    want = _counted([SHIPPED, NEIGHBOURS], [settings.boundary_buffer_m, NEIGHBOUR_BUFFER_M])
    assert report.rows_read == want["rows"]
    assert report.rejected == want["outside"] and report.duplicates == want["duplicates"]
    # The neighbour rows all lie within 10 km of the county, so the 12 km check keeps them.
    assert want["outside"] == _counted([SHIPPED], [settings.boundary_buffer_m])["outside"]
    assert store_forces(settings.store_dir) == ["leicestershire", "northamptonshire",
                                                "thames-valley", "warwickshire", "west-mercia"]
    assert build_default_store(settings) is None
    before = store_fingerprint(settings.store_dir)
    rebuilt = build_default_store(settings, rebuild=True)
    assert rebuilt.accepted == report.accepted
    assert store_fingerprint(settings.store_dir) != before


_BUILD = """
from hotspots.config import load_settings
from hotspots.ingest import build_default_store
build_default_store(load_settings(env={}).with_(data_dir=Path(args[0]), store_dir=Path(args[1])))
"""


@pytest.fixture
def small_shipped(tmp_path, data_dir, police_row, write_police_csv):
    """A data folder like the shipped one: three months of the force, one of a neighbour."""
    root = tmp_path / "data"
    (root / "crime").mkdir(parents=True)
    (root / "boundaries").symlink_to(data_dir / "boundaries")
    for m in ("2025-01", "2025-02", "2025-03"):
        write_police_csv(root / "crime" / "warwickshire" / f"{m}-warwickshire-street.csv",
                         [police_row("warwick", month=m), police_row("rugby", month=m)])
    write_police_csv(root / "crime" / "neighbours" / "2025-01-west-mercia-street.csv",
                     [police_row("redditch", falls_within="West Mercia Police",
                                 reported_by="West Mercia Police")])
    return root


# The build's replaces: an empty manifest, the force's three parts, its manifest (5), then the
# neighbours' part and manifest. Killed mid-way through the force's batch, and after it with
# no neighbours yet (the store then looks usable but is not complete).
@pytest.mark.parametrize("moves", [2, 5])
def test_a_first_build_killed_part_way_is_detected_and_built_again(tmp_path, settings,
                                                                    small_shipped, moves):
    store = tmp_path / "killed"
    assert run_killed_after(moves, _BUILD, small_shipped, store) < 0
    assert (store / "_building").exists()
    killed = settings.with_(data_dir=small_shipped, store_dir=store)
    report = build_default_store(killed)
    assert report is not None and report.accepted == 7
    assert not (store / "_building").exists()
    clean = settings.with_(data_dir=small_shipped, store_dir=tmp_path / "clean")
    build_default_store(clean)
    assert sorted(store_ids(store)) == sorted(store_ids(clean.store_dir))
    assert store_forces(store) == ["warwickshire", "west-mercia"]
    assert build_default_store(killed) is None


def test_reingest_from_another_path_or_a_zip_leaves_the_rejects_file_byte_identical(
        tmp_path, settings, police_row, write_police_csv):
    import zipfile

    bad = [police_row(lon="x", crime_id="q"), police_row("london"), police_row("london")]
    f = write_police_csv(tmp_path / "2025-01-warwickshire-street.csv", [police_row(), *bad])
    first = ingest(f, settings.store_dir, settings=settings)
    path = rejects_path(settings.store_dir)
    before = path.read_bytes()
    assert first.rejected == 3 and before.count(b"\n") == 4  # header + 3, both london rows
    copy = tmp_path / "copy" / f.name
    copy.parent.mkdir()
    copy.write_bytes(f.read_bytes())
    with zipfile.ZipFile(tmp_path / "download.zip", "w") as z:
        z.write(f, arcname=f"2025-01/{f.name}")
    for again in (f, copy, tmp_path / "download.zip"):
        report = ingest(again, settings.store_dir, settings=settings)
        assert report.rows_read == report.accepted + report.rejected + report.duplicates == 4
        assert path.read_bytes() == before
    # A genuinely new reject is still added, once.
    g = write_police_csv(tmp_path / "b.csv", [police_row(lon="y", crime_id="new")])
    ingest(g, settings.store_dir, settings=settings)
    assert path.read_bytes().startswith(before) and path.read_bytes().count(b"\n") == 5
