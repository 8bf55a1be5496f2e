"""The client-credentials fast path: it answers success only, exactly as the full path would.

Whether Flask dispatched a request is seen through Flask's `request_started` signal, so
each test knows which path answered.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from flask import request_started
from joserfc import jwt
from joserfc.jwk import KeySet
from prometheus_client import REGISTRY

from idp.audit import EventType
from idp.oauth.fast.token import ClientCredentialsFastPath
from tests.factories import make_client
from tests.oauth_flow import basic

FORM = "application/x-www-form-urlencoded"


@contextmanager
def flask_dispatches(app):
    seen: list[str] = []

    def note(sender, **extra):
        seen.append("flask")

    request_started.connect(note, app)
    try:
        yield seen
    finally:
        request_started.disconnect(note, app)


def _post(client, body: str, cid: str, secret: str, **headers):
    return client.post("/token", data=body, content_type=FORM,
                       headers={**basic(cid, secret), **headers})


def _claims(client, response) -> dict:
    keys = KeySet.import_key_set(client.get("/jwks.json").get_json())
    return jwt.decode(response.get_json()["access_token"], keys).claims


def _metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_valid_basic_request_is_answered_without_flask_and_counted(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["api:read"],
                              audiences=["https://api.example.com"], roles=["viewer"])
    before = _metric("idp_tokens_issued_total", grant="client_credentials")
    with flask_dispatches(app) as seen:
        response = _post(client, "grant_type=client_credentials&scope=api%3Aread", cid, secret,
                         **{"X-Request-ID": "trace-42"})
    assert seen == []
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Request-ID"] == "trace-42"
    claims = _claims(client, response)
    assert claims["sub"] == cid and claims["aud"] == "https://api.example.com"
    assert claims["roles"] == ["viewer"] and claims["scope"] == "api:read"
    assert _metric("idp_tokens_issued_total", grant="client_credentials") == before + 1
    usage = app.extensions["idp"].server.usage
    assert any(key[0] == cid for key in usage._counts)


def test_fast_and_full_path_give_the_same_answer(app, client, monkeypatch):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a", "b"],
                              audiences=["https://one.example", "https://two.example"])
    body = "grant_type=client_credentials&scope=a&resource=https%3A%2F%2Ftwo.example"
    with flask_dispatches(app) as seen:
        fast = _post(client, body, cid, secret)
    assert seen == []
    monkeypatch.setattr(ClientCredentialsFastPath, "_issue", lambda self, environ, body: None)
    with flask_dispatches(app) as seen:
        full = _post(client, body, cid, secret)
    assert seen == ["flask"]
    assert fast.status_code == full.status_code == 200
    ignore = {"Content-Length", "X-Request-ID", "Date"}
    assert ({k for k in fast.headers.keys() if k not in ignore}
            == {k for k in full.headers.keys() if k not in ignore})
    assert fast.get_json().keys() == full.get_json().keys()
    fast_claims, full_claims = _claims(client, fast), _claims(client, full)
    assert fast_claims.keys() == full_claims.keys()
    for name in ("iss", "sub", "aud", "client_id", "scope", "tenant"):
        assert fast_claims[name] == full_claims[name]
    assert fast_claims["aud"] == "https://two.example"


@pytest.mark.parametrize(("body", "status", "error"), [
    ("grant_type=client_credentials&scope=api%3Awrite", 400, "invalid_scope"),
    ("grant_type=client_credentials&resource=https%3A%2F%2Fevil.example", 400, "invalid_target"),
    # RFC 6749 3.2: a repeated parameter is refused (token_request.token_request_problem).
    ("grant_type=client_credentials&grant_type=client_credentials", 400, "invalid_request"),
    ("grant_type=client_credentials&scope=", 200, None),
    ("grant_type=client_credentials&unknown=1", 200, None),
    ("grant_type=password&username=a&password=b", 400, "unsupported_grant_type"),
    ("grant_type=client_credentials&scope=%ff", 400, "invalid_scope"),
])
def test_anything_else_is_decided_by_the_full_path(app, client, body, status, error):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["api:read"])
    with flask_dispatches(app) as seen:
        response = _post(client, body, cid, secret)
    assert seen == ["flask"]
    assert response.status_code == status, response.get_data(as_text=True)
    if error:
        assert response.get_json()["error"] == error


def test_wrong_secret_goes_to_the_full_path_and_is_audited(app, client):
    from idp.extensions import db
    from idp.models.audit import AuditEvent

    cid, _ = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    with flask_dispatches(app) as seen:
        response = _post(client, "grant_type=client_credentials", cid, "idp_sk_wrong")
    assert seen == ["flask"]
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    with app.app_context():
        events = db.session.query(AuditEvent).filter_by(
            type=EventType.CLIENT_AUTH_FAILED, client_id=cid).all()
    assert len(events) == 1


def test_client_registered_for_secret_post_is_refused_with_basic(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                              auth_method="client_secret_post")
    with flask_dispatches(app) as seen:
        response = _post(client, "grant_type=client_credentials", cid, secret)
    assert seen == ["flask"] and response.status_code == 401


def test_client_without_the_grant_is_refused(app, client):
    cid, secret = make_client(app, grant_types=["authorization_code"], scopes=["openid"])
    response = _post(client, "grant_type=client_credentials", cid, secret)
    assert response.status_code == 400
    assert response.get_json()["error"] == "unauthorized_client"


def test_blocked_ip_is_refused_even_with_the_right_secret(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    for _ in range(31):
        _post(client, "grant_type=client_credentials", cid, "idp_sk_wrong")
    with flask_dispatches(app) as seen:
        response = _post(client, "grant_type=client_credentials", cid, secret)
    assert seen == ["flask"]
    assert response.status_code == 429


def test_revoked_client_gets_no_token_from_the_fast_path(app, client):
    from idp.extensions import db
    from idp.models.base import utcnow
    from idp.models.oauth import Client

    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    assert _post(client, "grant_type=client_credentials", cid, secret).status_code == 200
    with app.app_context():
        db.session.get(Client, cid).revoked_at = utcnow()
        db.session.commit()  # clears this process's client cache at once
    response = _post(client, "grant_type=client_credentials", cid, secret)
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
