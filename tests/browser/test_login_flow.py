"""The hosted pages in a real Chromium: login, consent, remembered consent, account, logout."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

pytestmark = pytest.mark.browser


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def _authorize_url(server: dict, state: str, nonce: str, challenge: str) -> str:
    query = urlencode({
        "response_type": "code", "client_id": server["client_id"],
        "redirect_uri": server["redirect_uri"], "scope": "openid profile email",
        "state": state, "nonce": nonce, "code_challenge": challenge,
        "code_challenge_method": "S256",
    })
    return f"{server['issuer']}/authorize?{query}"


def _callback_pattern(server: dict) -> re.Pattern:
    return re.compile("^" + re.escape(server["redirect_uri"]) + r"\?")


def _callback_params(url: str) -> dict[str, str]:
    params = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return {k: v[0] for k, v in params.items()}


def _assert_fits(page, name: str) -> None:
    """The page needs no horizontal scrolling."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name}: page overflows horizontally by {overflow}px"


ACCENT = "rgb(45, 91, 227)"  # --accent in static/style.css


def _assert_styled_button(locator, name: str, background: str = ACCENT) -> None:
    """A submit control carries the stylesheet's look, not the browser default."""
    style = locator.evaluate(
        "el => { const s = getComputedStyle(el); return {bg: s.backgroundColor, radius: s.borderRadius,"
        " width: el.getBoundingClientRect().width,"
        " parent: el.closest('form').getBoundingClientRect().width}; }")
    assert style["bg"] == background, f"{name}: background {style['bg']}, expected {background}"
    assert style["radius"] == "8px", f"{name}: border-radius {style['radius']}"
    assert style["width"] >= 0.45 * style["parent"], f"{name}: button is only {style['width']}px wide"


def _redeem(server: dict, code: str, verifier: str) -> dict:
    resp = requests.post(f"{server['issuer']}/token", timeout=10,
                         auth=(server["client_id"], server["client_secret"]),
                         data={"grant_type": "authorization_code", "code": code,
                               "redirect_uri": server["redirect_uri"], "code_verifier": verifier})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_login_consent_remembered_consent_account_and_logout(idp_server, page, shot):
    from playwright.sync_api import expect

    server = idp_server
    verifier, challenge = _pkce()

    # 1. /authorize without a session shows the login page, naming the client.
    page.goto(_authorize_url(server, "s1", "n1", challenge))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("p.lead")).to_contain_text(server["client_name"])
    expect(page.get_by_label("Username or email")).to_be_focused()
    _assert_styled_button(page.get_by_role("button", name="Sign in", exact=True), "Sign in")
    _assert_fits(page, "login")
    shot(page, "01-login")

    # 2. A wrong password: the generic error, nothing revealed about which part was wrong.
    page.get_by_label("Username or email").fill(server["username"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Incorrect username or password.")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Username or email")).to_have_value(server["username"])
    _assert_fits(page, "login error")
    shot(page, "02-login-wrong-password")

    # 3. The right password leads to the consent page (not a first-party client).
    page.get_by_label("Password").fill(server["password"])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name=f"Allow {server['client_name']}?")).to_be_visible()
    scopes = page.locator("ul.scopes li")
    expect(scopes).to_have_text(["Confirm who you are", "See your profile (name, username, picture)",
                                 "See your email address"])
    _assert_styled_button(page.get_by_role("button", name="Allow"), "Allow")
    _assert_styled_button(page.get_by_role("button", name="Deny"), "Deny", background="rgb(255, 255, 255)")
    _assert_fits(page, "consent")
    shot(page, "03-consent")

    # 4. Allow: back at the relying party with code, state and iss (RFC 9207).
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(_callback_pattern(server))
    expect(page.locator("body")).to_have_text("callback ok")
    params = _callback_params(page.url)
    assert params.get("code"), params
    assert params.get("state") == "s1"
    assert params.get("iss") == server["issuer"]
    assert "error" not in params
    tokens = _redeem(server, params["code"], verifier)
    assert tokens["token_type"].lower() == "bearer"
    assert tokens.get("id_token")

    # 5. A second authorize in the same browser: no login, no consent, straight back.
    verifier2, challenge2 = _pkce()
    seen = []
    page.on("framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None)
    page.goto(_authorize_url(server, "s2", "n2", challenge2))
    page.wait_for_url(_callback_pattern(server))
    params2 = _callback_params(page.url)
    assert params2.get("state") == "s2"
    assert params2.get("iss") == server["issuer"]
    assert params2.get("code") and params2["code"] != params["code"]
    assert not any(urlsplit(u).path in ("/login", "/consent") for u in seen), seen
    _redeem(server, params2["code"], verifier2)

    # 6. The account page shows who is signed in.
    page.goto(f"{server['issuer']}/account")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("dl.fields")).to_contain_text(server["username"])
    expect(page.locator("p.lead")).to_have_text(server["email"])
    _assert_fits(page, "account")
    shot(page, "04-account")

    # 7. Logout asks first; confirming signs out.
    page.goto(f"{server['issuer']}/logout")
    expect(page.get_by_role("heading", name="Sign out?")).to_be_visible()
    _assert_styled_button(page.get_by_role("button", name="Sign out"), "Sign out")
    _assert_fits(page, "logout confirm")
    shot(page, "05-logout-confirm")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    shot(page, "06-logged-out")

    # 8. The session is really gone: the account page asks to sign in again.
    page.goto(f"{server['issuer']}/account")
    page.wait_for_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_pages_fit_a_phone_screen(idp_server, browser, shot):
    """The login page at 375 px wide: no horizontal scroll, the button is reachable."""
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": 375, "height": 667}, device_scale_factor=2,
                              is_mobile=True, has_touch=True)
    ctx.set_default_timeout(15_000)
    try:
        page = ctx.new_page()
        _, challenge = _pkce()
        page.goto(_authorize_url(idp_server, "m1", "m1", challenge))
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        _assert_fits(page, "login (phone)")
        box = page.get_by_role("button", name="Sign in", exact=True).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        shot(page, "07-login-phone")
    finally:
        ctx.close()
