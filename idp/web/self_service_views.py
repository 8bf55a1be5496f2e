"""Pages reached without a session: sign-up, email verification, password reset, and the
forced password change that a login step demands before any code or token is issued."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for
from flask_babel import gettext as _

from idp.accounts.account_mail import (
    already_registered_mail,
    reset_mail,
    username_taken_mail,
    verification_mail,
)
from idp.accounts.account_tokens import VERIFY_EMAIL_TTL, Purpose, peek_token
from idp.accounts.administration import unlock_with_token
from idp.accounts.password_changes import (
    ChangedBy,
    change_password,
    password_change_reason,
)
from idp.accounts.password_policy import policy_for
from idp.accounts.password_reset import request_reset, reset_password
from idp.accounts.registration import (
    register_user,
    registration_mode,
    resend_for_address,
    verify_email,
)
from idp.audit import EventType, Outcome, record
from idp.errors import DomainError, ValidationFailed
from idp.extensions import db
from idp.http import settings
from idp.models.oauth import Client
from idp.models.tenancy import Tenant
from idp.oauth import pending
from idp.rate_limits import request_limit, self_service_limit
from idp.tenancy.settings import verified_email_required
from idp.tenancy.tenants import ensure_default_tenant
from idp.web import login_steps
from idp.web.account_forms import (
    ActionForm,
    ForgotForm,
    NewPasswordForm,
    RegisterForm,
    ResendForm,
    ResetForm,
    keep_passwords,
    policy_hints,
)
from idp.web.destination import live_rid, seal, unseal
from idp.web.mail_dispatch import link_to, send_later, send_password_notice

bp = Blueprint("self_service", __name__)

STEP_NAME = "password_change"


def _hints(tenant) -> dict:
    return policy_hints(policy_for(settings(), tenant))


# --- registration -----------------------------------------------------------------------

@bp.app_context_processor
def _registration_link():
    def registration_open() -> bool:
        """For the login page's "Create an account" link (evaluated only where used)."""
        return registration_mode(settings(), ensure_default_tenant(db.session)) == "open"

    return {"registration_open": registration_open}


@bp.route("/register", methods=["GET", "POST"])
@request_limit(self_service_limit, event=EventType.USER_REGISTERED)
def register():
    tenant = ensure_default_tenant(db.session)
    mode = registration_mode(settings(), tenant)
    form = RegisterForm()
    invite = request.values.get("invite") or ""
    rid = live_rid(request.values.get("rid"))
    page = {"form": form, "mode": mode, "hints": _hints(tenant)}
    if mode == "off" or (mode == "invite" and peek_token(
            db.session, g.request_context, Purpose.INVITE, invite) is None):
        return render_template("web/register_closed.html", mode=mode), 403
    if request.method == "GET":
        form.invite.data = invite
        form.rid.data = rid or ""
        return render_template("web/register.html", **page)
    if not form.validate_on_submit():
        keep_passwords(form, "password", "confirm")
        return render_template("web/register.html", **page), 400
    try:
        result = register_user(db.session, g.request_context, settings(), tenant,
                               email=form.email.data, username=form.username.data or None,
                               password=form.password.data, invite=invite or None)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        target = getattr(form, exc.field, None) if exc.field else None
        (target or form.email).errors = [exc.message]
        keep_passwords(form, "password", "confirm")
        return render_template("web/register.html", **page), exc.status
    _mail_registration(result, rid)
    return render_template("web/register_done.html", verified=result.invited,
                           email=form.email.data, rid=rid)


def _mail_registration(result, rid: str | None) -> None:
    if result.verify_token:
        send_later(verification_mail(result.user.email,
                                     link_to("self_service.verify", token=result.verify_token,
                                             c=seal(rid))))
    elif result.existing is not None and result.existing.email:
        send_later(already_registered_mail(result.existing.email,
                                           link_to("self_service.forgot")))
    elif result.username_taken:
        send_later(username_taken_mail(result.username_taken, link_to("self_service.register")))


@bp.get("/verify-email/<token>")
def verify(token):
    user = verify_email(db.session, g.request_context, token)
    db.session.commit()
    if user is None:
        return render_template("error.html", title=_("This link does not work"),
                               message=_("It may have been used already or expired."),
                               action={"url": url_for("self_service.resend"),
                                       "label": _("Get a new confirmation link")}), 400
    rid = unseal(request.args.get("c"), VERIFY_EMAIL_TTL)
    return render_template("web/email_verified.html", user=user, rid=rid, client=_client(rid))


def _client(rid: str | None):
    """The app a continued authorization returns to (named on the page)."""
    entry = pending.load_pending(rid)
    return db.session.get(Client, entry["params"].get("client_id") or "") if entry else None


@bp.route("/verify-email/resend", methods=["GET", "POST"])
@request_limit(self_service_limit, event=EventType.USER_REGISTERED)
def resend():
    """Send the confirmation link again; the same answer whether or not the address has
    an account waiting (no enumeration), and the per-IP self-service limit applies."""
    form = ResendForm()
    rid = live_rid(request.values.get("rid"))
    if request.method == "GET":
        form.rid.data = rid or ""
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("web/resend.html", form=form), status
    user, token = resend_for_address(db.session, g.request_context,
                                     ensure_default_tenant(db.session), form.email.data)
    db.session.commit()
    if token:
        send_later(verification_mail(user.email, link_to("self_service.verify", token=token,
                                                         c=seal(rid))))
    done = ResendForm(formdata=None)
    done.rid.data = rid or ""
    return render_template("web/resend.html", form=done, sent=True)


# --- forgotten password ----------------------------------------------------------------

