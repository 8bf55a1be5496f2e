"""Admin reset of MFA (permission-checked, reason audited, CLI), and email notices
delivered to a real SMTP server on loopback."""

from __future__ import annotations

import dataclasses
import socket
import time
import uuid

import pytest
from sqlalchemy import select

from idp.errors import Forbidden, NotFound, ValidationFailed
from idp.extensions import db
from idp.mfa.reset import reset_mfa
from idp.models.accounts import User
from idp.models.audit import AuditEvent
from idp.models.mfa import BackupCode, TotpCredential
from idp.rbac import authorization
from idp.rbac.access import user_access
from idp.rbac.authorization import Caller
from idp.rbac.roles import assign_role
from idp.request_context import RequestContext, system_context
from idp.tenancy.tenants import ensure_default_tenant
from tests.factories import make_user
from tests.mfa_flow import enrol_totp, make_backup_codes, password_step


def _person(app, username, role=None):
    user_id = make_user(app, email=f"{username}@example.com", username=username)
    if role:
        with app.app_context():
            assign_role(db.session, system_context(), db.session.get(User, uuid.UUID(user_id)), role,
                        ensure_default_tenant(db.session))
            db.session.commit()
    return user_id


def _get(user_id):
    return db.session.get(User, uuid.UUID(user_id))


def _caller(user: User) -> Caller:
    return Caller(user.tenant_id, user_access(db.session, user), user=user)


def _reset_as(actor_id, target_id, reason, ctx=None):
    """An MFA reset as the admin API does it: the one authorization rule, then the service."""
    target = authorization.load_user(db.session, _caller(_get(actor_id)), target_id, "mfa:reset")
    return reset_mfa(db.session, ctx or system_context(), target, reason)


def test_reset_needs_the_permission_and_a_reason(app):
    alice = _person(app, "alice")
    enrol_totp(app, alice)
    member, helpdesk = _person(app, "mallory", "member"), _person(app, "hank", "helpdesk")
    ctx = RequestContext(ip="203.0.113.9", user_agent="pytest-admin")
    with app.app_context():
        with pytest.raises(Forbidden):
            _reset_as(member, alice, "lost phone")
        with pytest.raises(ValidationFailed):
            _reset_as(helpdesk, alice, "   ")
        db.session.rollback()
        ctx = dataclasses.replace(ctx, actor_id=helpdesk)
        result = _reset_as(helpdesk, alice, "lost phone, ticket 42", ctx)
        db.session.commit()
        assert result.totp == 1
        event = db.session.execute(select(AuditEvent).where(AuditEvent.type == "mfa.reset")).scalar_one()
        assert event.details["reason"] == "lost phone, ticket 42"
        assert event.actor_id == helpdesk and str(event.subject_id) == alice
        assert event.ip == "203.0.113.9" and event.user_agent == "pytest-admin"
        assert db.session.execute(select(TotpCredential)).first() is None


def test_reset_is_confined_to_the_actors_tenant(app):
    from idp.models.tenancy import Tenant

    alice = _person(app, "alice")
    with app.app_context():
        other = Tenant(slug="other", name="Other")
        db.session.add(other)
        db.session.flush()
        from idp.accounts.users import create_user

        outsider = create_user(db.session, system_context(), other, email="o@example.com",
                               username="o", password="Correct-Horse-9!",
                               config=app.extensions["idp"].config)
        assign_role(db.session, system_context(), outsider, "helpdesk", other)
        db.session.commit()
        with pytest.raises(NotFound):
            _reset_as(str(outsider.id), alice, "not mine")


def _cli(config_overrides, *args, smtp_url=None):
    import os
    import subprocess
    import sys

    env = {**os.environ, "IDP_DATABASE_URL": config_overrides["database_url"],
           "IDP_KEYS_DIR": config_overrides["keys_dir"], "IDP_ISSUER": "http://localhost"}
    if smtp_url:
        env["IDP_SMTP_URL"] = smtp_url
    return subprocess.run([sys.executable, "-m", "idp.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_cli_reset_with_reason(app, config_overrides, smtp_server):
    alice = _person(app, "alice")
    enrol_totp(app, alice)
    make_backup_codes(app, alice)
    inbox, url = smtp_server
    result = _cli(config_overrides, "users", "mfa", "reset", "alice", "--reason", "lost phone",
                  smtp_url=url)
    assert result.returncode == 0, result.stderr
    assert "removed 1 authenticator app(s), 0 passkey(s), 10 backup code(s)" in result.stdout
    _wait_for(inbox, 1)
    assert inbox.messages[0][0] == ["alice@example.com"]
    assert "Subject: Your two-step verification was reset" in inbox.messages[0][1]
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.type == "mfa.reset")).scalar_one()
        assert event.details["reason"] == "lost phone" and event.actor_id == "system"
        assert db.session.execute(select(BackupCode)).first() is None
    missing = _cli(config_overrides, "users", "mfa", "reset", "alice")
    assert missing.returncode != 0 and "--reason" in missing.stderr


