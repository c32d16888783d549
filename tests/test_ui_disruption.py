"""The Disruption view under streamlit.testing, and its Streamlit-free helpers."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from support import APP, TIMEOUT
from support import app_errors as _errors
from support import map_legend as _legend
from support import map_page as _map_page

from hotspots.errors import InputError
from hotspots.ui import common, disruption

XSS = "<img src=x onerror=alert(1)>"
# Lay-bys near Warwick (lon/lat) and Rugby (easting/northing) for the upload tests.
GOOD_CSV = (f"name,lon,lat\nWarwick lay-by,-1.5847,52.2823\n{XSS},-1.2650,52.3708\n"
            ",-1.5,52.3\nSwapped,52.3,-1.5\nBad number,abc,52.3\n").encode()
NOTHING_USABLE = b"name,lon,lat\n,-1.5,52.3\nNowhere,200,95\n"


@pytest.fixture
def app(app_env) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.radio(key="view").set_value(common.DISRUPTION).run()
    return at


def _table(at: AppTest) -> pd.DataFrame:
    assert len(at.table) >= 1, "the ranked site table is missing"
    return at.table[0].value


def _plain(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", str(text))


def _metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


def test_disruption_view_renders_with_defaults(app):
    assert not app.exception, app.exception
    assert not app.error, _errors(app)
    table = _table(app)
    assert table.index.name == "Rank"
    assert list(table.columns) == list(disruption.TABLE_COLUMNS[1:])
    assert table.index.tolist() == ["1", "2", "3", "4", "5"]
    cumulative = [float(v.rstrip("%")) for v in table["Cumulative share"]]
    assert cumulative == sorted(cumulative) and 0 < cumulative[0] < cumulative[-1] <= 100
    assert _plain(table["Rationale"].iloc[0]).startswith(_plain(table["Site"].iloc[0]))
    assert "within 10 minutes by road" in _plain(table["Rationale"].iloc[0])
    share = _metric(app, "Share of the harm within reach")
    assert share.endswith("%") and float(share.rstrip("%")) == pytest.approx(cumulative[-1],
                                                                             abs=0.6)
    assert _metric(app, "Method") == "Exact (optimal)"
    page = _map_page(app)
    assert page.count('"label": "') >= 5 and "hs-site" in page and "hs-catchment" in page
    legend = _legend(page)
    assert ("Maximal covering (MCLP), exact (HiGHS, proven optimal): 5 new sites from "
            in legend)
    assert ("reach within 10 minutes by road (SRN at congestion-free class speeds, then "
            "straight line × 1.3 at 40 km/h); demand harm-weighted, no SOC boost; "
            "Oct–Dec 2025, acquisitive crime") in legend
    assert ("Catchment: within 500 m of the incident locations a site reaches "
            "(within 10 minutes by road), gaps under 1 km filled") in legend
    assert len(app.get("vega_lite_chart")) == 1  # the coverage curve
    # The sidebar holds the view's controls and not the Hotspots view's.
    assert app.slider(key="dis_k").value == disruption.K_DEFAULT
    assert not [r for r in app.sidebar.radio if r.key == "bw_mode"]


def test_changing_k_changes_the_table_and_the_map(app):
    first = _table(app)
    app.slider(key="dis_k").set_value(8).run()
    assert not app.exception and not app.error, _errors(app)
    table = _table(app)
    assert len(table) == 8 and len(first) == 5
    assert table.index.tolist() == [str(i) for i in range(1, 9)]
    assert "8 new sites from" in _legend(_map_page(app))
    app.slider(key="dis_k").set_value(1).run()
    assert len(_table(app)) == 1


def test_reach_and_demand_controls_reach_the_legend(app):
    app.radio(key="dis_reach").set_value(disruption.STRAIGHT).run()
    app.slider(key="dis_km").set_value(3.5).run()
    app.radio(key="dis_weight").set_value("count").run()
    app.multiselect(key="groups").set_value(["acquisitive", "soc"]).run()
    app.slider(key="dis_soc").set_value(2.0).run()
    assert not app.exception and not app.error, _errors(app)
    legend = _legend(_map_page(app))
    assert "reach within 3.5 km (straight line); demand incident counts, SOC-linked × 2" \
        in legend
    assert "Share of the incidents within reach" in [m.label for m in app.metric]
    assert "within 3.5 km (straight line)" in _plain(_table(app)["Rationale"].iloc[0])


def test_bad_upload_shows_one_line_error_and_the_page_keeps_working(app):
    app.file_uploader(key="dis_candidates").set_value(
        ("laybys.csv", NOTHING_USABLE, "text/csv")).run()
    assert not app.exception
    errors = _errors(app)
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith("laybys.csv: no usable site (2 rejected: line 2: no name; "
                                "line 3: lon 200, lat 95 is out of range)")
    assert "left out" in errors[0]
    assert tempfile.gettempdir() not in errors[0]  # the temporary path is never shown
    assert len(_table(app)) == 5  # still ranked without the file

    app.file_uploader(key="dis_candidates").set_value(
        ("notes.csv", b"where,when\nhere,now\n", "text/csv")).run()
    assert not app.exception
    assert _errors(app) == ["notes.csv: a site file needs a name column and lon/lat or "
                            "easting/northing columns (found: where, when) The candidate "
                            "sites file is left out."]


def test_upload_reports_rejected_rows_and_escapes_names(app):
    app.file_uploader(key="dis_candidates").set_value(
        ("laybys.csv", GOOD_CSV, "text/csv")).run()
    app.slider(key="dis_k").set_value(15).run()
    assert not app.exception and not app.error, _errors(app)
    warning = _plain(app.warning[0].value)
    assert warning == "laybys.csv: 3 rows rejected, 2 sites used as candidate sites."
    rejected = app.dataframe[0].value
    assert rejected["Line"].tolist() == [4, 5, 6]
    assert rejected["Reason"].iloc[0] == "no name"
    assert "looks swapped" in rejected["Reason"].iloc[1]
    assert rejected["Reason"].iloc[2].startswith("unparseable coordinates")
    assert _metric(app, "Candidate sites").endswith("(2 yours)")
    page = _map_page(app)
    assert XSS not in page
    # Chosen or not, the uploaded site is on the map (a numbered site or a candidate): its
    # name only ever as escaped text.
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page
    legend = _legend(page)
    assert "2 candidate sites from laybys.csv (uploaded)" in legend


def test_existing_sites_are_counted_first(app):
    existing = f"name,easting,northing\n{XSS},432400,271000\n".encode()
    app.file_uploader(key="dis_existing").set_value(
        ("anpr.csv", existing, "text/csv")).run()
    assert not app.exception and not app.error, _errors(app)
    assert len(app.table) == 2
    ex = app.table[1].value
    assert ex.index.tolist() == ["E"]
    assert ex["Site"].iloc[0] == "\\<img src=x onerror=alert\\(1\\)\\>"  # Markdown-escaped
    assert _plain(ex["Site"].iloc[0]) == XSS
    page = _map_page(app)
    assert XSS not in page and "hs-exist" in page
    legend = _legend(page)
    assert "1 existing site counted first" in legend
    assert "Existing site, counted first (1)" in legend
    assert "(existing site, counted first)" in _plain(ex["Rationale"].iloc[0])


def test_no_crime_chosen_shows_one_error(app):
    app.multiselect(key="groups").set_value([]).run()
    assert not app.exception
    assert _errors(app) == ["choose at least one crime group or crime type"]
    assert not app.get("iframe")


# ------------------------------------------------------------------------------ helpers


def test_parse_sites_reads_bytes_and_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sites = disruption.parse_sites("sites.GEOJSON", (
        b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        b'{"name": "Lay-by"}, "geometry": {"type": "Point", "coordinates": [-1.58, 52.28]}}, '
        b'{"type": "Feature", "properties": {"name": "Line"}, "geometry": {"type": '
        b'"LineString", "coordinates": [[-1.5, 52.3], [-1.4, 52.3]]}}]}'))
    assert sites["name"].tolist() == ["Lay-by"]
    assert sites.attrs["source"] == "sites.GEOJSON"
    assert sites.attrs["rejected"] == [{"line": 2, "name": "Line",
                                        "reason": "not a point (LineString)"}]
    assert list(tmp_path.iterdir()) == []  # the temporary copy is gone
    with pytest.raises(InputError, match=r"^notes\.txt: no usable site"):
        disruption.parse_sites("notes.txt", b"name,lon,lat\n,1,2\n")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="must be CSV or GeoJSON"):
        disruption.parse_sites("sites.xlsx", b"PK")
    # Content read_sites does not expect is still one line, never a traceback.
    with pytest.raises(InputError, match=r"^bin\.csv: not readable as UTF-8 or Windows-1252"):
        disruption.parse_sites("bin.csv", b"\x81\x8d\x8f\x90\x9d")
    with pytest.raises(InputError, match=r"^odd\.geojson: no usable site"):
        disruption.parse_sites("odd.geojson", b'{"type": "FeatureCollection", '
                                              b'"features": [null, 5]}')
    assert list(tmp_path.iterdir()) == []


def test_table_curve_and_target_helpers():
    plan_sites = pd.DataFrame({
        "rank": [1, 2], "name": ["A46 / A429", XSS], "roads": [["A46"], []],
        "covered": [960, 12], "covered_share": [0.2303, 0.004],
        "cumulative_share": [0.2303, 0.2343],
        "crime_mix": [{"Shoplifting": 360, "Vehicle crime": 208, "Other theft": 175,
                       "Burglary": 124, "Robbery": 30}, {}],
        "rationale": ["A46 / A429 covers 960 ...", "x"]})
    table = disruption.rank_table(plan_sites)
    assert list(table.columns) == list(disruption.TABLE_COLUMNS)
    assert table["Crime mix"].iloc[0] == ("Shoplifting 360 · Vehicle crime 208 · Other theft "
                                          "175 · Burglary 124 · 1 more")
    assert table["Roads"].tolist() == ["A46", ""]
    shown = disruption.display_table(table)
    assert shown["Covered share"].tolist() == ["23.0%", "0.4%"]
    assert shown["Site"].iloc[1] == "\\<img src=x onerror=alert\\(1\\)\\>"

    curve = [(1, 0.23), (2, 0.44), (3, 0.55), (4, 0.81)]
    frame = disruption.curve_frame(curve, 2, base=0.05)
    assert frame["chosen"].tolist() == [False, True, False, False]
    assert frame["gain"].round(4).tolist() == [0.18, 0.21, 0.11, 0.26]
    assert disruption.sites_for_target(curve, 0.8) == 4
    assert disruption.sites_for_target(curve, 0.9) is None


def test_upload_digest_changes_with_content():
    a = disruption.Upload("a.csv", b"name,lon,lat\n")
    assert a.digest == disruption.Upload("b.csv", b"name,lon,lat\n").digest
    assert a.digest != disruption.Upload("a.csv", b"name,lon,lat\nx,1,2\n").digest
    assert Path(a.name).suffix == ".csv"
