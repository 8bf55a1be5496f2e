"""/account/mfa: enrol an authenticator app (QR + secret, active after one code), backup
codes, removal with a recent login, email notices, encryption at rest."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import select

from idp.extensions import db
from idp.mfa import totp
from idp.models.mfa import BackupCode, TotpCredential
from idp.models.sessions import UserSession
from tests.factories import PASSWORD, csrf_from, make_user
from tests.mfa_flow import (
    backup_codes_in,
    code,
    password_step,
    reauthenticate,
    secret_in,
    submit_code,
)


def _signed_in(app, client):
    user_id = make_user(app)
    response = password_step(client)
    assert response.status_code == 302 and response.headers["Location"] != "/login/mfa"
    return user_id


def _token(client, url="/account/mfa"):
    return csrf_from(client.get(url).get_data(as_text=True))


def _enrol(client):
    """Start, then confirm with a code; returns (secret, page html after confirming)."""
    start = client.post("/account/mfa/totp", data={"csrf_token": _token(client)})
    assert start.status_code == 302 and start.headers["Location"] == "/account/mfa/totp/confirm"
    page = client.get("/account/mfa/totp/confirm").get_data(as_text=True)
    secret = secret_in(page)
    done = client.post("/account/mfa/totp/confirm",
                       data={"code": code(secret, -1), "csrf_token": csrf_from(page)})
    assert done.status_code == 200
    return secret, done.get_data(as_text=True)


def _types(app):
    from idp.models.audit import AuditEvent

    with app.app_context():
        return [e.type for e in db.session.execute(select(AuditEvent)).scalars()]


def test_enrolment_page_shows_a_qr_code_and_the_secret(app, client):
    _signed_in(app, client)
    overview = client.get("/account/mfa")
    assert overview.status_code == 200 and "Set up an authenticator app" in overview.get_data(as_text=True)
    client.post("/account/mfa/totp", data={"csrf_token": _token(client)})
    page = client.get("/account/mfa/totp/confirm")
    html = page.get_data(as_text=True)
    assert 'src="data:image/svg+xml' in html
    secret = secret_in(html)
    assert len(secret) == 32
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_the_app_is_active_only_after_one_valid_code(app, client, caplog):
    user_id = _signed_in(app, client)
    client.post("/account/mfa/totp", data={"csrf_token": _token(client)})
    page = client.get("/account/mfa/totp/confirm").get_data(as_text=True)
    secret = secret_in(page)
    wrong = client.post("/account/mfa/totp/confirm", data={"code": "000000",
                                                          "csrf_token": csrf_from(page)})
    assert wrong.status_code == 401
    with app.app_context():
        row = db.session.execute(select(TotpCredential)).scalar_one()
        assert row.confirmed_at is None
    # Not active yet: logging in again asks for no code.
    client.delete_cookie("idp_session")
    assert password_step(client).headers["Location"] != "/login/mfa"
    page = client.get("/account/mfa/totp/confirm").get_data(as_text=True)
    assert secret_in(page) == secret  # the same pending secret is shown again
    with caplog.at_level(logging.INFO, logger="idp.mail"):
        done = client.post("/account/mfa/totp/confirm",
                           data={"code": code(secret, -1), "csrf_token": csrf_from(page)})
    codes = backup_codes_in(done.get_data(as_text=True))
    assert len(codes) == 10
    assert any("A sign-in method was added" in r.getMessage() for r in caplog.records)
    types = _types(app)
    assert "mfa.totp.enrolled" in types and "mfa.totp.confirmed" in types
    assert "mfa.backup_codes.regenerated" in types
    with app.app_context():
        row = db.session.execute(select(TotpCredential)).scalar_one()
        assert row.confirmed_at is not None and str(row.user_id) == user_id
        # Encrypted at rest: neither the secret nor its base32 text is in the row.
        assert secret.encode() not in row.secret_encrypted
        keyring = app.extensions["idp"].keyring
        assert keyring.decrypt(row.secret_encrypted, f"totp:{row.id}").decode() == secret
        hashes = [b.code_hash for b in db.session.execute(select(BackupCode)).scalars()]
        assert len(hashes) == 10 and not set(hashes) & {c.replace("-", "") for c in codes}
    client.delete_cookie("idp_session")
    assert password_step(client).headers["Location"] == "/login/mfa"
    assert submit_code(client, codes[0]).status_code == 302


def test_backup_codes_page_counts_and_regenerating_invalidates_the_old_set(app, client):
    _signed_in(app, client)
    secret, html = _enrol(client)
    old = backup_codes_in(html)
    # The session was opened with the password alone: a second factor is asked for now.
    assert reauthenticate(client, code(secret)).headers["Location"] == "/account/mfa"
    page = client.get("/account/mfa/backup-codes")
    assert 'id="backup-remaining">10<' in page.get_data(as_text=True)
    new_page = client.post("/account/mfa/backup-codes",
                           data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    new = backup_codes_in(new_page.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    client.delete_cookie("idp_session")
    password_step(client)
    assert submit_code(client, old[0]).status_code == 401
    assert submit_code(client, new[0]).status_code == 302
    assert 'id="backup-remaining">9<' in client.get("/account/mfa/backup-codes").get_data(as_text=True)


def _age_sessions(app, seconds):
    with app.app_context():
        for s in db.session.execute(select(UserSession)).scalars():
            s.auth_time = s.auth_time - timedelta(seconds=seconds)
        db.session.commit()


def test_removal_needs_a_fresh_password_and_code_then_confirmation_then_notifies(
        app, client, caplog):
    _signed_in(app, client)
    secret, _html = _enrol(client)
    with app.app_context():
        row_id = str(db.session.execute(select(TotpCredential)).scalar_one().id)
    _age_sessions(app, 900)
    form = {"kind": "totp", "factor_id": row_id, "csrf_token": _token(client)}
    refused = client.post("/account/mfa/remove", data=form)
    assert refused.status_code == 302 and refused.headers["Location"] == "/account/mfa/reauth"
    reauth = client.get("/account/mfa/reauth").get_data(as_text=True)
    bad = reauthenticate(client, code(secret), password="wrong")
    assert bad.status_code == 401
    # The password alone is not enough once the person has a second factor.
    no_code = client.post("/account/mfa/reauth", data={"password": PASSWORD,
                                                        "csrf_token": csrf_from(reauth)})
    assert no_code.status_code == 400
    wrong_code = reauthenticate(client, "000000")
    assert wrong_code.status_code == 401
    assert client.post("/account/mfa/remove", data=form).headers["Location"] == "/account/mfa/reauth"
    ok = reauthenticate(client, code(secret))
    assert ok.headers["Location"] == "/account/mfa"
    # The last factor: a page asks first, and nothing is removed yet.
    ask = client.post("/account/mfa/remove", data=form)
    assert ask.status_code == 200 and 'id="last-factor-warning"' in ask.get_data(as_text=True)
    assert "Two-step verification turns off." in ask.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(TotpCredential)).first() is not None
    with caplog.at_level(logging.INFO, logger="idp.mail"):
        removed = client.post("/account/mfa/remove", data={**form, "confirm": "yes"})
    assert removed.headers["Location"] == "/account/mfa"
    assert any("was removed from your account" in r.getMessage() for r in caplog.records)
    with app.app_context():
        assert db.session.execute(select(TotpCredential)).first() is None
        # Without any factor left, backup codes would be a bypass: they go too.
        assert db.session.execute(select(BackupCode)).first() is None
    assert "mfa.factor.removed" in _types(app)
    client.delete_cookie("idp_session")
    assert password_step(client).headers["Location"] != "/login/mfa"


def test_removing_someone_elses_factor_is_not_found(app, client):
    _signed_in(app, client)
    form = {"kind": "totp", "factor_id": str(uuid.uuid4()), "csrf_token": _token(client)}
    assert client.post("/account/mfa/remove", data=form).status_code == 404


def test_starting_again_while_an_app_is_active_is_a_conflict(app, client):
    _signed_in(app, client)
    secret, _html = _enrol(client)
    reauthenticate(client, code(secret))
    response = client.post("/account/mfa/totp", data={"csrf_token": _token(client)})
    assert response.status_code == 409


def test_account_mfa_needs_a_session(client):
    assert client.get("/account/mfa").headers["Location"].startswith("/login")


def test_the_secret_cannot_be_moved_to_another_row(app, client):
    """AES-GCM binds the ciphertext to its row id (associated data)."""
    import pytest
    from cryptography.exceptions import InvalidTag

    _signed_in(app, client)
    _enrol(client)
    with app.app_context():
        row = db.session.execute(select(TotpCredential)).scalar_one()
        with pytest.raises(InvalidTag):
            app.extensions["idp"].keyring.decrypt(row.secret_encrypted, f"totp:{uuid.uuid4()}")
    assert totp.PERIOD == 30
