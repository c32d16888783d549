"""Sign-in, roles and the Host/Origin allow-list, against the running dashboard.

``deployed_server`` is the dashboard in deployment mode signing users in at a local test
identity provider (oidc-provider-mock) with Streamlit's ``st.login``; ``server`` is the
dashboard in single-user local mode. Headless Debian Chromium signs in as a real user would.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from support import (
    MAP,
    STARTUP_LIMIT_S,
    TEST_ACCOUNTS,
    http_get,
    ws_handshake,
)

pytestmark = pytest.mark.browser

_DOWNLOADS = "Download for the tasking meeting"


def _sign_in(browser, server, identity_provider: str, role: str):
    """A new page signed in as the test account with ``role``; returns it at the map."""
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(server.url)
    # Nothing of the dashboard first: the server sends the browser to the identity provider.
    assert page.url.startswith(identity_provider + "/oauth2/authorize"), page.url
    page.fill("input[name=sub]", TEST_ACCOUNTS[role])
    page.get_by_role("button", name="Authorize").click()
    page.frame_locator(MAP).locator("path.hs-hotspot").first.wait_for(
        state="attached", timeout=STARTUP_LIMIT_S * 1000)
    return page


def _cookies(page) -> dict[str, str]:
    return {c["name"]: c["value"] for c in page.context.cookies()}


def _audit(server) -> list[dict]:
    from hotspots.audit import read_exports
    from hotspots.config import load_settings

    return read_exports(server.audit_log, settings=load_settings(env={}))


def test_a_dns_rebinding_handshake_to_the_local_dashboard_is_refused(server):
    port = server.url.rstrip("/").rsplit(":", 1)[1]
    assert ws_handshake(server.url, host="evil.example", origin="http://evil.example") == 403
    assert ws_handshake(server.url, host=f"evil.example:{port}",
                        origin=f"http://evil.example:{port}") == 403
    assert ws_handshake(server.url, host=f"127.0.0.1:{port}",
                        origin="http://evil.example") == 403
    for path in ("", "_stcore/metrics", "_stcore/host-config"):
        assert http_get(server.url + path, host="evil.example").status == 403, path
    # The dashboard's own page and stream, at the names of this machine, still open.
    assert ws_handshake(server.url, host=f"localhost:{port}",
                        origin=f"http://localhost:{port}") == 101
    assert http_get(server.url).status == 200


def test_local_mode_says_so_and_needs_no_sign_in(server, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    try:
        page.goto(server.url)
        page.frame_locator(MAP).locator("path.hs-hotspot").first.wait_for(
            state="attached", timeout=STARTUP_LIMIT_S * 1000)
        expect(page.get_by_text("Single-user local mode: no sign-in")).to_be_visible()
        assert not page.get_by_role("button", name="Sign out").count()
    finally:
        page.close()


def test_nothing_is_served_before_sign_in(deployed_server):
    url = deployed_server.url
    host = url.split("/")[2]
    page = http_get(url)
    assert page.status == 302 and "/auth/login?provider=" in page.location
    assert "hotspot" not in page.body.lower()
    assert ws_handshake(url, host=host, origin=f"http://{host}") == 403
    for path in ("media/0123456789abcdef.png", "_stcore/host-config",
                 "component/street_basemap/index.json", "_stcore/upload_file/s/f"):
        assert http_get(url + path).status == 401, path
    assert http_get(url + "_stcore/metrics").status == 404
    assert http_get(url + "_stcore/health").status == 200
    assert ws_handshake(url, host="evil.example", origin="http://evil.example") == 403


def test_signing_in_at_the_identity_provider_opens_the_dashboard_and_audits_the_account(
        deployed_server, identity_provider, browser):
    page = _sign_in(browser, deployed_server, identity_provider, "analyst")
    try:
        email = TEST_ACCOUNTS["analyst"]
        expect(page.get_by_text(f"Signed in as {email} (analyst")).to_be_visible()
        before = len(_audit(deployed_server)) if deployed_server.audit_log.exists() else 0
        page.get_by_text(_DOWNLOADS).click()
        with page.expect_download() as info:
            page.get_by_role("button", name="Hotspot table (CSV)").click()
        assert info.value.suggested_filename.endswith(".csv")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
                not deployed_server.audit_log.exists()
                or len(_audit(deployed_server)) <= before):
            time.sleep(0.2)
        line = _audit(deployed_server)[-1]
        assert (line["user"], line["user_kind"], line["role"]) == (email, "signed in",
                                                                   "analyst")

        # The signed-in browser's cookie opens the stream; it never opens the metrics, and
        # the server caps uploads whatever the page says.
        cookies = _cookies(page)
        url = deployed_server.url
        host = url.split("/")[2]
        assert ws_handshake(url, host=host, origin=f"http://{host}", cookies=cookies) == 101
        assert http_get(url + "_stcore/metrics", cookies=cookies).status == 404
        big = http_get(url + "_stcore/upload_file/s/f", method="PUT", cookies=cookies,
                       headers={"Content-Length": str(6 * 1024 * 1024)}, body=b"")
        assert big.status == 413

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(identity_provider + "/**", timeout=30_000)
        assert http_get(url, cookies=_cookies(page)).status == 302
    finally:
        page.close()


def test_a_viewer_sees_the_map_but_no_downloads_and_the_server_refuses_their_uploads(
        deployed_server, identity_provider, browser):
    page = _sign_in(browser, deployed_server, identity_provider, "viewer")
    try:
        expect(page.get_by_text(f"Signed in as {TEST_ACCOUNTS['viewer']} (viewer"
                                )).to_be_visible()
        page.get_by_text(_DOWNLOADS).click()
        expect(page.get_by_text("Downloads need the analyst role")).to_be_visible()
        assert page.get_by_test_id("stDownloadButton").count() == 0
        assert not page.get_by_role("button", name="Refresh data").count()
        upload = http_get(deployed_server.url + "_stcore/upload_file/s/f", method="PUT",
                          cookies=_cookies(page), headers={"Content-Length": "3"}, body=b"a,b")
        assert upload.status == 403 and "may not upload" in upload.body
    finally:
        page.close()


def test_an_admin_gets_the_refresh_control(deployed_server, identity_provider, browser):
    page = _sign_in(browser, deployed_server, identity_provider, "admin")
    try:
        expect(page.get_by_text(f"Signed in as {TEST_ACCOUNTS['admin']} (admin")
               ).to_be_visible()
        page.get_by_role("button", name="Refresh data").click()
        page.frame_locator(MAP).locator("path.hs-hotspot").first.wait_for(
            state="attached", timeout=STARTUP_LIMIT_S * 1000)
    finally:
        page.close()
