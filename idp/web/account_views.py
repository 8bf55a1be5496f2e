"""The signed-in person's pages: profile, password, sessions."""

from __future__ import annotations

import uuid
from functools import wraps

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from idp.accounts.account_admin import end_all_sessions
from idp.accounts.consents import connected_apps, withdraw_consent
from idp.accounts.password_changes import ChangedBy, change_password, tenant_policy
from idp.accounts.profile import EDITABLE, update_profile
from idp.audit import EventType
from idp.errors import NotFound, ValidationFailed
from idp.extensions import db
from idp.federation.identities import list_identities, unlink_identity
from idp.http import clear_session_cookie, settings, signed_in_user
from idp.mfa.enrolment import summarize_factors
from idp.models.accounts import User
from idp.models.sessions import UserSession
from idp.rate_limits import failed_attempts_limit, login_limit
from idp.sessions.devices import describe_device
from idp.sessions.service import revoke_other_sessions, revoke_session
from idp.web.account_forms import ActionForm, ChangePasswordForm, ProfileForm, policy_hints
from idp.web.destination import wanted_path
from idp.web.login import confirm_password
from idp.web.mail_dispatch import send_password_notice

bp = Blueprint("account", __name__)


def signed_in(view):
    """Pass (user, session) to the view, or send the browser to /login."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        session, user = signed_in_user()
        if user is None:
            expired = 1 if g.get("session_expired") else None
            return redirect(url_for("web.login", expired=expired, next=wanted_path()))
        return view(user, session, *args, **kwargs)

    return wrapper


def _hints(user: User) -> dict:
    return policy_hints(tenant_policy(db.session, settings(), user))


# --- profile ---------------------------------------------------------------------------

@bp.route("/account", methods=["GET", "POST"])
@signed_in
def profile(user, session):
    form = ProfileForm(obj=user)
    saved = False
    if request.method == "POST" and form.validate_on_submit():
        values = {name: getattr(form, name).data for name in EDITABLE}
        values["birthdate"] = values["birthdate"].isoformat() if values["birthdate"] else None
        try:
            saved = bool(update_profile(db.session, g.request_context, user, values))
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            getattr(form, exc.field or "name").errors = [exc.message]
            return render_template("account/profile.html", user=user, form=form), 422
    elif request.method == "POST":
        return render_template("account/profile.html", user=user, form=form), 400
    return render_template("account/profile.html", user=user, form=form, saved=saved,
                           factors=summarize_factors(db.session, user))


# --- password ---------------------------------------------------------------------------

@bp.route("/account/password", methods=["GET", "POST"])
@failed_attempts_limit(login_limit, event=EventType.PASSWORD_CHANGED)
@signed_in
def password(user, session):
    form = ChangePasswordForm()
    hints = _hints(user)
    if request.method == "GET":
        return render_template("account/password.html", form=form, hints=hints, user=user)
    if not form.validate_on_submit():
        return render_template("account/password.html", form=form, hints=hints, user=user), 400
    ctx = g.request_context
    # A wrong current password is a failed authentication like a login's: it counts
    # toward the account lockout, and 401 toward the per-IP failed-login allowance.
    if not confirm_password(user, form.current_password.data, "password_change"):
        form.current_password.errors = ["Your current password is not correct."]
        return render_template("account/password.html", form=form, hints=hints, user=user), 401
    try:
        change_password(db.session, ctx, settings(), user, form.password.data,
                        changed_by=ChangedBy.SELF)
        ended = (revoke_other_sessions(db.session, ctx, session, reason="password_changed")
                 if form.end_other_sessions.data else 0)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        form.password.errors = [exc.message]
        return render_template("account/password.html", form=form, hints=hints, user=user), 422
    send_password_notice(user, ended)
    return render_template("account/password.html", form=ChangePasswordForm(formdata=None),
                           hints=hints, user=user, done=True, ended=ended)


# --- sessions ---------------------------------------------------------------------------

def _live_sessions(user: User) -> list[UserSession]:
    now = g.request_context.now
    return db.session.execute(
        select(UserSession).where(UserSession.user_id == user.id,
                                  UserSession.revoked_at.is_(None), UserSession.expires_at > now)
        .order_by(UserSession.last_seen_at.desc())
    ).scalars().all()


@bp.get("/account/sessions")
@signed_in
def sessions(user, session):
    rows = [{"id": s.id, "device": describe_device(s.user_agent), "ip": s.ip or "—",
             "created": s.created_at, "last_active": s.last_seen_at,
             "current": s.id == session.id} for s in _live_sessions(user)]
    return render_template("account/sessions.html", sessions=rows, form=ActionForm(), user=user,
                           revoked=request.args.get("revoked") == "1")


@bp.post("/account/sessions/<session_id>/revoke")
@signed_in
def revoke_one(user, session, session_id):
    form = ActionForm()
    try:
        target_id = uuid.UUID(session_id)
    except ValueError:
        target_id = None
    target = db.session.get(UserSession, target_id) if target_id else None
    if not form.validate_on_submit() or target is None or target.user_id != user.id:
        return render_template("error.html", title=_("That session cannot be ended"),
                               message=_("It may have ended already.")), 400
    revoke_session(db.session, g.request_context, target, reason="user_revoked")
    db.session.commit()
    if target.id == session.id:
        response = redirect(url_for("web.login"))
        clear_session_cookie(response)
        return response
    return redirect(url_for("account.sessions", revoked=1))


@bp.post("/account/sessions/revoke-all")
@signed_in
def revoke_all(user, session):
    """Sign out everywhere: every session, this one included, and their tokens."""
    if not ActionForm().validate_on_submit():
        return render_template("error.html", title=_("Please try again"),
                               message=_("The form expired.")), 400
    end_all_sessions(db.session, g.request_context, user, reason="sign_out_everywhere")
    db.session.commit()
    response = redirect(url_for("web.login"))
    clear_session_cookie(response)
    return response


# --- linked identities (federation) -------------------------------------------------------

def _identities_page(user, error=None, status=200):
    rows = list_identities(db.session, user)
    return render_template("account/identities.html", rows=rows, form=ActionForm(),
                           error=error, removed=request.args.get("removed") == "1"), status


@bp.get("/account/identities")
@signed_in
def identities(user, session):
    return _identities_page(user)


@bp.post("/account/identities/<identity_id>/remove")
@signed_in
def remove_identity(user, session, identity_id):
    if not ActionForm().validate_on_submit():
        return redirect(url_for("account.identities"))
    try:
        unlink_identity(db.session, g.request_context, user, identity_id)
    except (ValidationFailed, NotFound) as exc:
        db.session.rollback()
        return _identities_page(user, exc.message, exc.status)
    db.session.commit()
    return redirect(url_for("account.identities", removed=1))


# --- connected apps (remembered consent) ------------------------------------------------

def _apps_page(user, error=None, status=200):
    return render_template("account/apps.html", apps=connected_apps(db.session, user.id),
                           form=ActionForm(), error=error,
                           removed=request.args.get("removed") == "1"), status


@bp.get("/account/apps")
@signed_in
def apps(user, session):
    return _apps_page(user)


@bp.post("/account/apps/<client_id>/remove")
@signed_in
def remove_app(user, session, client_id):
    if not ActionForm().validate_on_submit():
        return _apps_page(user, _("The form expired. Please try again."), 400)
    if not withdraw_consent(db.session, g.request_context, user.id, user.tenant_id,
                            client_id[:200]):
        db.session.rollback()
        return _apps_page(user, _("That application has no access to remove."), 404)
    db.session.commit()
    return redirect(url_for("account.apps", removed=1))
