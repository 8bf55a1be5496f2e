"""Protocol endpoints. Thin: Authlib validates, services decide, the view commits once."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, validate_csrf

from idp.accounts.consents import consented_scopes
from idp.audit import EventType, record
from idp.database import commit_if_written
from idp.extensions import csrf, db
from idp.http import (
    clear_session_cookie,
    current_session,
    no_store,
    oauth_json_error,
    services,
    signed_in_user,
)
from idp.oauth import authorize_flow, pending
from idp.oauth.access_tokens import check_access_token
from idp.oauth.authorize_flow import Step
from idp.oauth.claims import user_claims
from idp.oauth.discovery import metadata_json
from idp.oauth.responses import error_to_client, to_client
from idp.oauth.signing_keys import JWKS_MAX_AGE
from idp.oauth.token_request import token_request_problem
from idp.oauth.token_service import AuthorizedUser
from idp.oauth.usage_store import flush_usage
from idp.rate_limits import token_limit
from idp.sessions.service import revoke_session

bp = Blueprint("oauth", __name__)

UNSUPPORTED_PARAMS = {
    "request": "request_not_supported",
    "request_uri": "request_uri_not_supported",
    "registration": "registration_not_supported",
}


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
    svc = services()
    body = svc.extra.get("metadata_json")
    if body is None:
        body = svc.extra["metadata_json"] = metadata_json(svc.config)
    return _cached_json(body)


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
        _check_extra_params(params, grant.redirect_uri)
        hint_sub = _hint_subject(params)
    except OAuth2Error as error:
        error.redirect_uri = grant.redirect_uri
        error.state = params.get("state")
        return error_to_client(error, params)
    return _next_step(server, grant, params, session, user, hint_sub, entry, rid)


def _check_extra_params(params: dict, redirect_uri: str) -> None:
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
    return _run_authorization(None, params, None, None)


@bp.get("/authorize/resume")
def authorize_resume():
    rid = request.args.get("rid")
    entry = pending.load_pending(rid)
    if entry is None:
        return render_template("error.html", title="This sign-in request has expired",
                               message="Go back to the application and start again."), 400
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
    response = services().server.create_token_response()
    return _commit_and_flush_usage(response)


@bp.post("/introspect")
@csrf.exempt
@no_store
def introspect():
    response = services().server.create_endpoint_response("introspection")
    return _commit_and_flush_usage(response)


@bp.post("/revoke")
@csrf.exempt
@no_store
def revoke():
    response = services().server.create_endpoint_response("revocation")
    db.session.commit()
    return response


# --- userinfo ----------------------------------------------------------------------

def _bearer_error(status: int, error: str, description: str) -> Response:
    response = oauth_json_error(status, error, description)
    response.headers["WWW-Authenticate"] = f'Bearer error="{error}", error_description="{description}"'
    return response


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        return request.form.get("access_token")
    return None


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
@no_store
def userinfo():
    value = _presented_token()
    if not value:
        response = Response(status=401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="userinfo"'
        return response
    svc = services()
    valid = check_access_token(db.session, svc.keys, svc.config.issuer, value)
    if valid is None or valid.user is None:
        return _bearer_error(401, "invalid_token", "The access token is not valid.")
    if "openid" not in valid.scopes:
        return _bearer_error(403, "insufficient_scope", "The token lacks the 'openid' scope.")
    return user_claims(valid.user, valid.claims.get("scope", ""))


# --- RP-initiated logout -------------------------------------------------------------

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
    try:
        req = server.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return render_template("error.html", title="This sign-out link is not valid",
                               message=error.description or error.error), 400
    session = current_session()
    if session is not None and req.needs_confirmation and not confirmed:
        fields = [(k, v) for k, v in request.values.items(multi=True)
                  if k not in ("confirm", "csrf_token")]
        return render_template("oauth/logout_confirm.html", fields=fields, client=req.client)
    if session is not None:
        revoke_session(db.session, g.request_context, session, reason="logout")
        record(db.session, g.request_context, EventType.LOGOUT, subject_id=session.user_id,
               tenant_id=session.tenant_id,
               client_id=req.client.id if req.client else None)
    db.session.commit()
    response = server.create_endpoint_response("end_session", req)
    if response is None:
        response = Response(render_template("oauth/logged_out.html"))
    clear_session_cookie(response)
    return response
