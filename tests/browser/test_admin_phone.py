"""Every admin table at 390 px (issue 16): people, audit, clients, roles, groups, keys and the
import report become one card per row, each cell under its column's name, and no page
scrolls sideways; a skip link comes before the admin navigation. Screenshots: admin-390-*.png."""

from __future__ import annotations

import pytest

from tests.browser.test_admin_applications import _admin_login, _cli

pytestmark = pytest.mark.browser

ADMIN = ("paz", "paz@example.com", "Narrow-Screen-Keeper-3!")
PAGES = [("people", "/admin/users", "#people"), ("audit", "/admin/audit", "#events"),
         ("clients", "/admin/clients", "table.list"), ("roles", "/admin/roles", "table.list"),
         ("groups", "/admin/groups", "table.list"), ("keys", "/admin/keys", "table.list")]
CSV = (b"email,username,name\n"
       b"a.very.long.address.for.a.narrow.screen@subdomain.example.com,longaddress,Lee\n"
       b"not-an-email,broken,Broken\n")


def _fits(page, name):
    widths = page.evaluate("() => [document.documentElement.scrollWidth,"
                           " document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{name}: {widths[0]} px wide in a {widths[1]} px window"


def test_admin_tables_fit_a_phone(idp_server, browser, shot):
    issuer = idp_server["issuer"]
    _cli(idp_server, "users", "create", "--email", ADMIN[1], "--username", ADMIN[0],
         "--role", "superadmin", "--password-stdin", stdin=ADMIN[2] + "\n")
    _cli(idp_server, "clients", "create", "--name", "An application with a rather long name",
         "--redirect-uri", "https://a-long-host-name.example.com/oauth/callback/with/a/long/path")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        _admin_login(page, issuer, ADMIN)
        for name, path, table in PAGES:
            page.goto(f"{issuer}{path}")
            assert page.locator(f"{table} tbody tr").count() >= 1, name
            cells = page.locator(f"{table} tbody tr td:not([colspan])")
            labelled = page.locator(f"{table} tbody tr td[data-label]")
            assert labelled.count() == cells.count(), f"{name}: cells are not all labelled"
            assert page.locator(f"{table} thead").bounding_box()["height"] <= 1  # cards instead
            _fits(page, name)
            shot(page, f"admin-390-{name}")
        # The skip link is the first thing a keyboard reaches, before the admin navigation.
        page.keyboard.press("Tab")
        focused = page.evaluate("() => [document.activeElement.className,"
                                " document.activeElement.getAttribute('href')]")
        assert focused == ["skip-link", "#main"]
        assert page.evaluate("() => document.querySelector('.skip-link').compareDocumentPosition("
                             "document.querySelector('header nav')) & 4") == 4

        page.goto(f"{issuer}/admin/import")
        page.set_input_files("#file", files=[{"name": "people.csv", "mimeType": "text/csv",
                                              "buffer": CSV}])
        page.click("form.inline-form button[type=submit]")
        for _ in range(60):  # the import runs in the background; its page updates itself
            if page.locator("#import-errors").count():
                break
            page.wait_for_timeout(500)
            page.reload()
        errors = page.locator("#import-errors tbody tr")
        assert errors.count() == 1
        assert "@" in errors.first.locator("td[data-label=Why]").inner_text()
        _fits(page, "import report")
        shot(page, "admin-390-import-report")
    finally:
        context.close()
