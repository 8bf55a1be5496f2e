"""Never lost on the way, in a real Chromium: an app sends a person to sign in; they
register (confirming the address in another browser) or reset their password, and end up
back at the app with a code — not on /account."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiosmtpd.controller import Controller

from tests.browser.conftest import _callback_server_start
from tests.browser.test_account_pages import Inbox
from tests.live_server import LiveIdp, free_port

pytestmark = pytest.mark.browser

APP = "Photo Share"
NEW = "Maple-Window-Story-42"
OLD = "Quiet-River-Stone-77"


@pytest.fixture
def server(tmp_path, browser):
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    rp = _callback_server_start()
    idp = LiveIdp(tmp_path, IDP_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
                  IDP_LOGIN_RATE_LIMIT="100 per minute", IDP_LOCKOUT_THRESHOLD="3")
    idp.redirect_uri = f"http://127.0.0.1:{rp.server_address[1]}/cb"
    idp.start()
    idp.client_id = idp.cli_json("clients", "create", "--name", APP, "--first-party",
                                 "--redirect-uri", idp.redirect_uri)["client_id"]
    idp.inbox = inbox
    try:
        yield idp
    finally:
        idp.stop()
        rp.shutdown()
        rp.server_close()
        smtp.stop()


def _from_the_app(page, server, state):
    query = urlencode({"response_type": "code", "client_id": server.client_id,
                       "redirect_uri": server.redirect_uri, "scope": "openid email",
                       "state": state, "nonce": "n", "code_challenge": "x" * 43,
                       "code_challenge_method": "S256"})
    page.goto(f"{server.url}/authorize?{query}")
    assert f"to continue to {APP}" in page.inner_text(".lead")


def _back_at_the_app(page, server, state):
    page.wait_for_url(re.compile("^" + re.escape(server.redirect_uri) + r"\?"))
    params = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert params["state"] == state and params["code"]


def _sign_in(page, login, password):
    page.fill("#username", login)
    page.fill("#password", password)
    page.click("#submit")


def test_registration_from_an_app_ends_at_the_app(server, browser, page, shot):
    _from_the_app(page, server, "reg-1")
    page.get_by_role("link", name="Create an account").click()
    page.fill("#email", "erin@example.com")
    page.fill("#username", "erin")
    page.fill("#password", NEW)
    page.fill("#confirm", NEW)
    page.click("#submit")
    assert page.inner_text("h1") == "Check your email"
    assert "erin@example.com" in page.inner_text(".lead")
    shot(page, "journey-01-check-email")

    # The mail is opened on another device: confirm there, sign in, continue to the app.
    other = browser.new_context()
    phone = other.new_page()
    try:
        phone.goto(server.inbox.link("/verify-email/"))
        assert phone.inner_text("h1") == "Email confirmed"
        assert f"Sign in to continue to {APP}." in phone.inner_text(".card")
        shot(phone, "journey-02-verified-elsewhere")
        phone.get_by_role("link", name="Sign in").click()
        _sign_in(phone, "erin", NEW)
        _back_at_the_app(phone, server, "reg-1")
    finally:
        other.close()


def test_password_reset_from_an_app_ends_at_the_app(server, page, shot):
    server.cli("users", "create", "--email", "finn@example.com", "--username", "finn",
               "--password-stdin", stdin=OLD + "\n")
    _from_the_app(page, server, "reset-1")
    page.get_by_role("link", name="Forgot your password?").click()
    page.fill("#email", "finn@example.com")
    page.click("#submit")
    page.goto(server.inbox.link("/password/reset/"))
    page.fill("#password", NEW)
    page.fill("#confirm", NEW)
    page.click("#submit")
    assert f"Sign in to continue to {APP}." in page.inner_text(".card")
    shot(page, "journey-03-reset-done")
    page.get_by_role("link", name="Sign in").click()
    _sign_in(page, "finn", NEW)
    _back_at_the_app(page, server, "reset-1")


def test_the_lockout_message_is_the_same_for_a_locked_and_an_unknown_account(server, page, shot):
    server.cli("users", "create", "--email", "gus@example.com", "--username", "gus",
               "--password-stdin", stdin=OLD + "\n")
    seen = {}
    for login in ("gus", "no-such-person"):
        for _ in range(3):
            page.goto(f"{server.url}/login")
            _sign_in(page, login, "Wrong-Guess-000")
        seen[login] = page.inner_text(".alert.error")
        shot(page, f"journey-04-paused-{'known' if login == 'gus' else 'unknown'}")
    assert seen["gus"] == seen["no-such-person"]
    assert seen["gus"].startswith("Sign-in is paused for this account")
    sent = server.inbox.link("/login/unlock/")  # only the real account got a mail
    assert len(server.inbox.messages) == 1 and sent
