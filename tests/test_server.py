"""The server guard in front of the dashboard (hotspots.ui.server.Guard), driven as ASGI.

A fake application stands in for Streamlit's: a request that reaches it was let through.
Sign-in cookies are read by an injected function (the browser tests use Streamlit's real
cookie against a test identity provider).
"""

from __future__ import annotations

import asyncio
import tomllib
from dataclasses import dataclass, field

import pytest

from hotspots.config import load_settings
from hotspots.ui import server
from hotspots.ui.server import Guard, Identity


@dataclass
class Result:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reached: bool = False
    received: list[str] = field(default_factory=list)


def _settings(tmp_path, text: str = ""):
    path = tmp_path / "hotspots.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env={})


def _deployed(tmp_path, extra: str = ""):
    return _settings(tmp_path, 'mode = "deployment"\nallowed_hosts = ["dash.force.example"]\n'
                               + extra + '[roles]\n"ann@force.example" = "analyst"\n'
                               '"boss@force.example" = "admin"\n')


def _guard(settings, problem: str | None = None) -> tuple[Guard, Result]:
    result = Result()

    async def app(scope, receive, send):
        result.reached = True
        if scope["type"] == "websocket":
            while (m := await receive())["type"] != "websocket.disconnect":
                result.received.append(_kind(m["bytes"]))
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"data"})

    guard = Guard(app, settings=settings,
                  identify=lambda cookies: Identity(cookies.get("who")),
                  sign_in_problem=lambda: problem,
                  login_url=lambda base: f"{base}/auth/login?provider=T",
                  base_path=lambda: "", upload_cap=lambda: 1000)
    return guard, result


def _kind(data: bytes) -> str:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    msg.ParseFromString(data)
    return msg.WhichOneof("type")


def _backmsg(kind: str) -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    if kind == "clear_cache":
        msg.clear_cache = True
    else:
        msg.rerun_script.query_string = ""
    return msg.SerializeToString()


def _call(guard_result, path: str = "/", *, kind: str = "http", host: str | None = None,
          origin: str | None = None, who: str | None = None, method: str = "GET",
          client=("127.0.0.1", 40000), headers: dict[str, str] | None = None,
          messages: tuple[str, ...] = ()) -> Result:
    guard, result = guard_result
    sent_headers = {"host": "localhost:8501" if host is None else host, **(headers or {})}
    if origin is not None:
        sent_headers["origin"] = origin
    if who is not None:
        sent_headers["cookie"] = f"who={who}"
    scope = {"type": kind, "path": path, "method": method, "client": client,
             "headers": [(k.encode(), v.encode()) for k, v in sent_headers.items()]}
    inbox = ([{"type": "websocket.connect"}] if kind == "websocket" else []) + [
        {"type": "websocket.receive", "bytes": _backmsg(m)} for m in messages] + [
        {"type": "websocket.disconnect", "code": 1000} if kind == "websocket"
        else {"type": "http.request", "body": b""}]

    async def receive():
        return inbox.pop(0)

    async def send(message):
        if message["type"] == "websocket.close" and not result.reached:
            result.status = 403  # closed before accepting: the handshake is refused
        elif message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode(): v.decode() for k, v in message["headers"]}

    async def run():
        if kind == "websocket":
            await receive()  # the handshake itself; the app sees the messages after it
        await guard(scope, receive, send)

    asyncio.run(run())
    if kind == "websocket" and result.reached:
        result.status = 101
    return result


@pytest.fixture
def local(tmp_path):
    return _settings(tmp_path)


def test_a_dns_rebinding_handshake_is_refused_in_local_mode(local):
    r = _call(_guard(local), "/_stcore/stream", kind="websocket", host="evil.example",
              origin="http://evil.example")
    assert r.status == 403 and not r.reached
    for path in ("/", "/media/abc.png", "/_stcore/metrics", "/component/x/chunk.json"):
        r = _call(_guard(local), path, host="evil.example:8501")
        assert r.status == 403 and not r.reached, path
    r = _call(_guard(local), "/_stcore/stream", kind="websocket", host="localhost:8501",
              origin="http://localhost:8501")
    assert r.status == 101


