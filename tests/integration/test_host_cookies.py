"""Under an https issuer the browser cookies carry the `__Host-` prefix (issue 11): Secure,
Path=/, no Domain, so a sibling host or an http page cannot plant or shadow them."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, csrf_from, make_user

HTTPS = "https://id.example.com"


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides["issuer"] = HTTPS
    return config_overrides


def _sign_in(client):
    token = csrf_from(client.get("/login", base_url=HTTPS).get_data(as_text=True))
    return client.post("/login", base_url=HTTPS, data={"username": "alice",
                                                       "password": PASSWORD, "csrf_token": token})


def _set_cookies(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def test_session_and_flow_cookies_use_the_host_prefix(app, client):
    make_user(app)
    page = client.get("/login", base_url=HTTPS)
    flow = _set_cookies(page)["__Host-idp_flow"]
    response = _sign_in(client)
    assert response.status_code in (302, 303)
    cookie = _set_cookies(response)["__Host-idp_session"]
    for attrs in (cookie, flow):
        assert "Secure" in attrs and "Path=/" in attrs and "Domain" not in attrs
    assert "HttpOnly" in cookie
    assert client.get("/account", base_url=HTTPS).status_code == 200
    token = csrf_from(client.get("/logout", base_url=HTTPS).get_data(as_text=True))
    out = client.post("/logout", base_url=HTTPS, data={"confirm": "yes", "csrf_token": token})
    assert _set_cookies(out)["__Host-idp_session"].startswith("__Host-idp_session=;")
    assert client.get("/account", base_url=HTTPS).status_code == 302


def test_an_unprefixed_cookie_is_not_a_session(app, client):
    make_user(app)
    value = _set_cookies(_sign_in(client))["__Host-idp_session"].split(";")[0].split("=", 1)[1]
    other = app.test_client()
    other.set_cookie("idp_session", value, domain="id.example.com")
    response = other.get("/account", base_url=HTTPS)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
