"""The dashboard in headless Debian Chromium: renders offline, reacts to filters, runs no data.

Starts ``streamlit run app.py`` on a free port with no store yet (``first_run_server``: the
timing includes the first-run store build), drives ``/usr/bin/chromium`` through Playwright and
records every request the page makes: any that leaves the machine fails the test. Without
Chromium the tests skip, or fail when ``CI`` is set.
"""

from __future__ import annotations

import hashlib
import time

import pytest
from support import (
    CORRIDOR_MAP,
    MAP,
    RERENDER_LIMIT_S,
    STARTUP_LIMIT_S,
    watched_page,
)

pytestmark = pytest.mark.browser


def _overlay_digest(frame) -> str:
    src = frame.locator("img.leaflet-image-layer").get_attribute("src") or ""
    return hashlib.sha1(src.encode()).hexdigest()


def _choose(page, label: str, option: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(has_text=label)
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_dashboard_offline_render_and_filter(first_run_server, browser, artifacts):
    server = first_run_server  # its start-up includes the first-run store build
    from playwright.sync_api import expect

    page, requests, dialogs, _ = watched_page(browser, 1600, 1500)
    try:
        page.goto(server.url)
        frame = page.frame_locator(MAP)
        polygons = frame.locator("path.hs-hotspot")
        polygons.first.wait_for(state="attached", timeout=60_000)
        startup = time.perf_counter() - server.started
        expect(frame.locator("img.leaflet-image-layer")).to_have_count(1)
        expect(frame.locator(".leaflet-container")).to_have_count(1)
        expect(frame.locator(".hs-legend")).to_contain_text("Kernel density, quartic kernel")
        frame.locator(".hs-rank").first.wait_for(state="attached")
        page.get_by_test_id("stTable").wait_for()
        page.get_by_test_id("stVegaLiteChart").locator("canvas, svg").first.wait_for()
        page.wait_for_timeout(500)  # let the image decode before the screenshot
        page.screenshot(path=str(artifacts / "dashboard.png"))
        force_polygons = polygons.count()
        force_overlay = _overlay_digest(frame)
        # The default areas: up to 10 ranked patrol areas, each with its rank on the map.
        assert 0 < force_polygons <= 10
        assert frame.locator(".hs-rank").count() == force_polygons
        assert frame.locator(".leaflet-image-layer").evaluate("e => e.naturalWidth") > 100

        t0 = time.perf_counter()
        _choose(page, "Area", "Rugby")
        expect(frame.locator(".hs-title")).to_contain_text("Rugby", timeout=30_000)
        polygons.first.wait_for(state="attached")
        frame.locator("img.leaflet-image-layer").wait_for(state="attached")
        rerender = time.perf_counter() - t0
        rugby_polygons = polygons.count()
        assert 0 < rugby_polygons <= 10  # Rugby's own patrol areas (the surface differs below)
        assert _overlay_digest(frame) != force_overlay
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "dashboard-rugby.png"))

        print(f"\nstart-up to first map {startup:.1f} s; filter re-render {rerender:.2f} s; "
              f"hotspot polygons force {force_polygons}, Rugby {rugby_polygons}; "
              f"{len(requests.urls)} requests")
        assert not dialogs
        assert requests.urls, "no request recorded: the recorder is not working"
        assert requests.off_machine() == [], requests.off_machine()
        assert startup < STARTUP_LIMIT_S, f"first map after {startup:.1f} s"
        assert rerender < RERENDER_LIMIT_S, f"filter change took {rerender:.2f} s"
    finally:
        page.close()


