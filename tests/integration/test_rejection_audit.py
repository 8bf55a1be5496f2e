"""Rejected requests are audited — CSRF failures, rate-limited attempts, invalid admin
input — and repeats from one address within a window share one row, so a flood of
refused requests is not a flood of hash-chained writes (issue 11)."""

from __future__ import annotations

import pytest

from idp.audit import EventType, Outcome
from tests.account_support import events, sign_in
from tests.factories import make_user
from tests.integration.admin_support import bearer


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(login_rate_limit="2 per minute")
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


@pytest.fixture(autouse=True)
def _inside_one_window(app):
    """Windows are fixed (idp.audit.repeats.WINDOW): the app's repeat gate counts on a clock
    moved to one second into the next window, so a test never straddles two (instead of
    sleeping up to 25 s for the next one)."""
    import time

    from idp.audit.repeats import WINDOW, RepeatGate
    from idp.extensions import limiter

    shift = WINDOW - time.time() % WINDOW + 1
    svc = app.extensions["idp"]
    with app.app_context():
        svc.extra["audit_repeat_gate"] = RepeatGate(limiter.storage, svc.config.redis_prefix,
                                                    lambda: time.time() + shift)


def _chain_intact(app) -> bool:
    from idp.audit.verify import verify_chain
    from idp.extensions import db

    with app.app_context():
        return verify_chain(db.session).ok


def test_csrf_rejections_are_audited_once_per_window(app, client):
    for _ in range(25):
        response = client.post("/login", data={"username": "alice", "password": "x"})
        assert response.status_code == 400
    [row] = events(app, EventType.CSRF_REJECTED)
    assert (row.outcome, row.ip) == (Outcome.FAILURE, "127.0.0.1")
    assert row.details["path"] == "/login" and "CSRF" in row.details["reason"]
    assert row.request_id
    assert _chain_intact(app)


def test_a_rate_limited_flood_writes_one_row_per_window(app, client):
    make_user(app)
    assert [sign_in(client, password="wrong").status_code for _ in range(2)] == [401, 401]
    assert {sign_in(client, password="wrong").status_code for _ in range(20)} == {429}
    # Each rejected password is still its own auth.login row; the refusals share one.
    logins = events(app, EventType.LOGIN)
    assert [e.outcome for e in logins] == [Outcome.INVALID_PASSWORD] * 2 + [Outcome.RATE_LIMITED]
    assert _chain_intact(app)


@pytest.mark.parametrize("config_overrides", [{"login_rate_limit": "100 per minute",
                                                "lockout_threshold": 50}], indirect=True)
def test_failed_passwords_fold_after_the_first_ten_but_every_guess_counts(app, client):
    from sqlalchemy import select

    from idp.extensions import db
    from idp.models.accounts import User

    make_user(app)
    for _ in range(15):
        assert sign_in(client, password="wrong").status_code == 401
    rows = events(app, EventType.LOGIN)
    assert [e.outcome for e in rows] == [Outcome.INVALID_PASSWORD] * 10
    with app.app_context():
        count = db.session.execute(select(User.failed_login_count)
                                   .where(User.username == "alice")).scalar_one()
    assert count == 15  # lockout and the limiter count every guess; only rows fold
    assert sign_in(client).status_code in (302, 303)
    assert events(app, EventType.LOGIN)[-1].outcome == Outcome.SUCCESS
    assert _chain_intact(app)


def test_rejected_admin_input_is_audited_without_its_value(app, client):
    auth = bearer(client, app)
    tenant = client.get("/api/v1/tenants", headers=auth).get_json()["items"][0]
    response = client.patch(f"/api/v1/tenants/{tenant['id']}",
                            json={"settings": {"mfa_required_roles": "s3cret-value"}}, headers=auth)
    assert response.status_code == 422
    [row] = events(app, EventType.ADMIN_INPUT_REJECTED)
    assert row.details["field"] == "settings.mfa_required_roles"
    assert row.details["code"] == "validation_failed" and row.actor_id
    assert "s3cret-value" not in str(row.details)
    bad_cursor = client.get("/api/v1/users?cursor=forged", headers=auth)
    assert bad_cursor.status_code == 400  # within the window: counted, not written again
    assert len(events(app, EventType.ADMIN_INPUT_REJECTED)) == 1
