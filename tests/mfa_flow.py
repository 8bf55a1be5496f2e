"""Driving MFA through the Flask test client: enrolment, the login step, passkeys."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from idp.extensions import db
from idp.mfa import enrolment, totp
from idp.models.accounts import User
from idp.request_context import system_context
from tests.factories import PASSWORD, csrf_from


def now_step() -> int:
    return totp.current_step(datetime.now(UTC))


def code(secret: str, offset: int = 0) -> str:
    """The code for the current step (+offset); each accepted step is then used up."""
    return totp.code_at(secret, now_step() + offset)


def enrol_totp(app, user_id: str) -> str:
    """Set up a confirmed authenticator through the services; returns the secret.

    Confirmed with the code of the *previous* step, so the current and next steps are
    still free for the test's logins.
    """
    with app.app_context():
        user = db.session.get(User, uuid.UUID(user_id))
        keyring = app.extensions["idp"].keyring
        secret = enrolment.start_totp(db.session, system_context(), keyring, user)
        assert enrolment.confirm_totp(db.session, system_context(), keyring, user,
                                      totp.code_at(secret, now_step() - 1))
        db.session.commit()
        return secret


def make_backup_codes(app, user_id: str) -> list[str]:
    with app.app_context():
        user = db.session.get(User, uuid.UUID(user_id))
        codes = enrolment.regenerate_backup_codes(db.session, system_context(),
                                                  app.extensions["idp"].keyring, user)
        db.session.commit()
        return codes


def password_step(client, username="alice", password=PASSWORD, rid=""):
    """POST /login; returns the response (a redirect to /login/mfa for MFA users)."""
    page = client.get("/login" + (f"?rid={rid}" if rid else ""))
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token, "rid": rid})


def submit_code(client, value: str):
    page = client.get("/login/mfa")
    assert page.status_code == 200, page.status_code
    return client.post("/login/mfa", data={"code": value,
                                           "csrf_token": csrf_from(page.get_data(as_text=True))})


def session_cookie_set(response) -> bool:
    return any(c.startswith("idp_session=") and "idp_session=;" not in c
               for c in response.headers.getlist("Set-Cookie"))


def backup_codes_in(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", html)


def secret_in(html: str) -> str:
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html)
    assert match, "no secret on the page"
    return match.group(1).replace(" ", "")


def reauthenticate(client, code_value: str | None = None, password: str = PASSWORD):
    """Confirm the password (and a code, when given) on /account/mfa/reauth."""
    page = client.get("/account/mfa/reauth")
    data = {"password": password, "csrf_token": csrf_from(page.get_data(as_text=True))}
    if code_value is not None:
        data["code"] = code_value
    return client.post("/account/mfa/reauth", data=data)
