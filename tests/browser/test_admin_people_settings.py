"""In Chromium: an admin invites a person, who sets a password from the mail (read from the
server's mail log) and signs in; a settings form error keeps the input. Screenshots:
people-*.png and settings-*.png at 1280 and 390 pixels wide."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.test_admin_applications import _admin_login, _both_widths, _cli

pytestmark = pytest.mark.browser

ADMIN = ("ines", "ines@example.com", "Directory-Keeper-Pass-1!")
NEW_PASSWORD = "Quiet-Harbour-Lantern-7"


def _mailed_link(server: dict, to: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = server["log"].read_text(errors="replace")
        found = re.findall(r"mail to=" + re.escape(to) + r".*?(http://127\.0\.0\.1:\d+"
                           r"/password/reset/[A-Za-z0-9_-]+)", text, re.S)
        if found:
            return found[-1]
        time.sleep(0.2)
    raise AssertionError(f"no mail to {to} in the server log")


def test_invitation_accepted_and_settings_error_keeps_input(idp_server, browser, shot):
    issuer = idp_server["issuer"]
    _cli(idp_server, "users", "create", "--email", ADMIN[1], "--username", ADMIN[0],
         "--role", "superadmin", "--password-stdin", stdin=ADMIN[2] + "\n")
    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    page = admin.new_page()
    _admin_login(page, issuer, ADMIN)

    page.goto(f"{issuer}/admin/users")
    page.click("text=Add a person")
    page.fill("#email", "jonas@example.com")
    page.fill("#name", "Jonas")
    page.check("input[name=onboarding][value=invite]")
    _both_widths(page, shot, "people-01-add")
    page.click("form.app-form button[type=submit]")
    assert "an invitation went to jonas@example.com" in page.inner_text("[role=status]")
    _both_widths(page, shot, "people-02-invited")

    page.goto(f"{issuer}/admin/tenants")
    page.click("text=Settings of default")
    page.fill("#session-idle_timeout", "ten minutes")
    page.fill("#password_policy-min_length", "12")
    page.select_option("#registration", "invite")
    page.click("form.app-form button[type=submit]")
    assert "whole number from 1 to" in page.inner_text("#session-idle_timeout-error")
    assert page.input_value("#session-idle_timeout") == "ten minutes"
    assert page.input_value("#password_policy-min_length") == "12"
    assert page.input_value("#registration") == "invite"
    _both_widths(page, shot, "settings-01-inline-error")
    admin.close()

    person = browser.new_context()
    try:
        invited = person.new_page()
        invited.goto(_mailed_link(idp_server, "jonas@example.com"))
        invited.fill("input[name=password]", NEW_PASSWORD)
        invited.fill("input[name=confirm]", NEW_PASSWORD)
        invited.click("form input[type=submit] >> nth=0")
        invited.goto(f"{issuer}/login")
        invited.fill("input[name=username]", "jonas")
        invited.fill("input[name=password]", NEW_PASSWORD)
        invited.click("form input[type=submit] >> nth=0")
        invited.wait_for_url(f"{issuer}/account**")
    finally:
        person.close()
