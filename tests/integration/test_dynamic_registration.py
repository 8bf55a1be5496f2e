"""Dynamic client registration (RFC 7591) and management (RFC 7592) over HTTP: closed by
default, opened per tenant by an initial access token with a policy, the negative cases of
both RFCs' security considerations, and the registered client signing a person in."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.base import utcnow
from idp.models.oauth import Client
from idp.models.registration import ClientRegistration, InitialAccessToken
from idp.oauth.clients.initial_access_tokens import issue_token
from idp.request_context import system_context
from idp.tenancy.tenants import query_tenant
from tests.factories import REDIRECT_URI, csrf_from, hidden, make_user, pkce_pair
from tests.integration.admin_support import bearer, make_person, make_tenant
from tests.integration.test_outbound_guard import (  # noqa: F401 - fixtures
    ALLOW_LOOPBACK,
    config_overrides,
    jwks_server,
)
from tests.integration.test_outbound_guard import _token as assertion_token
from tests.oauth_flow import authorize_url, basic, exchange, follow_to_client, login

ENDPOINT = "/connect/register"
DISCOVERY = "/.well-known/openid-configuration"


def _issue(app, tenant=None, **policy) -> tuple[str, str]:
    """(token id, token) of an initial access token made by the service, as the CLI does."""
    with app.app_context():
        row, token = issue_token(db.session, system_context(), query_tenant(db.session, tenant),
                                 **policy)
        db.session.commit()
        token_id = str(row.id)
    app.extensions["idp"].registration.invalidate()
    return token_id, token


def _register(client, token, **metadata):
    metadata.setdefault("redirect_uris", [REDIRECT_URI])
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(ENDPOINT, json=metadata, headers=headers)


def _manage(client, method, body, **kw):
    headers = {"Authorization": f"Bearer {kw.pop('token', body['registration_access_token'])}"}
    uri = kw.pop("uri", body["registration_client_uri"]).removeprefix("http://localhost")
    return client.open(uri, method=method, headers=headers, **kw)


def _refused(response, status, error):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == error, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    return response.get_json()["error_description"]


def _events(app, type_):
    with app.app_context():
        return db.session.execute(select(AuditEvent).where(AuditEvent.type == type_)
                                  .order_by(AuditEvent.id)).scalars().all()


# --- closed by default, opened by a token ----------------------------------------------

def test_registration_is_closed_and_not_advertised_without_a_live_token(app, client):
    assert "registration_endpoint" not in client.get(DISCOVERY).get_json()
    _refused(_register(client, None), 401, "invalid_token")
    _refused(_register(client, "idp_iat_guessed"), 401, "invalid_token")
    refusals = _events(app, "client.registration.refused")
    assert [e.outcome for e in refusals] == ["failure", "failure"]
    with app.app_context():
        assert db.session.execute(select(Client)).first() is None


def test_discovery_names_the_endpoint_while_a_token_is_live(app, client):
    token_id, _ = _issue(app)
    for path in (DISCOVERY, "/.well-known/oauth-authorization-server"):
        assert client.get(path).get_json()["registration_endpoint"] == \
            "http://localhost/connect/register"
    admin = bearer(client, app)
    assert client.post(f"/api/v1/initial-access-tokens/{token_id}/revoke",
                       headers=admin).status_code == 200
    assert "registration_endpoint" not in client.get(DISCOVERY).get_json()


def test_confidential_client_registered_then_signs_a_person_in_with_pkce(app, client):
    make_user(app)
    token_id, token = _issue(app)
    made = _register(client, token, client_name="Shop", scope="openid profile",
                     grant_types=["authorization_code", "refresh_token"],
                     post_logout_redirect_uris=["https://rp.example.com/bye"],
                     logo_uri="https://rp.example.com/logo.png")  # ignored (RFC 7591 2)
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.headers["Cache-Control"] == "no-store"
    body = made.get_json()
    cid = body["client_id"]
    assert body["client_secret"].startswith("idp_sk_") and body["client_secret_expires_at"] == 0
    assert body["registration_access_token"].startswith("idp_rat_")
    assert body["registration_client_uri"] == f"http://localhost{ENDPOINT}/{cid}"
    assert abs(body["client_id_issued_at"] - utcnow().timestamp()) < 60
    assert body["client_name"] == "Shop" and body["scope"] == "openid profile"
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"] and "logo_uri" not in body

    # Third-party: the person is asked for consent, then the code needs the PKCE verifier.
    verifier, challenge = pkce_pair()
    response = login(client, client.get(authorize_url(cid, scope="openid profile",
                                                      challenge=challenge)))
    consent = client.get(client.get(response.headers["Location"]).headers["Location"])
    html = consent.get_data(as_text=True)
    assert "Allow Shop?" in html
    query = follow_to_client(client, client.post("/consent", data={
        "csrf_token": csrf_from(html), "rid": hidden(html, "rid"), "approve": "Allow"}))
    tokens = exchange(client, cid, body["client_secret"], query["code"], verifier)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    assert tokens.get_json()["id_token"] and tokens.get_json()["refresh_token"]

    created = [e for e in _events(app, "client.created") if e.client_id == cid]
    assert created[0].actor_id == f"initial_access_token:{token_id}"


def test_public_client_gets_no_secret_and_must_use_pkce(app, client):
    _, token = _issue(app)
    body = _register(client, token, token_endpoint_auth_method="none").get_json()
    assert "client_secret" not in body and body["token_endpoint_auth_method"] == "none"
    with app.app_context():
        assert db.session.get(Client, body["client_id"]).is_public is True
    plain = client.get(authorize_url(body["client_id"]))  # no code_challenge
    assert plain.status_code in (302, 400)
    assert "code_challenge" in (plain.headers.get("Location", "") + plain.get_data(as_text=True))


def test_tokens_are_stored_as_hashes_only(app, client):
    token_id, token = _issue(app)
    body = _register(client, token).get_json()
    rat = body["registration_access_token"]
    with app.app_context():
        row = db.session.get(InitialAccessToken, uuid.UUID(token_id))
        assert row.digest == hashlib.sha256(token.encode()).hexdigest() and row.hint == token[-4:]
        reg = db.session.get(ClientRegistration, body["client_id"])
        assert reg.token_digest == hashlib.sha256(rat.encode()).hexdigest()
        assert reg.initial_access_token_id == row.id


def test_client_lands_in_the_tokens_tenant_and_shows_in_its_admin_api(app, client):
    make_tenant(app, "acme")
    make_tenant(app, "other")
    _, token = _issue(app, "acme")
    cid = _register(client, token, client_name="Acme app").get_json()["client_id"]
    acme_admin = bearer(client, app, roles=("tenant_admin",), tenant="acme")
    other_admin = bearer(client, app, roles=("tenant_admin",), tenant="other")
    listed = client.get("/api/v1/clients", headers=acme_admin).get_json()["items"]
    assert cid in [c["client_id"] for c in listed]
    with app.app_context():
        assert str(db.session.get(Client, cid).tenant_id) == \
            str(query_tenant(db.session, "acme").id)
    assert client.get(f"/api/v1/clients/{cid}", headers=other_admin).status_code == 404


# --- initial access token: uses, expiry, revocation ------------------------------------

def test_one_time_token_is_spent_by_one_registration_only(app, client):
    _, token = _issue(app, uses=1)
    assert _register(client, token).status_code == 201
    _refused(_register(client, token), 401, "invalid_token")
    assert "registration_endpoint" not in client.get(DISCOVERY).get_json()


def test_a_refused_registration_does_not_spend_the_token(app, client):
    _, token = _issue(app, uses=1)
    _refused(_register(client, token, grant_types=["client_credentials"]), 400,
             "invalid_client_metadata")
    assert _register(client, token).status_code == 201


def test_multi_use_token_counts_its_uses(app, client):
    token_id, token = _issue(app, uses=2)
    assert _register(client, token).status_code == 201
    assert _register(client, token).status_code == 201
    _refused(_register(client, token), 401, "invalid_token")
    admin = bearer(client, app)
    shown = client.get(f"/api/v1/initial-access-tokens/{token_id}", headers=admin).get_json()
    assert shown["uses"] == 2 and shown["max_uses"] == 2


def test_expired_token_is_refused(app, client):
    token_id, token = _issue(app, uses=0, expires_in=60)
    with app.app_context():
        row = db.session.get(InitialAccessToken, uuid.UUID(token_id))
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    _refused(_register(client, token), 401, "invalid_token")


def test_revoked_token_is_refused(app, client):
    token_id, token = _issue(app, uses=0)
    admin = bearer(client, app)
    revoked = client.post(f"/api/v1/initial-access-tokens/{token_id}/revoke", headers=admin)
    assert revoked.get_json()["revoked_at"]
    _refused(_register(client, token), 401, "invalid_token")


# --- policy and client rules -----------------------------------------------------------

@pytest.mark.parametrize(("metadata", "error", "words"), [
    ({"grant_types": ["client_credentials"], "redirect_uris": []},
     "invalid_client_metadata", "not allowed by this registration's policy"),
    ({"scope": "openid phone", "redirect_uris": ["https://app.example.com/cb"]},
     "invalid_client_metadata", "'phone' is not allowed"),
    ({"redirect_uris": ["https://app.example.com.evil.test/cb"]}, "invalid_redirect_uri",
     "outside the redirect URIs"),
    ({"redirect_uris": ["https://app.example.com@evil.test/cb"]}, "invalid_redirect_uri", ""),
    ({"redirect_uris": ["https://app.example.com/cb"],
      "post_logout_redirect_uris": ["https://evil.test/bye"]}, "invalid_redirect_uri",
     "outside the redirect URIs"),
])
def test_policy_violations_are_refused(app, client, metadata, error, words):
    _, token = _issue(app, uses=0, grant_types=["authorization_code"],
                      redirect_uri_prefixes=["https://app.example.com/"],
                      scopes=["openid", "profile"])
    assert words in _refused(_register(client, token, **metadata), 400, error)
    assert _register(client, token, redirect_uris=["https://app.example.com/cb"],
                     scope="openid").status_code == 201


@pytest.mark.parametrize(("metadata", "error"), [
    ({"redirect_uris": ["https://rp.example.com/cb#frag"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["http://rp.example.com/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": "https://rp.example.com/cb"}, "invalid_redirect_uri"),
    ({"redirect_uris": []}, "invalid_redirect_uri"),  # the code grant needs one
    ({"token_endpoint_auth_method": "client_secret_jwt"}, "invalid_client_metadata"),
    ({"response_types": ["token"]}, "invalid_client_metadata"),
    ({"id_token_signed_response_alg": "none"}, "invalid_client_metadata"),
    ({"client_name": 7}, "invalid_client_metadata"),
    ({"client_name": "x" * 201}, "invalid_client_metadata"),  # column size: never a 500
    ({"jwks_uri": "https://rp.example.com/" + "k" * 500,
      "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    ({"backchannel_logout_uri": "https://rp.example.com/" + "b" * 500},
     "invalid_client_metadata"),
    ({"jwks_uri": "https://rp.example.com/jwks", "jwks": {"keys": []},
      "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
      "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    ({"jwks": {"keys": []}, "token_endpoint_auth_method": "private_key_jwt"},
     "invalid_client_metadata"),
    ({"jwks": {"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}]},
      "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    ({"software_statement": "eyJhbGciOiJub25lIn0.e30."}, "invalid_software_statement"),
])
def test_client_rules_answer_rfc7591_errors(app, client, metadata, error):
    _, token = _issue(app, uses=0)
    _refused(_register(client, token, **metadata), 400, error)


def test_body_that_is_not_a_json_object_is_invalid_metadata(app, client):
    _, token = _issue(app, uses=0)
    auth = {"Authorization": f"Bearer {token}"}
    for kwargs in ({"data": "redirect_uris=x"}, {"json": ["a"]},
                   {"data": "{", "content_type": "application/json"}):
        _refused(client.post(ENDPOINT, headers=auth, **kwargs), 400, "invalid_client_metadata")


@pytest.mark.parametrize("jwks_uri", [
    "https://127.0.0.1/jwks.json", "https://10.0.0.8/jwks.json",
    "https://169.254.169.254/latest/meta-data", "https://localhost:8443/jwks.json",
    "https://[::1]/jwks.json", "https://metadata.localhost/jwks.json",
])
def test_jwks_uri_to_internal_addresses_is_refused(app, client, jwks_uri):
    """SSRF: the outbound guard (IDP_OUTBOUND_ALLOW empty) refuses non-public targets at
    registration, with the same words whatever the cause."""
    _, token = _issue(app, uses=0)
    description = _refused(_register(client, token, jwks_uri=jwks_uri,
                                     token_endpoint_auth_method="private_key_jwt"),
                           400, "invalid_client_metadata")
    assert description == ("jwks_uri must be a public address (or one the operator allows in "
                           "IDP_OUTBOUND_ALLOW).")


def test_plain_http_jwks_uri_is_refused(app, client):
    _, token = _issue(app, uses=0)
    description = _refused(_register(client, token, jwks_uri="http://169.254.169.254/jwks",
                                     token_endpoint_auth_method="private_key_jwt"),
                           400, "invalid_client_metadata")
    assert "plain http is allowed only on loopback" in description


def test_a_token_used_up_meanwhile_registers_nothing(app):
    """Two requests racing for the last use: the atomic count lets one through; the other's
    client is not kept (its transaction is rolled back by the view)."""
    from idp.oauth.clients import registration

    token_id, _ = _issue(app, uses=1)
    with app.app_context():
        svc = app.extensions["idp"]
        row = db.session.get(InitialAccessToken, uuid.UUID(token_id))
        meta = {"redirect_uris": [REDIRECT_URI]}
        registration.register(db.session, system_context(), svc.keyring, row, meta)
        with pytest.raises(registration.RegistrationError) as refused:
            registration.register(db.session, system_context(), svc.keyring, row, meta)
        assert refused.value.error == "invalid_token"
        db.session.rollback()


# --- RFC 7592: read, update, delete ----------------------------------------------------

def _registered(app, client, **policy):
    _, token = _issue(app, uses=0, **policy)
    made = _register(client, token, client_name="Managed", scope="openid")
    assert made.status_code == 201
    return made.get_json()


def test_read_with_the_registration_access_token(app, client):
    body = _registered(app, client)
    read = _manage(client, "GET", body)
    assert read.status_code == 200 and read.headers["Cache-Control"] == "no-store"
    info = read.get_json()
    assert info["client_id"] == body["client_id"] and info["client_name"] == "Managed"
    assert "client_secret" not in info  # stored hashed: shown only when issued


def test_wrong_or_another_clients_token_is_401(app, client):
    first, second = _registered(app, client), _registered(app, client)
    for method in ("GET", "PUT", "DELETE"):
        _refused(_manage(client, method, first, token="idp_rat_wrong"), 401, "invalid_token")
        _refused(_manage(client, method, first,
                         token=second["registration_access_token"]), 401, "invalid_token")
        _refused(client.open(first["registration_client_uri"], method=method), 401,
                 "invalid_token")
    _refused(_manage(client, "GET", first, uri=f"{ENDPOINT}/idp_ci_nobody"), 401,
             "invalid_token")
    assert _manage(client, "GET", first).status_code == 200


def test_update_replaces_metadata_under_the_same_policy(app, client):
    body = _registered(app, client, redirect_uri_prefixes=["https://rp.example.com/"])
    cid = body["client_id"]
    updated = _manage(client, "PUT", body, json={
        "client_id": cid, "client_secret": body["client_secret"],
        "redirect_uris": ["https://rp.example.com/cb2"], "client_name": "Renamed",
        "registration_access_token": "ignored", "client_id_issued_at": 1})
    assert updated.status_code == 200, updated.get_data(as_text=True)
    info = updated.get_json()
    assert info["redirect_uris"] == ["https://rp.example.com/cb2"]
    assert info["client_name"] == "Renamed"
    assert info["scope"] != "openid"  # omitted: back to the policy's default scopes
    _refused(_manage(client, "PUT", body, json={
        "client_id": cid, "redirect_uris": ["https://evil.test/cb"]}), 400,
        "invalid_redirect_uri")
    _refused(_manage(client, "PUT", body, json={
        "client_id": "idp_ci_other", "redirect_uris": ["https://rp.example.com/cb"]}), 400,
        "invalid_client_metadata")
    _refused(_manage(client, "PUT", body, json={
        "client_id": cid, "client_secret": "idp_sk_wrong",
        "redirect_uris": ["https://rp.example.com/cb"]}), 400, "invalid_client_metadata")
    _refused(_manage(client, "PUT", body, json={
        "client_id": cid, "token_endpoint_auth_method": "none",
        "redirect_uris": ["https://rp.example.com/cb"]}), 400, "invalid_client_metadata")
    assert _manage(client, "GET", body).get_json()["redirect_uris"] == \
        ["https://rp.example.com/cb2"]
    updates = [e for e in _events(app, "client.updated") if e.client_id == cid]
    assert len(updates) == 1 and updates[0].actor_id == f"registration:{cid}"


def test_delete_removes_the_client_and_its_token(app, client):
    body = _registered(app, client)
    cid = body["client_id"]
    deleted = _manage(client, "DELETE", body)
    assert deleted.status_code == 204
    with app.app_context():
        assert db.session.get(Client, cid) is None
        assert db.session.get(ClientRegistration, cid) is None
    _refused(_manage(client, "GET", body), 401, "invalid_token")
    refused = client.post("/token", data={"grant_type": "authorization_code", "code": "x",
                                          "redirect_uri": REDIRECT_URI},
                          headers=basic(cid, body["client_secret"]))
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    gone = [e for e in _events(app, "client.deleted") if e.client_id == cid]
    assert gone[0].actor_id == f"registration:{cid}"


# --- admin API, console and CLI ----------------------------------------------------------

def test_admin_api_issues_lists_and_revokes_tokens_in_its_tenant(app, client):
    make_tenant(app, "acme")
    make_tenant(app, "other")
    acme = bearer(client, app, roles=("tenant_admin",), tenant="acme")
    other = bearer(client, app, roles=("tenant_admin",), tenant="other")
    made = client.post("/api/v1/initial-access-tokens", headers=acme, json={
        "uses": 3, "expires_in": 3600, "grant_types": ["authorization_code"],
        "redirect_uri_prefixes": ["https://acme.example.com/"], "scopes": ["openid"]})
    assert made.status_code == 201, made.get_data(as_text=True)
    shown = made.get_json()
    token, token_id = shown["initial_access_token"], shown["id"]
    assert shown["max_uses"] == 3 and shown["hint"] == "…" + token[-4:]
    listed = client.get("/api/v1/initial-access-tokens", headers=acme).get_json()["items"]
    assert [t["id"] for t in listed] == [token_id] and "initial_access_token" not in listed[0]
    assert client.get("/api/v1/initial-access-tokens", headers=other).get_json()["items"] == []
    assert client.get(f"/api/v1/initial-access-tokens/{token_id}",
                      headers=other).status_code == 404
    assert client.post(f"/api/v1/initial-access-tokens/{token_id}/revoke",
                       headers=other).status_code == 404
    cid = _register(client, token, redirect_uris=["https://acme.example.com/cb"],
                    scope="openid").get_json()["client_id"]
    with app.app_context():
        assert str(db.session.get(Client, cid).tenant_id) == \
            str(query_tenant(db.session, "acme").id)
    assert client.post(f"/api/v1/initial-access-tokens/{token_id}/revoke",
                       headers=acme).status_code == 200
    _refused(_register(client, token, redirect_uris=["https://acme.example.com/cb"]), 401,
             "invalid_token")
    types = [e.type for e in _events(app, "client.initial_access_token.created")] + \
        [e.type for e in _events(app, "client.initial_access_token.revoked")]
    assert len(types) == 2


@pytest.mark.parametrize("payload", [
    {"uses": -1}, {"uses": "1"}, {"expires_in": 10}, {"grant_types": ["implicit"]},
    {"grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"]},
    {"scopes": ["idp:admin"]}, {"redirect_uri_prefixes": ["http://evil.test/"]},
    {"colour": "red"},
])
def test_admin_api_refuses_bad_policies(app, client, payload):
    admin = bearer(client, app)
    refused = client.post("/api/v1/initial-access-tokens", headers=admin, json=payload)
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert client.get("/api/v1/initial-access-tokens", headers=admin).get_json()["items"] == []


def test_member_may_not_issue_tokens(app, client):
    member = bearer(client, app, roles=("member",))
    assert client.post("/api/v1/initial-access-tokens", headers=member,
                       json={}).status_code == 403


def test_console_issues_a_token_shown_once_and_revokes_it(app, client):
    from tests.integration.admin_support import browser_login

    make_person(app, "root", roles=["superadmin"])
    browser_login(client, "root")
    page = client.get("/admin/clients/registration")
    assert page.status_code == 200 and "No initial access tokens." in page.get_data(as_text=True)
    form = csrf_from(page.get_data(as_text=True))
    bad = client.post("/admin/clients/registration", data={"csrf_token": form, "uses": "-2"})
    assert bad.status_code == 422 and "must be a whole number" in bad.get_data(as_text=True)
    made = client.post("/admin/clients/registration", data={
        "csrf_token": form, "uses": "2", "expires_hours": "1",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uri_prefixes": "https://rp.example.com/\n", "scopes": "openid profile"})
    assert made.status_code == 302
    shown = client.get(made.location).get_data(as_text=True)
    token = re.search(r'id="token-value">(idp_iat_[A-Za-z0-9_-]+)<', shown).group(1)
    assert "0 / 2" in shown and "https://rp.example.com/" in shown
    assert token not in client.get("/admin/clients/registration").get_data(as_text=True)
    assert _register(client, token, scope="openid").status_code == 201
    with app.app_context():
        token_id = db.session.execute(select(InitialAccessToken.id)).scalar_one()
    revoked = client.post(f"/admin/clients/registration/{token_id}/revoke",
                          data={"csrf_token": form})
    assert revoked.status_code == 302
    assert "revoked" in client.get("/admin/clients/registration").get_data(as_text=True)
    _refused(_register(client, token, scope="openid"), 401, "invalid_token")


# --- the registered jwks_uri is fetched through the outbound guard ---------------------

@ALLOW_LOOPBACK
def test_registered_jwks_uri_is_fetched_through_the_guard(app, client, jwks_server):  # noqa: F811
    """With IDP_OUTBOUND_ALLOW naming loopback, a self-registered private_key_jwt client
    authenticates with the keys fetched from its jwks_uri."""
    _, token = _issue(app, grant_types=["client_credentials"])
    uri = f"http://127.0.0.1:{jwks_server.server_address[1]}/jwks"
    made = _register(client, token, grant_types=["client_credentials"], redirect_uris=[],
                     token_endpoint_auth_method="private_key_jwt", jwks_uri=uri,
                     scope="openid")
    assert made.status_code == 201, made.get_data(as_text=True)
    assert "client_secret" not in made.get_json()
    assert jwks_server.hits == []  # nothing fetched at registration
    response = assertion_token(client, made.get_json()["client_id"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert jwks_server.hits == ["/jwks"]