@bp.route("/password/forgot", methods=["GET", "POST"])
@request_limit(self_service_limit, event=EventType.PASSWORD_RESET_REQUESTED)
def forgot():
    form = ForgotForm()
    rid = live_rid(request.values.get("rid"))
    if request.method == "GET":
        form.rid.data = rid or ""
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("web/forgot.html", form=form), status
    tenant = ensure_default_tenant(db.session)
    user, token = request_reset(db.session, g.request_context, settings(), tenant,
                                form.email.data)
    db.session.commit()
    if token:
        minutes = max(1, settings().password_reset_ttl // 60)
        send_later(reset_mail(user.email, link_to("self_service.reset", token=token,
                                                  c=seal(rid)), minutes))
    # The same answer whether or not the address exists.
    done = ForgotForm(formdata=None)
    done.rid.data = rid or ""
    return render_template("web/forgot.html", form=done, sent=True)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset(token):
    ctx = g.request_context
    row = peek_token(db.session, ctx, Purpose.PASSWORD_RESET, token)
    if row is None:
        return render_template("error.html", title=_("This reset link does not work"),
                               message=_("It may have been used already or expired. "
                                       "Ask for a new one."),
                               action={"url": url_for("self_service.forgot"),
                                       "label": _("Ask for a new link")}), 400
    form = ResetForm()
    tenant = ensure_default_tenant(db.session)
    sealed = request.args.get("c") or None
    page = {"form": form, "hints": _hints(tenant), "token": token, "sealed": sealed}
    if request.method == "GET":
        return render_template("web/reset.html", **page)
    if not form.validate_on_submit():
        return render_template("web/reset.html", **page), 400
    try:
        user = reset_password(db.session, ctx, settings(), token, form.password.data)
        if user is None:
            raise ValidationFailed("This reset link does not work any more.", field="password")
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        form.password.errors = [exc.message]
        return render_template("web/reset.html", **page), 422
    send_password_notice(user)
    rid = unseal(sealed, settings().password_reset_ttl)
    return render_template("web/reset_done.html", rid=rid, client=_client(rid))


# --- unlock link of the lock mail --------------------------------------------------------

@bp.route("/login/unlock/<token>", methods=["GET", "POST"])
@request_limit(self_service_limit, event=EventType.USER_UNLOCKED)
def unlock(token):
    """GET asks (a mail scanner's prefetch must not use the link), POST unlocks once."""
    ctx = g.request_context
    dead = render_template("error.html", title=_("This link does not work"),
                           message=_("It may have been used already or expired."),
                           action={"url": url_for("self_service.forgot"),
                                   "label": _("Reset your password instead")})
    if request.method == "GET":
        if peek_token(db.session, ctx, Purpose.UNLOCK, token) is None:
            return dead, 400
        return render_template("web/unlock.html", form=ActionForm(), token=token)
    form = ActionForm()
    if not form.validate_on_submit():
        return render_template("web/unlock.html", form=form, token=token), 400
    user = unlock_with_token(db.session, ctx, token)
    db.session.commit()
    if user is None:
        return dead, 400
    return render_template("web/unlocked.html")


# --- confirmed address before sign-in (tenant setting email_verification) ---------------

VERIFY_STEP = "email_verification"


@login_steps.register_step
def verified_email_step(user, state) -> str | None:
    """Login step: a tenant that requires a confirmed address issues nothing before it."""
    tenant = db.session.get(Tenant, user.tenant_id)
    if user.email_verified or not user.email or not verified_email_required(tenant.settings):
        return None
    return url_for("self_service.verify_first")


@bp.get("/login/verify-email")
def verify_first():
    user, state = login_steps.current()
    if user is None:  # took too long: back to sign-in, saying so (login_steps.advance)
        return login_steps.advance()
    if verified_email_step(user, state) is None:  # confirmed meanwhile: carry on
        return login_steps.advance()
    form = ResendForm(formdata=None)
    form.email.data = user.email
    form.rid.data = state.get("rid") or ""
    return render_template("web/verify_first.html", form=form, email=user.email)


# --- forced change during login ---------------------------------------------------------

@login_steps.register_step
def password_change_step(user, state) -> str | None:
    """Login step: an expired or admin-required password is changed before anything is issued."""
    if STEP_NAME in state.get("done", []):
        return None
    reason = password_change_reason(db.session, settings(), user, g.request_context)
    if reason is None:
        return None
    if not state.get("password_change_audited"):
        record(db.session, g.request_context, EventType.LOGIN,
               outcome=Outcome.PASSWORD_EXPIRED, subject_id=user.id, tenant_id=user.tenant_id,
               username=user.username, details={"step": STEP_NAME, "reason": str(reason)})
        login_steps.update(password_change_audited=True)
    return url_for("self_service.forced_change")


@bp.route("/login/password", methods=["GET", "POST"])
def forced_change():
    user, state = login_steps.current()
    if user is None:  # took too long: back to sign-in, saying so (login_steps.advance)
        return login_steps.advance()
    reason = password_change_reason(db.session, settings(), user, g.request_context)
    if reason is None:  # nothing to change (any more): carry on with the login
        login_steps.mark_done(STEP_NAME)
        return login_steps.advance()
    form = NewPasswordForm()
    page = {"form": form, "hints": _hints(db.session.get(Tenant, user.tenant_id)),
            "reason": str(reason)}
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("web/forced_password.html", **page), status
    try:
        change_password(db.session, g.request_context, settings(), user, form.password.data,
                        changed_by=ChangedBy.SELF, forced=True)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        form.password.errors = [exc.message]
        return render_template("web/forced_password.html", **page), 422
    send_password_notice(user)
    login_steps.mark_done(STEP_NAME)
    return login_steps.advance()
