"""The forwarded client address is data, not trust (issue 11, E2): a forged
X-Forwarded-For never breaks /login, never uncounts a guess and never reaches a column."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from idp.audit import EventType, Outcome
from idp.extensions import db
from idp.models.accounts import User
from tests.account_support import events, sign_in
from tests.factories import make_user

JUNK = "q" * 60


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides.update(trusted_proxies=1, lockout_threshold=3,
                            login_rate_limit="2 per minute")
    return config_overrides


def _failures(app) -> int:
    with app.app_context():
        return db.session.execute(select(User.failed_login_count)
                                  .where(User.username == "alice")).scalar_one()


def test_junk_forwarded_for_is_a_counted_failure_from_the_peer_address(app, client):
    make_user(app)
    response = sign_in(client, password="wrong-1", X_Forwarded_For=JUNK)
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers or "idp_session" not in response.headers["Set-Cookie"]
    assert _failures(app) == 1
    [row] = events(app, EventType.LOGIN)
    assert (row.outcome, row.ip) == (Outcome.INVALID_PASSWORD, "127.0.0.1")
    # The limiter saw the failure too: the second failure fills it, the third is refused.
    assert sign_in(client, password="wrong-2", X_Forwarded_For=JUNK).status_code == 401
    assert sign_in(client, X_Forwarded_For=JUNK).status_code == 429


def test_right_password_with_junk_forwarded_for_logs_in(app, client):
    make_user(app)
    response = sign_in(client, X_Forwarded_For="1.2.3.4:80, " + JUNK)
    assert response.status_code in (302, 303)
    [row] = events(app, EventType.LOGIN)
    assert (row.outcome, row.ip) == (Outcome.SUCCESS, "127.0.0.1")


@pytest.mark.parametrize("claimed", ["fe80::1%eth0", "1.2.3.4:5678", "<script>", "1.2.3", " "])
def test_anything_but_an_ip_literal_falls_back_to_the_peer(app, client, claimed):
    make_user(app)
    assert sign_in(client, password="wrong", X_Forwarded_For=claimed).status_code == 401
    assert events(app, EventType.LOGIN)[-1].ip == "127.0.0.1"


def test_a_valid_forwarded_address_is_used_in_canonical_form(app, client):
    make_user(app)
    sign_in(client, password="wrong", X_Forwarded_For="2001:DB8:0:0::1")
    assert events(app, EventType.LOGIN)[-1].ip == "2001:db8::1"


def test_rejected_forwarded_for_is_recorded_in_the_request_log(app, client, caplog):
    make_user(app)
    with caplog.at_level(logging.INFO, logger="idp.request"):
        sign_in(client, password="wrong", X_Forwarded_For=JUNK)
    posts = [r for r in caplog.records if r.name == "idp.request" and r.method == "POST"]
    assert posts and posts[-1].forwarded_for_rejected == JUNK
    assert posts[-1].client_ip == "127.0.0.1"
