"""Helpers shared by the tests (fixtures live in conftest.py; test files never import each other).

- the checkout and its shipped data: :data:`REPO`, :data:`SHIPPED_DATA`, :func:`link_shipped_data`
  and :func:`checkout_files` (what the no-writes guard in conftest compares);
- hand-made police.uk places: :data:`PLACES`;
- tiny hand-built SRN graphs: :func:`hand_graph`;
- the dashboard under ``streamlit.testing``: :data:`APP`, :data:`TIMEOUT`, :func:`app_errors`,
  :func:`map_page`, :func:`map_legend`;
- a process killed part-way through a store write: :func:`run_killed_after`;
- the dashboard in headless Debian Chromium: :func:`start_server`, :func:`launch_browser`,
  :func:`watched_page` and the limits and selectors the browser tests share;
- the server's answers as a client sees them: :func:`http_get`, :func:`ws_handshake`, and
  the test identity provider's accounts :data:`TEST_ACCOUNTS`.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hotspots.spatial.crs import to_wgs84

REPO = Path(__file__).resolve().parent.parent
#: The shipped open data: read-only input of the tests.
SHIPPED_DATA = REPO / "data"
#: The shipped data folders a test run may read (``store``, ``cache`` and ``logs`` are outputs).
SHIPPED_PARTS = ("crime", "boundaries", "roads", "streets", "places", "README.md")

#: WGS84 points (lon, lat) checked against the shipped boundaries.
PLACES = {
    "warwick": (-1.5847, 52.2823),  # Warwick district
    "leamington": (-1.5350, 52.2920),  # Warwick district
    "rugby": (-1.2650, 52.3708),  # Rugby district
    "nuneaton": (-1.4694, 52.5230),  # Nuneaton and Bedworth district
    "stratford": (-1.7082, 52.1917),  # Stratford-on-Avon district
    "atherstone": (-1.5466, 52.5786),  # North Warwickshire district
    "near_border": (-1.520446, 52.387997),  # 1.0 km outside the force area (Coventry side)
    "coventry": (-1.5106, 52.4081),  # 3.3 km outside the force area
    "redditch": (-1.9408, 52.3066),  # West Mercia, 3.3 km outside the force area
    "london": (-0.1276, 51.5072),  # 108 km outside
}


# ------------------------------------------------------------------------ the checkout

def link_shipped_data(dest: Path) -> Path:
    """A data folder whose shipped parts are links to the checkout's ``data/``.

    Settings pointing their ``data_dir`` here read the shipped files, while everything the
    library writes beside them (the SRN graph cache, a default store, logs) lands in ``dest``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for part in SHIPPED_PARTS:
        if (SHIPPED_DATA / part).exists() and not (dest / part).exists():
            (dest / part).symlink_to(SHIPPED_DATA / part)
    return dest


# ------------------------------------------------------------------------ killed writers

_KILL_PRELUDE = """
import os, signal, sys
from pathlib import Path
_real, _calls, _limit = os.replace, [0], int(sys.argv[1])


def _replace(src, dst, *a, **kw):
    # The store commits with os.replace: die like a power cut after _limit of them.
    if _calls[0] == _limit:
        os.kill(os.getpid(), signal.SIGKILL)
    _calls[0] += 1
    return _real(src, dst, *a, **kw)


os.replace = _replace
args = sys.argv[2:]
"""


