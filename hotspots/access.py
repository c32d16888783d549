"""Roles and what each may do: the one table the dashboard's server and pages consult.

A force deployment signs users in through the force's identity provider; the admin's settings
file gives each e-mail a role (``[roles]``, else ``default_role``). On a laptop (single-user
local mode) there is no sign-in and the one user acts as ``local``, who may do everything the
machine's own account may.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotspots.errors import AccessError

if TYPE_CHECKING:
    from hotspots.config import Settings

__all__ = ["ACTIONS", "LOCAL", "MODES", "NO_ROLE", "ROLES", "may", "require", "role_for"]

#: Roles an admin can give, least to most.
ROLES = ("viewer", "analyst", "admin")
#: The single user of single-user local mode (no sign-in; the OS account).
LOCAL = "local"
#: ``default_role`` value that lets nobody in who is not listed in ``[roles]``.
NO_ROLE = "none"
#: Deployment modes: ``local`` (no sign-in, this machine only) or ``deployment`` (sign-in).
MODES = ("local", "deployment")

#: What each action covers, for messages and the deployment guide.
ACTIONS = {
    "view": "maps and tables",
    "export": "downloads (map, snapshots, tasking pack, GIS files, tables)",
    "upload": "uploading site files",
    "refresh": "clearing the dashboard's caches so that it re-reads the store",
    "ingest": "loading data into the incident store",
}

_GRANTS = {
    "viewer": frozenset({"view"}),
    "analyst": frozenset({"view", "export", "upload"}),
    "admin": frozenset(ACTIONS),
    LOCAL: frozenset(ACTIONS),
}


def role_for(email: str | None, settings: Settings) -> str | None:
    """The role of a signed-in user, or None when the settings give them none.

    Parameters
    ----------
    email : str or None
        The identity provider's ``email`` claim (compared without case).
    settings : Settings
        ``roles`` (e-mail to role) and ``default_role``.

    Returns
    -------
    str or None
        One of :data:`ROLES`; None for a user without an e-mail, or one not listed when
        ``default_role`` is :data:`NO_ROLE`.
    """
    if not email or not str(email).strip():
        return None
    role = settings.roles.get(str(email).strip().lower(), settings.default_role)
    return role if role in ROLES else None


def may(role: str | None, action: str) -> bool:
    """Whether ``role`` may do ``action`` (one of :data:`ACTIONS`)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return action in _GRANTS.get(role or "", frozenset())


def require(role: str | None, action: str) -> None:
    """Raise :class:`hotspots.errors.AccessError` unless ``role`` may do ``action``."""
    if not may(role, action):
        needs = next(r for r in (*ROLES, LOCAL) if action in _GRANTS[r])
        raise AccessError(f"{ACTIONS[action]} need the {needs} role; you are signed in as "
                          f"{role or 'a user without a role'}: ask the dashboard's admin")
