"""Does turning hotspot cells into polygons need GDAL (rasterio)? Both ways, side by side.

rasterio brings a second GDAL (beside pyogrio's) for two jobs: the KDE GeoTIFF and turning
labelled hotspot cells into polygons. This times rasterio's polygoniser against a GDAL-free
one built on shapely alone (row runs to rectangles, then a union per label), on a smooth
random surface's top 5 % and top 20 % of a 700 x 630 grid of 100 m cells (about the force's
grid), checks they give the same polygons, and prints the best of ``--runs``.

    .venv/bin/python benchmarks/bench_polygonize.py --runs 7
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import shapely
from rasterio.features import shapes
from scipy import ndimage
from shapely.geometry import shape

from hotspots.spatial.grid import Grid, north_up


def with_rasterio(labels: np.ndarray, grid: Grid) -> dict[int, object]:
    geoms: dict[int, list] = {}
    img = np.ascontiguousarray(north_up(labels).astype(np.int32))
    for g, v in shapes(img, mask=img > 0, connectivity=4, transform=grid.transform):
        geoms.setdefault(int(v), []).append(shape(g))
    return {k: v[0] if len(v) == 1 else shapely.union_all(v) for k, v in geoms.items()}


def with_shapely(labels: np.ndarray, grid: Grid) -> dict[int, object]:
    ny, nx = labels.shape
    padded = np.zeros((ny, nx + 1), dtype=np.int64)
    padded[:, 1:] = labels
    rows, starts = np.nonzero(padded[:, 1:] != padded[:, :-1])
    values = labels[rows, starts]
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[np.r_[rows[1:] != rows[:-1], True]] = nx
    keep = values > 0
    rows, starts, ends, values = rows[keep], starts[keep], ends[keep], values[keep]
    c = grid.cell
    boxes = shapely.box(grid.x0 + starts * c, grid.y0 + rows * c, grid.x0 + ends * c,
                        grid.y0 + (rows + 1) * c)
    order = np.argsort(values, kind="stable")
    values, boxes = values[order], boxes[order]
    cuts = np.flatnonzero(np.diff(values)) + 1
    return {int(v[0]): (b[0] if len(b) == 1 else shapely.union_all(b))
            for v, b in zip(np.split(values, cuts), np.split(boxes, cuts), strict=True)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    grid = Grid(400000.0, 250000.0, 100.0, 700, 630)
    field = ndimage.gaussian_filter(rng.random((630, 700)), 4)
    print("| cells marked | areas | rasterio (GDAL), best of runs | shapely only | same polygons |")
    print("|---|---:|---:|---:|---|")
    for share in (0.05, 0.20):
        labels, n = ndimage.label(field > np.quantile(field, 1 - share))
        best = {}
        for name, fn in (("rasterio", with_rasterio), ("shapely", with_shapely)):
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                out = fn(labels, grid)
                times.append(time.perf_counter() - t)
            best[name] = (min(times), out)
        a, b = best["rasterio"][1], best["shapely"][1]
        same = set(a) == set(b) and all(a[k].equals(b[k]) for k in a)
        print(f"| top {share:.0%} | {n} | {best['rasterio'][0] * 1000:.0f} ms | "
              f"{best['shapely'][0] * 1000:.0f} ms | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
