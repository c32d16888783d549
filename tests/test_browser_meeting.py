"""Tasking-meeting features in headless Chromium: a meeting-mode link, the URL, downloads.

Screenshots go to the ``artifacts`` folder (``$HOTSPOTS_TEST_ARTIFACTS``, else a temporary
one). With ``UPDATE_DOCS_IMAGES=1`` the run also refreshes the README's images in
``docs/images/`` (dashboard, meeting mode and a map snapshot), shrunk to at most 1600 px wide
and a 256-colour palette so each stays small enough to commit.
"""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from support import MAP, REPO, STARTUP_LIMIT_S, watched_page

pytestmark = pytest.mark.browser

DOCS_IMAGES = REPO / "docs" / "images"
#: Largest docs image we are willing to commit.
DOCS_MAX_BYTES = 400_000
MEETING_LINK = ("?meeting=1&view=hotspots&area=Rugby&from=2025-10&to=2025-12&group=acquisitive"
                "&method=fixed&bandwidth=500&top=5")
MEETING_TITLE = "Acquisitive crime · Rugby · Oct–Dec 2025"


def _publish(src: Path, name: str) -> None:
    """Copy a screenshot into docs/images when asked to (UPDATE_DOCS_IMAGES=1), shrunk."""
    if os.environ.get("UPDATE_DOCS_IMAGES") != "1":
        return
    from PIL import Image

    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    img = Image.open(src).convert("RGB")
    if img.width > 1600:
        img = img.resize((1600, round(img.height * 1600 / img.width)), Image.LANCZOS)
    out = DOCS_IMAGES / name
    img.quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                 dither=Image.Dither.FLOYDSTEINBERG).save(out, optimize=True)
    assert out.stat().st_size < DOCS_MAX_BYTES, f"{out} is {out.stat().st_size:,} bytes"


def _audit_lines(settings, server) -> list[dict]:
    from hotspots.audit import read_exports

    return read_exports(server.audit_log, settings=settings)


