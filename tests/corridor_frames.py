"""Hand-built network density lixels and junction statistics for the corridor map tests."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from hotspots.spatial.crs import to_wgs84

XSS = "<img src=x onerror=alert(1)>"


def lixels(pieces: list[tuple[str, str, list[float]]], y0: float = 265000.0
            ) -> gpd.GeoDataFrame:
    """Lixels as network_kde returns them: 100 m pieces along east-west roads, one per row.

    ``pieces``: (ref, geometry_source, densities of its consecutive lixels); each piece is a
    separate road 1 km north of the previous one.
    """
    from shapely.geometry import LineString

    rows = []
    for i, (ref, source, densities) in enumerate(pieces):
        y = y0 + 1000.0 * i
        for j, d in enumerate(densities):
            x = 440000.0 + 100.0 * j
            rows.append({"ref": ref, "geometry_source": source, "density": d,
                         "length_m": 100.0, "geometry": LineString([(x, y), (x + 50, y + 1),
                                                                    (x + 100, y)])})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700")


def junctions(name: str = XSS) -> pd.DataFrame:
    lon, lat = to_wgs84(np.array([440300.0, 441000.0]), np.array([265000.0, 266000.0]))
    return pd.DataFrame({
        "rank": [1, 2], "name": [name, "M6 J3"], "alias": ["", f"{XSS} alias"],
        "lon": lon, "lat": lat, "incidents": [12, 0],
        "by_group": [{"acquisitive": 9, XSS: 3}, {}], "by_force": [{"warwickshire": 12}, {}],
        "previous": [8, None], "change": [4, None], "change_pct": [50.0, float("nan")],
        "change_note": ["", f"no data for previous period {XSS}"]})
