"""Dashboard start-up and filter re-render times in headless Chromium, with the map HTML size.

Usage: python benchmarks/bench_dashboard.py [--runs 3]

Starts ``streamlit run app.py`` with a fresh store (so start-up includes the first-run store
build), opens the page in Debian's Chromium and times: process start to the first hotspot map,
then a filter change (area: force -> Rugby) to the new map drawn. Targets: start-up under 10 s,
re-render under 2 s, map HTML under 3 MB. Writes docs/benchmarks_dashboard.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import MAP, launch_browser, link_shipped_data, start_server  # noqa: E402


def _choose(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def one_run(chromium) -> dict:
    from playwright.sync_api import expect

    # A fresh store each run, in a temporary folder: start-up includes the first-run build.
    root = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    data_dir = root / "data"
    link_shipped_data(data_dir)
    gen = start_server(store=root / "store", data_dir=data_dir, audit_log=root / "audit.jsonl",
                       log=root / "streamlit.log")
    srv = next(gen)
    try:
        page = chromium.new_page(viewport={"width": 1600, "height": 1200})
        page.goto(srv.url)
        frame = page.frame_locator(MAP)
        frame.locator("path.hs-hotspot").first.wait_for(state="attached", timeout=120_000)
        startup = time.perf_counter() - srv.started
        html_bytes = len(frame.locator("html").evaluate("e => e.outerHTML").encode())
        t0 = time.perf_counter()
        _choose(page, "Area", "Rugby")
        expect(frame.locator(".hs-title")).to_contain_text("Rugby", timeout=60_000)
        frame.locator("path.hs-hotspot").first.wait_for(state="attached")
        rerender = time.perf_counter() - t0
        page.close()
        return {"startup": startup, "rerender": rerender, "html_mb": html_bytes / 1e6}
    finally:
        gen.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    launch = launch_browser()
    chromium = next(launch)
    try:
        runs = [one_run(chromium) for _ in range(args.runs)]
    finally:
        launch.close()
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    worst = {k: max(r[k] for r in runs) for k in runs[0]}
    lines = [
        "## Dashboard",
        "",
        f"Command: `python benchmarks/bench_dashboard.py --runs {args.runs}`. "
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"run {dt.date.today().isoformat()}. Headless Debian Chromium, fresh store each run "
        "(start-up includes building the store from the shipped data). Default view: "
        "acquisitive crime, force area, last three months; the filter change is area -> Rugby.",
        "",
        "| measure | median | worst | target |",
        "| --- | ---: | ---: | --- |",
        f"| process start to first hotspot map | {med['startup']:.2f} s | "
        f"{worst['startup']:.2f} s | < 10 s |",
        f"| filter change to new map drawn | {med['rerender']:.2f} s | "
        f"{worst['rerender']:.2f} s | < 2 s |",
        f"| map HTML (default view) | {med['html_mb']:.2f} MB | {worst['html_mb']:.2f} MB | "
        "< 3 MB |",
        "",
        "There is no competing dashboard to run beside it; the targets come from the issue.",
    ]
    out = ROOT / "docs" / "benchmarks_dashboard.md"
    out.write_text("\n".join(lines) + "\n", "utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
