"""One settings object: package defaults, then a TOML file, then environment overrides."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from hotspots.errors import ParameterError


def _switch(value: str | bool) -> bool:
    """``true``/``false`` from a settings file, or ``1``/``0``/``yes``/``no`` from the
    environment (``bool("0")`` would be True)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(value)


_switch.__name__ = "switch (1/0, true/false)"

_SCALAR_KEYS = {
    "data_dir": str,
    "store_dir": str,
    "force": str,
    "boundary_buffer_m": float,
    "marking": str,
    "tiles_url": str,
    "tiles_attribution": str,
    "harm_default": float,
    "warm_up": _switch,
}

#: Keys only the settings file sets, never the environment: where exports are audited, who
#: may sign in with which role and which host names the server answers to must not be
#: something a user redirects for one command.
_ADMIN_KEYS = {"audit_log": str, "mode": str, "allowed_hosts": list, "roles": dict,
               "default_role": str}


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :func:`load_settings`; derive variants with :meth:`with_`."""

    data_dir: Path
    store_dir: Path
    force: str = "warwickshire"
    boundary_buffer_m: float = 2000.0
    marking: str = "OFFICIAL-SENSITIVE"
    tiles_url: str = ""
    tiles_attribution: str = ""
    #: Fill the dashboard's caches in the background after its first map (what a meeting
    #: will ask for next); off for tests and for a machine that must stay quiet.
    warm_up: bool = True
    harm_default: float = 10.0
    # Same-origin URL the map page fetches the street basemap's chunks from: set by the
    # dashboard, which serves them; empty elsewhere (the page then draws main roads only).
    basemap_url: str = ""
    crime_groups: dict[str, str] = field(default_factory=dict)
    harm: dict[str, float] = field(default_factory=dict)
    audit_log: str = ""
    regions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Admin-only (the settings file, never the environment): see hotspots.access and
    # docs/deployment.md. ``local``: no sign-in, this machine only; ``deployment``: sign-in.
    mode: str = "local"
    allowed_hosts: tuple[str, ...] = ()
    roles: dict[str, str] = field(default_factory=dict)
    default_role: str = "viewer"
    source: str = "defaults"

    def with_(self, **changes) -> Settings:
        """Return a copy with ``changes`` applied."""
        return replace(self, **changes)


def _default_data_dir() -> Path:
    # The shipped data sits beside the package in the source tree (repo/data).
    return Path(__file__).resolve().parent.parent / "data"


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ParameterError(f"{path}: settings file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path}: not valid TOML ({exc})") from None


def _regions(table: object, source: str) -> dict[str, tuple[str, ...]]:
    """``[regions]``: each a list of force slugs or names (checked against the registry later,
    where the forces are known)."""
    if not isinstance(table, dict):
        raise ParameterError(f"[regions] must be a table of force lists (in {source})")
    out = {}
    for name, members in table.items():
        if not isinstance(members, list) or not members or not all(
                isinstance(m, str) and m.strip() for m in members):
            raise ParameterError(f"[regions] {name} must be a list of force names, e.g. "
                                 f'["warwickshire", "west-mercia"] (in {source})')
        out[str(name)] = tuple(m.strip() for m in members)
    return out


def _access(raw: dict, source: str) -> dict:
    """``mode``, ``allowed_hosts``, ``[roles]`` and ``default_role``, checked."""
    from hotspots.access import MODES, NO_ROLE, ROLES

    mode = raw.get("mode", "local")
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {', '.join(MODES)}, not {mode!r} "
                             f"(in {source})")
    hosts = raw.get("allowed_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h.strip()
                                              and "/" not in h for h in hosts):
        raise ParameterError('allowed_hosts must be a list of host names, e.g. '
                             f'["hotspots.force.police.uk"] (in {source})')
    roles = raw.get("roles", {})
    if not isinstance(roles, dict):
        raise ParameterError(f"[roles] must be a table of e-mail = role (in {source})")
    for email, role in roles.items():
        if role not in ROLES:
            raise ParameterError(f"[roles] {email} = {role!r}: a role is one of "
                                 f"{', '.join(ROLES)} (in {source})")
    default = raw.get("default_role", "viewer")
    if default not in (*ROLES, NO_ROLE):
        raise ParameterError(f"default_role must be one of {', '.join((*ROLES, NO_ROLE))}, "
                             f"not {default!r} (in {source})")
    return {"mode": mode, "allowed_hosts": tuple(h.strip().lower().rstrip(".") for h in hosts),
            "roles": {str(k).strip().lower(): str(v) for k, v in roles.items()},
            "default_role": default}


def load_settings(path: str | os.PathLike | None = None, env: dict | None = None) -> Settings:
    """Load settings from the package defaults, a TOML file and the environment.

    Parameters
    ----------
    path : path-like, optional
        TOML file. Default: ``$HOTSPOTS_CONFIG``, else ``hotspots.toml`` in the working folder if
        present.
    env : dict, optional
        Environment to read ``HOTSPOTS_<KEY>`` overrides from (default ``os.environ``).

    Returns
    -------
    Settings
    """
    env = os.environ if env is None else env
    raw = tomllib.loads(resources.files("hotspots").joinpath("defaults.toml").read_text("utf-8"))
    source = "defaults"
    if path is None:
        path = env.get("HOTSPOTS_CONFIG") or ("hotspots.toml" if Path("hotspots.toml").is_file()
                                              else None)
    if path:
        user = _read_toml(Path(path))
        for key, value in user.items():
            if isinstance(value, dict) and isinstance(raw.get(key), dict):
                raw[key] = {**raw[key], **value}
            else:
                raw[key] = value
        source = str(path)
    for key, kind in _SCALAR_KEYS.items():
        if f"HOTSPOTS_{key.upper()}" in env:
            value = env[f"HOTSPOTS_{key.upper()}"]
            try:
                raw[key] = kind(value)
            except ValueError:
                raise ParameterError(
                    f"HOTSPOTS_{key.upper()}={value!r} is not a {kind.__name__}") from None
            source += " + environment"
    data_dir = Path(raw.get("data_dir") or _default_data_dir())
    store_dir = Path(raw.get("store_dir") or data_dir / "store")
    unknown = set(raw) - set(_SCALAR_KEYS) - set(_ADMIN_KEYS) - {"crime_groups", "harm",
                                                                 "regions"}
    if unknown:
        raise ParameterError(f"unknown settings: {', '.join(sorted(unknown))} (in {source})")
    return Settings(
        data_dir=data_dir,
        store_dir=store_dir,
        force=str(raw["force"]),
        boundary_buffer_m=float(raw["boundary_buffer_m"]),
        marking=str(raw["marking"]),
        tiles_url=str(raw["tiles_url"]),
        tiles_attribution=str(raw["tiles_attribution"]),
        warm_up=_switch(raw.get("warm_up", True)),
        harm_default=float(raw["harm_default"]),
        crime_groups={str(k): str(v) for k, v in raw["crime_groups"].items()},
        harm={str(k): float(v) for k, v in raw["harm"].items()},
        audit_log=str(raw.get("audit_log") or ""),
        regions=_regions(raw.get("regions", {}), source),
        **_access(raw, source),
        source=source,
    )
