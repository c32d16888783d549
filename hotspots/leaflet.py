"""What every offline Leaflet map shares: Leaflet itself, the page's elements, the offline page.

:func:`offline_html` inlines Leaflet from the installed ``django-js-lib-leaflet`` package and
refuses any asset from another machine, so the same HTML is the dashboard's map and the
self-contained map download. The folium elements here use plain Leaflet only (no plugins).

Every value embedded in the page's JavaScript is JSON with ``<``, ``>``, ``&`` and ``'``
escaped (Jinja's ``tojson``), so it cannot close a tag or a string; text from data or from the
user goes through :func:`esc` before it reaches HTML.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from hotspots.errors import InputError, ParameterError

__all__ = [
    "ACQUISITIVE_COLOUR",
    "ATTRIBUTION",
    "HOTSPOT_COLOUR",
    "SOC_COLOUR",
    "GeoJsonLayer",
    "LeafletAssets",
    "LegendControl",
    "MapSetup",
    "esc",
    "leaflet_assets",
    "offline_html",
    "remote_references",
]


#: Attribution statements, exactly as the publishers ask for them.
ATTRIBUTION: dict[str, str] = {
    "police_uk": "Contains public sector information licensed under the Open Government Licence "
                 "v3.0.",
    "ons": "Source: Office for National Statistics licensed under the Open Government Licence "
           "v.3.0. Contains OS data © Crown copyright and database right 2016.",
    "ons_national": "Source: Office for National Statistics licensed under the Open Government "
                    "Licence v3.0. Contains OS data © Crown copyright and database right 2024.",
    "os_roads": "Contains OS data © Crown copyright and database right 2024",
    "hapms": "Contains National Highways data © Crown copyright and database right, licensed "
             "under the Open Government Licence v3.0.",
    "national_highways": "Contains National Highways data © Crown copyright, licensed under OGL "
                         "v3.0. SRN graph by T. Strain, R.E. Wilson, R. Littleworth, "
                         "Transportation Research Record 2677(1), 2023",
    "osm": "© OpenStreetMap contributors, ODbL",
}


#: Okabe-Ito colours (safe for the common colour-vision deficiencies).
ACQUISITIVE_COLOUR = "#0072B2"  # blue


SOC_COLOUR = "#D55E00"  # vermillion


HOTSPOT_COLOUR = "#000000"


_LEAFLET_DIR = ("static", "js_lib_leaflet")


_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def esc(value: Any) -> str:
    """Escape text for HTML, quotes included."""
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class LeafletAssets:
    """Leaflet's JavaScript, CSS (images inlined) and licence text, read from the installation."""

    js: str
    css: str
    licence: str
    version: str


@lru_cache(maxsize=1)
def leaflet_assets() -> LeafletAssets:
    """Read Leaflet from the installed ``django-js-lib-leaflet`` package.

    The package ships Leaflet's distribution files and has no Django dependency at import time.
    The CSS's three images are inlined as ``data:`` URLs and its comments (which hold URLs) are
    dropped; the source-map comment is dropped from the script.

    Returns
    -------
    LeafletAssets

    Raises
    ------
    InputError
        If the package is not installed or its files are missing.
    """
    try:
        root = resources.files("js_lib_leaflet").joinpath(*_LEAFLET_DIR)
        js = root.joinpath("leaflet.js").read_text("utf-8")
        css = root.joinpath("leaflet.css").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise InputError(
            "Leaflet not found: install the django-js-lib-leaflet package "
            f"(pip install django-js-lib-leaflet) ({exc})") from None

    def inline(match: re.Match) -> str:
        name = match.group(1)
        data = root.joinpath("images", name).read_bytes()
        return f'url("data:image/png;base64,{base64.b64encode(data).decode("ascii")}")'

    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"url\(\s*['\"]?images/([\w.-]+\.png)['\"]?\s*\)", inline, css)
    js = re.sub(r"^//# sourceMappingURL=.*$", "", js, flags=re.M).rstrip() + "\n"
    if "</script" in js.lower() or "</style" in css.lower():
        raise InputError("the installed Leaflet files cannot be inlined (closing tag inside)")
    try:
        dist = metadata.distribution("django-js-lib-leaflet")
        version = dist.version
        licence = next((f.read_text(encoding="utf-8") for f in dist.files or ()
                        if Path(str(f)).name.upper().startswith("LICEN")), None)
    except metadata.PackageNotFoundError:
        version, licence = "unknown", None
    if not licence:
        licence = ("Leaflet, BSD 2-Clause License. Copyright (c) 2010-2024, Volodymyr Agafonkin; "
                   "Copyright (c) 2010-2011, CloudMade. All rights reserved.")
    return LeafletAssets(js=js, css=css, licence=licence.strip(), version=version)


