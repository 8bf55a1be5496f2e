"""/account/mfa: set up an authenticator app, passkeys and backup codes; remove them.

Changing sign-in methods needs a recent login (within RECENT_LOGIN seconds) or the
password confirmed again; the person is emailed when a method is added or removed.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from idp.accounts.lockout import is_locked, register_failure
from idp.accounts.passwords import verify_password
from idp.audit import EventType, Outcome, record
from idp.errors import DomainError
from idp.extensions import db
from idp.http import current_session, services
from idp.mfa import enrolment, totp
from idp.mfa.passkeys import query_passkeys, registration_options
from idp.models.accounts import User
from idp.web.mfa_forms import (
    ActionForm,
    CodeForm,
    PasskeyRegisterForm,
    ReauthForm,
    RemoveFactorForm,
)
from idp.web.mfa_support import (
    is_recent,
    mark_reauthenticated,
    notify,
    options_response,
    relying_party,
    take_challenge,
)
from idp.web.mfa_views import WRONG_CODE, bp
from idp.web.rate_limits import failed_attempts_limit, login_limit


def _account():
    """(session, user) of the signed-in person, or (None, None)."""
    user_session = current_session()
    if user_session is None:
        return None, None
    user = db.session.get(User, user_session.user_id)
    return (user_session, user) if user is not None and user.is_active else (None, None)


def _to_login():
    return redirect(url_for("web.login", expired=1 if g.get("session_expired") else None))


def _to_reauth():
    return redirect(url_for("mfa.reauth"))


@bp.get("/account/mfa")
def overview():
    user_session, user = _account()
    if user is None:
        return _to_login()
    summary = enrolment.summarize_factors(db.session, user)
    return render_template("mfa/overview.html", user=user, summary=summary,
                           recent=is_recent(user_session, g.request_context.now),
                           action_form=ActionForm(), remove_form=RemoveFactorForm(),
                           passkey_form=PasskeyRegisterForm())


# --- authenticator app -------------------------------------------------------------------

@bp.post("/account/mfa/totp")
def totp_start():
    user_session, user = _account()
    if user is None:
        return _to_login()
    if not ActionForm().validate_on_submit():
        return redirect(url_for("mfa.overview"))
    if not is_recent(user_session, g.request_context.now):
        return _to_reauth()
    enrolment.start_totp(db.session, g.request_context, services().keyring, user)
    db.session.commit()
    return redirect(url_for("mfa.totp_confirm"))


@bp.route("/account/mfa/totp/confirm", methods=["GET", "POST"])
@failed_attempts_limit(login_limit, event=EventType.LOGIN)
def totp_confirm():
    user_session, user = _account()
    if user is None:
        return _to_login()
    svc = services()
    secret = enrolment.pending_secret(db.session, svc.keyring, user)
    if secret is None:
        return redirect(url_for("mfa.overview"))
    form = CodeForm()
    if request.method == "POST" and form.validate_on_submit():
        if enrolment.confirm_totp(db.session, g.request_context, svc.keyring, user, form.code.data):
            codes = enrolment.ensure_backup_codes(db.session, g.request_context, svc.keyring, user)
            db.session.commit()
            notify(user, "added", "An authenticator app")
            if codes:
                return render_template("mfa/backup_codes_new.html", codes=codes, at_login=False)
            flash("Your authenticator app is set up.", "ok")
            return redirect(url_for("mfa.overview"))
        db.session.commit()
        form.code.data = ""
        return _totp_page(user, secret, form, WRONG_CODE, 401)
    return _totp_page(user, secret, form)


def _totp_page(user, secret, form, error=None, status=200):
    uri = totp.provisioning_uri(secret, user.email or user.username, relying_party().name)
    return render_template("mfa/totp_enrol.html", qr=totp.qr_svg_data_uri(uri),
                           secret=totp.group_secret(secret), form=form, error=error,
                           at_login=False, action=url_for("mfa.totp_confirm")), status


# --- removing a factor ---------------------------------------------------------------------

@bp.post("/account/mfa/remove")
def remove():
    user_session, user = _account()
    if user is None:
        return _to_login()
    form = RemoveFactorForm()
    if not form.validate_on_submit():
        return redirect(url_for("mfa.overview"))
    if not is_recent(user_session, g.request_context.now):
        return _to_reauth()
    name = enrolment.remove_factor(db.session, g.request_context, user, form.kind.data,
                                   form.factor_id.data)
    db.session.commit()
    notify(user, "removed", name)
    flash(f"{name} was removed.", "ok")
    return redirect(url_for("mfa.overview"))


# --- backup codes ----------------------------------------------------------------------------

@bp.route("/account/mfa/backup-codes", methods=["GET", "POST"])
def backup_codes():
    user_session, user = _account()
    if user is None:
        return _to_login()
    form = ActionForm()
    summary = enrolment.summarize_factors(db.session, user)
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("mfa/backup_codes.html", summary=summary, form=form)
    if not summary.any:
        flash("Set up an authenticator app or a passkey first.", "error")
        return redirect(url_for("mfa.overview"))
    if not is_recent(user_session, g.request_context.now):
        return _to_reauth()
    codes = enrolment.regenerate_backup_codes(db.session, g.request_context, services().keyring, user)
    db.session.commit()
    return render_template("mfa/backup_codes_new.html", codes=codes, at_login=False)


# --- passkeys -------------------------------------------------------------------------------

@bp.post("/account/mfa/passkeys/options")
def passkey_register_options():
    user_session, user = _account()
    if user is None:
        return {"error": "login_required", "message": "Sign in first."}, 401
    if not is_recent(user_session, g.request_context.now):
        return {"error": "reauthentication_required", "message": "Confirm your password first.",
                "redirect": url_for("mfa.reauth")}, 403
    ceremony = registration_options(relying_party(), user, query_passkeys(db.session, user))
    return options_response(ceremony, "register", uid=str(user.id))


@bp.post("/account/mfa/passkeys")
def passkey_register():
    user_session, user = _account()
    if user is None:
        return _to_login()
    form = PasskeyRegisterForm()
    challenge = take_challenge("register", uid=str(user.id))
    if not form.validate_on_submit() or challenge is None:
        flash("The passkey request expired. Try again.", "error")
        return redirect(url_for("mfa.overview"))
    if not is_recent(user_session, g.request_context.now):
        return _to_reauth()
    try:
        cred = enrolment.register_passkey(db.session, g.request_context, relying_party(), user,
                                          form.credential.data, challenge, form.name.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("mfa.overview"))
    codes = enrolment.ensure_backup_codes(db.session, g.request_context, services().keyring, user)
    db.session.commit()
    notify(user, "added", f"Passkey “{cred.name}”")
    if codes:
        return render_template("mfa/backup_codes_new.html", codes=codes, at_login=False)
    flash(f"Passkey “{cred.name}” was added.", "ok")
    return redirect(url_for("mfa.overview"))


# --- confirming the password again ------------------------------------------------------------

@bp.route("/account/mfa/reauth", methods=["GET", "POST"])
@failed_attempts_limit(login_limit, event=EventType.LOGIN)
def reauth():
    user_session, user = _account()
    if user is None:
        return _to_login()
    form = ReauthForm()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("mfa/reauth.html", form=form)
    ctx, svc = g.request_context, services()
    stored = user.credential.hash if user.credential else None
    if is_locked(user, ctx.now) or not verify_password(stored, form.password.data):
        if not is_locked(user, ctx.now):
            register_failure(db.session, user, svc.lockout_policy, ctx.now)
        record(db.session, ctx, EventType.LOGIN, outcome=Outcome.INVALID_PASSWORD,
               subject_id=user.id, tenant_id=user.tenant_id, username=user.username,
               details={"stage": "reauthentication"})
        db.session.commit()
        return render_template("mfa/reauth.html", form=form, error="That password is not right."), 401
    record(db.session, ctx, EventType.LOGIN, outcome=Outcome.SUCCESS, subject_id=user.id,
           tenant_id=user.tenant_id, username=user.username,
           details={"stage": "reauthentication", "session_id": str(user_session.id)})
    db.session.commit()
    mark_reauthenticated(user_session)
    return redirect(url_for("mfa.overview"))
