"""The tasking review: did last period's tasking cut crime, push it round the corner, or cut
it around the tasked areas too?

Each tasked (response) area R is compared before and after with a displacement buffer D (a
ring around it) and a comparison area C (the rest of the study area), with the weighted
displacement quotient of Bowers & Johnson (2003, *Journal of Quantitative Criminology* 19(3),
275-301):

    success measure   S = Ra/Ca − Rb/Cb          (below 0: R fell relative to C)
    buffer measure    B = Da/Ca − Db/Cb          (above 0: D rose relative to C)
    WDQ               = B / S                     (defined only when S < 0)

with ``b`` the period before and ``a`` the period after. A WDQ above 0 is a diffusion of
benefit (the buffer fell too), below 0 displacement (the buffer rose), and below −1
displacement larger than the direct effect. The counts are always given with the measures, so
that small numbers are read as counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from hotspots import wording
from hotspots.errors import NoDataError, ParameterError
from hotspots.jsonvalue import json_value

__all__ = ["BUFFER_M", "COLUMNS", "SMALL_COUNT", "Review", "count_in", "previous_patrol_areas",
           "read_targets", "review_areas", "review_lines", "review_selection", "take_ranks",
           "tasking_review", "wdq_reading", "wdq_verdict", "weighted_displacement"]

#: Width of the displacement buffer around each tasked area, metres (a few streets' walk).
BUFFER_M = 500.0
#: Below this many incidents (before and after together) a measure is read as counts only.
SMALL_COUNT = 20

#: Columns of the review table, in order.
COLUMNS = ("rank", "name", "r_before", "r_after", "d_before", "d_after", "c_before", "c_after",
           "success", "buffer_measure", "wdq", "net_effect", "odds_ratio", "or_low", "or_high",
           "beyond_chance", "small", "reading", "verdict", "chance")


def weighted_displacement(*, r_before: float, r_after: float, d_before: float,
                          d_after: float, c_before: float, c_after: float) -> dict[str, Any]:
    """The weighted displacement quotient and its parts for one response area.

    Parameters
    ----------
    r_before, r_after : float
        Incidents in the response (tasked) area before and after.
    d_before, d_after : float
        Incidents in the displacement buffer before and after.
    c_before, c_after : float
        Incidents in the comparison (control) area before and after.

    Returns
    -------
    dict
        ``success`` (Ra/Ca − Rb/Cb), ``buffer_measure`` (Da/Ca − Db/Cb), ``wdq`` (their
        ratio; NaN when ``success`` is not below 0), ``net_effect`` (Bowers & Johnson's total
        net effect in incidents: Rb·Ca/Cb − Ra + Db·Ca/Cb − Da, above 0 crimes prevented),
        ``odds_ratio`` (Rb·Ca / (Ra·Cb), above 1 the response area did better than the
        comparison area), ``or_low``, ``or_high`` (its 95 % interval, log-normal, NaN with a
        zero count), ``beyond_chance`` (the interval excludes 1), ``small`` (fewer than
        :data:`SMALL_COUNT` incidents in R or D over both periods) and ``reading`` (words).

    Raises
    ------
    ParameterError
        A negative count, or no incident in the comparison area in either period.
    """
    counts = {"r_before": r_before, "r_after": r_after, "d_before": d_before,
              "d_after": d_after, "c_before": c_before, "c_after": c_after}
    for k, v in counts.items():
        if not np.isfinite(v) or v < 0:
            raise ParameterError(f"{k} must be a count >= 0, got {v!r}")
    if c_before <= 0 or c_after <= 0:
        raise ParameterError("the comparison area needs incidents in both periods to weigh "
                             "the change against")
    rb, ra, db, da, cb, ca = (float(v) for v in (r_before, r_after, d_before, d_after,
                                                 c_before, c_after))
    success = ra / ca - rb / cb
    buffer_measure = da / ca - db / cb
    wdq = buffer_measure / success if success < 0 else float("nan")
    net = (rb * ca / cb - ra) + (db * ca / cb - da)
    if min(rb, ra) > 0:
        ratio = (rb * ca) / (ra * cb)
        se = math.sqrt(1 / rb + 1 / ra + 1 / cb + 1 / ca)
        low, high = ratio * math.exp(-1.96 * se), ratio * math.exp(1.96 * se)
    else:
        ratio = low = high = float("nan")
    beyond = bool(np.isfinite(low) and (low > 1 or high < 1))
    small = (rb + ra) < SMALL_COUNT or (db + da) < SMALL_COUNT
    out = {**{k: float(v) for k, v in counts.items()}, "success": success,
           "buffer_measure": buffer_measure, "wdq": wdq, "net_effect": net,
           "odds_ratio": ratio, "or_low": low, "or_high": high, "beyond_chance": beyond,
           "small": small}
    out["reading"] = wdq_reading(out)
    out["verdict"], out["chance"] = wdq_verdict(out)
    return out


def wdq_reading(m: Mapping[str, Any]) -> str:
    """The plain reading of :func:`weighted_displacement`'s measures, with the counts."""
    counts = (f"tasked area {int(m['r_before'])} → {int(m['r_after'])}, buffer "
              f"{int(m['d_before'])} → {int(m['d_after'])}, comparison area "
              f"{int(m['c_before'])} → {int(m['c_after'])}")
    what, chance = wdq_verdict(m)
    return f"{what}; {counts}; {chance}."


