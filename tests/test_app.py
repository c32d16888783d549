"""The dashboard under streamlit.testing (app.py run in-process on the shipped data)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hotspots.config import load_settings

APP = Path(__file__).resolve().parent.parent / "app.py"
TIMEOUT = 120


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    """The shipped data ingested once for this module, outside the working tree's store."""
    from hotspots.ingest import build_default_store

    store = tmp_path_factory.mktemp("app") / "store"
    build_default_store(load_settings(env={}).with_(store_dir=store))
    return store


@pytest.fixture
def app(store_dir, monkeypatch) -> AppTest:
    for var in ("HOTSPOTS_CONFIG", "HOTSPOTS_DATA_DIR", "HOTSPOTS_TILES_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOTSPOTS_STORE_DIR", str(store_dir))
    monkeypatch.chdir(APP.parent)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    return at


def _errors(at: AppTest) -> list[str]:
    """Error messages as shown (the app escapes Markdown in them)."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]


def _metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


def _map_page(at: AppTest) -> str:
    frames = at.get("iframe")
    assert len(frames) == 1, "the map iframe is missing"
    return frames[0].proto.srcdoc


def _legend(page: str) -> str:
    m = re.search(r"div\.innerHTML = (\".*?\");\n", page)
    assert m, "no legend in the map"
    return json.loads(m.group(1))


def test_defaults_render_without_exception(app):
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert int(_metric(app, "Incidents").replace(",", "")) > 1000
    assert int(_metric(app, "Hotspot areas").replace(",", "")) > 0
    assert _metric(app, "Share in hotspots").endswith("%")
    page = _map_page(app)
    assert "L.imageOverlay(" in page and "hs-hotspot" in page
    legend = _legend(page)
    assert "Kernel density, quartic kernel, bandwidth 500 m (fixed), 100 m cells, top 5% of " \
           "area, Oct–Dec 2025, acquisitive crime; incidents per km²" in legend
    # The sidebar says what SOC-linked means, and that the months have a gap.
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert "Drugs and Possession of weapons" in captions
    assert "May–Dec 2024" in captions


def test_changing_filters_changes_summary_and_map(app):
    force_incidents = _metric(app, "Incidents")
    force_page = _map_page(app)
    app.selectbox(key="area").select("Rugby").run()
    assert not app.exception and not app.error
    rugby_incidents = _metric(app, "Incidents")
    assert rugby_incidents != force_incidents
    assert int(rugby_incidents.replace(",", "")) < int(force_incidents.replace(",", ""))
    assert _map_page(app) != force_page
    assert "Rugby" in _legend(_map_page(app))

    app.multiselect(key="groups").set_value(["violence"]).run()
    assert not app.exception and not app.error
    assert _metric(app, "Incidents") != rugby_incidents
    assert "violence crime" in _legend(_map_page(app))


def test_method_controls_reach_the_legend(app):
    app.radio(key="bw_mode").set_value("arcgis").run()
    app.slider(key="top").set_value(10.0).run()
    assert not app.exception and not app.error
    legend = _legend(_map_page(app))
    assert "(ArcGIS Pro rule)" in legend and "top 10% of area" in legend


def test_count_layers_soc_note_and_neighbours(app):
    app.checkbox(key="show_counts").check().run()
    assert not app.exception and not app.error
    page = _map_page(app)
    assert "SOC-linked (Drugs, Possession of weapons)" in _legend(page)
    assert "Drugs and Possession of weapons are the SOC-linked proxy" in _legend(page)
    assert '"diamond"' in page and '"circle"' in page
    assert "Neighbouring forces" not in _legend(page)

    app.checkbox(key="show_neighbours").check().run()
    assert not app.exception and not app.error
    legend = _legend(_map_page(app))
    assert re.search(r"Neighbouring forces \(context\): [\d,]+ incidents", legend)
    assert "context only" in legend


def test_empty_selection_shows_error_and_keeps_running(app):
    app.multiselect(key="groups").set_value([]).run()
    assert not app.exception
    errors = _errors(app)
    assert errors and all("choose at least one crime group" in e for e in errors)
    assert len(app.sidebar.selectbox) == 1  # the page is still there to fix the selection
    app.multiselect(key="groups").set_value(["acquisitive"]).run()
    assert not app.exception and not app.error
    assert _map_page(app)


def test_no_incidents_in_selection_shows_error(app):
    # The shipped data has no bicycle theft in North Warwickshire in January 2024.
    app.multiselect(key="types").set_value(["Bicycle theft"]).run()
    app.selectbox(key="area").select("North Warwickshire").run()
    app.select_slider(key="period").set_range("2024-01", "2024-01").run()
    assert not app.exception
    assert _errors(app) == [
        "no mapped Bicycle theft incidents in North Warwickshire for Jan 2024; widen the "
        "period, area or crime selection"]
    assert not app.get("iframe")
    assert len(app.get("vega_lite_chart")) == 1  # the monthly trend is still drawn


def test_bad_settings_file_shows_error(store_dir, monkeypatch, tmp_path):
    bad = tmp_path / "hotspots.toml"
    bad.write_text("tiles_url = [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("HOTSPOTS_CONFIG", str(bad))
    monkeypatch.setenv("HOTSPOTS_STORE_DIR", str(store_dir))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert at.error and "not valid TOML" in _errors(at)[0]


def test_data_strings_are_escaped_in_markdown():
    from hotspots.ui.dashboard import md_escape

    assert md_escape("![x](https://example.org/t.png)") == \
        "\\!\\[x\\]\\(https\\://example\\.org/t\\.png\\)"
