"""/account/mfa: set up an authenticator app, passkeys and backup codes; remove them.

Adding or removing a sign-in method needs the password, and the second factor when the
person has one, confirmed within FRESH seconds (mfa_support.is_fresh); removing the last
one is confirmed on a page of its own. The person is emailed about every change.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from idp.audit import EventType, Outcome, record
from idp.errors import DomainError
from idp.extensions import db
from idp.http import services, signed_in_user
from idp.mfa import enrolment, verification
from idp.mfa.passkeys import authentication_options, query_passkeys, registration_options
from idp.mfa.policy import has_factor
from idp.rate_limits import failed_attempts_limit, login_limit
from idp.web.destination import wanted_path
from idp.web.login import confirm_password
from idp.web.mail_dispatch import send_backup_code_notice, send_lock_notice
from idp.web.mfa_forms import (
    ActionForm,
    CodeForm,
    PasskeyRegisterForm,
    ReauthForm,
    RemoveFactorForm,
)
from idp.web.mfa_support import (
    WRONG_CODE,
    is_fresh,
    mark_reauthenticated,
    notify,
    options_response,
    relying_party,
    take_challenge,
    totp_enrol_page,
)

bp = Blueprint("mfa_account", __name__)


def _account():
    """(session, user) of the signed-in person, or (None, None)."""
    return signed_in_user()


def _to_login():
    return redirect(url_for("web.login", expired=1 if g.get("session_expired") else None,
                            next=wanted_path()))


def _to_reauth():
    return redirect(url_for("mfa_account.reauth"))


@bp.get("/account/mfa")
def overview():
    user_session, user = _account()
    if user is None:
        return _to_login()
    summary = enrolment.summarize_factors(db.session, user)
    return render_template("mfa/overview.html", user=user, summary=summary,
                           recent=is_fresh(user_session, user, g.request_context.now),
                           action_form=ActionForm(), remove_form=RemoveFactorForm(),
                           passkey_form=PasskeyRegisterForm())


# --- authenticator app -------------------------------------------------------------------

@bp.post("/account/mfa/totp")
def totp_start():
    user_session, user = _account()
    if user is None:
        return _to_login()
    if not ActionForm().validate_on_submit():
        return redirect(url_for("mfa_account.overview"))
    if not is_fresh(user_session, user, g.request_context.now):
        return _to_reauth()
    enrolment.start_totp(db.session, g.request_context, services().keyring, user)
    db.session.commit()
    return redirect(url_for("mfa_account.totp_confirm"))


@bp.route("/account/mfa/totp/confirm", methods=["GET", "POST"])
@failed_attempts_limit(login_limit, event=EventType.LOGIN)
def totp_confirm():
    user_session, user = _account()
    if user is None:
        return _to_login()
    svc = services()
    secret = enrolment.pending_secret(db.session, svc.keyring, user)
    if secret is None:
        return redirect(url_for("mfa_account.overview"))
    form = CodeForm()
    if request.method == "POST" and form.validate_on_submit():
        if enrolment.confirm_totp(db.session, g.request_context, svc.keyring, user, form.code.data):
            codes = enrolment.ensure_backup_codes(db.session, g.request_context, svc.keyring, user)
            db.session.commit()
            notify(user, "added", "totp")
            if codes:
                return render_template("mfa/backup_codes_new.html", codes=codes, at_login=False)
            flash(_("Your authenticator app is set up."), "ok")
            return redirect(url_for("mfa_account.overview"))
        db.session.commit()
        form.code.data = ""
        return _totp_page(user, secret, form, WRONG_CODE, 401)
    return _totp_page(user, secret, form)


def _totp_page(user, secret, form, error=None, status=200):
    return totp_enrol_page(user, secret, form, error=error, status=status, at_login=False,
                           action=url_for("mfa_account.totp_confirm"))


# --- removing a factor ---------------------------------------------------------------------

@bp.post("/account/mfa/remove")
def remove():
    user_session, user = _account()
    if user is None:
        return _to_login()
    form = RemoveFactorForm()
    if not form.validate_on_submit():
        return redirect(url_for("mfa_account.overview"))
    if not is_fresh(user_session, user, g.request_context.now):
        return _to_reauth()
    row = enrolment.find_factor(db.session, user, form.kind.data, form.factor_id.data)
    if form.confirm.data != "yes":
        # Every removal is confirmed; the last one also warns that sign-in is then by
        # password alone and the backup codes go too.
        last = enrolment.summarize_factors(db.session, user).count <= 1
        label = (_("Authenticator app") if form.kind.data == "totp"
                 else _("Passkey “%(name)s”", name=row.name))
        return render_template("mfa/confirm_remove.html", form=form, last=last, label=label)
    name = enrolment.remove_factor(db.session, g.request_context, user, form.kind.data,
                                   form.factor_id.data)
    db.session.commit()
    notify(user, "removed", form.kind.data, getattr(row, "name", None))
    flash(_("%(name)s was removed.", name=name), "ok")
    return redirect(url_for("mfa_account.overview"))


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
        flash(_("Set up an authenticator app or a passkey first."), "error")
        return redirect(url_for("mfa_account.overview"))
    if not is_fresh(user_session, user, g.request_context.now):
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
    if not is_fresh(user_session, user, g.request_context.now):
        return {"error": "reauthentication_required", "message": "Confirm your password first.",
                "redirect": url_for("mfa_account.reauth")}, 403
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
        flash(_("The passkey request expired. Try again."), "error")
        return redirect(url_for("mfa_account.overview"))
    if not is_fresh(user_session, user, g.request_context.now):
        return _to_reauth()
    try:
        cred = enrolment.register_passkey(db.session, g.request_context, relying_party(), user,
                                          form.credential.data, challenge, form.name.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("mfa_account.overview"))
    codes = enrolment.ensure_backup_codes(db.session, g.request_context, services().keyring, user)
    db.session.commit()
    notify(user, "added", "passkey", cred.name)
    if codes:
        return render_template("mfa/backup_codes_new.html", codes=codes, at_login=False)
    flash(_("Passkey “%(name)s” was added.", name=cred.name), "ok")
    return redirect(url_for("mfa_account.overview"))


# --- confirming the password (and the second factor) again -----------------------------------

def _reauth_page(form, needs_code: bool, error=None, status=200):
    user = signed_in_user()[1]
    has_passkey = needs_code and bool(query_passkeys(db.session, user))
    return render_template("mfa/reauth.html", form=form, needs_code=needs_code,
                           has_passkey=has_passkey, error=error), status


def _confirm_passkey(user, credential: str) -> str | None:
    """A passkey as the second factor on the reauth page; "hwk", or None (committed)."""
    challenge = take_challenge("reauth", uid=str(user.id))
    result = None
    if challenge is not None:
        try:
            result = verification.verify_passkey(db.session, g.request_context, relying_party(),
                                                 user, credential, challenge,
                                                 services().lockout_policy)
        except DomainError:
            result = None
    if result is not None and result.status == verification.MfaStatus.VERIFIED:
        return result.amr
    db.session.commit()
    if result is not None and result.locked_now:
        send_lock_notice(user)
    return None


def _confirm_code(user, code: str) -> str | None:
    """The second factor typed on the reauth page; its amr value, or None (committed)."""
    svc = services()
    result = verification.verify_code(db.session, g.request_context, svc.keyring, user, code,
                                      svc.lockout_policy)
    if result.status != verification.MfaStatus.VERIFIED:
        db.session.commit()
        if result.locked_now:
            send_lock_notice(user)
        return None
    if result.method == "backup_code":
        send_backup_code_notice(user, result.remaining or 0)
    return result.amr


@bp.route("/account/mfa/reauth", methods=["GET", "POST"])
@failed_attempts_limit(login_limit, event=EventType.LOGIN)
def reauth():
    user_session, user = _account()
    if user is None:
        return _to_login()
    form = ReauthForm()
    needs_code = has_factor(db.session, user)
    if request.method == "GET":
        return _reauth_page(form, needs_code)
    second = form.credential.data or form.code.data
    if not form.validate_on_submit() or (needs_code and not second):
        return _reauth_page(form, needs_code, "Enter your password"
                            + (" and a code." if needs_code else "."), 400)
    if not confirm_password(user, form.password.data, "reauthentication"):
        return _reauth_page(form, needs_code, "That password is not right.", 401)
    amr = ["pwd"]
    if needs_code:
        method = (_confirm_passkey(user, form.credential.data) if form.credential.data
                  else _confirm_code(user, form.code.data))
        if method is None:
            message = _("The passkey was not accepted.") if form.credential.data else WRONG_CODE
            return _reauth_page(form, needs_code, message, 401)
        amr.append(method)
    record(db.session, g.request_context, EventType.LOGIN, outcome=Outcome.SUCCESS,
           subject_id=user.id, tenant_id=user.tenant_id, username=user.username,
           details={"stage": "reauthentication", "session_id": str(user_session.id),
                    "amr": amr})
    db.session.commit()
    mark_reauthenticated(user_session, amr)
    return redirect(url_for("mfa_account.overview"))


@bp.post("/account/mfa/reauth/passkey/options")
def reauth_passkey_options():
    _user_session, user = _account()
    if user is None:
        return {"error": "login_required", "message": "Sign in first."}, 401
    ceremony = authentication_options(relying_party(), query_passkeys(db.session, user))
    return options_response(ceremony, "reauth", uid=str(user.id))
