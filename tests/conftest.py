"""Shared fixtures: a run sandboxed away from the checkout, settings isolated from the
environment, the shipped store built once per session, hand-made police.uk files, and the
dashboard in headless Chromium. Helpers are in support.py.

Nothing a test run writes lands in the checkout: the whole session runs with
``HOTSPOTS_DATA_DIR`` (links to the shipped files), ``HOTSPOTS_STORE_DIR`` and
the audit log (a settings file's ``audit_log``) in a temporary folder, and
:func:`checkout_stays_clean` fails the run if a file appeared in the checkout (or changed under
``data/``) all the same.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import os
from pathlib import Path

import pytest
from support import (
    PLACES,
    REPO,
    TEST_ACCOUNTS,
    audit_settings,
    audit_to,
    checkout_changes,
    checkout_files,
    free_port,
    launch_browser,
    link_shipped_data,
    start_server,
)

from hotspots.config import Settings, load_settings
from hotspots.schema import POLICE_UK_COLUMNS

_KEYS = dict(zip(("crime_id", "month", "reported_by", "falls_within", "lon", "lat", "location",
                  "lsoa_code", "lsoa_name", "crime_type", "outcome", "context"),
                 POLICE_UK_COLUMNS, strict=True))


# ------------------------------------------------------------------------ the sandbox

@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Path:
    """The session's temporary folder for everything the library writes by default."""
    return tmp_path_factory.mktemp("sandbox")


@pytest.fixture(scope="session")
def data_dir(sandbox: Path) -> Path:
    """A data folder reading the shipped files (links) whose caches and logs stay in the
    sandbox: use it as ``data_dir`` of any settings (``load_settings(env={})`` alone points at
    the checkout's ``data/``)."""
    return link_shipped_data(sandbox / "data")


@pytest.fixture(scope="session", autouse=True)
def checkout_stays_clean(sandbox: Path, data_dir: Path):
    """Run every test with the library's default paths in the sandbox, and fail the run if a
    file appeared in the checkout (or one under ``data/`` changed) during it.

    Opt-in writes are allowed where asked for: ``HOTSPOTS_TEST_ARTIFACTS`` inside the checkout,
    and ``docs/images/`` with ``UPDATE_DOCS_IMAGES=1``.
    """
    allowed = []
    artifacts = os.environ.get("HOTSPOTS_TEST_ARTIFACTS")
    if artifacts and Path(artifacts).resolve().is_relative_to(REPO):
        allowed.append(Path(artifacts).resolve().relative_to(REPO).as_posix() + "/")
    if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        allowed.append("docs/images/")
    before = checkout_files()
    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("HOTSPOTS_")]:
            if var != "HOTSPOTS_TEST_ARTIFACTS":
                mp.delenv(var)
        mp.setenv("HOTSPOTS_DATA_DIR", str(data_dir))
        # No background cache warm-up in tests: it would spend minutes of CPU per process.
        mp.setenv("HOTSPOTS_WARM_UP", "0")
        mp.setenv("HOTSPOTS_STORE_DIR", str(sandbox / "shipped" / "store"))
        mp.setenv("HOTSPOTS_CONFIG", str(audit_settings(sandbox / "logs" / "exports.jsonl")))
        yield
    changes = checkout_changes(before, checkout_files(), tuple(allowed))
    if changes:
        pytest.fail("the test run wrote into the checkout (use tmp_path and settings pointing "
                    "there):\n  " + "\n  ".join(changes[:50]), pytrace=False)


@pytest.fixture
def settings(tmp_path: Path, data_dir: Path) -> Settings:
    """Package defaults only (no hotspots.toml, no HOTSPOTS_* variables), store in tmp_path,
    the shipped data read through :func:`data_dir`."""
    return load_settings(env={}).with_(store_dir=tmp_path / "store", data_dir=data_dir)


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


# ------------------------------------------------------------------------ the shipped store

@pytest.fixture(scope="session")
def shipped_settings(sandbox: Path, data_dir: Path) -> Settings:
    """Package defaults reading the session's shipped store: the shipped data ingested once per
    session into a temporary store. Tests only read it (a test that changes a store builds its
    own small one in ``tmp_path``)."""
    from hotspots.ingest import build_default_store

    settings = load_settings(env={}).with_(store_dir=sandbox / "shipped" / "store",
                                           data_dir=data_dir)
    build_default_store(settings)
    return settings


