"""The basemap of the map snapshots: the shipped boundaries and motorways drawn with matplotlib.

The colours match the dashboard's map; the drawing helpers turn shapely geometries into
matplotlib paths and lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import LineCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.spatial.boundaries import area_geometry, context_districts, forces_districts

# Basemap colours, matching the dashboard's map (hotspots.maps).
SEA = "#dcdcd6"
CONTEXT_FILL, CONTEXT_EDGE = "#e4e4df", "#9a9a94"
LAND = "#fbfbf8"
DISTRICT_EDGE = "#3c3c3c"
COUNTY_EDGE = "#1a1a1a"
AREA_EDGE = "#0072B2"  # Okabe-Ito blue: the selected district
ROAD = "#4a4a4a"
HOTSPOT = "#000000"
SITE = "#D55E00"  # Okabe-Ito vermillion
SERVICES = "#333333"
TEXT = "#1a1a1a"
MUTED = "#555555"


# --------------------------------------------------------------------------------------------
# Geometry drawing
# --------------------------------------------------------------------------------------------


def polygon_path(geom: BaseGeometry) -> MplPath | None:
    """One compound matplotlib path for (multi)polygons; holes become holes."""
    verts, codes = [], []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)[:, :2]
            if len(xy) < 3:
                continue
            verts.append(xy)
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0] = MplPath.MOVETO
            c[-1] = MplPath.CLOSEPOLY
            codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def draw_polygons(ax, geoms, **style) -> None:
    for g in geoms:
        if g is None or g.is_empty:
            continue
        path = polygon_path(g)
        if path is not None:
            ax.add_patch(PathPatch(path, **style))


def line_coords(geoms) -> list[np.ndarray]:
    out = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        for part in getattr(g, "geoms", [g]):
            if part.geom_type in ("LineString", "LinearRing") and len(part.coords) > 1:
                out.append(np.asarray(part.coords)[:, :2])
            elif part.geom_type in ("Polygon",):
                out.append(np.asarray(part.exterior.coords)[:, :2])
    return out


def halo(width: float = 2.5, colour: str = "white") -> list:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground=colour)]


class Basemap:
    """The shipped boundaries and motorways (National Highways HAPMS) within a view."""

    def __init__(self, settings: Settings, view: tuple[float, float, float, float],
                 forces: Sequence[str] | None = None) -> None:
        xmin, xmax, ymin, ymax = view
        self.view = view
        self.box = shapely.box(xmin, ymin, xmax, ymax)
        self.settings = settings
        chosen = list(forces) if forces else [settings.force]
        self.county = gpd.GeoDataFrame(
            geometry=[area_geometry(None, settings, forces=chosen)], crs="EPSG:27700")
        self.districts = forces_districts(chosen, settings)
        # The view's own extent decides what context shows; 100 km covers any page's margin.
        context = context_districts(chosen, settings, within_m=100_000.0)
        self.context = context[context.intersects(self.box)]

    def _inset(self, share: float) -> BaseGeometry:
        xmin, xmax = self.view[:2]
        return self.box.buffer(-share * (xmax - xmin))

    def draw_under(self, ax) -> None:
        draw_polygons(ax, self.context.geometry, facecolor=CONTEXT_FILL,
                       edgecolor=CONTEXT_EDGE, linewidth=0.5, zorder=1)
        inset = self._inset(0.03)
        county = self.county.geometry.union_all()
        for name, pt in zip(self.context["name"], self.context.geometry.representative_point(),
                            strict=True):
            # Neighbours' names only where they cannot run into the force area.
            if inset.contains(pt) and pt.distance(county) > 6000:
                ax.text(pt.x, pt.y, str(name), fontsize=7, color="#85857f", style="italic",
                        ha="center", va="center", zorder=2, clip_on=True)
        draw_polygons(ax, self.county.geometry, facecolor=LAND, edgecolor="none", zorder=2)

    def draw_over(self, ax) -> None:
        # Exterior rings only: the districts are dissolved from LSOAs and carry thousands of
        # zero-area interior rings that would read as boundaries.
        rings = [p.exterior for g in self.districts.geometry for p in getattr(g, "geoms", [g])
                 if p.geom_type == "Polygon"]
        for xy in line_coords(rings):
            ax.plot(xy[:, 0], xy[:, 1], color=DISTRICT_EDGE, lw=0.7, ls=(0, (4, 3)), zorder=4)
        for xy in line_coords([self.county.geometry.union_all().boundary]):
            ax.plot(xy[:, 0], xy[:, 1], color=COUNTY_EDGE, lw=1.6, zorder=5)
        for name, pt in zip(self.districts["name"],
                            self.districts.geometry.representative_point(), strict=True):
            if self.box.contains(pt):
                ax.text(pt.x, pt.y, str(name).upper(), fontsize=7, fontweight="bold",
                        color="#3a3a3a", ha="center", va="center", zorder=4.5, alpha=0.7,
                        path_effects=halo(2.0), clip_on=True)

    def draw_roads(self, ax, services: bool) -> None:
        from hotspots.base_layers import srn_context

        mways, _, svc = srn_context(self.settings, self.box.buffer(2000))
        segs = line_coords(mways.geometry)
        if segs:
            for colour, width, z in (("white", 3.2, 6), (ROAD, 1.9, 6.1)):
                ax.add_collection(LineCollection(segs, colors=colour, linewidths=width,
                                                 zorder=z, capstyle="round",
                                                 joinstyle="round"))
        inset = self._inset(0.02)
        for ref, line in zip(mways["ref"], mways.geometry, strict=True):
            pieces = sorted(getattr(line, "geoms", [line]), key=lambda g: -g.length)
            for piece in pieces[:2]:
                if piece.length < 6000 and piece is not pieces[0]:
                    continue
                p = piece.interpolate(0.5, normalized=True)
                if inset.contains(p):
                    ax.text(p.x, p.y, str(ref), fontsize=6.5, fontweight="bold", color="white",
                            ha="center", va="center", zorder=10, clip_on=True,
                            bbox={"boxstyle": "round,pad=0.18", "fc": ROAD, "ec": "white",
                                  "lw": 0.6})
        if services:
            svc = svc[svc.intersects(self.box)]
            ax.scatter(svc.geometry.x, svc.geometry.y, marker="s", s=22, c="white",
                       edgecolors=SERVICES, linewidths=0.9, zorder=7)


# --------------------------------------------------------------------------------------------
# The street basemap
# --------------------------------------------------------------------------------------------

# Road colours (fill, casing) and widths in points at zoom 14, as the dashboard's map.
STREET_STYLE: dict[str, tuple[str, str, float]] = {
    "motorway": ("#e7a66f", "#9c6233", 2.6), "trunk": ("#f0c18f", "#a8773f", 2.3),
    "primary": ("#f6dba6", "#a88a52", 2.1), "secondary": ("#fbf1c6", "#a39868", 1.9),
    "tertiary": ("#ffffff", "#999999", 1.6), "minor": ("#ffffff", "#a3a3a3", 1.2),
    "pedestrian": ("#f1f0ee", "#b3b3b3", 1.0)}
LAND_STYLE: dict[str, str] = {
    "residential": "#ecebe6", "retail": "#f4e1df", "commercial": "#f2e7df",
    "industrial": "#e9e3ed", "school": "#f3efd9", "college": "#f3efd9",
    "university": "#f3efd9", "hospital": "#f3e4e4", "cemetery": "#dde9d5", "pitch": "#d9ebcf",
    "park": "#d9ebcf", "railway": "#e6e3e0", "water": "#c9deef"}


def web_zoom(metres_per_px: float, dpi: float) -> float:
    """The web-map zoom showing as much detail: metres per CSS pixel (1/96 in) at 52.4° N."""
    per_css_px = metres_per_px * dpi / 96.0
    return float(np.log2(95_500.0 / max(per_css_px, 1e-6)))


def street_zoom(ax, view: tuple[float, float, float, float], dpi: float) -> float:
    """The web zoom of an axes showing ``view`` (xmin, xmax, ymin, ymax)."""
    width_px = ax.get_window_extent().width
    return web_zoom((view[1] - view[0]) / max(width_px, 1.0), dpi)


class StreetBasemap:
    """The street basemap's layers within a view, drawn at the detail of the view's scale."""

    def __init__(self, layers, view: tuple[float, float, float, float]) -> None:
        xmin, xmax, ymin, ymax = view
        self.view = view
        box = shapely.box(xmin, ymin, xmax, ymax).buffer(500)
        self.layers = layers

        def clip(frame):
            return frame.iloc[frame.sindex.query(box)] if len(frame) else frame

        self.roads = clip(layers.roads)
        self.landuse = clip(layers.landuse)
        self.water = clip(layers.water)
        self.railways = clip(layers.railways)
        self.places = clip(layers.places)

    def draw_land(self, ax, zoom: float) -> None:
        """Land use and water fills (under the density surface), from zoom 13."""
        if zoom < 12.5:
            return
        for cls, part in self.landuse.groupby("class"):
            draw_polygons(ax, part.geometry, facecolor=LAND_STYLE.get(cls, "#eeeeee"),
                          edgecolor="none", zorder=2.2)

    def draw_lines(self, ax, zoom: float) -> None:
        """Water, rail and roads by class, widths by zoom (above the density surface)."""
        from hotspots.street_tiles import LEVELS, OVERVIEW_CLASSES

        scale = float(np.clip(1.5 ** (zoom - 14), 0.35, 4.0))
        segs = line_coords(self.water.geometry)
        if segs:
            ax.add_collection(LineCollection(segs, colors="#8fb6d6",
                                             linewidths=max(0.5, scale), zorder=3.2))
        wards = self.layers.wards
        if zoom >= 11.5 and len(wards):
            segs = line_coords(wards.geometry.boundary)
            ax.add_collection(LineCollection(segs, colors="#8a6fa3", linewidths=0.7,
                                             linestyles=(0, (5, 3)), alpha=0.75, zorder=3.25))
        segs = line_coords(self.railways.geometry)
        if segs:
            ax.add_collection(LineCollection(segs, colors="#7a7a7a",
                                             linewidths=max(0.6, 1.4 * scale), zorder=3.3))
        classes = OVERVIEW_CLASSES
        for level in LEVELS:
            if zoom >= level.min_zoom - 0.5:
                classes = level.classes
        order = [c for c in reversed(list(STREET_STYLE)) if c in classes]
        for casing in (True, False):
            for k, cls in enumerate(order):
                part = self.roads[self.roads["class"] == cls]
                fill, edge, width = STREET_STYLE[cls]
                w = max(0.35, width * scale)
                if casing and w < 0.9:
                    continue
                segs = line_coords(part.geometry)
                if segs:
                    ax.add_collection(LineCollection(
                        segs, colors=edge if casing else fill,
                        linewidths=w + 0.9 if casing else w, capstyle="round",
                        joinstyle="round", zorder=(3.4 if casing else 3.6) + k * 0.01))

    def draw_names(self, ax, zoom: float, blocked_xy: np.ndarray, dpi: float) -> int:
        """Place and road names, none over another or over a hotspot rank; return how many."""
        from hotspots.street_labels import (
            label_box,
            place_labels,
            place_without_collision,
            road_labels,
        )

        cand = pd.concat([place_labels(self.places),
                          road_labels(self.roads, spacing_m=95_500.0 / 2 ** zoom * 400)],
                         ignore_index=True)
        cand = cand[cand["min_zoom"] <= zoom + 0.25]
        xmin, xmax, ymin, ymax = self.view
        cand = cand[(cand["x"] > xmin) & (cand["x"] < xmax) & (cand["y"] > ymin)
                    & (cand["y"] < ymax)].drop_duplicates(["text", "x", "y"])
        if cand.empty:
            return 0
        to_px = ax.transData.transform
        sizes = {"city": 9.0, "town": 9.0, "village": 7.5, "suburb": 6.8}
        px = to_px(cand[["x", "y"]].to_numpy(dtype=float))
        boxes, fonts = [], []
        for (x, y), text, kind, angle in zip(px, cand["text"], cand["kind"], cand["angle"],
                                             strict=True):
            fs = sizes.get(kind, 6.0)
            w = len(str(text)) * fs * 0.58 * dpi / 72 + 6
            h = fs * 1.4 * dpi / 72
            boxes.append(label_box(x, y, w, h, angle))
            fonts.append(fs)
        blocked = np.asarray([(x - 30, y - 10, x + 30, y + 60 * dpi / 150)
                              for x, y in to_px(blocked_xy)] if len(blocked_xy) else [])
        keep = place_without_collision(np.asarray(boxes), cand["priority"].to_numpy(), blocked)
        for ok, (_, row), fs in zip(keep, cand.iterrows(), fonts, strict=True):
            if not ok:
                continue
            place = row["kind"] in sizes or row["kind"] in ("hamlet", "neighbourhood",
                                                            "locality")
            ax.text(row["x"], row["y"], str(row["text"]), fontsize=fs,
                    fontweight="bold" if row["kind"] in ("city", "town") else "normal",
                    style="italic" if row["kind"] in ("hamlet", "neighbourhood") else "normal",
                    color=TEXT if place else "#2f2f2f", rotation=row["angle"],
                    rotation_mode="anchor", ha="center", va="center", zorder=9,
                    path_effects=halo(1.6), clip_on=True)
        return int(keep.sum())
