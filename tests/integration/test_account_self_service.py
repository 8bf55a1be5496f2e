"""/register (open, invite-only, off), email verification, /password/forgot and
/password/reset/<token>, and email uniqueness under case and Unicode forms."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from idp.accounts.registration import invite_user
from idp.accounts.users import create_user
from idp.audit import EventType, Outcome
from idp.errors import Conflict, ValidationFailed
from idp.extensions import db
from idp.models.account_tokens import AccountToken
from idp.models.accounts import User
from idp.models.sessions import UserSession
from idp.request_context import system_context
from idp.tenancy.tenants import ensure_default_tenant
from tests.account_support import MailLog, events, post_form, sign_in
from tests.factories import PASSWORD, make_user

GOOD = "Blue-Harbour-Lamp-51"


def _register(client, email="new@example.com", username="newbie", password=GOOD, path=None):
    return post_form(client, path or "/register", {"email": email, "username": username,
                                                   "password": password, "confirm": password})


def _users(app):
    with app.app_context():
        return db.session.execute(select(User.username_normalized)).scalars().all()


def _set_mode(app, mode):
    with app.app_context():
        tenant = ensure_default_tenant(db.session)
        tenant.settings = {**(tenant.settings or {}), "registration": mode}
        db.session.commit()


def test_open_registration_then_verification_link(app, client):
    mail = MailLog(app)
    response = _register(client)
    assert response.status_code == 200 and "Check your email" in response.get_data(as_text=True)
    assert "newbie" in _users(app)
    link = mail.link("/verify-email/")
    assert mail.sent[0][0] == "new@example.com"
    assert client.get(link).status_code == 200
    with app.app_context():
        assert db.session.execute(select(User).where(User.username == "newbie")
                                  ).scalar_one().email_verified
    assert client.get(link).status_code == 400  # single use
    assert [e.type for e in events(app)][-1] == EventType.EMAIL_VERIFIED
    assert sign_in(client, username="new@example.com", password=GOOD).status_code == 302


def test_registration_shows_policy_reasons(app, client):
    response = _register(client, password="password")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Include an upper-case letter." in text and "too common" in text
    assert "newbie" not in _users(app)


def test_registration_off(app, client):
    _set_mode(app, "off")
    assert client.get("/register").status_code == 403
    assert "Sign-up is not open" in client.get("/register").get_data(as_text=True)


def test_invite_only_registration(app, client):
    _set_mode(app, "invite")
    assert client.get("/register").status_code == 403
    with app.app_context():
        token = invite_user(db.session, system_context(), ensure_default_tenant(db.session),
                            "guest@example.com")
        db.session.commit()
    path = f"/register?invite={token}"
    wrong = _register(client, email="other@example.com", path=path)
    assert wrong.status_code == 422
    assert "Use the address the invitation was sent to." in wrong.get_data(as_text=True)
    ok = _register(client, email="Guest@Example.com", path=path)
    assert ok.status_code == 200 and "Your account is ready" in ok.get_data(as_text=True)
    assert client.get(path).status_code == 403  # the invitation is used up


@pytest.mark.parametrize("variant", ["ALICE@EXAMPLE.COM", "ａｌｉｃｅ@example.com",
                                     "Alice@Example.Com"])
def test_email_unique_under_case_and_unicode_forms(app, variant):
    make_user(app)
    with app.app_context(), pytest.raises(Conflict):
        create_user(db.session, system_context(), ensure_default_tenant(db.session),
                    email=variant, username="other")


def test_database_index_enforces_normalised_email(app):
    make_user(app)
    with app.app_context():
        tenant = ensure_default_tenant(db.session)
        with pytest.raises(IntegrityError):
            db.session.execute(insert(User).values(
                id=__import__("uuid").uuid4(), tenant_id=tenant.id, username="x",
                username_normalized="x", email="ALICE@example.com",
                email_normalized="alice@example.com", email_verified=False, is_active=True,
                failed_login_count=0, must_change_password=False, phone_number_verified=False))
        db.session.rollback()


def test_email_syntax_is_checked_without_dns(app, client):
    with app.app_context(), pytest.raises(ValidationFailed):
        create_user(db.session, system_context(), ensure_default_tenant(db.session),
                    email="not-an-address", username="x")
    response = _register(client, email="no-at-sign")
    assert response.status_code == 422 and "Invalid email address" in response.get_data(
        as_text=True)
    # A domain that does not exist passes: no DNS lookups by default.
    assert _register(client, email="a@no-such-domain-4f2c.example").status_code == 200


def test_registering_a_taken_address_answers_the_same_and_mails_the_owner(app, client):
    mail = MailLog(app)
    make_user(app)
    first = _register(client, email="ALICE@example.com", username="mallory")
    assert first.status_code == 200 and "Check your email" in first.get_data(as_text=True)
    assert "mallory" not in _users(app)
    assert mail.wait()[0][:2] == ("alice@example.com",
                                  "Someone tried to register with your address")


def test_forgot_answers_the_same_whether_or_not_the_address_exists(app, client):
    mail = MailLog(app)
    make_user(app)
    known = post_form(client, "/password/forgot", {"email": "alice@example.com"})
    unknown = post_form(client, "/password/forgot", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    strip = lambda r: r.get_data(as_text=True).split("csrf_token")[0]  # noqa: E731
    assert strip(known) == strip(unknown)
    assert len(mail.wait()) == 1 and mail.sent[0][0] == "alice@example.com"
    outcomes = [e.outcome for e in events(app, EventType.PASSWORD_RESET_REQUESTED)]
    assert outcomes == [Outcome.SUCCESS, Outcome.UNKNOWN_USER]


def test_reset_token_is_stored_hashed_single_use_and_ends_sessions(app):
    client, other = app.test_client(), app.test_client()
    mail = MailLog(app)
    make_user(app)
    sign_in(other)
    post_form(client, "/password/forgot", {"email": "alice@example.com"})
    link = mail.link("/password/reset/")
    raw = link.rsplit("/", 1)[1]
    with app.app_context():
        row = db.session.execute(select(AccountToken)).scalar_one()
        assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest() and raw not in str(
            row.__dict__)
        assert timedelta(minutes=29) < row.expires_at - row.created_at <= timedelta(minutes=30)
    weak = post_form(client, link, {"password": "weak", "confirm": "weak"})
    assert weak.status_code == 422  # refused password: the link still works
    done = post_form(client, link, {"password": GOOD, "confirm": GOOD})
    assert done.status_code == 200 and "every device was signed out" in done.get_data(as_text=True)
    assert client.get(link).status_code == 400  # single use
    assert other.get("/account").status_code == 302
    with app.app_context():
        assert all(s.revoked_at for s in db.session.execute(select(UserSession)).scalars())
    assert sign_in(client, password=GOOD).status_code == 302
    assert events(app, EventType.PASSWORD_CHANGED)[-1].details["changed_by"] == "reset"


def test_expired_reset_link_is_refused(app, client):
    mail = MailLog(app)
    make_user(app)
    post_form(client, "/password/forgot", {"email": "alice"})
    link = mail.link("/password/reset/")
    with app.app_context():
        row = db.session.execute(select(AccountToken)).scalar_one()
        row.expires_at = row.created_at  # as if 30 minutes had passed
        db.session.commit()
    assert client.get(link).status_code == 400


def test_reset_clears_a_lockout(app, client, config_overrides):
    mail = MailLog(app)
    make_user(app)
    threshold = app.extensions["idp"].config.lockout_threshold
    for _ in range(threshold):
        sign_in(client, password="wrong")
    assert sign_in(client).status_code == 401
    post_form(client, "/password/forgot", {"email": "alice@example.com"})
    link = mail.link("/password/reset/")
    assert post_form(client, link, {"password": GOOD, "confirm": GOOD}).status_code == 200
    assert sign_in(client, password=GOOD).status_code == 302
    assert events(app, EventType.USER_UNLOCKED)[-1].details == {"was_locked": True}


def test_reset_refuses_recent_passwords(app, client):
    mail = MailLog(app)
    make_user(app)
    post_form(client, "/password/forgot", {"email": "alice@example.com"})
    link = mail.link("/password/reset/")
    response = post_form(client, link, {"password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 422
    assert "not used for your last 5 passwords" in response.get_data(as_text=True)
