"""Login, consent and the minimal account page."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from idp.accounts.authentication import LoginStatus, check_password_login
from idp.accounts.consents import grant_consent
from idp.audit import EventType, Outcome, record
from idp.extensions import db
from idp.federation.policy import password_sign_in_allowed
from idp.federation.providers import list_providers, provider_for_email
from idp.http import current_session, services, signed_in_user
from idp.models.oauth import Client
from idp.oauth import pending
from idp.oauth.tokens.claims import SCOPE_CLAIMS
from idp.rate_limits import failed_attempts_limit, login_limit, unknown_login_paused
from idp.tenancy.tenants import ensure_default_tenant
from idp.web import login_steps
from idp.web.forms import ConsentForm, LoginForm
from idp.web.login import remember_return
from idp.web.mail_dispatch import send_lock_notice

bp = Blueprint("web", __name__)

GENERIC_FAILURE = _l("Incorrect username or password.")
PAUSED = _l("Sign-in is paused for this account after too many attempts. We sent a message "
            "with a way to unlock it to the account's email address.")
SSO_REQUIRED = _l("Your organisation signs in through its own provider: use the button below.")


@bp.route("/login", methods=["GET", "POST"])
@failed_attempts_limit(login_limit, event=EventType.LOGIN)
def login():
    form = LoginForm()
    rid = request.values.get("rid") or None
    entry = pending.load_pending(rid)
    tenant = ensure_default_tenant(db.session)
    page = {"client": _pending_client(entry), "providers": list_providers(db.session, tenant.id),
            "rid": rid if entry else None}
    if request.method == "GET":
        current_session()  # notices an expired session so the page can say so
        remember_return(None if entry else request.args.get("next"))
        if entry and entry["params"].get("login_hint"):
            form.username.data = entry["params"]["login_hint"][:320]
        form.rid.data = rid or ""
        expired = g.get("session_expired") or request.args.get("expired") == "1"
        return render_template("web/login.html", form=form, expired=expired, **page)
    home = _home_realm(tenant, form, page["rid"])
    if home is not None:
        return home
    if not form.validate_on_submit():
        return render_template("web/login.html", form=form, error=_("Enter your username and "
                               "password."), **page), 400
    result = check_password_login(db.session, g.request_context, tenant, form.username.data,
                                  form.password.data, services().lockout_policy)
    if result.status != LoginStatus.AUTHENTICATED:
        db.session.commit()
        if result.locked_now:
            send_lock_notice(result.user)
        policy = services().lockout_policy
        paused = (result.status == LoginStatus.LOCKED or result.locked_now) if result.user \
            else unknown_login_paused(tenant.id, form.username.data, policy.threshold,
                                      policy.window)
        form.password.data = ""
        return render_template("web/login.html", form=form,
                               error=PAUSED if paused else GENERIC_FAILURE, **page), 401
    if not password_sign_in_allowed(db.session, result.user):
        record(db.session, g.request_context, EventType.LOGIN, outcome=Outcome.SSO_REQUIRED,
               subject_id=result.user.id, tenant_id=result.user.tenant_id,
               username=form.username.data[:320])
        db.session.commit()
        form.password.data = ""
        return render_template("web/login.html", form=form, error=SSO_REQUIRED, **page), 403
    login_steps.begin(result.user, ["pwd"], rid if entry else None)
    return login_steps.advance()


def _home_realm(tenant, form, rid):
    """Home realm discovery: an address (and no password) whose domain a provider claims
    goes to that provider; with a password the local check runs (break-glass admins)."""
    login = (form.username.data or "").strip()
    if form.password.data or not login:
        return None
    provider = provider_for_email(db.session, tenant.id, login)
    if provider is None:
        return None
    return redirect(url_for("federation.start", slug=provider.slug, rid=rid,
                            login_hint=login[:320]))


def _pending_client(entry):
    if not entry:
        return None
    return db.session.get(Client, entry["params"].get("client_id") or "")


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    form = ConsentForm()
    rid = request.values.get("rid")
    entry = pending.load_pending(rid)
    session, user = signed_in_user()
    if entry is None or user is None:
        return render_template("error.html", title=_("This request has expired"),
                               message=_("Go back to the application and start again.")), 400
    params = entry["params"]
    client = db.session.get(Client, params.get("client_id") or "")
    if client is None:
        return render_template("error.html", title=_("Unknown application"),
                               message=_("The application is not registered.")), 400
    scopes = [s for s in (params.get("scope") or "").split() if s in client.scopes]
    if request.method == "GET" or not form.validate_on_submit():
        form.rid.data = rid
        return render_template("web/consent.html", form=form, client=client, scopes=scopes,
                               scope_claims=SCOPE_CLAIMS)
    if form.approve.data:
        grant_consent(db.session, g.request_context, user.id, user.tenant_id, client.id, scopes)
        db.session.commit()
        pending.mark_consented(rid)
        return redirect(url_for("oauth.authorize_resume", rid=rid))
    return _deny(params, rid)


def _deny(params: dict, rid: str):
    from authlib.oauth2.rfc6749.errors import AccessDeniedError

    from idp.oauth.responses import error_to_client

    pending.drop_pending(rid)
    error = AccessDeniedError(description="The person declined the request.",
                              redirect_uri=params.get("redirect_uri"))
    error.state = params.get("state")
    client = db.session.get(Client, params.get("client_id") or "")
    if client is None or not client.check_redirect_uri(params.get("redirect_uri") or ""):
        error.redirect_uri = client.get_default_redirect_uri() if client else None
    return error_to_client(error, params)


@bp.get("/")
def home():
    return redirect(url_for("account.profile"))

