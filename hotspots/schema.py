"""The canonical incident schema that flows through every function in hotspots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hotspots.errors import InputError

#: Column name -> pandas dtype of the canonical incident frame (see docs/architecture.md).
INCIDENT_COLUMNS: dict[str, str] = {
    "incident_id": "string",
    "occurred": "datetime64[ns]",
    "date_precision": "string",  # "month", "day" or "minute"
    "month": "string",  # YYYY-MM, derived from ``occurred``; the store partitions on it
    "crime_type": "string",
    "crime_group": "string",  # acquisitive, soc, violence, asb, other
    "harm": "float64",
    "x": "float64",  # British National Grid easting, metres (NaN without location)
    "y": "float64",  # British National Grid northing, metres
    "lon": "float64",  # WGS84, kept for output only
    "lat": "float64",
    "has_location": "bool",
    "location": "string",
    "lsoa_code": "string",
    "lsoa_name": "string",
    "force": "string",  # slug, e.g. "warwickshire"
    "reported_by": "string",
    "outcome": "string",
    "soc_flag": "boolean",  # nullable: police.uk carries no SOC marker
    "ocg_ref": "string",
    "county_line": "boolean",
    "source": "string",  # file:line it came from
}

DATE_PRECISIONS = ("month", "day", "minute")
CRIME_GROUPS = ("acquisitive", "soc", "violence", "asb", "other")

#: police.uk street-level CSV header, in file order.
POLICE_UK_COLUMNS = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)


def empty_incidents() -> pd.DataFrame:
    """Return an empty frame with the canonical columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in INCIDENT_COLUMNS.items()})


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with exactly the canonical columns, in order, with their dtypes.

    Missing optional columns are added as nulls; extra columns are dropped.
    """
    out = {}
    n = len(frame)
    for col, dtype in INCIDENT_COLUMNS.items():
        if col in frame.columns:
            out[col] = frame[col].astype(dtype) if str(frame[col].dtype) != dtype else frame[col]
        else:
            out[col] = pd.Series([pd.NA] * n if dtype != "float64" else [float("nan")] * n,
                                 index=frame.index).astype(dtype)
    return pd.DataFrame(out, index=frame.index)


def located_xy(incidents: pd.DataFrame, *, require: tuple[str, ...] = ()
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the mask of mapped rows and the BNG ``x``, ``y`` of every row (NaN if unmapped).

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incident frame; not modified.
    require : tuple of str
        Further columns the caller needs, checked with ``x`` and ``y``.

    Raises
    ------
    InputError
        Not a DataFrame, or a required column is missing.
    """
    if not isinstance(incidents, pd.DataFrame):
        raise InputError("incidents must be a pandas DataFrame in the canonical incident schema")
    missing = [c for c in ("x", "y", *require) if c not in incidents.columns]
    if missing:
        raise InputError(f"incidents lack column(s) {', '.join(missing)} "
                         "(British National Grid metres; see hotspots.schema)")
    x = pd.to_numeric(incidents["x"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    y = pd.to_numeric(incidents["y"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    if "has_location" in incidents.columns:
        ok &= incidents["has_location"].fillna(False).to_numpy(dtype=bool)
    return ok, x, y


def mapped_rows(incidents: pd.DataFrame) -> pd.DataFrame:
    """The incidents a map can place: a location and finite BNG ``x``/``y``
    (:func:`located_xy`)."""
    return incidents[located_xy(incidents)[0]]
