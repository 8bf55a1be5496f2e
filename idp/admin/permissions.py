"""Who is calling the admin API or console, and what they may do.

A caller is either an admin's browser session (unsafe methods need the CSRF token in
`X-CSRFToken`) or a bearer token with scope `idp:admin`. Effective permissions are the
union over the caller's roles in their tenant, including roles inherited from groups;
`superadmin` spans tenants.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from functools import wraps

from flask import g, request

from idp.accounts.access import Access, client_access, user_access
from idp.errors import Forbidden, NotFound, Unauthorized
from idp.extensions import db
from idp.http import current_session, services, settings
from idp.models.accounts import User
from idp.request_context import RequestContext
from idp.resource import TokenError, bearer_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Caller:
    tenant_id: uuid.UUID
    access: Access
    user: User | None = None
    client_id: str | None = None

    @property
    def actor_id(self) -> str:
        """How audit events name this caller."""
        return str(self.user.id) if self.user else f"client:{self.client_id}"

    @property
    def tenant_scope(self) -> uuid.UUID | None:
        """None for superadmins (every tenant), else the caller's own tenant."""
        return None if self.access.all_tenants else self.tenant_id

    def can(self, permission: str) -> bool:
        return permission in self.access.permissions

    def sees_tenant(self, tenant_id: uuid.UUID | None) -> bool:
        return self.access.all_tenants or tenant_id == self.tenant_id


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
        return Caller(valid.user.tenant_id, user_access(db.session, valid.user), user=valid.user)
    client = valid.client
    return Caller(client.tenant_id, client_access(db.session, list(client.roles or []),
                                                  client.tenant_id), client_id=client.id)


def _from_session(check_csrf: bool) -> Caller:
    session = current_session()
    if session is None:
        raise Unauthorized("Sign in or send a bearer token.")
    user = db.session.get(User, session.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Sign in or send a bearer token.")
    if check_csrf and request.method not in SAFE_METHODS:
        from flask_wtf.csrf import CSRFError, validate_csrf

        try:
            validate_csrf(request.headers.get("X-CSRFToken") or request.form.get("csrf_token"))
        except (CSRFError, ValueError) as exc:
            raise Forbidden(f"CSRF check failed: {exc}", code="csrf_failed") from None
    return Caller(user.tenant_id, user_access(db.session, user), user=user)


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
    """View decorator: 401 without a caller, 403 without the permission(s)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            caller = resolve_caller()
            held = [p for p in permissions if caller.can(p)]
            if (any_of and not held) or (not any_of and len(held) != len(permissions)):
                raise Forbidden(f"This needs the permission {' or '.join(permissions)}.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def admin_context() -> RequestContext:
    """The request context with the caller as actor, for audit events."""
    return dataclasses.replace(g.request_context, actor_id=resolve_caller().actor_id)


def in_scope(row, caller: Caller | None = None):
    """`row` if the caller may see its tenant; NotFound (never Forbidden) otherwise."""
    caller = caller or resolve_caller()
    if row is None or not caller.sees_tenant(getattr(row, "tenant_id", None)):
        raise NotFound("Not found.")
    return row
