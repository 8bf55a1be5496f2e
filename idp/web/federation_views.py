"""Signing in with an upstream provider: /login/external/<slug> starts it, the callback
checks it (idp.federation.oidc) and hands the person to the login journey
(web/login_steps.py), so MFA, lockout, session limits, consent and audit apply as for a
password; /login/external/link proves a local account once before linking it."""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, Response, g, redirect, render_template, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from idp.accounts.authentication import LoginStatus, check_password
from idp.audit import EventType, Outcome, record
from idp.errors import DomainError, NotFound
from idp.extensions import csrf, db
from idp.federation import github, oidc
from idp.federation.assertions import spend_assertion
from idp.federation.identities import Resolution, link_identity, resolve_sign_in
from idp.federation.providers import client_secret, query_provider, redirect_uri
from idp.http import services, settings
from idp.models.accounts import User
from idp.models.federation import IdentityProvider
from idp.models.tenancy import Tenant
from idp.oauth import pending
from idp.rate_limits import failed_attempts_limit, login_limit
from idp.tenancy.tenants import ensure_default_tenant
from idp.web import login_steps
from idp.web.forms import LinkForm
from idp.web.mail_dispatch import send_lock_notice

bp = Blueprint("federation", __name__, url_prefix="/login/external")

FLOW_KEY = "federation"
LINK_KEY = "federation_link"
MAX_AGE = 600  # seconds an upstream round trip or a pending link may take
PASSWORD_STEP = "password_change"  # web/self_service_views.py: no password was used
PROTOCOLS = {"oidc": oidc, "github": github}


def _protocol(kind: str):
    """The module that speaks a provider's protocol. pysaml2 (with xmlschema, a third of
    the package's import time and a good part of a worker's memory) is imported only once
    a SAML provider is used (issue 20)."""
    if kind == "saml":
        from idp.federation import saml

        return saml
    return PROTOCOLS[kind]
CONTINUED = "idp_continued"  # marks the same-site re-post of a SAML response
UPSTREAM_LOGOUT_KEY = "upstream_logout"  # set by oauth/views.py logout
REFUSALS = {
    Resolution.NO_ACCOUNT: _l("There is no account for you here. Ask an administrator."),
    Resolution.DISABLED: _l("Your account is disabled."),
    Resolution.LOCKED: _l("Your account is locked. Try again later."),
}


def _provider(slug: str) -> IdentityProvider | None:
    """A provider of the tenant people sign in to at /login (the default tenant, as for the
    password step): one of another tenant must not open sessions that tenant's clients
    were never meant to see."""
    try:
        provider = query_provider(db.session, slug)
    except NotFound:
        return None
    return provider if provider.tenant_id == ensure_default_tenant(db.session).id else None


def _client_args(provider: IdentityProvider) -> tuple:
    """What the protocol modules need: provider, secret, outbound policy, callback."""
    return (provider, client_secret(services().keyring, provider), services().outbound_policy,
            redirect_uri(settings().issuer, provider))


def _failed(title: str, message: str, status: int = 400):
    return render_template("error.html", title=title, message=message), status


@bp.get("/<slug>")
def start(slug):
    provider = _provider(slug)
    if provider is None:
        return _failed("Unknown provider", "This sign-in option does not exist.", 404)
    rid = request.args.get("rid") or None
    hint = (request.args.get("login_hint") or "")[:320] or None
    try:
        url, saved = _protocol(provider.type).start(*_client_args(provider), hint)
    except oidc.FederationError as exc:
        return _refuse(provider, exc)
    rid = rid if pending.load_pending(rid) else None
    session[FLOW_KEY] = {**saved, "slug": provider.slug, "rid": rid, "at": time.time()}
    return redirect(url)


def _refuse(provider: IdentityProvider, exc: oidc.FederationError):
    record(db.session, g.request_context, EventType.LOGIN, outcome=Outcome.FAILURE,
           tenant_id=provider.tenant_id, details={"provider": provider.slug,
                                                  "reason": exc.reason[:300]})
    db.session.commit()
    return _failed("Sign-in failed", exc.message, 400)


@bp.get("/<slug>/metadata")
def metadata(slug):
    """SAML: our SP metadata for this provider (the entity id is this URL)."""
    provider = _provider(slug)
    if provider is None or provider.type != "saml":
        return _failed("Unknown provider", "This sign-in option does not exist.", 404)
    return Response(_protocol("saml").metadata(provider, redirect_uri(settings().issuer, provider)),
                    mimetype="application/samlmetadata+xml")


def _continue_same_site(provider: IdentityProvider):
    """The IdP POSTs the SAML response cross-site, so the browser leaves out our SameSite=Lax
    cookie that holds the request id; posting it once more from our own page brings it."""
    fields = {k: v for k, v in request.form.items() if k in ("SAMLResponse", "RelayState")}
    return render_template("web/saml_continue.html", fields=fields, continued=CONTINUED,
                           action=f"/login/external/{provider.slug}/callback")


def _callback_args(provider: IdentityProvider) -> dict:
    if provider.type == "saml":
        return request.form.to_dict() if request.method == "POST" else {}
    return request.args.to_dict()


