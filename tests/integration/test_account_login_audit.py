"""Every login attempt is an audit event: user id (when known), username as attempted, IP,
user agent, time and outcome — password step, MFA step, rate limit, client authentication."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from idp.audit import EventType, Outcome
from idp.extensions import db
from idp.models.accounts import User
from tests.account_support import events, sign_in
from tests.factories import make_client, make_user
from tests.mfa_flow import code, enrol_totp, password_step, submit_code
from tests.oauth_flow import basic

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides.update(lockout_threshold=2, login_rate_limit="20 per minute")
    return config_overrides


def _login_events(app):
    return [e for e in events(app) if e.type == EventType.LOGIN]


def test_password_step_outcomes_carry_who_where_and_when(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA
    alice = make_user(app)
    make_user(app, email="dora@example.com", username="dora")
    with app.app_context():
        dora = db.session.execute(select(User).where(User.username == "dora")).scalar_one()
        dora.is_active = False
        db.session.commit()
    sign_in(client)                                 # success
    client.post("/logout")
    sign_in(app.test_client(), username="ghost", password="x")   # unknown_user (no UA)
    sign_in(client, password="wrong-1")             # invalid_password
    sign_in(client, password="wrong-2")             # invalid_password -> locks
    sign_in(client)                                 # account_locked
    sign_in(client, username="dora")                # account_disabled
    rows = _login_events(app)
    assert [e.outcome for e in rows] == [
        Outcome.SUCCESS, Outcome.UNKNOWN_USER, Outcome.INVALID_PASSWORD,
        Outcome.INVALID_PASSWORD, Outcome.ACCOUNT_LOCKED, Outcome.ACCOUNT_DISABLED]
    assert [e.username for e in rows] == ["alice", "ghost", "alice", "alice", "alice", "dora"]
    assert rows[1].subject_id is None
    assert all(e.subject_id == uuid.UUID(alice) for e in rows[2:5])
    assert all(e.ip == "127.0.0.1" and e.at is not None for e in rows)
    assert rows[0].user_agent == UA and rows[2].user_agent == UA


def test_mfa_step_outcomes(app, client):
    user_id = make_user(app)
    secret = enrol_totp(app, user_id)
    assert password_step(client).headers["Location"] == "/login/mfa"
    submit_code(client, "000000" if code(secret) != "000000" else "111111")
    submit_code(client, code(secret))
    outcomes = [e.outcome for e in _login_events(app)]
    assert Outcome.MFA_REQUIRED in outcomes and Outcome.MFA_FAILED in outcomes
    assert outcomes[-1] == Outcome.SUCCESS


def test_rate_limited_login_is_audited(app, client):
    make_user(app)
    for _ in range(20):
        sign_in(client, username="nobody", password="x")
    sign_in(client, username="nobody", password="x")
    last = _login_events(app)[-1]
    assert (last.outcome, last.username, last.ip) == (Outcome.RATE_LIMITED, "nobody", "127.0.0.1")


def test_token_endpoint_client_auth_failure_is_audited(app, client):
    client_id, _ = make_client(app)
    client.post("/token", data={"grant_type": "client_credentials"},
                headers={**basic(client_id, "wrong"), "User-Agent": "rp/1.0"})
    event = events(app, EventType.CLIENT_AUTH_FAILED)[-1]
    assert (event.client_id, event.ip, event.user_agent) == (client_id, "127.0.0.1", "rp/1.0")
