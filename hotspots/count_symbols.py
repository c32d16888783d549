"""Incidents counted per grid square and drawn as one sized circle or diamond per square."""

from __future__ import annotations

import re
from dataclasses import dataclass

import folium
import numpy as np
from folium.template import Template

from hotspots.errors import ParameterError
from hotspots.leaflet import ACQUISITIVE_COLOUR, ATTRIBUTION, esc
from hotspots.spatial.crs import to_wgs84
from hotspots.wording import format_metres

__all__ = ["COUNT_PANE", "CountLayer", "CountSymbols", "count_layer"]

#: The symbols' own pane: above the hotspot outlines, below the labels.
COUNT_PANE = "hsCounts"


@dataclass(frozen=True)
class CountLayer:
    """Incidents counted per grid square, drawn as one sized symbol per occupied square.

    Attributes
    ----------
    name : str
        Layer name in the layer control.
    points : tuple of (lat, lon, count)
    cell : float
        Square size, metres.
    shape : {"circle", "diamond"}
    colour : str
        CSS colour.
    noun : str
        What is counted, e.g. ``"acquisitive"`` (tooltip: "12 acquisitive incidents ...").
    """

    name: str
    points: tuple[tuple[float, float, int], ...]
    cell: float
    shape: str = "circle"
    colour: str = ACQUISITIVE_COLOUR
    noun: str = ""
    total: int = 0
    attribution: str = ATTRIBUTION["police_uk"]

    @property
    def max_count(self) -> int:
        """Largest count in one square (0 when empty)."""
        return max((p[2] for p in self.points), default=0)


def count_layer(x: np.ndarray, y: np.ndarray, *, name: str, cell: float = 500.0,
                shape: str = "circle", colour: str = ACQUISITIVE_COLOUR, noun: str = ""
                ) -> CountLayer:
    """Count incidents per ``cell``-metre grid square (aligned to the national grid).

    Parameters
    ----------
    x, y : numpy.ndarray
        BNG coordinates, metres; NaN rows (no location) are ignored.
    name : str
        Layer name.
    cell : float
        Square size, metres.
    shape : {"circle", "diamond"}
    colour : str
    noun : str
        Adjective for the tooltip ("acquisitive", "SOC-linked").

    Returns
    -------
    CountLayer
    """
    if shape not in ("circle", "diamond"):
        raise ParameterError(f"symbol shape {shape!r}: choose circle or diamond")
    if not cell > 0:
        raise ParameterError(f"count square size {cell!r} must be greater than zero")
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return CountLayer(name=name, points=(), cell=cell, shape=shape, colour=colour, noun=noun)
    ix = np.floor(x[ok] / cell).astype(np.int64)
    iy = np.floor(y[ok] / cell).astype(np.int64)
    keys, counts = np.unique(np.stack([ix, iy], axis=1), axis=0, return_counts=True)
    cx = (keys[:, 0] + 0.5) * cell
    cy = (keys[:, 1] + 0.5) * cell
    lon, lat = to_wgs84(cx, cy)
    order = np.argsort(-counts, kind="stable")  # draw big ones first, small ones stay on top
    pts = tuple((round(float(lat[i]), 5), round(float(lon[i]), 5), int(counts[i]))
                for i in order)
    return CountLayer(name=name, points=pts, cell=float(cell), shape=shape, colour=colour,
                      noun=noun, total=int(ok.sum()))


class CountSymbols(folium.map.Layer):
    """Sized circles or diamonds, one per grid square, from a compact ``[lat, lon, n]`` array."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup([],
            {attribution: {{ this.attribution|tojson }}});
        (function (group, pts, maxN, shape, colour, noun) {
            var rMin = 2.5, rMax = 11, pane = {{ this.pane|tojson }};
            pts.forEach(function (p) {
                var r = rMin + (rMax - rMin) * Math.sqrt(p[2] / maxN);
                var tip = p[2] + " " + noun + (p[2] === 1 ? " incident" : " incidents")
                          + " in this {{ this.cell_label }} square";
                var m;
                if (shape === "diamond") {
                    var s = Math.round(2 * r);
                    m = L.marker([p[0], p[1]], {keyboard: false, pane: pane, icon: L.divIcon({
                        className: "hs-dia", iconSize: [s, s],
                        html: "<div style='background:" + colour + "'></div>"})});
                } else {
                    m = L.circleMarker([p[0], p[1]], {radius: r, color: "#ffffff", weight: 1,
                        fillColor: colour, fillOpacity: 0.85, className: "hs-circ",
                        pane: pane});
                }
                m.bindTooltip(tip);
                group.addLayer(m);
            });
        })({{ this.get_name() }}, {{ this.points|tojson }}, {{ this.max_count|tojson }},
           {{ this.shape|tojson }}, {{ this.colour|tojson }}, {{ this.noun|tojson }});
        {% endmacro %}
        """)

    def __init__(self, layer: CountLayer, *, max_count: int | None = None,
                 show: bool = True) -> None:
        super().__init__(name=esc(layer.name), overlay=True, control=True, show=show)
        self._name = "HotspotsCounts"
        self.points = [list(p) for p in layer.points]
        self.max_count = max(layer.max_count if max_count is None else max_count, 1)
        self.shape = layer.shape
        if not re.fullmatch(r"#[0-9A-Fa-f]{3,8}", layer.colour):
            raise ParameterError(f"symbol colour {layer.colour!r} must be a #RRGGBB colour")
        self.colour = layer.colour
        self.noun = esc(layer.noun)
        self.cell_label = esc(format_metres(layer.cell))
        self.attribution = esc(layer.attribution)
        self.pane = COUNT_PANE
