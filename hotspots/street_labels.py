"""Street and place name labels: where each name goes, and which names fit without colliding.

Label candidates are made once from the layers (:func:`road_labels`, :func:`place_labels`);
:func:`place_without_collision` keeps, most important first, the labels whose box overlaps
neither an already kept label nor a blocked box (e.g. a hotspot's rank). The map's page runs
the same greedy rule in the browser at every zoom (:mod:`hotspots.street_map`), the snapshot in
Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hotspots.streets import PLACE_CLASSES, ROAD_CLASSES

__all__ = [
    "LABEL_COLUMNS",
    "PLACE_MIN_ZOOM",
    "label_box",
    "place_labels",
    "place_without_collision",
    "road_labels",
]

#: Columns of a label candidate frame: text, position (layer units), angle in degrees
#: (counter-clockwise, kept within ±90° so text never reads upside down), priority (lower is
#: placed first), kind (``road`` class or ``place`` class) and the first zoom it shows at.
LABEL_COLUMNS: tuple[str, ...] = ("text", "x", "y", "angle", "priority", "kind", "min_zoom")

#: First zoom each place class is named at.
PLACE_MIN_ZOOM: dict[str, int] = {"city": 8, "town": 9, "suburb": 12, "village": 12,
                                  "hamlet": 14, "neighbourhood": 14, "locality": 15}

#: First zoom each road class is named at.
ROAD_MIN_ZOOM: dict[str, int] = {"motorway": 11, "trunk": 12, "primary": 13, "secondary": 14,
                                 "tertiary": 14, "minor": 15, "pedestrian": 16}


def _angle(line: shapely.LineString, at: float, span: float) -> float:
    a = line.interpolate(max(0.0, at - span))
    b = line.interpolate(min(line.length, at + span))
    deg = math.degrees(math.atan2(b.y - a.y, b.x - a.x))
    if deg > 90:
        deg -= 180
    elif deg < -90:
        deg += 180
    return round(deg, 1)


def road_labels(roads: gpd.GeoDataFrame, min_length_m: float = 60.0,
                spacing_m: float = math.inf) -> pd.DataFrame:
    """Labels of named roads along them: at the middle of each stretch of a road, with two
    fall-back places a quarter along either side.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        Output of :func:`hotspots.streets.road_layer` (or a piece of it, e.g. clipped to a tile).
    min_length_m : float
        Pieces shorter than this carry no label (the name would hide the road).
    spacing_m : float
        A road is cut into ``round(length / spacing_m)`` equal stretches (at least one), each
        labelled at its middle (and the fall-backs): long roads are named again further along.

    Returns
    -------
    pandas.DataFrame
        :data:`LABEL_COLUMNS`; a road with a ``ref`` (e.g. ``A426``) is labelled
        ``"Name (A426)"`` when it has a name, else with the ref.
    """
    rank = {c: i for i, c in enumerate(ROAD_CLASSES)}
    rows = []
    for name, ref, cls, geom in zip(roads["name"], roads["ref"], roads["class"],
                                    roads.geometry, strict=True):
        text = f"{name} ({ref})" if name and ref else (name or ref)
        if not text or geom is None:
            continue
        for line in getattr(geom, "geoms", [geom]):
            if line.geom_type != "LineString" or line.length < min_length_m:
                continue
            n = max(1, round(line.length / spacing_m)) if math.isfinite(spacing_m) else 1
            # Longer roads of a higher class first; the length term only breaks ties in a class.
            priority = rank.get(cls, len(rank)) * 10.0 + 5.0 / (1.0 + line.length / 200.0)
            for k in range(n):
                # The middle of the stretch first; a quarter either side if the middle is
                # taken (the page shows one name of a road per screen region).
                for share, extra in ((0.5, 0.0), (0.25, 0.5), (0.75, 0.5)):
                    at = (k + share) * line.length / n
                    mid = line.interpolate(at)
                    rows.append((text, mid.x, mid.y, _angle(line, at, 25.0),
                                 round(priority + extra, 3), cls, ROAD_MIN_ZOOM.get(cls, 16)))
    return pd.DataFrame(rows, columns=list(LABEL_COLUMNS))


def place_labels(places: gpd.GeoDataFrame) -> pd.DataFrame:
    """Place names (towns first), horizontal; see :data:`PLACE_MIN_ZOOM`."""
    rank = {c: i for i, c in enumerate(PLACE_CLASSES)}
    rows = [(name, p.x, p.y, 0.0, -100.0 + rank.get(cls, 9), cls, PLACE_MIN_ZOOM.get(cls, 15))
            for name, cls, p in zip(places["name"], places["class"], places.geometry,
                                    strict=True) if name]
    return pd.DataFrame(rows, columns=list(LABEL_COLUMNS))


def label_box(x: float, y: float, width: float, height: float, angle_deg: float
              ) -> tuple[float, float, float, float]:
    """The axis-aligned box ``(xmin, ymin, xmax, ymax)`` of a ``width`` × ``height`` label
    centred on ``(x, y)`` and turned by ``angle_deg``."""
    a = math.radians(angle_deg)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    hw = (width * c + height * s) / 2
    hh = (width * s + height * c) / 2
    return (x - hw, y - hh, x + hw, y + hh)


def place_without_collision(boxes: np.ndarray, priority: Sequence[float],
                            blocked: np.ndarray | None = None) -> np.ndarray:
    """Greedy label placement: most important first, keep a label if its box is free.

    Parameters
    ----------
    boxes : numpy.ndarray
        ``(n, 4)`` boxes ``xmin, ymin, xmax, ymax`` (any one unit, e.g. screen pixels).
    priority : sequence of float
        Lower is placed first; ties keep the input order.
    blocked : numpy.ndarray, optional
        ``(m, 4)`` boxes no label may overlap (hotspot ranks, the legend).

    Returns
    -------
    numpy.ndarray
        Boolean mask over ``boxes``: the labels kept.
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    kept = np.zeros(len(boxes), dtype=bool)
    taken = [tuple(b) for b in np.asarray(blocked if blocked is not None else [],
                                          dtype=float).reshape(-1, 4)]
    for i in np.argsort(np.asarray(priority, dtype=float), kind="stable"):
        x0, y0, x1, y1 = boxes[i]
        if any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in taken):
            continue
        kept[i] = True
        taken.append((x0, y0, x1, y1))
    return kept
