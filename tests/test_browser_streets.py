"""In Chromium: the street basemap names the streets at zoom 15 over Rugby town centre."""

from __future__ import annotations

import pytest
from support import MAP, watched_page

pytestmark = pytest.mark.browser


def test_street_names_are_drawn_at_zoom_15_over_rugby(server, browser, artifacts):
    page, requests, _, errors = watched_page(browser, 1400, 1200)
    try:
        page.goto(server.url)
        frame = page.frame_locator(MAP)
        frame.locator(".hs-rank").first.wait_for(state="attached", timeout=90_000)
        frame.locator(".leaflet-container").evaluate(
            "() => Object.values(window).find(v => v instanceof L.Map)"
            ".setView([52.371, -1.262], 15, {animate: false})")
        # Street names come with the zoom-15 chunks, fetched from the dashboard's server.
        frame.locator(".hs-st.k-minor span").first.wait_for(state="attached", timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "street_zoom_rugby.png"))
        shown = frame.locator(".hs-st span").all_text_contents()
        # Town-centre streets named at zoom 15 (which ones fit depends on the window).
        assert len([n for n in shown if n.endswith(("Street", "Road", "Place", "Way"))]) > 20
        assert {"Clifton Road (B5414)", "Church Street (B5414)", "Regent Street",
                "Albert Street"} & set(shown)
        # Names never overlap one another.
        boxes = frame.locator(".hs-st span").evaluate_all(
            "els => els.map(e => { var r = e.getBoundingClientRect();"
            " return [r.left, r.top, r.right, r.bottom]; })")
        overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                    if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]
        assert overlaps == []
        frame.locator(".leaflet-container").evaluate(
            "() => Object.values(window).find(v => v instanceof L.Map)"
            ".setView([52.3738, -1.2609], 16, {animate: false})")
        frame.locator(".hs-st span", has_text="Regent Street").first.wait_for(
            state="attached", timeout=30_000)
        assert any("/component/" in u and u.endswith(".json") for u in requests.urls)
        assert requests.off_machine() == []
        assert errors == []
    finally:
        page.close()
