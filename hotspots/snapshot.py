"""Print-ready PNG snapshots of a hotspot map, drawn on the server with matplotlib (no browser)."""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrow, Patch, Rectangle
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import ParameterError
from hotspots.models.kde import Surface
from hotspots.snapshot_basemap import (
    AREA_EDGE,
    CONTEXT_EDGE,
    CONTEXT_FILL,
    COUNTY_EDGE,
    DISTRICT_EDGE,
    HOTSPOT,
    LAND,
    MUTED,
    ROAD,
    SEA,
    SERVICES,
    SITE,
    TEXT,
    Basemap,
    StreetBasemap,
    draw_polygons,
    halo,
    line_coords,
    street_zoom,
)
from hotspots.streets import read_street_layers
from hotspots.wording import format_density_1dp, format_km, groups_label

__all__ = [
    "ATTRIBUTION",
    "CLIP_PERCENTILE",
    "GAMMA",
    "SIZES",
    "attribution_lines",
    "density_colours",
    "render_map_png",
    "scale_bar_length",
]

#: Output sizes: name -> (width px, height px, dpi). A4 landscape at 300 dpi; Full HD screen.
SIZES: dict[str, tuple[int, int, int]] = {
    "a4": (3508, 2480, 300),
    "hd": (1920, 1080, 150),
    # A4 at 200 dpi: the tasking pack's page (the same layout in inches, drawn in half the time).
    "a4_pack": (2339, 1654, 200),
}

#: Attribution statements of the shipped data, as data/README.md gives them.
ATTRIBUTION: dict[str, str] = {
    "police_uk": "police.uk: Contains public sector information licensed under the Open "
                 "Government Licence v3.0.",
    "ons": "ONS boundaries: Source: Office for National Statistics licensed under the Open "
           "Government Licence v.3.0. Contains OS data © Crown copyright and database right "
           "2012/2014/2016.",
    "ons_national": "ONS force areas and districts: Source: Office for National Statistics "
                    "licensed under the Open Government Licence v3.0. Contains OS data © Crown "
                    "copyright and database right 2024.",
    "os_roads": "OS OpenRoads: Contains OS data © Crown copyright and database right 2024",
    "hapms": "National Highways HAPMS roads: Contains National Highways data © Crown copyright "
             "and database right, licensed under the Open Government Licence v3.0.",
    "national_highways": "Contains National Highways data © Crown copyright, licensed under "
                         "OGL v3.0. SRN graph by T. Strain, R.E. Wilson, R. Littleworth, "
                         "Transportation Research Record 2677(1), 2023, "
                         "doi:10.1177/03611981221103243",
    "osm": "OpenStreetMap services: © OpenStreetMap contributors, available under the Open "
           "Database Licence (openstreetmap.org/copyright)",
    "osm_streets": "Streets, places, rail, water and land use: © OpenStreetMap contributors, "
                   "available under the Open Database Licence (openstreetmap.org/copyright); "
                   "wards: Source: Office for National Statistics licensed under the Open "
                   "Government Licence v.3.0",
}

#: Top of the colour scale: this percentile of the positive densities in the area (as the
#: dashboard's map), so a few extreme cells do not wash out every other hotspot.
CLIP_PERCENTILE = 99.0
#: Colour position = (density / vmax) ** GAMMA: a square-root scale, as the dashboard's map.
GAMMA = 0.5
#: viridis is perceptually uniform and safe for the common colour-vision deficiencies;
#: reversed so that dense is dark on a light map.
CMAP = "viridis_r"
_MAX_ALPHA = 0.85
_ALPHA_RAMP = 0.1  # colour positions below this fade towards the land colour

# --------------------------------------------------------------------------------------------
# Small helpers (public where other exports use them)
# --------------------------------------------------------------------------------------------


def attribution_lines(*, roads: bool = True, junctions: bool = False,
                      services: bool = False, streets: bool = False) -> list[str]:
    """Return the attribution statements for the layers a map or report shows.

    police.uk and ONS always apply (crime data, the detailed and the national boundaries);
    National Highways HAPMS when the SRN's roads are drawn; National Highways (HATRIS) when
    SRN junctions are; OpenStreetMap when services are, and OpenStreetMap with the ONS wards
    when the street basemap is.
    """
    keys = ["police_uk", "ons", "ons_national"]
    if roads:
        keys.append("hapms")
    if junctions:
        keys.append("national_highways")
    if services:
        keys.append("osm")
    if streets:
        keys.append("osm_streets")
    return [ATTRIBUTION[k] for k in keys]


