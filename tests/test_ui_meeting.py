"""Tasking-meeting features in the dashboard: the view in the URL, meeting mode, downloads."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from support import audit_to, map_page

from hotspots import viewstate
from hotspots.config import load_settings
from hotspots.method_spec import MapAreas
from hotspots.ui import compute, downloads, meeting
from hotspots.ui.compute import Params
from hotspots.wording import format_metres

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 180
#: A selection that differs from the defaults in every field the Hotspots view shows.
LINK = {"view": "hotspots", "area": "Rugby", "from": "2025-07", "to": "2025-09",
        "group": ["acquisitive", "soc"], "method": "fixed", "bandwidth": "750", "top": "7.5",
        "layer": "counts"}


@pytest.fixture
def audit_log(tmp_path) -> Path:
    return tmp_path / "audit" / "exports.jsonl"


@pytest.fixture
def env(app_env, audit_log, monkeypatch) -> None:
    audit_to(monkeypatch, audit_log)


@pytest.fixture
def made(monkeypatch) -> dict:
    """The download buttons' producers by what they export, as the page made them. The test
    harness has no browser to fetch a file, so a test "clicks" by calling the producer, as
    Streamlit does when the real button is clicked."""
    out: dict = {}
    real = downloads.producer

    def keep(what, *args, **kwargs):
        out[what] = real(what, *args, **kwargs)
        return out[what]

    monkeypatch.setattr(downloads, "producer", keep)
    return out


def _run(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception
    return at


def _legend(at: AppTest) -> str:
    page = map_page(at)
    m = re.search(r"div\.innerHTML = (\".*?\");\n", page)
    assert m, "no legend in the map"
    return json.loads(m.group(1))


def _html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def _url(at: AppTest) -> dict[str, list[str]]:
    return {k: ([v] if isinstance(v, str) else list(v)) for k, v in at.query_params.items()}


def _audit(settings, path: Path) -> list[dict]:
    from hotspots.audit import read_exports

    return read_exports(path, settings=settings)


# ----------------------------------------------------------------------------------- the URL


def test_link_reproduces_the_selection(env):
    at = _run(LINK)
    assert not at.error and not at.info, ([e.value for e in at.error], [i.value for i in at.info])
    assert at.radio(key="view").value == "Hotspots"
    assert at.selectbox(key="area").value == "Rugby"
    assert at.select_slider(key="period").value == ("2025-07", "2025-09")
    assert at.multiselect(key="groups").value == ["acquisitive", "soc"]
    assert at.radio(key="bw_mode").value == "fixed"
    assert at.slider(key="bandwidth").value == 750
    assert at.slider(key="top").value == 7.5
    assert at.checkbox(key="show_counts").value is True
    assert at.checkbox(key="meeting").value is False
    legend = _legend(at)
    assert "Acquisitive and SOC-linked crime hotspots, Rugby" in legend
    assert "bandwidth 750 m (fixed)" in legend and "top 7.5% of area" in legend
    assert "Jul–Sep 2025" in legend and "SOC-linked (Drugs, Possession of weapons)" in legend
    # The URL written back holds the same view (and nothing was lost or added).
    url = _url(at)
    assert {k: url[k] for k in LINK} == {k: ([v] if isinstance(v, str) else v)
                                         for k, v in LINK.items()}
    assert "meeting" not in url


def test_corridors_link_reproduces_its_controls(env):
    at = _run({"view": "corridors", "area": "Warwick", "group": "acquisitive",
               "radius": "3000", "road_bandwidth": "1500", "neighbours": "1"})
    assert not at.error and not at.info
    assert at.radio(key="view").value == "Corridors"
    assert at.toggle(key="cor_neighbours").value is True
    legend = _legend(at)
    assert "bandwidth 1,500 m along the network" in legend
    assert "incidents within 3,000 m" in legend and "Warwick" in legend
    url = _url(at)
    assert url["radius"] == ["3000"] and url["road_bandwidth"] == ["1500"]
    assert url["neighbours"] == ["1"] and url["view"] == ["corridors"]


def test_bad_link_falls_back_with_a_note(env):
    at = _run({"area": "Atlantis", "from": "2031-01", "group": ["bogus", "soc"],
               "bandwidth": "12345", "method": "fixed", "<b>x</b>": "1"})
    assert not at.error, [e.value for e in at.error]
    raw = " ".join(i.value for i in at.info)
    assert "<b>" not in raw and "\\<b\\>" in raw  # Markdown-escaped: shows as typed
    notes = re.sub(r"\\(.)", r"\1", raw)
    assert "This link could not be followed in full" in notes
    for part in ("Atlantis", "2031-01", "bogus", "12345", "Unknown link parameter “<b>x</b>”"):
        assert part in notes, part
    assert at.selectbox(key="area").value == "force"
    assert at.select_slider(key="period").value == ("2025-10", "2025-12")
    assert at.multiselect(key="groups").value == ["soc"]
    assert at.slider(key="bandwidth").value == 500  # the slider's default
    url = _url(at)
    assert url["area"] == ["force"] and url["group"] == ["soc"] and "<b>x</b>" not in url
    assert url["from"] == ["2025-10"] and url["bandwidth"] == ["500"]
    # The note is shown once: the next run (any click) no longer repeats it.
    at.run()
    assert not at.info


def test_a_changed_selection_is_written_back_and_reopens_exactly(env):
    at = _run()
    at.radio(key="area_mode").set_value("share").run()  # the share slider is in the link
    at.selectbox(key="area").select("Stratford-on-Avon").run()
    at.multiselect(key="groups").set_value(["violence", "asb"]).run()
    at.radio(key="bw_mode").set_value("arcgis").run()
    at.slider(key="top").set_value(12.5).run()
    at.checkbox(key="show_services").check().run()
    assert not at.exception and not at.error
    url = _url(at)
    assert url["area"] == ["Stratford-on-Avon"] and url["group"] == ["violence", "asb"]
    assert url["method"] == ["arcgis"] and url["top"] == ["12.5"]
    assert url["layer"] == ["services"]
    legend = _legend(at)

    again = _run(at.query_params)  # the link, opened by a colleague
    assert not again.info
    for key in ("area", "groups", "types", "bw_mode", "top", "show_services", "show_counts"):
        assert again.session_state[key] == at.session_state[key], key
    assert again.select_slider(key="period").value == at.select_slider(key="period").value
    assert _url(again) == url
    assert _legend(again) == legend


def test_view_ranges_match_the_sidebar(env):
    """viewstate's accepted values are the sidebar's: the same ranges, groups and methods."""
    at = _run({"method": "fixed", "top": "5"})
    for key, rng in (("bandwidth", viewstate.BANDWIDTH), ("top", viewstate.TOP)):
        s = at.slider(key=key)
        assert (s.min, s.max, s.step) == (rng.lo, rng.hi, rng.step), key
    assert tuple(compute.GROUP_LABELS) == viewstate.GROUPS
    assert len(at.radio(key="bw_mode").options) == len(viewstate.METHODS)
    for method in viewstate.METHODS:
        assert _run({"method": method}).radio(key="bw_mode").value == method
    cor = _run({"view": "corridors"})
    for key, rng in (("cor_radius", viewstate.RADIUS),
                     ("cor_bandwidth", viewstate.ROAD_BANDWIDTH)):
        s = cor.slider(key=key)
        assert (s.min, s.max, s.step) == (rng.lo, rng.hi, rng.step), key


# ----------------------------------------------------------------------------------- meeting mode


def test_meeting_flag_renders_the_title(env):
    at = _run({"meeting": "1", "area": "Rugby", "from": "2025-10", "to": "2025-12",
               "group": "acquisitive"})
    assert not at.error
    assert at.checkbox(key="meeting").value is True
    html = _html(at)
    assert ">Acquisitive crime · Rugby · Oct–Dec 2025</div>" in html
    assert "hs-meeting-title" in html and "OFFICIAL-SENSITIVE" in html
    assert "font-size: 19px" in html and "100vh" in html  # larger type, the map filling
    page = map_page(at)
    assert ".hs-legend { zoom: 1.45;" in page  # the larger legend inside the map
    assert _url(at)["meeting"] == ["1"]

    at.checkbox(key="meeting").uncheck().run()
    assert "hs-meeting-title" not in _html(at)
    assert ".hs-legend { zoom" not in map_page(at)
    assert "meeting" not in _url(at)


def test_meeting_title_is_escaped_and_the_map_restyled():
    p = Params(area="force", start="2025-10", end="2025-12", groups=("acquisitive",),
               forces=("warwickshire",))
    assert meeting.title_line(p) == "Acquisitive crime · Warwickshire · Oct–Dec 2025"
    hostile = Params(area="<img src=x onerror=alert(1)>", start="2025-01", end="2025-03",
                     groups=(), types=("<b>Burglary</b>",))
    block = meeting.title_html(hostile, view="corridors", marking="<i>OFFICIAL</i>")
    assert "<img" not in block and "<b>" not in block and "<i>" not in block
    assert "&lt;img src=x onerror=alert(1)&gt;" in block and "&lt;i&gt;OFFICIAL" in block
    assert "SRN corridors" in block
    assert meeting.map_page("<html><head></head><body></body></html>", on=False) == \
        "<html><head></head><body></body></html>"
    styled = meeting.map_page("<html><head></head><body></body></html>", on=True)
    assert styled.index(".hs-legend { zoom") < styled.index("</head>")


# ----------------------------------------------------------------------------------- downloads


def test_downloads_panel_offers_the_files(settings, env, audit_log):
    at = _run()
    keys = [b.key for b in at.download_button]
    assert keys == ["download_map", "download_csv", "download_geojson", "download_gpkg"]
    assert [b.key for b in at.button] == ["prepare_png_a4", "prepare_png_hd", "prepare_pack"]
    assert _audit(settings, audit_log) == []  # nothing downloaded, nothing recorded

    at.button(key="prepare_png_hd").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "download_png_hd" in [b.key for b in at.download_button]
    assert "prepare_png_hd" not in [b.key for b in at.button]
    assert _audit(settings, audit_log) == []  # made, not yet downloaded

    # The buttons hold producers, not bytes: a click in the test harness (no browser to fetch
    # the file) releases nothing and so records nothing; the browser test clicks for real.
    at.download_button(key="download_png_hd").click().run()
    at.download_button(key="download_csv").click().run()
    assert _audit(settings, audit_log) == []


@pytest.mark.parametrize("method, column", [("gistar", "Confidence"),
                                            ("emerging", "Pattern"),
                                            ("clusters", "Crime mix")])
def test_the_table_and_downloads_follow_the_map_method(settings, env, audit_log, made, method,
                                                      column):
    at = _run({"map": method, "top": "5"})  # a share of the area: the method's own areas
    assert not at.error, [e.value for e in at.error]
    table = at.table[0].value
    assert column in table.columns and "Top locations" in table.columns
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "Share and PAI are in-sample" in captions and "Areas: " in captions
    assert "the map snapshots and the tasking pack hold the " in captions
    assert "shown on the map" in captions and "back-test of maps made the same way" in captions
    made["hotspots.csv"]()
    rec = _audit(settings, audit_log)[-1]
    assert rec["what"] == "hotspots.csv" and rec["filters"]["map_method"] == method
    assert "Areas: " in rec["filters"]["method"]


def test_the_kde_table_and_downloads_name_the_density_areas(settings, env, audit_log, made):
    at = _run({"top": "5"})
    assert list(at.table[0].value.columns) == ["Incidents", "Share", "km²", "PAI",
                                               "Top locations"]
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "hold the kernel density hotspot areas" in captions
    made["hotspots.geojson"]()
    assert _audit(settings, audit_log)[-1]["filters"]["map_method"] == "kde"


def test_signed_in_user_is_recorded(settings, env, audit_log, made):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.user = {"is_logged_in": True, "email": "pc4021@example.police.uk", "name": "PC 4021"}
    at.run()
    made["hotspots.geojson"]()
    (rec,) = _audit(settings, audit_log)
    assert rec["user"] == "pc4021@example.police.uk" and rec["what"] == "hotspots.geojson"


def test_corridor_downloads(settings, env, audit_log, made):
    at = _run({"view": "corridors"})
    assert [b.key for b in at.download_button] == ["download_corridor_map",
                                                   "download_junctions"]
    made["junctions.csv"]()
    rec = _audit(settings, audit_log)[-1]
    assert rec["what"] == "junctions.csv" and rec["filters"]["view"] == "corridors"
    assert rec["filters"]["radius"] == 2000.0 and rec["files"][0]["bytes"] > 0


def test_a_download_producer_writes_its_line_before_it_returns_the_bytes(tmp_path, data_dir):
    import hashlib

    from hotspots.audit import AuditError

    log = tmp_path / "log.jsonl"
    settings = load_settings(env={}).with_(data_dir=data_dir, audit_log=str(log))
    p = Params(area="Rugby", start="2025-10", end="2025-12", groups=(), types=("Burglary",))
    filters = downloads.selection_filters(p, settings, view="hotspots", size="hd")
    produce = downloads.producer("map.png", filters, "x.png", settings, b"PNG bytes")
    assert not log.exists()  # made, not yet downloaded: nothing recorded
    assert produce() == b"PNG bytes"
    rec = _audit(settings, log)[0]
    assert rec["what"] == "map.png" and rec["filters"]["size"] == "hd"
    assert rec["files"] == [{"name": "x.png", "bytes": 9,
                             "sha256": hashlib.sha256(b"PNG bytes").hexdigest()}]
    assert rec["user_kind"] == "os account" and rec["role"] == "local"
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    closed = settings.with_(audit_log=str(blocker / "log.jsonl"))
    with pytest.raises(AuditError):
        downloads.producer("map.png", filters, "x.png", closed, b"PNG bytes")()


def test_downloads_are_off_when_the_audit_log_cannot_be_written(env, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    audit_to(monkeypatch, blocker / "exports.jsonl")
    at = _run()
    assert not at.download_button and not [b for b in at.button if b.key.startswith("prep")]
    errors = " ".join(e.value for e in at.error)
    assert "Downloads are switched off" in errors and "audit\\_log" in errors
    assert map_page(at)  # the map itself is still shown


# ----------------------------------------------------------------------------------- the files


@pytest.fixture(scope="module")
def rugby(shipped_settings):
    settings = shipped_settings
    from hotspots.query import available_months

    months = tuple(available_months(settings=settings))
    # The methods' own areas (a share of the area), whose downloads and pack these tests pin.
    params = Params(area="Rugby", start="2025-10", end="2025-12", groups=("acquisitive",),
                    bandwidth=600.0, top=0.05, n_areas=0)
    return settings, compute.run_analysis(params, settings, months)


def test_snapshot_surface_is_the_analysis_surface(rugby):
    from hotspots.models.areas import hotspot_areas
    from hotspots.query import load_incidents
    from hotspots.spatial.boundaries import area_geometry

    settings, analysis = rugby
    p = analysis.params
    surface = downloads.density_surface(p, settings)
    assert surface.bandwidth == 600.0 and surface.grid.cell == compute.CELL_M
    mapped = load_incidents(settings.store_dir, start=p.start, end=p.end, area=p.area,
                            forces=[settings.force], mapped_only=True, settings=settings,
                            **p.selection())
    again = hotspot_areas(surface, mapped, top=p.top, study_area=area_geometry(p.area, settings))
    assert again["incidents"].tolist() == analysis.areas["incidents"].tolist()
    assert again.geometry.area.round(0).tolist() == analysis.areas.geometry.area.round(0).tolist()


def test_map_png_sizes(rugby):
    from PIL import Image

    settings, analysis = rugby
    png = downloads.map_png(analysis, settings, "hd")
    img = Image.open(io.BytesIO(png))
    assert img.size == (1920, 1080)
    assert "bandwidth 600 m (fixed)" in img.info.get("Description", "")
    assert img.info.get("Title") == "Acquisitive crime hotspots"


def test_tables_and_gis_files(rugby, tmp_path):
    import geopandas as gpd

    settings, analysis = rugby
    table = downloads.hotspot_table(analysis.areas)
    assert tuple(table.columns) == downloads.TABLE_COLUMNS
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert table["lon"].between(-1.6, -1.0).all() and table["lat"].between(52.2, 52.6).all()

    hostile = analysis.areas.copy()
    hostile.loc[hostile.index[0], "top_locations"] = "=HYPERLINK(\"http://x\") (9)"
    csv = downloads.hotspot_csv(compute.Analysis(**{**analysis.__dict__, "areas": hostile}))
    text = csv.decode("utf-8")
    assert text.startswith("\ufeffrank,locations,incidents")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text

    geo = json.loads(downloads.hotspot_geojson(analysis, settings))
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == len(analysis.areas)
    assert geo["metadata"]["method_statement"] == analysis.method()
    assert geo["metadata"]["marking"] == settings.marking and geo["metadata"]["area"] == "Rugby"

    gpkg = downloads.hotspot_geopackage(analysis)
    assert gpkg.startswith(b"SQLite format 3")
    path = tmp_path / "h.gpkg"
    path.write_bytes(gpkg)
    back = gpd.read_file(path, layer="hotspots")
    assert back.crs.to_epsg() == 27700 and len(back) == len(analysis.areas)


@pytest.fixture(scope="module")
def rugby_gistar(rugby):
    from hotspots.ui import methods

    settings, analysis = rugby
    p = analysis.params
    from hotspots.query import available_months

    cells = methods.model_run(methods.MapMethod("gistar"), p, settings)
    months = tuple(available_months(settings=settings))
    shown = methods.model_areas(methods.MapMethod("gistar"), cells, p, settings, months)
    return settings, analysis, cells, shown


def test_gistar_downloads_hold_the_hot_areas_and_state_their_method(rugby_gistar, tmp_path):
    import geopandas as gpd
    from PIL import Image

    settings, analysis, cells, shown = rugby_gistar
    assert len(shown.areas) >= 1
    # Every hot cell's incidents are in exactly one area.
    assert int(shown.areas["incidents"].sum()) == int(cells.loc[cells["bin"] >= 1,
                                                                "count"].sum())
    assert "Benjamini-Hochberg" in shown.statement and "Areas: Gi* hot cells" in shown.statement

    table = downloads.hotspot_table(shown.areas)
    assert list(table.columns) == [*downloads.TABLE_COLUMNS[:-2], "confidence", "max_z", "lon",
                                   "lat"]
    assert set(table["confidence"]) <= {90, 95, 99}
    csv = downloads.hotspot_csv(analysis, shown).decode("utf-8")
    assert csv.splitlines()[0].endswith("harm,confidence,max_z,lon,lat")
    assert len(csv.splitlines()) == len(shown.areas) + 1

    geo = json.loads(downloads.hotspot_geojson(analysis, settings, shown))
    assert len(geo["features"]) == len(shown.areas)
    assert geo["metadata"]["method_statement"] == shown.statement
    assert geo["metadata"]["areas"] == "Gi* hot spot areas (90%+ confidence)"
    assert geo["metadata"]["hotspot_method"]["min_confidence"] == 90

    path = tmp_path / "g.gpkg"
    path.write_bytes(downloads.hotspot_geopackage(analysis, shown))
    back = gpd.read_file(path, layer="hotspots")
    assert len(back) == len(shown.areas) and "confidence" in back.columns

    img = Image.open(io.BytesIO(downloads.map_png(analysis, settings, "hd", shown=shown)))
    assert img.size == (1920, 1080)
    assert img.info.get("Title") == "Acquisitive crime: Gi* hot spot areas (90%+ confidence)"
    assert "Getis-Ord Gi*" in img.info.get("Description", "")
    assert "bandwidth" not in img.info.get("Description", "")


def test_gistar_tasking_pack_is_built_on_the_hot_areas_shown(rugby_gistar, tmp_path):
    import io as _io

    from pypdf import PdfReader

    from hotspots.pack_inputs import build_pack_inputs

    settings, analysis, _, shown = rugby_gistar
    p = analysis.params
    inputs = build_pack_inputs(p.to_selection(settings), settings.store_dir, shown=shown,
                               accuracy=False)
    table = inputs.hotspot_table
    assert table["incidents"].tolist() == shown.areas["incidents"].tolist()
    assert table["rank"].tolist() == list(range(1, len(shown.areas) + 1))
    # Gi* areas are whole cells: the previous period (Jul-Sep 2025) is counted in them.
    assert table["previous"].notna().all() and "class" in table.columns
    assert inputs.title == "Acquisitive crime: Gi* hot spot areas (90%+ confidence)"
    assert inputs.method_notes[0].startswith(shown.statement.rstrip(". "))
    assert inputs.method_notes[1].startswith("Gi* hot spot areas (90%+ confidence): Gi* hot")
    assert inputs.params["map_method"] == shown.name
    assert inputs.params["areas_method"]["min_confidence"] == 90
    json.dumps(inputs.params, allow_nan=False)

    pdf = downloads.tasking_pack(p, settings, shown)
    text = " ".join(" ".join(page.extract_text() or "" for page in
                             PdfReader(_io.BytesIO(pdf)).pages).split())
    assert "Gi* hot spot areas (90%+ confidence)" in text
    # The dashboard's pack back-tests Gi* maps made as the shown one, not the KDE methods.
    cell = shown.areas.attrs["method"]["model"]["cell_m"]
    assert (f"Gi* hot cells at 90% or more ({format_metres(cell)} cells, Benjamini-Hochberg "
            "FDR) would have captured") in text
    assert "this back-test is of the kernel density methods" not in text


def test_cluster_pack_counts_no_previous_period_for_clusters(rugby):
    from hotspots.pack_inputs import build_pack_inputs
    from hotspots.query import available_months
    from hotspots.ui import methods

    settings, analysis = rugby
    p = analysis.params
    hulls = methods.model_run(methods.MapMethod("clusters"), p, settings)
    months = tuple(available_months(settings=settings))
    shown = methods.model_areas(methods.MapMethod("clusters"), hulls, p, settings, months)
    assert len(shown.areas) >= 1
    inputs = build_pack_inputs(p.to_selection(settings), settings.store_dir, shown=shown,
                               accuracy=False,
                               classes=False)
    table = inputs.hotspot_table
    assert table["previous"].isna().all()
    assert set(table["change_note"]) == {"clusters are groups of this period's incidents, not "
                                         "fixed places: no previous count"}
    assert int(table["incidents"].sum()) == int(shown.areas["incidents"].sum())


def test_pack_refuses_areas_without_the_hotspot_columns_in_one_line(rugby):
    import geopandas as gpd
    from shapely.geometry import box

    from hotspots.errors import ParameterError
    from hotspots.pack_inputs import build_pack_inputs

    settings, analysis = rugby
    p = analysis.params
    bad = gpd.GeoDataFrame({"incidents": [3]}, geometry=[box(0, 0, 1, 1)], crs=27700)
    with pytest.raises(ParameterError, match="lack the hotspot-area columns") as err:
        build_pack_inputs(p.to_selection(settings), settings.store_dir,
                          shown=MapAreas("gistar", "y", bad, "x"))
    assert "\n" not in str(err.value)


def test_cluster_table_shows_the_crime_mix_and_months_escaped():
    import geopandas as gpd
    from shapely.geometry import box

    from hotspots.models.areas import cluster_areas
    from hotspots.ui.hotspot_view import area_table

    clusters = gpd.GeoDataFrame({
        "cluster": [1], "incidents": [12], "share": [0.5], "area_km2": [0.25],
        "top_locations": ["On or near [x](http://evil) (12)"], "harm": [1.0],
        "by_type": [{"Burglary": 12}], "first_month": ["2025-01"], "last_month": ["2025-03"]},
        geometry=[box(0, 0, 500, 500)], crs=27700)
    table = area_table(cluster_areas(clusters, study_area_km2=100.0))
    assert list(table.columns) == ["Incidents", "Share", "km²", "PAI", "Crime mix", "Months",
                                   "Top locations"]
    row = table.iloc[0]
    assert row["Crime mix"].replace("\\", "") == "Burglary (12)"
    assert row["Months"] == "Jan–Mar 2025"
    assert row["PAI"] == "200.0"
    assert "](" not in row["Top locations"]


def test_tasking_pack_is_a_pdf_of_the_selection(rugby):
    settings, analysis = rugby
    pdf = downloads.tasking_pack(analysis.params, settings)
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Rugby" in text and "bandwidth 600 m" in text and "OFFICIAL-SENSITIVE" in text


def test_junction_csv_and_file_names():
    junctions = pd.DataFrame({
        "rank": [1], "name": ["=cmd|' /C calc'!A0"], "alias": [None], "incidents": [12],
        "by_group": [{"acquisitive": 12}], "previous": [10], "change": [2],
        "change_pct": [20.0], "change_note": [""], "x": [450000.0], "y": [275000.0]})
    text = downloads.junction_csv(junctions).decode("utf-8")
    assert "'=cmd" in text and "Acquisitive 12" in text
    assert text.splitlines()[0].endswith(",lon,lat")
    assert downloads.slug("Nuneaton and Bedworth") == "nuneaton-and-bedworth"
    assert downloads.slug("../../etc") == "etc"
    assert downloads.file_stem("hotspots", "force", "2025-10", "2025-12") == \
        "hotspots-force-2025-10-2025-12"


def test_record_writes_one_line(tmp_path, monkeypatch, data_dir):
    log = tmp_path / "log.jsonl"
    settings = load_settings(env={}).with_(data_dir=data_dir, audit_log=str(log))
    p = Params(area="Rugby", start="2025-10", end="2025-12", groups=(), types=("Burglary",))
    filters = downloads.selection_filters(p, settings, view="hotspots", size="a4")
    assert filters["groups"] is None and filters["types"] == ["Burglary"]
    downloads.record("map.png", filters, "x.png", settings, user="PC 4021")
    recs = _audit(settings, log)
    assert len(recs) == 1 and recs[0]["user"] == "PC 4021" and recs[0]["files"] == ["x.png"]
    assert recs[0]["user_kind"] == "signed in"
