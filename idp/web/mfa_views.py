"""The MFA step of a login, passwordless passkey sign-in, and enrolment forced by policy.

A partial login (password checked, see login_steps) is all these pages act on: no
session exists before the second factor passes, so /authorize cannot be reached early.
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from idp.audit import EventType, Outcome, record
from idp.errors import ValidationFailed
from idp.extensions import db
from idp.http import services
from idp.mfa import enrolment, verification
from idp.mfa.acr import ACR_PWD, has_second_factor, required_level, satisfies
from idp.mfa.passkeys import authentication_options, query_passkeys, registration_options
from idp.mfa.policy import has_factor, mfa_required_for
from idp.models.oauth import Client
from idp.oauth import pending
from idp.rate_limits import failed_attempts_limit, login_limit
from idp.web import login_steps
from idp.web.mail_dispatch import send_backup_code_notice, send_lock_notice
from idp.web.mfa_forms import ActionForm, CodeForm, PasskeyAssertionForm, PasskeyRegisterForm
from idp.web.mfa_support import (
    WRONG_CODE,
    notify,
    options_response,
    relying_party,
    take_challenge,
    totp_enrol_page,
)

bp = Blueprint("mfa", __name__)

LOCKED = _l("Too many failed attempts. Your account is locked for now; try again later.")


# --- the login step -------------------------------------------------------------------

def _request_demands_mfa(state: dict) -> bool:
    """The pending authorization asks for acr_values only MFA meets."""
    entry = pending.load_pending(state.get("rid"))
    if not entry:
        return False
    params = entry["params"]
    client = db.session.get(Client, params.get("client_id") or "")
    level = required_level(params.get("acr_values"), client.default_acr_values if client else None)
    return bool(level) and not satisfies(ACR_PWD, level)


def _audit_required(user, enrol: bool) -> None:
    record(db.session, g.request_context, EventType.LOGIN, outcome=Outcome.MFA_REQUIRED,
           subject_id=user.id, tenant_id=user.tenant_id, username=user.username,
           details={"enrolment": enrol})


def _not_due(user, state: dict):
    """Enrolment asked for when it is not due: an attempt to add a factor in place of the
    one the person has (a forged step) is audited; then the journey goes on as it must."""
    if request.method == "POST" and "mfa" not in state.get("done", []):
        record(db.session, g.request_context, EventType.MFA, outcome=Outcome.FAILURE,
               subject_id=user.id, tenant_id=user.tenant_id, username=user.username,
               details={"reason": "enrolment_not_due", "path": request.path})
    return login_steps.advance()


def _enrolment_due(user, state: dict) -> bool:
    """Enrolment at login only for a person who has no factor and must have one: anyone
    else reaching these pages could otherwise add a factor to skip the one they have."""
    if "mfa" in state.get("done", []) or has_factor(db.session, user):
        return False
    return mfa_required_for(db.session, user) or _request_demands_mfa(state)


def mfa_step(user, state: dict) -> str | None:
    """Registered login step: the second factor (or enrolment) before any session."""
    if "mfa" in state.get("done", []) or has_second_factor(state.get("amr")):
        return None
    if has_factor(db.session, user):
        _audit_required(user, enrol=False)
        return url_for("mfa.challenge")
    if _enrolment_due(user, state):
        _audit_required(user, enrol=True)
        return url_for("mfa.enrol_at_login")
    # Password only: say so in the session (and so in the ID token).
    state["acr"] = ACR_PWD
    login_steps.update(acr=ACR_PWD)
    return None


login_steps.register_step(mfa_step)


def _finish_factor(amr_value: str):
    login_steps.pass_second_factor(amr_value)
    db.session.commit()
    return login_steps.advance()


def _challenge_page(user, form, error=None, status=200):
    has_passkey = bool(query_passkeys(db.session, user))
    return render_template("mfa/challenge.html", form=form, error=error, has_passkey=has_passkey,
                           passkey_form=PasskeyAssertionForm(), account=user.email or user.username,
                           rid=(login_steps.current()[1] or {}).get("rid")), status


def _locked_out():
    session.pop(login_steps.KEY, None)
    return render_template("error.html", title=_("Account locked"), message=LOCKED), 403


@bp.route("/login/mfa", methods=["GET", "POST"])
@failed_attempts_limit(login_limit, event=EventType.MFA)
def challenge():
    user, _state = login_steps.current()
    if user is None:
        return redirect(url_for("web.login"))
    form = CodeForm()
    if request.method == "GET":
        return _challenge_page(user, form)
    if not form.validate_on_submit():
        return _challenge_page(user, form, "Enter the code from your authenticator app.", 400)
    svc = services()
    result = verification.verify_code(db.session, g.request_context, svc.keyring, user,
                                      form.code.data, svc.lockout_policy)
    if result.status == verification.MfaStatus.VERIFIED:
        response = _finish_factor(result.amr)
        if result.method == "backup_code":
            send_backup_code_notice(user, result.remaining or 0)
        return response
    db.session.commit()
    if result.locked_now:
        send_lock_notice(user)
    if result.status == verification.MfaStatus.LOCKED or result.locked_now:
        return _locked_out()
    form.code.data = ""
    return _challenge_page(user, form, WRONG_CODE, 401)


@bp.post("/login/mfa/passkey/options")
def passkey_options():
    user, _state = login_steps.current()
    if user is None:
        return {"error": "login_required", "message": "Sign in with your password first."}, 401
    ceremony = authentication_options(relying_party(), query_passkeys(db.session, user))
    return options_response(ceremony, "second_factor", uid=str(user.id))


@bp.post("/login/mfa/passkey")
@failed_attempts_limit(login_limit, event=EventType.MFA)
def passkey_verify():
    user, _state = login_steps.current()
    if user is None:
        return redirect(url_for("web.login"))
    form = PasskeyAssertionForm()
    challenge_bytes = take_challenge("second_factor", uid=str(user.id))
    if not form.validate_on_submit() or challenge_bytes is None:
        return _challenge_page(user, CodeForm(), "The passkey request expired. Try again.", 400)
    svc = services()
    try:
        result = verification.verify_passkey(db.session, g.request_context, relying_party(), user,
                                             form.credential.data, challenge_bytes,
                                             svc.lockout_policy)
    except ValidationFailed:
        result = None
    if result is not None and result.status == verification.MfaStatus.VERIFIED:
        return _finish_factor(result.amr)
    db.session.commit()
    if result is not None and result.locked_now:
        send_lock_notice(user)
    if result is not None and (result.status == verification.MfaStatus.LOCKED or result.locked_now):
        return _locked_out()
    return _challenge_page(user, CodeForm(), "The passkey was not accepted.", 401)


# --- passwordless -----------------------------------------------------------------------

@bp.post("/login/passkey/options")
def passwordless_options():
    ceremony = authentication_options(relying_party(), None)
    return options_response(ceremony, "passwordless")


@bp.post("/login/passkey")
@failed_attempts_limit(login_limit, event=EventType.MFA)
def passwordless():
    form = PasskeyAssertionForm()
    challenge_bytes = take_challenge("passwordless")
    rid = form.rid.data or None
    if not form.validate_on_submit() or challenge_bytes is None:
        return _passwordless_failed("The passkey request expired. Try again.", rid, 400)
    try:
        user = verification.verify_passwordless(db.session, g.request_context, relying_party(),
                                                form.credential.data, challenge_bytes)
    except ValidationFailed:
        user = None
    if user is None:
        db.session.commit()
        return _passwordless_failed("That passkey could not sign you in.", rid, 401)
    # A discoverable credential with user verification: possession plus the device's
    # PIN or biometric — two factors, no password (RFC 8176 "hwk", "user").
    login_steps.begin(user, ["hwk", "user"], rid if pending.load_pending(rid) else None)
    login_steps.pass_second_factor()
    db.session.commit()
    return login_steps.advance()


def _passwordless_failed(message: str, rid: str | None, status: int):
    target = url_for("web.login", rid=rid) if rid else url_for("web.login")
    return render_template("mfa/message.html", title=_("Passkey sign-in failed"), message=message,
                           back_url=target, back_label=_("Back to sign in")), status


# --- enrolment required by policy ---------------------------------------------------------

@bp.route("/login/mfa/enrol", methods=["GET", "POST"])
@failed_attempts_limit(login_limit, event=EventType.MFA)
def enrol_at_login():
    user, state = login_steps.current()
    if user is None:
        return redirect(url_for("web.login"))
    if not _enrolment_due(user, state):
        return _not_due(user, state)
    svc = services()
    form = CodeForm()
    secret = enrolment.pending_secret(db.session, svc.keyring, user)
    if secret is None:
        secret = enrolment.start_totp(db.session, g.request_context, svc.keyring, user)
        db.session.commit()
    if request.method == "POST" and form.validate_on_submit():
        if enrolment.confirm_totp(db.session, g.request_context, svc.keyring, user, form.code.data):
            codes = enrolment.regenerate_backup_codes(db.session, g.request_context, svc.keyring, user)
            login_steps.pass_second_factor("otp")
            db.session.commit()
            notify(user, "added", "totp")
            return render_template("mfa/backup_codes_new.html", codes=codes, at_login=True,
                                   form=ActionForm())
        db.session.commit()
        form.code.data = ""
        return _enrol_page(user, secret, form, WRONG_CODE, 401)
    return _enrol_page(user, secret, form)


def _enrol_page(user, secret, form, error=None, status=200):
    return totp_enrol_page(user, secret, form, error=error, status=status, at_login=True,
                           action=url_for("mfa.enrol_at_login"), passkey_form=PasskeyRegisterForm())


@bp.post("/login/mfa/enrol/passkey/options")
def enrol_passkey_options():
    user, state = login_steps.current()
    if user is None or not _enrolment_due(user, state):
        return {"error": "login_required", "message": "Sign in with your password first."}, 401
    ceremony = registration_options(relying_party(), user, query_passkeys(db.session, user))
    return options_response(ceremony, "register_at_login", uid=str(user.id))


@bp.post("/login/mfa/enrol/passkey")
def enrol_passkey_at_login():
    user, state = login_steps.current()
    if user is None:
        return redirect(url_for("web.login"))
    if not _enrolment_due(user, state):
        return _not_due(user, state)
    form = PasskeyRegisterForm()
    challenge_bytes = take_challenge("register_at_login", uid=str(user.id))
    if not form.validate_on_submit() or challenge_bytes is None:
        return redirect(url_for("mfa.enrol_at_login"))
    try:
        cred = enrolment.register_passkey(db.session, g.request_context, relying_party(), user,
                                          form.credential.data, challenge_bytes, form.name.data)
    except ValidationFailed as exc:
        db.session.rollback()
        secret = enrolment.pending_secret(db.session, services().keyring, user)
        return _enrol_page(user, secret, CodeForm(), exc.message, 400)
    codes = enrolment.regenerate_backup_codes(db.session, g.request_context, services().keyring, user)
    login_steps.pass_second_factor("hwk")
    db.session.commit()
    notify(user, "added", "passkey", cred.name)
    return render_template("mfa/backup_codes_new.html", codes=codes, at_login=True, form=ActionForm())


@bp.post("/login/mfa/continue")
def continue_login():
    form = ActionForm()
    user, _state = login_steps.current()
    if user is None or not form.validate_on_submit():
        return redirect(url_for("web.login"))
    return login_steps.advance()

