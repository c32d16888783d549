"""The street basemap on the Leaflet map: roads by class, rail, water, wards, land use, names.

:class:`StreetBasemap` is one folium element. Its script draws the embedded overview (main
roads, place names) and, from zoom 11, fetches the chunks of the view at the zoom's level of
detail from the same server (:mod:`hotspots.street_tiles`; the dashboard serves them), drawn on
canvas. At every move it places the names greedily, most important first, dropping any name
whose box overlaps one already placed or a hotspot's rank label (the rule of
:func:`hotspots.street_labels.place_without_collision`). All label text is escaped in Python
before it reaches the page; the script sets nothing but that text as HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

from branca.element import MacroElement
from folium.template import Template
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.leaflet import ATTRIBUTION, esc
from hotspots.street_tiles import LEVELS, TileSet, overview, tile_set
from hotspots.streets import read_street_layers, streets_dir

__all__ = ["STREET_ATTRIBUTION", "StreetBasemap", "street_basemap"]

#: What the street basemap carries: OpenStreetMap (ODbL) and the ONS wards.
STREET_ATTRIBUTION: str = (f"Streets, places, rail, water, land use {ATTRIBUTION['osm']}; "
                           f"wards: {ATTRIBUTION['ons']}")

_CSS = """
.hs-st span { position: absolute; white-space: nowrap; pointer-events: none;
  transform: translate(-50%, -50%) rotate(var(--a, 0deg)); color: #2f2f2f;
  font-size: 11px; text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff, 0 0 3px #fff; }
.hs-st.k-motorway span, .hs-st.k-trunk span, .hs-st.k-primary span { font-weight: 600; }
.hs-st.k-city span, .hs-st.k-town span { font-size: 15px; font-weight: 700; color: #1d1d1d;
  letter-spacing: 0.02em; }
.hs-st.k-village span, .hs-st.k-suburb span { font-size: 12.5px; font-weight: 600;
  color: #333; }
.hs-st.k-suburb span { text-transform: uppercase; letter-spacing: 0.06em; font-size: 11px;
  color: #555; }
.hs-st.k-hamlet span, .hs-st.k-neighbourhood span, .hs-st.k-locality span {
  font-size: 11px; color: #555; font-style: italic; }
.hs-st.k-ward span { font-size: 10.5px; color: #6b4f86; font-style: italic; }
.hs-st.k-district span { font-size: 13px; font-weight: 700; color: #2b2b2b;
  letter-spacing: 0.02em; }
"""

# Font of each label kind, for measuring the text (kept in step with _CSS).
_FONTS = {"city": "700 15px", "town": "700 15px", "village": "600 12.5px",
          "suburb": "600 11px", "district": "700 13px", "ward": "italic 10.5px",
          "hamlet": "italic 11px", "neighbourhood": "italic 11px", "locality": "italic 11px",
          "motorway": "600 11px", "trunk": "600 11px", "primary": "600 11px"}


class StreetBasemap(MacroElement):
    """The street basemap layer (see the module docstring).

    Parameters
    ----------
    overview : dict
        Embedded main roads and place labels (:func:`hotspots.street_tiles.overview`).
    tiles : TileSet, optional
        The chunks, and ``base_url`` the page fetches ``<level>/<i>_<j>.json`` from; without
        them only the overview is drawn.
    base_url : str
        Same-origin URL of the chunk folder (e.g. ``/component/...``).
    extra_labels : sequence
        Further labels placed with the same rule, e.g. district names ``[text, lon, lat, 0,
        priority, "district", min_zoom]`` (text already escaped).
    """

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function (map) {
        var cfg = {{ this.config|tojson }}, ov = {{ this.overview|tojson }};
        ov.labels = ov.labels.concat(cfg.extra);
        [["hsLand", 355], ["hsStreets", 390], ["hsStreetNames", 590]].forEach(function (p) {
            var pane = map.createPane(p[0]);
            pane.style.zIndex = p[1]; pane.style.pointerEvents = "none";
        });
        var landR = L.canvas({pane: "hsLand", padding: 0.4});
        var roadR = L.canvas({pane: "hsStreets", padding: 0.4});
        var ST = {motorway: ["#e7a66f", "#9c6233", 3.4], trunk: ["#f0c18f", "#a8773f", 3.0],
                  primary: ["#f6dba6", "#a88a52", 2.7], secondary: ["#fbf1c6", "#a39868", 2.4],
                  tertiary: ["#ffffff", "#999999", 2.1], minor: ["#ffffff", "#a3a3a3", 1.6],
                  pedestrian: ["#f1f0ee", "#b3b3b3", 1.3]};
        var ORDER = ["pedestrian", "minor", "tertiary", "secondary", "primary", "trunk",
                     "motorway"];
        var LAND = {residential: "#ecebe6", retail: "#f4e1df", commercial: "#f2e7df",
                    industrial: "#e9e3ed", school: "#f3efd9", college: "#f3efd9",
                    university: "#f3efd9", hospital: "#f3e4e4", cemetery: "#dde9d5",
                    pitch: "#d9ebcf", park: "#d9ebcf", railway: "#e6e3e0",
                    water: "#c9deef"};
        var FONTS = {{ this.fonts|tojson }};
        var cache = {}, shown = {}, shownZoom = null, group = L.layerGroup().addTo(map);
        var names = L.layerGroup().addTo(map), ovLayer = null;
        var measure = document.createElement("canvas").getContext("2d");
        var family = getComputedStyle(map.getContainer()).fontFamily || "sans-serif";
        function decode(a) {
            var out = [], x = 0, y = 0;
            for (var i = 0; i < a.length; i += 2) {
                x += a[i]; y += a[i + 1]; out.push([y / 1e5, x / 1e5]);
            }
            return out;
        }
        function width(cls, z) {
            return Math.max(0.7, Math.min(18, ST[cls][2] * Math.pow(1.5, z - 14)));
        }
        function level(z) {
            for (var i = cfg.levels.length - 1; i >= 0; i--) {
                if (z >= cfg.levels[i].min) { return cfg.levels[i]; }
            }
            return null;
        }
        function draw(data, z) {
            var g = L.layerGroup(), polys = data.polys || {}, lines = data.lines || {};
            Object.keys(polys).forEach(function (cls) {
                g.addLayer(L.polygon(polys[cls].map(function (p) { return p.map(decode); }),
                    {renderer: landR, stroke: false, fillColor: LAND[cls] || "#eeeeee",
                     fillOpacity: 1, interactive: false}));
            });
            if (lines.water) {
                g.addLayer(L.polyline(lines.water.map(decode), {renderer: landR,
                    color: "#8fb6d6", weight: Math.max(1, z - 12), interactive: false}));
            }
            if (lines.ward && z >= 12) {
                g.addLayer(L.polyline(lines.ward.map(decode), {renderer: roadR,
                    color: "#8a6fa3", weight: 1.2, opacity: 0.75, dashArray: "6 4",
                    interactive: false}));
            }
            if (lines.rail) {
                var rl = lines.rail.map(decode);
                g.addLayer(L.polyline(rl, {renderer: roadR, color: "#7a7a7a",
                    weight: z >= 14 ? 3 : 2, interactive: false}));
                if (z >= 13) {
                    g.addLayer(L.polyline(rl, {renderer: roadR, color: "#ffffff",
                        weight: 1.5, dashArray: "6 6", interactive: false}));
                }
            }
            var present = ORDER.filter(function (c) { return lines[c]; });
            var decoded = {};
            present.forEach(function (c) { decoded[c] = lines[c].map(decode); });
            [true, false].forEach(function (casing) {
                present.forEach(function (c) {
                    var w = width(c, z);
                    if (casing && w < 1.5) { return; }
                    g.addLayer(L.polyline(decoded[c], {renderer: roadR, interactive: false,
                        color: casing ? ST[c][1] : ST[c][0], weight: casing ? w + 1.6 : w,
                        lineCap: "round", lineJoin: "round"}));
                });
            });
            return g;
        }
        function cellsInView(lv) {
            var b = map.getBounds().pad(0.25), out = [];
            var i0 = Math.floor(b.getWest() / lv.cw), i1 = Math.floor(b.getEast() / lv.cw);
            var j0 = Math.floor(b.getSouth() / lv.ch), j1 = Math.floor(b.getNorth() / lv.ch);
            for (var i = i0; i <= i1; i++) {
                for (var j = j0; j <= j1; j++) {
                    if (lv.cells[i + "_" + j]) { out.push(lv.name + "/" + i + "_" + j); }
                }
            }
            return out;
        }
        function fetchCell(key) {
            cache[key] = "loading";
            fetch(cfg.base + "/" + key + ".json").then(function (r) {
                if (!r.ok) { throw new Error(r.status); }
                return r.json();
            }).then(function (d) { cache[key] = d; update(); })
              .catch(function () {
                  // Not served (e.g. the page saved and opened from disk): the overview only.
                  cache[key] = null; cfg.base = ""; update();
              });
        }
        function update() {
            var z = Math.round(map.getZoom()), lv = cfg.base ? level(z) : null;
            if (z !== shownZoom) {
                group.clearLayers(); shown = {}; shownZoom = z;
                if (ovLayer) { map.removeLayer(ovLayer); ovLayer = null; }
            }
            if (!lv) {
                if (!ovLayer) { ovLayer = draw(ov, z).addTo(map); }
            } else {
                var want = cellsInView(lv), keep = {};
                want.forEach(function (key) {
                    keep[key] = true;
                    if (cache[key] === undefined) { fetchCell(key); }
                    else if (cache[key] && cache[key] !== "loading" && !shown[key]) {
                        shown[key] = draw(cache[key], z); group.addLayer(shown[key]);
                    }
                });
                Object.keys(shown).forEach(function (key) {
                    if (!keep[key]) { group.removeLayer(shown[key]); delete shown[key]; }
                });
            }
            placeNames(z, lv);
        }
        function blocked() {
            var box = map.getContainer().getBoundingClientRect(), out = [];
            map.getContainer().querySelectorAll(".hs-rank span, .hs-legend").forEach(
                function (el) {
                    var r = el.getBoundingClientRect();
                    if (r.width > 0) {
                        out.push([r.left - box.left - 2, r.top - box.top - 2,
                                  r.right - box.left + 2, r.bottom - box.top + 2]);
                    }
                });
            return out;
        }
        function placeNames(z, lv) {
            names.clearLayers();
            var cand = ov.labels.filter(function (l) {
                return l[6] <= z && !(l[5] === "district" && z >= 12);
            });
            if (lv) {
                Object.keys(shown).forEach(function (key) {
                    cand = cand.concat(cache[key].labels.filter(function (l) {
                        return l[6] <= z; }));
                });
            }
            var size = map.getSize(), taken = blocked(), seen = {};
            // At street zoom the streets come first: the town's name only where it fits.
            function rank(l) {
                return z >= 15 && (l[5] === "town" || l[5] === "city") ? l[4] + 300 : l[4];
            }
            cand.sort(function (a, b) { return rank(a) - rank(b); });
            cand.forEach(function (l) {
                var p = map.latLngToContainerPoint([l[2], l[1]]);
                if (p.x < 0 || p.y < 0 || p.x > size.x || p.y > size.y) { return; }
                var font = FONTS[l[5]] || "11px";
                measure.font = font + " " + family;
                var txt = l[0].replace(/&(amp|lt|gt|quot|#x27);/g, "x");
                // A margin for the letter spacing and halo the canvas does not measure.
                var w = measure.measureText(txt).width * 1.1 + 8;
                var h = parseFloat(font.split(" ").pop()) * 1.3 + 4;
                var a = l[3] * Math.PI / 180, c = Math.abs(Math.cos(a)), s = Math.abs(Math.sin(a));
                var hw = (w * c + h * s) / 2, hh = (w * s + h * c) / 2;
                var bx = [p.x - hw, p.y - hh, p.x + hw, p.y + hh];
                for (var k = 0; k < taken.length; k++) {
                    var t = taken[k];
                    if (bx[0] < t[2] && t[0] < bx[2] && bx[1] < t[3] && t[1] < bx[3]) { return; }
                }
                // One name once per screen region: the same street twice only 250 px apart.
                var near = seen[l[0]] || [];
                for (var n = 0; n < near.length; n++) {
                    if (Math.abs(near[n].x - p.x) + Math.abs(near[n].y - p.y) < 250) { return; }
                }
                near.push(p); seen[l[0]] = near;
                taken.push(bx);
                names.addLayer(L.marker([l[2], l[1]], {pane: "hsStreetNames", interactive: false,
                    keyboard: false, icon: L.divIcon({className: "hs-st k-" + l[5],
                    iconSize: null, html: "<span style='--a:" + (-l[3]) + "deg'>" + l[0]
                    + "</span>"})}));
            });
        }
        map.attributionControl.addAttribution({{ this.attribution|tojson }});
        map.on("zoomend moveend", update);
        map.whenReady(function () { setTimeout(update, 0); });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """)

    def __init__(self, overview: dict, tiles: TileSet | None = None, base_url: str = "",
                 extra_labels: Sequence[Sequence] = ()) -> None:
        super().__init__()
        self._name = "HotspotsStreets"
        levels = []
        if tiles is not None and base_url:
            for lv in LEVELS:
                levels.append({"name": lv.name, "min": lv.min_zoom, "cw": lv.cell_lon,
                               "ch": lv.cell_lat,
                               "cells": dict.fromkeys(tiles.cells.get(lv.name, []), 1)})
        self.config = {"base": base_url.rstrip("/") if levels else "", "levels": levels,
                       "extra": [list(x) for x in extra_labels]}
        self.overview = overview
        self.css = _CSS
        self.fonts = _FONTS
        self.attribution = esc(STREET_ATTRIBUTION)


_OVERVIEW_CACHE: dict[tuple, dict] = {}


def street_basemap(settings: Settings, view: BaseGeometry,
                   extra_labels: Sequence[Sequence] = ()) -> StreetBasemap | None:
    """The street basemap element for a map of ``view``, or ``None`` without street layers.

    Parameters
    ----------
    settings : Settings
        ``<data_dir>/streets`` holds the layers; ``basemap_url`` (set by the dashboard, which
        serves the chunks) lets the page fetch the street detail. Without it the page carries
        the overview only (main roads and place names), e.g. a downloaded map opened offline.
    view : shapely geometry
        The map's area (BNG); the overview covers it and 15 km around.
    extra_labels : sequence
        See :class:`StreetBasemap`.

    Returns
    -------
    StreetBasemap or None
    """
    layers = read_street_layers(settings)
    if layers is None or layers.roads.empty:
        return None
    xmin, ymin, xmax, ymax = view.buffer(15_000).bounds
    key = (str(streets_dir(settings).resolve()), round(xmin, -3), round(ymin, -3),
           round(xmax, -3), round(ymax, -3), len(layers.roads))
    if key not in _OVERVIEW_CACHE:
        _OVERVIEW_CACHE[key] = overview(layers, (xmin, ymin, xmax, ymax))
    tiles = tile_set(layers, settings) if settings.basemap_url else None
    return StreetBasemap(_OVERVIEW_CACHE[key], tiles, settings.basemap_url, extra_labels)