def test_a_dns_rebinding_handshake_is_refused_in_deployment_mode_even_signed_in(tmp_path):
    g = _deployed(tmp_path)
    r = _call(_guard(g), "/_stcore/stream", kind="websocket", host="evil.example",
              origin="http://evil.example", who="ann@force.example")
    assert r.status == 403 and not r.reached
    r = _call(_guard(g), "/_stcore/stream", kind="websocket", host="dash.force.example",
              origin="https://dash.force.example", who="ann@force.example")
    assert r.status == 101


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "file://",
                                    "http://localhost.evil.example:8501"])
def test_a_foreign_origin_is_refused_even_with_the_right_host(local, origin):
    for kind, path in (("websocket", "/_stcore/stream"), ("http", "/_stcore/upload_file/a")):
        r = _call(_guard(local), path, kind=kind, host="localhost:8501", origin=origin)
        assert r.status == 403 and not r.reached, (kind, origin)


@pytest.mark.parametrize("host, ok", [
    ("LOCALHOST:9999", True), ("127.0.0.1", True), ("[::1]:8501", True),
    ("localhost.evil.example", False), ("user@localhost", False), ("localhost:bad", False),
    ("", False), ("10.0.0.5:8501", False)])
def test_host_names_compare_without_port_or_case(local, host, ok):
    r = _call(_guard(local), "/", host=host)
    assert (r.status == 200) is ok and r.reached is ok


def test_allowed_hosts_take_wildcard_subdomains(tmp_path):
    s = _settings(tmp_path, 'allowed_hosts = ["*.force.example"]\n')
    assert _call(_guard(s), "/", host="dash.force.example").status == 200
    assert _call(_guard(s), "/", host="force.example.evil.example").status == 403
    assert _call(_guard(s), "/", host="localhost").status == 200  # local names stay


def test_local_mode_serves_this_computer_only(local):
    r = _call(_guard(local), "/", client=("192.168.1.20", 5000))
    assert r.status == 403 and not r.reached
    assert _call(_guard(local), "/", client=("::1", 5000)).status == 200
    assert _call(_guard(local), "/", client=None).status == 200  # a Unix socket
    r = _call(_guard(local), "/_stcore/stream", kind="websocket", client=("10.1.1.1", 1))
    assert r.status == 403


def test_deployment_serves_nothing_before_sign_in_but_sends_a_page_request_to_sign_in(
        tmp_path):
    g = _deployed(tmp_path)
    host = "dash.force.example"
    r = _call(_guard(g), "/", host=host)
    assert r.status == 302 and r.headers["location"] == "/auth/login?provider=T"
    assert not r.reached
    r = _call(_guard(g), "/_stcore/stream", kind="websocket", host=host,
              origin=f"https://{host}")
    assert r.status == 403 and not r.reached
    for path in ("/media/abc.png", "/component/street_basemap_1/chunk.json",
                 "/_stcore/host-config", "/_stcore/upload_file/s/f", "/app/static/x"):
        r = _call(_guard(g), path, host=host)
        assert r.status == 401 and not r.reached, path
    for path in ("/_stcore/health", "/auth/login", "/oauth2callback", "/auth/logout"):
        assert _call(_guard(g), path, host=host).reached, path
    assert _call(_guard(g), "/", host=host, who="ann@force.example").status == 200


def test_metrics_are_not_served_in_deployment_mode_even_to_an_admin(tmp_path):
    g = _deployed(tmp_path)
    r = _call(_guard(g), "/_stcore/metrics", host="dash.force.example",
              who="boss@force.example")
    assert r.status == 404 and not r.reached


def test_an_account_without_a_role_gets_nothing(tmp_path):
    g = _deployed(tmp_path, 'default_role = "none"\n')
    r = _call(_guard(g), "/", host="dash.force.example", who="stranger@force.example")
    assert r.status == 403 and not r.reached
    r = _call(_guard(g), "/_stcore/stream", kind="websocket", host="dash.force.example",
              who="stranger@force.example")
    assert r.status == 403 and not r.reached
    assert _call(_guard(g), "/", host="dash.force.example", who="ann@force.example").reached


