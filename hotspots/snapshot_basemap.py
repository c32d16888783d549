"""The basemap of the map snapshots: the shipped boundaries and motorways drawn with matplotlib.

The colours match the dashboard's map; the drawing helpers turn shapely geometries into
matplotlib paths and lines.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.collections import LineCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath
from shapely.geometry.base import BaseGeometry

from hotspots.config import Settings
from hotspots.errors import InputError
from hotspots.spatial.boundaries import load_boundary

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
    """The shipped boundaries and motorways within a view."""

    def __init__(self, settings: Settings, view: tuple[float, float, float, float]) -> None:
        xmin, xmax, ymin, ymax = view
        self.view = view
        self.box = shapely.box(xmin, ymin, xmax, ymax)
        self.settings = settings
        self.county = load_boundary("county", settings)
        self.districts = load_boundary("districts", settings)
        context = load_boundary("context", settings)
        if "in_warwickshire" in context.columns:
            context = context[~context["in_warwickshire"].astype(bool)]
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
        path = Path(self.settings.data_dir) / "roads" / "motorways.parquet"
        if not path.is_file():
            raise InputError(f"{path}: road layer not found (is the data/ folder complete?)")
        mways = gpd.read_parquet(path)
        mways = mways[mways.intersects(self.box.buffer(2000))]
        segs = line_coords(mways.geometry)
        if segs:
            for colour, width, z in (("white", 3.2, 6), (ROAD, 1.9, 6.1)):
                ax.add_collection(LineCollection(segs, colors=colour, linewidths=width,
                                                 zorder=z, capstyle="round",
                                                 joinstyle="round"))
        inset = self._inset(0.02)
        for ref, part in mways.groupby("ref", sort=True):
            line = shapely.line_merge(shapely.union_all(part.geometry.to_numpy()))
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
            path = Path(self.settings.data_dir) / "roads" / "osm_services.parquet"
            if not path.is_file():
                raise InputError(f"{path}: road layer not found (is the data/ folder "
                                 "complete?)")
            svc = gpd.read_parquet(path)
            if "name_is_placeholder" in svc.columns:
                svc = svc[~svc["name_is_placeholder"].astype(bool)]
            svc = svc[svc.intersects(self.box)]
            ax.scatter(svc.geometry.x, svc.geometry.y, marker="s", s=22, c="white",
                       edgecolors=SERVICES, linewidths=0.9, zorder=7)
