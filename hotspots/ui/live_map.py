"""The dashboard's map as a component that stays mounted across reruns (Streamlit).

:func:`show_map` hands the whole offline map page (:func:`hotspots.leaflet.offline_html`, the
same page the map download writes) to a small component served from ``static/live_map/``. The
first page is drawn as is; each later one replaces the layers, controls and legend of the map
already on screen, so a filter change neither blanks the map nor loses its zoom and centre.
The view is fitted to the selection on the first draw, when the selection leaves the view, and
in meeting mode when the area changes (``fit_key``); the user's layer choices in the layer
control are kept. The view also survives a switch to another dashboard view and back (it is
kept in the tab's session storage).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

__all__ = ["COMPONENT_NAME", "show_map"]

#: The component's name (the iframe's title ends with it).
COMPONENT_NAME = "hotspot_map"

_STATIC = Path(__file__).resolve().parent / "static" / "live_map"


@st.cache_resource(show_spinner=False)
def _component() -> components.CustomComponent:
    # Declared once per process, inside a script run (a declaration needs one to register).
    return components.declare_component(COMPONENT_NAME, path=str(_STATIC))


def show_map(page: str, *, view_key: str, height: int, fit_key: str = "",
             fit_on_change: bool = False) -> None:
    """Draw (or update in place) the map of ``page``.

    Parameters
    ----------
    page : str
        The offline map page (already passed through :func:`hotspots.ui.meeting.map_page`).
    view_key : str
        Which map this is (e.g. ``"hotspots"``): the widget's key and the name its view is
        kept under.
    height : int
        Pixels.
    fit_key : str
        What the view is fitted to (e.g. the area); with ``fit_on_change`` a change of it fits
        the map to the new selection.
    fit_on_change : bool
        Fit the map whenever ``fit_key`` changes (meeting mode); otherwise the view is kept
        unless the new selection lies wholly outside it.
    """
    _component()(html=page, view_key=view_key, height=int(height), fit_key=fit_key,
                 fit_on_change=bool(fit_on_change), key=f"live_map_{view_key}", default=None)
