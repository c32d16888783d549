"""Folium maps of hotspots that work with no network: Leaflet is inlined from the installation.

Every function here is pure (no Streamlit): the dashboard renders :func:`offline_html` in an
iframe, and an export can write the same string to a self-contained ``.html`` file.

Layers, bottom to top: a plain background (or the configured tile server), neighbouring districts
(faint, for orientation), the force area and its districts, the kernel density surface as a
semi-transparent PNG image, motorways and SRN junctions, hotspot polygons with popups, and
aggregated counts of acquisitive (circles) and SOC-linked (diamonds) incidents. A legend control
states the method and its parameters; the attribution control carries each source's statement.

:func:`corridor_map` draws on the same base the Strategic Road Network coloured by network kernel
density (runs of equal colour class, approximate alignments dashed) and the SRN junctions as
circles sized by the incidents around them.

Every string that comes from data or from the user is passed through :func:`html.escape` before it
reaches HTML, and every value embedded in the page's JavaScript is JSON with ``<``, ``>``, ``&``
and ``'`` escaped (Jinja's ``tojson``), so neither can close a tag or a string.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Protocol

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings, load_settings
from hotspots.errors import InputError, ParameterError
from hotspots.spatial.boundaries import load_boundary
from hotspots.spatial.crs import BNG, WGS84, to_wgs84

__all__ = [
    "ACQUISITIVE_COLOUR",
    "APPROXIMATE_DASH",
    "ATTRIBUTION",
    "CLIP_PERCENTILE",
    "HOTSPOT_COLOUR",
    "NETWORK_CMAP",
    "SOC_COLOUR",
    "BaseLayers",
    "CorridorLines",
    "CountLayer",
    "DensityImage",
    "JunctionMarkers",
    "LeafletAssets",
    "Legend",
    "NetworkClasses",
    "bandwidth_rule_label",
    "build_map",
    "corridor_lines",
    "corridor_map",
    "count_layer",
    "crimes_label",
    "density_image",
    "format_metres",
    "format_share",
    "format_share_1dp",
    "hotspot_features",
    "hotspot_popup_html",
    "junction_markers",
    "junction_popup_html",
    "leaflet_assets",
    "legend_html",
    "load_base_layers",
    "method_statement",
    "missing_months_label",
    "month_range",
    "network_classes",
    "network_statement",
    "offline_html",
    "period_label",
    "remote_references",
]

#: Attribution statements, exactly as the publishers ask for them.
ATTRIBUTION: dict[str, str] = {
    "police_uk": "Contains public sector information licensed under the Open Government Licence "
                 "v3.0.",
    "ons": "Source: Office for National Statistics licensed under the Open Government Licence "
           "v.3.0. Contains OS data © Crown copyright and database right 2016.",
    "os_roads": "Contains OS data © Crown copyright and database right 2024",
    "national_highways": "Contains National Highways data © Crown copyright, licensed under OGL "
                         "v3.0. SRN graph by T. Strain, R.E. Wilson, R. Littleworth, "
                         "Transportation Research Record 2677(1), 2023",
    "osm": "© OpenStreetMap contributors, ODbL",
}

#: Okabe-Ito colours (safe for the common colour-vision deficiencies).
ACQUISITIVE_COLOUR = "#0072B2"  # blue
SOC_COLOUR = "#D55E00"  # vermillion
HOTSPOT_COLOUR = "#000000"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MERCATOR = "EPSG:3857"
_LEAFLET_DIR = ("static", "js_lib_leaflet")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_BASE_PANE = "hsBase"
_COUNT_PANE = "hsCounts"


class GridLike(Protocol):
    """A raster grid: lower-left corner ``x0``, ``y0`` (BNG metres), square ``cell``, shape."""

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int


# --------------------------------------------------------------------------------------------
# Offline Leaflet
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------


def period_label(start: str, end: str) -> str:
    """Return a month range for people: ``"Jan–Mar 2025"``, ``"Nov 2024–Feb 2025"``, ``"Mar 2025"``.

    Parameters
    ----------
    start, end : str
        First and last month, ``YYYY-MM``.
    """
    (y0, m0), (y1, m1) = _ym(start), _ym(end)
    if (y0, m0) == (y1, m1):
        return f"{_MONTHS[m0 - 1]} {y0}"
    if y0 == y1:
        return f"{_MONTHS[m0 - 1]}–{_MONTHS[m1 - 1]} {y0}"
    return f"{_MONTHS[m0 - 1]} {y0}–{_MONTHS[m1 - 1]} {y1}"


def _ym(month: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", str(month))
    if not m:
        raise ParameterError(f"{month!r} is not a month in the form YYYY-MM")
    return int(m.group(1)), int(m.group(2))


def month_range(start: str, end: str) -> list[str]:
    """Return every calendar month from ``start`` to ``end`` inclusive, as ``YYYY-MM``."""
    (y, m), last = _ym(start), _ym(end)
    out = []
    while (y, m) <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def missing_months_label(missing: Sequence[str]) -> str:
    """Summarise missing months as runs, e.g. ``"May–Dec 2024"`` (empty string if none)."""
    if not missing:
        return ""
    months = sorted(missing)
    runs: list[list[str]] = [[months[0]]]
    for month in months[1:]:
        y, m = _ym(runs[-1][-1])
        nxt = f"{y + (m == 12):04d}-{1 if m == 12 else m + 1:02d}"
        if month == nxt:
            runs[-1].append(month)
        else:
            runs.append([month])
    return ", ".join(period_label(r[0], r[-1]) for r in runs)


def crimes_label(groups: Sequence[str] | None = None, types: Sequence[str] | None = None) -> str:
    """Describe a crime selection in words, e.g. ``"acquisitive crime"``, ``"Burglary"``.

    Parameters
    ----------
    groups : sequence of str, optional
        Crime groups (``acquisitive``, ``soc``, ``violence``, ``asb``, ``other``).
    types : sequence of str, optional
        Crime types; when given they describe the selection on their own.
    """
    names = {"acquisitive": "acquisitive", "soc": "SOC-linked", "violence": "violence",
             "asb": "anti-social behaviour", "other": "other"}
    if types:
        items = list(types)
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    if not groups or set(groups) >= set(names):
        return "all crime"
    words = [names.get(g, g) for g in groups]
    joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return joined + (" crime" if words[-1] not in ("anti-social behaviour",) else "")


def format_metres(value: float) -> str:
    """Format a distance: ``"500 m"``, ``"1,250 m"``, ``"1 km"`` (whole kilometres only)."""
    if value >= 1000 and float(value) % 1000 == 0:
        return f"{value / 1000:,.0f} km"
    return f"{value:,.0f} m"


def format_share(value: float) -> str:
    """Format a share as a percentage: 0.05 -> ``"5%"``, 0.025 -> ``"2.5%"``."""
    pct = float(value) * 100
    return f"{pct:.0f}%" if abs(pct - round(pct)) < 1e-9 else f"{pct:.1f}%"


def format_share_1dp(value: float) -> str:
    """Format a share as a percentage with one decimal: 0.2461 -> ``"24.6%"``."""
    return f"{float(value) * 100:.1f}%"


def bandwidth_rule_label(rule: str) -> str:
    """Name a bandwidth rule for people: ``fixed``, ``ArcGIS Pro rule``, ..."""
    return {"fixed": "fixed", "arcgis": "ArcGIS Pro rule", "scott": "Scott's rule",
            "silverman": "Silverman's rule"}.get(str(rule).lower(), str(rule))


def _several(bandwidth: Any) -> bool:
    """Whether a bandwidth is several metres (the multi-scale KDE), not one value or a rule."""
    return isinstance(bandwidth, Sequence) and not isinstance(bandwidth, (str, bytes))


def _metres_list(values: Sequence[float]) -> str:
    parts = [f"{float(v):,.0f}" for v in values]
    return (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + " m"


def format_bandwidth(bandwidth: float | Sequence[float]) -> str:
    """Say a bandwidth: ``"500 m"``, or for a multi-scale KDE ``"multi-scale (mean of 300, 500,
    750 and 1,000 m)"``."""
    if not _several(bandwidth):
        return format_metres(float(bandwidth))  # type: ignore[arg-type]
    return f"multi-scale (mean of {_metres_list(bandwidth)})"


def bandwidth_label(bandwidth: float | Sequence[float]) -> str:
    """The back-test's label for a KDE: ``"KDE 500 m"`` or ``"KDE multi-scale 300-1000 m"``."""
    if not _several(bandwidth):
        return f"KDE {float(bandwidth):g} m"  # type: ignore[arg-type]
    bws = [float(b) for b in bandwidth]
    return f"KDE multi-scale {min(bws):g}-{max(bws):g} m"


