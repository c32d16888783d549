"""The dashboard's server guard: what the web server answers before any page script runs.

``streamlit run app.py`` finds ``app.py``'s ``st.App`` and serves it with :class:`Guard` as
the outermost ASGI middleware, so every HTTP request and WebSocket handshake passes here
first:

- **Host and Origin allow-list** (both modes): a request whose ``Host`` is not an allowed
  host name, or whose ``Origin`` is not on one, is refused (403). A DNS-rebinding page (its
  own name pointed at this server) sends its own name in both, so it gets nothing: no page,
  no WebSocket, no media.
- **Single-user local mode** (``mode = "local"``, the default): no sign-in; only this
  machine (a loopback client address) is served.
- **Deployment mode** (``mode = "deployment"``): nothing but the health check and the
  sign-in routes is served without a valid sign-in cookie (Streamlit's ``st.login`` cookie,
  signed with the secrets' ``cookie_secret``): a page request is sent to sign in, anything
  else (WebSocket stream, media, component files, uploads) is refused. ``/_stcore/metrics``
  is not served at all. Roles are enforced here too: an upload needs a role that may upload,
  and a ``clear_cache`` message on the WebSocket is dropped unless the role may refresh.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
import tomllib
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hotspots import access
from hotspots.config import Settings, load_settings
from hotspots.errors import HotspotsError

__all__ = ["LOCAL_HOSTS", "PRODUCTION_CONFIG", "Guard", "Identity", "apply_options",
           "host_name", "launch_middleware", "streamlit_identity"]

_LOG = logging.getLogger("hotspots.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Host names single-user local mode answers to (this machine's own names).
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
#: Streamlit settings for a force deployment, applied over ``.streamlit/config.toml`` when
#: the settings say ``mode = "deployment"`` (see docs/deployment.md).
PRODUCTION_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "streamlit-production.toml"

# Paths below the base URL path.
_HEALTH = ("_stcore/health", "_stcore/script-health-check")
_SIGN_IN = ("auth/login", "auth/logout", "oauth2callback")
_METRICS = "_stcore/metrics"
_UPLOAD = "_stcore/upload_file"
_STREAM = "_stcore/stream"
# Prefixes a browser fetches as data, not as a page: refused, not redirected, when signed out.
_API = ("_stcore/", "media/", "component/", "bidi-components/", "app/static/")


@dataclass(frozen=True)
class Identity:
    """Who a request comes from, as its sign-in cookie says.

    Attributes
    ----------
    email : str or None
        The identity provider's ``email`` claim; None when not signed in.
    """

    email: str | None


def host_name(value: str | None) -> str | None:
    """The lower-case host name of a ``Host`` header or an origin's netloc (no port).

    Returns None for a value that is not a plain ``host[:port]``.
    """
    if not value:
        return None
    try:
        parts = urlsplit("//" + value.strip())
        _ = parts.port  # a bad port raises
    except ValueError:
        return None
    if (not parts.hostname or parts.username or parts.password or parts.path or parts.query
            or parts.fragment):
        return None
    return parts.hostname.lower().rstrip(".")


def _origin_host(origin: str) -> str | None:
    if origin == "null":
        return None
    try:
        parts = urlsplit(origin)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    return host_name(parts.netloc)


def _is_loopback(client: tuple[str, int] | None) -> bool:
    if client is None:  # a Unix socket: only this machine can reach it
        return True
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _cookies(header: str) -> dict[str, str]:
    from http.cookies import SimpleCookie

    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # noqa: BLE001 - a malformed Cookie header: treat as no cookies
        return {}
    return {k: m.value for k, m in jar.items()}


def streamlit_identity(cookies: dict[str, str]) -> Identity:
    """Read Streamlit's signed sign-in cookie (``st.login``) as its WebSocket handler does.

    Anything unexpected (no cookie, a bad signature, another origin, a Streamlit whose
    internals moved) reads as not signed in: the guard fails closed.
    """
    try:
        from streamlit.auth_util import get_origin_from_redirect_uri
        from streamlit.web.server.starlette.starlette_websocket import (
            USER_COOKIE_NAME,
            _get_signed_cookie_with_chunks,
            _parse_decoded_user_cookie,
        )

        raw = _get_signed_cookie_with_chunks(cookies, USER_COOKIE_NAME)
        origin = get_origin_from_redirect_uri()
        if not raw or not origin:
            return Identity(None)
        info = _parse_decoded_user_cookie(raw, origin)
    except Exception:  # noqa: BLE001 - fail closed, whatever went wrong
        _LOG.warning("could not read the sign-in cookie", exc_info=True)
        return Identity(None)
    if info.get("is_logged_in") is not True:
        return Identity(None)
    email = info.get("email")
    return Identity(str(email).strip() if email else None)


def _sign_in_problem() -> str | None:
    """Why sign-in cannot work (no ``[auth]`` in the secrets, no Authlib), or None."""
    try:
        from streamlit.auth_util import is_authlib_installed, validate_auth_credentials

        if not is_authlib_installed():
            return "Authlib is not installed (pip install 'hotspots[auth]')"
        validate_auth_credentials("default")
    except Exception as exc:  # noqa: BLE001 - StreamlitAuthError and friends: say why
        return f"sign-in is not configured ({type(exc).__name__})"
    return None


def _login_url(base: str) -> str:
    from streamlit.auth_util import encode_provider_token

    return f"{base}/auth/login?provider={encode_provider_token('default')}"


async def _respond(send: Send, status: int, text: str,
                   headers: Iterable[tuple[str, str]] = ()) -> None:
    body = (text + "\n").encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"),
                            *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)]})
    await send({"type": "http.response.body", "body": body})


async def _refuse_socket(send: Send) -> None:
    # Closing before accepting makes the server answer the handshake with 403.
    await send({"type": "websocket.close", "code": 1008})


def _is_clear_cache(message: Message) -> bool:
    data = message.get("bytes")
    if message.get("type") != "websocket.receive" or not data:
        return False
    try:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.ParseFromString(data)
        return msg.WhichOneof("type") == "clear_cache"
    except Exception:  # noqa: BLE001 - not a BackMsg: Streamlit refuses it itself
        return False


class Guard:
    """ASGI middleware: the Host/Origin allow-list, local-only serving, sign-in and roles.

    Parameters
    ----------
    app : ASGI application
        Streamlit's application.
    settings : Settings
        ``mode``, ``allowed_hosts``, ``roles`` and ``default_role`` (read once at start).
    identify : callable, optional
        Cookies to :class:`Identity`; default :func:`streamlit_identity`.
    sign_in_problem : callable, optional
        Why sign-in cannot work, or None; default: checks the secrets' ``[auth]`` and Authlib.
    login_url : callable, optional
        Base URL path to the sign-in URL a signed-out page request is sent to.
    base_path : callable, optional
        The server's base URL path (default Streamlit's ``server.baseUrlPath``).
    upload_cap : callable, optional
        The largest upload in bytes (default Streamlit's ``server.maxUploadSize``): a larger
        stated length gets 413 and an upload that states none 411, before Streamlit reads
        a byte (Streamlit also counts the bytes as they arrive).
    """

    def __init__(self, app: Any, *, settings: Settings,
                 identify: Callable[[dict[str, str]], Identity] = streamlit_identity,
                 sign_in_problem: Callable[[], str | None] = _sign_in_problem,
                 login_url: Callable[[str], str] = _login_url,
                 base_path: Callable[[], str] | None = None,
                 upload_cap: Callable[[], int] | None = None) -> None:
        self.app = app
        self.settings = settings
        self.deployment = settings.mode == "deployment"
        self.hosts = frozenset(allowed_hosts(settings))
        self.identify = identify
        self.sign_in_problem = sign_in_problem
        self.login_url = login_url
        self.base_path = base_path or _streamlit_base_path
        self.upload_cap = upload_cap or _streamlit_upload_cap

    def _host_ok(self, name: str | None) -> bool:
        if name is None:
            return False
        return name in self.hosts or any(h.startswith("*.") and name.endswith(h[1:])
                                         for h in self.hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        base = self.base_path()
        path = scope.get("path", "/")
        rel = path[len(base):] if base and path.startswith(base) else path
        rel = rel.lstrip("/")
        refuse = _refuse_socket if kind == "websocket" else None

        async def deny(status: int, text: str) -> None:
            if refuse is not None:
                await refuse(send)
            else:
                await _respond(send, status, text)

        if rel in _HEALTH:  # a load balancer's probe: says "ok" and nothing else
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        origin = headers.get("origin")
        if not self._host_ok(host_name(headers.get("host"))) or (
                origin is not None and not self._host_ok(_origin_host(origin))):
            _LOG.warning("refused %s %s: host %r, origin %r not allowed", kind, path,
                         headers.get("host"), origin)
            await deny(403, "This host name or origin is not allowed.")
            return
        if not self.deployment:
            if not _is_loopback(scope.get("client")):
                await deny(403, "Single-user local mode serves this computer only.")
                return
        else:
            receive = await self._signed_in(kind, scope, rel, base, headers, receive, deny,
                                            send)
            if receive is None:
                return
        if kind == "http" and rel.startswith(_UPLOAD) and scope.get("method") == "PUT":
            length = headers.get("content-length", "")
            if not length.isdigit():
                await deny(411, "An upload must state its length.")
                return
            if int(length) > self.upload_cap():
                await deny(413, "The file is larger than this server accepts.")
                return
        await self.app(scope, receive, send)

    async def _signed_in(self, kind: str, scope: Scope, rel: str, base: str,
                         headers: dict[str, str], receive: Receive,
                         deny: Callable[[int, str], Awaitable[None]],
                         send: Send) -> Receive | None:
        """Deployment mode: the ``receive`` to serve the request with, or None when it has
        been answered here (refused, or sent to sign in)."""
        if rel == _METRICS or rel.startswith(_METRICS + "/"):
            await deny(404, "Not found.")
            return None
        problem = self.sign_in_problem()
        if problem is not None:
            _LOG.error("deployment mode refuses every request: %s (see docs/deployment.md)",
                       problem)
            await deny(503, "Sign-in is not configured on this server; tell its admin.")
            return None
        if rel in _SIGN_IN:
            return receive
        who = self.identify(_cookies(headers.get("cookie", "")))
        if who.email is None:
            if kind == "http" and scope.get("method") in ("GET", "HEAD") and not any(
                    rel.startswith(p) for p in _API):
                await _respond(send, 302, "Sign in first.",
                               [("location", self.login_url(base.rstrip("/")))])
                return None
            await deny(401, "Sign in first.")
            return None
        role = access.role_for(who.email, self.settings)
        if role is None:
            await deny(403, "Your account has no role in this dashboard; ask its admin.")
            return None
        if rel.startswith(_UPLOAD) and not access.may(role, "upload"):
            await deny(403, "Your role may not upload files.")
            return None
        if kind == "websocket" and not access.may(role, "refresh"):
            return _without_clear_cache(receive, who.email)
        return receive


def _without_clear_cache(receive: Receive, email: str) -> Receive:
    """``receive`` that drops the browser's "clear caches" messages (a refresh)."""

    async def filtered() -> Message:
        while True:
            message = await receive()
            if not _is_clear_cache(message):
                return message
            _LOG.warning("dropped clear_cache from %s: the role may not refresh", email)

    return filtered


def _streamlit_upload_cap() -> int:
    from streamlit import config

    return int(config.get_option("server.maxUploadSize")) * 1024 * 1024


def _streamlit_base_path() -> str:
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + base if base else ""


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    """Host names the server answers to.

    Local mode: this machine's names (:data:`LOCAL_HOSTS`) plus ``allowed_hosts``.
    Deployment mode: ``allowed_hosts``, else the host of the secrets' ``redirect_uri`` (the
    address users sign in at); none at all refuses every request.
    """
    if settings.mode != "deployment":
        return tuple(dict.fromkeys((*LOCAL_HOSTS, *settings.allowed_hosts)))
    if settings.allowed_hosts:
        return settings.allowed_hosts
    try:
        from streamlit.auth_util import get_origin_from_redirect_uri

        origin = get_origin_from_redirect_uri()
    except Exception:  # noqa: BLE001 - no secrets: no host is allowed
        origin = None
    name = _origin_host(origin) if origin else None
    return (name,) if name else ()


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def apply_options(path: Path = PRODUCTION_CONFIG) -> dict[str, Any]:
    """Set the Streamlit options of a config file (e.g. :data:`PRODUCTION_CONFIG`) over
    whatever ``.streamlit/config.toml`` and the command line said; return them."""
    from streamlit import config

    with open(path, "rb") as fh:
        options = _flatten(tomllib.load(fh))
    for key, value in options.items():
        config.set_option(key, value, where_defined=str(path))
    return options


def launch_middleware() -> list:
    """The middleware ``app.py``'s ``st.App`` is served with (called once, at start-up).

    Loads the settings (a bad file stops the server with its one-line error), applies the
    production Streamlit settings in deployment mode, and sets Streamlit's own WebSocket
    Host allow-list to the same host names.
    """
    from starlette.middleware import Middleware
    from streamlit import config

    try:
        settings = load_settings()
    except HotspotsError as exc:
        print(f"hotspots: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if settings.mode == "deployment":
        apply_options()
    hosts = allowed_hosts(settings)
    config.set_option("server.allowedHosts", list(hosts) or ["."],
                      where_defined="hotspots settings")
    mode = "single-user local" if settings.mode == "local" else "deployment"
    print(f"hotspots: {mode} mode; answering to {', '.join(hosts) or 'no host'}",
          file=sys.stderr)
    return [Middleware(Guard, settings=settings)]
