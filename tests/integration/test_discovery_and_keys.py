"""Discovery metadata, JWKS and key rotation."""

from __future__ import annotations

from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.factories import make_client


def test_discovery_advertises_exactly_what_is_supported(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    OpenIDProviderMetadata(meta).validate()
    assert meta["issuer"] == "http://localhost"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["grant_types_supported"]) == {
        "authorization_code", "refresh_token", "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange"}
    assert "implicit" not in meta["grant_types_supported"]
    assert meta["end_session_endpoint"] == "http://localhost/logout"
    assert client.get("/.well-known/oauth-authorization-server").get_json() == meta


def test_jwks_publishes_rs256_and_es256_with_thumbprint_kids(client):
    keys = client.get("/jwks.json").get_json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    for key in keys:
        assert "d" not in key and "p" not in key
        imported = KeySet.import_key_set({"keys": [key]}).keys[0]
        assert imported.thumbprint() == key["kid"]


def test_rotation_publishes_next_key_before_it_signs(app, client):
    from idp.extensions import db
    from idp.oauth.keys.signing import rotate_signing_keys
    from idp.request_context import system_context

    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    _age_next_keys(app)
    before = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    old_token = client.post("/token", data={"grant_type": "client_credentials"},
                            auth=(cid, secret)).get_json()["access_token"]
    with app.app_context():
        promoted = rotate_signing_keys(db.session, app.extensions["idp"].keyring,
                                       system_context(), 600)
        db.session.commit()
        app.extensions["idp"].keys.invalidate()
    assert set(promoted) <= before  # the new signer was already published
    after = client.get("/jwks.json").get_json()["keys"]
    after_kids = {k["kid"] for k in after}
    assert before <= after_kids and len(after_kids) == 6  # retired ones stay published
    new_token = client.post("/token", data={"grant_type": "client_credentials"},
                            auth=(cid, secret)).get_json()["access_token"]
    header = jwt.decode(new_token, KeySet.import_key_set({"keys": after})).header
    assert header["kid"] in promoted
    introspected = client.post("/introspect", data={"token": old_token}, auth=(cid, secret))
    assert introspected.get_json()["active"] is True


def _age_next_keys(app, seconds: float | None = None) -> None:
    """As if the next keys had been published `seconds` ago (default: long enough)."""
    from datetime import timedelta

    from idp.extensions import db
    from idp.models.base import utcnow
    from idp.models.keys import SigningKey
    from idp.oauth.keys.signing import JWKS_MAX_AGE, KEY_CACHE_TTL

    age = JWKS_MAX_AGE + KEY_CACHE_TTL if seconds is None else seconds
    with app.app_context():
        for row in db.session.query(SigningKey).filter_by(status="next"):
            row.created_at = utcnow() - timedelta(seconds=age)
        db.session.commit()


def test_rotation_waits_until_the_next_key_outlived_the_jwks_cache(app, client):
    import pytest

    from idp.audit import EventType
    from idp.errors import Conflict
    from idp.extensions import db
    from idp.models.audit import AuditEvent
    from idp.oauth.keys.signing import rotate_signing_keys
    from idp.request_context import system_context

    assert client.get("/jwks.json").headers["Cache-Control"] == "public, max-age=300"
    before = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    _age_next_keys(app, 290)  # published, but an RP may have cached the JWKS 290 s ago
    with app.app_context(), pytest.raises(Conflict) as refused:
        rotate_signing_keys(db.session, app.extensions["idp"].keyring, system_context(), 600)
    assert "Rotate again in 15 s" in refused.value.message
    app.extensions["idp"].keys.invalidate()
    assert {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]} == before
    with app.app_context():
        db.session.rollback()
        promoted = rotate_signing_keys(db.session, app.extensions["idp"].keyring,
                                       system_context(), 600, force=True)
        db.session.commit()
        event = db.session.query(AuditEvent).filter_by(type=EventType.KEY_ROTATED.value).one()
        assert event.details == {"activated": promoted, "forced": True}


def test_jwks_is_served_with_etag(client):
    first = client.get("/jwks.json")
    again = client.get("/jwks.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
