"""Backup codes: salted at rest, the old unsalted ones still work, using one mails the
person, and the security pages say when few are left."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from sqlalchemy import select, update

from idp.extensions import db
from idp.mfa.enrolment import backup_code_key
from idp.models.mfa import BackupCode
from tests.account_support import MailLog
from tests.factories import make_user
from tests.mfa_flow import (
    enrol_totp,
    make_backup_codes,
    password_step,
    reauthenticate,
    session_cookie_set,
    submit_code,
)


def _alice(app):
    user_id = make_user(app)
    secret = enrol_totp(app, user_id)
    return user_id, secret, make_backup_codes(app, user_id)


def test_codes_are_stored_salted(app):
    _user_id, _secret, codes = _alice(app)
    with app.app_context():
        stored = db.session.execute(select(BackupCode.code_hash)).scalars().all()
    assert len(stored) == 10 and all(h.startswith("s1$") and len(h) <= 64 for h in stored)
    assert not any(c.replace("-", "") in h for h in stored for c in codes)


def test_using_a_code_mails_the_person_and_few_left_are_shown(app, client):
    mail = MailLog(app)
    user_id, secret, codes = _alice(app)
    with app.app_context():  # seven already used
        db.session.execute(update(BackupCode).where(BackupCode.code_hash.in_(
            select(BackupCode.code_hash).limit(7).scalar_subquery())).values(
            used_at=BackupCode.created_at))
        db.session.commit()
        unused = db.session.execute(select(BackupCode).where(BackupCode.used_at.is_(None))
                                    ).scalars().all()
    from idp.mfa.backup_codes import code_matches

    key = backup_code_key(app.extensions["idp"].keyring)
    left = [c for c in codes if any(code_matches(key, c, row.code_hash) for row in unused)]
    assert len(left) == 3
    password_step(client)
    signed_in = submit_code(client, left[0])
    assert signed_in.status_code == 302 and session_cookie_set(signed_in)
    to, subject, body = mail.wait()[0]
    assert (to, subject) == ("alice@example.com", "A backup code was used to sign in")
    assert "2 unused codes remain" in body
    for page in ("/account", "/account/mfa", "/account/mfa/backup-codes"):
        html = client.get(page).get_data(as_text=True)
        assert 'id="backup-low"' in html and "Only 2 backup codes left" in html
    # A backup code also serves as the second factor when confirming it is you.
    reauth = reauthenticate(client, left[1])
    assert reauth.headers["Location"] == "/account/mfa"
    assert [s for _, s, _ in mail.wait(2)][1] == "A backup code was used to sign in"


def test_codes_stored_before_salting_still_sign_in_once(app, client):
    user_id, _secret, _codes = _alice(app)
    old_code = "abcde-fghjk"
    key = backup_code_key(app.extensions["idp"].keyring)
    with app.app_context():
        db.session.add(BackupCode(
            user_id=uuid.UUID(user_id), created_at=db.session.execute(
                select(BackupCode.created_at)).scalars().first(),
            code_hash=hmac.new(key, b"abcdefghjk", hashlib.sha256).hexdigest()))
        db.session.commit()
    password_step(client)
    assert submit_code(client, old_code).status_code == 302
    client.delete_cookie("idp_session")
    password_step(client)
    assert submit_code(client, old_code).status_code == 401
