"""Who is calling the admin API or console, and what they may do.

A caller is either an admin's browser session (unsafe methods need the CSRF token in
`X-CSRFToken`) or a bearer token with scope `idp:admin`. Effective permissions are the
union over the caller's roles in their tenant, including roles inherited from groups;
`superadmin` spans tenants.
"""

from __future__ import annotations

import dataclasses
from functools import wraps

from flask import g, request

from idp.errors import Forbidden, Unauthorized
from idp.extensions import db
from idp.http import domain_error_response, services, settings, signed_in_user
from idp.mfa.acr import has_second_factor
from idp.models.accounts import User
from idp.rbac import authorization
from idp.rbac.access import client_access, user_access
from idp.rbac.authorization import Caller, Denied
from idp.request_context import RequestContext
from idp.resource import TokenError, bearer_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
__all__ = ["Caller", "Denied", "admin_context", "require", "resolve_caller"]


class SecondFactorRequired(Denied):
    """An admin session (or person's token) whose sign-in had no second factor."""

    code = "mfa_required"

    def __init__(self, message: str, caller: Caller):
        super().__init__(message, permission="mfa", target=caller.user)
        self.caller = caller


def _ensure_second_factor(caller: Caller, amr) -> Caller:
    """ASVS 10.3.4 / 7.5.1: rights that change other people need a login with MFA; checked
    on every request, so a role granted to an old password-only session gives nothing."""
    if caller.changes_others and not has_second_factor(amr):
        raise SecondFactorRequired(
            "Administration needs a sign-in with a second factor. Set one up under "
            "/account/mfa, then sign out and in again.", caller)
    return caller


class BearerRefused(Unauthorized):
    """A refused bearer token; carries the RFC 6750 error for WWW-Authenticate."""

    def __init__(self, exc: TokenError):
        super().__init__(exc.description, code=exc.error)
        self.status = exc.status
        self.www_authenticate = exc.www_authenticate()


def _from_token(token: str) -> Caller:
    from idp.admin.auth import validate_admin_token

    try:
        valid = validate_admin_token(db.session, services().keys, settings().issuer, token)
    except TokenError as exc:
        raise BearerRefused(exc) from None
    if valid.user is not None:  # a person's token: their own roles decide
        caller = Caller(valid.user.tenant_id, user_access(db.session, valid.user),
                        user=valid.user)
        return _ensure_second_factor(caller, valid.claims.get("amr"))
    client = valid.client
    return Caller(client.tenant_id, client_access(db.session, list(client.roles or []),
                                                  client.tenant_id), client_id=client.id)


def _from_session(check_csrf: bool) -> Caller:
    session, user = signed_in_user()
    if user is None:
        raise Unauthorized("Sign in or send a bearer token.")
    if check_csrf and request.method not in SAFE_METHODS:
        from flask_wtf.csrf import CSRFError, validate_csrf

        try:
            validate_csrf(request.headers.get("X-CSRFToken") or request.form.get("csrf_token"))
        except (CSRFError, ValueError) as exc:
            raise Forbidden(f"CSRF check failed: {exc}", code="csrf_failed") from None
    caller = Caller(user.tenant_id, user_access(db.session, user), user=user)
    return _ensure_second_factor(caller, session.amr)


def resolve_caller(check_csrf: bool = True) -> Caller:
    """The authenticated caller of this request (cached on `g`); Unauthorized otherwise."""
    # Cached on the request (not `g`, which an app context may carry across requests).
    cached = request.environ.get("idp.admin_caller")
    if cached is None:
        token = bearer_token(request.headers)
        has_auth = bool(request.headers.get("Authorization"))
        cached = _from_token(token) if has_auth else _from_session(check_csrf)
        request.environ["idp.admin_caller"] = cached
    return cached


def require(*permissions: str, any_of: bool = False):
    """View decorator: 401 without a caller, 403 (audited) without the permission(s)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            caller = resolve_caller()
            held = [p for p in permissions if caller.can(p)]
            if (any_of and not held) or (not any_of and len(held) != len(permissions)):
                missing = next(p for p in permissions if not caller.can(p))
                raise Denied(f"This needs the permission {' or '.join(permissions)}.",
                             permission=missing)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def admin_context() -> RequestContext:
    """The request context with the caller as actor, for audit events."""
    return dataclasses.replace(g.request_context, actor_id=resolve_caller().actor_id)


def audit_denial(exc: Denied) -> None:
    """Write `authz.denied` in a transaction of its own: whatever the request had begun is
    rolled back (nothing of a refused action is applied), the refusal itself is kept."""
    db.session.rollback()
    caller = getattr(exc, "caller", None) or request.environ.get("idp.admin_caller")
    ctx = g.request_context if caller is None else dataclasses.replace(
        g.request_context, actor_id=caller.actor_id)
    authorization.record_denial(db.session, ctx, caller, exc)
    db.session.commit()


def denied_response(exc: Denied):
    """The admin blueprints' answer to a refusal: audited, then the usual error shape."""
    audit_denial(exc)
    return domain_error_response(exc)


def load_user(user_id, permission: str = "users:read") -> User:
    """The person, if the caller may act on them with `permission` (404 / 403 otherwise)."""
    return authorization.load_user(db.session, resolve_caller(), user_id, permission)


def load_client(client_id: str, permission: str = "clients:write"):
    return authorization.load_client(db.session, resolve_caller(), client_id, permission)


def load_group(group_id: str, permission: str = "users:read"):
    return authorization.load_group(db.session, resolve_caller(), group_id, permission)


def load_role(role_id: str, permission: str = "users:read"):
    return authorization.load_role(db.session, resolve_caller(), role_id, permission)
