"""The introspection fast path: active client tokens only, exactly as the full path answers."""

from __future__ import annotations

import pytest

from idp.oauth.fast.introspection import IntrospectionFastPath
from tests.factories import make_client, make_user
from tests.fast_path_support import expected_dispatch
from tests.integration.test_token_fast_path import flask_dispatches
from tests.oauth_flow import basic, exchange, get_code

# Every test runs with the fast paths on and off: the answers must be the same.
pytestmark = pytest.mark.usefixtures("answering_path")


def _token(client, cid, secret, scope="a"):
    response = client.post("/token", data={"grant_type": "client_credentials", "scope": scope},
                           headers=basic(cid, secret))
    return response.get_json()["access_token"]


def _introspect(client, token, cid, secret, **extra):
    return client.post("/introspect", data={"token": token, **extra}, headers=basic(cid, secret))


@pytest.fixture
def service(app):
    return make_client(app, grant_types=["client_credentials"], scopes=["a"], roles=["viewer"])


def test_active_client_token_is_answered_without_flask(app, client, service, answering_path):
    cid, secret = service
    token = _token(client, cid, secret)
    with flask_dispatches(app) as seen:
        response = _introspect(client, token, cid, secret, token_type_hint="access_token")
    assert seen == expected_dispatch(answering_path, True)
    body = response.get_json()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert body["active"] is True and body["client_id"] == cid and body["sub"] == cid
    assert body["scope"] == "a" and body["roles"] == ["viewer"]
    assert body["token_type"] == "Bearer"


def test_fast_and_full_path_give_the_same_answer(app, client, service, monkeypatch):
    cid, secret = service
    token = _token(client, cid, secret)
    fast = _introspect(client, token, cid, secret)
    monkeypatch.setattr(IntrospectionFastPath, "_introspect", lambda self, environ, body: None)
    with flask_dispatches(app) as seen:
        full = _introspect(client, token, cid, secret)
    assert seen == ["flask"]
    assert fast.get_json() == full.get_json()
    ignore = {"Content-Length", "X-Request-ID"}
    assert ({k for k in fast.headers.keys() if k not in ignore}
            == {k for k in full.headers.keys() if k not in ignore})


def test_revoked_token_is_inactive_at_once(app, client, service):
    cid, secret = service
    token = _token(client, cid, secret)
    assert client.post("/revoke", data={"token": token}, headers=basic(cid, secret)).status_code == 200
    with flask_dispatches(app) as seen:
        response = _introspect(client, token, cid, secret)
    assert seen == ["flask"] and response.get_json() == {"active": False}


def test_token_of_a_client_revoked_by_another_process_is_inactive(app, client, service):
    """The client cache is not consulted for the token's state: the database is."""
    from sqlalchemy import update

    from idp.models.base import utcnow
    from idp.models.oauth import Client

    cid, secret = service
    checker, checker_secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    token = _token(client, cid, secret)
    assert _introspect(client, token, checker, checker_secret).get_json()["active"] is True
    # A plain UPDATE on its own connection, as another worker's commit would look here:
    # this process's client cache is not told.
    with app.extensions["idp"].engine.begin() as conn:
        conn.execute(update(Client).where(Client.id == cid).values(revoked_at=utcnow()))
    assert _introspect(client, token, checker, checker_secret).get_json() == {"active": False}


def test_resource_server_of_the_same_tenant_may_introspect(app, client, service,
                                                           answering_path):
    cid, secret = service
    rs, rs_secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    token = _token(client, cid, secret)
    with flask_dispatches(app) as seen:
        body = _introspect(client, token, rs, rs_secret).get_json()
    assert seen == expected_dispatch(answering_path, True)
    assert body["active"] is True and body["client_id"] == cid


def test_caller_of_another_tenant_learns_nothing(app, client, service):
    from idp.extensions import db
    from idp.models.oauth import Client
    from idp.request_context import system_context
    from idp.tenancy.admin import create_tenant

    cid, secret = service
    outsider, outsider_secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    with app.app_context():
        tenant = create_tenant(db.session, system_context(), {"slug": "other"})
        db.session.get(Client, outsider).tenant_id = tenant.id
        db.session.commit()
    token = _token(client, cid, secret)
    with flask_dispatches(app) as seen:
        body = _introspect(client, token, outsider, outsider_secret)
    assert seen == ["flask"] and body.get_json() == {"active": False}


def test_wrong_caller_secret_is_401_from_the_full_path(client, app, service):
    cid, secret = service
    token = _token(client, cid, secret)
    with flask_dispatches(app) as seen:
        response = _introspect(client, token, cid, "idp_sk_wrong")
    assert seen == ["flask"] and response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_user_tokens_and_other_hints_go_to_the_full_path(app, client):
    make_user(app)
    rp, rp_secret = make_client(app)
    query, verifier = get_code(client, rp)
    tokens = exchange(client, rp, rp_secret, query["code"], verifier).get_json()
    with flask_dispatches(app) as seen:
        user_token = _introspect(client, tokens["access_token"], rp, rp_secret).get_json()
        refresh = _introspect(client, tokens["refresh_token"], rp, rp_secret,
                              token_type_hint="refresh_token").get_json()
    assert seen == ["flask", "flask"]
    assert user_token["active"] is True and user_token["username"]
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