def method_statement(*, kernel: str, bandwidth: float | Sequence[float], bandwidth_rule: str,
                     cell: float,
                     top: float, start: str, end: str, crimes: str,
                     missing: Sequence[str] = ()) -> str:
    """Return the one-line statement of method and parameters printed in the legend.

    Example: ``"Kernel density, quartic kernel, bandwidth 500 m (fixed), 100 m cells, top 5% of
    area, Jan–Mar 2025, acquisitive crime; incidents per km²"``.

    Parameters
    ----------
    kernel : str
        Kernel name, e.g. ``"quartic"``.
    bandwidth : float or sequence of float
        Bandwidth used, metres; several for the multi-scale KDE (each surface scaled to the
        same total, then averaged).
    bandwidth_rule : str
        ``"fixed"`` or the rule that chose it (e.g. ``"arcgis"``).
    cell : float
        Cell size, metres.
    top : float
        Share of the study area marked as hotspot (0..1).
    start, end : str
        Period, ``YYYY-MM``.
    crimes : str
        The crime selection in words (see :func:`crimes_label`).
    missing : sequence of str
        Months inside the period with no published data; stated when present.

    Returns
    -------
    str
        Plain text (escape it before putting it into HTML).
    """
    period = period_label(start, end)
    if missing:
        period += f" (no data for {missing_months_label(missing)})"
    if _several(bandwidth):
        bw = (f"multi-scale: mean of the bandwidths {_metres_list(bandwidth)}, each surface "
              "scaled to the same total")
    else:
        bw = f"bandwidth {format_metres(float(bandwidth))}"
    if bandwidth_rule != "multi-scale":  # already said by the bandwidths
        bw += f" ({bandwidth_rule_label(bandwidth_rule)})"
    return (f"Kernel density, {kernel} kernel, {bw}, {format_metres(cell)} cells, "
            f"top {format_share(top)} of area, {period}, {crimes}; incidents per km²")


# --------------------------------------------------------------------------------------------
# Density surface as an image
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DensityImage:
    """A density surface coloured and re-projected for a Leaflet image overlay.

    Attributes
    ----------
    url : str
        PNG ``data:`` URL, north up, aligned to Web Mercator (what Leaflet draws in).
    bounds : tuple
        ``((south, west), (north, east))`` in degrees.
    vmax : float
        Density at the top of the colour scale, incidents per km².
    peak : float
        Largest density in the image; above ``vmax`` when the scale is clipped.
    cmap : str
        Matplotlib colour map name.
    gamma : float
        Colour position = (density / vmax) ** gamma.
    max_alpha : float
        Opacity at the top of the scale.
    shape : tuple of int
        Image rows, columns.
    """

    url: str
    bounds: tuple[tuple[float, float], tuple[float, float]]
    vmax: float
    peak: float = 0.0
    cmap: str = "viridis_r"
    gamma: float = 0.5
    max_alpha: float = 0.85
    shape: tuple[int, int] = (0, 0)

    def colour_stops(self, n: int = 11) -> list[str]:
        """Return ``n`` CSS ``rgba()`` colours from the bottom to the top of the scale."""
        t = np.linspace(0.0, 1.0, n)
        rgba = _colourise_t(t, self.cmap, self.max_alpha)
        return [f"rgba({r},{g},{b},{a / 255:.2f})" for r, g, b, a in rgba.tolist()]

    def tick_values(self, positions: Sequence[float] = (0.0, 0.5, 1.0)) -> list[float]:
        """Return the densities at the given positions (0..1) along the colour bar."""
        return [self.vmax * (p ** (1.0 / self.gamma)) for p in positions]

    @property
    def clipped(self) -> bool:
        """Whether densities above ``vmax`` exist (they take the top colour)."""
        return self.peak > self.vmax * (1 + 1e-9)


#: Default top of the colour scale: this percentile of the positive densities, so that a few
#: extreme cells do not wash out every other hotspot (denser cells take the top colour).
CLIP_PERCENTILE = 99.0
_ALPHA_RAMP = 0.1  # colour positions below this fade towards transparent


def _colourise_t(t: np.ndarray, cmap: str, max_alpha: float) -> np.ndarray:
    from matplotlib import colormaps

    t = np.asarray(t, float)
    valid = np.isfinite(t) & (t > 0)
    tc = np.clip(np.where(valid, t, 0.0), 0.0, 1.0)
    rgba = colormaps[cmap](tc)
    rgba[..., 3] = np.where(valid, max_alpha * np.clip(tc / _ALPHA_RAMP, 0.0, 1.0), 0.0)
    return np.round(rgba * 255).astype(np.uint8)


@lru_cache(maxsize=4)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _bilinear(lattice: np.ndarray, li: np.ndarray, lj: np.ndarray, n_i: int, n_j: int
              ) -> np.ndarray:
    """Bilinearly interpolate values given on lattice rows ``li`` and columns ``lj``."""
    ii, jj = np.arange(n_i), np.arange(n_j)
    a = np.clip(np.searchsorted(li, ii, side="right") - 1, 0, len(li) - 2)
    b = np.clip(np.searchsorted(lj, jj, side="right") - 1, 0, len(lj) - 2)
    ti = ((ii - li[a]) / (li[a + 1] - li[a]))[:, None]
    tj = ((jj - lj[b]) / (lj[b + 1] - lj[b]))[None, :]
    top = lattice[a][:, b] * (1 - tj) + lattice[a][:, b + 1] * tj
    bottom = lattice[a + 1][:, b] * (1 - tj) + lattice[a + 1][:, b + 1] * tj
    return top * (1 - ti) + bottom * ti


def density_image(values: np.ndarray, grid: GridLike, *, mask: BaseGeometry | None = None,
                  vmax: float | None = None, cmap: str = "viridis_r", gamma: float = 0.5,
                  max_alpha: float = 0.85, step: int = 8) -> DensityImage:
    """Colour a density surface and re-project it to Web Mercator for a Leaflet image overlay.

    Leaflet stretches an image linearly between two corners in Web Mercator, but the surface is
    on the British National Grid, which is rotated against it (about 1° in Warwickshire: hundreds
    of metres at the edge of the county). Each output pixel is therefore looked up in the BNG
    grid (nearest cell), with the BNG position of every ``step``-th pixel computed exactly and
    the rest interpolated (errors well below a metre).

    Parameters
    ----------
    values : numpy.ndarray
        Density, shape ``(grid.ny, grid.nx)``, row 0 = south, incidents per km².
    grid : GridLike
        The surface's grid (lower-left corner ``x0``, ``y0``; ``cell`` metres).
    mask : shapely geometry, optional
        Study area in BNG; cells whose centre is outside are transparent.
    vmax : float, optional
        Density at the top of the colour scale. Default: the :data:`CLIP_PERCENTILE`
        percentile of the positive densities in the mask; denser cells take the top colour and
        the legend marks the top tick with "+".
    cmap : str
        Matplotlib colour map; the default ``viridis_r`` is perceptually uniform and safe for
        colour-vision deficiencies (dark = dense, on a light map).
    gamma : float
        Colour position = (density / vmax) ** gamma; 0.5 is a square-root scale.
    max_alpha : float
        Opacity at the top of the scale; low densities fade to transparent.
    step : int
        Spacing of the exactly projected lattice, pixels.

    Returns
    -------
    DensityImage
    """
    from PIL import Image

    vals = np.asarray(values, dtype=float)
    if vals.shape != (grid.ny, grid.nx):
        raise ParameterError(f"surface shape {vals.shape} does not match its grid "
                             f"({grid.ny} rows, {grid.nx} columns)")
    if mask is not None:
        xs = grid.x0 + (np.arange(grid.nx) + 0.5) * grid.cell
        ys = grid.y0 + (np.arange(grid.ny) + 0.5) * grid.cell
        own = shapely.from_wkb(shapely.to_wkb(mask))  # prepare a copy, not the caller's
        shapely.prepare(own)
        inside = shapely.contains_xy(own, xs[None, :], ys[:, None])
        vals = np.where(inside, vals, np.nan)
    finite = vals[np.isfinite(vals)]
    peak = float(finite.max()) if finite.size else 0.0
    if vmax is None:
        positive = finite[finite > 0]
        vmax = float(np.percentile(positive, CLIP_PERCENTILE)) if positive.size else 0.0
    vmax = float(vmax)

    x1, y1 = grid.x0 + grid.nx * grid.cell, grid.y0 + grid.ny * grid.cell
    west, south, east, north = _transformer(BNG, _MERCATOR).transform_bounds(
        grid.x0, grid.y0, x1, y1, densify_pts=21)
    scale = 1.0 / math.cos(math.radians(_transformer(BNG, WGS84).transform(
        (grid.x0 + x1) / 2, (grid.y0 + y1) / 2)[1]))
    px = grid.cell * scale
    ncol = max(1, math.ceil((east - west) / px))
    nrow = max(1, math.ceil((north - south) / px))
    east, south = west + ncol * px, north - nrow * px

    li = np.unique(np.r_[np.arange(0, nrow, step), nrow - 1])
    lj = np.unique(np.r_[np.arange(0, ncol, step), ncol - 1])
    if len(li) < 2:
        li = np.array([0, max(nrow - 1, 1)])
    if len(lj) < 2:
        lj = np.array([0, max(ncol - 1, 1)])
    mx = west + (lj + 0.5) * px
    my = north - (li + 0.5) * px
    mxx, myy = np.meshgrid(mx, my)
    bx, by = _transformer(_MERCATOR, BNG).transform(mxx, myy)
    bx = _bilinear(np.asarray(bx), li, lj, nrow, ncol)
    by = _bilinear(np.asarray(by), li, lj, nrow, ncol)
    col = np.floor((bx - grid.x0) / grid.cell).astype(np.int64)
    row = np.floor((by - grid.y0) / grid.cell).astype(np.int64)
    ok = (col >= 0) & (col < grid.nx) & (row >= 0) & (row < grid.ny)
    out = np.full((nrow, ncol), np.nan)
    out[ok] = vals[row[ok], col[ok]]

    t = np.minimum(out / vmax, 1.0) ** gamma if vmax > 0 else np.full_like(out, np.nan)
    rgba = _colourise_t(t, cmap, max_alpha)
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", compress_level=6)
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    to_deg = _transformer(_MERCATOR, WGS84)
    w, s = to_deg.transform(west, south)
    e, n = to_deg.transform(east, north)
    return DensityImage(url=url, bounds=((float(s), float(w)), (float(n), float(e))), vmax=vmax,
                        peak=peak, cmap=cmap, gamma=gamma, max_alpha=max_alpha, shape=(nrow, ncol))


