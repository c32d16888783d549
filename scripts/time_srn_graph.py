"""Time the national SRN graph build for a region: cold (no cache) and from the cache.

Usage: python scripts/time_srn_graph.py [--region eastern] [--buffer 10000]

Runs against a temporary copy of ``data/`` made of links (so the cache written there never
lands in the checkout). Prints the graph's counts and the seconds of each build.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hotspots import forces as force_registry
from hotspots.config import load_settings
from hotspots.spatial.srn_graph import build_srn_graph, graph_summary

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", default="eastern")
    ap.add_argument("--buffer", default=10_000.0, type=float)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        for item in (ROOT / "data").iterdir():
            if item.name not in ("cache", "store"):
                (data / item.name).symlink_to(item)
        settings = load_settings(env={}).with_(data_dir=data, store_dir=Path(tmp) / "store")
        forces = force_registry.region_forces(args.region, settings)
        import osmnx  # noqa: F401 - loaded by the first build otherwise; timed apart

        t0 = time.perf_counter()
        cold = build_srn_graph(settings, forces=forces, buffer_m=args.buffer)
        t1 = time.perf_counter()
        build_srn_graph(settings, forces=forces, buffer_m=args.buffer)
        t2 = time.perf_counter()
    print(f"region {args.region} ({', '.join(forces)}), buffer {args.buffer:.0f} m")
    print(graph_summary(cold))
    print(f"cold build {t1 - t0:.2f} s (imports excluded), cached {t2 - t1:.3f} s")


if __name__ == "__main__":
    main()
