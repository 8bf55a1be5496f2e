"""MFA in a real Chromium: enrol an authenticator app from the page, sign in with a pyotp
code and with a backup code, register a passkey on Chromium's virtual authenticator
(DevTools WebAuthn domain), then sign in with it — as second factor and passwordless.

The provider runs with issuer http://localhost:PORT: WebAuthn needs a domain as RP ID
(an IP address such as 127.0.0.1 is refused by the browser).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pyotp
import pytest

from tests.browser.conftest import (
    _free_port,
    _idp_command,
    _missing,
    _run_cli,
    _stop,
    _wait_healthy,
)

pytestmark = pytest.mark.browser

USERNAME, EMAIL, PASSWORD = "dora", "dora@example.com", "Maple-Browser-Pass-1!"


@pytest.fixture(scope="module")
def mfa_server(tmp_path_factory):
    if _missing:
        pytest.skip("; ".join(_missing))
    base = tmp_path_factory.mktemp("idp-mfa-browser")
    port = _free_port()
    issuer = f"http://localhost:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update({"IDP_PORT": str(port), "IDP_ISSUER": issuer, "IDP_WORKERS": "1",
                "IDP_DATABASE_URL": f"sqlite:///{base}/idp.db", "IDP_KEYS_DIR": str(base / "keys"),
                "IDP_LOGIN_RATE_LIMIT": "100 per minute", "PYTHONUNBUFFERED": "1"})
    _run_cli(["db", "upgrade"], env, base)
    _run_cli(["users", "create", "--email", EMAIL, "--username", USERNAME, "--password-stdin"],
             env, base, stdin=PASSWORD + "\n")
    log_path = base / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(_idp_command() + ["serve"], env=env, cwd=base, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_healthy(proc, f"{issuer}/healthz", log_path)
        yield {"issuer": issuer, "log": log_path, "env": env}
    finally:
        _stop(proc)


def _fits(page, name):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name}: page overflows horizontally by {overflow}px"


def _password(page, issuer):
    from playwright.sync_api import expect

    page.goto(f"{issuer}/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username or email").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _logout(page, issuer):
    page.goto(f"{issuer}/logout")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def _on_account(page, issuer):
    page.wait_for_url(f"{issuer}/account")


def _enrol_totp(page, issuer, shot):
    from playwright.sync_api import expect

    page.goto(f"{issuer}/account/mfa")
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    _fits(page, "mfa overview")
    shot(page, "mfa-01-overview-off")
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    expect(page.get_by_alt_text("QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert len(secret) == 32
    _fits(page, "totp enrol")
    shot(page, "mfa-02-totp-enrol")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    codes = [c.strip() for c in page.locator("#backup-codes code").all_inner_texts()]
    assert len(codes) == 10
    _fits(page, "backup codes")
    shot(page, "mfa-03-backup-codes")
    # Download as .txt, copy and print are offered; continuing needs the acknowledgement.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download (.txt)").click()
    assert download.value.suggested_filename == "backup-codes.txt"
    saved = Path(download.value.path()).read_text()
    assert [line for line in saved.splitlines()[2:] if line] == codes
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").split() == codes
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.get_by_role("button", name="I have saved them").click()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()  # not yet
    page.get_by_label("I have saved my backup codes").check()
    page.get_by_role("button", name="I have saved them").click()
    expect(page.get_by_text("A code or passkey is asked for after your password.")).to_be_visible()
    shot(page, "mfa-04-overview-on")
    return secret, codes


def test_totp_backup_code_and_passkeys_in_chromium(mfa_server, context, page, shot):
    from playwright.sync_api import expect

    issuer = mfa_server["issuer"]
    _password(page, issuer)
    _on_account(page, issuer)
    secret, codes = _enrol_totp(page, issuer, shot)
    _logout(page, issuer)

    # Password, then a code computed by pyotp. The step used to confirm the enrolment is
    # spent (no replay), so use the next step's code, which is inside the window.
    _password(page, issuer)
    page.wait_for_url(f"{issuer}/login/mfa")
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    _fits(page, "mfa challenge")
    shot(page, "mfa-05-challenge")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not valid")
    shot(page, "mfa-06-challenge-wrong-code")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    _on_account(page, issuer)
    _logout(page, issuer)

    # Password, then a backup code.
    _password(page, issuer)
    page.wait_for_url(f"{issuer}/login/mfa")
    assert page.get_by_label("Code").get_attribute("inputmode") == "numeric"
    page.get_by_role("link", name="Use a backup code").click()  # "Use another method"
    assert page.get_by_label("Code").get_attribute("inputmode") == "text"  # letters too
    page.get_by_label("Code").fill("zzzzz-zzzzz")
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_label("Code").get_attribute("inputmode") == "text"  # still backup
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    _on_account(page, issuer)
    page.goto(f"{issuer}/account/mfa")
    expect(page.locator("#backup-remaining")).to_have_text("9")  # on the security page
    page.goto(f"{issuer}/account/mfa/backup-codes")
    expect(page.locator("#backup-remaining")).to_have_text("9")
    shot(page, "mfa-07-backup-codes-remaining")

    # A passkey on Chromium's virtual authenticator (CTAP2, internal, resident key, UV).
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})["authenticatorId"]
    page.goto(f"{issuer}/account/mfa")
    page.get_by_label("Name of the new passkey").fill("Chromium virtual key")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Passkey “Chromium virtual key” was added.")).to_be_visible()
    expect(page.get_by_text("Chromium virtual key", exact=True)).to_be_visible()
    _fits(page, "mfa overview with passkey")
    shot(page, "mfa-08-passkey-added")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(stored) == 1 and stored[0]["isResidentCredential"]
    _logout(page, issuer)

    # The passkey as the second factor after the password.
    _password(page, issuer)
    page.wait_for_url(f"{issuer}/login/mfa")
    expect(page.get_by_role("button", name="Use a passkey")).to_be_visible()
    shot(page, "mfa-09-challenge-with-passkey")
    page.get_by_role("button", name="Use a passkey").click()
    _on_account(page, issuer)
    _logout(page, issuer)

    # Passwordless: the discoverable passkey alone, with user verification.
    page.goto(f"{issuer}/login")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    _fits(page, "login with passkey option")
    shot(page, "mfa-10-login-with-passkey-option")
    page.get_by_role("button", name="Sign in with a passkey").click()
    _on_account(page, issuer)
    page.goto(f"{issuer}/account/mfa")
    expect(page.get_by_text("last used")).to_have_count(2)  # the app and the passkey
    shot(page, "mfa-11-signed-in-with-passkey")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert stored[0]["signCount"] >= 2


def test_admin_role_is_walked_through_enrolment_at_login(mfa_server, page, shot):
    from playwright.sync_api import expect

    issuer, base = mfa_server["issuer"], mfa_server["log"].parent
    _run_cli(["users", "create", "--email", "eve@example.com", "--username", "eve",
              "--password-stdin", "--role", "tenant_admin"], mfa_server["env"], base,
             stdin=PASSWORD + "\n")
    page.goto(f"{issuer}/login")
    page.get_by_label("Username or email").fill("eve")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{issuer}/login/mfa/enrol")
    expect(page.get_by_text("Your organisation requires two-step verification")).to_be_visible()
    _fits(page, "enrolment at login")
    shot(page, "mfa-12-enrolment-required-at-login")
    # No session yet: the account page sends the person back to sign in.
    early = page.request.get(f"{issuer}/account/mfa", max_redirects=0)
    assert early.status == 302 and early.headers["location"].startswith("/login")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()
    shot(page, "mfa-13-enrolment-backup-codes")
    page.get_by_role("button", name="I have saved them — continue").click()
    expect(page.get_by_role("heading", name="Save your backup codes")).to_be_visible()  # not yet
    page.get_by_label("I have saved my backup codes").check()
    page.get_by_role("button", name="I have saved them — continue").click()
    _on_account(page, issuer)
