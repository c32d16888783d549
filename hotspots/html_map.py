"""The self-contained HTML map download: one file that works with no network."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hotspots.errors import InputError
from hotspots.leaflet import offline_html

__all__ = ["write_html_map"]


def write_html_map(folium_map: Any, path: str | os.PathLike) -> Path:
    """Write a folium map as one self-contained HTML file that works with no network.

    Parameters
    ----------
    folium_map : folium.Map
        E.g. from :func:`hotspots.maps.build_map`.
    path : path-like

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        The map needs a file from another machine (see :func:`hotspots.leaflet.offline_html`).
    InputError
        The file cannot be written.
    """
    page = offline_html(folium_map)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the HTML map ({exc.strerror or exc})") from None
    return path
