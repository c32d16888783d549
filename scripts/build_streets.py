"""Build the shipped street basemap (data/streets/) from the street-level open data files.

Usage: python scripts/build_streets.py [SOURCE] [--out data/streets]

SOURCE (the upstream data folder, required) holds streets/osm_roads.parquet, osm_places.parquet,
osm_railways.parquet, osm_waterways.parquet, osm_landuse_water.parquet and
ons_wards_may2024_bsc.parquet (GeoParquet, EPSG:27700). The layers are the same files that
``hotspots basemap build EXTRACT.osm.pbf`` writes for another force.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hotspots.streets import (  # noqa: E402
    landuse_layer,
    place_layer,
    road_layer,
    write_street_layers,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", help="the upstream data folder")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent
                                         / "data" / "streets"))
    args = ap.parse_args(argv)
    src = Path(args.source) / "streets"

    def read(name: str) -> gpd.GeoDataFrame:
        return gpd.read_parquet(src / f"{name}.parquet")

    roads = road_layer(read("osm_roads"))
    places = place_layer(read("osm_places"))
    rail = read("osm_railways")
    rail = rail[rail["class"] == "rail"].copy()
    rail["geometry"] = rail.geometry.simplify(5.0)
    land_water = read("osm_landuse_water")
    # Lakes and river areas are water; the rest is land use.
    is_water = land_water["layer"].astype(str).eq("water") | land_water["class"].isin(
        ["lake", "river", "water", "reservoir", "canal"])
    water_polys = land_water[is_water].copy()
    water_polys["class"] = "water"
    landuse = landuse_layer(pd.concat([land_water[~is_water], water_polys]))
    ways = read("osm_waterways")
    ways = ways[ways["class"].isin(["river", "canal"])].copy()
    ways["geometry"] = ways.geometry.simplify(3.0)
    wards = read("ons_wards_may2024_bsc").rename(columns={"ward_name": "name",
                                                          "lad_name": "district"})
    out = Path(args.out)
    written = write_street_layers({"roads": roads, "places": places, "railways": rail,
                                   "water": ways, "landuse": landuse, "wards": wards}, out)
    for path in written:
        print(f"{path}: {len(gpd.read_parquet(path)):,} rows, "
              f"{path.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
