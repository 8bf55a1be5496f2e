"""Concurrent use of one backup code / one TOTP code: exactly one request wins.

Meaningful on PostgreSQL (IDP_TEST_DATABASE_URL), where the requests really overlap and
the row lock of `UPDATE ... WHERE used_at IS NULL` decides; SQLite serialises writers.
"""

from __future__ import annotations

import threading
import uuid

from idp.extensions import db
from idp.mfa.verification import MfaStatus, verify_code
from idp.models.accounts import User
from idp.request_context import RequestContext
from tests.factories import make_user
from tests.mfa_flow import code, enrol_totp, make_backup_codes

THREADS = 8


def _race(app, user_id, value):
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def attempt():
        try:
            with app.app_context():
                user = db.session.get(User, uuid.UUID(user_id))
                svc = app.extensions["idp"]
                barrier.wait(timeout=10)
                result = verify_code(db.session, RequestContext(ip="198.51.100.7"), svc.keyring, user,
                                     value, svc.lockout_policy)
                db.session.commit()
                results.append(result.status)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(exc))

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


def test_one_backup_code_used_concurrently_succeeds_exactly_once(app):
    user_id = make_user(app)
    enrol_totp(app, user_id)
    codes = make_backup_codes(app, user_id)
    results, errors = _race(app, user_id, codes[0])
    assert not errors, errors
    assert results.count(MfaStatus.VERIFIED) == 1
    assert results.count(MfaStatus.INVALID) == THREADS - 1


def test_one_totp_code_used_concurrently_succeeds_exactly_once(app):
    user_id = make_user(app)
    secret = enrol_totp(app, user_id)
    results, errors = _race(app, user_id, code(secret))
    assert not errors, errors
    assert results.count(MfaStatus.VERIFIED) == 1
