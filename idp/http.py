"""HTTP plumbing shared by every adapter: caller identity, request ids, headers, errors."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from idp.errors import DomainError, HashingBusy
from idp.input_limits import has_nul, loads_bounded
from idp.request_context import RequestContext
from idp.security_headers import REQUEST_ID_HEADER, request_id, security_headers

SESSION_COOKIE = "idp_session"
FLOW_COOKIE = "idp_flow"  # Flask's signed session: the partial login and ceremonies


def settings():
    """The validated `Config` of the running app."""
    return current_app.extensions["idp"].config


def cookie_name(base: str, https: bool) -> str:
    """The name a cookie is sent under: `__Host-` prefixed under https.

    The prefix makes the browser refuse the cookie unless it is Secure, for Path=/ and
    without a Domain, so a sibling host or an http page cannot plant or shadow it.
    """
    return f"__Host-{base}" if https else base


def session_cookie() -> str:
    """The browser-session cookie's name for the running app."""
    return cookie_name(SESSION_COOKIE, settings().issuer_is_https)


def services():
    """The app's `Services` bundle (keys, server, limiter policy...)."""
    return current_app.extensions["idp"]


def client_ip() -> str:
    """The client address: X-Forwarded-For is believed only for IDP_TRUSTED_PROXIES hops."""
    return environ_client_ip(request.environ, settings().trusted_proxies)


def environ_client_ip(environ, hops: int) -> str:
    """client_ip() from a WSGI environ (for middleware that runs before Flask).

    The forwarded address is data, not trust: anything but an IP literal falls back to
    the peer address and is noted in the environ (`idp.forwarded_for_rejected`, logged
    with the request line), so a forged header never reaches a column or a limiter key.
    """
    remote = ip_literal(environ.get("REMOTE_ADDR")) or "0.0.0.0"  # noqa: S104 - a placeholder
    if hops <= 0:
        return remote
    forwarded = [p.strip() for p in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if p.strip()]
    chain = forwarded + [remote]
    # The last `hops` entries were added by our proxies; the one before is the client.
    claimed = chain[-(hops + 1)] if len(chain) > hops else chain[0]
    address = ip_literal(claimed)
    if address is None:
        environ["idp.forwarded_for_rejected"] = claimed[:64]
        return remote
    return address


def ip_literal(value: str | None) -> str | None:
    """`value` as a canonical IPv4/IPv6 address, or None if it is not one."""
    if not value or len(value) > 45:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # A zone id (fe80::1%eth0) is the proxy's interface, not the client's address.
    return None if getattr(address, "scope_id", None) else str(address)


def _incoming_request_id() -> str:
    return request_id(request.headers.get(REQUEST_ID_HEADER))


def request_context() -> RequestContext:
    """g.request_context, built now when a hook that runs before ours (CSRF, limits) asks."""
    if g.get("request_context") is None:
        g.request_id = g.get("request_id") or _incoming_request_id()
        g.request_context = build_request_context()
    return g.request_context


def build_request_context() -> RequestContext:
    return RequestContext(ip=client_ip(), user_agent=request.headers.get("User-Agent"),
                          request_id=g.request_id, repeat_gate=_repeat_gate())


def _repeat_gate():
    """The app's audit repeat gate, on the rate limiter's (shared) counter store."""
    import time

    from idp.audit.repeats import RepeatGate
    from idp.extensions import limiter

    extra = services().extra
    gate = extra.get("audit_repeat_gate")
    if gate is None:
        gate = extra["audit_repeat_gate"] = RepeatGate(limiter.storage,
                                                       settings().redis_prefix, time.time)
    return gate


def wants_json() -> bool:
    path = request.path
    if path.startswith(("/api/", "/token", "/introspect", "/revoke", "/userinfo", "/jwks",
                        "/.well-known", "/healthz", "/readyz")):
        return True
    return request.accept_mimetypes.best == "application/json"


def json_error(status: int, code: str, message: str, **extra):
    """The admin API error shape: {"error": code, "message": text}."""
    response = jsonify({"error": code, "message": message, **extra})
    response.status_code = status
    return response