def test_cli_reset_unknown_user_is_one_line(app, config_overrides):
    result = _cli(config_overrides, "users", "mfa", "reset", "nobody", "--reason", "x")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["error: No user 'nobody'."]


def test_after_reset_the_person_logs_in_with_the_password_alone(app, client):
    alice = _person(app, "alice")
    enrol_totp(app, alice)
    assert password_step(client).headers["Location"] == "/login/mfa"
    with app.app_context():
        reset_mfa(db.session, system_context(), _get(alice), "lost phone")
        db.session.commit()
    client.delete_cookie("idp_flow")
    assert password_step(client).headers["Location"] != "/login/mfa"


# --- email through a real SMTP server -------------------------------------------------------

class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real aiosmtpd server on loopback; yields (inbox, smtp URL)."""
    from aiosmtpd.controller import Controller

    inbox, port = _Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
def smtp_inbox(smtp_server, config_overrides):
    config_overrides["smtp_url"] = smtp_server[1]
    return smtp_server[0]


def _wait_for(inbox, count):
    deadline = time.time() + 5
    while len(inbox.messages) < count and time.time() < deadline:
        time.sleep(0.05)


def test_adding_and_removing_a_factor_sends_mail(smtp_inbox, app, client):
    from tests.factories import csrf_from
    from tests.mfa_flow import code, reauthenticate, secret_in

    make_user(app)
    password_step(client)
    token = csrf_from(client.get("/account/mfa").get_data(as_text=True))
    client.post("/account/mfa/totp", data={"csrf_token": token})
    page = client.get("/account/mfa/totp/confirm").get_data(as_text=True)
    secret = secret_in(page)
    client.post("/account/mfa/totp/confirm", data={"code": code(secret, -1),
                                                   "csrf_token": csrf_from(page)})
    with app.app_context():
        row_id = str(db.session.execute(select(TotpCredential)).scalar_one().id)
    reauthenticate(client, code(secret))
    client.post("/account/mfa/remove", data={"kind": "totp", "factor_id": row_id,
                                             "confirm": "yes", "csrf_token": csrf_from(page)})
    _wait_for(smtp_inbox, 2)
    assert [m[0] for m in smtp_inbox.messages] == [["alice@example.com"], ["alice@example.com"]]
    assert "Subject: A sign-in method was added to your account" in smtp_inbox.messages[0][1]
    assert "An authenticator app was removed from your account." in smtp_inbox.messages[1][1]


def test_admin_api_reset_sends_the_notice(smtp_inbox, app, client):
    from tests.integration.admin_support import bearer

    alice = _person(app, "alice")
    enrol_totp(app, alice)
    auth = bearer(client, app, roles=("helpdesk",))
    response = client.post(f"/api/v1/users/{alice}/mfa/reset", json={"reason": "lost phone"},
                           headers=auth)
    assert response.status_code == 200 and response.get_json()["removed"]["totp"] == 1
    _wait_for(smtp_inbox, 1)
    assert smtp_inbox.messages[0][0] == ["alice@example.com"]
    assert "Subject: Your two-step verification was reset" in smtp_inbox.messages[0][1]


def test_the_notice_is_in_the_persons_language(smtp_inbox, app, client):
    """An English-only admin API resets a German speaker's factors: the mail is German."""
    from email import message_from_string
    from email.policy import default

    from tests.integration.admin_support import bearer

    alice = _person(app, "alice")
    with app.app_context():
        db.session.get(User, uuid.UUID(alice)).locale = "de-AT"
        db.session.commit()
    enrol_totp(app, alice)
    response = client.post(f"/api/v1/users/{alice}/mfa/reset", json={"reason": "lost phone"},
                           headers=bearer(client, app, roles=("helpdesk",)))
    assert response.status_code == 200
    _wait_for(smtp_inbox, 1)
    mail = message_from_string(smtp_inbox.messages[0][1], policy=default)
    assert mail["Subject"] == "Ihre Zwei-Schritt-Verifizierung wurde zurückgesetzt"
    assert "Richten Sie bei der nächsten Anmeldung einen neuen Authenticator ein." in (
        mail.get_body(("plain",)).get_content())
    html = mail.get_body(("html",)).get_content()  # the HTML part, as from the hosted pages
    assert '<html lang="de">' in html and "neuen Authenticator ein." in html


def test_admin_console_reset_sends_the_notice(smtp_inbox, app, client):
    from tests.factories import csrf_from
    from tests.integration.admin_support import browser_login, make_person

    alice = _person(app, "alice")
    enrol_totp(app, alice)
    make_person(app, "hal", roles=["helpdesk"])
    browser_login(client, "hal")
    page = client.get(f"/admin/users/{alice}/reset-mfa").get_data(as_text=True)  # confirmation
    response = client.post(f"/admin/users/{alice}/reset-mfa",
                           data={"csrf_token": csrf_from(page), "reason": "lost phone"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    # hal's own sign-in used a backup code, which hal is mailed about too.
    _wait_for(smtp_inbox, 2)
    to_alice = [body for to, body in smtp_inbox.messages if to == ["alice@example.com"]]
    assert "Subject: Your two-step verification was reset" in to_alice[0]
