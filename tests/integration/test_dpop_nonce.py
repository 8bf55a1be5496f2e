"""DPoP server nonces (RFC 9449 8 and 9) at /token and /userinfo, and DPoP proofs at
/introspect and /revoke, with the negative cases: a proof without the nonce, a made-up or
stale nonce, a proof for another endpoint, a replay, a public client's bound token revoked
without its key."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey

from idp import create_app
from idp.config import ConfigError, load_config
from idp.extensions import db
from idp.oauth.dpop.nonce import NonceSource
from tests.dpop_support import payload, proof
from tests.factories import REDIRECT_URI, make_client, make_user
from tests.oauth_flow import basic, get_code

ISSUER = "http://localhost"


@pytest.fixture
def key():
    return ECKey.generate_key("P-256", private=True)


def _client_token(client, cid, secret, key, **claims):
    return client.post("/token", data={"grant_type": "client_credentials"}, headers={
        **basic(cid, secret), "DPoP": proof(key, "POST", f"{ISSUER}/token", **claims)})


def _nonce_dance(client, cid, secret, key):
    first = _client_token(client, cid, secret, key)
    assert first.status_code == 400, first.get_json()
    assert first.get_json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    second = _client_token(client, cid, secret, key, nonce=nonce)
    assert second.status_code == 200, second.get_json()
    return first, second


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


@pytest.mark.parametrize("config_overrides", [{"dpop_nonce": True}], indirect=True)
def test_nonce_required_globally_at_the_token_endpoint(app, client, key):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    first, second = _nonce_dance(client, cid, secret, key)
    assert first.headers["Cache-Control"].startswith("no-store")
    body = second.get_json()
    assert body["token_type"] == "DPoP"
    assert payload(body["access_token"])["cnf"] == {"jkt": key.thumbprint()}
    # Section 8.2: a success names the nonce to use next, so rotation needs no error.
    assert second.headers["DPoP-Nonce"] == first.headers["DPoP-Nonce"]
    made_up = _client_token(client, cid, secret, key, nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert made_up.status_code == 400 and made_up.get_json()["error"] == "use_dpop_nonce"


@pytest.mark.parametrize("config_overrides", [{"dpop_nonce": True}], indirect=True)
def test_nonce_is_accepted_by_every_worker(config_overrides, app, client, key):
    """A nonce issued by one process is valid in another: both derive the nonce key from
    the same master key (keys/master.key), nothing is stored."""
    other = create_app(dict(config_overrides))
    try:
        cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
        with other.test_client() as elsewhere:
            asked = _client_token(elsewhere, cid, secret, key)
        assert asked.get_json()["error"] == "use_dpop_nonce"
        answered = _client_token(client, cid, secret, key, nonce=asked.headers["DPoP-Nonce"])
        assert answered.status_code == 200, answered.get_json()
    finally:
        with other.app_context():
            db.engine.dispose()


def test_nonce_required_per_client_only(app, client, key):
    strict, strict_secret = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                                        require_dpop_nonce=True)
    lax, lax_secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    _nonce_dance(client, strict, strict_secret, key)
    plain = _client_token(client, lax, lax_secret, key)
    assert plain.status_code == 200 and "DPoP-Nonce" not in plain.headers
    # Without a proof there is nothing to put a nonce in: a Bearer token as before.
    bearer = client.post("/token", data={"grant_type": "client_credentials"},
                         headers=basic(strict, strict_secret))
    assert bearer.status_code == 200 and bearer.get_json()["token_type"] == "Bearer"


def test_nonces_rotate_and_expire():
    source = NonceSource(b"k" * 32, window=120)
    nonce = source.current(now=1000 * 120)
    assert source.is_valid(nonce, now=1000 * 120 + 5)
    assert source.is_valid(nonce, now=1001 * 120 + 5)  # the next window still takes it
    assert not source.is_valid(nonce, now=1002 * 120)  # then it is stale
    assert source.current(now=1001 * 120) != nonce
    assert not NonceSource(b"x" * 32).is_valid(NonceSource(b"k" * 32).current())
    assert not source.is_valid(None) and not source.is_valid(123) and not source.is_valid("")


def test_a_bad_nonce_switch_stops_start_up():
    with pytest.raises(ConfigError, match="IDP_DPOP_NONCE"):
        load_config(environ={"IDP_DPOP_NONCE": "maybe"})
    assert load_config(environ={"IDP_DPOP_NONCE": "on"}).dpop_nonce is True


def test_userinfo_asks_for_a_nonce_as_a_resource_server(app, client, key):
    make_user(app)
    cid, secret = make_client(app, require_dpop_nonce=True)
    query, verifier = get_code(client, cid)
    data = {"grant_type": "authorization_code", "code": query["code"],
            "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    first = client.post("/token", data=data, headers={
        **basic(cid, secret), "DPoP": proof(key, "POST", f"{ISSUER}/token")})
    assert first.get_json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    # The code was not spent by the nonce round trip.
    tokens = client.post("/token", data=data, headers={
        **basic(cid, secret), "DPoP": proof(key, "POST", f"{ISSUER}/token", nonce=nonce)})
    assert tokens.status_code == 200, tokens.get_json()
    at = tokens.get_json()["access_token"]
    asked = client.get("/userinfo", headers={
        "Authorization": f"DPoP {at}",
        "DPoP": proof(key, "GET", f"{ISSUER}/userinfo", access_token=at)})
    assert asked.status_code == 401
    assert asked.headers["WWW-Authenticate"].startswith('DPoP error="use_dpop_nonce"')
    ok = client.get("/userinfo", headers={
        "Authorization": f"DPoP {at}",
        "DPoP": proof(key, "GET", f"{ISSUER}/userinfo", access_token=at,
                      nonce=asked.headers["DPoP-Nonce"])})
    assert ok.status_code == 200 and ok.get_json()["sub"]
    assert ok.headers["DPoP-Nonce"]


def test_proofs_at_introspection(app, client, key):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    at = _client_token(client, cid, secret, key).get_json()["access_token"]
    good = proof(key, "POST", f"{ISSUER}/introspect")
    seen = client.post("/introspect", data={"token": at},
                       headers={**basic(cid, secret), "DPoP": good})
    assert seen.status_code == 200 and seen.get_json()["token_type"] == "DPoP"
    replay = client.post("/introspect", data={"token": at},
                         headers={**basic(cid, secret), "DPoP": good})
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_dpop_proof"
    for wrong in (proof(key, "POST", f"{ISSUER}/token"), "not-a-jwt",
                  proof(key, "GET", f"{ISSUER}/introspect")):
        refused = client.post("/introspect", data={"token": at},
                              headers={**basic(cid, secret), "DPoP": wrong})
        assert refused.status_code == 400, refused.get_json()
        assert refused.get_json()["error"] == "invalid_dpop_proof"


def test_public_clients_bound_refresh_token_is_revoked_only_with_its_key(app, client, key):
    make_user(app)
    cid, _ = make_client(app, public=True)
    query, verifier = get_code(client, cid)
    issued = client.post("/token", data={
        "grant_type": "authorization_code", "code": query["code"], "client_id": cid,
        "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
        headers={"DPoP": proof(key, "POST", f"{ISSUER}/token")}).get_json()
    refresh = issued["refresh_token"]

    def revoke(headers):
        return client.post("/revoke", headers=headers, data={
            "token": refresh, "token_type_hint": "refresh_token", "client_id": cid})

    bare = revoke({})
    assert bare.status_code == 400 and bare.get_json()["error"] == "invalid_dpop_proof"
    other = ECKey.generate_key("P-256", private=True)
    stolen = revoke({"DPoP": proof(other, "POST", f"{ISSUER}/revoke")})
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_dpop_proof"
    wrong_endpoint = revoke({"DPoP": proof(key, "POST", f"{ISSUER}/token")})
    assert wrong_endpoint.get_json()["error"] == "invalid_dpop_proof"
    done = revoke({"DPoP": proof(key, "POST", f"{ISSUER}/revoke")})
    assert done.status_code == 200, done.get_json()
    after = client.post("/token", headers={"DPoP": proof(key, "POST", f"{ISSUER}/token")},
                        data={"grant_type": "refresh_token", "refresh_token": refresh,
                              "client_id": cid})
    assert after.get_json()["error"] == "invalid_grant"


def test_revocation_asks_for_a_nonce_when_the_client_requires_one(app, client, key):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                              require_dpop_nonce=True)
    first, second = _nonce_dance(client, cid, secret, key)
    at = second.get_json()["access_token"]
    asked = client.post("/revoke", data={"token": at}, headers={
        **basic(cid, secret), "DPoP": proof(key, "POST", f"{ISSUER}/revoke")})
    assert asked.status_code == 400 and asked.get_json()["error"] == "use_dpop_nonce"
    done = client.post("/revoke", data={"token": at}, headers={
        **basic(cid, secret), "DPoP": proof(key, "POST", f"{ISSUER}/revoke",
                                            nonce=asked.headers["DPoP-Nonce"])})
    assert done.status_code == 200
    seen = client.post("/introspect", data={"token": at}, headers=basic(cid, secret))
    assert seen.get_json() == {"active": False}
