"""idp.resource as a DPoP resource server with server nonces (RFC 9449 9): a proof without
the current nonce gets 401 use_dpop_nonce and the nonce in DPoP-Nonce; with it, the call
passes. Tokens here are signed by a test key the protector is handed directly."""

from __future__ import annotations

import json
import time

import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey

from idp.resource import ResourceProtector
from tests.dpop_support import proof

ISSUER, API = "https://id.example.com", "https://api.example.com"


@pytest.fixture
def signer():
    return ECKey.generate_key("P-256", private=True, parameters={"kid": "k1"})


def _app(signer, nonce_key):
    protect = ResourceProtector(ISSUER, API, key_source=lambda kid: signer,
                                algorithms=["ES256"], dpop_nonce_key=nonce_key)
    app = Flask("api")

    @app.get("/orders")
    @protect.require("orders:read")
    def orders():
        return {"sub": protect.claims()["sub"]}

    return app.test_client()


def _token(signer, holder):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": API, "sub": "svc", "client_id": "svc", "iat": now,
              "exp": now + 300, "jti": "t1", "scope": "orders:read",
              "cnf": {"jkt": holder.thumbprint()}}
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "k1"}, claims, signer)


def test_resource_server_demands_and_accepts_its_nonce(signer):
    holder = ECKey.generate_key("P-256", private=True)
    api = _app(signer, b"n" * 32)
    at = _token(signer, holder)
    url = "http://localhost/orders"
    asked = api.get("/orders", headers={"Authorization": f"DPoP {at}",
                                        "DPoP": proof(holder, "GET", url, access_token=at)})
    assert asked.status_code == 401
    assert json.loads(asked.data)["error"] == "use_dpop_nonce"
    assert asked.headers["WWW-Authenticate"].startswith('DPoP error="use_dpop_nonce"')
    nonce = asked.headers["DPoP-Nonce"]
    stale = api.get("/orders", headers={"Authorization": f"DPoP {at}", "DPoP": proof(
        holder, "GET", url, access_token=at, nonce="made-up")})
    assert stale.status_code == 401 and stale.headers["DPoP-Nonce"] == nonce
    ok = api.get("/orders", headers={"Authorization": f"DPoP {at}", "DPoP": proof(
        holder, "GET", url, access_token=at, nonce=nonce)})
    assert ok.status_code == 200, ok.data
    assert json.loads(ok.data) == {"sub": "svc"}


def test_without_a_nonce_key_no_nonce_is_asked(signer):
    holder = ECKey.generate_key("P-256", private=True)
    api = _app(signer, None)
    at = _token(signer, holder)
    ok = api.get("/orders", headers={"Authorization": f"DPoP {at}", "DPoP": proof(
        holder, "GET", "http://localhost/orders", access_token=at)})
    assert ok.status_code == 200 and "DPoP-Nonce" not in ok.headers
