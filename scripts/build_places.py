"""Build data/places/places.parquet: named OpenStreetMap places that name patrol areas.

Usage: python scripts/build_places.py --source UPSTREAM [--out data]

Reads ``streets/osm_places.parquet`` (points with ``name`` and ``class``, EPSG:27700) under
the source folder, keeps the settlement classes a sergeant names an area by (city, town,
suburb, quarter, neighbourhood, village, hamlet), drops repeats of one name and class within
500 m (the vector tiles repeat a label across tile seams), and adds the local authority
district each point lies in (from the shipped ``boundaries/lad_context.parquet`` and
``boundaries/districts.parquet``), so that a name used twice can be told apart. The app and
tests read only the output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

BNG = "EPSG:27700"
CLASSES = ("city", "town", "suburb", "quarter", "neighbourhood", "village", "hamlet")
REPEAT_M = 500.0


def _dedupe(places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One point per name and class within ``REPEAT_M`` (the first, in source order)."""
    keep = np.ones(len(places), dtype=bool)
    x, y = places.geometry.x.to_numpy(), places.geometry.y.to_numpy()
    for _, idx in places.groupby(["name", "class"]).indices.items():
        for i, a in enumerate(idx):
            if not keep[a]:
                continue
            for b in idx[i + 1:]:
                if keep[b] and np.hypot(x[a] - x[b], y[a] - y[b]) <= REPEAT_M:
                    keep[b] = False
    return places[keep]


def build(source: Path, out: Path) -> Path:
    """Write ``out/places/places.parquet`` from ``source/streets/osm_places.parquet``."""
    raw = gpd.read_parquet(source / "streets" / "osm_places.parquet").to_crs(BNG)
    raw = raw[raw["class"].isin(CLASSES) & raw["name"].notna()]
    raw = raw[raw["name"].astype(str).str.strip() != ""]
    places = _dedupe(raw[["name", "class", "geometry"]].reset_index(drop=True))
    districts = gpd.read_parquet(out / "boundaries" / "districts.parquet")[["name", "geometry"]]
    context = gpd.read_parquet(out / "boundaries" / "lad_context.parquet")
    context = context[~context["in_warwickshire"].astype(bool)][["name", "geometry"]]
    lads = gpd.GeoDataFrame(pd.concat([districts, context], ignore_index=True), crs=BNG)
    joined = gpd.sjoin(places, lads.rename(columns={"name": "district"}), how="left",
                       predicate="within")
    joined = joined[~joined.index.duplicated()]
    frame = gpd.GeoDataFrame({
        "name": joined["name"].astype(str).str.strip(),
        "class": joined["class"].astype(str),
        "district": joined["district"].fillna("").astype(str),
    }, geometry=joined.geometry.values, crs=BNG).sort_values(["class", "name"])
    path = out / "places" / "places.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.reset_index(drop=True).to_parquet(path, compression="zstd", index=False)
    return path


def main() -> None:
    """Parse the arguments and build the file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, required=True,
                    help="folder holding streets/osm_places.parquet")
    ap.add_argument("--out", type=Path, default=Path("data"), help="the project's data folder")
    args = ap.parse_args()
    path = build(args.source, args.out)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