def scale_bar_length(map_width_m: float, fraction: float = 0.2) -> float:
    """Return a round scale-bar length (1, 2 or 5 x 10^k metres) near ``fraction`` of the width.

    Parameters
    ----------
    map_width_m : float
        Width of the map's view, metres (British National Grid).
    fraction : float, default 0.2
        Target share of the width.

    Returns
    -------
    float
        The largest 1/2/5 x 10^k metres not above ``fraction * map_width_m``.
    """
    if not (map_width_m > 0 and math.isfinite(map_width_m)):
        raise ParameterError(f"map width must be a positive number of metres, got {map_width_m}")
    target = map_width_m * fraction
    k = math.floor(math.log10(target))
    best = 10.0 ** k
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0 ** k <= target:
            best = m * 10.0 ** k
    return best


def density_colours(t: np.ndarray) -> np.ndarray:
    """Return opaque RGB colours for colour positions ``t`` (0..1), as drawn on the land colour.

    Low positions fade towards the land colour, as on the dashboard's map; the colour bar and
    the map use this one function, so the legend matches the map exactly.
    """
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    rgba = colormaps[CMAP](t)
    alpha = _MAX_ALPHA * np.clip(t / _ALPHA_RAMP, 0.0, 1.0)
    land = np.asarray(to_rgb(LAND))
    return rgba[..., :3] * alpha[..., None] + land * (1.0 - alpha[..., None])