def run_killed_after(replaces: int, body: str, *args: str) -> int:
    """Run ``body`` (Python, with ``args`` as the list ``args``) in a fresh interpreter that
    is killed with SIGKILL on its ``replaces + 1``-th :func:`os.replace` (after ``replaces``
    file moves); return its exit code (``-SIGKILL`` when killed, 0 when it finished first)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", _KILL_PRELUDE + body, str(replaces),
                           *map(str, args)], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    if done.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"the writer failed otherwise:\n{done.stderr}")
    return done.returncode


_NOT_OURS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}


def checkout_files(root: Path = REPO) -> dict[str, tuple[int, int]]:
    """Every file of the checkout (relative path -> (size, mtime_ns)), without .git, the venv
    and interpreter or tool caches."""
    found = {}
    for here, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _NOT_OURS]
        for name in files:
            p = Path(here) / name
            try:
                st = p.lstat()
            except FileNotFoundError:
                continue
            found[p.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns)
    return found


def checkout_changes(before: dict, after: dict, allowed: tuple[str, ...] = ()) -> list[str]:
    """Files created in the checkout, or changed under ``data/``, between two listings."""
    changes = [f"new: {p}" for p in sorted(set(after) - set(before))]
    changes += [f"changed: {p}" for p in sorted(set(after) & set(before))
                if p.startswith("data/") and after[p] != before[p]]
    changes += [f"removed: {p}" for p in sorted(set(before) - set(after))
                if p.startswith("data/")]
    return [c for c in changes if not c.split(": ", 1)[1].startswith(allowed)]


# ------------------------------------------------------------------------ road graphs

def hand_graph(lines, *, road_class="motorway", ref="M1", names=None, source="surveyed"):
    """Tiny osmnx graph from coordinate lists (both directions); ``names`` maps a node
    coordinate to a junction name; ``source`` is every edge's ``geometry_source``."""
    import geopandas as gpd
    import osmnx as ox
    from shapely.geometry import LineString

    from hotspots.spatial.road_lines import SPEEDS_KPH

    names = names or {}
    nodes, ids = {}, {}
    rows = []
    for coords in lines:
        ends = []
        for xy in (coords[0], coords[-1]):
            if xy not in ids:
                ids[xy] = len(ids) + 1
                nodes[ids[xy]] = {"x": float(xy[0]), "y": float(xy[1]),
                                  "name": names.get(xy, ""),
                                  "kind": "junction" if xy in names else "via",
                                  "roads": ref, "alias": ""}
            ends.append(ids[xy])
        g = LineString(coords)
        speed = SPEEDS_KPH[road_class]
        for u, v, geom in ((ends[0], ends[1], g), (ends[1], ends[0], g.reverse())):
            rows.append({"u": u, "v": v, "key": 0, "ref": ref, "road_class": road_class,
                         "length": g.length, "speed_kph": speed,
                         "travel_time": g.length / (speed / 3.6), "geometry": geom,
                         "geometry_source": source})
    e = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700").set_index(
        ["u", "v", "key"])
    n = gpd.GeoDataFrame.from_dict(nodes, orient="index")
    n.index.name = "osmid"
    n = gpd.GeoDataFrame(n, geometry=gpd.points_from_xy(n["x"], n["y"]), crs="EPSG:27700")
    return ox.graph_from_gdfs(n, e, graph_attrs={"crs": "EPSG:27700"})


# ------------------------------------------------------------------------ streamlit.testing

APP = REPO / "app.py"
TIMEOUT = 120


def app_errors(at) -> list[str]:
    """Error messages as shown (the app escapes Markdown in them)."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]


def map_page(at) -> str:
    """The HTML of the page's one map: the hotspot map component's page (it stays mounted and
    receives the whole offline page, see hotspots.ui.live_map) or an iframe's document."""
    maps = [c for c in at.get("component_instance")
            if c.proto.component_name.endswith("hotspot_map")]
    frames = at.get("iframe")
    assert len(maps) + len(frames) == 1, "the map is missing (or there are two)"
    if maps:
        return json.loads(maps[0].proto.json_args)["html"]
    return frames[0].proto.srcdoc


def map_legend(page: str) -> str:
    """The legend text of a map page."""
    m = re.search(r"div\.innerHTML = (\".*?\");\n", page)
    assert m, "no legend in the map"
    return json.loads(m.group(1))


