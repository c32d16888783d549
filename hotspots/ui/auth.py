"""Sign-in and roles in the page: who is using the dashboard, and as what.

:func:`gate` runs first in every script run. In single-user local mode it says so (no
sign-in; this computer only; downloads recorded under the OS account). In deployment mode it
stops the page unless the user is signed in (Streamlit's ``st.login`` with the force's
identity provider, configured in the secrets) and has a role; it shows who is signed in, a
sign-out button and, for an admin, the refresh control.

The server enforces the same before any script runs (:mod:`hotspots.ui.server`): this is
the page's half, so that a session never draws data for a user the server would refuse.
"""

from __future__ import annotations

import streamlit as st

from hotspots import access
from hotspots.audit import os_account
from hotspots.config import Settings, load_settings
from hotspots.errors import HotspotsError
from hotspots.ui.common import md_escape

__all__ = ["LOCAL_NOTE", "ROLE_KEY", "current_role", "gate", "may", "signed_in_email"]

#: Session-state key of the role :func:`gate` found for this run (server-side only: not a
#: widget key, so no browser message can set it).
ROLE_KEY = "_hs_role"
#: What local mode says, with the OS account.
LOCAL_NOTE = ("Single-user local mode: no sign-in; the dashboard answers this computer only "
              "and records downloads under the OS account {account}.")


def signed_in_email() -> str | None:
    """The signed-in user's e-mail (or name when the provider gives none); None if nobody is
    signed in or sign-in is not configured."""
    try:
        info = st.user.to_dict()
    except Exception:  # noqa: BLE001 - no script context or no auth: nobody is signed in
        return None
    if info.get("is_logged_in") is True:
        return str(info.get("email") or info.get("name") or "").strip() or None
    return None


def current_role() -> str:
    """The role :func:`gate` found for this run; :data:`hotspots.access.NO_ROLE` (may do
    nothing) when it has not run."""
    try:
        role = st.session_state.get(ROLE_KEY)
    except Exception:  # noqa: BLE001 - no script context
        role = None
    return role or access.NO_ROLE


def may(action: str) -> bool:
    """Whether this run's user may do ``action`` (:data:`hotspots.access.ACTIONS`)."""
    return access.may(current_role(), action)


def _refresh() -> None:
    st.cache_data.clear()


def _sign_in_page() -> None:
    st.title("Crime hotspots")
    st.write("Sign in with your force account to use the dashboard.")
    st.button("Sign in", on_click=st.login, type="primary", icon=":material/login:")
    st.stop()


def _deployment(settings: Settings) -> None:
    email = signed_in_email()
    if email is None:
        st.session_state[ROLE_KEY] = access.NO_ROLE
        _sign_in_page()
    role = access.role_for(email, settings)
    if role is None:
        st.session_state[ROLE_KEY] = access.NO_ROLE
        st.title("Crime hotspots")
        st.error(md_escape(f"{email} has no role in this dashboard: ask its admin to add you "
                           "to [roles] in the settings."))
        st.button("Sign out", on_click=st.logout)
        st.stop()
    st.session_state[ROLE_KEY] = role
    with st.sidebar:
        st.caption(md_escape(f"Signed in as {email} ({role}: "
                             f"{_may_words(role)})."))
        left, right = st.columns(2)
        left.button("Sign out", on_click=st.logout, icon=":material/logout:",
                    width="stretch")
        if access.may(role, "refresh"):
            right.button("Refresh data", on_click=_refresh, icon=":material/refresh:",
                         width="stretch", key="hs_refresh",
                         help="Clear the dashboard's caches so that every view re-reads "
                              "the incident store (after an ingest).")


def _may_words(role: str) -> str:
    words = {"viewer": "maps and tables", "analyst": "maps, tables, downloads and uploads",
             "admin": "everything, with refresh"}
    return words.get(role, role)


def gate() -> None:
    """Check who uses the page before anything else is drawn (the first call of ``main``).

    Local mode: note it and act as the OS account (role ``local``). Deployment mode: stop
    the script (``st.stop``) with a sign-in page unless signed in with a role.
    """
    try:
        settings = load_settings()
    except HotspotsError:
        # The dashboard shows the settings error itself and draws nothing without settings;
        # the server guard, set up from the same file at start, still holds.
        return
    if settings.mode == "deployment":
        _deployment(settings)
        return
    st.session_state[ROLE_KEY] = access.LOCAL
    st.sidebar.caption(md_escape(LOCAL_NOTE.format(account=os_account())))
