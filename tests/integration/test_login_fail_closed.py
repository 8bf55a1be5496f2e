"""Lockout, audit and limits fail closed (issue 11, E2): when storage refuses the audit
row of a login attempt, the answer is the same error for a right and a wrong password (no
cookie tells them apart), the per-account lockout keeps the guess and the per-IP limiter
still counts it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from idp.extensions import db
from tests.account_support import sign_in
from tests.conftest import PG_URL
from tests.factories import make_user

pytestmark = pytest.mark.skipif(not PG_URL, reason="a storage error needs PostgreSQL triggers")

# A storage failure on our own per-test database: audit rows for this one person fail.
FAIL_AUDIT = """
CREATE FUNCTION fail_audit() RETURNS trigger AS $$
BEGIN
  IF NEW.username = 'mallory' THEN RAISE EXCEPTION 'audit storage failure'; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit();
"""


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides.update(login_rate_limit="3 per minute")
    return config_overrides


@pytest.fixture
def failing_audit(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does
    with app.app_context():
        db.session.execute(text(FAIL_AUDIT))
        db.session.commit()
    yield
    with app.app_context():
        db.session.execute(text("DROP TRIGGER fail_audit ON audit_events; "
                                "DROP FUNCTION fail_audit()"))
        db.session.commit()


def test_right_and_wrong_password_fail_alike_and_every_guess_counts(app, client, failing_audit):
    make_user(app, email="mallory@example.com", username="mallory")
    right = sign_in(client, username="mallory")
    wrong = sign_in(client, username="mallory", password="wrong-1")
    assert right.status_code >= 500 and wrong.status_code == right.status_code
    for response in (right, wrong):
        assert not response.headers.getlist("Set-Cookie"), response.headers
    # The wrong guess stays counted against the account although its audit row failed:
    # the attempt's place is committed before the hash is evaluated.
    with app.app_context():
        count = db.session.execute(text(
            "SELECT failed_login_count FROM users WHERE username = 'mallory'")).scalar_one()
    assert count == 1
    # The two failed answers were counted: the third guess fills the allowance.
    assert sign_in(client, username="mallory", password="wrong-2").status_code >= 500
    assert sign_in(client, username="mallory").status_code == 429