def _audit_after(settings, server, count: int, limit_s: float = 15.0) -> list[dict]:
    """The audit lines once there are ``count`` (the click's rerun writes the line just after
    the browser starts the download); a few seconds more to catch a second, unwanted line."""
    deadline = time.monotonic() + limit_s
    while len(_audit_lines(settings, server)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    return _audit_lines(settings, server)


def _wait_for_map(page) -> None:
    frame = page.frame_locator(MAP)
    frame.locator("path.hs-hotspot").first.wait_for(state="attached",
                                                     timeout=STARTUP_LIMIT_S * 1000)
    frame.locator("img.leaflet-image-layer").wait_for(state="attached")
    page.wait_for_timeout(800)  # let the density image decode before a screenshot


def test_meeting_mode_link_fills_a_shared_screen(server, browser, artifacts):
    from playwright.sync_api import expect

    page, requests, _, _ = watched_page(browser, 1920, 1080)
    try:
        t0 = time.perf_counter()
        page.goto(server.url + MEETING_LINK)
        _wait_for_map(page)
        opened = time.perf_counter() - t0
        title = page.locator(".hs-meeting-title")
        expect(title).to_have_text(MEETING_TITLE)
        assert title.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 40
        expect(page.locator(".hs-meeting-mark")).to_have_text("OFFICIAL-SENSITIVE")
        # The side bar is tucked away, and the view's own smaller header is hidden.
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_have_attribute("data-collapsed", "true")
        box = sidebar.bounding_box()
        assert box is None or box["x"] + box["width"] <= 1
        expect(page.get_by_role("heading", name="Crime hotspots")).to_be_hidden()
        # The map fills the rest of the screen, with no scrolling, and a larger legend.
        frame_box = page.locator(MAP).bounding_box()
        assert frame_box["height"] >= 0.6 * 1080, frame_box
        assert frame_box["y"] + frame_box["height"] <= 1080, frame_box
        legend = page.frame_locator(MAP).locator(".hs-legend")
        assert legend.evaluate("e => getComputedStyle(e).zoom") == "1.45"
        expect(legend).to_contain_text("Acquisitive crime hotspots, Rugby")
        shot = artifacts / "meeting.png"
        page.screenshot(path=str(shot))
        _publish(shot, "meeting.png")
        # The URL keeps the view, meeting mode included.
        assert "meeting=1" in page.url and "area=Rugby" in page.url
        print(f"\nmeeting link to map {opened:.1f} s; map {frame_box['height']:.0f} px tall; "
              f"{len(requests.urls)} requests")
        assert requests.off_machine() == [], requests.off_machine()
    finally:
        page.close()


def test_url_follows_the_selection_and_downloads_are_audited(settings, server, browser, tmp_path,
                                                            artifacts):
    from PIL import Image
    from playwright.sync_api import expect

    page, requests, _, _ = watched_page(browser, 1600, 1000, accept_downloads=True)
    try:
        page.goto(server.url)
        _wait_for_map(page)
        expect(page).to_have_url(re.compile(r"\?view=hotspots&area=force&from=\d{4}-\d\d"))
        # The README's picture: the default selection with a fixed bandwidth (the same
        # picture whatever the back-test chooses).
        page.goto(server.url + "?method=fixed&bandwidth=500")
        _wait_for_map(page)
        page.get_by_test_id("stTable").wait_for()
        shot = artifacts / "dashboard-normal.png"
        page.screenshot(path=str(shot))
        _publish(shot, "dashboard.png")

        page.get_by_test_id("stSidebar").get_by_text(
            "Motorway service areas (OpenStreetMap)").click()
        expect(page).to_have_url(re.compile(r"layer=services"), timeout=30_000)
        link = page.url

        # The link, opened afresh, shows the same view.
        again = browser.new_page(viewport={"width": 1600, "height": 1000})
        try:
            again.goto(link)
            _wait_for_map(again)
            box = again.get_by_test_id("stCheckbox").filter(
                has_text="Motorway service areas (OpenStreetMap)")
            expect(box.locator("input")).to_be_checked()
            assert again.url == link
        finally:
            again.close()

        before = len(_audit_lines(settings, server))
        page.get_by_text("Download for the tasking meeting").click()
        expect(page.get_by_role("button", name="Hotspot table (CSV)")).to_be_visible()
        # The files are offered but do not exist yet: no media URL is on the page or was
        # fetched, so there is nothing to take without the audit line a click writes.
        assert page.locator("a[href*='/media/']").count() == 0
        assert not [u for u in requests.urls if urlparse(u).path.startswith("/media/")]
        with page.expect_download() as info:
            page.get_by_role("button", name="Hotspot table (CSV)").click()
        csv_path = tmp_path / info.value.suggested_filename
        info.value.save_as(csv_path)
        assert csv_path.name == "hotspots-force-2025-10-2025-12.csv"
        head = csv_path.read_text(encoding="utf-8-sig").splitlines()
        assert head[0] == "# OFFICIAL-SENSITIVE" and head[1].startswith("rank,")
        expect(page.get_by_role("button", name="Prepare screen map")).to_be_visible()
        lines = _audit_after(settings, server, before + 1)
        assert len(lines) == before + 1
        assert lines[-1]["what"] == "hotspots.csv" and "layer=services" in \
            lines[-1]["filters"]["link"]
        # The line names exactly the bytes the browser received.
        import hashlib

        assert lines[-1]["files"][0]["sha256"] == hashlib.sha256(csv_path.read_bytes()).hexdigest()

        t0 = time.perf_counter()
        page.get_by_role("button", name="Prepare screen map").click()
        button = page.get_by_role("button", name="Screen map (PNG, 1920 × 1080)")
        button.wait_for(timeout=120_000)
        prepared = time.perf_counter() - t0
        with page.expect_download() as info:
            button.click()
        png = Image.open(io.BytesIO(Path(info.value.path()).read_bytes()))
        assert png.size == (1920, 1080)
        lines = _audit_after(settings, server, before + 2)
        assert [r["what"] for r in lines[before:]] == ["hotspots.csv", "map.png"]
        assert lines[-1]["filters"]["size"] == "hd" and lines[-1]["filters"]["services"]
        print(f"\nscreen map prepared in {prepared:.1f} s; {len(requests.urls)} requests")
        assert requests.off_machine() == [], requests.off_machine()
    finally:
        page.close()


def test_map_snapshot_for_the_readme(server, artifacts, shipped_settings):
    """docs/images/map-snapshot.png: render_map_png at "hd" on the shipped data (acquisitive
    crime, force area, Oct–Dec 2025), as the dashboard's "Screen map" download draws it."""
    from PIL import Image

    from hotspots.query import available_months
    from hotspots.ui import compute, downloads

    settings = shipped_settings  # the store the server reads
    assert server.store == settings.store_dir
    params = compute.Params(area="force", start="2025-10", end="2025-12",
                            groups=("acquisitive",))
    analysis = compute.run_analysis(params, settings, available_months(settings=settings))
    t0 = time.perf_counter()
    png = downloads.map_png(analysis, settings, "hd")
    print(f"\nHD snapshot, force area: {time.perf_counter() - t0:.1f} s, {len(png):,} bytes")
    shot = artifacts / "map-snapshot.png"
    shot.write_bytes(png)
    assert Image.open(shot).size == (1920, 1080)
    _publish(shot, "map-snapshot.png")


def test_a_link_with_more_parameters_than_are_read_says_it_was_ignored(server, browser):
    page, _, _, _ = watched_page(browser, 1400, 900)

    def note_text(limit_s: float = 60.0) -> str:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            el = page.query_selector("#hs-link-note")
            if el is not None and el.is_visible():
                return el.inner_text()
            time.sleep(0.5)
        return ""

    try:
        page.goto(server.url + "?" + "&".join(f"p{i}=1" for i in range(1001)))
        assert "it has 1,001 parameters" in note_text()
        page.goto(server.url + "?area=Rugby")
        _wait_for_map(page)
        assert note_text(limit_s=3) == ""  # a link the page reads says nothing
    finally:
        page.close()