# --------------------------------------------------------------------------------------------
# GeoJSON for Leaflet
# --------------------------------------------------------------------------------------------


def _round_coords(obj: Any, ndigits: int) -> Any:
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), ndigits) for v in obj]
        return [_round_coords(o, ndigits) for o in obj]
    return obj


def _feature(geom: BaseGeometry, props: Mapping[str, Any], ndigits: int = 5) -> dict:
    g = mapping(geom)
    return {"type": "Feature", "properties": dict(props),
            "geometry": {"type": g["type"], "coordinates": _round_coords(g["coordinates"],
                                                                         ndigits)}}


def _collection(features: Iterable[dict]) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def _drop_holes(geom: BaseGeometry, min_area: float) -> BaseGeometry:
    """Remove interior rings smaller than ``min_area`` (slivers left by dissolving LSOAs)."""
    if geom.geom_type == "Polygon":
        return Polygon(geom.exterior, [r for r in geom.interiors
                                       if Polygon(r).area >= min_area])
    if geom.geom_type == "MultiPolygon":
        return MultiPolygon([_drop_holes(p, min_area) for p in geom.geoms])
    return geom


def _wgs84(geoms: gpd.GeoSeries, simplify_m: float = 0.0, min_hole_m2: float = 0.0
           ) -> gpd.GeoSeries:
    if geoms.crs is None:
        raise InputError("layer has no coordinate reference system")
    s = geoms.to_crs(BNG)
    if min_hole_m2 > 0:
        s = s.apply(lambda g: _drop_holes(g, min_hole_m2))
        s = gpd.GeoSeries(s, crs=BNG)
    if simplify_m > 0:
        s = s.simplify(simplify_m, preserve_topology=True)
    return s.to_crs(WGS84)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _names(value: Any) -> list[str]:
    """Read a list of names stored as a list, an array, ``"a; b"`` or ``"['a' 'b']"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value if str(v)]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        quoted = re.findall(r"'([^']*)'|\"([^\"]*)\"", text)
        if quoted:
            return [a or b for a, b in quoted if a or b]
        text = text[1:-1]
    return [p.strip() for p in re.split(r"[;,]", text) if p.strip()]


@dataclass(frozen=True)
class BaseLayers:
    """The shipped context layers as WGS84 GeoJSON dicts (label strings already escaped)."""

    county: dict
    districts: dict
    district_labels: dict
    context: dict
    context_labels: dict
    motorways: dict
    motorway_labels: dict
    junctions: dict
    services: dict


def _road_file(settings: Settings, name: str) -> gpd.GeoDataFrame:
    path = Path(settings.data_dir) / "roads" / name
    if not path.is_file():
        raise InputError(f"{path}: road layer not found (is the data/ folder complete?)")
    return gpd.read_parquet(path)


_BASE_CACHE: dict[str, BaseLayers] = {}


def load_base_layers(settings: Settings | None = None) -> BaseLayers:
    """Read and simplify the shipped boundaries and roads for the map (cached per data folder).

    Parameters
    ----------
    settings : Settings, optional

    Returns
    -------
    BaseLayers
    """
    settings = settings or load_settings()
    key = str(Path(settings.data_dir).resolve())
    if key not in _BASE_CACHE:
        _BASE_CACHE[key] = _read_base_layers(settings)
    return _BASE_CACHE[key]


def _read_base_layers(settings: Settings) -> BaseLayers:
    county = load_boundary("county", settings)
    districts = load_boundary("districts", settings)
    context = load_boundary("context", settings)
    if "in_warwickshire" in context.columns:
        context = context[~context["in_warwickshire"].astype(bool)]
    # Neighbours are orientation only: keep 25 km around the force area, coarsely.
    near = county.to_crs(BNG).geometry.union_all().buffer(25_000)
    context = context.to_crs(BNG)
    context = context[context.intersects(near)].copy()
    context["geometry"] = context.geometry.intersection(near)

    def polygons(gdf: gpd.GeoDataFrame, tolerance: float, label: str | None,
                 ndigits: int = 5) -> dict:
        geoms = _wgs84(gdf.geometry, tolerance, min_hole_m2=100_000.0)
        return _collection(
            _feature(g, {"tooltip": _esc(n)} if label else {}, ndigits)
            for g, n in zip(geoms, gdf[label] if label else [None] * len(gdf), strict=True))

    def labels(gdf: gpd.GeoDataFrame, column: str) -> dict:
        pts = gpd.GeoSeries(gdf.geometry.representative_point(), crs=gdf.crs)
        return _collection(_feature(p, {"label": _esc(n)}) for p, n in
                           zip(_wgs84(pts), gdf[column], strict=True))

    mways = _road_file(settings, "motorways.parquet")
    merged, mlabels = [], []
    for ref, part in mways.groupby("ref", sort=True):
        line = shapely.line_merge(shapely.union_all(part.geometry.to_numpy()))
        merged.append((str(ref), line))
        pieces = sorted(getattr(line, "geoms", [line]), key=lambda g: -g.length)
        for piece in pieces[:2]:
            if piece.length >= 6000 or piece is pieces[0]:
                mlabels.append((str(ref), piece.interpolate(0.5, normalized=True)))
    mgeo = _wgs84(gpd.GeoSeries([g for _, g in merged], crs=mways.crs), 15.0)
    mlab = _wgs84(gpd.GeoSeries([p for _, p in mlabels], crs=mways.crs))

    junc = _road_file(settings, "srn_junctions.parquet")
    jgeo = _wgs84(junc.geometry)
    jnames = junc["junction_names"] if "junction_names" in junc.columns else [None] * len(junc)
    svc = _road_file(settings, "osm_services.parquet")
    if "name_is_placeholder" in svc.columns:
        svc = svc[~svc["name_is_placeholder"].astype(bool)]
    sgeo = _wgs84(svc.geometry)

    return BaseLayers(
        county=polygons(county, 20.0, None),
        districts=polygons(districts, 20.0, "name"),
        district_labels=labels(districts, "name"),
        context=polygons(context, 120.0, "name", ndigits=4),
        context_labels=labels(context, "name"),
        motorways=_collection(_feature(g, {"tooltip": _esc(r)})
                              for (r, _), g in zip(merged, mgeo, strict=True)),
        motorway_labels=_collection(_feature(p, {"label": _esc(r)})
                                    for (r, _), p in zip(mlabels, mlab, strict=True)),
        junctions=_collection(
            _feature(g, {"tooltip": _esc("; ".join(_names(n)) or "SRN junction")})
            for g, n in zip(jgeo, jnames, strict=True)),
        services=_collection(
            _feature(g, {"tooltip": _esc(n), "label": "S"})
            for g, n in zip(sgeo, svc["name"], strict=True)),
    )


def _location_items(value: Any) -> list[str]:
    """Turn a hotspot's ``top_locations`` (list, tuples, dicts or text) into display lines."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(";") if p.strip()]
    items = []
    for item in value:
        if isinstance(item, Mapping):
            name = item.get("location", item.get("name", ""))
            count = item.get("incidents", item.get("count"))
            items.append(f"{name} ({count})" if count is not None else str(name))
        elif isinstance(item, (tuple, list, np.ndarray)) and len(item) == 2:
            items.append(f"{item[0]} ({item[1]})")
        else:
            items.append(str(item))
    return items


