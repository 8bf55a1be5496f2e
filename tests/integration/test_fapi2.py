"""The FAPI 2.0 Security Profile as a per-client switch (security_profile = "fapi2"), and
require_pushed_authorization_requests globally (IDP_REQUIRE_PAR): a whole FAPI flow over
HTTP (PAR, PKCE S256, private_key_jwt, DPoP, iss in the response, ES256 tokens) and each
rule it enforces refused on its own."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey

from idp.errors import ValidationFailed
from idp.extensions import db
from idp.models.oauth import AuthorizationCode
from tests.dpop_support import payload, proof
from tests.factories import REDIRECT_URI, make_client, make_user, pkce_pair
from tests.integration.admin_support import bearer
from tests.oauth_flow import basic, follow_to_client, login

ISSUER = "http://localhost"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


@pytest.fixture
def client_key():
    return ECKey.generate_key("P-256", private=True, parameters={"kid": "rp-1"})


@pytest.fixture
def dpop_key():
    return ECKey.generate_key("P-256", private=True)


@pytest.fixture
def fapi_client(app, client_key):
    make_user(app)
    jwks = {"keys": [{**client_key.as_dict(private=False), "alg": "ES256"}]}
    cid, secret = make_client(app, auth_method="private_key_jwt", jwks=jwks, token_alg="ES256",
                              security_profile="fapi2", first_party=True)
    assert secret is None
    return cid


def _auth(key, cid, aud=ISSUER):
    now = int(time.time())
    claims = {"iss": cid, "sub": cid, "aud": aud, "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex}
    return {"client_id": cid, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": jwt.encode({"alg": "ES256", "kid": "rp-1"}, claims, key)}


def _push(client, cid, key, **params):
    verifier, challenge = pkce_pair()
    data = {"response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid profile",
            "state": "st-f", "nonce": "n-f", "code_challenge": challenge,
            "code_challenge_method": "S256", **params}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post("/par", data={**data, **_auth(key, cid)}), verifier


def _code(client, cid, key):
    pushed, verifier = _push(client, cid, key)
    assert pushed.status_code == 201, pushed.get_json()
    first = client.get("/authorize", query_string={
        "client_id": cid, "request_uri": pushed.get_json()["request_uri"]})
    return follow_to_client(client, login(client, first)), verifier


def _redeem(client, cid, key, code, verifier, dpop_header):
    headers = {"DPoP": dpop_header} if dpop_header else {}
    return client.post("/token", headers=headers, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier, **_auth(key, cid)})


def test_a_fapi_flow_end_to_end(app, client, fapi_client, client_key, dpop_key):
    query, verifier = _code(client, fapi_client, client_key)
    assert query["iss"] == ISSUER and query["state"] == "st-f"  # RFC 9207
    tokens = _redeem(client, fapi_client, client_key, query["code"], verifier,
                     proof(dpop_key, "POST", f"{ISSUER}/token"))
    assert tokens.status_code == 200, tokens.get_json()
    body = tokens.get_json()
    assert body["token_type"] == "DPoP"
    assert payload(body["access_token"])["cnf"] == {"jkt": dpop_key.thumbprint()}
    assert jws.extract_compact(body["id_token"].encode()).headers()["alg"] == "ES256"
    at = body["access_token"]
    info = client.get("/userinfo", headers={
        "Authorization": f"DPoP {at}",
        "DPoP": proof(dpop_key, "GET", f"{ISSUER}/userinfo", access_token=at)})
    assert info.status_code == 200


@pytest.mark.parametrize("config_overrides", [{"authorization_code_ttl": 300}],
                         indirect=True)
def test_authorization_code_lives_at_most_60_seconds(app, client, fapi_client, client_key):
    _code(client, fapi_client, client_key)
    with app.app_context():
        row = db.session.query(AuthorizationCode).filter_by(client_id=fapi_client).one()
        assert timedelta(seconds=55) <= row.expires_at - row.created_at <= timedelta(seconds=60)


def test_token_request_without_dpop_is_refused_and_the_code_survives(
        app, client, fapi_client, client_key, dpop_key):
    query, verifier = _code(client, fapi_client, client_key)
    bare = _redeem(client, fapi_client, client_key, query["code"], verifier, None)
    assert bare.status_code == 400 and bare.get_json()["error"] == "invalid_dpop_proof"
    rsa = RSAKey.generate_key(2048, private=True)
    rs256 = _redeem(client, fapi_client, client_key, query["code"], verifier,
                    proof(rsa, "POST", f"{ISSUER}/token", alg="RS256"))
    assert rs256.status_code == 400 and rs256.get_json()["error"] == "invalid_dpop_proof"
    ok = _redeem(client, fapi_client, client_key, query["code"], verifier,
                 proof(dpop_key, "POST", f"{ISSUER}/token"))
    assert ok.status_code == 200, ok.get_json()


def test_authorize_without_par_is_refused(app, client, fapi_client):
    _, challenge = pkce_pair()
    direct = client.get("/authorize", query_string={
        "response_type": "code", "client_id": fapi_client, "redirect_uri": REDIRECT_URI,
        "scope": "openid", "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    assert direct.status_code == 302
    assert "error=invalid_request" in direct.headers["Location"]
    assert "iss=http" in direct.headers["Location"]  # RFC 9207 on errors too


@pytest.mark.parametrize("missing, error, expected", [
    ({"redirect_uri": None}, "invalid_request", "redirect_uri"),
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request", "PKCE"),
    ({"code_challenge_method": "plain"}, "invalid_request", "PKCE"),
    ({"response_type": "code id_token"}, "unsupported_response_type", ""),  # no hybrid
    ({"response_type": "token"}, "unsupported_response_type", ""),  # no implicit
])
def test_pushed_request_rules(app, client, fapi_client, client_key, missing, error, expected):
    pushed, _ = _push(client, fapi_client, client_key, **missing)
    assert pushed.status_code == 400, pushed.get_json()
    assert pushed.get_json()["error"] == error
    assert expected in pushed.get_json().get("error_description", "")


def test_assertion_audience_must_be_the_issuer_string(app, client, fapi_client, client_key):
    verifier, challenge = pkce_pair()
    now = int(time.time())
    claims = {"iss": fapi_client, "sub": fapi_client, "aud": [ISSUER, f"{ISSUER}/token"],
              "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    pushed = client.post("/par", data={
        "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid",
        "code_challenge": challenge, "code_challenge_method": "S256",
        "client_id": fapi_client, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": jwt.encode({"alg": "ES256", "kid": "rp-1"}, claims, client_key)})
    assert pushed.status_code == 400 and pushed.get_json()["error"] == "invalid_client"
    assert "issuer as 'aud'" in pushed.get_json()["error_description"]


@pytest.mark.parametrize("kwargs, field", [
    ({}, "auth_method"),  # client_secret_basic
    ({"auth_method": "client_secret_post"}, "auth_method"),
    ({"public": True}, "auth_method"),
    ({"auth_method": "private_key_jwt", "token_alg": "RS256"}, "token_alg"),
    ({"auth_method": "private_key_jwt", "token_alg": "ES256",
      "grant_types": ["client_credentials"]}, "grant_types"),
])
def test_registration_refuses_what_the_profile_forbids(app, client_key, kwargs, field):
    jwks = {"keys": [client_key.as_dict(private=False)]}
    with pytest.raises(ValidationFailed) as refused:
        make_client(app, security_profile="fapi2",
                    jwks=jwks if kwargs.get("auth_method") == "private_key_jwt" else None,
                    **kwargs)
    assert refused.value.field == field


def test_profile_set_and_cleared_through_the_admin_api(app, client, client_key):
    headers = bearer(client, app)
    created = client.post("/api/v1/clients", headers=headers, json={
        "name": "bank", "redirect_uris": [REDIRECT_URI], "auth_method": "client_secret_basic",
        "security_profile": "fapi2"})
    assert created.status_code == 422, created.get_json()
    assert "private_key_jwt" in created.get_json()["message"]
    created = client.post("/api/v1/clients", headers=headers, json={
        "name": "bank", "redirect_uris": [REDIRECT_URI], "require_dpop_nonce": True})
    assert created.status_code == 201
    body = created.get_json()
    assert body["security_profile"] is None and body["require_dpop_nonce"] is True
    odd = client.patch(f"/api/v1/clients/{body['client_id']}", headers=headers,
                       json={"security_profile": "fapi9"})
    assert odd.status_code == 422 and odd.get_json()["error"]
    kept = client.patch(f"/api/v1/clients/{body['client_id']}", headers=headers,
                        json={"name": "bank 2"}).get_json()
    assert kept["require_dpop_nonce"] is True  # a field left out keeps its value


@pytest.mark.parametrize("config_overrides", [{"require_par": True}], indirect=True)
def test_par_required_globally(app, client):
    make_user(app)
    cid, secret = make_client(app)
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["require_pushed_authorization_requests"] is True
    _, challenge = pkce_pair()
    direct = client.get("/authorize", query_string={
        "response_type": "code", "client_id": cid, "redirect_uri": REDIRECT_URI,
        "scope": "openid", "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    assert "error=invalid_request" in direct.headers["Location"]
    pushed = client.post("/par", headers=basic(cid, secret), data={
        "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert pushed.status_code == 201
    first = client.get("/authorize", query_string={
        "client_id": cid, "request_uri": pushed.get_json()["request_uri"]})
    assert first.status_code == 302 and first.headers["Location"].startswith("/login")


def test_par_not_required_globally_by_default(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["require_pushed_authorization_requests"] is False
    assert "ES256" in meta["dpop_signing_alg_values_supported"]
