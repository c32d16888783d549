"""Build the project's shipped data (data/) from the upstream open-data files.

Usage: python scripts/prepare_data.py --source PATH_TO_UPSTREAM_DATA [--out data]

PATH_TO_UPSTREAM_DATA holds crime/warwickshire/*.csv, crime/neighbours/*.csv.gz,
boundaries/*.geojson and roads/* as described in data/README.md. The app and tests never
run this script: they read only what it writes under data/.
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString

BNG = "EPSG:27700"
NEAR_BORDER_M = 10_000.0  # neighbours' rows kept within this distance of the county boundary


def _gzip_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the output byte-stable, so re-running the script changes nothing in git.
    with open(src, "rb") as fin, open(dst, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as fout:
            shutil.copyfileobj(fin, fout)


def _write_gz_text(text: str, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as fout:
            fout.write(text.encode("utf-8"))


def crime(src: Path, out: Path, county_bng) -> None:
    for f in sorted((src / "crime" / "warwickshire").glob("*-warwickshire-street.csv")):
        _gzip_copy(f, out / "crime" / "warwickshire" / (f.name + ".gz"))
    near = county_bng.buffer(NEAR_BORDER_M)
    for f in sorted((src / "crime" / "neighbours").glob("*.csv.gz")):
        raw = gzip.decompress(f.read_bytes()).decode("utf-8")
        lines = raw.splitlines(keepends=True)
        df = pd.read_csv(io.StringIO(raw), dtype=str, keep_default_na=False)
        pts = gpd.GeoSeries.from_xy(pd.to_numeric(df["Longitude"]), pd.to_numeric(df["Latitude"]),
                                    crs="EPSG:4326").to_crs(BNG)
        keep = pts.within(near).to_numpy()
        # Keep the original lines byte for byte (header + kept rows); police.uk fields hold no
        # embedded newlines, which the row count check below guards.
        if len(lines) != len(df) + 1:
            raise SystemExit(f"{f}: embedded newlines; cannot filter line-wise")
        kept = [lines[0]] + [ln for ln, k in zip(lines[1:], keep, strict=True) if k]
        name = re.sub(r"\.near-warwickshire\.csv\.gz$", ".csv.gz", f.name)
        _write_gz_text("".join(kept), out / "crime" / "neighbours" / name)
        print(f"{name}: kept {int(keep.sum())} of {len(df)} rows within {NEAR_BORDER_M:.0f} m")


def _drop_tiny_holes(geom, min_area: float = 1.0):
    """Return ``geom`` without interior rings smaller than ``min_area`` square metres."""
    from shapely.geometry import MultiPolygon, Polygon

    def clean(poly: Polygon) -> Polygon:
        return Polygon(poly.exterior, [r for r in poly.interiors if Polygon(r).area >= min_area])

    if isinstance(geom, MultiPolygon):
        return MultiPolygon([clean(p) for p in geom.geoms])
    return clean(geom)


def boundaries(src: Path, out: Path):
    b = src / "boundaries"
    dst = out / "boundaries"
    dst.mkdir(parents=True, exist_ok=True)
    county = gpd.read_file(b / "warwickshire_county.geojson").to_crs(BNG)
    county = county.rename(columns={"name": "name"})[["name", "geometry"]]
    county["code"] = "E10000031"
    county.to_parquet(dst / "county.parquet", compression="zstd")
    d = gpd.read_file(b / "warwickshire_districts.geojson").to_crs(BNG)
    # Dissolving LSOAs leaves slivers as zero-area holes that draw like boundaries.
    d["geometry"] = d.geometry.map(_drop_tiny_holes)
    d = d.rename(columns={"LAD13CD": "code", "LAD13NM": "name"})[["code", "name", "geometry"]]
    d.to_parquet(dst / "districts.parquet", compression="zstd")
    lsoa = gpd.read_file(b / "warwickshire_lsoa2011.geojson").to_crs(BNG)
    lsoa = lsoa.rename(columns={"LSOA11CD": "code", "LSOA11NM": "name", "LAD13CD": "lad_code",
                                "LAD13NM": "lad_name"})[["code", "name", "lad_code", "lad_name",
                                                         "geometry"]]
    lsoa.to_parquet(dst / "lsoa2011.parquet", compression="zstd")
    lad = gpd.read_file(b / "lad2013_warwickshire_and_neighbours.geojson").to_crs(BNG)
    lad = lad.rename(columns={"LAD13CD": "code", "LAD13NM": "name"})
    lad[["code", "name", "in_warwickshire", "geometry"]].to_parquet(
        dst / "lad_context.parquet", compression="zstd")
    return county.geometry.iloc[0]


def roads(src: Path, out: Path) -> None:
    r = src / "roads"
    dst = out / "roads"
    dst.mkdir(parents=True, exist_ok=True)
    mw = gpd.read_file(r / "motorways_warwickshire_10km.geojson").to_crs(BNG)
    mw = mw.rename(columns={"road_classification_number": "ref",
                            "road_classification": "road_class"})
    mw[["ref", "road_class", "length", "geometry"]].to_parquet(dst / "motorways.parquet",
                                                               compression="zstd")
    j = gpd.read_file(r / "srn_junction_nodes_warwickshire_10km.geojson").to_crs(BNG)
    for col in ("junction_names", "roads", "ha_regions"):
        # GDAL hands JSON arrays back as numpy arrays: store them as "A; B" text.
        j[col] = j[col].map(lambda v: "; ".join(map(str, v)) if isinstance(v, list | tuple
                                                                             | np.ndarray)
                            else str(v))
    j.to_parquet(dst / "srn_junctions.parquet", compression="zstd")
    links = pd.read_csv(r / "srn_hatris_link_graph_england.csv")
    links = links.drop(columns=[c for c in links.columns if c.startswith("Unnamed") or c == ""])
    links["EndJunction"] = links["EndJunction"].astype(str).str.replace(
        r"^\d+\s+(\S.*?)\nName:.*$", r"\1", regex=True)
    box = (370_000, 205_000, 470_000, 315_000)
    inside = ((links.StartClusterX.between(box[0], box[2]) & links.StartClusterY.between(box[1],
              box[3])) | (links.EndClusterX.between(box[0], box[2])
                          & links.EndClusterY.between(box[1], box[3])))
    links = links[inside].reset_index(drop=True)
    geom = [LineString([(a, b), (c, d)]) for a, b, c, d in
            zip(links.StartClusterX, links.StartClusterY, links.EndClusterX, links.EndClusterY,
                strict=True)]
    gpd.GeoDataFrame(links, geometry=geom, crs=BNG).to_parquet(dst / "srn_links.parquet",
                                                               compression="zstd")
    w = gpd.read_file(r / "webtris_sites_warwickshire_10km.geojson").to_crs(BNG)
    w.to_parquet(dst / "webtris_sites.parquet", compression="zstd")
    s = gpd.read_file(r / "osm_highway_services_warwickshire_10km.geojson").to_crs(BNG)
    s.to_parquet(dst / "osm_services.parquet", compression="zstd")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", required=True, type=Path)
    ap.add_argument("--out", default=Path(__file__).resolve().parent.parent / "data", type=Path)
    a = ap.parse_args()
    county = boundaries(a.source, a.out)
    roads(a.source, a.out)
    crime(a.source, a.out, county)


if __name__ == "__main__":
    main()
