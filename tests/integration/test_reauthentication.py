"""Typing the password again (re-authentication, the current password on a change) is the
login's check: it counts toward the lockout, and the lock is audited, mailed and counted.
Sessions end where they should: on a login over a live one, on request after a password
change, and when an administrator sets the password."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY
from sqlalchemy import select

from idp.audit import EventType, Outcome
from idp.cli.base import main
from idp.extensions import db
from idp.models.mfa import TotpCredential
from idp.models.sessions import UserSession
from tests.account_support import MailLog, events, post_form, sign_in
from tests.factories import PASSWORD, csrf_from, make_client, make_user
from tests.mfa_flow import enrol_totp, reauthenticate, session_cookie_set
from tests.oauth_flow import get_code

NEW_PASSWORD = "Fresh-Garden-Path-8"


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides.update(lockout_threshold=3, lockout_window=600, lockout_duration=900)
    return config_overrides


def _lockouts() -> float:
    return REGISTRY.get_sample_value("idp_lockouts_total") or 0.0


def _change_password(client, current, *, end_others=False):
    data = {"current_password": current, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    if end_others:
        data["end_other_sessions"] = "y"
    return post_form(client, "/account/password", data)


def _assert_locked_like_a_login(app, client, mail, stage, before):
    locked = events(app, EventType.USER_LOCKED)
    assert len(locked) == 1 and locked[0].details == {"failures": 3, "stage": stage}
    failures = [e for e in events(app, EventType.LOGIN, Outcome.INVALID_PASSWORD)]
    assert [e.details for e in failures] == [{"stage": stage}] * 3
    assert [s for _, s, _ in mail.wait()] == ["Your account was locked"]
    assert _lockouts() == before + 1
    refused = sign_in(client)  # the right password: the account is locked
    assert refused.status_code == 401


def test_wrong_current_passwords_lock_the_account_like_logins(app, client):
    mail = MailLog(app)
    make_user(app)
    before = _lockouts()
    assert sign_in(client).status_code == 302
    for _ in range(3):
        response = _change_password(client, "wrong-password")
        assert response.status_code == 401
        assert "Your current password is not correct." in response.get_data(as_text=True)
    # Locked: even the right current password is refused now, in the same words.
    refused = _change_password(client, PASSWORD)
    assert refused.status_code == 401
    assert "Your current password is not correct." in refused.get_data(as_text=True)
    assert not events(app, EventType.PASSWORD_CHANGED)
    _assert_locked_like_a_login(app, client, mail, "password_change", before)


def test_wrong_passwords_at_reauthentication_lock_the_account_like_logins(app, client):
    mail = MailLog(app)
    make_user(app)
    before = _lockouts()
    sign_in(client)
    for _ in range(3):
        assert reauthenticate(client, password="wrong-password").status_code == 401
    assert reauthenticate(client).status_code == 401
    _assert_locked_like_a_login(app, client, mail, "reauthentication", before)


def test_a_success_in_between_gives_the_attempt_back(app, client):
    """Only failures count: a correct password between two wrong ones does not add one."""
    make_user(app)
    sign_in(client)
    _change_password(client, "wrong-password")
    assert reauthenticate(client).headers["Location"] == "/account/mfa"
    _change_password(client, "wrong-password")
    assert not events(app, EventType.USER_LOCKED)


def test_a_password_change_mails_and_can_end_the_other_sessions(app):
    mail = MailLog(app)
    make_user(app)
    here, elsewhere, kept = app.test_client(), app.test_client(), app.test_client()
    for c in (here, elsewhere):
        sign_in(c)
    page = here.get("/account/password").get_data(as_text=True)
    assert 'id="end-other-sessions"' in page and "checked" in page  # offered, on by default
    done = _change_password(here, PASSWORD, end_others=True)
    assert done.status_code == 200
    assert "1 other session was signed out" in done.get_data(as_text=True)
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account").headers["Location"].startswith("/login")
    to, subject, body = mail.wait()[0]
    assert (to, subject) == ("alice@example.com", "Your password was changed")
    assert "1 other session was signed out" in body
    # Without the box ticked, the other sessions stay.
    sign_in(kept, password=NEW_PASSWORD)
    data = {"current_password": NEW_PASSWORD, "password": "Another-Garden-Path-9",
            "confirm": "Another-Garden-Path-9"}
    assert post_form(here, "/account/password", data).status_code == 200
    assert kept.get("/account").status_code == 200


def test_an_administrator_setting_the_password_ends_every_session(app, client, caplog):
    make_user(app)
    sign_in(client)
    cfg = app.extensions["idp"].config
    env = {"IDP_DATABASE_URL": cfg.database_url, "IDP_KEYS_DIR": cfg.keys_dir}
    with caplog.at_level(logging.INFO, logger="idp.mail"):
        result = CliRunner().invoke(main, ["users", "set-password", "alice", "--password-stdin"],
                                    input=NEW_PASSWORD + "\n", env=env)
    assert result.exit_code == 0 and "1 session(s) ended" in result.output
    assert client.get("/account").headers["Location"].startswith("/login")
    revoked = events(app, EventType.SESSION_REVOKED)
    assert revoked[-1].details["reason"] == "password_set_by_admin"
    assert any("The password of your account was just changed" in r.getMessage()
               for r in caplog.records)


def test_prompt_login_ends_the_old_session(app, client):
    make_user(app)
    client_id, _secret = make_client(app)
    sign_in(client)
    old_cookie = client.get_cookie("idp_session").value
    query, _verifier = get_code(client, client_id, prompt="login")
    assert "code" in query
    new_cookie = client.get_cookie("idp_session").value
    assert new_cookie != old_cookie
    with app.app_context():
        rows = db.session.execute(select(UserSession).order_by(UserSession.created_at)).scalars()
        reasons = [s.revoke_reason for s in rows]
    assert reasons == ["replaced_by_login", None]
    client.set_cookie("idp_session", old_cookie)
    assert client.get("/account").headers["Location"].startswith("/login")


def test_pages_asked_for_after_the_password_step_alone_are_audited(app, client):
    user_id = make_user(app)
    enrol_totp(app, user_id)
    assert sign_in(client).headers["Location"] == "/login/mfa"
    client_id, _secret = make_client(app)
    assert client.get("/account").headers["Location"].startswith("/login")
    assert client.get("/account/mfa").headers["Location"].startswith("/login")
    authorize = client.get(f"/authorize?response_type=code&client_id={client_id}"
                           "&redirect_uri=https://rp.example.com/cb&scope=openid")
    assert authorize.headers["Location"].startswith("/login")
    skipped = [e for e in events(app, EventType.MFA, Outcome.FAILURE)
               if e.details.get("reason") == "second_factor_skipped"]
    assert [e.details["path"] for e in skipped] == ["/account", "/account/mfa", "/authorize"]
    assert {str(e.subject_id) for e in skipped} == {user_id}
    assert all(e.details["amr"] == ["pwd"] for e in skipped)


def test_a_forged_enrolment_step_is_audited_and_adds_nothing(app, client):
    user_id = make_user(app)
    enrol_totp(app, user_id)
    assert sign_in(client).headers["Location"] == "/login/mfa"
    page = client.get("/login/mfa").get_data(as_text=True)
    forged = client.post("/login/mfa/enrol", data={"code": "123456",
                                                   "csrf_token": csrf_from(page)})
    assert forged.headers["Location"] == "/login/mfa" and not session_cookie_set(forged)
    reasons = [e.details.get("reason") for e in events(app, EventType.MFA, Outcome.FAILURE)]
    assert reasons == ["enrolment_not_due"]
    with app.app_context():
        assert len(db.session.execute(select(TotpCredential)).scalars().all()) == 1


def test_a_forced_password_change_at_login_mails_the_person(app, client):
    from idp.accounts.password_changes import require_password_change
    from idp.models.accounts import User
    from idp.request_context import system_context

    mail = MailLog(app)
    make_user(app)
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == "alice")).scalar_one()
        require_password_change(db.session, system_context(), user)
        db.session.commit()
    assert sign_in(client).headers["Location"] == "/login/password"
    done = post_form(client, "/login/password", {"password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert [s for _, s, _ in mail.wait()] == ["Your password was changed"]
