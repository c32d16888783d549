"""The tasking pack's hotspot areas: their change on the previous period, district and
emerging hot spot class, and the table the pack prints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from hotspots import wording
from hotspots.config import Settings
from hotspots.errors import ParameterError
from hotspots.models.areas import COLUMNS
from hotspots.models.emerging import PATTERNS, emerging_hotspots
from hotspots.spatial.boundaries import forces_districts
from hotspots.spatial.crs import to_wgs84
from hotspots.spatial.grid import Grid
from hotspots.wording import emerging_statement

if TYPE_CHECKING:
    from hotspots.selection import Selection

__all__ = ["TABLE_COLUMNS", "add_changes", "add_districts", "add_no_changes", "change_note",
           "check_shown_areas", "class_note", "hotspot_classes", "hotspot_table",
           "previous_counts", "with_trend"]

#: Columns of the hotspot table, in the order it shows them.
TABLE_COLUMNS = ("rank", "name", "locations", "district", "incidents", "previous", "change",
                 "change_pct", "change_note", "change_test", "share", "area_km2", "pai",
                 "peak_density", "harm", "class", "lon", "lat")


def check_shown_areas(areas: Any, statement: str, name: str) -> gpd.GeoDataFrame:
    """Validate another method's areas for the pack (one-line errors)."""
    if not isinstance(areas, gpd.GeoDataFrame):
        raise ParameterError(f"areas must be a GeoDataFrame, got {type(areas).__name__}")
    missing = [c for c in COLUMNS if c not in areas.columns]
    if missing:
        raise ParameterError("areas lack the hotspot-area columns " + ", ".join(missing))
    if areas.crs is None or areas.crs.to_epsg() != 27700:
        raise ParameterError("areas must be in British National Grid (EPSG:27700)")
    if not statement.strip() or not name.strip():
        raise ParameterError("areas need their statement and name (areas_statement, "
                             "areas_name)")
    return areas


def previous_counts(areas: gpd.GeoDataFrame, grid: Grid, x: np.ndarray, y: np.ndarray
                    ) -> np.ndarray:
    """Incidents per hotspot polygon, by the cell they fall in (the rule hotspot_areas uses)."""
    row, col = grid.cell_index(x, y)
    on = row >= 0
    xc = grid.x0 + (col[on] + 0.5) * grid.cell
    yc = grid.y0 + (row[on] + 0.5) * grid.cell
    out = np.zeros(len(areas), dtype=np.int64)
    for i, g in enumerate(areas.geometry):
        # Polygons are unions of whole cells, so a cell centre is never on their edge.
        out[i] = int(shapely.contains_xy(g, xc, yc).sum())
    return out


def change_note(cur: list[str], prev: list[str], have: set[str]) -> str:
    """Why the change on the previous period is not computed ("" when every month of both
    periods has data)."""
    gaps_cur = [m for m in cur if m not in have]
    gaps_prev = [m for m in prev if m not in have]
    if gaps_cur:
        return f"period has no data for {wording.missing_months_label(gaps_cur)}"
    if len(gaps_prev) == len(prev):
        return f"no data for previous period {wording.period_label(prev[0], prev[-1])}"
    if gaps_prev:
        return f"previous period lacks data for {wording.missing_months_label(gaps_prev)}"
    return ""


def add_changes(areas: gpd.GeoDataFrame, previous: pd.DataFrame | None, grid: Grid,
                note: str) -> gpd.GeoDataFrame:
    """``areas`` (not empty) with ``previous``, ``change``, ``change_pct`` and ``change_note``.

    ``previous`` holds the previous period's mapped incidents, counted only when ``note`` (from
    :func:`change_note`) is empty; else the previous counts are missing, never zero. Modifies
    and returns ``areas``.
    """
    if note:
        areas["previous"] = pd.array([pd.NA] * len(areas), dtype="Int64")
    else:
        areas["previous"] = pd.array(previous_counts(areas, grid, previous["x"].to_numpy(),
                                                     previous["y"].to_numpy()), dtype="Int64")
    areas["change"] = (areas["incidents"].astype("Int64") - areas["previous"])
    prev_f = areas["previous"].astype("Float64")
    areas["change_pct"] = (100.0 * areas["change"].astype("Float64")
                           / prev_f.where(prev_f > 0)).astype("float64")
    areas["change_note"] = note or ""
    # Whether each change is beyond chance for its counts (exact test, equal periods).
    from hotspots.pack_profile import change_test

    areas["change_test"] = ["" if pd.isna(b) else change_test(int(a), int(b))[1]
                            for a, b in zip(areas["incidents"], areas["previous"], strict=True)]
    if not note:
        areas.loc[areas["previous"] == 0, "change_note"] = "previous period had no incidents here"
    return areas


def with_trend(areas: gpd.GeoDataFrame, selection: Selection, months_held: Sequence[str]
               ) -> gpd.GeoDataFrame:
    """A copy of ``areas`` with their change on the previous period of equal length
    (:func:`add_changes`: ``previous``, ``change``, ``change_pct``, ``change_note``).

    The previous period's mapped incidents of the same area and crimes are read from the
    selection's store; a gap in either period's data leaves the change missing, with the note.
    """
    from hotspots.query import select

    out = areas.copy()
    out.attrs = dict(areas.attrs)
    if not len(out):
        return add_no_changes(out).drop(columns="district")
    prev = selection.previous()
    note = change_note(selection.months, prev.months, set(months_held))
    grid = Grid.from_geometry(selection.geometry, 100.0)
    return add_changes(out, None if note else select(prev, mapped_only=True), grid, note)