def hotspot_popup_html(row: Mapping[str, Any], total: int | None = None) -> str:
    """Return the escaped popup HTML for one hotspot area (rank, incidents, share, PAI, places).

    Parameters
    ----------
    row : mapping
        One row of :func:`hotspots.models.areas.hotspot_areas` output.
    total : int, optional
        Number of hotspot areas, shown as "1 of N".
    """
    rank = int(row["rank"])
    rows = [
        ("Incidents", f"{int(row['incidents']):,}"),
        ("Share of mapped incidents", format_share(float(row["share"]))),
        ("Area", f"{float(row['area_km2']):.2f} km²"),
        ("PAI (in-sample)", f"{float(row['pai']):.1f}"),
    ]
    if "peak_density" in row and row["peak_density"] is not None:
        rows.append(("Peak density", f"{float(row['peak_density']):,.0f} per km²"))
    head = f"Hotspot {rank}" + (f" of {int(total)}" if total else "")
    table = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    places = _location_items(row.get("top_locations"))
    listing = ("<div class='hs-sub'>Top locations</div><ol>"
               + "".join(f"<li>{_esc(p)}</li>" for p in places[:5]) + "</ol>") if places else ""
    return f"<div class='hs-pop'><b>{_esc(head)}</b><table>{table}</table>{listing}</div>"


def hotspot_features(areas: gpd.GeoDataFrame, label_top: int = 10) -> dict:
    """Return hotspot polygons (and rank labels) as WGS84 GeoJSON with escaped popups.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        Output of ``hotspot_areas`` (EPSG:27700) with ``rank``, ``incidents``, ``share``,
        ``area_km2``, ``pai``, ``peak_density``, ``top_locations``.
    label_top : int
        Rank labels are made for the areas ranked 1..``label_top``.

    Returns
    -------
    dict
        FeatureCollection: one polygon feature per area (``popup``, ``tooltip``), then a point
        feature carrying the rank as ``label`` for each of the first ``label_top`` areas.
    """
    if areas is None or len(areas) == 0:
        return _collection([])
    geoms = _wgs84(areas.geometry.buffer(0), 1.0)
    pts = _wgs84(gpd.GeoSeries(areas.geometry.representative_point(), crs=areas.crs))
    total = len(areas)
    polys, labels = [], []
    for (_, row), g, p in zip(areas.iterrows(), geoms, pts, strict=True):
        rank = int(row["rank"])
        tip = f"Hotspot {rank}: {int(row['incidents']):,} incidents ({format_share(row['share'])})"
        polys.append(_feature(g, {"popup": hotspot_popup_html(row, total), "tooltip": _esc(tip),
                                  "rank": rank}))
        if rank <= label_top:
            labels.append(_feature(p, {"label": _esc(rank), "rank": rank}))
    return _collection(polys + labels)


# --------------------------------------------------------------------------------------------
# Aggregated incident symbols
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# SRN corridors: road network coloured by network density, junctions sized by incidents
# --------------------------------------------------------------------------------------------

#: Sequential, perceptually uniform, safe for the common colour-vision deficiencies; dark =
#: dense, as on the hotspot surface.
NETWORK_CMAP = "viridis_r"
#: Roads with no incident within the bandwidth: light grey inside the dark casing.
NETWORK_ZERO_COLOUR = "#d9d9d9"
NETWORK_CASING_COLOUR = "#4a4a4a"
#: Dash pattern of approximate (derived) alignments, pixels: dash, gap.
APPROXIMATE_DASH = "8 5"
JUNCTION_RADIUS_PX = (4.0, 18.0)  # circle radius of the smallest and the largest count
#: Junction circles: Okabe-Ito vermillion, apart from every colour of the density ramp.
JUNCTION_COLOUR = SOC_COLOUR


def network_statement(*, bandwidth: float, lixel: float, band: float, start: str, end: str,
                      crimes: str, kernel: str = "quartic", missing: Sequence[str] = ()) -> str:
    """Return the corridor map's one-line statement of method and parameters.

    Example: ``"Network kernel density (Xie & Yan 2008 simple method), quartic, bandwidth
    1,000 m along the network, 100 m lixels, incidents within 500 m of the SRN, Oct–Dec 2025,
    acquisitive crime; incidents per km of road"``.

    Parameters
    ----------
    bandwidth : float
        Kernel bandwidth along the network, metres.
    lixel : float
        Lixel length, metres.
    band : float
        Incidents further than this from the SRN are not snapped to it, metres.
    start, end : str
        Period, ``YYYY-MM``.
    crimes : str
        The crime selection in words (see :func:`crimes_label`).
    kernel : str
        Kernel name.
    missing : sequence of str
        Months inside the period with no published data; stated when present.

    Returns
    -------
    str
        Plain text (escape it before putting it into HTML).
    """
    period = period_label(start, end)
    if missing:
        period += f" (no data for {missing_months_label(missing)})"
    return (f"Network kernel density (Xie & Yan 2008 simple method), {kernel}, bandwidth "
            f"{bandwidth:,.0f} m along the network, {lixel:,.0f} m lixels, incidents within "
            f"{band:,.0f} m of the SRN, {period}, {crimes}; incidents per km of road")


def _two_figures(value: float) -> float:
    """Round to two significant figures (class breaks people can read)."""
    if value <= 0 or not math.isfinite(value):
        return 0.0
    return round(value, 1 - int(math.floor(math.log10(value))))


def _fmt_break(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2g}"


@dataclass(frozen=True)
class NetworkClasses:
    """Colour classes of network density (incidents per km of road).

    Class 0 is "no incident within the bandwidth" (density 0); class ``k`` >= 1 holds densities
    above ``breaks[k - 2]`` (or above 0 for ``k = 1``) up to ``breaks[k - 1]``; the last class
    is open-ended.

    Attributes
    ----------
    breaks : tuple of float
        Upper bounds of every class but the last, increasing.
    colours : tuple of str
        ``#rrggbb`` of class 0, then of classes 1..n.
    peak : float
        Largest density.
    """

    breaks: tuple[float, ...]
    colours: tuple[str, ...]
    peak: float = 0.0

    def __post_init__(self) -> None:
        if list(self.breaks) != sorted(set(self.breaks)):
            raise ParameterError("density class breaks must be increasing")
        wanted = len(self.breaks) + 2
        if len(self.colours) != wanted and not (not self.breaks and len(self.colours) == 1):
            raise ParameterError(f"{len(self.breaks)} class breaks need {wanted} colours "
                                 f"(zero class first), got {len(self.colours)}")
        for colour in self.colours:
            if not re.fullmatch(r"#[0-9A-Fa-f]{6}", colour):
                raise ParameterError(f"class colour {colour!r} must be a #rrggbb colour")

    def classify(self, density: np.ndarray) -> np.ndarray:
        """Return the class (0..n) of each density."""
        d = np.nan_to_num(np.asarray(density, float), nan=0.0)
        cls = 1 + np.searchsorted(np.asarray(self.breaks, float), d, side="left")
        return np.where(d > 0, cls, 0).astype(np.int64)

    def labels(self) -> list[str]:
        """Return the legend label of each class, class 0 first."""
        out = ["0 (no incident within the bandwidth)"]
        if len(self.colours) <= 1:
            return out
        b = [_fmt_break(v) for v in self.breaks]
        if not b:
            return out + ["above 0"]
        out.append(f"up to {b[0]}")
        out += [f"{lo}–{hi}" for lo, hi in zip(b[:-1], b[1:], strict=True)]
        out.append(f"over {b[-1]}")
        return out


