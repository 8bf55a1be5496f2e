"""The admin console in a real Chromium: find a person, unlock, disable (badge; their login
is refused), and filter the audit log. Screenshots: test-artifacts/admin-*.png."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.browser

ADMIN = ("opal", "opal@example.com", "Quiet-Admin-Pass-1!")
PERSON = ("patsy", "patsy@example.com", "Amber-Person-Pass-1!")


def _cli(server: dict, *args: str, stdin: str | None = None) -> str:
    base = server["log"].parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update({"IDP_DATABASE_URL": f"sqlite:///{base}/idp.db", "IDP_KEYS_DIR": str(base / "keys"),
                "IDP_ISSUER": server["issuer"]})
    proc = subprocess.run([sys.executable, "-m", "idp.cli", *args], env=env, cwd=base, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _lock(server: dict, username: str) -> None:
    """Lock the account as too many failed logins would (without tripping the IP limit)."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(server["log"].parent / "idp.db") as conn:
        conn.execute("UPDATE users SET locked_at = ?, failed_login_count = 10 "
                     "WHERE username = ?", (now, username))


def _sign_in(page, issuer: str, username: str, password: str):
    page.goto(f"{issuer}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit], form input[type=submit] >> nth=0")


def _admin_login(page, server: dict) -> None:
    """Password, then the TOTP enrolment our MFA policy requires of admins (pyotp as the app)."""
    import pyotp

    _sign_in(page, server["issuer"], ADMIN[0], ADMIN[2])
    page.wait_for_url("**/login/mfa/enrol**")
    secret = page.inner_text("#totp-secret").replace(" ", "")
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("text=Confirm and turn on")
    page.check("#codes-saved")
    page.click("text=I have saved them")
    page.wait_for_load_state()


def test_find_unlock_disable_and_filter_audit(idp_server, browser, context, page, shot):
    issuer = idp_server["issuer"]
    _cli(idp_server, "users", "create", "--email", ADMIN[1], "--username", ADMIN[0],
         "--role", "tenant_admin", "--password-stdin", stdin=ADMIN[2] + "\n")
    _cli(idp_server, "users", "create", "--email", PERSON[1], "--username", PERSON[0],
         "--password-stdin", stdin=PERSON[2] + "\n")
    _lock(idp_server, PERSON[0])
    _admin_login(page, idp_server)

    # Find the person.
    page.goto(f"{issuer}/admin/users")
    page.fill("#q", "pats")
    page.click("form.filters button[type=submit]")
    row = page.locator("tr[data-user=patsy]")
    assert row.locator("[data-badge=locked]").is_visible()
    assert page.locator("tr[data-user]").count() == 1
    shot(page, "admin-01-search")
    row.locator("a").first.click()
    assert page.locator("#badges [data-badge=locked]").is_visible()

    # Unlock (behind a confirmation page).
    page.click("a.button:has-text('Unlock')")
    assert "Unlock this account?" in page.inner_text("h1")
    page.click("form button[type=submit]")
    assert page.locator("#badges [data-badge=locked]").count() == 0
    assert page.inner_text("#status") == "active"

    # Disable (confirmation page), then the badge shows.
    page.click("a.button:has-text('Disable')")
    shot(page, "admin-02-confirm-disable")
    page.click("form button:has-text('Disable')")
    assert page.locator("#badges [data-badge=disabled]").is_visible()
    shot(page, "admin-03-disabled")

    # Their login is refused.
    other = context.browser.new_context()
    try:
        person = other.new_page()
        _sign_in(person, issuer, PERSON[0], PERSON[2])
        assert "Incorrect username or password" in person.inner_text("[role=alert]")
        assert "/login" in person.url
    finally:
        other.close()

    # Filter the audit log: the refused login and the admin's actions about the person.
    page.goto(f"{issuer}/admin/audit")
    page.fill("#f-user", PERSON[0])
    page.select_option("#f-type", "auth.login")
    page.click("form.filters button[type=submit]")
    rows = page.locator("#events tbody tr[data-type]")
    assert rows.count() == 1 and "account_disabled" in rows.first.inner_text()
    shot(page, "admin-04-audit-login")
    page.select_option("#f-type", "")
    page.click("form.filters button[type=submit]")
    types = page.locator("#events tbody tr[data-type]").evaluate_all(
        "rows => rows.map(r => r.dataset.type)")
    assert {"user.disabled", "user.unlocked", "user.created"} <= set(types)
    shot(page, "admin-05-audit-all")

    # A service client (API key) from the console: the secret is shown once, then works.
    page.goto(f"{issuer}/admin/clients")
    page.click("text=New service (machine to machine)")
    page.fill("#name", "billing")
    page.fill("#scopes", "invoices:read")
    page.fill("#audiences", "https://api.example.com")
    page.fill("#expires_days", "90")
    page.click("form.app-form button[type=submit]")
    secret = page.inner_text("code.secret")
    assert secret.startswith("idp_sk_")
    shot(page, "admin-06-client-created")
    client_id = page.inner_text("dl.fields dd code >> nth=0")
    import requests

    token = requests.post(f"{issuer}/token", data={"grant_type": "client_credentials"},
                          auth=(client_id, secret), timeout=10)
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    page.goto(f"{issuer}/admin/clients/{client_id}")
    assert "billing" in page.inner_text("h1") and secret not in page.content()