def add_no_changes(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Empty ``areas`` with the change and district columns typed as :func:`add_changes` and
    :func:`add_districts` make them. Modifies and returns ``areas``."""
    for col, dtype in (("previous", "Int64"), ("change", "Int64"),
                       ("change_pct", "float64"), ("change_note", "object"),
                       ("change_test", "object"),
                       ("district", "object")):
        areas[col] = pd.Series(dtype=dtype)
    return areas


def add_districts(areas: gpd.GeoDataFrame, settings: Settings,
                  forces: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """``areas`` with ``district``: the district of ``forces`` (default ``settings.force``)
    holding a point inside each area ("" when none does). Modifies and returns ``areas``."""
    districts = forces_districts(list(forces) if forces else None, settings)
    inner = areas.geometry.representative_point()
    areas["district"] = [next((str(n) for n, g in zip(districts["name"], districts.geometry,
                                                       strict=True)
                               if g.contains(p)), "") for p in inner]
    return areas


def hotspot_classes(areas: gpd.GeoDataFrame, incidents: pd.DataFrame, *,
                    months_held: Sequence[str], study_area: BaseGeometry
                    ) -> tuple[list[str], dict[str, Any]]:
    """Emerging hot spot pattern of each hotspot area, from the cells it overlaps.

    :func:`hotspots.models.emerging.emerging_hotspots` on ``incidents`` (every month up to the
    pack's last); each polygon takes the pattern of the emerging cells it overlaps (by area,
    not just a shared edge), weighted by the cells' incidents: the heaviest pattern other than
    "no pattern detected" (ties: more cells, then the order of ``PATTERNS``), else "no pattern
    detected". Returns the classes in the order of ``areas`` and the analysis' parameters.
    """
    no_pattern = "no pattern detected"
    cells = emerging_hotspots(incidents, study_area=study_area, months_held=list(months_held))
    geoms = cells.geometry.to_numpy()
    pattern = cells["pattern"].astype(str).to_numpy()
    weight = cells["count"].to_numpy(dtype=float)
    tree = shapely.STRtree(geoms)
    out = []
    for poly in areas.geometry:
        idx = tree.query(poly, predicate="intersects")
        idx = idx[shapely.area(shapely.intersection(geoms[idx], poly)) > 0]
        score: dict[str, list[float]] = {}
        for i in idx:
            if pattern[i] != no_pattern:
                s = score.setdefault(pattern[i], [0.0, 0.0])
                s[0] += weight[i]
                s[1] += 1
        out.append(max(score, key=lambda p: (score[p][0], score[p][1],
                                             -PATTERNS.index(p) if p in PATTERNS else -99))
                   if score else no_pattern)
    return out, dict(cells.attrs.get("params", {}))


def class_note(class_params: dict[str, Any], *, crimes: str, end: str) -> str:
    """The method note of the computed classes (``class_params`` from
    :func:`hotspot_classes`), with the analysis' warnings."""
    note = (
        f"Class: {emerging_statement(class_params, crimes=crimes)}, on every "
        f"month the store holds up to {wording.period_label(end, end)} (nothing later). "
        "Each hotspot area takes the pattern of the emerging-analysis cells it "
        "overlaps, weighted by the cells' incidents over those steps: the most "
        "common pattern other than \"no pattern detected\", else \"no pattern "
        "detected\". Patterns follow ArcGIS Pro's Emerging Hot Spot Analysis.")
    warn = [str(w) for w in class_params.get("warnings") or []]
    if warn:
        note += " Warning: " + "; ".join(warn) + "."
    return note


#: Where the hotspot table's classes came from: each area's emerging hot spot pattern, computed
#: by the pack, or given by the caller.
CLASSES_COMPUTED, CLASSES_SUPPLIED = "emerging", "supplied"


def hotspot_table(areas: gpd.GeoDataFrame, class_source: str | None) -> pd.DataFrame:
    """The areas as the pack's table: no geometry, ``lon``/``lat`` of a point inside each,
    ``top_locations`` as ``locations``, columns in :data:`TABLE_COLUMNS` order.

    ``class_source`` ("emerging" or "supplied"; None when there are no classes) is kept in
    ``attrs["class_source"]``.
    """
    table = pd.DataFrame(areas.drop(columns=areas.geometry.name))
    if len(areas):
        pts = areas.geometry.representative_point()
        lon, lat = to_wgs84(pts.x.to_numpy(), pts.y.to_numpy())
        table["lon"], table["lat"] = np.round(lon, 6), np.round(lat, 6)
    else:
        table["lon"], table["lat"] = pd.Series(dtype=float), pd.Series(dtype=float)
    table = table.rename(columns={"top_locations": "locations"})
    table = table[[c for c in TABLE_COLUMNS if c in table.columns]]
    if class_source is not None:
        table.attrs["class_source"] = class_source
    return table
