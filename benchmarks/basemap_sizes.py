"""Street basemap sizes and times: chunk build, chunk bytes per level, map page bytes.

Usage: PYTHONPATH=. python benchmarks/basemap_sizes.py   (writes chunks to a temporary folder)
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from hotspots.base_layers import load_base_layers
from hotspots.config import load_settings
from hotspots.leaflet import offline_html
from hotspots.maps import build_map
from hotspots.spatial.boundaries import area_geometry
from hotspots.street_tiles import overview, tile_set
from hotspots.streets import read_street_layers


def main() -> None:
    shipped = load_settings(env={})
    data = Path(tempfile.mkdtemp())
    for part in ("boundaries", "roads", "streets"):
        (data / part).symlink_to(Path(shipped.data_dir).resolve() / part)
    s = shipped.with_(data_dir=data)
    t = time.perf_counter()
    layers = read_street_layers(s)
    print(f"read layers: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    tiles = tile_set(layers, s)
    print(f"chunks built (once): {time.perf_counter() - t:.1f} s")
    for level, cells in tiles.cells.items():
        sizes = [(tiles.path / level / f"{c}.json").stat().st_size for c in cells]
        print(f"level {level}: {len(cells)} chunks, {sum(sizes) / 1e6:.2f} MB, "
              f"largest {max(sizes) / 1e3:.0f} kB, mean {sum(sizes) / len(sizes) / 1e3:.0f} kB")
    ov = json.dumps(overview(layers), separators=(",", ":"))
    print(f"overview of the whole basemap: {len(ov) / 1e3:.0f} kB")
    for area in ("force", "Rugby"):
        for url in ("", "/component/streets"):
            t = time.perf_counter()
            page = offline_html(build_map(base=load_base_layers(s), view=area_geometry(area, s),
                                          settings=s.with_(basemap_url=url)))
            print(f"map page {area}, basemap_url={url!r}: {len(page.encode()) / 1e6:.2f} MB, "
                  f"{time.perf_counter() - t:.2f} s")
    without = shipped.with_(data_dir=Path(tempfile.mkdtemp()))
    for part in ("boundaries", "roads"):
        (without.data_dir / part).symlink_to(Path(shipped.data_dir).resolve() / part)
    page = offline_html(build_map(base=load_base_layers(without),
                                  view=area_geometry("force", without), settings=without))
    print(f"map page force, no street basemap: {len(page.encode()) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