class GeoJsonLayer(folium.map.Layer):
    """A Leaflet GeoJSON layer whose features carry pre-escaped ``popup``/``tooltip``/``label``.

    Points are drawn as circle markers (``point="circle"``) or text labels (``point="label"``).
    ``feature_style`` names the style options (e.g. ``color``, ``dashArray``, ``radius``) that a
    feature may set for itself in ``properties.style``; the others come from ``style`` /
    ``point_style``.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        {%- if this.source is none %}
        var {{ this.get_name() }}_data = {{ this.data|tojson }};
        {%- endif %}
        {%- if this.feature_style %}
        function {{ this.get_name() }}_own(base, f) {
            var s = Object.assign({}, base), own = (f.properties || {}).style || {};
            {{ this.feature_style|tojson }}.forEach(function (k) {
                if (k in own) { s[k] = own[k]; }
            });
            return s;
        }
        {%- endif %}
        var {{ this.get_name() }} = L.geoJSON({{ (this.source or this).get_name() }}_data, {
            {%- if this.feature_style %}
            style: function (f) { return {{ this.get_name() }}_own({{ this.style|tojson }}, f); },
            {%- else %}
            style: function (f) { return {{ this.style|tojson }}; },
            {%- endif %}
            pointToLayer: function (f, latlng) {
            {%- if this.point == "label" %}
                var p = f.properties || {};
                return L.marker(latlng, {
                    icon: L.divIcon({className: {{ this.label_class|tojson }},
                                     html: "<span>" + (p.label || "") + "</span>",
                                     iconSize: null}),
                    interactive: !!p.tooltip, keyboard: false});
            {%- elif this.feature_style %}
                return L.circleMarker(latlng,
                                      {{ this.get_name() }}_own({{ this.point_style|tojson }}, f));
            {%- else %}
                return L.circleMarker(latlng, {{ this.point_style|tojson }});
            {%- endif %}
            },
            onEachFeature: function (f, layer) {
                var p = f.properties || {};
                if (p.popup) { layer.bindPopup(p.popup, {maxWidth: 340}); }
                if (p.tooltip) { layer.bindTooltip(p.tooltip, {sticky: true}); }
            },
            interactive: {{ this.interactive|tojson }},
            {%- if this.pane %}
            pane: {{ this.pane|tojson }},
            {%- endif %}
            attribution: {{ this.attribution|tojson }}
        });
        {% endmacro %}
        """)

    def __init__(self, data: dict | GeoJsonLayer, *, name: str,
                 style: Mapping[str, Any] | None = None, point: str = "circle",
                 point_style: Mapping[str, Any] | None = None, label_class: str = "hs-label",
                 attribution: str = "", interactive: bool = True, show: bool = True,
                 control: bool = True, pane: str = "", feature_style: Sequence[str] = ()
                 ) -> None:
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "HotspotsGeoJson"
        for key in feature_style:
            if not re.fullmatch(r"[A-Za-z]+", key):
                raise ParameterError(f"style option {key!r} is not a Leaflet option name")
        self.feature_style = list(feature_style)
        # Another layer as ``data``: draw its features again (added earlier) without a copy.
        self.source = data if isinstance(data, GeoJsonLayer) else None
        self.data = None if self.source is not None else data
        self.style = dict(style or {})
        self.point = point
        self.point_style = dict(point_style or {})
        self.label_class = label_class
        self.attribution = attribution
        self.interactive = interactive
        self.pane = pane


class LegendControl(MacroElement):
    """The legend as a Leaflet control (bottom left), HTML built by :func:`legend_html`."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "hs-legend");
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """)

    def __init__(self, html_text: str) -> None:
        super().__init__()
        self._name = "HotspotsLegend"
        self.html = html_text


