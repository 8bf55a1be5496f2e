"""The hosted pages as people meet them (issue 16), in a real Chromium against `idp serve`:
no page scrolls sideways at 390 px, axe-core finds no serious or critical violation, each
language on the sign-in page, a branded tenant's sign-in page; screenshots at 1280 and
390 px go to test-artifacts/ and /tmp/shots/.

axe-core comes from npm (tests/interop/package.json); the pages' CSP forbids injected
scripts, so the context bypasses CSP for the audit only.
"""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from tests.live_server import LiveIdp

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "interop" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "Lilac-Browser-Pass-1!"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
                       "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}

# Pages anyone can open: (name, path).
PUBLIC = [("login", "/login"), ("forgot", "/password/forgot"), ("register", "/register"),
          ("device-signin", "/device"), ("not-found", "/no-such-page"),
          ("reset-link-used", "/password/reset/used-token")]
# Pages of a signed-in person.
SIGNED_IN = [("account", "/account"), ("sessions", "/account/sessions"),
             ("password", "/account/password"), ("identities", "/account/identities"),
             ("apps", "/account/apps"),
             ("security", "/account/mfa"), ("backup-codes", "/account/mfa/backup-codes"),
             ("reauth", "/account/mfa/reauth"), ("device-enter", "/device")]


@pytest.fixture(scope="module")
def server(tmp_path_factory, browser):
    if not AXE.exists():
        pytest.skip("axe-core is missing: cd tests/interop && npm ci")
    idp = LiveIdp(tmp_path_factory.mktemp("journey"), IDP_REGISTRATION_MODE="open",
                  IDP_LOGIN_RATE_LIMIT="200 per minute")
    idp.start()
    idp.cli("users", "create", "--email", "dana@example.com", "--username", "dana",
            "--password-stdin", stdin=PASSWORD + "\n")
    # Sessions and sign-in names long enough to stress a narrow screen.
    idp.rp = idp.cli_json("clients", "create", "--name", "Photo Share for Families and Friends",
                          "--redirect-uri", "http://127.0.0.1:9/cb")
    yield idp
    idp.stop()


def _context(browser, width: int, height: int, lang: str = "en-US"):
    ctx = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True,
                              locale=lang, extra_http_headers={"Accept-Language": lang})
    ctx.set_default_timeout(15_000)
    return ctx