@bp.route("/<slug>/callback", methods=["GET", "POST"])
@csrf.exempt  # SAML HTTP-POST binding: the InResponseTo and the signature protect it
def callback(slug):
    provider = _provider(slug)
    if provider is None:
        return _failed("Unknown provider", "This sign-in option does not exist.", 404)
    if request.method == "POST" and provider.type != "saml":
        return _failed("Wrong method", "This callback is reached with GET.", 405)
    if request.method == "POST" and FLOW_KEY not in session and CONTINUED not in request.form:
        return _continue_same_site(provider)
    saved = session.pop(FLOW_KEY, None)
    if not saved or saved.get("slug") != provider.slug or time.time() - saved["at"] > MAX_AGE:
        saved = {}  # no sign-in in progress here: refused (and audited) by the state check
    try:
        claims = _protocol(provider.type).finish(*_client_args(provider), saved,
                                                 _callback_args(provider))
        _refuse_replay(provider, claims.pop("saml_assertion", None))
        upstream_id_token = claims.pop("upstream_id_token", None)
        tenant = db.session.get(Tenant, provider.tenant_id)
        result = resolve_sign_in(db.session, g.request_context, provider, tenant, claims)
    except oidc.FederationError as exc:
        return _refuse(provider, exc)
    except DomainError as exc:
        db.session.rollback()
        return _refuse(provider, oidc.FederationError(exc.message, exc.message))
    db.session.commit()
    if result.status == Resolution.SIGNED_IN:
        return _begin(result.user, ["fed"], provider, saved.get("rid"),
                      done=[PASSWORD_STEP],
                      upstream_id_token=upstream_id_token if provider.end_session else None)
    if result.status == Resolution.NEEDS_PROOF:
        session[LINK_KEY] = {"provider": provider.slug, "uid": str(result.user.id),
                             "claims": {k: claims.get(k) for k in ("sub", "email")},
                             "rid": saved.get("rid"), "at": time.time()}
        return redirect("/login/external/link")
    return _failed("Sign-in refused", REFUSALS[result.status], 403)


@bp.get("/<slug>/logged-out")
def logged_out(slug):
    """The upstream ended its session (RP-Initiated Logout): on to our own post-logout
    target, which the state we sent names (kept in the signed flow cookie)."""
    pending_logout = session.pop(UPSTREAM_LOGOUT_KEY, None) or {}
    target = pending_logout.get("next")
    if pending_logout.get("slug") != slug or not pending_logout.get("state") or \
            request.args.get("state") != pending_logout["state"]:
        target = None  # not our logout: show the page, never redirect anywhere named here
    if target:
        return redirect(target)
    return render_template("oauth/logged_out.html")


def _refuse_replay(provider: IdentityProvider, assertion: dict | None) -> None:
    if assertion and not spend_assertion(db.session, provider, assertion["id"],
                                         assertion["expires"], g.request_context.now):
        raise oidc.FederationError("SAML assertion replayed",
                                   "This sign-in was already used. Start again.")


def _begin(user: User, amr: list[str], provider: IdentityProvider, rid, **extra):
    login_steps.begin(user, amr, rid)
    login_steps.update(provider=provider.slug, **extra)
    return login_steps.advance()


def _pending_link():
    state = session.get(LINK_KEY)
    if not state or time.time() - state["at"] > MAX_AGE:
        return None, None, None
    provider = _provider(state["provider"])
    user = db.session.get(User, uuid.UUID(state["uid"]))
    return (state, provider, user) if provider and user else (None, None, None)


@bp.route("/link", methods=["GET", "POST"])
@failed_attempts_limit(login_limit, event=EventType.LOGIN)
def link():
    """Prove the local account (password here, second factor in the journey) to link it."""
    state, provider, user = _pending_link()
    if state is None:
        return _failed("This request has expired", "Start again from the sign-in page.")
    form = LinkForm()
    page = {"form": form, "provider": provider, "email": user.email}
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("web/federation_link.html", **page), \
            200 if request.method == "GET" else 400
    result = check_password(db.session, g.request_context, user, form.password.data,
                            services().lockout_policy, stage="federation_link")
    if result.status != LoginStatus.AUTHENTICATED:
        db.session.commit()
        if result.locked_now:
            send_lock_notice(result.user)
        return render_template("web/federation_link.html", error=_("Incorrect password."),
                               **page), 401
    session.pop(LINK_KEY, None)
    return _begin(user, ["pwd"], provider, state.get("rid"), link=state["claims"])


def link_step(user: User, state: dict) -> str | None:
    """Login step, after the second factor: the proven account gets its identity linked."""
    claims = state.get("link")
    if not claims:
        return None
    provider = _provider(state.get("provider") or "")
    if provider is not None:
        try:
            link_identity(db.session, g.request_context, provider, user, claims)
        except DomainError:
            pass  # linked meanwhile (another tab): nothing more to do
    login_steps.update(link=None)
    state["link"] = None
    return None


login_steps.register_step(link_step)
