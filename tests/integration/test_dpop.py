"""DPoP (RFC 9449) at /token, /userinfo and /introspect, with the proof checks of section 4.3
and the negative cases of its security considerations (replay, wrong key, bearer downgrade)."""

from __future__ import annotations

import json
import time

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, RSAKey

from tests.dpop_support import payload as _payload
from tests.dpop_support import proof
from tests.factories import make_client, make_user
from tests.oauth_flow import basic, exchange, get_code

ISSUER = "http://localhost"


@pytest.fixture
def key():
    return ECKey.generate_key("P-256", private=True)


def _dpop_tokens(app, client, key):
    make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid)
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": query["code"],
        "redirect_uri": "https://rp.example.com/cb", "code_verifier": verifier},
        headers={**basic(cid, secret), "DPoP": proof(key, "POST", f"{ISSUER}/token")})
    assert response.status_code == 200, response.get_json()
    return cid, secret, response.get_json()


def test_token_is_bound_to_the_proof_key(app, client, key):
    cid, secret, tokens = _dpop_tokens(app, client, key)
    assert tokens["token_type"] == "DPoP"
    assert _payload(tokens["access_token"])["cnf"] == {"jkt": key.thumbprint()}
    at = tokens["access_token"]
    ok = client.get("/userinfo", headers={
        "Authorization": f"DPoP {at}",
        "DPoP": proof(key, "GET", f"{ISSUER}/userinfo", access_token=at)})
    assert ok.status_code == 200 and ok.get_json()["sub"]
    seen = client.post("/introspect", data={"token": at}, headers=basic(cid, secret)).get_json()
    assert seen["active"] is True and seen["token_type"] == "DPoP"
    assert seen["cnf"] == {"jkt": key.thumbprint()}


def test_a_bound_token_used_as_bearer_is_refused(app, client, key):
    _, _, tokens = _dpop_tokens(app, client, key)
    response = client.get("/userinfo",
                          headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_token"


def test_proof_from_another_key_or_for_another_token_is_refused(app, client, key):
    _, _, tokens = _dpop_tokens(app, client, key)
    at = tokens["access_token"]
    other = ECKey.generate_key("P-256", private=True)
    wrong_key = client.get("/userinfo", headers={
        "Authorization": f"DPoP {at}",
        "DPoP": proof(other, "GET", f"{ISSUER}/userinfo", access_token=at)})
    assert wrong_key.status_code == 401 and wrong_key.get_json()["error"] == "invalid_token"
    assert wrong_key.headers["WWW-Authenticate"].startswith("DPoP ")
    no_ath = client.get("/userinfo", headers={
        "Authorization": f"DPoP {at}", "DPoP": proof(key, "GET", f"{ISSUER}/userinfo")})
    assert no_ath.get_json()["error"] == "invalid_dpop_proof"


def test_a_replayed_proof_is_refused(app, client, key):
    _, _, tokens = _dpop_tokens(app, client, key)
    at = tokens["access_token"]
    once = proof(key, "GET", f"{ISSUER}/userinfo", access_token=at)
    headers = {"Authorization": f"DPoP {at}", "DPoP": once}
    assert client.get("/userinfo", headers=headers).status_code == 200
    replay = client.get("/userinfo", headers=headers)
    assert replay.status_code == 401 and replay.get_json()["error"] == "invalid_dpop_proof"


@pytest.mark.parametrize("change", [
    {"typ": "JWT"}, {"method": "GET"}, {"url": f"{ISSUER}/elsewhere"},
    {"iat": 1}, {"iat_future": True}, {"private_jwk": True}, {"alg": "HS256"},
])
def test_bad_proofs_at_the_token_endpoint(app, client, key, change):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    kwargs = {}
    if "typ" in change:
        kwargs["typ"] = change["typ"]
    if "iat" in change:
        kwargs["iat"] = change["iat"]
    if "iat_future" in change:
        kwargs["iat"] = int(time.time()) + 3600
    if "private_jwk" in change:
        kwargs["jwk"] = key.as_dict(private=True)
    if change.get("alg") == "HS256":
        header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}}
        bad = jws.serialize_compact(header, json.dumps({"jti": "x", "htm": "POST",
                                                        "htu": f"{ISSUER}/token",
                                                        "iat": int(time.time())}),
                                    __import__("joserfc.jwk", fromlist=["OctKey"]).OctKey
                                    .import_key("secret-secret-secret-secret-32b!"),
                                    algorithms=["HS256"])
    else:
        bad = proof(key, change.get("method", "POST"), change.get("url", f"{ISSUER}/token"),
                    **kwargs)
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers={**basic(cid, secret), "DPoP": bad})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_client_credentials_with_dpop_skips_the_fast_path_and_is_bound(app, client):
    rsa = RSAKey.generate_key(2048, private=True)
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    response = client.post("/token", data={"grant_type": "client_credentials"}, headers={
        **basic(cid, secret), "DPoP": proof(rsa, "POST", f"{ISSUER}/token", alg="RS256")})
    assert response.status_code == 200
    assert response.get_json()["token_type"] == "DPoP"
    assert _payload(response.get_json()["access_token"])["cnf"]["jkt"] == rsa.thumbprint()


def test_discovery_lists_dpop_algorithms(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert "ES256" in meta["dpop_signing_alg_values_supported"]
    assert "HS256" not in meta["dpop_signing_alg_values_supported"]


def test_plain_bearer_flow_is_unchanged(app, client):
    make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid)
    tokens = exchange(client, cid, secret, query["code"], verifier).get_json()
    assert tokens["token_type"] == "Bearer" and "cnf" not in _payload(tokens["access_token"])


def test_public_client_refresh_token_is_bound_to_the_key(app, client, key):
    make_user(app)
    cid, _ = make_client(app, public=True)
    query, verifier = get_code(client, cid)
    issued = client.post("/token", data={
        "grant_type": "authorization_code", "code": query["code"], "client_id": cid,
        "redirect_uri": "https://rp.example.com/cb", "code_verifier": verifier},
        headers={"DPoP": proof(key, "POST", f"{ISSUER}/token")}).get_json()
    assert issued["token_type"] == "DPoP" and issued["refresh_token"]

    def refresh(headers):
        return client.post("/token", headers=headers, data={
            "grant_type": "refresh_token", "refresh_token": issued["refresh_token"],
            "client_id": cid})

    assert refresh({}).get_json()["error"] == "invalid_grant"  # no proof
    other = ECKey.generate_key("P-256", private=True)
    stolen = refresh({"DPoP": proof(other, "POST", f"{ISSUER}/token")})
    assert stolen.get_json()["error"] == "invalid_grant"
    ok = refresh({"DPoP": proof(key, "POST", f"{ISSUER}/token")})
    assert ok.status_code == 200 and ok.get_json()["token_type"] == "DPoP"
