"""Projection between WGS84 (the edges) and British National Grid (all analysis)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pyproj import Transformer

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"


@lru_cache(maxsize=4)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 longitude/latitude to British National Grid easting/northing in metres.

    NaN in gives NaN out.
    """
    x, y = _transformer(WGS84, BNG).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, float), np.asarray(y, float)


def to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project British National Grid easting/northing to WGS84 longitude/latitude."""
    lon, lat = _transformer(BNG, WGS84).transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon, float), np.asarray(lat, float)