def test_a_viewer_may_not_upload_and_an_analyst_may_within_the_cap(tmp_path):
    g = _deployed(tmp_path)
    put = {"host": "dash.force.example", "method": "PUT"}
    r = _call(_guard(g), "/_stcore/upload_file/s/f", who="vic@force.example",
              headers={"content-length": "10"}, **put)
    assert r.status == 403 and not r.reached  # vic has the default role: viewer
    r = _call(_guard(g), "/_stcore/upload_file/s/f", who="ann@force.example",
              headers={"content-length": "10"}, **put)
    assert r.reached
    r = _call(_guard(g), "/_stcore/upload_file/s/f", who="ann@force.example",
              headers={"content-length": "1001"}, **put)
    assert r.status == 413 and not r.reached
    r = _call(_guard(g), "/_stcore/upload_file/s/f", who="ann@force.example", **put)
    assert r.status == 411 and not r.reached


def test_the_upload_cap_holds_in_local_mode_too(local):
    r = _call(_guard(local), "/_stcore/upload_file/s/f", method="PUT",
              headers={"content-length": "5000"})
    assert r.status == 413 and not r.reached


def test_clearing_the_caches_from_a_browser_needs_the_refresh_role(tmp_path, local):
    g = _deployed(tmp_path)
    sent = ("clear_cache", "rerun_script", "clear_cache")
    for who, expected in (("ann@force.example", ["rerun_script"]),
                          ("vic@force.example", ["rerun_script"]),
                          ("boss@force.example", list(sent))):
        r = _call(_guard(g), "/_stcore/stream", kind="websocket", host="dash.force.example",
                  who=who, messages=sent)
        assert r.status == 101 and r.received == expected, who
    r = _call(_guard(local), "/_stcore/stream", kind="websocket", messages=sent)
    assert r.received == list(sent)  # single-user local mode: the user may do everything


def test_deployment_without_sign_in_configured_refuses_everything_but_the_health_check(
        tmp_path):
    g = _deployed(tmp_path)
    guard = _guard(g, problem="sign-in is not configured (StreamlitAuthError)")
    r = _call(guard, "/", host="dash.force.example", who="ann@force.example")
    assert r.status == 503 and not r.reached
    assert _call(_guard(g, problem="x"), "/_stcore/health", host="10.0.0.1").reached


def test_deployment_answers_to_the_sign_in_address_when_no_hosts_are_listed(tmp_path,
                                                                          monkeypatch):
    import streamlit.auth_util

    s = _settings(tmp_path, 'mode = "deployment"\n')
    monkeypatch.setattr(streamlit.auth_util, "get_origin_from_redirect_uri",
                        lambda: "https://Dash.Force.Example:8443")
    assert server.allowed_hosts(s) == ("dash.force.example",)
    monkeypatch.setattr(streamlit.auth_util, "get_origin_from_redirect_uri", lambda: None)
    assert server.allowed_hosts(s) == ()
    assert server.allowed_hosts(_settings(tmp_path, "")) == server.LOCAL_HOSTS


def test_a_bad_or_missing_sign_in_cookie_reads_as_signed_out():
    assert server.streamlit_identity({}) == Identity(None)
    assert server.streamlit_identity({"_streamlit_user": "forged"}) == Identity(None)


def test_the_production_config_hides_error_details_and_caps_uploads_at_the_site_file_size():
    from streamlit import config

    from hotspots.ui.disruption import UPLOAD_MAX_MB

    with open(server.PRODUCTION_CONFIG, "rb") as fh:
        options = server._flatten(tomllib.load(fh))
    known = config.get_config_options()
    assert [k for k in options if k not in known] == []  # every key is a Streamlit option
    assert options["client.showErrorDetails"] == "none"
    assert options["server.maxUploadSize"] == UPLOAD_MAX_MB
    assert options["server.enableXsrfProtection"] is True
    assert options["server.enableCORS"] is True  # true = the CORS protection is on
    assert options["browser.gatherUsageStats"] is False
    assert options["server.enableStaticServing"] is False
