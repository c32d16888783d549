"""Names for areas the way officers say them: the place (town centre, suburb, village) and the
streets of the incidents in it.

Places are the shipped OpenStreetMap settlement points (``data/places/places.parquet``:
``name``, ``class``, ``district``; EPSG:27700, built by ``scripts/build_places.py``); streets
come from the police.uk ``Location`` text ("On or near Regent Street" -> "Regent Street").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import InputError

#: An area whose centre lies this close to a town's or city's point is its town centre.
TOWN_CENTRE_M = 500.0
#: Furthest a place may be from an area and still name it: the shipped places cover the
#: default force and its surroundings only, so an area of another force far from any of them
#: is named by its streets alone rather than by a place 100 km away.
PLACE_REACH_M = 5_000.0
#: Settlement classes that have a town (or city) centre.
CENTRES = {"town": "town centre", "city": "city centre"}
#: police.uk map points that name a kind of place, not a street: listed after the streets.
GENERIC_LOCATIONS = frozenset(s.lower() for s in (
    "Parking Area", "Supermarket", "Shopping Area", "Petrol Station", "Sports/Recreation Area",
    "Nightclub", "Hospital", "Bus/Coach Station", "Theatre/Concert Hall", "Police Station",
    "Further/Higher Educational Building", "Conference/Exhibition Centre", "Airport/Airfield",
    "Pedestrian Subway", "Prison", "Theme/Adventure Park", "Train Station", "Tram Station",
    "Underground Station", "Sports Ground", "Motorway Services", "Motorway Service Area",
    "No Location"))
_PREFIX = "on or near "
PLACE_COLUMNS = ("name", "class", "district")


@lru_cache(maxsize=4)
def _read(path: str) -> gpd.GeoDataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: places file not found (is the data/ folder complete?)")
    return gpd.read_parquet(p)


def load_places(settings: Settings) -> gpd.GeoDataFrame:
    """Return the shipped place points (``name``, ``class``, ``district``), EPSG:27700, a copy."""
    return _read(str(settings.data_dir / "places" / "places.parquet")).copy()


def street_of(location: object) -> str:
    """The street of a police.uk location: ``"On or near Regent Street"`` -> ``"Regent Street"``
    (blank for a missing value)."""
    if location is None or (isinstance(location, float) and location != location):
        return ""
    text = " ".join(str(location).split())
    if text.lower().startswith(_PREFIX):
        text = text[len(_PREFIX):].strip()
    # police.uk writes "St Mary'S Terrace"
    return re.sub(r"'S\b", "'s", text)


def is_generic(street: str) -> bool:
    """Whether a police.uk map point names a kind of place ("Supermarket"), not a street."""
    return street.strip().lower() in GENERIC_LOCATIONS


def top_streets(locations: Iterable[object], n: int = 3) -> list[str]:
    """The ``n`` commonest streets of some incidents' locations: streets by count (ties
    alphabetical), then kinds of place such as "Supermarket" (never before a street)."""
    streets = pd.Series([street_of(v) for v in locations], dtype=object)
    streets = streets[streets != ""]
    if streets.empty or n <= 0:
        return []
    counts = streets.value_counts()
    order = sorted(counts.items(), key=lambda kv: (is_generic(kv[0]), -int(kv[1]), kv[0]))
    return [name for name, _ in order[:n]]


def place_of(geometry: BaseGeometry, places: gpd.GeoDataFrame, *,
             repeated: frozenset[str] = frozenset()) -> str:
    """The place an area lies in: "<Town> town centre" within :data:`TOWN_CENTRE_M` of a town
    or city point, else the nearest place's name within :data:`PLACE_REACH_M` ("" with no
    place that near).

    Parameters
    ----------
    geometry : shapely geometry
        EPSG:27700; its representative point is the area's centre.
    places : geopandas.GeoDataFrame
        :func:`load_places` (``name``, ``class``, optional ``district``).
    repeated : frozenset of str
        Names used by more than one place: these get their district in brackets, e.g.
        "Hillmorton (Rugby)".
    """
    if places is None or not len(places) or geometry is None or geometry.is_empty:
        return ""
    centre = geometry.representative_point()
    px = places.geometry.x.to_numpy()
    py = places.geometry.y.to_numpy()
    dist = np.hypot(px - centre.x, py - centre.y)
    cls = places["class"].astype(str).to_numpy()
    names = places["name"].astype(str).to_numpy()
    districts = (places["district"].astype(str).to_numpy() if "district" in places
                 else np.full(len(places), "", dtype=object))
    centres = np.isin(cls, list(CENTRES)) & (dist <= TOWN_CENTRE_M)
    if centres.any():
        i = int(np.flatnonzero(centres)[np.argmin(dist[centres])])
        return f"{names[i]} {CENTRES[cls[i]]}"
    i = int(np.argmin(dist))
    if dist[i] > PLACE_REACH_M:
        return ""
    name = names[i]
    if name in repeated and districts[i] and districts[i] != name:
        name = f"{name} ({districts[i]})"
    return name


def repeated_names(places: gpd.GeoDataFrame) -> frozenset[str]:
    """Place names carried by points in more than one district."""
    if places is None or not len(places) or "district" not in places:
        return frozenset()
    per = places.groupby(places["name"].astype(str))["district"].nunique()
    return frozenset(per[per > 1].index)


def area_name(place: str, streets: Sequence[str], n: int = 2) -> str:
    """``"Rugby town centre: Regent Street, Church Street"`` (either part may be missing)."""
    shown = ", ".join(streets[:n])
    if place and shown:
        return f"{place}: {shown}"
    return place or shown