def wdq_verdict(m: Mapping[str, Any]) -> tuple[str, str]:
    """What the measures of :func:`weighted_displacement` say, and whether it is beyond
    chance (or small numbers), in words."""
    if m["success"] >= 0:
        what = ("no fall in the tasked area relative to the comparison area, so there is "
                "nothing to displace (WDQ not defined)")
    else:
        w = float(m["wdq"])
        rel = "relative to the comparison area, crime fell in the tasked area"
        if w > 1:
            what = f"{rel} and fell more around it: diffusion of benefit larger than the fall"
        elif w > 0:
            what = f"{rel} and around it: diffusion of benefit"
        elif w == 0:
            what = f"{rel}; the buffer did not change: no displacement or diffusion"
        elif w >= -1:
            what = (f"{rel} and rose around it by less: displacement smaller than the fall "
                    "(a net benefit)")
        else:
            what = (f"{rel} but rose around it by more: displacement larger than the fall "
                    "(no net benefit)")
        what += f" (WDQ {w:+.2f})"
    if m.get("small"):
        chance = "small numbers: read the counts, not the measures"
    elif m.get("beyond_chance"):
        chance = "the change relative to the comparison area is beyond chance at 95%"
    else:
        chance = "the change relative to the comparison area is within chance at 95%"
    return what, chance


def count_in(geometry: BaseGeometry, x: np.ndarray, y: np.ndarray) -> int:
    """Incidents (points ``x``, ``y``, metres) inside ``geometry``."""
    if geometry is None or geometry.is_empty or not len(x):
        return 0
    return int(shapely.contains_xy(geometry, x, y).sum())


@dataclass(frozen=True)
class Review:
    """A tasking review: one row per tasked area plus all of them together.

    Attributes
    ----------
    table : pandas.DataFrame
        :data:`COLUMNS`, one row per tasked area (``rank`` 1, 2, ...) and a last row
        ``rank`` 0, ``name`` "All tasked areas together".
    before, after : (str, str)
        First and last months of each period.
    buffer_m : float
    targets : str
        Where the tasked areas came from, in words.
    note : str
        Caveats (regression to the mean, overlapping buffers).
    """

    table: pd.DataFrame
    before: tuple[str, str]
    after: tuple[str, str]
    buffer_m: float
    targets: str
    note: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return json_value({"before": list(self.before), "after": list(self.after),
                           "buffer_m": self.buffer_m, "targets": self.targets,
                           "method": self.method_words(), "note": self.note,
                           "areas": self.table.to_dict("records"), "params": self.params})

    def method_words(self) -> str:
        """The method statement."""
        b = wording.period_label(*self.before)
        a = wording.period_label(*self.after)
        return (f"Tasking review: incidents before ({b}) and after ({a}) in each tasked area, "
                f"in a {self.buffer_m:,.0f} m ring around it (the displacement buffer) and in "
                "the rest of the study area (the comparison area); weighted displacement "
                "quotient WDQ = (Da/Ca − Db/Cb) / (Ra/Ca − Rb/Cb) of Bowers & Johnson (2003), "
                "defined only when the tasked area fell relative to the comparison area; "
                "above 0 diffusion of benefit, below 0 displacement, below −1 displacement "
                "larger than the fall. Beyond chance: the 95% interval of the odds ratio "
                "Rb·Ca/(Ra·Cb) excludes 1. Tasked areas: " + self.targets + ".")


