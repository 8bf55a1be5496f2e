"""Connected apps in a real Chromium (issue 16): a person approves a third-party app, sees it
with its scopes on /account/apps, removes its access, and the app's refresh token is refused."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.live_server import LiveIdp

pytestmark = pytest.mark.browser

PASSWORD = "Cedar-Lantern-Road-58"
CALLBACK = "https://rp.example/cb"


@pytest.fixture
def server(tmp_path, browser):
    idp = LiveIdp(tmp_path, IDP_LOGIN_RATE_LIMIT="100 per minute")
    idp.cli("db", "upgrade")
    idp.cli("users", "create", "--email", "dana@example.com", "--username", "dana",
            "--password-stdin", stdin=PASSWORD + "\n")
    idp.client = idp.cli_json("clients", "create", "--name", "Recipe Box", "--redirect-uri",
                              CALLBACK, "--scope", "openid", "--scope", "email",
                              "--scope", "offline_access", "--grant-type", "authorization_code",
                              "--grant-type", "refresh_token")
    idp.start()
    yield idp
    idp.stop()


def _refresh(server, token):
    client = server.client
    return requests.post(f"{server.url}/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": token},
        auth=(client["client_id"], client["client_secret"]))


def test_remove_access_from_the_account_area(server, page, shot):
    client = server.client
    page.route("https://rp.example/**", lambda route: route.fulfill(status=200, body="callback ok"))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    page.goto(f"{server.url}/authorize?" + urlencode({
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": CALLBACK,
        "scope": "openid email offline_access", "state": "s1", "nonce": "n1",
        "code_challenge": challenge.decode(), "code_challenge_method": "S256"}))
    page.fill("#username", "dana")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    assert page.inner_text("h1") == "Allow Recipe Box?"
    with page.expect_request("https://rp.example/**") as callback:
        page.click("button[name=approve], input[name=approve]")
    code = parse_qs(urlsplit(callback.value.url).query)["code"][0]
    tokens = requests.post(f"{server.url}/token", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "code_verifier": verifier}, auth=(client["client_id"], client["client_secret"])).json()
    assert "refresh_token" in tokens, tokens

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server.url}/account")
    page.click("nav >> text=Connected apps")
    assert page.inner_text("h1") == "Connected apps"
    app = page.locator("section.connected-app")
    assert app.locator("h2").inner_text() == "Recipe Box"
    assert "See your email address" in app.inner_text()
    assert "Keep access while you are away" in app.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    shot(page, "account-apps-390")

    app.get_by_role("button", name="Remove access").click()
    assert page.locator("[role=status]").inner_text() == "Access was removed."
    assert page.locator("#no-apps").is_visible()
    assert page.locator("section.connected-app").count() == 0
    shot(page, "account-apps-removed")

    refused = _refresh(server, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