def network_classes(density: np.ndarray, *, n: int = 5, cmap: str = NETWORK_CMAP,
                    gamma: float = 0.5) -> NetworkClasses:
    """Choose colour classes for network densities, as the hotspot surface's colour scale does.

    The top of the scale is the :data:`CLIP_PERCENTILE` percentile of the positive densities;
    breaks are equal steps of ``(density / top) ** gamma`` (square-root steps by default),
    rounded to two significant figures.

    Parameters
    ----------
    density : numpy.ndarray
        Densities, incidents per km of road.
    n : int
        Number of classes above zero.
    cmap : str
        Matplotlib colour map.
    gamma : float
        Scale exponent.

    Returns
    -------
    NetworkClasses
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if n < 1:
        raise ParameterError(f"number of density classes {n!r} must be at least 1")
    d = np.nan_to_num(np.asarray(density, float), nan=0.0)
    positive = d[d > 0]
    if not positive.size:
        return NetworkClasses(breaks=(), colours=(NETWORK_ZERO_COLOUR,), peak=0.0)
    top = float(np.percentile(positive, CLIP_PERCENTILE))
    raw = [top * (k / n) ** (1.0 / gamma) for k in range(1, n)]
    breaks = tuple(sorted({v for v in (_two_figures(r) for r in raw) if v > 0}))
    k = len(breaks) + 1
    ramp = colormaps[cmap](np.linspace(0.05, 0.95, k))
    colours = (NETWORK_ZERO_COLOUR, *(to_hex(c) for c in ramp))
    return NetworkClasses(breaks=breaks, colours=colours, peak=float(positive.max()))


@dataclass(frozen=True)
class CorridorLines:
    """The road network as WGS84 GeoJSON runs of one colour class, ready for the corridor map.

    Attributes
    ----------
    data : dict
        FeatureCollection of (Multi)LineStrings, lowest class first; ``properties``: ``style``
        (``color``; ``dashArray``/``lineCap`` for approximate alignments; ``className``),
        ``tooltip`` (escaped), ``cls``, ``approximate``.
    classes : NetworkClasses
    surveyed_km, approximate_km : float
        Road drawn, by alignment.
    """

    data: dict
    classes: NetworkClasses
    surveyed_km: float = 0.0
    approximate_km: float = 0.0


def corridor_lines(lixels: gpd.GeoDataFrame, *, classes: NetworkClasses | None = None,
                   clip: BaseGeometry | None = None, simplify_m: float = 5.0) -> CorridorLines:
    """Merge network-density lixels into runs of equal colour class, for a light map.

    Consecutive lixels of one road piece that share their colour class, road and alignment
    source are joined into one line and simplified by ``simplify_m`` metres; the runs of one
    road, class and kind of alignment then make one (multi-)line feature with one tooltip, so
    the page carries tens of features (one SVG path each) instead of ten thousand lixels.

    Parameters
    ----------
    lixels : geopandas.GeoDataFrame
        Output of :func:`hotspots.spatial.corridors.network_kde`, in its order (lixels of a
        piece are consecutive): ``ref``, ``geometry_source``, ``density``, ``length_m``.
    classes : NetworkClasses, optional
        Default: :func:`network_classes` of the densities.
    clip : shapely geometry, optional
        Draw only lixels touching this area (EPSG:27700).
    simplify_m : float
        Douglas-Peucker tolerance, metres.

    Returns
    -------
    CorridorLines
    """
    if lixels.crs is None:
        raise InputError("network density lixels have no coordinate reference system")
    missing = [c for c in ("ref", "geometry_source", "density") if c not in lixels.columns]
    if missing:
        raise InputError(f"network density lixels lack column(s) {', '.join(missing)}")
    lx = lixels.to_crs(BNG) if lixels.crs != BNG else lixels
    geoms = lx.geometry.to_numpy()
    keep = np.ones(len(lx), bool) if clip is None else shapely.intersects(geoms, clip)
    geoms = geoms[keep]
    density = np.nan_to_num(lx["density"].to_numpy(float), nan=0.0)[keep]
    classes = classes or network_classes(density)  # the scale of what is drawn
    if not len(geoms):
        return CorridorLines(data=_collection([]), classes=classes)
    cls = classes.classify(density)
    approx = (lx["geometry_source"].astype(str).to_numpy() == "approximate")[keep]
    ref = lx["ref"].astype(str).to_numpy()[keep]
    length = shapely.length(geoms)

    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    lead = np.r_[True, owner[1:] != owner[:-1]]  # first coordinate of each lixel
    first = coords[lead]
    last = coords[np.r_[lead[1:], True]]
    joined = np.zeros(len(geoms), bool)
    joined[1:] = ((np.hypot(*(first[1:] - last[:-1]).T) < 0.01) & (cls[1:] == cls[:-1])
                  & (approx[1:] == approx[:-1]) & (ref[1:] == ref[:-1]))
    run = np.cumsum(~joined) - 1
    use = ~(lead & joined[owner])  # a joined lixel's first point repeats the previous end
    lines = shapely.linestrings(coords[use], indices=run[owner[use]])
    heads = np.flatnonzero(~joined)
    peak = np.maximum.reduceat(density, heads)
    run_len = np.add.reduceat(length, heads)
    lines = shapely.simplify(lines, simplify_m) if simplify_m > 0 else lines

    # One feature (one SVG path) per road, class and alignment kind: the browser draws a few
    # hundred paths, not one per run.
    runs = pd.DataFrame({"cls": cls[heads], "approx": approx[heads], "ref": ref[heads],
                         "peak": peak, "run": np.arange(len(heads))})
    labels = classes.labels()
    geoms_out, props = [], []
    for (c, dashed, road), grp in runs.groupby(["cls", "approx", "ref"], sort=True):
        c, dashed = int(c), bool(dashed)
        parts = lines[grp["run"].to_numpy()]
        geom = parts[0] if len(parts) == 1 else shapely.multilinestrings(parts)
        tip = (f"{road}: no incident within the bandwidth" if c == 0 else
               f"{road}: {labels[c]} incidents per km of road (peak {grp['peak'].max():.1f})")
        if dashed:
            tip += "; approximate alignment"
        style: dict[str, Any] = {"color": classes.colours[c],
                                 "className": "hs-srn hs-srn-approx" if dashed else "hs-srn"}
        if dashed:
            style.update({"dashArray": APPROXIMATE_DASH, "lineCap": "butt"})
        geoms_out.append(geom)
        props.append({"style": style, "tooltip": _esc(tip), "cls": c, "approximate": dashed})
    wgs = _wgs84(gpd.GeoSeries(geoms_out, crs=BNG))
    return CorridorLines(
        data=_collection(_feature(g, pr) for g, pr in zip(wgs, props, strict=True)),
        classes=classes,
        surveyed_km=float(run_len[~approx[heads]].sum() / 1000.0),
        approximate_km=float(run_len[approx[heads]].sum() / 1000.0))


def _count_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(value):,}"


def _change_text(change: Any, pct: Any) -> str:
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return "–"
    text = f"{int(change):+,}".replace("-", "−")
    if pct is not None and isinstance(pct, (int, float)) and math.isfinite(pct):
        text += f" ({pct:+.0f}%)".replace("-", "−")
    return text


def _counts_of(value: Any) -> dict[str, int]:
    if isinstance(value, Mapping):
        return {str(k): int(v) for k, v in value.items() if v}
    return {}


def junction_popup_html(row: Mapping[str, Any], *, radius_m: float, period: str,
                        previous_period: str = "", rank: int | None = None,
                        total: int | None = None, group_labels: Mapping[str, str] | None = None,
                        force_labels: Mapping[str, str] | None = None) -> str:
    """Return the escaped popup HTML for one SRN junction.

    Parameters
    ----------
    row : mapping
        One row of :func:`hotspots.spatial.corridors.junction_stats`: ``name``, ``alias``,
        ``incidents``, ``by_group``, ``by_force``, ``previous``, ``change``, ``change_pct``,
        ``change_note``.
    radius_m : float
        The counting radius, metres.
    period, previous_period : str
        The periods in words ("Oct–Dec 2025").
    rank, total : int, optional
        Shown as "Rank 1 of 45".
    group_labels, force_labels : mapping, optional
        Display names of crime groups and forces.

    Returns
    -------
    str
    """
    glab = dict(group_labels or {})
    flab = dict(force_labels or {})
    name = str(row.get("name", "") or "SRN junction")
    alias = str(row.get("alias", "") or "")
    rows: list[tuple[str, str, bool]] = [("Incidents", _count_text(row.get("incidents")), False)]
    for group, n in _counts_of(row.get("by_group")).items():
        rows.append((glab.get(group, group), f"{n:,}", True))
    forces = _counts_of(row.get("by_force"))
    if len(forces) > 1:
        for force, n in forces.items():
            rows.append((f"recorded by {flab.get(force, force)}", f"{n:,}", True))
    if rank is not None:
        rows.append(("Rank", f"{rank:,}" + (f" of {total:,}" if total else ""), False))
    note = str(row.get("change_note", "") or "")
    previous = row.get("previous")
    if previous is not None and not (isinstance(previous, float) and math.isnan(previous)):
        rows.append((f"Previous period{f' ({previous_period})' if previous_period else ''}",
                     _count_text(previous), False))
        rows.append(("Change", _change_text(row.get("change"), row.get("change_pct")), False))
    table = "".join(f"<tr><th{' class=hs-ind' if ind else ''}>{_esc(k)}</th>"
                    f"<td>{_esc(v)}</td></tr>" for k, v, ind in rows)
    head = f"<b>{_esc(name)}</b>" + (f" ({_esc(alias)})" if alias else "")
    where = f"Within {radius_m:,.0f} m of the junction, {period}"
    foot = f"<div class='hs-note'>{_esc(note)}</div>" if note else ""
    return (f"<div class='hs-pop'>{head}<div class='hs-note hs-tight'>{_esc(where)}</div>"
            f"<table>{table}</table>{foot}</div>")


@dataclass(frozen=True)
class JunctionMarkers:
    """SRN junctions as WGS84 GeoJSON circles sized by incidents, with rank labels.

    Attributes
    ----------
    circles : dict
        FeatureCollection of points (largest first); ``properties``: ``popup``, ``tooltip``
        (escaped), ``style`` (``radius``, ``fillOpacity``).
    labels : dict
        FeatureCollection of points carrying the rank as ``label``.
    largest : int
        Largest count.
    radius_m : float
        Counting radius, metres.
    """

    circles: dict
    labels: dict
    largest: int
    radius_m: float


def junction_markers(junctions: Any, *, radius_m: float, period: str,
                     previous_period: str = "", label_top: int = 10,
                     group_labels: Mapping[str, str] | None = None,
                     force_labels: Mapping[str, str] | None = None) -> JunctionMarkers:
    """Make sized junction circles (area proportional to the count) with escaped popups.

    Parameters
    ----------
    junctions : pandas.DataFrame
        Output of :func:`hotspots.spatial.corridors.junction_stats` (``lon``, ``lat``, ...),
        ranked: the row order is the rank.
    radius_m : float
        Counting radius, metres (said in the popups and tooltips).
    period, previous_period : str
        The periods in words.
    label_top : int
        Junctions ranked 1..``label_top`` with at least one incident get a rank label.
    group_labels, force_labels : mapping, optional
        Display names of crime groups and forces.

    Returns
    -------
    JunctionMarkers
    """
    if junctions is None or len(junctions) == 0:
        return JunctionMarkers(circles=_collection([]), labels=_collection([]), largest=0,
                               radius_m=float(radius_m))
    counts = junctions["incidents"].fillna(0).astype(int).to_numpy()
    largest = int(counts.max())
    r0, r1 = JUNCTION_RADIUS_PX
    total = len(junctions)
    circles, labels = [], []
    for rank, (row, n) in enumerate(zip(junctions.to_dict("records"), counts, strict=True), 1):
        point = shapely.Point(float(row["lon"]), float(row["lat"]))
        radius = r0 + (r1 - r0) * math.sqrt(n / largest) if n and largest else 3.0
        popup = junction_popup_html(row, radius_m=radius_m, period=period,
                                    previous_period=previous_period, rank=rank, total=total,
                                    group_labels=group_labels, force_labels=force_labels)
        tip = (f"{row['name']}: {int(n):,} incident{'' if n == 1 else 's'} within "
               f"{radius_m:,.0f} m")
        circles.append((n, _feature(point, {
            "popup": popup, "tooltip": _esc(tip), "rank": rank,
            "style": {"radius": round(radius, 1), "fillOpacity": 0.25 if n else 0.0}})))
        if n and rank <= label_top:
            labels.append(_feature(point, {"label": _esc(rank), "rank": rank}))
    circles.sort(key=lambda item: -item[0])  # big ones first: small ones stay clickable
    return JunctionMarkers(circles=_collection(f for _, f in circles),
                           labels=_collection(labels), largest=largest,
                           radius_m=float(radius_m))


def corridor_map(*, base: BaseLayers, view: BaseGeometry, lines: CorridorLines,
                 junctions: JunctionMarkers | None = None, legend: Legend | None = None,
                 settings: Settings | None = None, show_services: bool = False,
                 title: str = "SRN corridor map") -> folium.Map:
    """Build the corridor map: the SRN coloured by network density, junctions sized by counts.

    Drawn on the hotspot map's base (boundaries, district names, motorway names), without its
    plain motorway and junction layers. Each road line has a dark casing; approximate
    alignments are dashed, casing included.

    Parameters
    ----------
    base : BaseLayers
    view : shapely geometry
        The study area in BNG; the map opens fitted to it.
    lines : CorridorLines
        From :func:`corridor_lines`.
    junctions : JunctionMarkers, optional
        From :func:`junction_markers`.
    legend : Legend, optional
        Give it ``network=lines.classes``, ``roads=False`` and a ``junction_key``.
    settings : Settings, optional
    show_services : bool
        Show the service areas layer on opening.
    title : str
        Page title.

    Returns
    -------
    folium.Map
        Pass it to :func:`offline_html` for the page.
    """
    net = folium.FeatureGroup(name="SRN network density", overlay=True, control=True,
                              show=True)
    casing = _GeoJsonLayer(lines.data, name="SRN (casing)", control=False, interactive=False,
                           style={"color": NETWORK_CASING_COLOUR, "weight": 7.5, "opacity": 0.95,
                                  "lineJoin": "round"},
                           feature_style=("dashArray", "lineCap"),
                           attribution=_esc(ATTRIBUTION["os_roads"]))
    casing.add_to(net)
    _GeoJsonLayer(casing, name="SRN (density)", control=False,
                  style={"weight": 4.5, "opacity": 1.0, "lineJoin": "round"},
                  feature_style=("color", "dashArray", "lineCap", "className"),
                  attribution=_esc(ATTRIBUTION["national_highways"])).add_to(net)
    overlays: list[Element] = [net]
    if junctions is not None and junctions.circles["features"]:
        jgroup = folium.FeatureGroup(
            name=_esc(f"SRN junctions (incidents within {junctions.radius_m:,.0f} m)"),
            overlay=True, control=True, show=True)
        _GeoJsonLayer(junctions.circles, name="Junction circles", control=False,
                      point_style={"radius": 4, "color": JUNCTION_COLOUR, "weight": 2,
                                   "fillColor": JUNCTION_COLOUR, "fillOpacity": 0.25,
                                   "className": "hs-junction"},
                      feature_style=("radius", "fillOpacity"),
                      attribution=_esc(ATTRIBUTION["police_uk"])).add_to(jgroup)
        _GeoJsonLayer(junctions.labels, name="Junction ranks", point="label",
                      label_class="hs-rank", control=False, interactive=False).add_to(jgroup)
        overlays.append(jgroup)
    return build_map(base=base, view=view, legend=legend, settings=settings,
                     show_services=show_services, title=title, roads=False, overlays=overlays)


# --------------------------------------------------------------------------------------------
# Legend
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Legend:
    """What the legend says. Strings are plain text: :func:`legend_html` escapes them."""

    title: str
    method: str
    density: DensityImage | None = None
    hotspots_line: str = ""
    counts: tuple[CountLayer, ...] = ()
    roads: bool = True
    marking: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    network: NetworkClasses | None = None
    junction_key: str = ""


def _fmt_density(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}".rstrip("0").rstrip(".") if value else "0"


def _network_key_html(classes: NetworkClasses) -> str:
    """Legend rows of the network density classes and of the two kinds of alignment."""
    rows = ["<div class='hs-sub'>Network density, incidents per km of road</div>"]
    if len(classes.colours) > 1:
        blocks = "".join(f"<span style='background:{_esc(c)}'></span>"
                         for c in classes.colours[1:])
        ticks = ["0", *(_fmt_break(b) for b in classes.breaks), f"{classes.peak:.3g}"]
        rows.append(f"<div class='hs-steps'>{blocks}</div><div class='hs-ticks'>"
                    + "".join(f"<span>{_esc(t)}</span>" for t in ticks) + "</div>")
    rows.append(f"<div class='hs-key'><span class='hs-sw-line' "
                f"style='background:{_esc(classes.colours[0])}'></span>"
                "<span>No incident within the bandwidth</span></div>"
                "<div class='hs-key'><span class='hs-sw-line' style='background:#ffffff'></span>"
                "<span>Surveyed</span><span class='hs-sw-dash'></span>"
                "<span>Approximate alignment (drawn dashed)</span></div>")
    return "".join(rows)


def legend_html(legend: Legend) -> str:
    """Return the legend's HTML (every text escaped).

    Parameters
    ----------
    legend : Legend

    Returns
    -------
    str
    """
    parts = []
    if legend.marking:
        parts.append(f"<div class='hs-marking'>{_esc(legend.marking)}</div>")
    parts.append(f"<div class='hs-title'>{_esc(legend.title)}</div>")
    parts.append(f"<div class='hs-method'>{_esc(legend.method)}</div>")
    if legend.density is not None and legend.density.vmax > 0:
        d = legend.density
        stops = ", ".join(d.colour_stops())
        values = d.tick_values()
        labels = [_fmt_density(v) for v in values]
        if d.clipped:
            labels[-1] += "+"
        ticks = "".join(f"<span>{_esc(t)}</span>" for t in labels)
        parts.append(
            "<div class='hs-sub'>Density, incidents per km² (square-root colour scale"
            + (f"; the densest {format_share((100 - CLIP_PERCENTILE) / 100)} of non-zero "
               "cells share the top colour" if d.clipped else "")
            + ")</div>"
            f"<div class='hs-ramp' style='background: linear-gradient(to right, {stops})'></div>"
            f"<div class='hs-ticks'>{ticks}</div>")
    if legend.hotspots_line:
        parts.append("<div class='hs-key'><span class='hs-sw-hot'></span>"
                     f"<span>{_esc(legend.hotspots_line)}</span></div>")
    if legend.network is not None:
        parts.append(_network_key_html(legend.network))
    if legend.junction_key:
        circles = "".join(f"<span class='hs-sw-jn' style='width:{d}px;height:{d}px'></span>"
                          for d in (7, 13, 20))
        parts.append(f"<div class='hs-key'>{circles}<span>{_esc(legend.junction_key)}</span>"
                     "</div>")
    for c in legend.counts:
        sym = ("<span class='hs-sw-dia' style='background:%s'></span>" if c.shape == "diamond"
               else "<span class='hs-sw-circ' style='background:%s'></span>") % _esc(c.colour)
        text = (f"{c.name}: {c.total:,} incidents, per {format_metres(c.cell)} square"
                + (f" (largest {c.max_count:,})" if c.max_count else ""))
        parts.append(f"<div class='hs-key'>{sym}<span>{_esc(text)}</span></div>")
    if legend.roads:
        parts.append("<div class='hs-key'><span class='hs-sw-mway'></span><span>Motorway</span>"
                     "<span class='hs-sw-junc'></span><span>SRN junction</span></div>")
    for note in legend.notes:
        parts.append(f"<div class='hs-note'>{_esc(note)}</div>")
    return ("<details open class='hs-legend-box'><summary>Legend and method</summary>"
            + "".join(parts) + "</details>")


# --------------------------------------------------------------------------------------------
# Folium elements (no plugins: plain Leaflet only)
# --------------------------------------------------------------------------------------------


class _GeoJsonLayer(folium.map.Layer):
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

    def __init__(self, data: dict | _GeoJsonLayer, *, name: str,
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
        self.source = data if isinstance(data, _GeoJsonLayer) else None
        self.data = None if self.source is not None else data
        self.style = dict(style or {})
        self.point = point
        self.point_style = dict(point_style or {})
        self.label_class = label_class
        self.attribution = attribution
        self.interactive = interactive
        self.pane = pane


class _CountSymbols(folium.map.Layer):
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
        super().__init__(name=_esc(layer.name), overlay=True, control=True, show=show)
        self._name = "HotspotsCounts"
        self.points = [list(p) for p in layer.points]
        self.max_count = max(layer.max_count if max_count is None else max_count, 1)
        self.shape = layer.shape
        if not re.fullmatch(r"#[0-9A-Fa-f]{3,8}", layer.colour):
            raise ParameterError(f"symbol colour {layer.colour!r} must be a #RRGGBB colour")
        self.colour = layer.colour
        self.noun = _esc(layer.noun)
        self.cell_label = _esc(format_metres(layer.cell))
        self.attribution = _esc(layer.attribution)
        self.pane = _COUNT_PANE


class _LegendControl(MacroElement):
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


class _MapSetup(MacroElement):
    """Attribution prefix without a link (nothing on the page points off the machine)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.setPrefix({{ this.prefix|tojson }});
        {% endmacro %}
        """)

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self._name = "HotspotsSetup"
        self.prefix = prefix


GeoJsonLayer, LegendControl = _GeoJsonLayer, _LegendControl  # for other map builders' layers
geojson_feature, geojson_collection, wgs84_geoms = _feature, _collection, _wgs84  # and GeoJSON

_CSS = """
.leaflet-container { background: #dcdcd6;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.leaflet-control-attribution { font-size: 9.5px; line-height: 1.25; max-width: 62%;
  background: rgba(255,255,255,0.88) !important; }
