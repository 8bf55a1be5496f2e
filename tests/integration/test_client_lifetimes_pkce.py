"""Per-client token lifetimes and required PKCE: set in the console, the API and the CLI,
enforced where tokens are issued, never longer than the deployment's own lifetimes."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.factories import REDIRECT_URI, csrf_from
from tests.integration.admin_support import bearer, browser_login, make_person
from tests.oauth_flow import authorize_url, basic, follow_to_client, get_code, login


@pytest.fixture
def client(app):
    return app.test_client()


def _claims(token: str) -> dict:
    """The payload of a JWT we issued (its signature is checked elsewhere)."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _register(client, kind, **fields):
    form = client.get(f"/admin/clients/new?kind={kind}").get_data(as_text=True)
    return client.post("/admin/clients/new", data={"csrf_token": csrf_from(form), "kind": kind,
                                                   **fields})


def test_console_lifetimes_and_pkce_are_enforced_at_the_token_endpoint(app, client):
    make_person(app, "root", roles=["superadmin"])
    browser_login(client, "root")
    made = _register(client, "web", name="Short", redirect_uris=REDIRECT_URI,
                     refresh_token="1", first_party="1", access_token_ttl="120",
                     refresh_token_ttl="3600", id_token_ttl="90", require_pkce="1")
    assert made.status_code == 302, made.get_data(as_text=True)[:800]
    page = client.get(made.location).get_data(as_text=True)
    secret = re.search(r'id="secret-value">(idp_sk_[A-Za-z0-9_-]+)<', page).group(1)
    assert "confidential, PKCE required" in page
    assert "access 120, refresh 3600, ID 90 (seconds)" in page
    cid = made.location.rsplit("/", 1)[-1]

    # Without a code_challenge the sign-in is refused back to the app (RFC 6749 4.1.2.1).
    refused = follow_to_client(client, client.get(authorize_url(cid)))
    assert refused["error"] == "invalid_request" and "PKCE" in refused["error_description"]

    query, verifier = get_code(client, cid, username="root")
    tokens = client.post("/token", data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier}, headers=basic(cid, secret)).get_json()
    assert tokens["expires_in"] == 120, tokens
    access, id_token = _claims(tokens["access_token"]), _claims(tokens["id_token"])
    assert access["exp"] - access["iat"] == 120 and id_token["exp"] - id_token["iat"] == 90
    from idp.extensions import db
    from idp.models.oauth import RefreshToken

    with app.app_context():
        row = db.session.query(RefreshToken).one()
        assert 3595 <= (row.expires_at - row.created_at).total_seconds() <= 3605


def test_api_bounds_lifetimes_by_the_deployment_and_null_restores_it(app, client):
    root = bearer(client, app)
    made = client.post("/api/v1/clients", json={
        "name": "svc", "grant_types": ["client_credentials"], "access_token_ttl": 300},
        headers=root)
    assert made.status_code == 201 and made.get_json()["access_token_ttl"] == 300
    cid, secret = made.get_json()["client_id"], made.get_json()["client_secret"]
    token = client.post("/token", data={"grant_type": "client_credentials"},
                        headers=basic(cid, secret)).get_json()
    assert token["expires_in"] == 300
    for value, words in ((601, "from 60 to 600"), (59, "from 60 to 600"), ("300", "wrong type")):
        refused = client.patch(f"/api/v1/clients/{cid}", json={"access_token_ttl": value},
                               headers=root)
        assert refused.status_code == 422 and refused.get_json()["field"] == "access_token_ttl"
        assert words in refused.get_json()["message"]
    # A PATCH of other fields keeps the lifetime; null gives back the server's.
    kept = client.patch(f"/api/v1/clients/{cid}", json={"name": "svc2"}, headers=root)
    assert kept.get_json()["access_token_ttl"] == 300
    reset = client.patch(f"/api/v1/clients/{cid}", json={"access_token_ttl": None},
                         headers=root)
    assert reset.get_json()["access_token_ttl"] is None
    token = client.post("/token", data={"grant_type": "client_credentials"},
                        headers=basic(cid, secret)).get_json()
    assert token["expires_in"] == 600
    doc = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    assert doc["ClientWrite"]["properties"]["access_token_ttl"]["maximum"] == 600


def test_console_form_keeps_a_bad_lifetime_with_an_inline_error(app, client):
    make_person(app, "root", roles=["superadmin"])
    browser_login(client, "root")
    response = _register(client, "spa", name="Spa", redirect_uris=REDIRECT_URI,
                         access_token_ttl="9999")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="access_token_ttl-error"' in html
    assert 'value="9999"' in html and "from 60 to 600 seconds" in html


def test_public_client_still_needs_pkce_and_login_helper_unchanged(app, client):
    """login() is the helper the flow above relies on; a public client without PKCE is
    refused as before (require_pkce adds to that rule, it does not replace it)."""
    root = bearer(client, app)
    made = client.post("/api/v1/clients", json={
        "name": "pub", "public": True, "auth_method": "none", "first_party": True,
        "redirect_uris": [REDIRECT_URI]}, headers=root).get_json()
    assert made["require_pkce"] is True
    first = client.get(authorize_url(made["client_id"]))
    if first.headers.get("Location", "").startswith("/login"):
        make_person(app, "alice")
        first = login(client, first)
    assert follow_to_client(client, first)["error"] == "invalid_request"