def _clip_vmax(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    peak = float(finite.max()) if finite.size else 0.0
    positive = finite[finite > 0]
    vmax = float(np.percentile(positive, CLIP_PERCENTILE)) if positive.size else 0.0
    return vmax, peak


def _points(frame: pd.DataFrame | gpd.GeoDataFrame | None, what: str
            ) -> tuple[np.ndarray, np.ndarray] | None:
    """x, y (BNG) of a point frame: its geometry (any CRS) or its x/y columns."""
    if frame is None or len(frame) == 0:
        return None
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry is not None \
            and frame.crs is not None:
        g = frame.geometry.to_crs(27700)
        pts = g.representative_point() if not (g.geom_type == "Point").all() else g
        return pts.x.to_numpy(float), pts.y.to_numpy(float)
    if isinstance(frame, pd.DataFrame) and {"x", "y"} <= set(frame.columns):
        return (frame["x"].to_numpy(dtype=float, na_value=np.nan),
                frame["y"].to_numpy(dtype=float, na_value=np.nan))
    raise ParameterError(f"{what} need point geometry with a CRS or x/y columns in EPSG:27700")


def _label_of(row: Mapping[str, Any], keys: Sequence[str]) -> str:
    for k in keys:
        v = row.get(k)
        if v is not None and not (isinstance(v, float) and math.isnan(v)) and str(v).strip():
            return str(v)
    return ""


def _first_location(value: Any) -> str:
    """'On or near A (12); On or near B (3)' -> 'On or near A'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if not isinstance(value, str):
        value = "; ".join(str(v) for v in value)
    first = value.split(";")[0].strip()
    if first.endswith(")") and "(" in first:
        first = first[:first.rfind("(")].strip()
    return first


def _view(geom: BaseGeometry, aspect: float, pad: float = 0.04
          ) -> tuple[float, float, float, float]:
    """Bounds around ``geom`` grown by ``pad`` and widened to the axes' width/height ratio."""
    xmin, ymin, xmax, ymax = geom.bounds
    w, h = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
    xmin, xmax = xmin - pad * w, xmax + pad * w
    ymin, ymax = ymin - pad * h, ymax + pad * h
    w, h = xmax - xmin, ymax - ymin
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


# --------------------------------------------------------------------------------------------
# The renderer
# --------------------------------------------------------------------------------------------

class _Page:
    """A figure laid out in inches from its edges (same physical sizes on A4 and on 1080p)."""

    margin = 0.3  # outer margin
    band = 0.26  # protective marking band
    head = 0.78  # title and subtitle block
    foot = 0.62  # attribution and creation line
    gap = 0.22  # between the map and the panel

    def __init__(self, size: str) -> None:
        wpx, hpx, self.dpi = SIZES[size]
        self.W, self.H = wpx / self.dpi, hpx / self.dpi
        self.fig = Figure(figsize=(self.W, self.H), dpi=self.dpi, facecolor="white")
        FigureCanvasAgg(self.fig)
        self.panel_w = max(2.9, 0.27 * self.W)
        self.top = self.H - self.margin - self.band
        self.map_x0 = self.margin
        self.map_x1 = self.W - self.margin - self.panel_w - self.gap
        self.map_y0 = self.margin + self.band + self.foot
        self.map_y1 = self.top - self.head
        self.panel_x0 = self.W - self.margin - self.panel_w

    def rect(self, x0: float, y0: float, w: float, h: float) -> tuple[float, ...]:
        """Figure-fraction rectangle from inches."""
        return (x0 / self.W, y0 / self.H, w / self.W, h / self.H)

    def text(self, x: float, y: float, s: str, **kw) -> None:
        """Text at (x, y) inches."""
        kw.setdefault("color", TEXT)
        self.fig.text(x / self.W, y / self.H, s, **kw)


def render_map_png(surface: Surface | None = None, hotspots: gpd.GeoDataFrame | None = None, *,
                   area_geometry: BaseGeometry, title: str, period: str = "",
                   groups: Sequence[str] | str | None = None, method_text: str = "",
                   marking: str | None = None, size: str = "a4", area: str = "",
                   subtitle: str = "", sites: pd.DataFrame | None = None,
                   junctions: pd.DataFrame | None = None, services: bool = False,
                   label_top: int = 10, sites_label: str = "Disruption site",
                   hotspots_label: str = "Hotspot area",
                   created: datetime | None = None,
                   forces: Sequence[str] | None = None, settings: Settings) -> bytes:
    """Render a hotspot map to a print-ready PNG, with no browser and no network.

    Parameters
    ----------
    surface : Surface, optional
        Kernel density surface (:func:`hotspots.models.kde.kernel_density`); drawn inside
        ``area_geometry`` on a square-root colour scale topped at the 99th percentile of the
        positive densities (denser cells take the top colour), viridis reversed.
    hotspots : geopandas.GeoDataFrame, optional
        Hotspot polygons (:func:`hotspots.models.areas.hotspot_areas`), outlined; the first
        ``label_top`` by ``rank`` carry their rank and are listed in the key with their most
        frequent location name, district and incidents.
    area_geometry : shapely geometry
        Study area in EPSG:27700; sets the view and masks the surface.
    title : str
        Map title.
    period : str
        Period in words, e.g. ``"Jan–Mar 2025"``.
    groups : sequence of str or str, optional
        Crime groups or types shown.
    method_text : str
        Method and parameters (e.g. :func:`hotspots.wording.method_statement`); printed in full.
    marking : str, optional
        Protective marking printed top and bottom. Default ``settings.marking``
        (``"OFFICIAL-SENSITIVE"`` unless configured).
    size : {"a4", "hd", "a4_pack"}
        ``"a4"``: A4 landscape at 300 dpi, 3508 x 2480 px. ``"hd"``: 1920 x 1080 px.
        ``"a4_pack"``: A4 landscape at 200 dpi, for the tasking pack's page.
    area : str
        The area in words, e.g. ``"Rugby"``.
    subtitle : str
        An extra line under the title.
    sites : pandas.DataFrame, optional
        Points to mark as numbered triangles (e.g. disruption sites): point geometry with a
        CRS, or ``x``/``y`` in EPSG:27700; numbered by ``rank``, else by their order.
    junctions : pandas.DataFrame, optional
        SRN junctions (e.g. :func:`hotspots.spatial.corridors.junction_stats`): ``x``/``y`` or
        geometry; the five with most ``incidents`` are named.
    services : bool
        Draw the OpenStreetMap motorway services (adds the OSM attribution).
    label_top : int
        How many hotspots to number on the map and list in the key.
    sites_label : str
        Legend text for ``sites``.
    hotspots_label : str
        Legend text for ``hotspots`` (e.g. ``"Gi* hot spot area (90%+ confidence)"``).
    created : datetime, optional
        Creation time printed on the map; default now (UTC).
    forces : sequence of str, optional
        The selected forces (slugs): their outline and districts are drawn, the districts
        around them are context. Default ``settings.force``.
    settings : Settings
        Where the shipped boundaries and roads are. Tiles are never drawn, whatever
        ``settings.tiles_url`` says: the snapshot is built only from shipped data.

    Returns
    -------
    bytes
        PNG image, exactly the pixel size of ``size``.

    Raises
    ------
    ParameterError
        Unknown size, empty marking or title, an empty area geometry, a surface of the wrong
        type.
    InputError
        A shipped boundary or road file is missing.
    """
    _check_inputs(surface, hotspots, area_geometry=area_geometry, size=size)
    marking = _marking(settings.marking if marking is None else marking)
    if not str(title).strip():
        raise ParameterError("the map needs a title")
    created = created or datetime.now(UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)

    page = _Page(size)
    _draw_header(page, marking, str(title), area, period, groups, subtitle)
    ax = page.fig.add_axes(page.rect(page.map_x0, page.map_y0, page.map_x1 - page.map_x0,
                                     page.map_y1 - page.map_y0))
    aspect = (page.map_x1 - page.map_x0) / (page.map_y1 - page.map_y0)
    view = _view(area_geometry, aspect)
    _setup_axes(ax, view)
    layers = Basemap(settings, view, forces)
    street_layers = read_street_layers(settings)
    streets = (StreetBasemap(street_layers, view)
               if street_layers is not None and not street_layers.roads.empty else None)
    zoom = street_zoom(ax, view, page.dpi)
    layers.draw_under(ax)
    if streets is not None:
        streets.draw_land(ax, zoom)
    scale = _draw_surface(ax, surface, area_geometry)
    if streets is not None:
        streets.draw_lines(ax, zoom)
    layers.draw_over(ax)
    selected = _draw_study_area(ax, area_geometry, layers.county)
    layers.draw_roads(ax, services)
    jxy = _draw_junctions(ax, junctions, view)
    key_rows = _draw_hotspots(ax, hotspots, layers.districts, max(0, int(label_top)),
                              fill=surface is None)
    sxy = _draw_sites(ax, sites)
    if streets is not None:
        streets.draw_names(ax, zoom, _rank_points(hotspots, max(0, int(label_top))), page.dpi)
    _scale_bar(ax, *view)
    _north_arrow(ax)
    _draw_panel(page, surface, scale, hotspots, key_rows, sites if sxy is not None else None,
                str(sites_label), jxy is not None, services, method_text,
                max(0, int(label_top)), selected, str(hotspots_label))
    _draw_footer(page, jxy is not None, services, created, streets is not None)

    buf = io.BytesIO()
    page.fig.savefig(buf, format="png", dpi=page.dpi, facecolor="white",
                     metadata={"Title": str(title), "Software": "hotspots",
                               "Description": f"{marking}. {method_text}".strip(),
                               "Creation Time": created.astimezone(UTC).isoformat()})
    return buf.getvalue()


def _check_inputs(surface: Any, hotspots: Any, *, area_geometry: Any, size: str) -> None:
    """Refuse an unknown size, an empty area and layers of the wrong type."""
    if size not in SIZES:
        raise ParameterError(f"unknown map size {size!r}; choose 'a4' (3508 x 2480 px, 300 dpi) "
                             "or 'hd' (1920 x 1080 px)")
    if not isinstance(area_geometry, BaseGeometry) or area_geometry.is_empty:
        raise ParameterError("area_geometry must be a non-empty shapely polygon in EPSG:27700")
    if surface is not None and not isinstance(surface, Surface):
        raise ParameterError(f"surface must be a kde Surface, got {type(surface).__name__}")
    if hotspots is not None and not isinstance(hotspots, gpd.GeoDataFrame):
        raise ParameterError("hotspots must be a GeoDataFrame of hotspot polygons")


def _marking(marking: Any) -> str:
    """The protective marking on one line; an empty one is refused."""
    marking = " ".join(str(marking).split())
    if not marking:
        raise ParameterError("the protective marking is empty; give one, e.g. OFFICIAL")
    return marking


def _draw_header(page: _Page, marking: str, title: str, area: str, period: str, groups,
                 subtitle: str) -> None:
    m = page.margin
    for y, va in ((page.H - m * 0.55, "top"), (m * 0.55, "bottom")):
        page.text(page.W / 2, y, marking, ha="center", va=va, fontsize=11, fontweight="bold",
                  bbox={"boxstyle": "square,pad=0.3", "fc": "white", "ec": TEXT, "lw": 1.0})
    page.text(m, page.top, title, ha="left", va="top", fontsize=19, fontweight="bold")
    parts = [p for p in (area, period, groups_label(groups) if groups is not None else "") if p]
    if subtitle:
        parts.append(subtitle)
    if parts:
        page.text(m, page.top - 0.40, "  ·  ".join(parts), ha="left", va="top", fontsize=11.5,
                  color=MUTED)


def _setup_axes(ax, view: tuple[float, float, float, float]) -> None:
    xmin, xmax, ymin, ymax = view
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal", adjustable="box")
    ax.set_facecolor(SEA)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor(TEXT)
        spine.set_linewidth(0.8)


def _draw_study_area(ax, area: BaseGeometry, county: gpd.GeoDataFrame) -> bool:
    """Outline the study area when it is not the whole force area; say whether it was."""
    whole = county.geometry.union_all()
    if area.symmetric_difference(whole).area <= 0.001 * whole.area:
        return False
    rings = [p.exterior for p in getattr(area, "geoms", [area]) if p.geom_type == "Polygon"]
    for xy in line_coords(rings):
        ax.plot(xy[:, 0], xy[:, 1], color=AREA_EDGE, lw=2.2, zorder=5.5, alpha=0.9)
    return True


def _draw_surface(ax, surface: Surface | None, area: BaseGeometry) -> tuple[float, float]:
    """Draw the density inside ``area``; return (top of the colour scale, peak)."""
    if surface is None:
        return 0.0, 0.0
    vals = np.array(surface.values, dtype=float)  # a copy: the caller's surface stays as it is
    vals[~surface.grid.mask(area)] = np.nan
    vmax, peak = _clip_vmax(vals)
    if vmax > 0:
        t = np.minimum(np.where(vals > 0, vals, np.nan) / vmax, 1.0) ** GAMMA
        rgb = density_colours(np.nan_to_num(t, nan=0.0))
        rgba = np.concatenate([rgb, np.isfinite(t)[..., None].astype(float)], axis=-1)
        # Grid rows run south to north: origin="lower" puts row 0 at the bottom.
        ax.imshow(rgba, origin="lower", extent=surface.grid.extent, interpolation="nearest",
                  zorder=3)
    return vmax, peak


def _draw_junctions(ax, junctions: pd.DataFrame | None, view) -> tuple | None:
    jxy = _points(junctions, "junctions")
    if jxy is None:
        return None
    xmin, xmax, ymin, ymax = view
    ax.scatter(jxy[0], jxy[1], s=16, c="white", edgecolors="#262626", linewidths=0.9,
               zorder=7.5)
    if "incidents" in junctions.columns:
        counts = junctions["incidents"].to_numpy(dtype=float, na_value=0)
        for i in np.argsort(-counts, kind="stable")[:5]:
            name = _label_of(junctions.iloc[int(i)], ("name", "junction_names"))
            x, y = jxy[0][i], jxy[1][i]
            if name and counts[i] > 0 and xmin < x < xmax and ymin < y < ymax:
                ax.annotate(name, (x, y), xytext=(4, -4), textcoords="offset points",
                            fontsize=6, color="#262626", va="top", zorder=11,
                            path_effects=halo(1.8))
    return jxy


def _draw_hotspots(ax, hotspots: gpd.GeoDataFrame | None, districts: gpd.GeoDataFrame,
                   label_top: int, fill: bool = False) -> list[tuple[str, str]]:
    """Outline the hotspot areas, number the first ``label_top``; return the key's rows.

    With ``fill`` (no density surface under them) the areas are also shaded, so they read as
    areas rather than as outlines of nothing.
    """
    if hotspots is None or not len(hotspots):
        return []
    hs = hotspots.to_crs(27700) if hotspots.crs is not None else hotspots
    if "rank" in hs.columns:
        hs = hs.sort_values("rank", kind="stable")
    if fill:
        draw_polygons(ax, hs.geometry, facecolor=HOTSPOT, edgecolor="none", alpha=0.35,
                       zorder=7.9)
    draw_polygons(ax, hs.geometry, facecolor="none", edgecolor="white", linewidth=2.4,
                   zorder=8)
    draw_polygons(ax, hs.geometry, facecolor="none", edgecolor=HOTSPOT, linewidth=1.0,
                   zorder=8.1)
    dgeoms, dnames = list(districts.geometry), [str(n) for n in districts["name"]]
    rows = []
    for k, (_, row) in enumerate(hs.head(label_top).iterrows()):
        rank = int(row["rank"]) if "rank" in hs.columns else k + 1
        geom = row.geometry
        part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
        # Number the area just above its northernmost vertex: on the polygon, yet covering
        # none of its density.
        xy = np.asarray(part.exterior.coords)
        tx, ty = xy[int(np.argmax(xy[:, 1]))][:2]
        ax.annotate(str(rank), (tx, ty), xytext=(0, 3), textcoords="offset points",
                    fontsize=7.5, fontweight="bold", color=TEXT, ha="center", va="bottom",
                    zorder=12, clip_on=True,
                    bbox={"boxstyle": "round,pad=0.18", "fc": "white", "ec": TEXT, "lw": 0.7})
        # "On or near" is on every police.uk name: the key says it once, in its heading.
        loc = re.sub(r"^On or near\s+", "", _first_location(row.get("top_locations")),
                     flags=re.I) or "(no location name)"
        rp = part.representative_point()
        place = next((n for g, n in zip(dgeoms, dnames, strict=True) if g.contains(rp)), "")
        n = row.get("incidents")
        count = f" ({int(n):,})" if n is not None and not pd.isna(n) else ""
        rows.append((str(rank), f"{loc} · {place}{count}" if place else f"{loc}{count}"))
    return rows


def _draw_sites(ax, sites: pd.DataFrame | None) -> tuple | None:
    sxy = _points(sites, "sites")
    if sxy is None:
        return None
    ax.scatter(sxy[0], sxy[1], marker="^", s=46, c=SITE, edgecolors="white", linewidths=0.9,
               zorder=9)
    for k in range(min(len(sites), 20)):
        rank = sites["rank"].iloc[k] if "rank" in sites.columns else k + 1
        ax.annotate(str(rank), (sxy[0][k], sxy[1][k]), xytext=(0, -6),
                    textcoords="offset points", fontsize=6.5, fontweight="bold", color=SITE,
                    ha="center", va="top", zorder=12, path_effects=halo(2.0))
    return sxy


def _draw_panel(page: _Page, surface: Surface | None, scale: tuple[float, float],
                hotspots, key_rows: list[tuple[str, str]], sites, sites_label: str,
                junctions: bool, services: bool, method_text: str, label_top: int,
                selected: bool, hotspots_label: str = "Hotspot area") -> None:
    """Legend, colour bar, hotspot key and method, in the column right of the map."""
    x0, w = page.panel_x0, page.panel_w
    y = page.map_y1
    fs = 8.5

    def heading(text: str, y: float) -> float:
        page.text(x0, y, text, fontsize=9.5, fontweight="bold", va="top", ha="left")
        return y - 0.25

    def lines(text: str, y: float, size: float, colour: str = TEXT) -> float:
        wrapped = textwrap.wrap(text, _chars(w, size))
        page.text(x0, y, "\n".join(wrapped), fontsize=size, color=colour, va="top",
                  linespacing=1.3)
        return y - len(wrapped) * size * 1.3 / 72.0

    y = heading("Legend", y)
    vmax, peak = scale
    if surface is None:
        if hotspots is None:
            y = lines("No density surface shown", y, fs, MUTED) - 0.08
    elif vmax <= 0:
        y = lines("Density: nothing above zero in the area", y, fs, MUTED) - 0.08
    else:
        units = "weight per km²" if surface.weighted else "incidents per km²"
        y = lines(f"Density, {units}", y, fs) - 0.06
        cax = page.fig.add_axes(page.rect(x0, y - 0.16, w - 0.15, 0.16))
        # The bar runs in colour position (0..1); its ticks name the densities there.
        cax.imshow(density_colours(np.linspace(0, 1, 512))[None, :, :], aspect="auto",
                   extent=(0, 1, 0, 1))
        positions = (0.0, 0.25, 0.5, 0.75, 1.0)
        labels = [format_density_1dp(vmax * p ** (1 / GAMMA)) for p in positions]
        clipped = peak > vmax * (1 + 1e-9)
        if clipped:
            labels[-1] += "+"
        cax.set_xticks(positions, labels, fontsize=7.5)
        cax.set_yticks([])
        cax.tick_params(length=2.5, pad=1.5, colors=TEXT)
        for spine in cax.spines.values():
            spine.set_linewidth(0.6)
        y -= 0.16 + 0.22
        note = "Square-root colour scale."
        if clipped:
            note += (f" Top colour: the {CLIP_PERCENTILE:g}th percentile of cells and above "
                     f"(peak {format_density_1dp(peak)}).")
        y = lines(note, y, 7.2, MUTED) - 0.08

    handles = []
    if hotspots is not None:
        n_hot = len(hotspots)
        face = (HOTSPOT, 0.35) if surface is None else "none"
        handles.append((Patch(fc=face, ec=HOTSPOT, lw=1.0),
                        f"{hotspots_label} ({n_hot:,}; top {min(label_top, n_hot)} numbered)"
                        if n_hot else f"{hotspots_label}: none selected"))
    if sites is not None:
        handles.append((Line2D([], [], ls="none", marker="^", ms=7, mfc=SITE, mec="white"),
                        f"{sites_label} ({len(sites):,}, numbered by rank)"))
    handles.append((Line2D([], [], color=ROAD, lw=2.2), "Motorway"))
    if junctions:
        handles.append((Line2D([], [], ls="none", marker="o", ms=5, mfc="white", mec="#262626"),
                        "SRN junction"))
    if services:
        handles.append((Line2D([], [], ls="none", marker="s", ms=5, mfc="white",
                               mec=SERVICES), "Motorway services (OSM)"))
    if selected:
        handles.append((Line2D([], [], color=AREA_EDGE, lw=2.2), "Selected area"))
    handles += [
        (Line2D([], [], color=COUNTY_EDGE, lw=1.6), "Force area boundary"),
        (Line2D([], [], color=DISTRICT_EDGE, lw=0.7, ls=(0, (4, 3))), "District boundary"),
        (Patch(fc=CONTEXT_FILL, ec=CONTEXT_EDGE, lw=0.5), "Neighbouring districts"),
    ]
    row_h = fs * 1.45 / 72.0
    hax_h = row_h * len(handles)
    hax = page.fig.add_axes(page.rect(x0, y - hax_h, w, hax_h))
    hax.set_axis_off()
    hax.legend([h for h, _ in handles], [t for _, t in handles], loc="upper left",
               frameon=False, fontsize=fs, borderaxespad=0, borderpad=0, handlelength=2.2,
               labelspacing=0.45, handletextpad=0.6)
    y -= hax_h + 0.18

    # The method is always printed in full; the hotspot key gets the room left above it.
    fsm = 7.5
    wrapped = textwrap.wrap(method_text, _chars(w, fsm)) if method_text else []
    method_h = (0.25 + len(wrapped) * fsm * 1.3 / 72.0) if wrapped else 0.0
    while method_h > (y - page.map_y0) * 0.6 and fsm > 5.5:
        fsm -= 0.5
        wrapped = textwrap.wrap(method_text, _chars(w, fsm))
        method_h = 0.25 + len(wrapped) * fsm * 1.3 / 72.0
    if key_rows:
        fk = 8.0
        kh = fk * 1.45 / 72.0
        room = y - 0.25 - (page.map_y0 + method_h + 0.15)
        fits = max(0, int(room / kh))
        y = heading("Hotspots: most frequent map point", y)
        shown = key_rows if fits >= len(key_rows) else key_rows[:max(0, fits - 1)]
        for rank, text in shown:
            page.text(x0, y, rank, fontsize=fk, fontweight="bold", va="top")
            page.text(x0 + 0.25, y, textwrap.shorten(text, _chars(w - 0.25, fk),
                                                     placeholder="…"), fontsize=fk, va="top")
            y -= kh
        if len(shown) < len(key_rows):
            page.text(x0, y, f"{len(key_rows) - len(shown)} more numbered on the map: see the "
                      "tasking pack table", fontsize=7.2, color=MUTED, va="top")
            y -= kh
        y -= 0.15
    if wrapped:
        y = heading("Method", y)
        page.text(x0, y, "\n".join(wrapped), fontsize=fsm, va="top", ha="left",
                  linespacing=1.3)


def _rank_points(hotspots: gpd.GeoDataFrame | None, label_top: int) -> np.ndarray:
    """Where the hotspot numbers go (the northernmost vertex, as ``_draw_hotspots``)."""
    if hotspots is None or len(hotspots) == 0 or label_top <= 0:
        return np.empty((0, 2))
    out = []
    for geom in hotspots.head(label_top).geometry:
        part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
        xy = np.asarray(part.exterior.coords)
        out.append(xy[int(np.argmax(xy[:, 1]))][:2])
    return np.asarray(out, dtype=float)


def _draw_footer(page: _Page, junctions: bool, services: bool, created: datetime,
                 streets: bool = False) -> None:
    m = page.margin
    text = "  ".join(attribution_lines(roads=True, junctions=junctions, services=services,
                                       streets=streets))
    fsa = 6.3
    wrapped = textwrap.wrap(text, _chars(page.W - 2 * m, fsa))
    while len(wrapped) > 3 and fsa > 4.8:
        fsa -= 0.3
        wrapped = textwrap.wrap(text, _chars(page.W - 2 * m, fsa))
    page.text(m, page.map_y0 - 0.08, "\n".join(wrapped), fontsize=fsa, color=MUTED, va="top",
              ha="left", linespacing=1.25)
    stamp = (f"Created {created.astimezone(UTC):%Y-%m-%d %H:%M} UTC with hotspots  ·  British "
             "National Grid (EPSG:27700), grid north up  ·  no basemap tiles: boundaries and "
             "roads from the shipped open data")
    page.text(m, m + page.band + 0.02, stamp, fontsize=6.5, color=MUTED, va="bottom",
              ha="left")


def _chars(width_in: float, fontsize: float) -> int:
    """Characters of DejaVu Sans at ``fontsize`` that fit ``width_in`` inches (average glyph)."""
    return max(10, int(width_in * 72.0 / (fontsize * 0.6)))


def _scale_bar(ax, xmin: float, xmax: float, ymin: float, ymax: float) -> None:
    """Alternating black/white bar of a round length in km, bottom left of the map."""
    length = scale_bar_length(xmax - xmin)
    w, h = xmax - xmin, ymax - ymin
    x0, y0 = xmin + 0.03 * w, ymin + 0.04 * h
    bar_h = 0.008 * h
    ax.add_patch(Rectangle((x0 - 0.012 * w, y0 - 0.022 * h), length + 0.024 * w, 0.07 * h,
                           fc="white", ec="none", alpha=0.85, zorder=20))
    n = 4 if length / 1000 >= 2 else 2
    step = length / n
    for i in range(n):
        ax.add_patch(Rectangle((x0 + i * step, y0), step, bar_h,
                               fc=TEXT if i % 2 == 0 else "white", ec=TEXT, lw=0.6,
                               zorder=21))
    for pos in (0.0, length / 2, length):
        ax.text(x0 + pos, y0 + bar_h + 0.006 * h, "0" if pos == 0 else format_km(pos),
                fontsize=7, ha="center", va="bottom", color=TEXT, zorder=22)


def _north_arrow(ax) -> None:
    """Grid north arrow, top right of the map (BNG grid north is within 1° of true north)."""
    x, y = 0.955, 0.90
    ax.add_patch(Rectangle((x - 0.03, y - 0.075), 0.06, 0.16, transform=ax.transAxes,
                           fc="white", ec="none", alpha=0.85, zorder=20))
    ax.add_patch(FancyArrow(x, y - 0.05, 0, 0.08, width=0.006, head_width=0.03,
                            head_length=0.035, length_includes_head=True,
                            transform=ax.transAxes, fc=TEXT, ec=TEXT, zorder=21))
    ax.text(x, y - 0.058, "N", transform=ax.transAxes, ha="center", va="top", fontsize=9,
            fontweight="bold", color=TEXT, zorder=22)
