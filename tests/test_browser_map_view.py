"""The hotspot map in headless Chromium keeps its place: a filter change redraws its layers in
the map already on screen, with the zoom and centre the user left, and the zoom has a ceiling.
"""

from __future__ import annotations

import pytest
from support import MAP, watched_page

pytestmark = pytest.mark.browser

#: The map's Leaflet instance inside the component's page (the one L.Map there).
_VIEW = """() => {
    const m = Object.values(window).find(v => v instanceof window.L.Map);
    const c = m.getCenter();
    return {lat: c.lat, lng: c.lng, zoom: m.getZoom(), max: m.getMaxZoom(),
            renders: Number(document.getElementById('hs-live').dataset.renders)};
}"""

_ZOOM_TO = """([lat, lng, z]) => {
    const m = Object.values(window).find(v => v instanceof window.L.Map);
    m.setView([lat, lng], z, {animate: false});
}"""


def _choose(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def _wait_redrawn(frame, renders: int, text: str) -> None:
    from playwright.sync_api import expect

    expect(frame.locator("#hs-live")).not_to_have_attribute("data-renders", str(renders),
                                                             timeout=60_000)
    expect(frame.locator(".hs-legend")).to_contain_text(text, timeout=60_000)
    frame.locator("path.hs-hotspot").first.wait_for(state="attached", timeout=60_000)


def test_map_keeps_zoom_and_centre_across_filter_changes(server, browser, artifacts):
    page, requests, _, errors = watched_page(browser, 1500, 1300)
    try:
        page.goto(server.url)
        frame = page.frame_locator(MAP)
        frame.locator("path.hs-hotspot").first.wait_for(state="attached", timeout=120_000)
        inner = page.locator(MAP).element_handle().content_frame()
        start = inner.evaluate(_VIEW)
        assert start["max"] == 18  # a street block at most, not one cell
        # The user zooms in on Rugby town (inside the Rugby district).
        inner.evaluate(_ZOOM_TO, [52.3708, -1.2650, 14])
        here = inner.evaluate(_VIEW)
        assert here["zoom"] == 14

        # A district change, then a month change: the layers change, the view stays.
        _choose(page, "Area", "Rugby")
        _wait_redrawn(frame, here["renders"], "Rugby")
        after_area = inner.evaluate(_VIEW)
        thumb = page.get_by_test_id("stSlider").filter(has_text="Months").get_by_role("slider")
        thumb.first.focus()
        page.keyboard.press("ArrowLeft")
        _wait_redrawn(frame, after_area["renders"], "Rugby")
        after_months = inner.evaluate(_VIEW)
        page.screenshot(path=str(artifacts / "map_view_kept.png"))

        for view in (after_area, after_months):
            assert view["zoom"] == pytest.approx(here["zoom"])
            assert view["lat"] == pytest.approx(here["lat"], abs=1e-6)
            assert view["lng"] == pytest.approx(here["lng"], abs=1e-6)
        assert after_months["renders"] > after_area["renders"] > here["renders"]
        # One map, redrawn in place: no second Leaflet container, no script errors.
        assert frame.locator(".leaflet-container").count() == 1
        assert frame.locator(".hs-legend").count() == 1
        assert not errors, errors
        assert requests.off_machine() == []
    finally:
        page.close()
