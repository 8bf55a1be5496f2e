"""The account lock cannot be raced: parallel guesses over HTTP on PostgreSQL.

SQLite serialises writers (and ignores row locks), so these run only with
IDP_TEST_DATABASE_URL. Each thread drives its own Flask test client against the one
PostgreSQL-backed app; every request is bounded by the join timeout.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, update

from idp.audit import EventType, Outcome
from idp.audit.repeats import CREDENTIAL_ALLOWANCE
from idp.models.accounts import User
from tests.account_support import MailLog, events, sign_in
from tests.conftest import PG_URL
from tests.factories import make_user
from tests.mfa_flow import session_cookie_set

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (IDP_TEST_DATABASE_URL)")

THRESHOLD = 5
BURST = 50


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides.update(lockout_threshold=THRESHOLD, lockout_window=600, lockout_duration=900)
    return config_overrides


def _burst(app, password: str, count: int) -> tuple[list[int], list[str]]:
    """`count` logins at once, each on its own client; their status codes."""
    barrier = threading.Barrier(count)
    statuses, errors = [], []

    def attempt():
        try:
            with app.test_client() as client:
                barrier.wait(timeout=30)
                statuses.append(sign_in(client, password=password).status_code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(exc))

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return statuses, errors


def test_a_burst_of_wrong_passwords_evaluates_at_most_the_threshold(app, client):
    mail = MailLog(app)
    make_user(app)
    statuses, errors = _burst(app, "wrong-password", BURST)
    assert not errors, errors
    assert statuses == [401] * BURST
    outcomes = [e.outcome for e in events(app, EventType.LOGIN)]
    # Exactly `threshold` hashes were checked; the rest were refused unevaluated.
    assert outcomes.count(Outcome.INVALID_PASSWORD) == THRESHOLD
    # Each refusal is audited; past the per-IP allowance repeats are folded into a count
    # (idp/audit/repeats.py), so the rows stop there.
    assert outcomes.count(Outcome.ACCOUNT_LOCKED) == min(BURST - THRESHOLD,
                                                         CREDENTIAL_ALLOWANCE)
    assert len(events(app, EventType.USER_LOCKED)) == 1
    assert [s for _, s, _ in mail.wait()] == ["Your account was locked"]
    refused = sign_in(client)  # the right password, now locked
    assert refused.status_code == 401 and not session_cookie_set(refused)


def test_a_correct_password_after_the_lock_is_recorded_does_not_sign_in(app, database_url):
    """The lock is recorded (not yet committed) by another transaction, as the request that
    failed last would hold it; the right password arriving then must not sign in."""
    make_user(app)
    engine = create_engine(database_url)
    outcome = {}

    def correct_password():
        with app.test_client() as other:
            response = sign_in(other)
            outcome["status"] = response.status_code
            outcome["cookie"] = session_cookie_set(response)

    try:
        with engine.connect() as conn:
            conn.execute(update(User).where(User.username == "alice")
                         .values(locked_at=datetime.now(UTC), locked_until=None,
                                 failed_login_count=THRESHOLD))
            thread = threading.Thread(target=correct_password)
            thread.start()
            time.sleep(1.0)  # the request is now waiting for, or past, the row
            conn.commit()
        thread.join(timeout=30)
    finally:
        engine.dispose()
    assert outcome == {"status": 401, "cookie": False}
    with app.app_context():
        from idp.extensions import db

        assert db.session.execute(select(User.locked_at).where(User.username == "alice")
                                  ).scalar_one() is not None
