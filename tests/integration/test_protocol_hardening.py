"""Odd and hostile input: always a clear 4xx, never a 500; cookies and hashing details."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.factories import PASSWORD, csrf_from, make_client, make_user
from tests.oauth_flow import authorize_url, basic, exchange, get_code


@pytest.mark.parametrize("extra", [
    {"max_age": "abc"}, {"max_age": "-1"}, {"prompt": "none login"},
    {"response_mode": "fragment"}, {"code_challenge": "short", "code_challenge_method": "S256"},
    {"response_type": "token"}, {"response_type": "id_token"},
    {"registration": "{}"}, {"request_uri": "https://x.example/r"}, {"id_token_hint": "garbage"},
])
def test_malformed_authorization_requests_are_errors_not_crashes(app, client, extra):
    cid, _ = make_client(app)
    url = authorize_url(cid, **extra)
    response = client.get(url)
    assert response.status_code in (302, 400), response.data[:300]
    if response.status_code == 302:
        assert "error=" in response.headers["Location"]


def test_unknown_scopes_are_dropped_not_granted(app, client):
    cid, _ = make_client(app)
    response = client.get(authorize_url(cid, scope="openid " + "x" * 3000))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_duplicate_parameters_are_refused(app, client):
    # RFC 6749 3.1: parameters must not repeat; which value is "the" state is unknowable,
    # so the error is shown rather than sent back.
    cid, _ = make_client(app)
    response = client.get(authorize_url(cid) + "&state=again")
    assert response.status_code == 400 and "Location" not in response.headers
    assert b"Multiple" in response.data


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_protocol_endpoints_answer_json_errors_to_junk(client, path):
    for body in (b"", b"grant_type", b"\x00\xff" * 10, b"token=" + b"a" * 5000):
        response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
        assert 400 <= response.status_code < 500
        assert "error" in response.get_json()


def test_userinfo_accepts_token_in_post_body_and_rejects_junk(app, client):
    make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid)
    token = exchange(client, cid, secret, query["code"], verifier).get_json()["access_token"]
    posted = client.post("/userinfo", data={"access_token": token})
    assert posted.status_code == 200 and posted.get_json()["email"] == "alice@example.com"
    assert client.get("/userinfo").status_code == 401
    junk = client.get("/userinfo", headers={"Authorization": "Bearer x.y.z"})
    assert junk.status_code == 401 and "invalid_token" in junk.headers["WWW-Authenticate"]


def test_userinfo_refuses_a_revoked_token(app, client):
    make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid)
    token = exchange(client, cid, secret, query["code"], verifier).get_json()["access_token"]
    client.post("/revoke", data={"token": token}, headers=basic(cid, secret))
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_cookie_is_secure_when_the_issuer_is_https(config_overrides, empty_database_url):
    from idp import create_app
    from idp.bootstrap import bootstrap
    from idp.extensions import db

    app = create_app({**config_overrides, "issuer": "https://id.example.com"})
    with app.app_context():
        db.create_all()
        bootstrap(db.session, app.extensions["idp"].config, app.extensions["idp"].keyring)
    make_user(app)
    with app.test_client() as browser:
        token = csrf_from(browser.get("/login", base_url="https://id.example.com").get_data(True))
        response = browser.post("/login", base_url="https://id.example.com",
                                data={"username": "alice", "password": PASSWORD,
                                      "csrf_token": token})
        cookie = [c for c in response.headers.getlist("Set-Cookie") if "idp_session" in c][0]
        assert "Secure" in cookie and "HttpOnly" in cookie
        assert "Strict-Transport-Security" in response.headers
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_unknown_user_costs_as_much_time_as_a_wrong_password(owasp_hashing, app, client):
    from idp.extensions import db
    from idp.models.accounts import User

    make_user(app)
    with app.app_context():  # timed with the service's Argon2 cost, not the tests' cheap one
        stored = db.session.query(User).filter_by(username="alice").one().credential.hash
        assert "m=19456,t=2,p=1" in stored
    token = csrf_from(client.get("/login").get_data(as_text=True))

    def timed(username):
        start = time.perf_counter()
        client.post("/login", data={"username": username, "password": "wrong-password",
                                    "csrf_token": token})
        return time.perf_counter() - start

    known = statistics.median(timed("alice") for _ in range(5))
    unknown = statistics.median(timed("nobody-here") for _ in range(5))
    assert unknown > 0.5 * known


def test_password_hash_is_upgraded_when_parameters_change(owasp_hashing, app, client):
    from argon2 import PasswordHasher

    from idp.extensions import db
    from idp.models.accounts import User

    make_user(app)
    with app.app_context():
        user = db.session.query(User).filter_by(username="alice").one()
        user.credential.hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
        db.session.commit()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.query(User).filter_by(username="alice").one().credential.hash
        assert stored.startswith("$argon2id$") and "m=19456,t=2,p=1" in stored


def test_retired_keys_leave_the_jwks_once_their_tokens_expired(app, client):
    from datetime import timedelta

    from idp.extensions import db
    from idp.models.base import utcnow
    from idp.models.keys import SigningKey
    from idp.oauth.keys.signing import rotate_signing_keys
    from idp.request_context import system_context

    with app.app_context():
        rotate_signing_keys(db.session, app.extensions["idp"].keyring, system_context(), 600,
                            force=True)
        for row in db.session.query(SigningKey).filter_by(status="retired"):
            row.publish_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        app.extensions["idp"].keys.invalidate()
    keys = client.get("/jwks.json").get_json()["keys"]
    assert len(keys) == 4  # active + next for each algorithm
