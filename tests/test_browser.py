"""The dashboard in headless Debian Chromium: renders offline, reacts to filters, runs no data.

Starts ``streamlit run app.py`` on a free port with a fresh store (so the timing includes the
first-run store build), drives ``/usr/bin/chromium`` through Playwright and records every
request the page makes: any that leaves the machine fails the test. Without Chromium the tests
skip, or fail when ``CI`` is set.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
LOCAL_SCHEMES = {"data", "blob", "about"}
STARTUP_LIMIT_S = 10.0  # process start to first map, including the first-run store build
RERENDER_LIMIT_S = 2.0  # filter change to the new map drawn
MAP = 'iframe[title="Hotspot map"]'
CORRIDOR_MAP = 'iframe[title="Corridor map"]'


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium to run browser tests)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _off_machine(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return False
    return (parts.hostname or "") not in LOCAL_HOSTS


@dataclass
class Server:
    url: str
    started: float
    proc: subprocess.Popen
    log: Path


@dataclass
class Requests:
    urls: list[str] = field(default_factory=list)

    def off_machine(self) -> list[str]:
        return [u for u in self.urls if _off_machine(u)]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    _require_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    store = tmp_path_factory.mktemp("browser") / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTS_")}
    env["HOTSPOTS_STORE_DIR"] = str(store)
    port = _free_port()
    log = ARTIFACTS / "streamlit-browser-test.log"
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("streamlit did not become healthy:\n"
                            + log.read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield Server(url=url, started=started, proc=proc, log=log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _overlay_digest(frame) -> str:
    src = frame.locator("img.leaflet-image-layer").get_attribute("src") or ""
    return hashlib.sha1(src.encode()).hexdigest()


def _choose(page, label: str, option: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(has_text=label)
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_dashboard_offline_render_and_filter(server, browser):
    from playwright.sync_api import expect

    requests = Requests()
    dialogs: list[str] = []
    page = browser.new_page(viewport={"width": 1600, "height": 1500})
    page.on("request", lambda r: requests.urls.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
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
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
        force_polygons = polygons.count()
        force_overlay = _overlay_digest(frame)
        assert force_polygons > 10
        assert frame.locator(".leaflet-image-layer").evaluate("e => e.naturalWidth") > 100

        t0 = time.perf_counter()
        _choose(page, "Area", "Rugby")
        expect(frame.locator(".hs-title")).to_contain_text("Rugby", timeout=30_000)
        polygons.first.wait_for(state="attached")
        frame.locator("img.leaflet-image-layer").wait_for(state="attached")
        rerender = time.perf_counter() - t0
        rugby_polygons = polygons.count()
        assert rugby_polygons != force_polygons
        assert _overlay_digest(frame) != force_overlay
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "dashboard-rugby.png"))

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


def test_map_popup_shows_markup_as_text(browser):
    """A Location of ``<img src=x onerror=alert(1)>`` shows as text and runs nothing."""
    import geopandas as gpd
    import numpy as np
    from shapely.geometry import box

    from hotspots import maps
    from hotspots.config import load_settings
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
    settings = load_settings(env={})
    page_html = maps.offline_html(maps.build_map(
        base=maps.load_base_layers(settings), view=box(*grid.bounds),
        density=maps.density_image(values, grid), hotspots=areas,
        legend=maps.Legend(title=xss, method="m"), settings=settings))

    requests = Requests()
    dialogs: list[str] = []
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 900, "height": 700})
    page.on("request", lambda r: requests.urls.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
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


def test_corridors_view_draws_the_srn(server, browser):
    """Switch to Corridors: the SRN lines, dashed approximate alignments and junction circles
    are drawn in the Leaflet map, the table and charts render, a toggle re-renders quickly."""
    from playwright.sync_api import expect

    requests = Requests()
    dialogs: list[str] = []
    # Tall enough for the map, the junction table and the band charts in one screenshot.
    page = browser.new_page(viewport={"width": 1600, "height": 2250})
    page.on("request", lambda r: requests.urls.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
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
        dashed = frame.locator("path.hs-srn-approx")
        assert dashed.count() > 3
        assert dashed.first.get_attribute("stroke-dasharray") == "8 5"
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
        page.screenshot(path=str(ARTIFACTS / "corridors.png"))

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
