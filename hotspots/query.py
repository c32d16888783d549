"""Select incidents from the store by period, crime selection, area and force."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from hotspots import wording
from hotspots.config import Settings
from hotspots.errors import NoDataError, ParameterError
from hotspots.months import check_month
from hotspots.schema import CRIME_GROUPS
from hotspots.spatial.boundaries import area_geometry
from hotspots.store import (
    read_store,
    store_crime_types,
    store_fingerprint,
    store_forces,
    store_months,
)

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from hotspots.selection import Selection

_TYPES_CACHE: dict[tuple[str, str], list[str]] = {}


def _store(store_dir: str | os.PathLike | None, settings: Settings) -> str:
    return str(settings.store_dir if store_dir is None else store_dir)


def available_months(store_dir: str | os.PathLike | None = None, *,
                     settings: Settings, forces: Sequence[str] | None = None) -> list[str]:
    """Return the ``YYYY-MM`` months the store holds, sorted: for any force, or for any of
    ``forces`` (slugs)."""
    store = _store(store_dir, settings)
    if forces is None:
        return store_months(store)
    return sorted({m for f in forces for m in store_months(store, f)})


def no_data_error(selection: Selection, store_dir: str | os.PathLike | None = None
                  ) -> NoDataError:
    """The error for a selection with no mapped incidents: it names the months the store
    holds for the selection's forces, and the gaps (:func:`hotspots.wording.no_data_message`)."""
    held = available_months(store_dir, settings=selection.settings,
                            forces=list(selection.forces))
    return NoDataError(wording.no_data_message(selection.crimes, selection.area_label,
                                               selection.start, selection.end, held))


def crime_types(store_dir: str | os.PathLike | None = None, *,
                settings: Settings) -> list[str]:
    """Return the distinct crime types the store holds, sorted (any force).

    Cached per store fingerprint, so it is re-read only after an ingest. Read from the
    store's manifest (:func:`hotspots.store.store_crime_types`): a damaged part does not stop
    the dashboard's crime list.
    """
    store = _store(store_dir, settings)
    key = (store, store_fingerprint(store))
    if key not in _TYPES_CACHE:
        _TYPES_CACHE.clear()  # one store at a time is the common case; keep memory flat
        _TYPES_CACHE[key] = store_crime_types(store)
    return list(_TYPES_CACHE[key])


def _as_list(value, what: str) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(v, str) and v for v in items):
        raise ParameterError(f"{what} must be a non-empty list of names")
    return items


