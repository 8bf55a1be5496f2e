"""Per-IP rate limits: 429 with Retry-After and a clear page / RFC 6749 JSON, audited as
rate_limited; only failures count on /login; X-Forwarded-For only from trusted hops; a
broken Redis falls back to per-process limiting instead of none."""

from __future__ import annotations

import pytest

from idp.audit import EventType, Outcome
from tests.account_support import events, post_form, sign_in
from tests.factories import make_client, make_user
from tests.oauth_flow import basic


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides.update(login_rate_limit="3 per minute", self_service_rate_limit="2 per hour")
    return config_overrides


def _assert_429_page(response):
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60 * 60
    assert "Too many attempts" in response.get_data(as_text=True)


def test_failed_logins_per_ip_are_limited_with_a_clear_page(app, client):
    make_user(app)
    for _ in range(3):
        assert sign_in(client, password="wrong").status_code == 401
    limited = sign_in(client, username="alice", password="wrong")
    _assert_429_page(limited)
    assert int(limited.headers["Retry-After"]) <= 60
    event = events(app, EventType.LOGIN, Outcome.RATE_LIMITED)[-1]
    assert event.username == "alice" and event.ip == "127.0.0.1"
    assert event.details["path"] == "/login"
    # The limit applies to the correct password too while it lasts.
    assert sign_in(client).status_code == 429


def test_successful_logins_do_not_count(app, client):
    make_user(app)
    for _ in range(6):
        assert sign_in(client).status_code == 302


def test_forwarded_for_is_ignored_without_trusted_proxies(app, client):
    make_user(app)
    for i in range(3):
        sign_in(client, password="wrong", **{"X-Forwarded-For": f"203.0.113.{i}"})
    assert sign_in(client, password="wrong",
                   **{"X-Forwarded-For": "198.51.100.7"}).status_code == 429
    assert {e.ip for e in events(app, EventType.LOGIN)} == {"127.0.0.1"}


def test_token_endpoint_limits_failed_client_auth_with_oauth_json(app, client):
    client_id, _ = make_client(app)
    for _ in range(30):
        bad = client.post("/token", data={"grant_type": "client_credentials"},
                          headers=basic(client_id, "wrong-secret"))
        assert bad.status_code == 401
    limited = client.post("/token", data={"grant_type": "client_credentials"},
                          headers=basic(client_id, "wrong-secret"))
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "temporarily_unavailable"
    assert "error_description" in limited.get_json()
    assert int(limited.headers["Retry-After"]) > 0
    event = events(app, EventType.CLIENT_AUTH_FAILED, Outcome.RATE_LIMITED)[-1]
    assert event.client_id == client_id


def test_forgot_password_is_rate_limited(app, client):
    for _ in range(2):
        assert post_form(client, "/password/forgot", {"email": "x@example.com"}).status_code == 200
    _assert_429_page(post_form(client, "/password/forgot", {"email": "x@example.com"}))
    assert events(app, EventType.PASSWORD_RESET_REQUESTED, Outcome.RATE_LIMITED)


def test_register_is_rate_limited(app, client):
    for i in range(2):
        post_form(client, "/register", {"email": f"u{i}@example.com", "password": "x",
                                        "confirm": "x"})
    _assert_429_page(post_form(client, "/register", {"email": "z@example.com", "password": "x",
                                                     "confirm": "x"}))
    assert events(app, EventType.USER_REGISTERED, Outcome.RATE_LIMITED)


def test_json_callers_get_json_429(app, client):
    make_user(app)
    for _ in range(3):
        sign_in(client, password="wrong")
    response = sign_in(client, password="wrong", Accept="application/json")
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"


def test_failed_mfa_codes_share_the_failed_login_allowance(app, client):
    from tests.mfa_flow import enrol_totp, password_step, submit_code

    enrol_totp(app, make_user(app))
    assert password_step(client).headers["Location"] == "/login/mfa"
    assert submit_code(client, "000000").status_code == 401
    assert submit_code(client, "000001").status_code == 401
    sign_in(client, username="alice", password="wrong")  # third failure, on /login
    assert password_step(client).status_code == 429
    limited = events(app, EventType.LOGIN, Outcome.RATE_LIMITED)
    assert limited and limited[-1].details["path"] == "/login"


def test_guessing_the_current_password_on_the_account_page_is_limited(app, client):
    make_user(app)
    assert sign_in(client).status_code == 302
    for _ in range(3):
        response = post_form(client, "/account/password", {
            "current_password": "guess", "password": "Brand-New-Pass-42",
            "confirm": "Brand-New-Pass-42"})
        assert response.status_code == 401
    limited = post_form(client, "/account/password", {
        "current_password": "guess", "password": "Brand-New-Pass-42",
        "confirm": "Brand-New-Pass-42"})
    _assert_429_page(limited)
    assert events(app, EventType.PASSWORD_CHANGED, Outcome.RATE_LIMITED)
