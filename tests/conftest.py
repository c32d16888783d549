"""Shared fixtures: settings isolated from the environment, and hand-made police.uk files."""

from __future__ import annotations

import csv
import gzip
import itertools
from pathlib import Path

import pytest

from hotspots.config import Settings, load_settings
from hotspots.schema import POLICE_UK_COLUMNS

REPO = Path(__file__).resolve().parent.parent

#: WGS84 points (lon, lat) checked against the shipped boundaries.
PLACES = {
    "warwick": (-1.5847, 52.2823),  # Warwick district
    "leamington": (-1.5350, 52.2920),  # Warwick district
    "rugby": (-1.2650, 52.3708),  # Rugby district
    "nuneaton": (-1.4694, 52.5230),  # Nuneaton and Bedworth district
    "stratford": (-1.7082, 52.1917),  # Stratford-on-Avon district
    "atherstone": (-1.5466, 52.5786),  # North Warwickshire district
    "near_border": (-1.520446, 52.387997),  # 1.0 km outside the force area (Coventry side)
    "coventry": (-1.5106, 52.4081),  # 3.3 km outside the force area
    "redditch": (-1.9408, 52.3066),  # West Mercia, 3.3 km outside the force area
    "london": (-0.1276, 51.5072),  # 108 km outside
}

_KEYS = dict(zip(("crime_id", "month", "reported_by", "falls_within", "lon", "lat", "location",
                  "lsoa_code", "lsoa_name", "crime_type", "outcome", "context"),
                 POLICE_UK_COLUMNS, strict=True))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Package defaults only (no hotspots.toml, no HOTSPOTS_* variables), store in tmp_path."""
    return load_settings(env={}).with_(store_dir=tmp_path / "store")


@pytest.fixture
def police_row():
    """Return a factory of police.uk rows: ``police_row(place="rugby", crime_type=...)``.

    Keyword names are snake-case police.uk columns (crime_id, month, falls_within, lon, lat,
    location, crime_type, outcome, ...); ``place`` sets lon/lat from PLACES. Each row gets a
    fresh Crime ID unless one is given ("" for an ASB-style row without one).
    """
    counter = itertools.count(1)

    def make(place: str = "warwick", **fields) -> dict[str, str]:
        lon, lat = PLACES[place]
        row = {
            "Crime ID": f"{next(counter):064x}",
            "Month": "2025-01",
            "Reported by": "Warwickshire Police",
            "Falls within": "Warwickshire Police",
            "Longitude": f"{lon:.6f}",
            "Latitude": f"{lat:.6f}",
            "Location": "On or near High Street",
            "LSOA code": "E01031234",
            "LSOA name": "Warwick 001A",
            "Crime type": "Burglary",
            "Last outcome category": "Under investigation",
            "Context": "",
        }
        for key, value in fields.items():
            row[_KEYS[key]] = value
        return row

    return make


@pytest.fixture
def write_police_csv():
    """Return ``write(path, rows, encoding="utf-8", header=POLICE_UK_COLUMNS) -> path``.

    A ``.gz`` suffix writes gzip; ``encoding="utf-8-sig"`` writes a byte-order mark.
    """

    def write(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8",
              header=POLICE_UK_COLUMNS) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "wt", encoding=encoding, newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            for r in rows:
                w.writerow([r.get(c, "") for c in header])
        return path

    return write


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dashboard running under ``streamlit run`` on a free local port, with a fresh store."""
    from browser_support import server as start

    yield from start(tmp_path_factory)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright, with outside connections disabled."""
    from browser_support import browser as launch

    yield from launch()


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> Path:
    """The shipped data ingested once per session into a temporary store; tests only read it."""
    from hotspots.config import load_settings
    from hotspots.ingest import build_default_store

    path = tmp_path_factory.mktemp("shipped") / "store"
    build_default_store(load_settings(env={}).with_(store_dir=path))
    return path


@pytest.fixture(scope="session")
def store_dir(store: Path) -> Path:
    """The session's shipped store, under the name the dashboard tests use."""
    return store


@pytest.fixture
def app_env(store_dir: Path, monkeypatch) -> Path:
    """Environment for running the dashboard in-process: the shipped store, no user settings."""
    for var in ("HOTSPOTS_CONFIG", "HOTSPOTS_DATA_DIR", "HOTSPOTS_TILES_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOTSPOTS_STORE_DIR", str(store_dir))
    monkeypatch.chdir(REPO)
    return store_dir