def load_incidents(store_dir: str | os.PathLike | None = None, *, start: str | None = None,
                   end: str | None = None, groups: Sequence[str] | None = None,
                   types: Sequence[str] | None = None, area: str | None = None,
                   forces: Sequence[str] | str | None = None, mapped_only: bool = False,
                   settings: Settings, geometry: BaseGeometry | None = None
                   ) -> pd.DataFrame:
    """Return incidents from the store that match every filter given, as a canonical frame.

    Parameters
    ----------
    store_dir : path-like, optional
        Default ``settings.store_dir``.
    start, end : str, optional
        First and last month, ``YYYY-MM``, inclusive. Default: the store's first/last month.
    groups : sequence of str, optional
        Crime groups (acquisitive, soc, violence, asb, other).
    types : sequence of str, optional
        police.uk crime types, matched exactly (e.g. "Vehicle crime"). With ``groups`` too, a
        row must match both.
    area : str, optional
        None or "force" (the default): located rows inside the force area (``geometry``, or
        the area of the ``forces`` asked for; the configured force's with ``"all"``), plus
        the rows without a location - they were recorded by
        the force, so they count towards its totals. Rows the ingest buffer let in just
        outside the force area are left out, so the CLI and the dashboard count the same
        incidents. A district name (e.g. "Rugby"): located
        rows inside that district only; rows without a location are dropped, since they cannot
        be placed in a district. "none": no area filter at all - every row of the chosen
        forces, e.g. neighbouring forces' near-border rows for cross-border corridor analysis.
    forces : sequence of str or "all", optional
        Force slugs. Default ``[settings.force]``: neighbouring forces' rows are opt-in. The
        area filter applies to them too; for their context rows outside the force area (e.g.
        for edge correction) read them with :func:`hotspots.store.read_store`.
    mapped_only : bool
        Drop rows without a location.
    settings : Settings
    geometry : shapely geometry, optional
        The area's polygon when the caller has it already (a :class:`Selection` resolves it
        once); default: looked up from ``area``.

    Returns
    -------
    pandas.DataFrame
        Canonical frame (possibly empty when nothing matches).

    Raises
    ------
    ParameterError
        Malformed or reversed months, unknown group, type or force.
    NoDataError
        Unknown area name.
    StoreError
        The store is missing or empty.
    """
    store = _store(store_dir, settings)
    start = None if start is None else check_month(start, "start")
    end = None if end is None else check_month(end, "end")
    if start and end and end < start:
        raise ParameterError(f"end {end} is before start {start}")
    groups = _as_list(groups, "groups")
    types = _as_list(types, "types")
    if groups:
        groups = [g.lower() for g in groups]
        valid = sorted(set(CRIME_GROUPS) | set(settings.crime_groups.values()))
        unknown = [g for g in groups if g not in valid]
        if unknown:
            raise ParameterError(f"unknown crime group(s) {', '.join(map(repr, unknown))}; "
                                 f"choose from {', '.join(valid)}")
    if types:
        known = crime_types(store, settings=settings)
        # Any case matches; the store's spelling (police.uk's) is what the rows hold.
        spelt = {k.lower(): k for k in (*settings.crime_groups, *known)}
        types = [spelt.get(t.lower(), t) for t in types]
        # A police.uk type the store happens not to hold yet is still a valid request.
        unknown = [t for t in types if t not in known and t not in settings.crime_groups]
        if unknown:
            raise ParameterError(f"unknown crime type(s) {', '.join(map(repr, unknown))}; "
                                 f"types in the store: {', '.join(known)}")
    held = store_forces(store)
    # Whose area "force" and district names mean without a geometry: the forces asked for.
    own = None if isinstance(forces, str) and forces == "all" else forces
    if isinstance(forces, str) and forces == "all":
        forces = held
    elif forces is None:
        forces = [settings.force]
    else:
        forces = _as_list(forces, "forces")
        unknown = [f for f in forces if f not in held]
        if unknown:
            raise ParameterError(f"the store holds no incidents of {', '.join(unknown)}; "
                                 f"forces in the store: {', '.join(held)} (load a force's "
                                 "police.uk files with `hotspots ingest`)")

    months = [m for m in store_months(store)
              if (start is None or m >= start) and (end is None or m <= end)]
    frame = read_store(store, months=months, forces=forces)
    keep = np.ones(len(frame), dtype=bool)
    if groups:
        keep &= frame["crime_group"].isin(groups).to_numpy(dtype=bool, na_value=False)
    if types:
        keep &= frame["crime_type"].isin(types).to_numpy(dtype=bool, na_value=False)
    located = frame["has_location"].to_numpy(dtype=bool)
    if mapped_only:
        keep &= located
    if area is not None and area.strip().lower() == "none":
        return frame[keep].reset_index(drop=True)
    mine = [settings.force] if own is None else list(forces)
    whole_force = area is None or area.strip().lower() in ("force", "all", *mine)
    # Without a geometry, "force" and district names are those of the forces asked for (the
    # configured force's with ``forces="all"``); a Selection passes its own geometry.
    geom = area_geometry(area, settings, forces=mine) if geometry is None else geometry
    idx = np.flatnonzero(keep & located)
    inside = np.zeros(len(frame), dtype=bool)
    if idx.size:
        # contains_xy tests coordinates without building a shapely point per row: the fast
        # path for a million rows.
        shapely.prepare(geom)
        inside[idx] = shapely.contains_xy(geom, frame["x"].to_numpy()[idx],
                                          frame["y"].to_numpy()[idx])
    keep &= inside | (~located if whole_force else False)
    if keep.all():
        return frame
    return frame[keep].reset_index(drop=True)


def select(selection: Selection, store_dir: str | os.PathLike | None = None, *,
           mapped_only: bool = False, forces: Sequence[str] | str | None = None
           ) -> pd.DataFrame:
    """Return the incidents of a :class:`~hotspots.selection.Selection` from the store.

    The selection's force (or ``forces``), period, crimes and area, with its geometry resolved
    once.

    Parameters
    ----------
    selection : Selection
    store_dir : path-like, optional
        Default ``selection.settings.store_dir``.
    mapped_only : bool
        Drop rows without a location.
    forces : sequence of str or "all", optional
        Default: the selection's forces.

    Returns
    -------
    pandas.DataFrame
        Canonical frame (possibly empty).
    """
    settings = selection.settings
    return load_incidents(store_dir or settings.store_dir, start=selection.start,
                          end=selection.end, area=selection.area,
                          forces=forces or list(selection.all_forces), mapped_only=mapped_only,
                          settings=settings, geometry=selection.geometry,
                          **selection.crime_filter)