def test_map_popup_shows_markup_as_text(browser, data_dir):
    """A Location of ``<img src=x onerror=alert(1)>`` shows as text and runs nothing."""
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import box

    from hotspots import base_layers, density_image, leaflet, maps
    from hotspots.config import load_settings
    from hotspots.legend import Legend
    from hotspots.spatial.grid import Grid

    xss = "<img src=x onerror=alert(1)>"
    x, y = 428400.0, 265000.0
    grid = Grid.from_bounds(x - 3000, y - 3000, x + 3000, y + 3000, 100)
    values = np.zeros(grid.shape)
    values[30, 30] = 50.0
    areas = gpd.GeoDataFrame({
        "rank": [1], "incidents": [7], "share": [0.7], "area_km2": [1.0], "pai": [9.0],
        "peak_density": [50.0], "top_locations": [f"{xss} (5)"], "harm": [np.nan]},
        geometry=[box(x - 1500, y - 1500, x + 1500, y + 1500)], crs="EPSG:27700")
    settings = load_settings(env={}).with_(data_dir=data_dir)
    page_html = leaflet.offline_html(maps.build_map(
        base=base_layers.load_base_layers(settings), view=box(*grid.bounds),
        density=density_image.density_image(values, grid), hotspots=areas,
        legend=Legend(title=xss, method="m"), settings=settings))

    page, requests, dialogs, errors = watched_page(browser, 900, 700)
    try:
        page.set_content(page_html)
        page.locator("path.hs-hotspot").first.wait_for(state="attached")
        page.locator("path.hs-hotspot").first.click(force=True)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert xss in popup.inner_text()
        assert xss in page.locator(".hs-title").inner_text()
        page.wait_for_timeout(300)
        assert page.locator("img[src='x']").count() == 0
        assert not dialogs and not errors
        assert requests.off_machine() == []
    finally:
        page.close()


def test_corridors_view_draws_the_srn(first_run_server, browser, artifacts):
    server = first_run_server
    """Switch to Corridors: the SRN lines (HAPMS, surveyed: none dashed as approximate) and
    junction circles are drawn in the Leaflet map, the table and charts render, a toggle
    re-renders quickly."""
    from playwright.sync_api import expect

    # Tall enough for the map, the junction table and the band charts in one screenshot.
    page, requests, dialogs, _ = watched_page(browser, 1600, 2250)
    try:
        page.goto(server.url)
        page.frame_locator(MAP).locator("path.hs-hotspot").first.wait_for(
            state="attached", timeout=60_000)
        page.get_by_test_id("stRadio").get_by_text("Corridors", exact=True).click()
        frame = page.frame_locator(CORRIDOR_MAP)
        lines = frame.locator("path.hs-srn")
        lines.first.wait_for(state="attached", timeout=60_000)
        expect(frame.locator(".hs-legend")).to_contain_text("Network kernel density")
        # Drawn, not merely present: the road paths have a visible extent inside the map.
        drawn = lines.evaluate_all(
            "ps => ps.filter(p => { const b = p.getBBox(); return b.width + b.height > 2; })"
            ".length")
        assert drawn > 30, f"only {drawn} SRN paths have a visible extent"
        # Every carriageway is a surveyed HAPMS section: no derived alignment is left.
        dashed = frame.locator("path.hs-srn-approx")
        assert dashed.count() == 0
        assert frame.locator("path.hs-junction").count() > 10
        assert frame.locator(".hs-rank").count() == 10
        page.get_by_test_id("stDataFrame").wait_for()
        charts = page.get_by_test_id("stVegaLiteChart")
        charts.nth(1).locator("canvas, svg").first.wait_for()
        before = frame.locator(".hs-legend").inner_text()

        t0 = time.perf_counter()
        page.get_by_test_id("stSidebar").get_by_text(
            "Include neighbouring forces' near-border incidents").click()
        expect(frame.locator(".hs-legend")).to_contain_text("near the border", timeout=30_000)
        lines.first.wait_for(state="attached")
        rerender = time.perf_counter() - t0
        assert frame.locator(".hs-legend").inner_text() != before
        page.wait_for_timeout(600)
        page.screenshot(path=str(artifacts / "corridors.png"))

        t0 = time.perf_counter()
        _choose(page, "Area", "Rugby")  # a shared filter, in the Corridors view
        expect(frame.locator(".hs-title")).to_contain_text("Rugby", timeout=30_000)
        lines.first.wait_for(state="attached")
        area_rerender = time.perf_counter() - t0

        print(f"\ncorridors: {drawn} SRN paths drawn, {dashed.count()} dashed; neighbours "
              f"toggle re-render {rerender:.2f} s, area change {area_rerender:.2f} s; "
              f"{len(requests.urls)} requests")
        assert not dialogs
        assert requests.off_machine() == [], requests.off_machine()
        assert rerender < RERENDER_LIMIT_S, f"neighbours toggle took {rerender:.2f} s"
        assert area_rerender < RERENDER_LIMIT_S, f"area change took {area_rerender:.2f} s"
    finally:
        page.close()