def review_areas(targets: gpd.GeoDataFrame, *, before: pd.DataFrame, after: pd.DataFrame,
                 study_area: BaseGeometry, before_months: tuple[str, str],
                 after_months: tuple[str, str], buffer_m: float = BUFFER_M,
                 targets_words: str = "as given") -> Review:
    """Review the tasked areas: before and after in each, its buffer and the comparison area.

    Parameters
    ----------
    targets : geopandas.GeoDataFrame
        Tasked areas, EPSG:27700 (polygons), with ``rank`` and ``name`` when known.
    before, after : pandas.DataFrame
        Mapped incidents (``x``, ``y``) of the period before and the period after.
    study_area : shapely geometry
        EPSG:27700; the comparison area is the study area outside every tasked area and
        buffer.
    before_months, after_months : (str, str)
        First and last months of each period, for the words.
    buffer_m : float
        Width of the displacement ring around each area, metres (default 500).
    targets_words : str
        Where the tasked areas came from.

    Returns
    -------
    Review

    Raises
    ------
    ParameterError
        No tasked area, a CRS other than EPSG:27700, a buffer not above 0.
    NoDataError
        No incident in the comparison area in one of the periods.
    """
    if not isinstance(targets, gpd.GeoDataFrame) or targets.empty:
        raise ParameterError("the tasking review needs at least one tasked area")
    if targets.crs is None or targets.crs.to_epsg() != 27700:
        raise ParameterError("tasked areas must be in British National Grid (EPSG:27700)")
    if not np.isfinite(buffer_m) or buffer_m <= 0:
        raise ParameterError(f"the buffer must be above 0 m, got {buffer_m!r}")
    geoms = list(targets.geometry)
    tasked = shapely.union_all(geoms)
    rings_all = tasked.buffer(buffer_m).difference(tasked)
    control = study_area.difference(tasked.buffer(buffer_m))
    xb, yb = before["x"].to_numpy(float), before["y"].to_numpy(float)
    xa, ya = after["x"].to_numpy(float), after["y"].to_numpy(float)
    cb, ca = count_in(control, xb, yb), count_in(control, xa, ya)
    if cb == 0 or ca == 0:
        raise NoDataError("the comparison area (the rest of the study area) has no incident "
                          "in one of the periods: the tasking review cannot weigh the change")
    ranks = (targets["rank"].astype(int).tolist() if "rank" in targets
             else list(range(1, len(targets) + 1)))
    names = (targets["name"].astype(str).tolist() if "name" in targets
             else [f"Area {r}" for r in ranks])
    rows = []
    for rank, name, g in zip(ranks, names, geoms, strict=True):
        ring = g.buffer(buffer_m).difference(tasked)
        rows.append({"rank": rank, "name": name, **weighted_displacement(
            r_before=count_in(g, xb, yb), r_after=count_in(g, xa, ya),
            d_before=count_in(ring, xb, yb), d_after=count_in(ring, xa, ya),
            c_before=cb, c_after=ca)})
    rows.append({"rank": 0, "name": "All tasked areas together", **weighted_displacement(
        r_before=count_in(tasked, xb, yb), r_after=count_in(tasked, xa, ya),
        d_before=count_in(rings_all, xb, yb), d_after=count_in(rings_all, xa, ya),
        c_before=cb, c_after=ca)})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    overlap = any(g.buffer(buffer_m).difference(g).intersects(h)
                  for i, g in enumerate(geoms) for h in geoms[i + 1:])
    note = ("Areas picked for being the busiest of one period tend to be quieter in the next "
            "even without tasking (regression to the mean): the comparison area weighs the "
            "general trend, not this. Tasking done elsewhere is not known here.")
    if overlap:
        note += (" Some buffers reach other tasked areas: each buffer leaves out every tasked "
                 "area, so an incident is never both in an area and in a buffer.")
    return Review(table=table, before=before_months, after=after_months,
                  buffer_m=float(buffer_m), targets=targets_words, note=note,
                  params={"comparison_area_km2": round(control.area / 1e6, 2),
                          "tasked_km2": round(tasked.area / 1e6, 3),
                          "buffer_km2": round(rings_all.area / 1e6, 3)})


