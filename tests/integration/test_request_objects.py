"""Request objects (RFC 9101) at /authorize and /par: signed by the client's key, claims win."""

from __future__ import annotations

import time

from joserfc import jwt
from joserfc.jwk import ECKey

from tests.factories import REDIRECT_URI, make_client, make_user, pkce_pair
from tests.oauth_flow import basic, exchange, follow_to_client, login

ISSUER = "http://localhost"


def _client_with_key(app):
    key = ECKey.generate_key("P-256", private=True)
    public = {**key.as_dict(private=False), "kid": "rk1", "alg": "ES256"}
    cid, secret = make_client(app, jwks={"keys": [public]}, auth_method="client_secret_basic")
    return key, cid, secret


def _object(key, cid, **claims):
    body = {"iss": cid, "aud": ISSUER, "client_id": cid, "response_type": "code",
            "redirect_uri": REDIRECT_URI, "scope": "openid", "state": "from-object",
            "nonce": "n-obj", "exp": int(time.time()) + 300, **claims}
    return jwt.encode({"alg": "ES256", "kid": "rk1"}, body, key)


def test_signed_request_object_wins_over_query_parameters(app, client):
    make_user(app)
    key, cid, secret = _client_with_key(app)
    verifier, challenge = pkce_pair()
    obj = _object(key, cid, code_challenge=challenge, code_challenge_method="S256")
    first = client.get("/authorize", query_string={
        "client_id": cid, "response_type": "code", "scope": "openid", "state": "from-query",
        "request": obj})
    query = follow_to_client(client, login(client, first))
    assert query["state"] == "from-object"
    assert exchange(client, cid, secret, query["code"], verifier).status_code == 200


def test_request_object_refusals(app, client):
    key, cid, _ = _client_with_key(app)
    other = ECKey.generate_key("P-256", private=True)
    cases = [
        _object(other, cid),                                   # not the client's key
        _object(key, "someone-else"),                          # iss is not the client
        _object(key, cid, aud="https://other.example"),        # not for us
        _object(key, cid, exp=int(time.time()) - 10),          # expired
        _object(key, cid, request_uri="urn:x"),                # nesting
        "eyJhbGciOiJub25lIn0.e30.",                            # unsigned
    ]
    for obj in cases:
        response = client.get("/authorize", query_string={"client_id": cid, "request": obj})
        assert response.status_code == 400 and "Location" not in response.headers


def test_request_object_through_par(app, client):
    make_user(app)
    key, cid, secret = _client_with_key(app)
    verifier, challenge = pkce_pair()
    pushed = client.post("/par", headers=basic(cid, secret), data={
        "client_id": cid, "request": _object(key, cid, code_challenge=challenge,
                                             code_challenge_method="S256")})
    assert pushed.status_code == 201, pushed.get_json()
    first = client.get("/authorize", query_string={"client_id": cid,
                                                   "request_uri": pushed.get_json()["request_uri"]})
    query = follow_to_client(client, login(client, first))
    assert query["state"] == "from-object"
    assert exchange(client, cid, secret, query["code"], verifier).status_code == 200
    bad = client.post("/par", headers=basic(cid, secret), data={
        "client_id": cid, "request": _object(ECKey.generate_key("P-256", private=True), cid)})
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_request_object"


def test_discovery_advertises_request_objects(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["request_parameter_supported"] is True
    assert meta["request_uri_parameter_supported"] is False
    assert "ES256" in meta["request_object_signing_alg_values_supported"]
