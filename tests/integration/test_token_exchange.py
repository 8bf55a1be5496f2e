"""Token exchange (RFC 8693) over HTTP: delegation with `act`, per-client and per-audience
permission, scope ceiling, revocation through the subject's family, and the audit trail."""

from __future__ import annotations

import base64
import json

from tests.factories import make_client, make_user
from tests.oauth_flow import basic, exchange, get_code

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
ID = "urn:ietf:params:oauth:token-type:id_token"
TARGET = "https://orders.example.com"


def _claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _setup(app, client):
    make_user(app)
    rp, rp_secret = make_client(app)
    query, verifier = get_code(client, rp)
    tokens = exchange(client, rp, rp_secret, query["code"], verifier).get_json()
    svc, svc_secret = make_client(app, grant_types=[GRANT], audiences=[TARGET])
    return rp, rp_secret, svc, svc_secret, tokens


def _exchange(client, cid, secret, **data):
    return client.post("/token", data={"grant_type": GRANT, **data}, headers=basic(cid, secret))


def test_access_token_exchanged_for_another_audience_with_act(app, client):
    from idp.extensions import db
    from idp.models.audit import AuditEvent

    _, _, svc, secret, tokens = _setup(app, client)
    response = _exchange(client, svc, secret, subject_token=tokens["access_token"],
                         subject_token_type=ACCESS, audience=TARGET, scope="openid")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["issued_token_type"] == ACCESS and body["token_type"] == "Bearer"
    claims, original = _claims(body["access_token"]), _claims(tokens["access_token"])
    assert claims["aud"] == TARGET and claims["sub"] == original["sub"]
    assert claims["act"] == {"sub": svc} and claims["client_id"] == svc
    assert claims["scope"] == "openid"
    seen = client.post("/introspect", data={"token": body["access_token"]},
                       headers=basic(svc, secret)).get_json()
    assert seen["active"] is True
    with app.app_context():
        assert db.session.query(AuditEvent).filter_by(type="oauth.token.exchanged").count() == 1


def test_exchanged_token_dies_with_the_subject_family(app, client):
    rp, rp_secret, svc, secret, tokens = _setup(app, client)
    body = _exchange(client, svc, secret, subject_token=tokens["access_token"],
                     subject_token_type=ACCESS, audience=TARGET).get_json()
    client.post("/revoke", data={"token": tokens["refresh_token"]}, headers=basic(rp, rp_secret))
    seen = client.post("/introspect", data={"token": body["access_token"]},
                       headers=basic(svc, secret)).get_json()
    assert seen["active"] is False


def test_id_token_subject_only_for_its_own_client(app, client):
    make_user(app)
    rp, rp_secret = make_client(app, grant_types=["authorization_code", "refresh_token", GRANT],
                                audiences=[TARGET])
    query, verifier = get_code(client, rp)
    tokens = exchange(client, rp, rp_secret, query["code"], verifier).get_json()
    ok = _exchange(client, rp, rp_secret, subject_token=tokens["id_token"],
                   subject_token_type=ID, resource=TARGET)
    assert ok.status_code == 200, ok.get_json()
    other, other_secret = make_client(app, grant_types=[GRANT], audiences=[TARGET])
    refused = _exchange(client, other, other_secret, subject_token=tokens["id_token"],
                        subject_token_type=ID, audience=TARGET)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"


def test_refusals(app, client):
    rp, rp_secret, svc, secret, tokens = _setup(app, client)
    at = tokens["access_token"]
    not_allowed = _exchange(client, rp, rp_secret, subject_token=at, subject_token_type=ACCESS,
                            audience=TARGET)
    assert not_allowed.get_json()["error"] == "unauthorized_client"
    wrong_target = _exchange(client, svc, secret, subject_token=at, subject_token_type=ACCESS,
                             audience="https://elsewhere.example.com")
    assert wrong_target.get_json()["error"] == "invalid_target"
    too_wide = _exchange(client, svc, secret, subject_token=at, subject_token_type=ACCESS,
                         audience=TARGET, scope="openid idp:admin")
    assert too_wide.get_json()["error"] == "invalid_scope"
    junk = _exchange(client, svc, secret, subject_token="a.b.c", subject_token_type=ACCESS,
                     audience=TARGET)
    assert junk.status_code == 400 and junk.get_json()["error"] == "invalid_grant"
    missing = _exchange(client, svc, secret, audience=TARGET)
    assert missing.get_json()["error"] == "invalid_request"
    odd_type = _exchange(client, svc, secret, subject_token=at, audience=TARGET,
                         subject_token_type="urn:ietf:params:oauth:token-type:saml2")
    assert odd_type.get_json()["error"] == "invalid_request"


def test_actor_token_names_the_actor(app, client):
    _, _, svc, secret, tokens = _setup(app, client)
    actor_client, actor_secret = make_client(app, grant_types=["client_credentials"],
                                             scopes=["a"])
    actor = client.post("/token", data={"grant_type": "client_credentials"},
                        headers=basic(actor_client, actor_secret)).get_json()["access_token"]
    body = _exchange(client, svc, secret, subject_token=tokens["access_token"],
                     subject_token_type=ACCESS, audience=TARGET, actor_token=actor,
                     actor_token_type=ACCESS).get_json()
    assert _claims(body["access_token"])["act"] == {"sub": actor_client}


def test_discovery_lists_token_exchange(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert GRANT in meta["grant_types_supported"]


def test_id_token_of_an_ended_session_exchanges_nothing(app, client):
    make_user(app)
    rp, rp_secret = make_client(app, grant_types=["authorization_code", "refresh_token", GRANT],
                                audiences=[TARGET])
    query, verifier = get_code(client, rp)
    tokens = exchange(client, rp, rp_secret, query["code"], verifier).get_json()
    client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    refused = _exchange(client, rp, rp_secret, subject_token=tokens["id_token"],
                        subject_token_type=ID, audience=TARGET)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
