"""Client credentials, client authentication methods, introspection and revocation."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from tests.factories import make_client, make_user
from tests.oauth_flow import basic, exchange, get_code

# Every test runs with the fast paths on and off: the answers must be the same.
pytestmark = pytest.mark.usefixtures("answering_path")


def _cc(client, cid, secret, **data):
    return client.post("/token", data={"grant_type": "client_credentials", **data},
                       headers=basic(cid, secret))


def test_client_credentials_token_is_an_rfc9068_jwt(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["api:read"])
    assert secret.startswith("idp_sk_") and len(secret) > 40
    response = _cc(client, cid, secret, scope="api:read")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert "refresh_token" not in body and body["scope"] == "api:read"
    token = jwt.decode(body["access_token"], KeySet.import_key_set(client.get("/jwks.json").get_json()))
    assert token.header["typ"] == "at+jwt"
    assert token.claims["sub"] == cid and token.claims["client_id"] == cid
    assert token.claims["exp"] - token.claims["iat"] == 600


def test_es256_client_gets_es256_tokens(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                              token_alg="ES256")
    token = _cc(client, cid, secret).get_json()["access_token"]
    assert jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json())
                      ).header["alg"] == "ES256"


def test_scope_outside_allowance_is_invalid_scope(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["api:read"])
    response = _cc(client, cid, secret, scope="api:write")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_scope"


def test_resource_outside_allowance_is_invalid_target(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                              audiences=["https://api.example.com"])
    bad = _cc(client, cid, secret, resource="https://other.example.com")
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_target"
    good = _cc(client, cid, secret, resource="https://api.example.com").get_json()
    claims = jwt.decode(good["access_token"],
                        KeySet.import_key_set(client.get("/jwks.json").get_json())).claims
    assert claims["aud"] == "https://api.example.com"


def test_wrong_secret_is_invalid_client_401_and_audited(app, client):
    from idp.extensions import db
    from idp.models.audit import AuditEvent

    cid, _ = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    response = _cc(client, cid, "idp_sk_wrong")
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    with app.app_context():
        events = db.session.query(AuditEvent).filter_by(type="auth.client.failed").all()
        assert [e.client_id for e in events] == [cid]


def test_client_secret_post_requires_matching_method(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                              auth_method="client_secret_post")
    ok = client.post("/token", data={"grant_type": "client_credentials", "client_id": cid,
                                     "client_secret": secret})
    assert ok.status_code == 200
    assert _cc(client, cid, secret).get_json()["error"] == "invalid_client"


def test_unsupported_grant_types(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    for grant in ("password", "implicit", "urn:ietf:params:oauth:grant-type:saml2-bearer"):
        response = client.post("/token", data={"grant_type": grant, "username": "x",
                                               "password": "y"}, headers=basic(cid, secret))
        assert response.status_code == 400
        assert response.get_json()["error"] == "unsupported_grant_type"


def test_malformed_token_requests_are_4xx_json(app, client):
    assert client.post("/token").status_code == 400
    assert client.get("/token").status_code == 405
    garbage = client.post("/token", data=b"\xff\xfe", content_type="application/json")
    assert garbage.status_code == 400 and "error" in garbage.get_json()


def test_introspection_and_revocation_of_client_tokens(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    token = _cc(client, cid, secret).get_json()["access_token"]
    active = client.post("/introspect", data={"token": token}, headers=basic(cid, secret))
    body = active.get_json()
    assert body["active"] is True and body["client_id"] == cid and body["scope"] == "a"
    assert client.post("/revoke", data={"token": token}, headers=basic(cid, secret)).status_code == 200
    after = client.post("/introspect", data={"token": token}, headers=basic(cid, secret))
    assert after.get_json() == {"active": False}


def test_introspection_requires_client_authentication(app, client):
    response = client.post("/introspect", data={"token": "x"})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_revoked_client_tokens_are_inactive_at_once(app, client):
    from idp.extensions import db
    from idp.models.oauth import Client
    from idp.oauth.clients.service import revoke_client
    from idp.request_context import system_context

    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    checker, checker_secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    token = _cc(client, cid, secret).get_json()["access_token"]
    with app.app_context():
        revoke_client(db.session, system_context(), db.session.get(Client, cid))
        db.session.commit()
    body = client.post("/introspect", data={"token": token},
                       headers=basic(checker, checker_secret)).get_json()
    assert body == {"active": False}
    assert _cc(client, cid, secret).get_json()["error"] == "invalid_client"


def test_client_token_is_never_accepted_as_a_user_token(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["openid"])
    token = _cc(client, cid, secret, scope="openid").get_json()["access_token"]
    response = client.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_secret_rotation_keeps_old_secret_for_grace_only(app, client):
    from idp.extensions import db
    from idp.models.oauth import Client
    from idp.oauth.clients.service import rotate_client_secret
    from idp.request_context import system_context

    cid, old = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    with app.app_context():
        new = rotate_client_secret(db.session, system_context(), app.extensions["idp"].keyring,
                                   db.session.get(Client, cid), grace=1)
        db.session.commit()
    assert _cc(client, cid, old).status_code == 200
    assert _cc(client, cid, new).status_code == 200
    with app.app_context():  # the grace second is over (moved, instead of slept through)
        for row in db.session.get(Client, cid).secrets:
            if row.expires_at is not None:
                row.expires_at -= timedelta(seconds=2)
        db.session.commit()
    assert _cc(client, cid, old).get_json()["error"] == "invalid_client"
    assert _cc(client, cid, new).status_code == 200


def _assertion(key, cid, aud, jti=None, lifetime=60):
    now = int(time.time())
    claims = {"iss": cid, "sub": cid, "aud": aud, "iat": now, "exp": now + lifetime,
              "jti": jti or uuid.uuid4().hex}
    return jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)


def test_private_key_jwt_authentication(app, client):
    key = ECKey.generate_key("P-256", private=True)
    public = {**key.as_dict(private=False), "kid": "k1", "alg": "ES256"}
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                              jwks={"keys": [public]})
    assert secret is None

    def token(assertion):
        return client.post("/token", data={
            "grant_type": "client_credentials", "client_id": cid,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion})

    jti = uuid.uuid4().hex
    assert token(_assertion(key, cid, "http://localhost", jti)).status_code == 200
    replay = token(_assertion(key, cid, "http://localhost", jti))
    assert replay.status_code in (400, 401) and replay.get_json()["error"] == "invalid_client"
    wrong_aud = token(_assertion(key, cid, "https://elsewhere.example.com"))
    assert wrong_aud.get_json()["error"] == "invalid_client"
    too_long = token(_assertion(key, cid, "http://localhost", lifetime=3600))
    assert too_long.get_json()["error"] == "invalid_client"
    other_key = ECKey.generate_key("P-256", private=True)
    forged = token(_assertion(other_key, cid, "http://localhost"))
    assert forged.get_json()["error"] == "invalid_client"


def test_revocation_of_refresh_token_by_its_own_client_only(app, client):
    make_user(app)
    cid, secret = make_client(app)
    other, other_secret = make_client(app)
    query, verifier = get_code(client, cid)
    tokens = exchange(client, cid, secret, query["code"], verifier).get_json()
    foreign = client.post("/revoke", data={"token": tokens["refresh_token"]},
                          headers=basic(other, other_secret))
    assert foreign.status_code == 400
    still = client.post("/introspect", data={"token": tokens["refresh_token"]},
                        headers=basic(cid, secret)).get_json()
    assert still["active"] is True
    assert client.post("/revoke", data={"token": tokens["refresh_token"]},
                       headers=basic(cid, secret)).status_code == 200
    gone = client.post("/introspect", data={"token": tokens["refresh_token"]},
                       headers=basic(cid, secret)).get_json()
    assert gone == {"active": False}


def test_device_code_grant_needs_the_grant_type(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    response = client.post("/token", headers=basic(cid, secret), data={
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "x"})
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] in ("unauthorized_client", "invalid_request")
