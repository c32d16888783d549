"""The dashboard under streamlit.testing (app.py run in-process on the shipped data)."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest
from support import APP, TIMEOUT
from support import app_errors as _errors
from support import map_legend as _legend
from support import map_page as _map_page


@pytest.fixture
def app(app_env) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    return at


def _metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


def test_defaults_render_without_exception(app, store_dir, shipped_settings):
    from hotspots.methods import auto_choice
    from hotspots.models.evaluate import evaluate_store

    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert int(_metric(app, "Incidents").replace(",", "")) > 1000
    assert int(_metric(app, "Hotspot areas").replace(",", "")) > 0
    assert _metric(app, "Share in hotspots").endswith("%")
    page = _map_page(app)
    assert "L.imageOverlay(" in page and "hs-hotspot" in page
    legend = _legend(page)
    # The default bandwidth is auto's (docs/evaluation.md): the back-test's pick for a map
    # ending in the last month held, computed here by the library's own back-test.
    auto = auto_choice(evaluate_store(store_dir, groups=["acquisitive"],
                                      settings=shipped_settings), "2025-12")
    assert auto.folds and not isinstance(auto.bandwidth, tuple)
    assert f"Kernel density, quartic kernel, bandwidth {auto.bandwidth:,.0f} m (auto: best " \
           "back-tested PAI at 5% on earlier months), 100 m cells, Oct–Dec " \
           "2025, acquisitive crime; incidents per km². Areas: up to 10 patrol areas of at " \
           "most 1 km² each" in legend
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
    app.radio(key="area_mode").set_value("share").run()  # the methods' own areas
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
        "no mapped Bicycle theft incidents in North Warwickshire for Jan 2024; the store holds "
        "2024-01..2024-04 and 2025-01..2025-12; 2024-05..2024-12 are missing (the period is "
        "held: widen the area or the crimes)"]
    assert not app.get("iframe") and not app.get("component_instance")
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


def test_a_damaged_part_is_named_in_the_view_and_the_page_keeps_running(app_env, store_dir,
                                                                         monkeypatch, tmp_path):
    import shutil

    copy = tmp_path / "damaged"
    shutil.copytree(store_dir, copy)
    part = next((copy / "force=warwickshire" / "month=2025-05").glob("part-*.parquet"))
    part.write_bytes(part.read_bytes()[:100])
    monkeypatch.setenv("HOTSPOTS_STORE_DIR", str(copy))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    # The sidebar (months and crimes from the manifest) is drawn; the default map's auto
    # bandwidth back-tests every month, so the view names the part and the fix.
    assert at.sidebar.radio and at.sidebar.multiselect
    errors = _errors(at)
    assert errors and part.name in errors[0] and "hotspots store check" in errors[0]


def test_data_strings_are_escaped_in_markdown():
    from hotspots.ui.common import md_escape

    assert md_escape("![x](https://example.org/t.png)") == \
        "\\!\\[x\\]\\(https\\://example\\.org/t\\.png\\)"


# ------------------------------------------------------------------------------ corridors


def _corridors(at: AppTest) -> AppTest:
    at.radio(key="view").set_value("Corridors").run()
    assert not at.exception, at.exception
    assert not at.error, _errors(at)
    return at


def _junction_table(at: AppTest):
    tables = at.dataframe
    assert len(tables) == 1, "the junction table is missing"
    return tables[0].value


def test_corridors_view_renders_junction_table_map_and_bands(app):
    _corridors(app)
    assert app.session_state["view"] == "Corridors"
    table = _junction_table(app)
    assert list(table.columns) == ["Rank", "Junction", "Incidents", "By group", "Previous",
                                   "Change", "Change %", "Note"]
    assert len(table) > 10 and table["Rank"].tolist() == list(range(1, len(table) + 1))
    assert table["Incidents"].is_monotonic_decreasing and table["Incidents"].iloc[0] > 0
    assert table["By group"].iloc[0].startswith("Acquisitive ")
    assert _metric(app, "Busiest junction").startswith(table["Junction"].iloc[0].split(" (")[0])
    assert _metric(app, "Neighbouring forces' incidents") == "Not included"
    page = _map_page(app)
    assert "hs-srn" in page and "hs-junction" in page
    legend = _legend(page)
    assert ("Network kernel density (Xie &amp; Yan 2008 simple method), quartic, bandwidth "
            "1,000 m along the network, 100 m lixels, incidents within 500 m of the SRN, "
            "Oct–Dec 2025, acquisitive crime; incidents per km of road") in legend
    assert "Approximate alignment (drawn dashed)" in legend
    assert len(app.get("vega_lite_chart")) == 2  # band shares and location quotients
    captions = " ".join(c.value for c in app.caption)
    assert ("distance to nearest SRN road; LQ = share of incidents / share of the force area"
            in captions)
    sidebar = re.sub(r"\\(.)", r"\1", " ".join(c.value for c in app.sidebar.caption))
    assert "West Midlands Police is missing from the shipped data" in sidebar
    # The Hotspots view's own controls are not shown here; the shared filters are.
    assert not [r for r in app.sidebar.radio if r.key == "bw_mode"]
    assert app.selectbox(key="area").value == "force"


def test_corridor_neighbours_toggle_changes_counts(app):
    _corridors(app)
    before = _junction_table(app).set_index("Junction")["Incidents"]
    incidents = int(_metric(app, "Incidents").replace(",", ""))
    assert "(neighbouring forces not included)" in _legend(_map_page(app))

    app.toggle(key="cor_neighbours").set_value(True).run()
    assert not app.exception and not app.error, _errors(app)
    after = _junction_table(app).set_index("Junction")["Incidents"]
    assert int(_metric(app, "Incidents").replace(",", "")) > incidents
    assert int(_metric(app, "Neighbouring forces' incidents").replace(",", "")) > 0
    common = before.index.intersection(after.index)
    assert len(common) == len(before)
    assert (after[common] >= before[common]).all()  # neighbours only add incidents
    assert (after[common] > before[common]).sum() >= 3  # border junctions gain some
    legend = _legend(_map_page(app))
    assert "near the border" in legend and "West Mercia" in legend


def test_corridor_controls_reach_map_and_table(app):
    _corridors(app)
    narrow = _junction_table(app)["Incidents"].sum()
    app.slider(key="cor_radius").set_value(3000).run()
    app.slider(key="cor_bandwidth").set_value(1500).run()
    assert not app.exception and not app.error, _errors(app)
    legend = _legend(_map_page(app))
    assert "bandwidth 1,500 m along the network" in legend
    assert "incidents within 3,000 m" in legend
    assert _junction_table(app)["Incidents"].sum() > narrow


def test_views_share_filters_and_keep_their_own_controls(app):
    app.radio(key="bw_mode").set_value("fixed").run()  # the default is auto
    app.slider(key="bandwidth").set_value(800).run()
    _corridors(app)
    app.selectbox(key="area").select("Rugby").run()
    assert not app.exception and not app.error, _errors(app)
    assert app.session_state["view"] == "Corridors"  # a filter change keeps the view
    assert "Rugby" in _legend(_map_page(app))
    assert "share of the area (Rugby)" in " ".join(c.value for c in app.caption)

    app.radio(key="view").set_value("Hotspots").run()
    assert not app.exception and not app.error, _errors(app)
    assert app.slider(key="bandwidth").value == 800  # kept while the other view was shown
    legend = _legend(_map_page(app))
    assert "Rugby" in legend and "bandwidth 800 m (fixed)" in legend


def test_corridors_with_no_crime_chosen_shows_one_error(app):
    _corridors(app)
    app.multiselect(key="groups").set_value([]).run()
    assert not app.exception
    assert _errors(app) == ["choose at least one crime group or crime type"]
    assert not app.get("iframe") and not app.get("component_instance")


def test_previous_period_neighbour_gaps_and_toggle_caption():
    from hotspots.months import previous_period
    from hotspots.ui import compute, corridor_compute
    from hotspots.ui.corridors import neighbours_caption

    assert previous_period("2025-10", "2025-12") == ("2025-07", "2025-09")
    assert previous_period("2025-01", "2025-02") == ("2024-11", "2024-12")
    sel = compute.Params(area="force", start="2025-10", end="2025-12", groups=("acquisitive",))
    held = ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
    by_force = {"warwickshire": tuple(held), "west-mercia": tuple(held),
                "thames-valley": ("2025-08", "2025-09", "2025-10", "2025-11", "2025-12")}
    assert corridor_compute.neighbour_gaps(by_force, sel, held, "warwickshire") == [
        "Thames Valley has no data for Jul 2025"]
    later = compute.Params(area="force", start="2025-12", end="2025-12", groups=("soc",))
    assert corridor_compute.neighbour_gaps(by_force, later, held, "warwickshire") == []
    caption = neighbours_caption(["leicestershire", "warwickshire", "west-mercia"],
                                 "warwickshire")
    assert caption.startswith("police.uk rows of Leicestershire and West Mercia within 10 km")
    assert "West Midlands Police is missing from the shipped data" in caption
    assert "Also missing: Northamptonshire, Thames Valley." in caption


def test_near_total_in_sample_share_is_explained(app):
    # Auto's surface of three months' acquisitive crime holds 99.9% of incidents in its
    # top 5%: the page says why, instead of leaving "100%" to look like an error.
    app.radio(key="area_mode").set_value("share").run()
    captions = " ".join(c.value for c in app.main.caption)
    assert "lie inside the hotspot areas: at this bandwidth" in captions
    app.radio(key="bw_mode").set_value("fixed").run()
    app.slider(key="bandwidth").set_value(1500).run()
    assert not app.exception
    share = float(_metric(app, "Share in hotspots").rstrip("%")) / 100
    captions = " ".join(c.value for c in app.main.caption)
    assert ("lie inside the hotspot areas: at this bandwidth" in captions) == (share >= 0.99)
