"""Build the national Strategic Road Network layers (England) under ``data/roads/national/``.

Usage: python scripts/build_srn_national.py [--source PATH] [--out data] [--tolerance 5]

PATH (the upstream data folder, required) holds
``national/roads/srn_hapms_network_2020-03-02.parquet`` (the National Highways HAPMS network
layer: every SRN section with true geometry, EPSG:27700),
``national/roads/webtris_sites_2026-04.parquet`` (WebTRIS traffic-count sites, EPSG:4326) and
``roads/srn_hatris_link_graph_england.csv`` (the HATRIS junction graph). Writes:

- ``data/roads/national/hapms_sections.parquet``: one line per section (``ref``, ``road_class``
  ``motorway``/``trunk``, ``function`` ``main``/``slip``/``roundabout``/``layby``, ``direction``,
  ``carriageway``, ``lanes``, ``location``, ``authority``), simplified at ``--tolerance`` metres
  (topology kept; section ends are never moved).
- ``data/roads/national/webtris_sites.parquet``: ``site_id``, ``description``, ``road``,
  ``direction``, ``status``, ``site_type``, points in EPSG:27700.
- ``data/roads/national/hatris_links.parquet``: the HATRIS directed links between junction
  clusters (names, cluster ids and positions; no geometry).

The app and the tests never run this script: they read only what it writes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

BNG = "EPSG:27700"
ROOT = Path(__file__).resolve().parent.parent

FUNCTIONS = {"Main Carriageway": "main", "Slip Road": "slip", "Roundabout": "roundabout",
             "Ox Bow Lay-by": "layby"}
CARRIAGEWAYS = {"Dual Carriageway (Nominated)": "dual", "Dual Carriageway (Not Nominated)": "dual",
                "One Way Single Carriageway": "one-way", "Two Way Single Carriageway": "two-way",
                "Not Specified": "one-way"}


def _simplify_keep_ends(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker per line; the first and last vertex (the section ends) stay exact."""
    out = shapely.simplify(geoms, tolerance, preserve_topology=True)
    # one decimetre is far below the data's own accuracy and halves the file
    return shapely.set_precision(out, 0.1, mode="pointwise")


def hapms(src: Path, dst: Path, tolerance: float) -> None:
    g = gpd.read_parquet(src / "national" / "roads" / "srn_hapms_network_2020-03-02.parquet")
    g = g.set_crs(BNG, allow_override=True).explode(index_parts=False).reset_index(drop=True)
    g = g[g.geometry.length > 0]
    ref = g["roa_number"].astype(str).str.strip().str.upper()
    out = gpd.GeoDataFrame({
        "ref": ref,
        "road_class": np.where(g["class_name"].isin(["M", "A(M)"]) | ref.str.startswith("M"),
                               "motorway", "trunk"),
        "function": g["funct_name"].map(FUNCTIONS).fillna("main"),
        "direction": g["direc_code"].fillna(""),
        "carriageway": g["dual_name"].map(CARRIAGEWAYS).fillna("one-way"),
        "lanes": g["perm_lanes"].fillna(0).astype("int8"),
        "location": g["location"].fillna("").astype(str).str.strip(),
        "authority": g["autho_name"].fillna("").astype(str),
    }, geometry=_simplify_keep_ends(g.geometry.values, tolerance), crs=BNG)
    for col in ("road_class", "function", "direction", "carriageway", "authority"):
        out[col] = out[col].astype("category")
    out.to_parquet(dst / "hapms_sections.parquet", compression="zstd", index=False)
    print(f"hapms_sections.parquet: {len(out)} sections")


def webtris(src: Path, dst: Path) -> None:
    w = gpd.read_parquet(src / "national" / "roads" / "webtris_sites_2026-04.parquet")
    w = w.to_crs(BNG)
    out = gpd.GeoDataFrame({
        "site_id": w["Id"].astype("int64"),
        "description": w["Description"].fillna("").astype(str),
        "road": w["road"].fillna("").astype(str).str.replace(r"^A(\d+)M$", r"A\1(M)", regex=True),
        "direction": w["direction"].fillna("").astype(str),
        "status": w["Status"].fillna("").astype(str),
        "site_type": w["site_type"].fillna("").astype(str),
    }, geometry=shapely.set_precision(w.geometry.values, 1.0), crs=BNG)
    out.to_parquet(dst / "webtris_sites.parquet", compression="zstd", index=False)
    print(f"webtris_sites.parquet: {len(out)} sites")


def hatris(src: Path, dst: Path) -> None:
    links = pd.read_csv(src / "roads" / "srn_hatris_link_graph_england.csv")
    links["EndJunction"] = links["EndJunction"].astype(str).str.replace(
        r"^\d+\s+(\S.*?)\nName:.*$", r"\1", regex=True)
    keep = ["LinkRef", "LinkDescription", "StartJunction", "EndJunction", "road", "StartCluster",
            "EndCluster", "StartClusterX", "StartClusterY", "EndClusterX", "EndClusterY"]
    links[keep].to_parquet(dst / "hatris_links.parquet", compression="zstd", index=False)
    print(f"hatris_links.parquet: {len(links)} links")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", required=True, type=Path)
    ap.add_argument("--out", default=ROOT / "data", type=Path)
    ap.add_argument("--tolerance", default=5.0, type=float,
                    help="simplification tolerance in metres (default 5)")
    args = ap.parse_args()
    dst = args.out / "roads" / "national"
    dst.mkdir(parents=True, exist_ok=True)
    hapms(args.source, dst, args.tolerance)
    webtris(args.source, dst)
    hatris(args.source, dst)


if __name__ == "__main__":
    main()