# ------------------------------------------------------------------------ headless Chromium

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
LOCAL_SCHEMES = {"data", "blob", "about"}
# Ceilings that catch a broken page, not the product targets (10 s start, 2 s re-render):
# those are measured on a quiet machine by benchmarks/bench_dashboard.py. A shared CI box
# must not turn a slow moment into a red build.
STARTUP_LIMIT_S = 60.0  # process start to first map, including a first-run store build
RERENDER_LIMIT_S = 15.0  # filter change to the new map drawn
MAP = 'iframe[title$="hotspot_map"]'  # hotspots.ui.live_map.COMPONENT_NAME
CORRIDOR_MAP = 'iframe[title="Corridor map"]'


def require_chromium() -> None:
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
    #: the store the server reads (HOTSPOTS_STORE_DIR) and its audit log (the settings file's
    #: ``audit_log``, see :func:`audit_settings`)
    store: Path
    audit_log: Path


@dataclass
class Requests:
    urls: list[str] = field(default_factory=list)

    def off_machine(self) -> list[str]:
        return [u for u in self.urls if _off_machine(u)]


def audit_settings(log: Path) -> Path:
    """A settings file beside ``log`` naming it as the audit log (the admin's setting: the
    audit log is never taken from the environment); return the file's path."""
    log = Path(log)
    # Beside the log's folder, not in it: a test may make that folder unwritable on purpose.
    path = log.parent.parent / f".{log.parent.name}-{log.name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"audit_log = {json.dumps(str(log))}\n", encoding="utf-8")
    return path


def audit_to(monkeypatch, log: Path) -> Path:
    """Send this test's exports' audit lines to ``log`` (via ``HOTSPOTS_CONFIG``)."""
    monkeypatch.setenv("HOTSPOTS_CONFIG", str(audit_settings(log)))
    return log