.leaflet-control-layers { font-size: 12px; }
.hs-legend { background: rgba(255,255,255,0.95); padding: 6px 9px; border-radius: 6px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); max-width: 270px; font-size: 11.5px;
  line-height: 1.3; color: #1a1a1a; }
.hs-legend summary { cursor: pointer; font-weight: 600; font-size: 12px; color: #444; }
.hs-marking { font-weight: 700; letter-spacing: 0.04em; font-size: 11px; color: #1a1a1a;
  border: 1px solid #1a1a1a; display: inline-block; padding: 0 4px; margin: 4px 0 3px; }
.hs-title { font-weight: 700; font-size: 13px; margin: 2px 0 2px; }
.hs-method { color: #333; margin-bottom: 5px; }
.hs-sub { font-weight: 600; margin-top: 4px; }
.hs-ramp { height: 12px; border: 1px solid #888; border-radius: 2px; margin-top: 2px; }
.hs-ticks { display: flex; justify-content: space-between; font-size: 11px; color: #333; }
.hs-key { display: flex; align-items: center; gap: 6px; margin-top: 4px; }
.hs-sw-hot { flex: none; width: 16px; height: 11px; border: 2.5px solid #000;
  box-shadow: 0 0 0 1.5px #fff; background: rgba(255,255,255,0.1); }
.hs-sw-circ { flex: none; width: 12px; height: 12px; border-radius: 50%;
  border: 1px solid #fff; box-shadow: 0 0 0 1px #777; }
.hs-sw-dia { flex: none; width: 10px; height: 10px; transform: rotate(45deg); margin: 0 1px;
  border: 1px solid #fff; box-shadow: 0 0 0 1px #777; }
.hs-sw-mway { flex: none; width: 22px; height: 4px; background: #4a4a4a; }
.hs-sw-junc { flex: none; width: 8px; height: 8px; border-radius: 50%; background: #fff;
  border: 1.5px solid #333; margin-left: 6px; }
.hs-note { color: #444; font-size: 11px; margin-top: 5px; }
.hs-steps { display: flex; height: 10px; border: 1px solid #4a4a4a; margin-top: 3px; }
.hs-steps span { flex: 1; }
.hs-sw-line { flex: none; width: 24px; height: 4px; border: 1.5px solid #4a4a4a; }
.hs-sw-dash { flex: none; width: 27px; height: 7px; position: relative; margin-left: 6px;
  background: repeating-linear-gradient(90deg, #4a4a4a 0 8px, transparent 8px 13px); }
.hs-sw-dash::after { content: ""; position: absolute; left: 0; right: 0; top: 1.5px; height: 4px;
  background: repeating-linear-gradient(90deg, #ffffff 0 8px, transparent 8px 13px); }
.hs-sw-jn { flex: none; border-radius: 50%; background: rgba(213,94,0,0.25);
  border: 2px solid #D55E00; margin-right: -3px; }
.hs-label span, .hs-dlabel span, .hs-clabel span, .hs-mlabel span, .hs-rank span,
.hs-svc span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap; }
.hs-dlabel span { font-size: 13px; font-weight: 700; color: #2b2b2b; letter-spacing: 0.02em;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }
.hs-clabel span { font-size: 11px; color: #6b6b6b; font-style: italic;
  text-shadow: 0 0 2px #fff, 0 0 2px #fff; }
.hs-mlabel span { font-size: 10px; font-weight: 700; color: #fff; background: #4a4a4a;
  border: 1px solid #fff; border-radius: 3px; padding: 0 3px; }
.hs-rank span { font-size: 11px; font-weight: 700; color: #000; background: #fff;
  border: 1.5px solid #000; border-radius: 9px; min-width: 12px; text-align: center;
  padding: 0 3px; }
.hs-svc span { font-size: 9px; font-weight: 700; color: #333; background: #fff;
  border: 1px solid #333; padding: 0 2px; }
.hs-dia div { width: 70.7%; height: 70.7%; margin: 14.6%; transform: rotate(45deg);
  border: 1px solid #fff; box-shadow: 0 0 0 0.5px rgba(0,0,0,0.5); opacity: 0.9; }
.hs-pop { font-size: 12px; }
.hs-pop table { border-collapse: collapse; margin: 4px 0; }
.hs-pop th { text-align: left; font-weight: 600; padding: 1px 8px 1px 0; color: #444; }
.hs-pop td { text-align: right; padding: 1px 0; white-space: nowrap; }
.hs-pop th.hs-ind { padding-left: 10px; font-weight: 400; }
.hs-tight { margin-top: 1px; }
.hs-pop ol { margin: 2px 0 0 18px; padding: 0; }
"""


# --------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------


def _bounds_latlon(geom: BaseGeometry) -> list[list[float]]:
    xmin, ymin, xmax, ymax = geom.bounds
    w, s, e, n = _transformer(BNG, WGS84).transform_bounds(xmin, ymin, xmax, ymax)
    return [[s, w], [n, e]]


def build_map(*, base: BaseLayers, view: BaseGeometry, density: DensityImage | None = None,
              hotspots: gpd.GeoDataFrame | None = None, counts: Sequence[CountLayer] = (),
              legend: Legend | None = None, settings: Settings | None = None,
              show_services: bool = False, title: str = "Hotspot map", roads: bool = True,
              overlays: Sequence[Element] = ()) -> folium.Map:
    """Build the hotspot map (no network needed once passed through :func:`offline_html`).

    Parameters
    ----------
    base : BaseLayers
        Boundaries and roads, from :func:`load_base_layers`.
    view : shapely geometry
        The study area in BNG; the map opens fitted to it.
    density : DensityImage, optional
        The density surface (see :func:`density_image`).
    hotspots : geopandas.GeoDataFrame, optional
        Hotspot areas (EPSG:27700), see :func:`hotspot_features`.
    counts : sequence of CountLayer
        Aggregated incident layers (e.g. acquisitive circles, SOC-linked diamonds).
    legend : Legend, optional
    settings : Settings, optional
        ``tiles_url``/``tiles_attribution`` add a tile basemap; empty (the default) keeps the
        plain, offline background.
    show_services : bool
        Show the OpenStreetMap service areas layer on opening (it is always in the control).
    title : str
        Page title of the HTML document.
    roads : bool
        Draw the motorways and SRN junctions of the base layers (the corridor map draws its own
        road network instead; the motorway name labels stay).
    overlays : sequence of branca elements
        Further layers, drawn above the hotspot areas and below the count symbols and labels
        (e.g. the corridor map's road network and junctions).

    Returns
    -------
    folium.Map
        Pass it to :func:`offline_html` for the page.
    """
    settings = settings or load_settings()
    m = folium.Map(location=None, tiles=None, control_scale=True, zoom_snap=0.25,
                   zoom_delta=0.5, prefer_canvas=False)
    m.default_js = []  # instance attributes: the class-level CDN lists stay untouched
    m.default_css = []
    root = m.get_root()
    root.header.add_child(Element(f"<title>{_esc(title)}</title>"), name="hs_title")
    root.header.add_child(Element(f"<style>{_CSS}</style>"), name="hs_css")
    if settings.tiles_url:
        if not settings.tiles_attribution.strip():
            raise ParameterError("tiles_url is set but tiles_attribution is empty: give the tile "
                                 "provider's attribution in hotspots.toml")
        folium.TileLayer(tiles=settings.tiles_url, attr=_esc(settings.tiles_attribution),
                         name="Basemap", overlay=False, control=False).add_to(m)
    _MapSetup("Leaflet").add_to(m)
    # Leaflet draws every vector layer of a pane in one SVG stacked above that pane's images, so
    # the opaque background fills get a pane of their own below the density image.
    folium.map.CustomPane(_BASE_PANE, z_index=350, pointer_events=True).add_to(m)

    ons = ATTRIBUTION["ons"]
    _GeoJsonLayer(base.context, name="Neighbouring districts", control=False,
                  style={"color": "#9a9a94", "weight": 0.8, "fill": True,
                         "fillColor": "#e4e4df", "fillOpacity": 1.0},
                  attribution=_esc(ons), pane=_BASE_PANE).add_to(m)
    county = _GeoJsonLayer(base.county, name="Force area", control=False, interactive=False,
                           style={"color": "#1a1a1a", "weight": 0, "fill": True,
                                  "fillColor": "#fbfbf8",
                                  "fillOpacity": 0.0 if settings.tiles_url else 1.0},
                           pane=_BASE_PANE)
    county.add_to(m)
    if density is not None:
        folium.raster_layers.ImageOverlay(
            image=density.url, bounds=[list(density.bounds[0]), list(density.bounds[1])],
            name="Density surface", pixelated=False, interactive=False,
            attribution=_esc(ATTRIBUTION["police_uk"]), className="hs-density",
        ).add_to(m)
    _GeoJsonLayer(base.districts, name="Districts", interactive=False,
                  style={"color": "#3c3c3c", "weight": 1.2, "dashArray": "5 4", "fill": False}
                  ).add_to(m)
    _GeoJsonLayer(county, name="Force boundary", control=False, interactive=False,
                  style={"color": "#1a1a1a", "weight": 2.5, "fill": False}).add_to(m)
    if roads:
        _GeoJsonLayer(base.motorways, name="Motorways",
                      style={"color": "#4a4a4a", "weight": 3.5, "opacity": 0.9,
                             "className": "hs-mway"},
                      attribution=_esc(ATTRIBUTION["os_roads"])).add_to(m)
        _GeoJsonLayer(base.junctions, name="SRN junctions",
                      point_style={"radius": 4, "color": "#262626", "weight": 1.5,
                                   "fillColor": "#ffffff", "fillOpacity": 1.0},
                      attribution=_esc(ATTRIBUTION["national_highways"])).add_to(m)
    _GeoJsonLayer(base.services, name="Service areas (OpenStreetMap)", point="label",
                  label_class="hs-svc", show=show_services,
                  attribution=_esc(ATTRIBUTION["osm"])).add_to(m)
    if hotspots is not None and len(hotspots):
        feats = hotspot_features(hotspots)
        polys = _collection(f for f in feats["features"] if f["geometry"]["type"] != "Point")
        ranks = _collection(f for f in feats["features"] if f["geometry"]["type"] == "Point")
        group = folium.FeatureGroup(name="Hotspot areas", overlay=True, control=True, show=True)
        halo = _GeoJsonLayer(polys, name="Hotspot areas (halo)", control=False,
                             interactive=False, style={"color": "#ffffff", "weight": 5,
                                                       "opacity": 0.9, "fill": False})
        halo.add_to(group)
        _GeoJsonLayer(halo, name="Hotspot areas (outline)", control=False,
                      style={"color": HOTSPOT_COLOUR, "weight": 2.2, "fill": True,
                             "fillColor": "#ffffff", "fillOpacity": 0.04,
                             "className": "hs-hotspot"},
                      attribution=_esc(ATTRIBUTION["police_uk"])).add_to(group)
        _GeoJsonLayer(ranks, name="Hotspot ranks", point="label", label_class="hs-rank",
                      control=False, interactive=False).add_to(group)
        group.add_to(m)
    for overlay in overlays:
        overlay.add_to(m)
    if any(layer.points for layer in counts):
        # Above the hotspot outlines, below the labels (markers, 600).
        folium.map.CustomPane(_COUNT_PANE, z_index=450, pointer_events=True).add_to(m)
    largest = max((layer.max_count for layer in counts), default=0)
    for layer in counts:  # one size scale for all layers: equal counts, equal symbols
        if layer.points:
            _CountSymbols(layer, max_count=largest).add_to(m)
    _GeoJsonLayer(base.context_labels, name="Neighbouring district names", point="label",
                  label_class="hs-clabel", control=False, interactive=False).add_to(m)
    _GeoJsonLayer(base.district_labels, name="District names", point="label",
                  label_class="hs-dlabel", interactive=False).add_to(m)
    _GeoJsonLayer(base.motorway_labels, name="Motorway names", point="label",
                  label_class="hs-mlabel", control=False, interactive=False).add_to(m)
    if legend is not None:
        _LegendControl(legend_html(legend)).add_to(m)
    folium.LayerControl(position="topright", collapsed=True).add_to(m)
    m.fit_bounds(_bounds_latlon(view), padding=(12, 12))
    return m


# --------------------------------------------------------------------------------------------
# Offline HTML
# --------------------------------------------------------------------------------------------


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
              f"<script>/*! Leaflet {_esc(assets.version)}, inlined from the installed "
              f"django-js-lib-leaflet package.\n{licence}\n*/\n{assets.js}</script>")
    m.get_root().header.add_child(Element(inline), name="hs_leaflet_inline", index=0)
    page = m.get_root().render()
    bad = remote_references(page)
    if bad:
        raise ParameterError("the map would load files from " + ", ".join(sorted(set(bad)))
                             + "; it must work offline")
    return page
