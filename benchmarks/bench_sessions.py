"""Many users at once: N dashboard sessions each loading the map and changing the district.

Drives the dashboard's own WebSocket protocol (Streamlit's protobuf messages), not browsers,
so that 20 sessions do not mean 20 Chromiums competing for the same two cores: each session
connects, runs the page for the whole force, then for each district in turn (the district is
changed through the link's ``area`` parameter, as a shared link does), and times each run on
the server from the request to the ``script_finished`` message. After every session has closed
it waits and reads the server's resident memory again, to show whether sessions' memory is
given back.

    .venv/bin/python benchmarks/bench_sessions.py --sessions 5 10 20

Prints a Markdown table (p50 / p95 / worst seconds per interaction, errors, server memory
before, at the end of the run and after the sessions closed) to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from streamlit.proto import BackMsg_pb2, ForwardMsg_pb2
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parent.parent
DISTRICTS = ("Rugby", "Warwick", "Nuneaton and Bedworth", "North Warwickshire",
             "Stratford-on-Avon")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    """Resident memory of the server and its children, MB."""
    total = 0
    out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)],
                         capture_output=True, text=True).stdout
    for line in out.split():
        total += int(line)
    return total / 1024


def start_server(store: Path | None) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` on a free port (the shipped store unless ``store``)."""
    port = _free_port()
    env = dict(os.environ)
    if store:
        env["HOTSPOTS_STORE_DIR"] = str(store)
    log = open(Path(tempfile.gettempdir()) / "bench-sessions-server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless",
         "true", "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the dashboard did not start; see bench-sessions-server.log")


def _find_area_box(fwd, found: dict) -> None:
    """Remember the district selectbox (the one offering "Rugby") from the page's deltas."""
    if fwd.WhichOneof("type") != "delta":
        return
    delta = fwd.delta
    if delta.WhichOneof("type") != "new_element":
        return
    el = delta.new_element
    if el.WhichOneof("type") == "selectbox" and "Rugby" in list(el.selectbox.options):
        found["area"] = el.selectbox.id


async def _run(ws, msg, found: dict) -> tuple[float, int]:
    """Send one rerun request; seconds to ``script_finished`` and bytes received."""
    t0 = time.perf_counter()
    await ws.send(msg.SerializeToString())
    received = 0
    while True:
        raw = await ws.recv()
        received += len(raw)
        fwd = ForwardMsg_pb2.ForwardMsg()
        fwd.ParseFromString(raw)
        _find_area_box(fwd, found)
        if fwd.WhichOneof("type") == "script_finished":
            if fwd.script_finished == ForwardMsg_pb2.ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue
            return time.perf_counter() - t0, received


async def session(url: str, times: list[float], errors: list[str], sizes: list[int]) -> None:
    """One user: the force map, then each district in turn, chosen in the district box."""
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    try:
        ws = await connect(ws_url, origin=url, max_size=256 * 1024 * 1024, open_timeout=60,
                           ping_interval=None)
    except Exception as exc:  # noqa: BLE001 - a refused session is a measured error
        errors.append(f"connect: {exc}")
        return
    found: dict = {}
    try:
        first = BackMsg_pb2.BackMsg()
        first.rerun_script.query_string = ""
        seconds, size = await asyncio.wait_for(_run(ws, first, found), timeout=600)
        times.append(seconds)
        sizes.append(size)
        if "area" not in found:
            errors.append("no district box on the page")
            return
        for district in DISTRICTS:
            msg = BackMsg_pb2.BackMsg()
            widget = msg.rerun_script.widget_states.widgets.add()
            widget.id = found["area"]
            widget.string_value = district
            seconds, size = await asyncio.wait_for(_run(ws, msg, found), timeout=600)
            times.append(seconds)
            sizes.append(size)
    except Exception as exc:  # noqa: BLE001
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        await ws.close()


async def wave(url: str, n: int) -> tuple[list[float], list[str], float, list[int]]:
    times: list[float] = []
    errors: list[str] = []
    sizes: list[int] = []
    t0 = time.perf_counter()
    await asyncio.gather(*(session(url, times, errors, sizes) for _ in range(n)))
    return times, errors, time.perf_counter() - t0, sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument("--store", type=Path, default=None, help="store folder (default shipped)")
    ap.add_argument("--settle", type=float, default=30.0,
                    help="seconds to wait after the sessions close before reading memory")
    args = ap.parse_args()
    proc, url = start_server(args.store)
    try:
        # One warm-up session so the first wave does not pay for the first map's caches alone.
        asyncio.run(wave(url, 1))
        print("| sessions | interactions | p50 s | p95 s | worst s | errors | wall s | "
              "server MB before | at end | 30 s after close |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.sessions:
            before = _rss_mb(proc.pid)
            times, errors, wall, sizes = asyncio.run(wave(url, n))
            at_end = _rss_mb(proc.pid)
            time.sleep(args.settle)
            after = _rss_mb(proc.pid)
            q = (statistics.quantiles(times, n=20, method="inclusive") if len(times) >= 2
                 else [math_nan()] * 19)
            print(f"| {n} | {len(times)} | {statistics.median(times):.2f} | {q[18]:.2f} | "
                  f"{max(times):.2f} | {len(errors)} | {wall:.1f} | {before:.0f} | "
                  f"{at_end:.0f} | {after:.0f} |", flush=True)
            for e in errors[:3]:
                print(f"  error: {e}", file=sys.stderr)
            if sizes:
                print(f"  bytes per interaction: median {statistics.median(sizes):,.0f}",
                      file=sys.stderr)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)


def math_nan() -> float:
    return float("nan")


if __name__ == "__main__":
    main()