def start_server(*, store: Path, data_dir: Path, audit_log: Path, log: Path,
                 config: Path | None = None, port: int | None = None,
                 args: tuple[str, ...] = (), host: str = "127.0.0.1") -> Iterator[Server]:
    """``streamlit run app.py`` on a free local port, reading ``store`` (built by the app on
    first run if it is missing) and writing downloads' audit lines to ``audit_log``.

    ``config`` replaces the settings file (which must then name ``audit_log`` itself),
    ``args`` are more ``streamlit run`` options (e.g. ``--secrets.files``) and ``host`` is the
    name in :attr:`Server.url` (the server listens on 127.0.0.1 whatever it is)."""
    require_chromium()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTSPOTS_")}
    env.update(HOTSPOTS_STORE_DIR=str(store), HOTSPOTS_DATA_DIR=str(data_dir),
               HOTSPOTS_WARM_UP="0",
               HOTSPOTS_CONFIG=str(config or audit_settings(audit_log)))
    port = port or _free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", *args],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,  # REPO: .streamlit/
            start_new_session=True)
    try:
        url = f"http://{host}:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = f"http://127.0.0.1:{port}/_stcore/health"
                with urllib.request.urlopen(health, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("streamlit did not become healthy:\n"
                            + log.read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield Server(url=url, started=started, proc=proc, log=log, store=store,
                     audit_log=audit_log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


#: Who the test identity provider signs in, by the role each has in the deployed test
#: server's settings (the viewer by ``default_role``).
TEST_ACCOUNTS = {"analyst": "ann.analyst@force.example", "admin": "ada.admin@force.example",
                 "viewer": "vic.viewer@force.example"}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    return _free_port()


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, redirects not followed."""

    status: int
    body: str
    location: str | None


def http_get(url: str, *, host: str | None = None, cookies: dict[str, str] | None = None,
             method: str = "GET", headers: dict[str, str] | None = None,
             body: bytes | None = None) -> Reply:
    """One request to a test server (``host``: the Host header to send instead of the URL's)."""
    import http.client

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    sent = dict(headers or {})
    if host is not None:
        sent["Host"] = host
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                     body=body, headers=sent)
        r = conn.getresponse()
        return Reply(r.status, r.read().decode("utf-8", "replace"), r.getheader("Location"))
    finally:
        conn.close()


def ws_handshake(url: str, *, host: str, origin: str | None,
                 cookies: dict[str, str] | None = None) -> int:
    """The HTTP status a server answers a WebSocket handshake to ``/_stcore/stream`` with
    (101: switched to WebSocket), sending ``host`` and ``origin`` as a browser would."""
    parts = urlsplit(url)
    lines = ["GET /_stcore/stream HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
             "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: streamlit"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(1024)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def launch_browser():
    """Headless Debian Chromium through Playwright (a generator: yields the browser)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def watched_page(browser, width: int, height: int, **options):
    """A new page whose requests, dialogs and script errors are recorded.

    Returns ``(page, requests, dialogs, errors)``: ``requests`` is a :class:`Requests` (so a test
    can check nothing left the machine), ``dialogs`` the messages of any ``alert`` (dismissed),
    ``errors`` uncaught script errors.
    """
    requests = Requests()
    dialogs: list[str] = []
    errors: list[str] = []
    page = browser.new_page(viewport={"width": width, "height": height}, **options)
    page.on("request", lambda r: requests.urls.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, requests, dialogs, errors


# ----------------------------------------------------------------------------- corridor frames
#: Hand-built network density lixels and junction statistics for the corridor map tests.
XSS = "<img src=x onerror=alert(1)>"


def lixels(pieces: list[tuple[str, str, list[float]]], y0: float = 265000.0
            ) -> gpd.GeoDataFrame:
    """Lixels as network_kde returns them: 100 m pieces along east-west roads, one per row.

    ``pieces``: (ref, geometry_source, densities of its consecutive lixels); each piece is a
    separate road 1 km north of the previous one.
    """
    from shapely.geometry import LineString

    rows = []
    for i, (ref, source, densities) in enumerate(pieces):
        y = y0 + 1000.0 * i
        for j, d in enumerate(densities):
            x = 440000.0 + 100.0 * j
            rows.append({"ref": ref, "geometry_source": source, "density": d,
                         "length_m": 100.0, "geometry": LineString([(x, y), (x + 50, y + 1),
                                                                    (x + 100, y)])})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700")


def junctions(name: str = XSS) -> pd.DataFrame:
    lon, lat = to_wgs84(np.array([440300.0, 441000.0]), np.array([265000.0, 266000.0]))
    return pd.DataFrame({
        "rank": [1, 2], "name": [name, "M6 J3"], "alias": ["", f"{XSS} alias"],
        "lon": lon, "lat": lat, "incidents": [12, 0],
        "by_group": [{"acquisitive": 9, XSS: 3}, {}], "by_force": [{"warwickshire": 12}, {}],
        "previous": [8, None], "change": [4, None], "change_pct": [50.0, float("nan")],
        "change_note": ["", f"no data for previous period {XSS}"]})


# ----------------------------------------------------------------------------- exports
#: A fixed creation time stamped on test exports.
CREATED = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)


def small_png() -> bytes:
    """A small plain PNG, standing in for a map."""
    buf = io.BytesIO()
    Image.new("RGB", (400, 280), (200, 220, 240)).save(buf, format="PNG")
    return buf.getvalue()


def monthly_with_gap() -> pd.DataFrame:
    """Monthly counts Jan 2024 - Mar 2025 with no data for May-Dec 2024."""
    months = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 4)]
    counts = [float(m[5:]) * 10 if (m.startswith("2025") or m <= "2024-04") else np.nan
              for m in months]
    return pd.DataFrame({"month": months, "incidents": counts})


def pdf_text(path: Path) -> list[str]:
    """The text of each page of a PDF."""
    from pypdf import PdfReader

    return [p.extract_text() for p in PdfReader(path).pages]


def synthetic(months: list[str], where: dict[str, tuple[float, float]], n: int = 40,
              seed: int = 1) -> pd.DataFrame:
    """n incidents per month scattered 60 m around the month's centre (x, y)."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in months:
        cx, cy = where[m]
        rows.append(pd.DataFrame({"x": cx + rng.normal(0, 60, n), "y": cy + rng.normal(0, 60, n),
                                  "month": m, "has_location": True}))
    return pd.concat(rows, ignore_index=True)
