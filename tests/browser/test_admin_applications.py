"""Registering an application in the console in a real Chromium: an inline error that keeps
the input, the secret shown once with a copy button (a reload shows no secret and makes no
second client), then a person signs in through the new app. Screenshots: app-*.png at 1280
and 390 pixels wide."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.browser

ADMIN = ("ada", "ada@example.com", "Application-Keeper-Pass-1!")


def _cli(server: dict, *args: str, stdin: str | None = None) -> str:
    base = server["log"].parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update({"IDP_DATABASE_URL": f"sqlite:///{base}/idp.db", "IDP_KEYS_DIR": str(base / "keys"),
                "IDP_ISSUER": server["issuer"]})
    proc = subprocess.run([sys.executable, "-m", "idp.cli", *args], env=env, cwd=base, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _admin_login(page, issuer: str, who: tuple = ADMIN) -> None:
    """Password, then the TOTP enrolment our MFA policy requires of admins (pyotp as the app)."""
    import pyotp

    page.goto(f"{issuer}/login")
    page.fill("input[name=username]", who[0])
    page.fill("input[name=password]", who[2])
    page.click("form input[type=submit] >> nth=0")
    page.wait_for_url("**/login/mfa/enrol**")
    page.fill("input[name=code]", pyotp.TOTP(page.inner_text("#totp-secret").replace(" ", ""))
              .now())
    page.click("text=Confirm and turn on")
    page.check("#codes-saved")
    page.click("text=I have saved them")
    page.wait_for_load_state()


def _both_widths(page, shot, name: str) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def _token(issuer: str, client_id: str, secret: str, code: str, verifier: str,
           redirect_uri: str) -> dict:
    body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": redirect_uri,
                                   "code_verifier": verifier}).encode()
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(f"{issuer}/token", data=body,  # noqa: S310 - loopback
                                     headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def test_register_app_secret_once_and_sign_in_through_it(idp_server, browser, shot):
    issuer, callback = idp_server["issuer"], idp_server["redirect_uri"]
    _cli(idp_server, "users", "create", "--email", ADMIN[1], "--username", ADMIN[0],
         "--role", "tenant_admin", "--password-stdin", stdin=ADMIN[2] + "\n")
    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    admin.grant_permissions(["clipboard-read", "clipboard-write"], origin=issuer)
    page = admin.new_page()
    _admin_login(page, issuer)

    page.goto(f"{issuer}/admin/clients")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Applications"
    page.click("text=New web application")
    page.fill("#name", "Timesheets")
    page.fill("#redirect_uris", "https://*.example.com/cb")
    page.click("form.app-form button[type=submit]")
    assert "wildcards are not allowed" in page.inner_text("#redirect_uris-error")
    assert page.input_value("#redirect_uris") == "https://*.example.com/cb"
    assert page.input_value("#name") == "Timesheets"
    _both_widths(page, shot, "app-01-inline-error")

    page.fill("#redirect_uris", callback)
    page.check("input[name=first_party]")
    page.click("form.app-form button[type=submit]")
    secret = page.inner_text("#secret-value").strip()
    assert secret.startswith("idp_sk_")
    page.click("button[data-copy=secret-value]")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    client_id = page.inner_text("dl.fields dd code >> nth=0").strip()
    _both_widths(page, shot, "app-02-secret-once")

    page.reload()
    assert page.locator("#secret-value").count() == 0
    page.goto(f"{issuer}/admin/clients")
    assert page.locator("table.list tr", has_text="Timesheets").count() == 1
    _both_widths(page, shot, "app-03-list")
    admin.close()

    person = browser.new_context()
    try:
        rp = person.new_page()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                             ).rstrip(b"=").decode()
        rp.goto(f"{issuer}/authorize?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": callback,
            "scope": "openid email", "state": "s1", "code_challenge": challenge,
            "code_challenge_method": "S256"}))
        rp.fill("input[name=username]", idp_server["username"])
        rp.fill("input[name=password]", idp_server["password"])
        rp.click("form input[type=submit] >> nth=0")
        rp.wait_for_url(callback + "?**")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(rp.url).query)
        assert query["state"] == ["s1"]
        tokens = _token(issuer, client_id, secret, query["code"][0], verifier, callback)
        assert tokens["id_token"] and tokens["access_token"]
    finally:
        person.close()