def oauth_json_error(status: int, error: str, description: str):
    """RFC 6749 5.2 error body."""
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def handle_http_exception(exc: HTTPException):
    """An HTTP error as RFC 6749 JSON, admin JSON or a page, by endpoint."""
    response = _http_error_body(exc)
    # RFC 9110 15.5.6: a 405 names the methods the resource does support.
    allowed = getattr(exc, "valid_methods", None)
    if exc.code == 405 and allowed:
        from flask import make_response

        response = make_response(response)
        response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def _http_error_body(exc: HTTPException):
    status = exc.code or 500
    if request.path.startswith(("/token", "/introspect", "/revoke", "/userinfo")):
        return oauth_json_error(status, "invalid_request", exc.description or exc.name)
    if wants_json():
        return json_error(status, exc.name.lower().replace(" ", "_"), exc.description or exc.name)
    title, message = _error_page_text(exc)
    return render_template("error.html", title=title, message=message), status


# The words of the HTML error pages; Werkzeug's own are English and name the protocol.
ERROR_PAGES = {
    400: (_l("Something is not right"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed"), _l("This page cannot be used this way.")),
    413: (_l("Too much data"), _l("What was sent is too large.")),
    429: (_l("Too many attempts"), _l("Please wait a moment and try again.")),
    500: (_l("Something went wrong"), _l("Please try again in a moment.")),
}


def _error_page_text(exc: HTTPException) -> tuple[str, str]:
    """A plain title and sentence in the page's language; our own descriptions are kept."""
    if isinstance(exc, CSRFError):
        # An expired or missing form token: say what to do, not "The CSRF token is invalid".
        return (_("Please try again"),
                _("This page was open too long or in another window. Go back, reload it and "
                  "try again."))
    title, message = ERROR_PAGES.get(exc.code or 500, (exc.name, exc.description))
    own = exc.description and exc.description != type(exc).description
    return str(title), exc.description if own else str(message)


def domain_error_response(exc: DomainError):
    """A domain error as JSON (API callers) or the error page."""
    if wants_json():
        extra = {"field": exc.field} if exc.field else {}
        return json_error(exc.status, exc.code, exc.message, **extra)
    return render_template("error.html", title=_("Something is not right"),
                           message=exc.message), exc.status


def hashing_busy_response(exc: HashingBusy):
    """A login flood filled this worker's hash slots (accounts/passwords.py): 503 with
    Retry-After; nothing was counted, so the failed-login limit does not count it either."""
    from idp.metrics import note_hashing_busy

    g.hashing_busy = True
    note_hashing_busy()
    if wants_json():
        response = json_error(exc.status, exc.code, exc.message)
    else:
        response = current_app.make_response((render_template(
            "error.html", title=_("Please try again"),
            message=_("Please wait a moment and try again.")), exc.status))
    response.headers["Retry-After"] = str(exc.retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def _security_headers(response):
    nonce = g.get("csp_nonce", "") if response.mimetype == "text/html" else None
    for name, value in security_headers(settings().issuer_is_https, nonce):
        response.headers.setdefault(name, value)
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    return response


class FlowCookieInterface(SecureCookieSessionInterface):
    """The signed flow cookie, never written on a 5xx answer."""

    def save_session(self, app, session, response) -> None:
        # A failed request changes no client state: a partial login saved on the 500
        # would tell a guesser the password was right although nothing was committed.
        if response.status_code >= 500:
            return
        super().save_session(app, session, response)


class BoundedJSONProvider(DefaultJSONProvider):
    """request.get_json() and friends, with input_limits' depth and NUL rules."""

    def loads(self, s, **kwargs):
        return loads_bounded(s, **kwargs)


def refuse_nul_bytes() -> None:
    """400 for a NUL anywhere in the path, query, form, Basic credentials or user agent."""
    auth = request.authorization
    fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
    if (has_nul(request.path, request.headers.get("User-Agent"),
                auth.username if auth else None, auth.password if auth else None)
            or any(has_nul(key, value) for key, value in fields)):
        abort(400, description="The request contains a NUL character.")


def install(app: Flask) -> None:
    """Request context, input limits, security headers and error mapping for every route."""
    app.session_interface = FlowCookieInterface()
    app.json = BoundedJSONProvider(app)
    # First of our hooks, so no view, limiter or audit write ever sees such input.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul_bytes)

    @app.before_request
    def _start():
        g.request_id = _incoming_request_id()
        g.csp_nonce = secrets.token_urlsafe(16)
        g.request_context = build_request_context()

    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, domain_error_response)
    app.register_error_handler(HashingBusy, hashing_busy_response)

    @app.context_processor
    def _template_globals():
        return {"csp_nonce": g.get("csp_nonce", "")}


def current_session():
    """The live browser session for this request's cookie (cached on `g`), or None.

    Idle and absolute timeouts are enforced here, on every request; an expired session
    is revoked and `g.session_expired` tells the login page to say so.
    """
    if "idp_session" in g:
        return g.idp_session
    from idp.extensions import db
    from idp.sessions.service import SessionState, load_session, revoke_session, touch_session

    svc = services()
    state, session = load_session(db.session, request.cookies.get(session_cookie()),
                                  svc.session_policy, g.request_context.now)
    g.session_expired = state == SessionState.EXPIRED
    if state == SessionState.EXPIRED:
        revoke_session(db.session, g.request_context, session, reason="expired")
        db.session.commit()
        session = None
    elif session is not None:
        touch_session(db.session, session, svc.session_policy, g.request_context.now)
        db.session.commit()
    g.idp_session = session
    return session


def signed_in_user():
    """(session, user) of the signed-in, active person, or (None, None): the one place that
    turns the session cookie into a person.

    A request that finds no session but a partial login (password passed, second factor
    not) is audited: someone is trying the pages a full login opens without the step.
    """
    from idp.extensions import db
    from idp.models.accounts import User

    session = current_session()
    user = db.session.get(User, session.user_id) if session is not None else None
    if user is not None and user.is_active:
        return session, user
    _audit_skipped_step()
    return None, None


def _audit_skipped_step() -> None:
    from flask import session as flow

    from idp.audit import EventType, Outcome, record
    from idp.extensions import db

    partial = flow.get("partial_login")  # web.login_steps.KEY
    if not isinstance(partial, dict) or "mfa" in (partial.get("done") or []):
        return
    try:
        subject = uuid.UUID(str(partial.get("uid")))
    except ValueError:
        subject = None
    record(db.session, g.request_context, EventType.MFA, outcome=Outcome.FAILURE,
           subject_id=subject,
           details={"reason": "second_factor_skipped", "path": request.path[:200],
                    "amr": list(partial.get("amr") or [])[:5]})
    db.session.commit()


def local_path(value: str | None) -> str | None:
    """`value` when it is a path on this site (a return after signing in), else None: no
    scheme, no host, no `//` or backslash a browser would read as another site."""
    if not value or len(value) > 2000 or not value.startswith("/") \
            or value.startswith("//") or "\\" in value:
        return None
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return None
    parts = urlsplit(value)
    return None if parts.scheme or parts.netloc else value


def set_session_cookie(response, token: str, lifetime: int | None = None) -> None:
    """The opaque session cookie: HttpOnly, SameSite=Lax, Secure under https; it lives as
    long as the session may (`lifetime`: the tenant's absolute timeout, if it sets one)."""
    cfg = settings()
    max_age = lifetime if lifetime is not None else cfg.session_absolute_timeout
    response.set_cookie(session_cookie(), token, max_age=max_age,
                        httponly=True, secure=cfg.issuer_is_https, samesite="Lax", path="/")


def clear_session_cookie(response) -> None:
    response.delete_cookie(session_cookie(), path="/", httponly=True,
                           secure=settings().issuer_is_https, samesite="Lax")


def no_store(view):
    """Responses carrying tokens must not be cached (RFC 6749 5.1)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = current_app.make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response

    return wrapper


def json_attachment(document, filename: str):
    """A JSON document the browser saves as `filename` (exports)."""
    response = current_app.response_class(current_app.json.dumps(document),
                                          mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