def review_lines(review: Review) -> list[str]:
    """The review as lines of text (the CLI's output)."""
    lines = [review.method_words()]
    for rec in review.table.to_dict("records"):
        head = ("All tasked areas" if rec["rank"] == 0 else f"{rec['rank']}. {rec['name']}")
        lines.append(f"{head}: {rec['reading']}")
    lines.append(review.note)
    return lines


def take_ranks(areas: gpd.GeoDataFrame, ranks: Sequence[int] | None) -> gpd.GeoDataFrame:
    """The areas of the given ranks (all when None), in rank order; unknown ranks refused."""
    if not ranks:
        return areas
    have = set(areas["rank"].astype(int))
    bad = [r for r in ranks if r not in have]
    if bad:
        raise ParameterError(f"no tasked area of rank {bad[0]}: the previous period has "
                             f"ranks 1-{max(have) if have else 0}")
    return areas[areas["rank"].astype(int).isin(list(ranks))].reset_index(drop=True)


def previous_patrol_areas(previous: pd.DataFrame, *, study_area: BaseGeometry,
                          places: gpd.GeoDataFrame | None, rule: Any = None,
                          bandwidth: float | None = None) -> gpd.GeoDataFrame:
    """The patrol areas a pack would have ranked at the end of the previous period: kernel
    density of that period's mapped incidents (quartic, fixed ``bandwidth``, default
    :data:`hotspots.defaults.FIXED_BANDWIDTH_M`; 100 m cells), areas grown by ``rule``
    (default :data:`hotspots.models.patrol.DEFAULT_RULE`).

    Raises
    ------
    NoDataError
        No mapped incident in the previous period.
    """
    from hotspots import defaults
    from hotspots.models.kde import kernel_density
    from hotspots.models.patrol import DEFAULT_RULE, patrol_areas
    from hotspots.spatial.grid import Grid

    if previous.empty:
        raise NoDataError("the previous period has no mapped incident: no area to review")
    grid = Grid.from_geometry(study_area, defaults.CELL_M)
    surface = kernel_density(previous["x"].to_numpy(), previous["y"].to_numpy(),
                             cell=defaults.CELL_M,
                             bandwidth=bandwidth or defaults.FIXED_BANDWIDTH_M,
                             kernel=defaults.KERNEL, grid=grid)
    return patrol_areas(surface.values, grid, previous, study_area=study_area,
                        rule=rule or DEFAULT_RULE, places=places, basis="kernel density")


