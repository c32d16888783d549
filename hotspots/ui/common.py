"""What the dashboard's views share (Streamlit).

The page's constants and view names, Markdown escaping and error display, the view header and
the data sources line, the settings' cache key, the map's optional layers, and the cached
loaders more than one view reads: the map's count layers, the SRN graph and the back-test of
every method. Every view imports this module and the Streamlit-free computations
(:mod:`hotspots.ui.compute`, :mod:`hotspots.ui.corridor_compute`); nothing here imports a
view or the page (:mod:`hotspots.ui.dashboard`), so the ui modules form no cycle.

Cached loaders are keyed, as everywhere in the dashboard, by the store fingerprint, the
settings key (:func:`settings_cache_key`) and the parameters; arguments starting with ``_`` are
not hashed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from hotspots import count_symbols, leaflet, registry
from hotspots.config import Settings
from hotspots.models.evaluate import EvaluationResult, evaluate_store
from hotspots.ui import compute, corridor_compute
from hotspots.ui.compute import Params

if TYPE_CHECKING:
    import networkx as nx

#: Height of every view's map, pixels.
MAP_HEIGHT = 660
#: Months the sidebar's period covers by default (the latest ones held).
DEFAULT_MONTHS = 3
HOTSPOTS, CORRIDORS = "Hotspots", "Corridors"
DISRUPTION = "Disruption"  # drawn by hotspots.ui.disruption
EVALUATION = "Evaluation"  # drawn by hotspots.ui.evaluation
#: The views, as the sidebar's radio labels them.
VIEWS = (HOTSPOTS, CORRIDORS, DISRUPTION, EVALUATION)
#: ``persist_state`` of view-specific widgets: they keep their value while another view is
#: shown.
KEEP = "page"

#: The data sources line under every view: what, who, attribution.
SOURCES = (
    ("Crime", "police.uk street-level crime", leaflet.ATTRIBUTION["police_uk"]),
    ("Boundaries", "Office for National Statistics", leaflet.ATTRIBUTION["ons"]),
    ("Force areas and districts", "Office for National Statistics",
     leaflet.ATTRIBUTION["ons_national"]),
    ("SRN roads", "National Highways HAPMS", leaflet.ATTRIBUTION["hapms"]),
    ("SRN junctions", "National Highways", leaflet.ATTRIBUTION["national_highways"]),
    ("Service areas (when shown) and place names", "OpenStreetMap",
     leaflet.ATTRIBUTION["osm"]),
)

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


@dataclass(frozen=True)
class Layers:
    """Optional map layers chosen in the sidebar."""

    counts: bool = False
    neighbours: bool = False
    services: bool = False


# ----------------------------------------------------------------------------------- elements


def md_escape(text: object) -> str:
    """Escape Markdown so that data strings show as typed (no links, images or markup)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def show_error(exc: Exception) -> None:
    """Show a library error in the page (Markdown-escaped: messages can quote data)."""
    st.error(md_escape(str(exc)))


def show_sources() -> None:
    """Draw the data sources line (:data:`SOURCES`) at the foot of a view."""
    st.caption("  \n".join(f"**{md_escape(what)}** ({md_escape(who)}): {md_escape(text)}"
                           for what, who, text in SOURCES))


def show_header(title: str, crimes: str, *parts: str, marking: str = "") -> None:
    """Draw a view's title, its selection line and the protective marking.

    Parameters
    ----------
    title : str
    crimes : str
        The crime selection in words (:meth:`Params.crimes`): bold, first letter capitalised.
    *parts : str
        Further items of the selection line (area, period, ...), separated by " · ".
    marking : str
        Protective marking, as a badge at the right; none when empty.
    """
    head, mark = st.columns([5, 1], vertical_alignment="center")
    with head:
        st.title(title, anchor=False)
        st.markdown("**" + md_escape(f"{crimes[:1].upper()}{crimes[1:]}") + "** · "
                    + " · ".join(md_escape(part) for part in parts))
    with mark:
        if marking:
            st.badge(md_escape(marking), color="gray")


# ----------------------------------------------------------------------------------- caching


def settings_cache_key(settings: Settings) -> str:
    """The settings' part of every cache key (what changes a computed result)."""
    return "|".join(str(v) for v in (settings.store_dir, settings.data_dir, settings.force,
                                     settings.tiles_url, settings.tiles_attribution,
                                     settings.basemap_url,
                                     settings.marking, sorted(settings.crime_groups.items())))


@st.cache_data(show_spinner=False, max_entries=32)
def load_symbol_layers(fingerprint: str, settings_key: str, area: str, start: str, end: str,
                       _settings: Settings, forces: tuple[str, ...] = ()
                       ) -> tuple[count_symbols.CountLayer, ...]:
    """Acquisitive and SOC-linked counts per 1 km square (:func:`compute.symbol_layers`)."""
    params = Params(area=area, start=start, end=end, groups=("acquisitive",), forces=forces)
    return compute.symbol_layers(params, _settings)


@st.cache_data(show_spinner=False, max_entries=32)
def load_neighbour_layer(fingerprint: str, settings_key: str, params: Params,
                         _settings: Settings) -> count_symbols.CountLayer:
    """Neighbouring forces' incidents per 1 km square (:func:`compute.neighbour_layer`)."""
    return compute.neighbour_layer(params, _settings)


def load_count_layers(fingerprint: str, settings_key: str, params: Params, layers: Layers,
                      settings: Settings) -> list[count_symbols.CountLayer]:
    """The count layers a hotspot map draws for the sidebar's layer choices (cached)."""
    counts: list[count_symbols.CountLayer] = []
    if layers.counts:
        counts.extend(load_symbol_layers(fingerprint, settings_key, params.area, params.start,
                                         params.end, settings, params.forces))
    if layers.neighbours:
        counts.append(load_neighbour_layer(fingerprint, settings_key, params, settings))
    return counts


@st.cache_resource(show_spinner="Building the SRN road graph...")
def load_srn_graph(settings_key: str, _settings: Settings, forces: tuple[str, ...] = ()
                   ) -> nx.MultiDiGraph:
    """The SRN graph of the selected forces (default the settings' force), built (or read from
    its cache file) once per process and forces; the Corridors and Disruption views share it."""
    return corridor_compute.corridor_graph(_settings, forces)


@st.cache_data(show_spinner="Back-testing the methods on earlier months (once per selection)...",
               max_entries=64)
def backtest_methods(fingerprint: str, settings_key: str, area: str, groups: tuple[str, ...],
                     types: tuple[str, ...], _settings: Settings, forces: tuple[str, ...] = ()
                     ) -> EvaluationResult:
    """Every registered method's candidates back-tested on the selection's whole history (as
    ``hotspots evaluate``): 3-month windows, 1/2/5/10 % of the area, ``auto`` chosen on earlier
    folds.

    The Hotspots view's ``auto`` bandwidth and the Evaluation view read the same result.
    """
    sel = Params(area=area, start="", end="", groups=groups, types=types)
    return evaluate_store(_settings.store_dir, area=area, settings=_settings,
                          forces=list(forces) or None,
                          methods=registry.backtest_methods(), **sel.selection())
