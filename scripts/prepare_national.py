"""Build the national boundaries (every force of England and Wales) and the small test fixtures.

Usage: python scripts/prepare_national.py [--source PATH] [--out data] [--fixtures tests/fixtures]

PATH (the upstream data folder, required) holds ``national/boundaries/`` (the ONS
police force areas and districts, BSC, EPSG:27700) and ``national/crime/`` (whole-force
police.uk monthly files, gzipped). Writes:

- ``data/boundaries/national/forces.parquet``: the 43 police force areas (``code``, ``name``).
- ``data/boundaries/national/districts.parquet``: the 318 local authority districts with their
  force (``code``, ``name``, ``force_code``).
- ``data/boundaries/national/lsoa2021.parquet``: the 35,672 LSOA 2021 polygons (BSC) with
  their force (``code``, ``name``, ``force_code``), for LSOA Gi* of any force.
- ``tests/fixtures/police_uk/2025-0M-<force>-street.csv``: a few hundred rows of two forces
  (Essex, West Mercia), including rows outside the force's own area and rows without a
  location, for the tests. No other force's crime is copied into the project.

The app and the tests never run this script: they read only what it writes.
"""

from __future__ import annotations

import argparse
import gzip
import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

BNG = "EPSG:27700"
ROOT = Path(__file__).resolve().parent.parent
#: (file slug, ONS force code) of the fixture forces.
FIXTURE_FORCES = (("essex", "E23000028"), ("west-mercia", "E23000016"))
FIXTURE_MONTHS = ("2025-01", "2025-02")
#: Rows per force and month: inside the area, outside it beyond the default 2 km buffer,
#: outside it within the buffer, and without a location (fewer where the month has fewer).
FIXTURE_INSIDE, FIXTURE_FAR, FIXTURE_NEAR, FIXTURE_NO_LOCATION = 120, 10, 10, 10


def boundaries(src: Path, out: Path) -> gpd.GeoDataFrame:
    """Write the force areas and districts; return the force areas."""
    national = src / "national" / "boundaries"
    forces = gpd.read_parquet(national / "police_force_areas_2024_bsc.parquet").to_crs(BNG)
    forces = forces.rename(columns={"PFA24CD": "code", "PFA24NM": "name"})[
        ["code", "name", "geometry"]].sort_values("code").reset_index(drop=True)
    districts = gpd.read_parquet(national / "districts_2024_bsc.parquet").to_crs(BNG)
    districts = districts.rename(columns={"LAD24CD": "code", "LAD24NM": "name",
                                          "PFA24CD": "force_code"})[
        ["code", "name", "force_code", "geometry"]].sort_values("code").reset_index(drop=True)
    lookup = pd.read_csv(national / "lookup_lad24_csp24_pfa24.csv", dtype=str)
    by_lookup = lookup.drop_duplicates("LAD24CD").set_index("LAD24CD")["PFA24CD"]
    mismatch = districts[districts["force_code"] != districts["code"].map(by_lookup)]
    if len(mismatch):
        raise SystemExit(f"districts disagree with the ONS lookup: {mismatch['code'].tolist()}")
    dest = out / "boundaries" / "national"
    dest.mkdir(parents=True, exist_ok=True)
    forces.to_parquet(dest / "forces.parquet", compression="zstd", index=False)
    districts.to_parquet(dest / "districts.parquet", compression="zstd", index=False)
    return forces


def lsoas(src: Path, out: Path) -> None:
    """Write the LSOA 2021 polygons with the force holding each."""
    lsoa = gpd.read_parquet(src / "national" / "boundaries" / "lsoa2021_bsc.parquet").to_crs(BNG)
    lsoa = lsoa.rename(columns={"LSOA21CD": "code", "LSOA21NM": "name",
                                "PFA24CD": "force_code"})[
        ["code", "name", "force_code", "geometry"]].sort_values("code").reset_index(drop=True)
    dest = out / "boundaries" / "national"
    dest.mkdir(parents=True, exist_ok=True)
    lsoa.to_parquet(dest / "lsoa2021.parquet", compression="zstd", index=False)


def fixtures(src: Path, out: Path, forces: gpd.GeoDataFrame) -> None:
    """Cut a few hundred police.uk rows per fixture force, byte for byte."""
    rng = np.random.default_rng(20250101)
    dest = out / "police_uk"
    dest.mkdir(parents=True, exist_ok=True)
    for slug, code in FIXTURE_FORCES:
        area = forces.loc[forces["code"] == code].geometry.iloc[0]
        for month in FIXTURE_MONTHS:
            f = src / "national" / "crime" / f"{month}-{slug}-street.csv.gz"
            raw = gzip.decompress(f.read_bytes()).decode("utf-8")
            lines = raw.splitlines(keepends=True)
            df = pd.read_csv(io.StringIO(raw), dtype=str, keep_default_na=False)
            if len(lines) != len(df) + 1:
                raise SystemExit(f"{f}: embedded newlines; cannot cut line-wise")
            located = (df["Longitude"] != "") & (df["Latitude"] != "")
            pts = gpd.GeoSeries.from_xy(pd.to_numeric(df["Longitude"].where(located)),
                                        pd.to_numeric(df["Latitude"].where(located)),
                                        crs="EPSG:4326").to_crs(BNG)
            inside = located & pts.within(area).to_numpy()
            # Rows beyond the default 2 km buffer first (rejected by default), then rows just
            # outside the area (accepted by the buffer, rejected with buffer 0).
            far = located & ~pts.within(area.buffer(2_000)).to_numpy()
            near = located & ~inside & ~far
            picks = []
            for mask, n in ((inside, FIXTURE_INSIDE), (far, FIXTURE_FAR),
                            (near, FIXTURE_NEAR), (~located, FIXTURE_NO_LOCATION)):
                idx = np.flatnonzero(np.asarray(mask, dtype=bool))
                picks.append(rng.choice(idx, size=min(n, idx.size), replace=False))
            keep = np.sort(np.concatenate(picks))
            text = lines[0] + "".join(lines[i + 1] for i in keep)
            (dest / f"{month}-{slug}-street.csv").write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", required=True, type=Path)
    ap.add_argument("--out", default=ROOT / "data", type=Path)
    ap.add_argument("--fixtures", default=ROOT / "tests" / "fixtures", type=Path)
    args = ap.parse_args()
    forces = boundaries(args.source, args.out)
    lsoas(args.source, args.out)
    fixtures(args.source, args.fixtures, forces)


if __name__ == "__main__":
    main()