@pytest.fixture(scope="session")
def store(shipped_settings: Settings) -> Path:
    """The session's shipped store (see :func:`shipped_settings`)."""
    return Path(shipped_settings.store_dir)


@pytest.fixture(scope="session")
def store_dir(store: Path) -> Path:
    """The session's shipped store, under the name the dashboard tests use."""
    return store


@pytest.fixture
def app_env(store_dir: Path, data_dir: Path, tmp_path: Path, monkeypatch) -> Path:
    """Environment for running the dashboard in-process: the shipped store, no user settings,
    downloads audited to ``tmp_path / "audit.jsonl"``."""
    for var in ("HOTSPOTS_CONFIG", "HOTSPOTS_TILES_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOTSPOTS_STORE_DIR", str(store_dir))
    monkeypatch.setenv("HOTSPOTS_DATA_DIR", str(data_dir))
    audit_to(monkeypatch, tmp_path / "audit.jsonl")
    monkeypatch.chdir(REPO)
    return store_dir


# ------------------------------------------------------------------------ headless Chromium

@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    """Where browser tests leave screenshots and server logs: ``$HOTSPOTS_TEST_ARTIFACTS``
    when set (CI keeps them), else a session temporary folder."""
    named = os.environ.get("HOTSPOTS_TEST_ARTIFACTS")
    path = Path(named) if named else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(store: Path, data_dir: Path, artifacts: Path, tmp_path_factory):
    """The dashboard under ``streamlit run`` on a free local port, on the session's store."""
    yield from start_server(store=store, data_dir=data_dir,
                            audit_log=tmp_path_factory.mktemp("audit") / "exports.jsonl",
                            log=artifacts / "streamlit-browser-test.log")


@pytest.fixture(scope="module")
def first_run_server(data_dir: Path, artifacts: Path, tmp_path_factory):
    """The dashboard under ``streamlit run`` with no store yet: its start-up includes the
    first-run store build from the shipped data."""
    root = tmp_path_factory.mktemp("first-run")
    yield from start_server(store=root / "store", data_dir=data_dir,
                            audit_log=root / "logs" / "exports.jsonl",
                            log=artifacts / "streamlit-first-run.log")


@pytest.fixture(scope="module")
def identity_provider():
    """A local OpenID Connect provider for tests (oidc-provider-mock) on a free port; yields
    its issuer URL. Its sign-in form takes any subject, which becomes the e-mail claim."""
    from oidc_provider_mock import run_server_in_thread

    with pytest.MonkeyPatch.context() as mp:
        # Plain http on this machine: Authlib refuses it unless told this is a test.
        mp.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
        with run_server_in_thread(port=free_port()) as idp:
            yield f"http://localhost:{idp.server_port}"


@pytest.fixture(scope="module")
def deployed_server(store: Path, data_dir: Path, artifacts: Path, tmp_path_factory,
                    identity_provider: str):
    """The dashboard in deployment mode (sign-in through :func:`identity_provider`, roles
    from :data:`TEST_ACCOUNTS`), at ``http://localhost:<port>/``."""
    import json
    import secrets

    root = tmp_path_factory.mktemp("deployed")
    port = free_port()
    secrets_file = root / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "hotspots-test"\nclient_secret = "hotspots-test-secret"\n'
        f'server_metadata_url = "{identity_provider}/.well-known/openid-configuration"\n',
        encoding="utf-8")
    audit_log = root / "logs" / "exports.jsonl"
    config = root / "hotspots.toml"
    config.write_text(
        'mode = "deployment"\nallowed_hosts = ["localhost"]\n'
        f"audit_log = {json.dumps(str(audit_log))}\n[roles]\n"
        f'"{TEST_ACCOUNTS["analyst"]}" = "analyst"\n"{TEST_ACCOUNTS["admin"]}" = "admin"\n',
        encoding="utf-8")
    yield from start_server(store=store, data_dir=data_dir, audit_log=audit_log,
                            log=artifacts / "streamlit-deployed.log", config=config,
                            port=port, args=("--secrets.files", str(secrets_file)),
                            host="localhost")


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright, with outside connections disabled."""
    yield from launch_browser()
