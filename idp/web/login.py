"""Finishing a login: session, cookie, audit, last-login — shared by the password and MFA steps."""

from __future__ import annotations

from flask import g, redirect, url_for

from idp.accounts.lockout import clear_failures
from idp.audit import EventType, Outcome, record
from idp.extensions import db
from idp.http import services, set_session_cookie
from idp.sessions.service import start_session


def complete_login(user, amr: list[str], rid: str | None, acr: str | None = None):
    """Open the session, audit the success, and go back to the pending authorization."""
    ctx = g.request_context
    svc = services()
    session, token = start_session(db.session, ctx, user, svc.session_policy, amr=amr, acr=acr)
    user.last_login_at = ctx.now
    user.last_login_ip = ctx.ip
    clear_failures(db.session, user)  # every step passed (see accounts/authentication.py)
    record(db.session, ctx, EventType.LOGIN, outcome=Outcome.SUCCESS, subject_id=user.id,
           tenant_id=user.tenant_id, username=user.username,
           details={"amr": amr, "session_id": str(session.id)})
    db.session.commit()
    target = url_for("oauth.authorize_resume", rid=rid) if rid else url_for("account.profile")
    response = redirect(target)
    set_session_cookie(response, token,
                       int((session.expires_at - ctx.now).total_seconds()))
    return response
