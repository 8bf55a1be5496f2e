"""A second `idp serve` as the upstream OpenID provider of the first (the app under test):
our own server on both sides of the federation, over real HTTP on loopback."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from sqlalchemy import select

from idp.extensions import db
from idp.federation.providers import ProviderSpec, create_provider
from idp.models.accounts import User
from idp.request_context import system_context
from idp.tenancy.tenants import ensure_default_tenant
from tests.factories import csrf_from
from tests.live_server import LiveIdp

pytestmark = [pytest.mark.slow, pytest.mark.parametrize(
    "config_overrides", [{"outbound_allow": "127.0.0.1/32"}], indirect=True)]
UPSTREAM_PASSWORD = "Upstream-Horse-Pass-7!"
CALLBACK = "http://localhost/login/external/upstream-idp/callback"


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


@pytest.fixture
def upstream_idp(tmp_path):
    live = LiveIdp(tmp_path)
    try:
        live.cli("db", "upgrade")
        live.cli("users", "create", "--email", "dora@upstream.example", "--username", "dora",
                 "--password-stdin", stdin=UPSTREAM_PASSWORD + "\n")
        client = live.cli_json("clients", "create", "--name", "downstream", "--redirect-uri",
                               CALLBACK, "--first-party")
        live.start()
        yield live, client
    finally:
        live.stop()


def _upstream_password_login(location: str) -> str:
    """Sign in at the upstream idp's own login page; returns the callback URL to us."""
    with requests.Session() as browser:
        response = browser.get(location, timeout=10)
        assert urlsplit(response.url).path == "/login", response.url
        html = response.text
        rid = re.search(r'name="rid" type="hidden" value="([^"]*)"', html).group(1)
        response = browser.post(urljoin(response.url, "/login"), allow_redirects=False,
                                timeout=10, data={"username": "dora",
                                                  "password": UPSTREAM_PASSWORD,
                                                  "csrf_token": csrf_from(html), "rid": rid})
        for _ in range(8):
            assert response.status_code in (302, 303), response.text[:300]
            target = urljoin(response.url, response.headers["Location"])
            if target.startswith("http://localhost/"):
                return target
            response = browser.get(target, allow_redirects=False, timeout=10)
    raise AssertionError("the upstream idp never sent the browser back")


def test_our_idp_signs_in_through_another_idp(app, client, upstream_idp):
    live, registered = upstream_idp
    with app.app_context():
        svc = app.extensions["idp"]
        create_provider(db.session, system_context(), svc.keyring,
                        ensure_default_tenant(db.session),
                        ProviderSpec(name="Upstream idp", issuer=live.url,
                                     client_id=registered["client_id"],
                                     client_secret=registered["client_secret"]),
                        svc.outbound_policy)
        db.session.commit()
    start = client.get("/login/external/upstream-idp")
    assert start.status_code == 302 and start.headers["Location"].startswith(
        f"{live.url}/authorize?")
    callback = urlsplit(_upstream_password_login(start.headers["Location"]))
    assert "iss=" in callback.query  # RFC 9207: our idp sends it, and we check it
    back = client.get(f"{callback.path}?{callback.query}")
    assert back.status_code == 302 and back.headers["Location"] == "/account", back.data[:300]
    assert b"dora@upstream.example" in client.get("/account").data
    with app.app_context():
        assert db.session.execute(select(User).where(
            User.email == "dora@upstream.example")).scalar_one().username == "dora"
