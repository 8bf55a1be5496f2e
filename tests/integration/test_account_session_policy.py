"""Idle and absolute session timeouts (short values from configuration), the expired
message, prompt=none after expiry, and the per-person session limit."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from idp.audit import EventType
from idp.extensions import db
from idp.models.sessions import UserSession
from tests.account_support import events, sign_in
from tests.factories import make_client, make_user
from tests.oauth_flow import authorize_url


@pytest.fixture
def config_overrides(config_overrides):
    # Long enough that a loaded machine cannot expire a session between two steps; the
    # tests move the session's clocks instead of waiting.
    config_overrides.update(session_idle_timeout=30, session_absolute_timeout=120,
                            max_sessions_per_user=2)
    return config_overrides


@pytest.fixture
def idle_2s(config_overrides):
    """A 2 s idle timeout for the one test that lets real time pass."""
    config_overrides["session_idle_timeout"] = 2


def _sessions(app):
    with app.app_context():
        rows = db.session.execute(select(UserSession).order_by(UserSession.created_at)
                                  ).scalars().all()
        db.session.expunge_all()
        return rows


def _shift(app, **deltas):
    """Move the live session's clocks into the past instead of sleeping."""
    with app.app_context():
        session = db.session.execute(select(UserSession).where(UserSession.revoked_at.is_(None))
                                     ).scalar_one()
        for name, seconds in deltas.items():
            setattr(session, name, getattr(session, name) - timedelta(seconds=seconds))
        db.session.commit()


def _assert_expired(client, app, reason="expired"):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?expired=1&next=/account"  # back here after signing in
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session expired" in page
    assert _sessions(app)[-1].revoke_reason == reason
    assert events(app, EventType.SESSION_REVOKED)[-1].details["reason"] == reason


def test_idle_timeout_really_elapses(idle_2s, app, client):
    make_user(app)
    sign_in(client)
    assert client.get("/account").status_code == 200
    time.sleep(2.1)  # IDP_SESSION_IDLE_TIMEOUT=2
    _assert_expired(client, app)


def test_activity_keeps_an_idle_session_alive(app, client):
    make_user(app)
    sign_in(client)
    for _ in range(3):  # 60 s in all, past the 30 s idle timeout unless each visit counts
        _shift(app, last_seen_at=20)
        assert client.get("/account").status_code == 200
    _shift(app, last_seen_at=31)  # and without a visit, the same timeout does end it
    _assert_expired(client, app)


def test_absolute_timeout_ends_even_an_active_session(app, client):
    make_user(app)
    sign_in(client)
    _shift(app, expires_at=121)  # logged in more than IDP_SESSION_ABSOLUTE_TIMEOUT ago
    _assert_expired(client, app)


def test_prompt_none_after_expiry_answers_login_required(app, client):
    make_user(app)
    client_id, _ = make_client(app)
    sign_in(client)
    _shift(app, last_seen_at=31)
    response = client.get(authorize_url(client_id, prompt="none", challenge="x" * 43))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["login_required"] and query["state"] == ["st-1"]


def test_a_new_login_beyond_the_limit_revokes_the_oldest(app):
    first, second, third = app.test_client(), app.test_client(), app.test_client()
    make_user(app)
    for browser in (first, second, third):
        assert sign_in(browser).status_code == 302
        time.sleep(0.01)
    rows = _sessions(app)
    assert rows[0].revoke_reason == "session_limit"
    assert [r.revoked_at is None for r in rows] == [False, True, True]
    assert first.get("/account").status_code == 302
    assert third.get("/account").status_code == 200


@pytest.mark.parametrize("limits", [{"idle_timeout": 5, "absolute_timeout": 10, "max_per_user": 1}])
def test_timeouts_and_limit_are_settable_per_tenant(app, limits):
    from idp.sessions.service import SessionPolicy, tenant_session_policy
    from idp.tenancy.tenants import ensure_default_tenant

    with app.app_context():
        tenant = ensure_default_tenant(db.session)
        tenant.settings = {**(tenant.settings or {}), "session": {**limits, "bogus": 5}}
        db.session.commit()
        policy = tenant_session_policy(db.session, tenant.id, SessionPolicy(1800, 43200, 5))
        assert policy == SessionPolicy(5, 10, 1)
    first, second = app.test_client(), app.test_client()
    make_user(app)
    sign_in(first)
    sign_in(second)  # the tenant allows one session per person
    assert first.get("/account").status_code == 302
    assert second.get("/account").status_code == 200
    rows = [r for r in _sessions(app) if r.revoked_at is None]
    assert (rows[0].expires_at - rows[0].created_at).total_seconds() == 10
    _shift(app, last_seen_at=3)  # within the tenant's 5 s
    assert second.get("/account").status_code == 200
    _shift(app, last_seen_at=6)  # past the tenant's 5 s, well within the configured 30 s
    assert second.get("/account").headers["Location"] == "/login?expired=1&next=/account"


def test_session_cookie_lives_as_long_as_the_tenants_absolute_timeout(app):
    """A tenant may allow longer sessions than the default; the cookie must not end first."""
    from idp.tenancy.tenants import ensure_default_tenant

    with app.app_context():
        tenant = ensure_default_tenant(db.session)
        tenant.settings = {**(tenant.settings or {}), "session": {"absolute_timeout": 86400}}
        db.session.commit()
    browser = app.test_client()
    make_user(app)
    response = sign_in(browser)
    cookie = next(v for k, v in response.headers.items()
                  if k == "Set-Cookie" and v.startswith("idp_session="))
    assert "Max-Age=86400" in cookie
