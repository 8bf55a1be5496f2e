"""The hosted login page, its protections, and RP-initiated logout."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.factories import csrf_from, make_client, make_user
from tests.oauth_flow import exchange, get_code

POST_LOGOUT = "https://rp.example.com/bye"


def _login_page(client):
    page = client.get("/login")
    return page, csrf_from(page.get_data(as_text=True))


def test_login_page_has_csrf_and_security_headers(client):
    page, token = _login_page(client)
    assert page.status_code == 200 and token
    html = page.get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Request-ID"]


def test_login_without_csrf_token_is_refused(app, client):
    make_user(app)
    response = client.post("/login", data={"username": "alice", "password": "x"})
    assert response.status_code == 400
    assert "idp_session" not in response.headers.get("Set-Cookie", "")


def test_wrong_password_and_unknown_user_look_the_same(app, client):
    make_user(app)
    _, token = _login_page(client)
    wrong = client.post("/login", data={"username": "alice", "password": "nope",
                                        "csrf_token": token})
    unknown = client.post("/login", data={"username": "mallory", "password": "nope",
                                          "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 401
    assert b"Incorrect username or password." in wrong.data
    assert b"Incorrect username or password." in unknown.data


def test_login_by_email_in_any_case_sets_a_hardened_cookie(app, client):
    make_user(app)
    _, token = _login_page(client)
    response = client.post("/login", data={"username": "ALICE@example.COM",
                                           "password": "Correct-Horse-9!", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("idp_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    account = client.get("/account")
    assert account.status_code == 200 and b"alice" in account.data


def test_login_audit_records_success_and_failure(app, client):
    from idp.extensions import db
    from idp.models.audit import AuditEvent

    make_user(app)
    _, token = _login_page(client)
    client.post("/login", data={"username": "alice", "password": "bad", "csrf_token": token},
                headers={"User-Agent": "pytest-agent"})
    client.post("/login", data={"username": "ghost", "password": "bad", "csrf_token": token})
    client.post("/login", data={"username": "alice", "password": "Correct-Horse-9!",
                                "csrf_token": token})
    with app.app_context():
        rows = db.session.query(AuditEvent).filter_by(type="auth.login").order_by(AuditEvent.id)
        outcomes = [(e.outcome, e.username) for e in rows]
        first = db.session.query(AuditEvent).filter_by(type="auth.login").first()
        assert first.user_agent == "pytest-agent" and first.ip == "127.0.0.1"
    assert outcomes == [("invalid_password", "alice"), ("unknown_user", "ghost"),
                        ("success", "alice")]


def test_rp_initiated_logout_with_id_token_hint_redirects_with_state(app, client):
    make_user(app)
    cid, secret = make_client(app, post_logout=[POST_LOGOUT])
    query, verifier = get_code(client, cid)
    tokens = exchange(client, cid, secret, query["code"], verifier).get_json()
    response = client.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT,
        "state": "bye-1"})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == POST_LOGOUT
    assert parse_qs(location.query)["state"] == ["bye-1"]
    assert client.get("/account").status_code == 302  # session ended
    refresh = client.post("/token", data={"grant_type": "refresh_token",
                                          "refresh_token": tokens["refresh_token"]},
                          auth=(cid, secret))
    assert refresh.get_json()["error"] == "invalid_grant"


def test_logout_to_unregistered_uri_does_not_redirect(app, client):
    make_user(app)
    cid, secret = make_client(app, post_logout=[POST_LOGOUT])
    query, verifier = get_code(client, cid)
    tokens = exchange(client, cid, secret, query["code"], verifier).get_json()
    response = client.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"})
    assert response.status_code == 200 and b"signed out" in response.data


def test_logout_without_hint_asks_for_confirmation(app, client):
    make_user(app)
    cid, _ = make_client(app)
    get_code(client, cid)
    page = client.get("/logout")
    assert page.status_code == 200 and b"Sign out?" in page.data
    assert client.get("/account").status_code == 200  # nothing happened yet
    token = csrf_from(page.get_data(as_text=True))
    done = client.post("/logout", data={"confirm": "yes", "csrf_token": token})
    assert done.status_code == 200 and b"You are signed out" in done.data
    assert client.get("/account").status_code == 302


def test_logout_with_forged_id_token_hint_is_an_error_page(client):
    response = client.get("/logout", query_string={"id_token_hint": "a.b.c"})
    assert response.status_code == 400
