"""Protocol settings of an application in the console, by the API's rules: the back-channel
logout URI (and whether it needs `sid`), PAR, DPoP nonces and the FAPI 2.0 profile."""

from __future__ import annotations

import pytest

from tests.factories import REDIRECT_URI, csrf_from
from tests.integration.admin_support import bearer, browser_login, make_person

BC_URI = "https://rp.example.com/backchannel-logout"


@pytest.fixture
def client(app):
    return app.test_client()


def _admin(app, client):
    make_person(app, "root", roles=["superadmin"])
    browser_login(client, "root")


def _register(client, kind, **fields):
    form = client.get(f"/admin/clients/new?kind={kind}").get_data(as_text=True)
    return client.post("/admin/clients/new", data={"csrf_token": csrf_from(form), "kind": kind,
                                                   **fields})


def test_backchannel_logout_uri_registered_edited_and_cleared(app, client):
    _admin(app, client)
    form = client.get("/admin/clients/new?kind=web").get_data(as_text=True)
    assert 'name="backchannel_logout_uri"' in form
    assert 'name="backchannel_logout_session_required"' in form
    made = _register(client, "web", name="Shop", redirect_uris=REDIRECT_URI,
                     backchannel_logout_uri=BC_URI, backchannel_logout_session_required="1")
    assert made.status_code == 302, made.get_data(as_text=True)
    cid = made.location.rsplit("/", 1)[-1]
    detail = client.get(made.location).get_data(as_text=True)
    assert BC_URI in detail and "sid required" in detail
    shown = client.get(f"/api/v1/clients/{cid}").get_json()
    assert shown["backchannel_logout_uri"] == BC_URI
    assert shown["backchannel_logout_session_required"] is True

    edit = client.get(f"/admin/clients/{cid}/edit").get_data(as_text=True)
    assert f'value="{BC_URI}"' in edit
    cleared = client.post(f"/admin/clients/{cid}/edit", data={
        "csrf_token": csrf_from(edit), "kind": "web", "name": "Shop",
        "redirect_uris": REDIRECT_URI, "backchannel_logout_uri": ""})
    assert cleared.status_code == 302
    shown = client.get(f"/api/v1/clients/{cid}").get_json()
    assert shown["backchannel_logout_uri"] is None
    assert shown["backchannel_logout_session_required"] is False
    events = client.get("/api/v1/audit?type=client.updated").get_json()["items"]
    assert {"backchannel_logout_uri", "backchannel_logout_session_required"} <= set(
        events[0]["details"]["changed"])


@pytest.mark.parametrize("uri, words", [
    ("https://10.1.2.3/bc", "public address"),  # private: the outbound guard refuses it
    ("http://127.0.0.1:9/bc", "public address"),  # loopback, not in IDP_OUTBOUND_ALLOW
    ("https://rp.example.com/bc#frag", "without fragment"),
    ("ftp://rp.example.com/bc", "http(s) URL"),
])
def test_a_bad_backchannel_uri_is_refused_inline_as_the_api_refuses_it(app, client, uri, words):
    _admin(app, client)
    refused = _register(client, "spa", name="Dash", redirect_uris="https://dash.example.com/cb",
                        backchannel_logout_uri=uri)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'aria-invalid="true" aria-describedby="backchannel_logout_uri-error"' in html
    assert words in html and 'value="Dash"' in html
    api = client.post("/api/v1/clients", headers=bearer(client, app), json={
        "name": "Dash", "redirect_uris": ["https://dash.example.com/cb"],
        "backchannel_logout_uri": uri})
    assert api.status_code == 422 and api.get_json()["field"] == "backchannel_logout_uri"
    assert words in api.get_json()["message"]


def test_request_security_settings_from_the_console(app, client):
    _admin(app, client)
    made = _register(client, "web", name="Bank", redirect_uris=REDIRECT_URI,
                     require_pushed_authorization_requests="1", require_dpop_nonce="1")
    cid = made.location.rsplit("/", 1)[-1]
    shown = client.get(f"/api/v1/clients/{cid}").get_json()
    assert shown["require_pushed_authorization_requests"] is True
    assert shown["require_dpop_nonce"] is True and shown["security_profile"] is None
    assert "PAR required, DPoP nonce required" in client.get(made.location).get_data(
        as_text=True)
    fapi = _register(client, "web", name="Bank 2", redirect_uris=REDIRECT_URI,
                     auth_method="client_secret_basic", security_profile="fapi2")
    html = fapi.get_data(as_text=True)
    assert fapi.status_code == 422 and 'id="auth_method-error"' in html
    assert "private_key_jwt" in html


def test_a_clients_own_registration_update_keeps_what_an_admin_set(app, client):
    """RFC 7592 replace carries registration metadata only: the DPoP nonce requirement an
    admin set stays, whatever the client sends."""
    from tests.integration.test_dynamic_registration import _manage, _registered

    body = _registered(app, client)
    cid = body["client_id"]
    headers = bearer(client, app)
    assert client.patch(f"/api/v1/clients/{cid}", headers=headers,
                        json={"require_dpop_nonce": True}).status_code == 200
    updated = _manage(client, "PUT", body, json={
        "client_id": cid, "client_secret": body["client_secret"],
        "redirect_uris": [REDIRECT_URI], "require_dpop_nonce": False,
        "security_profile": None})
    assert updated.status_code == 200, updated.get_data(as_text=True)
    shown = client.get(f"/api/v1/clients/{cid}", headers=headers).get_json()
    assert shown["require_dpop_nonce"] is True and shown["redirect_uris"] == [REDIRECT_URI]