def _sign_in(page, url: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", "dana")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(lambda u: "/login" not in u)


def _serious_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.map(v => ({id: v.id, impact: v.impact,
                               nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def _sideways(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth"
                         " - document.documentElement.clientWidth")


def _check(page, shot, name: str, device: str) -> list[str]:
    problems = []
    if device == "phone" and _sideways(page) > 0:
        problems.append(f"{name}: scrolls sideways by {_sideways(page)} px at 390 px")
    problems += [f"{name} ({device}): axe {v}" for v in _serious_violations(page)]
    shot(page, f"journey-{name}-{WIDTHS[device][0]}")
    return problems


@pytest.mark.parametrize("device", list(WIDTHS))
def test_public_pages_fit_and_pass_axe(browser, server, shot, device):
    ctx = _context(browser, *WIDTHS[device])
    page = ctx.new_page()
    problems = []
    try:
        for name, path in PUBLIC:
            page.goto(server.url + path)
            problems += _check(page, shot, name, device)
        page.goto(f"{server.url}/login")
        page.fill("#username", "dana")
        page.click("#submit")  # no password: the errors are shown at the fields
        assert page.locator("[aria-invalid=true]").count() >= 1
        problems += _check(page, shot, "login-error", device)
    finally:
        ctx.close()
    assert problems == []


@pytest.mark.parametrize("device", list(WIDTHS))
def test_signed_in_pages_fit_and_pass_axe(browser, server, shot, device):
    ctx = _context(browser, *WIDTHS[device])
    page = ctx.new_page()
    problems = []
    try:
        _sign_in(page, server.url)
        for name, path in SIGNED_IN:
            page.goto(server.url + path)
            problems += _check(page, shot, name, device)
        query = urlencode({"response_type": "code", "client_id": server.rp["client_id"],
                           "redirect_uri": "http://127.0.0.1:9/cb", "scope": "openid profile email",
                           "state": "s", "code_challenge": "x" * 43,
                           "code_challenge_method": "S256"})
        page.goto(f"{server.url}/authorize?{query}")
        assert page.locator("h1").inner_text().startswith("Allow Photo Share")
        problems += _check(page, shot, "consent", device)
        page.goto(f"{server.url}/logout")
        problems += _check(page, shot, "logout-confirm", device)
    finally:
        ctx.close()
    assert problems == []


@pytest.mark.parametrize(("lang", "heading"), [
    ("en-US", "Sign in"), ("de-DE", "Anmelden"), ("fr-FR", "Se connecter"),
    ("es-ES", "Iniciar sesión"), ("pt-BR", "Entrar"), ("ja-JP", "サインイン"),
])
def test_each_language_on_the_login_page(browser, server, shot, lang, heading):
    ctx = _context(browser, *WIDTHS["phone"], lang=lang)
    page = ctx.new_page()
    try:
        page.goto(f"{server.url}/login")
        assert page.locator("h1").inner_text() == heading
        expected = "pt-BR" if lang == "pt-BR" else lang.split("-")[0]
        assert page.locator("html").get_attribute("lang") == expected
        assert _sideways(page) <= 0 and _serious_violations(page) == []
        shot(page, f"journey-login-{lang}-390")
    finally:
        ctx.close()


def test_ui_locales_from_the_app_wins_in_the_browser(browser, server):
    ctx = _context(browser, *WIDTHS["phone"], lang="de-DE")
    page = ctx.new_page()
    try:
        query = urlencode({"response_type": "code", "client_id": server.rp["client_id"],
                           "redirect_uri": "http://127.0.0.1:9/cb", "scope": "openid",
                           "state": "s", "code_challenge": "x" * 43,
                           "code_challenge_method": "S256", "ui_locales": "ja"})
        page.goto(f"{server.url}/authorize?{query}")
        assert page.locator("h1").inner_text() == "サインイン"
        assert "Photo Share for Families and Friends" in page.locator("p.lead").inner_text()
    finally:
        ctx.close()


def test_a_branded_tenants_login_page(browser, server, shot):
    admin = server.cli_json("clients", "create", "--name", "ops", "--grant-type",
                            "client_credentials", "--scope", "idp:admin", "--role", "superadmin")
    token = requests.post(f"{server.url}/token", auth=(admin["client_id"], admin["client_secret"]),
                          data={"grant_type": "client_credentials", "scope": "idp:admin"},
                          timeout=10).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    tenant = requests.get(f"{server.url}/api/v1/tenants", headers=auth, timeout=10).json()["items"][0]
    branding = {"display_name": "Acme Corp", "primary_color": "#0b5394",
                "logo": "data:image/png;base64," + base64.b64encode(PNG).decode()}
    saved = requests.patch(f"{server.url}/api/v1/tenants/{tenant['id']}", headers=auth,
                           json={"settings": {"branding": branding}}, timeout=10)
    assert saved.status_code == 200, saved.text
    ctx = _context(browser, *WIDTHS["phone"])
    page = ctx.new_page()
    try:
        page.goto(f"{server.url}/login")
        assert page.title() == "Sign in · Acme Corp"
        assert page.locator("header img").get_attribute("alt") == "Acme Corp"
        assert page.locator("header img").evaluate("img => img.naturalWidth") == 1
        colour = page.locator("#submit").evaluate("b => getComputedStyle(b).backgroundColor")
        assert colour == "rgb(11, 83, 148)"
        assert _serious_violations(page) == []
        shot(page, "journey-login-branded-390")
    finally:
        ctx.close()
        requests.patch(f"{server.url}/api/v1/tenants/{tenant['id']}", headers=auth,
                       json={"settings": {"branding": None}}, timeout=10)


def test_password_fields_have_a_show_password_toggle(browser, server):
    ctx = _context(browser, *WIDTHS["phone"], lang="de-DE")
    page = ctx.new_page()
    try:
        page.goto(f"{server.url}/login")
        page.fill("#password", "Secret-1")
        toggle = page.get_by_role("button", name="Passwort anzeigen")
        assert toggle.get_attribute("aria-controls") == "password"
        toggle.click()
        assert page.locator("#password").get_attribute("type") == "text"
        assert page.get_by_role("button", name="Passwort verbergen").get_attribute("aria-pressed") == "true"
        page.get_by_role("button", name="Passwort verbergen").click()
        assert page.locator("#password").get_attribute("type") == "password"
        assert page.locator("#password").input_value() == "Secret-1"
    finally:
        ctx.close()
