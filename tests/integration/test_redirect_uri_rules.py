"""Redirect URI rules (RFC 6749 3.1.2, Security BCP, RFC 8252): one validator for the
admin API, the CLI (tests/test_cli.py) and the console, which all register through it."""

from __future__ import annotations

import pytest

from tests.integration.admin_support import bearer

BAD = [
    "https://*.example.com/cb",             # wildcard host
    "https://rp.example.com/*",             # wildcard path
    "https://user@rp.example.com/cb",       # userinfo
    "https://user:pw@rp.example.com/cb",
    "https://rp.example.com/cb\r\nX: y",    # CR/LF
    "https://rp.example.com/c b",           # space
    "https://rp.example.com/cb#frag",       # fragment
    "https://rp.example.com/cb#",           # empty fragment
    "http://rp.example.com/cb",             # http off loopback
    "javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "vbscript:x",
    "myapp:/cb",                            # private-use scheme without a domain
    "ftp://rp.example.com/cb", "https:///cb", "https://rp.example.com:99999/cb",
    "/relative/cb", "",
]
GOOD = [
    "https://rp.example.com/cb", "https://rp.example.com:8443/cb?x=1",
    "http://127.0.0.1:8080/cb", "http://[::1]:9000/cb", "http://localhost/cb",
    "com.example.app:/oauth2redirect", "com.example.app://callback",
]


@pytest.mark.parametrize("uri", BAD)
def test_admin_api_refuses_bad_redirect_uris(app, client, uri):
    for field in ("redirect_uris", "post_logout_redirect_uris"):
        body = {"name": "web", "grant_types": ["authorization_code"],
                "redirect_uris": ["https://rp.example.com/ok"], field: [uri]}
        response = client.post("/api/v1/clients", headers=bearer(client, app), json=body)
        assert response.status_code == 422, (uri, response.get_data(as_text=True))
        assert response.get_json()["field"] == field


def test_admin_api_accepts_good_redirect_uris(app, client):
    response = client.post("/api/v1/clients", headers=bearer(client, app), json={
        "name": "native", "grant_types": ["authorization_code"], "redirect_uris": GOOD,
        "post_logout_redirect_uris": GOOD[:2]})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["redirect_uris"] == GOOD
