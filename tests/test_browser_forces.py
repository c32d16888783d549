"""Another force's dashboard in headless Chromium: a store of Essex police.uk rows (the small
fixture) opens on Essex, its outline, districts and motorways drawn, Warwickshire's nowhere."""

from __future__ import annotations

import pytest
from support import MAP, REPO, STARTUP_LIMIT_S, start_server, watched_page

pytestmark = pytest.mark.browser

#: Every feature tooltip of the layers on the live map (the page's Leaflet map).
_TOOLTIPS = """() => {
    const m = Object.values(window).find(v => v instanceof window.L.Map);
    const out = [];
    m.eachLayer(l => {
        const p = l.feature && l.feature.properties;
        if (p && p.tooltip) { out.push(String(p.tooltip)); }
    });
    return out;
}"""

FIXTURES = REPO / "tests" / "fixtures" / "police_uk"


@pytest.fixture(scope="module")
def essex_server(data_dir, artifacts, tmp_path_factory):
    from hotspots.config import load_settings
    from hotspots.ingest import ingest

    root = tmp_path_factory.mktemp("essex-server")
    settings = load_settings(env={}).with_(data_dir=data_dir, store_dir=root / "store")
    ingest(sorted(FIXTURES.glob("*-essex-street.csv")), root / "store", settings=settings)
    yield from start_server(store=root / "store", data_dir=data_dir,
                            audit_log=root / "logs" / "exports.jsonl",
                            log=artifacts / "streamlit-essex.log")


def test_an_essex_store_shows_the_essex_outline_districts_and_srn(essex_server, browser,
                                                                   artifacts):
    page, requests, _, errors = watched_page(browser, 1600, 1000)
    try:
        page.goto(essex_server.url, wait_until="domcontentloaded")
        frame = page.frame_locator(MAP)
        frame.locator("path.hs-hotspot").first.wait_for(state="attached",
                                                         timeout=STARTUP_LIMIT_S * 1000)
        page.wait_for_timeout(800)
        # The districts layer's features, as the page draws them (their names are drawn with
        # the street names on the canvas, so they are read from the layer's data).
        tips = set(frame.locator("html").evaluate(_TOOLTIPS))
        assert {"Colchester", "Chelmsford", "Southend-on-Sea"} <= tips, sorted(tips)[:20]
        assert not tips & {"Rugby", "Nuneaton and Bedworth"}
        roads = {t.strip() for t in frame.locator(".hs-mlabel span").all_text_contents()}
        assert {"M11", "M25"} & roads and "M69" not in roads  # Essex's motorways, not ours
        # The force outline: one closed boundary path drawn, and the attribution names the
        # national boundaries' and National Highways' sources.
        assert frame.locator("path.leaflet-interactive, path").count() > 10
        credits = frame.locator(".leaflet-control-attribution").inner_text()
        assert "Office for National Statistics" in credits and "National Highways" in credits
        assert not any("Warwickshire" in h for h in page.locator("h1, h2, h3").all_inner_texts())
        assert not errors and not requests.off_machine()
        page.screenshot(path=str(artifacts / "essex-dashboard.png"))
    finally:
        page.close()