class MapSetup(MacroElement):
    """Attribution prefix without a link (nothing on the page points off the machine), and the
    map's zoom range when given."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.setPrefix({{ this.prefix|tojson }});
        {%- if this.zooms %}
        {{ this._parent.get_name() }}.setMinZoom({{ this.zooms[0]|tojson }});
        {{ this._parent.get_name() }}.setMaxZoom({{ this.zooms[1]|tojson }});
        {%- endif %}
        {% endmacro %}
        """)

    def __init__(self, prefix: str, zooms: tuple[int, int] | None = None) -> None:
        super().__init__()
        self._name = "HotspotsSetup"
        self.prefix = prefix
        self.zooms = list(zooms) if zooms else None


def _walk(element: Element) -> Iterable[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


_REMOTE_REFS = (
    # <script src>, <img src>, <iframe src>, ...: anything with a src attribute is fetched
    re.compile(r"""\bsrc\s*=\s*\\?["']?(?:https?:)?//([^/"'\\\s)>]+)""", re.I),
    # <link href> (stylesheets, icons, preloads); <a href> is a link, not a fetch
    re.compile(r"""<link\b[^>]*?\bhref\s*=\s*["']?(?:https?:)?//([^/"'\s)>]+)""", re.I),
    # CSS url() and @import
    re.compile(r"""url\(\s*["']?(?:https?:)?//([^/"'\s)>]+)""", re.I),
    re.compile(r"""@import\s+(?:url\()?\s*["']?(?:https?:)?//([^/"'\s)>]+)""", re.I),
)


def remote_references(page: str) -> list[str]:
    """Return the hosts of resources a page would load from off the machine.

    Looks at ``src=``, ``href=``, CSS ``url()`` and ``@import`` references (absolute and
    protocol-relative); references to localhost are allowed.

    Parameters
    ----------
    page : str
        HTML text.

    Returns
    -------
    list of str
        Offending hosts (empty when the page is self-contained).
    """
    hosts = []
    for pattern in _REMOTE_REFS:
        for m in pattern.finditer(page):
            netloc = m.group(1).lower().rsplit("@", 1)[-1]
            host = netloc.split("]")[0] + "]" if netloc.startswith("[") else netloc.split(":")[0]
            if host not in _LOCAL_HOSTS:
                hosts.append(host)
    return hosts


def offline_html(m: folium.Map) -> str:
    """Render a map to one self-contained HTML page: Leaflet inlined, no CDN reference.

    folium links Leaflet, jQuery, Bootstrap and Font Awesome from public CDNs; with no network
    such a map does not render at all. Here the map's CDN lists are emptied and Leaflet's own
    files, read from the installed ``django-js-lib-leaflet`` package, are inlined (with Leaflet's
    BSD-2-Clause licence text). Elements that need any other external script are refused.

    Parameters
    ----------
    m : folium.Map

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    ParameterError
        If an element needs a script or stylesheet from elsewhere, or the page would still
        reference a remote resource (other than a configured tile server, whose tiles are
        requested by Leaflet, not by the page).
    """
    assets = leaflet_assets()
    m.default_js = []
    m.default_css = []
    for el in _walk(m):
        if isinstance(el, JSCSSMixin) and el is not m and (el.default_js or el.default_css):
            names = ", ".join(n for n, _ in [*el.default_js, *el.default_css])
            raise ParameterError(f"map element {type(el).__name__} needs external files "
                                 f"({names}); it cannot be drawn offline")
    licence = assets.licence.replace("*/", "* /")
    inline = (f"<style>{assets.css}</style>\n"
              f"<script>/*! Leaflet {esc(assets.version)}, inlined from the installed "
              f"django-js-lib-leaflet package.\n{licence}\n*/\n{assets.js}</script>")
    m.get_root().header.add_child(Element(inline), name="hs_leaflet_inline", index=0)
    page = m.get_root().render()
    bad = remote_references(page)
    if bad:
        raise ParameterError("the map would load files from " + ", ".join(sorted(set(bad)))
                             + "; it must work offline")
    return page