def tasking_review(incidents: pd.DataFrame, *, start: str, end: str,
                   months_held: Sequence[str], study_area: BaseGeometry,
                   targets: gpd.GeoDataFrame | None = None, ranks: Sequence[int] | None = None,
                   places: gpd.GeoDataFrame | None = None, buffer_m: float = BUFFER_M,
                   top_n: int = 5, rule: Any = None) -> Review:
    """The tasking review of the period before ``start``-``end``.

    The tasked areas are ``targets`` (the analyst's own), or the previous period's top
    ``top_n`` patrol areas (:func:`previous_patrol_areas`; ``ranks`` picks others). Before =
    the previous period of equal length, after = ``start``-``end``.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical frame holding at least both periods (mapped rows are used).
    start, end : str
        The period after tasking, ``YYYY-MM``.
    months_held : sequence of str
        Months the store holds: a period with a month missing is not reviewed.

    Raises
    ------
    NoDataError
        A month of either period has no data, or no area to review.
    ParameterError
        Bad ranks or buffer.
    """
    from hotspots import defaults
    from hotspots.months import month_range, previous_period
    from hotspots.schema import mapped_rows

    before = previous_period(start, end)
    held = set(months_held)
    gaps = [m for m in (*month_range(*before), *month_range(start, end)) if m not in held]
    if gaps:
        raise NoDataError("tasking review not computed: the store has no data for "
                          f"{wording.missing_months_label(gaps)}")
    mapped = mapped_rows(incidents)
    mm = mapped["month"].astype(str)
    b = mapped[((mm >= before[0]) & (mm <= before[1])).to_numpy(bool)]
    a = mapped[((mm >= start) & (mm <= end)).to_numpy(bool)]
    if targets is None:
        areas = previous_patrol_areas(b, study_area=study_area, places=places, rule=rule)
        chosen = take_ranks(areas, ranks) if ranks else areas.head(int(top_n))
        words = (f"the previous period's ({wording.period_label(*before)}) top "
                 f"{len(chosen)} patrol areas as a pack made then would rank them "
                 f"(kernel density, {defaults.KERNEL} {defaults.FIXED_BANDWIDTH_M:g} m, "
                 f"{defaults.CELL_M:g} m cells)" if not ranks else
                 f"the previous period's patrol areas ranked {', '.join(map(str, ranks))}")
    else:
        chosen = take_ranks(targets, ranks)
        words = "the areas the analyst gave"
    return review_areas(chosen, before=b, after=a, study_area=study_area,
                        before_months=before, after_months=(start, end), buffer_m=buffer_m,
                        targets_words=words)


def review_selection(selection: Any, *, targets: gpd.GeoDataFrame | None = None,
                     ranks: Sequence[int] | None = None, buffer_m: float = BUFFER_M,
                     top_n: int = 5, store_dir: Any = None) -> Review:
    """:func:`tasking_review` of a :class:`~hotspots.selection.Selection`: its period is the
    period after tasking, read from its store (or ``store_dir``) with the previous period of
    equal length.

    Raises
    ------
    NoDataError, ParameterError
        As :func:`tasking_review`.
    """
    from hotspots.months import previous_period
    from hotspots.query import available_months, load_incidents
    from hotspots.spatial.places import load_places

    settings = selection.settings
    before = previous_period(selection.start, selection.end)
    store = settings.store_dir if store_dir is None else store_dir
    held = available_months(store, settings=settings, forces=list(selection.all_forces))
    incidents = load_incidents(store, area=selection.area,
                               forces=list(selection.all_forces), settings=settings,
                               geometry=selection.geometry, start=before[0],
                               end=selection.end, **selection.crime_filter)
    return tasking_review(incidents, start=selection.start, end=selection.end,
                          months_held=held, study_area=selection.geometry, targets=targets,
                          ranks=ranks, places=load_places(settings), buffer_m=buffer_m,
                          top_n=top_n)


def read_targets(path: str | Any) -> gpd.GeoDataFrame:
    """The analyst's tasked areas from a GeoJSON or GeoPackage file, in EPSG:27700, polygons
    only; ``name`` and ``rank`` kept when the file has them.

    Raises
    ------
    InputError
        The file cannot be read, has no CRS or no polygon.
    """
    from hotspots.errors import InputError

    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is one line for the user
        raise InputError(f"{path}: cannot read the tasked areas ({type(exc).__name__})") \
            from None
    if frame.crs is None:
        raise InputError(f"{path}: the tasked areas have no coordinate reference system")
    frame = frame.to_crs(27700)
    frame = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if frame.empty:
        raise InputError(f"{path}: no polygon to review")
    out = gpd.GeoDataFrame({"rank": frame["rank"].astype(int) if "rank" in frame
                            else range(1, len(frame) + 1),
                            "name": frame["name"].astype(str) if "name" in frame
                            else [f"Area {i}" for i in range(1, len(frame) + 1)]},
                           geometry=frame.geometry.to_numpy(), crs=27700)
    return out.reset_index(drop=True)
