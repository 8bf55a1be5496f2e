"""Signing in from the device page (RFC 8628 3.3) brings the person back to /device with the
code they typed; a `next` that leaves the site is never followed."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import pytest

from tests.factories import PASSWORD, csrf_from, make_client, make_user

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _sign_in_link(page: str) -> str:
    return html.unescape(re.search(r'href="(/login\?next=[^"]+)"', page).group(1))


def _login(client, path):
    page = client.get(path)
    assert page.status_code == 200
    return client.post("/login", data={"username": "alice", "password": PASSWORD,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})


def test_device_page_sign_in_returns_with_the_code(app, client):
    make_user(app)
    cid = make_client(app, public=True, grant_types=[GRANT], redirect_uris=[])[0]
    started = client.post("/device_authorization", data={"client_id": cid,
                                                         "scope": "openid"}).get_json()
    page = client.get(started["verification_uri_complete"]).get_data(as_text=True)
    assert "Sign in first" in page
    signed_in = _login(client, _sign_in_link(page))
    assert signed_in.status_code == 302
    back = signed_in.headers["Location"]
    assert back.startswith("/device?user_code=")
    entry = client.get(back).get_data(as_text=True)
    assert f'value="{started["user_code"]}"' in entry  # the code is kept, ready to confirm
    confirm = client.post("/device", data={"user_code": started["user_code"],
                                           "csrf_token": csrf_from(entry)})
    assert confirm.status_code == 200 and "Allow Test RP?" in confirm.get_data(as_text=True)


def test_device_page_without_a_code_returns_to_the_device_page(app, client):
    make_user(app)
    page = client.get("/device").get_data(as_text=True)
    assert _sign_in_link(page) == "/login?next=/device"
    assert _login(client, _sign_in_link(page)).headers["Location"] == "/device"


@pytest.mark.parametrize("target", [
    "https://evil.example/phish", "//evil.example/phish", "/\\evil.example", "http:/evil.example",
    "javascript:alert(1)", "/ok\nLocation: x", " //evil.example", "/\t/evil.example",
])
def test_a_next_off_the_site_is_ignored(app, client, target):
    make_user(app)
    response = _login(client, "/login?" + urlencode({"next": target}))
    assert response.status_code == 302
    assert response.headers["Location"] == "/account", response.headers["Location"]


def test_a_later_login_without_next_forgets_it(app, client):
    make_user(app)
    client.get("/login?next=/device")
    assert _login(client, "/login").headers["Location"] == "/account"
