"""The street basemap in the dashboard: its chunks served by Streamlit, and the note shown when
the selected area has none yet."""

from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as components

from hotspots.config import Settings
from hotspots.errors import HotspotsError
from hotspots.spatial.boundaries import area_geometry
from hotspots.street_tiles import tile_set
from hotspots.streets import coverage, read_street_layers
from hotspots.ui.common import md_escape

__all__ = ["BUILD_COMMAND", "coverage_note", "served"]

#: Share of the selected area that must have streets (2 km squares holding a road).
COVERED_SHARE = 0.9

#: How a user builds the street basemap for another force.
BUILD_COMMAND = "hotspots basemap build EXTRACT.osm.pbf"


@st.cache_resource(show_spinner="Preparing the street basemap (once)…")
def _served_url(data_dir: str, _settings: Settings) -> str:
    layers = read_street_layers(_settings)
    if layers is None or layers.roads.empty:
        return ""
    tiles = tile_set(layers, _settings)
    # A component declared with a folder makes Streamlit serve that folder's files from its
    # own origin (/component/<name>/...): the map page fetches the chunks there, nothing else.
    served = components.declare_component(f"street_basemap_{tiles.stamp}", path=str(tiles.path))
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(p for p in (base, "component", served.name) if p)


def served(settings: Settings) -> Settings:
    """``settings`` with ``basemap_url`` pointing at the served chunks (unchanged with none).

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    Settings
    """
    if settings.tiles_url:
        return settings
    try:
        url = _served_url(str(settings.data_dir), settings)
    except HotspotsError as exc:
        st.warning(f"Street basemap not available: {md_escape(str(exc))}")
        return settings
    return settings.with_(basemap_url=url) if url else settings


@st.cache_resource(show_spinner=False)
def _coverage(data_dir: str, _settings: Settings) -> object:
    # Once per process: the squares holding a road (half a second) are the same for every area.
    layers = read_street_layers(_settings)
    return None if layers is None else coverage(layers)


@st.cache_data(show_spinner=False, max_entries=16)
def _covered(data_dir: str, area: str, _settings: Settings) -> bool:
    shape = _coverage(data_dir, _settings)
    if shape is None:
        return False
    geom = area_geometry(area, _settings)
    # Covered when nearly all of it has streets: a few empty fields are not a missing basemap.
    return shape.intersection(geom).area >= COVERED_SHARE * geom.area


def coverage_note(settings: Settings, area: str | None) -> None:
    """Say, with the command, when the selected area has no street basemap yet."""
    if settings.tiles_url:
        return
    try:
        covered = _covered(str(settings.data_dir), area or "", settings)
    except HotspotsError:
        return
    if not covered:
        st.info("This area has no street basemap yet: the map shows main roads and "
                "boundaries only. Build one from an OpenStreetMap extract of the area with "
                f"`{BUILD_COMMAND}` and reload the page.")
