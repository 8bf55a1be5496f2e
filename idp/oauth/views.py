"""Protocol endpoints. Thin: Authlib validates, services decide, the view commits once."""

from __future__ import annotations

import json
import time

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from flask import (
    Blueprint,
    Response,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.exc import SQLAlchemyError

from idp.accounts.consents import consented_scopes
from idp.audit import EventType, record
from idp.database import commit_if_written
from idp.extensions import csrf, db
from idp.federation.logout import upstream_logout
from idp.http import (
    clear_session_cookie,
    current_session,
    no_store,
    oauth_json_error,
    services,
    settings,
    signed_in_user,
)
from idp.i18n import remember_language
from idp.oauth import authorize_flow, fapi, par, pending
from idp.oauth.authorize_flow import Step
from idp.oauth.backchannel import SWEEP_INTERVAL, Deliverer, next_due_in
from idp.oauth.clients.usage_store import flush_usage
from idp.oauth.constants import CLIENT_AUTH_METHODS
from idp.oauth.dpop.edge import (
    bearer_error,
    binding_problem,
    check_request_proof,
    with_fresh_nonce,
)
from idp.oauth.keys.signing import JWKS_MAX_AGE
from idp.oauth.request_objects import resolve_request_object
from idp.oauth.responses import error_to_client, to_client
from idp.oauth.tokens.claims import user_claims
from idp.oauth.tokens.request import token_request_problem
from idp.oauth.tokens.service import AuthorizedUser
from idp.oauth.tokens.validation import check_access_token
from idp.rate_limits import token_limit
from idp.sessions.backchannel import QUEUED_FLAG
from idp.sessions.service import revoke_session

bp = Blueprint("oauth", __name__)
# Marks parameters that came from a pushed request (RFC 9126), through login and consent.
PUSHED = "_pushed"

UNSUPPORTED_PARAMS = {
    "request_uri": "request_uri_not_supported",
    "registration": "registration_not_supported",
}


# --- back-channel logout delivery ------------------------------------------------------

def _deliverer():

    svc = services()
    deliverer = svc.extra.get("backchannel_deliverer")
    if deliverer is None:
        server = svc.server
        deliverer = svc.extra["backchannel_deliverer"] = Deliverer(
            server.keys.session_factory, server.tokens.signer, svc.outbound_policy)
    return deliverer


@bp.after_app_request
def _wake_backchannel_delivery(response):
    # Logout tokens queued by this request (any page that ends a session), or left from
    # before this process started (once): the background thread posts them.

    svc = services()
    if db.session.info.pop(QUEUED_FLAG, False):
        _deliverer().kick()
    elif request.blueprint == "oauth" and _sweep_due(svc):


        try:
            if next_due_in(db.session) is not None:
                _deliverer().kick()
        except SQLAlchemyError:
            svc.extra["backchannel_swept_at"] = -1e9  # try again with a later request
    return response


def _sweep_due(svc) -> bool:
    # Rows queued outside a request (the CLI) or left by a crash: looked for at most every
    # SWEEP_INTERVAL seconds per process, on protocol requests only (never /healthz).


    now = time.monotonic()
    if now - svc.extra.get("backchannel_swept_at", -SWEEP_INTERVAL) < SWEEP_INTERVAL:
        return False
    svc.extra["backchannel_swept_at"] = now
    return True


# --- metadata ------------------------------------------------------------------------

def _cached_json(body: bytes, etag: str | None = None) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    if etag:
        response.set_etag(etag.strip('"'))
    return response


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def discovery():
    return _cached_json(services().metadata.current())


@bp.get("/jwks.json")
def jwks():
    snap = services().keys.snapshot()
    return _cached_json(snap.jwks_json, snap.etag).make_conditional(request)


# --- authorization endpoint ---------------------------------------------------------

def _hint_subject(params: dict) -> str | None:
    hint = params.get("id_token_hint")
    if not hint:
        return None
    return services().server.id_token_hint_claims(hint).get("sub")


def _run_authorization(oauth_request, params: dict, entry: dict | None, rid: str | None):
    server = services().server
    session, user = signed_in_user()
    try:
        grant = server.get_consent_grant(oauth_request, end_user=user)
    except OAuth2Error as error:
        if error.error == "login_required" and g.get("session_expired"):
            error.description = "The session expired."
        return error_to_client(error, params)
    try:
        _check_extra_params(params, grant.request.client)
        hint_sub = _hint_subject(params)
    except OAuth2Error as error:
        error.redirect_uri = grant.redirect_uri
        error.state = params.get("state")
        return error_to_client(error, params)
    return _next_step(server, grant, params, session, user, hint_sub, entry, rid)


def _check_extra_params(params: dict, client) -> None:
    if fapi.requires_par(client, services().config.require_par) and not params.get(PUSHED):
        raise InvalidRequestError("This client must push its authorization requests (PAR).")
    for name, code in UNSUPPORTED_PARAMS.items():
        if params.get(name):
            err = InvalidRequestError(f"The '{name}' parameter is not supported.")
            err.error = code
            raise err
    if params.get("response_mode") not in (None, "query", "form_post"):
        raise InvalidRequestError("Unsupported 'response_mode'.")
    problem = authorize_flow.validate_max_age(params)
    if problem:
        raise InvalidRequestError(problem)


def _next_step(server, grant, params, session, user, hint_sub, entry, rid):
    client = grant.request.client
    fresh_since = entry["created"] if entry else None
    login_needed = authorize_flow.needs_login(params, session, hint_sub, fresh_since,
                                              g.request_context.now, client.default_acr_values)
    consent_needed = False
    if not login_needed:
        granted = consented_scopes(db.session, user.id, client.id)
        consent_needed = authorize_flow.needs_consent(
            params, client, granted, grant.request.scope, bool(entry and entry["consented"]))
    decision = authorize_flow.decide(params, login_needed=login_needed,
                                     consent_needed=consent_needed)
    if decision.error:
        cls = LoginRequiredError if decision.error == "login_required" else ConsentRequiredError
        error = cls(description=decision.description, redirect_uri=grant.redirect_uri)
        error.state = params.get("state")
        return error_to_client(error, params)
    if decision.step != Step.ISSUE:
        remember_language(params.get("ui_locales"))  # pushed or request-object parameters too
        rid = rid or pending.save_pending(params)
        target = "web.login" if decision.step == Step.LOGIN else "web.consent"
        extra = {"expired": 1} if g.get("session_expired") else {}
        return redirect(url_for(target, rid=rid, **extra))
    response = server.create_authorization_response(
        grant.request, grant_user=AuthorizedUser(user, session), grant=grant)
    db.session.commit()
    if rid:
        pending.drop_pending(rid)
    return to_client(response.headers["Location"], params)


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    params = pending.request_params()
    if params.get("request_uri", "").startswith(par.URN_PREFIX):
        # RFC 9126 4: only the pushed parameters count; anything else on the URL is ignored.
        pushed = par.redeem_request(db.session, g.request_context, params.get("client_id"),
                                    params["request_uri"])
        if pushed is None:
            return render_template("error.html", title=_("This sign-in link is not valid"),
                                   message=_("The pushed request is unknown, used or expired "
                                           "(invalid_request_uri).")), 400
        db.session.commit()
        params = {**pushed, PUSHED: "1"}
        return _run_authorization(pending.StoredAuthorizationRequest(params), params, None, None)
    params.pop(PUSHED, None)  # only a redeemed request_uri sets it
    if params.get("request"):
        try:
            params = _with_request_object(params)
        except OAuth2Error as error:
            return render_template("error.html", title=_("This sign-in link is not valid"),
                                   message=error.description or error.error), 400
        return _run_authorization(pending.StoredAuthorizationRequest(params), params, None, None)
    return _run_authorization(None, params, None, None)


def _with_request_object(params: dict) -> dict:
    """RFC 9101: the verified object's claims over the outer parameters."""


    server = services().server
    client = server.query_client(params.get("client_id"))
    if client is None:
        raise InvalidClientError(description="The client does not exist on this server.")
    return resolve_request_object(server, client, params["request"], params)


@bp.post("/par")
@csrf.exempt
@no_store
def pushed_authorization_request():
    """RFC 9126 2: an authenticated client pushes an authorization request, validated now."""

    server = services().server
    try:
        client = server.authenticate_client(server.create_oauth2_request(request),
                                            list(CLIENT_AUTH_METHODS), "par")
        params = _pushed_params(client)
        grant = server.get_authorization_grant(pending.StoredAuthorizationRequest(params))
        fapi.check_authorization_request(client, params)
        grant.validate_authorization_request()
        _check_extra_params({**params, PUSHED: "1"}, client)
    except OAuth2Error as error:
        error.redirect_uri = None  # section 2.3: errors answer the client, never redirect
        db.session.commit()  # the failed client authentication's audit event
        return server.handle_error_response(request, error)
    ttl = services().config.par_ttl
    request_uri = par.push_request(db.session, g.request_context, client.id, params, ttl)
    db.session.commit()
    return Response(json.dumps({"request_uri": request_uri, "expires_in": ttl}), status=201,
                    mimetype="application/json")


def _pushed_params(client) -> dict:

    params = {k: v for k, v in pending.request_params().items()
              if k not in (*par.CLIENT_AUTH_PARAMS, PUSHED)}
    if "request_uri" in params:
        raise InvalidRequestError("'request_uri' cannot be pushed (RFC 9126 2.1).")
    if params.get("request"):
        params = _with_request_object(params)
    if params.setdefault("client_id", client.id) != client.id:
        raise InvalidRequestError("'client_id' is not the authenticated client.")
    return params


@bp.get("/authorize/resume")
def authorize_resume():
    rid = request.args.get("rid")
    entry = pending.load_pending(rid)
    if entry is None:
        return render_template("error.html", title=_("This sign-in request has expired"),
                               message=_("Go back to the application and start again.")), 400
    params = entry["params"]
    return _run_authorization(pending.StoredAuthorizationRequest(params), params, entry, rid)


# --- token, introspection, revocation ----------------------------------------------

def _commit_and_flush_usage(response):
    commit_if_written(db.session)
    usage = services().server.usage
    if usage.due():
        flush_usage(db.session, usage)
    return response


@bp.post("/token")
@csrf.exempt
@token_limit()
@no_store
def token():
    problem = token_request_problem(request.query_string, list(request.form.items(multi=True)),
                                    request.authorization is not None
                                    and request.authorization.type == "basic")
    if problem:
        return oauth_json_error(400, "invalid_request", problem)
    problem = check_request_proof("/token")
    if problem is not None:
        return problem
    response = services().server.create_token_response()
    return with_fresh_nonce(_commit_and_flush_usage(response))


@bp.post("/introspect")
@csrf.exempt
@no_store
def introspect():
    problem = check_request_proof("/introspect")
    if problem is not None:
        return problem
    response = services().server.create_endpoint_response("introspection")
    return with_fresh_nonce(_commit_and_flush_usage(response))


@bp.post("/revoke")
@csrf.exempt
@no_store
def revoke():
    problem = check_request_proof("/revoke")
    if problem is not None:
        return problem
    response = services().server.create_endpoint_response("revocation")
    db.session.commit()
    return with_fresh_nonce(response)


# --- userinfo ----------------------------------------------------------------------

def _presented_token() -> tuple[str, str | None]:
    """(scheme, token): 'dpop' or 'bearer' (RFC 9449 7.1, RFC 6750 2)."""
    header = request.headers.get("Authorization", "")
    if header[:5].lower() == "dpop ":
        return "dpop", header[5:].strip()
    if header[:7].lower() == "bearer ":
        return "bearer", header[7:].strip()
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        return "bearer", request.form.get("access_token")
    return "bearer", None


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
@no_store
def userinfo():
    scheme, value = _presented_token()
    if not value:
        response = Response(status=401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="userinfo"'
        return response
    svc = services()
    valid = check_access_token(db.session, svc.keys, svc.config.issuer, value)
    if valid is None or valid.user is None:
        return bearer_error(401, "invalid_token", "The access token is not valid.")
    problem = binding_problem(scheme, value, valid.claims)
    if problem is not None:
        return problem
    if "openid" not in valid.scopes:
        return bearer_error(403, "insufficient_scope", "The token lacks the 'openid' scope.")
    return with_fresh_nonce(make_response(user_claims(valid.user, valid.claims.get("scope", ""))))


# --- RP-initiated logout -------------------------------------------------------------

def _confirm_logout(client, unchecked_hint: bool = False):
    skip = {"confirm", "csrf_token", "id_token_hint"} if unchecked_hint else {"confirm",
                                                                            "csrf_token"}
    fields = [(k, v) for k, v in request.values.items(multi=True) if k not in skip]
    return render_template("oauth/logout_confirm.html", fields=fields, client=client,
                           unchecked_hint=unchecked_hint)


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt
def logout():
    server = services().server
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes"
    if confirmed:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except CSRFError:
            confirmed = False
        except Exception:  # noqa: BLE001 - wtforms raises ValidationError subclasses
            confirmed = False
    g.logout_confirmed = confirmed
    session = current_session()
    try:
        req = server.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        if session is None:
            return render_template("error.html", title=_("This sign-out link is not valid"),
                                   message=error.description or error.error), 400
        # A hint we cannot check (forged, or signed by a key long gone) must not keep the
        # person signed in: ask them, as for a request without a hint (section 6).
        return _confirm_logout(None, unchecked_hint=True)
    if session is not None and req.needs_confirmation and not confirmed:
        return _confirm_logout(req.client)
    upstream = None
    if session is not None:
        upstream = upstream_logout(db.session, services().keyring, services().outbound_policy,
                                   session, settings().issuer)
        revoke_session(db.session, g.request_context, session, reason="logout")
        record(db.session, g.request_context, EventType.LOGOUT, subject_id=session.user_id,
               tenant_id=session.tenant_id,
               client_id=req.client.id if req.client else None,
               details={"upstream": upstream[2]} if upstream else None)
    db.session.commit()
    response = server.create_endpoint_response("end_session", req)
    if upstream is not None:
        # The upstream ends its session too, then returns to /login/external/<slug>/
        # logged-out, which goes on to where this response was going.
        url, state, slug = upstream
        flask_session["upstream_logout"] = {
            "state": state, "slug": slug,
            "next": response.headers.get("Location") if response is not None else None}
        response = redirect(url)
    if response is None:
        response = Response(render_template("oauth/logged_out.html"))
    clear_session_cookie(response)
    return response
