"""Finishing a login: session, cookie, audit, last-login — shared by the password and MFA steps."""

from __future__ import annotations

from flask import g, redirect, url_for
from flask import session as flow_cookie

from idp.accounts.authentication import LoginStatus, check_password
from idp.accounts.lockout import clear_failures
from idp.audit import EventType, Outcome, record
from idp.extensions import db
from idp.federation.logout import remember_upstream
from idp.http import current_session, local_path, services, set_session_cookie
from idp.sessions.service import revoke_session, start_session
from idp.web.mail_dispatch import send_lock_notice

# Where a sign-in started from one of our pages (e.g. /device) returns to, in the signed
# flow cookie: the password, passkey and upstream-provider paths all end in complete_login.
RETURN_KEY = "login_next"


def remember_return(next_url: str | None) -> None:
    """Keep a local `next` for after the login; anything else forgets an earlier one."""
    target = local_path(next_url)
    if target:
        flow_cookie[RETURN_KEY] = target
    else:
        flow_cookie.pop(RETURN_KEY, None)


def complete_login(user, amr: list[str], rid: str | None, acr: str | None = None,
                   provider: str | None = None, upstream_id_token: str | None = None):
    """Open the session, audit the success, and go back to the pending authorization."""
    ctx = g.request_context
    svc = services()
    # A login over a live session (prompt=login, max_age, step-up, another person):
    # the old session ends here, so its cookie value opens nothing any more.
    previous = current_session()
    if previous is not None:
        revoke_session(db.session, ctx, previous, reason="replaced_by_login")
    session, token = start_session(db.session, ctx, user, svc.session_policy, amr=amr, acr=acr)
    user.last_login_at = ctx.now
    user.last_login_ip = ctx.ip
    clear_failures(db.session, user)  # every step passed (see accounts/authentication.py)
    details = {"amr": amr, "session_id": str(session.id)}
    if provider:  # signed in through an upstream provider (web/federation_views.py)
        details["provider"] = provider
        remember_upstream(db.session, svc.keyring, session, provider, upstream_id_token)
    record(db.session, ctx, EventType.LOGIN, outcome=Outcome.SUCCESS, subject_id=user.id,
           tenant_id=user.tenant_id, username=user.username, details=details)
    db.session.commit()
    back = local_path(flow_cookie.pop(RETURN_KEY, None))
    target = (url_for("oauth.authorize_resume", rid=rid) if rid
              else back or url_for("account.profile"))
    response = redirect(target)
    set_session_cookie(response, token,
                       int((session.expires_at - ctx.now).total_seconds()))
    return response


def confirm_password(user, password: str, stage: str) -> bool:
    """The signed-in person types their password again (re-authentication, password
    change): the login's check, lockout, lock mail and audit. A failure is committed."""
    result = check_password(db.session, g.request_context, user, password,
                            services().lockout_policy, stage=stage)
    if result.status == LoginStatus.AUTHENTICATED:
        return True
    db.session.commit()
    if result.locked_now:
        send_lock_notice(user)
    return False
