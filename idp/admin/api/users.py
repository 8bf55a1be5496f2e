"""/api/v1/users: list, create, read, edit, delete, disable/enable/unlock, sessions, roles."""

from __future__ import annotations

from flask import request
from sqlalchemy import and_, or_, select

from idp.accounts import administration as admin_ops
from idp.accounts.users import create_user
from idp.admin import operations as ops
from idp.admin.api import body, bp
from idp.admin.api.paging import (
    BadRequest,
    arg_datetime,
    arg_limit,
    arg_uuid,
    decode_cursor,
    encode_cursor,
    no_content,
    page,
)
from idp.admin.permissions import admin_context, load_user, require, resolve_caller
from idp.admin.schemas import people_json, session_json, user_json
from idp.errors import NotFound, ValidationFailed
from idp.extensions import db
from idp.http import settings
from idp.models.accounts import User
from idp.models.base import utcnow
from idp.models.sessions import UserSession
from idp.rbac.authorization import visible_users
from idp.rbac.roles import assign_role
from idp.sessions.service import revoke_session, revoke_user_sessions
from idp.tenancy.tenants import query_tenant

CREATE_FIELDS = {"email", "username", "password", "tenant", *admin_ops.EDITABLE_FIELDS}


@bp.get("/users")
@require("users:read")
def list_users():
    caller = resolve_caller()
    scope = caller.tenant_scope
    stmt = visible_users(db.session, caller, select(User))
    if scope is None and request.args.get("tenant"):
        stmt = stmt.where(User.tenant_id == query_tenant(db.session, request.args["tenant"]).id)
    stmt = ops.filter_people(stmt, request.args, scope, before=arg_datetime(
        "last_login_before"), after=arg_datetime("last_login_after"))
    cursor = decode_cursor(request.args.get("cursor"))
    if cursor:
        try:
            at, last_id = _cursor_values(cursor)
        except (ValueError, TypeError, IndexError):
            raise BadRequest("The cursor is not valid.") from None
        stmt = stmt.where(or_(User.created_at > at,
                              and_(User.created_at == at, User.id > last_id)))
    limit = arg_limit()
    rows = db.session.execute(stmt.order_by(User.created_at, User.id).limit(limit + 1)
                              ).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)]) \
        if more else None
    return page(people_json(db.session, rows), next_cursor)


def _cursor_values(cursor: list):
    import uuid
    from datetime import datetime

    return datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])


@bp.post("/users")
@require("users:write")
def create_user_route():
    data = body()
    admin_ops.check_fields(data, CREATE_FIELDS)
    caller = resolve_caller()
    tenant = query_tenant(db.session, str(caller.tenant_id))
    if data.get("tenant"):
        if not isinstance(data["tenant"], str):
            raise ValidationFailed("tenant must be a slug or id.", field="tenant")
        tenant = query_tenant(db.session, data["tenant"]) \
            if caller.access.all_tenants else _own_tenant_only(data["tenant"], tenant)
    for key in ("email", "username", "password"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValidationFailed(f"{key} must be text.", field=key)
    if not data.get("email"):
        raise ValidationFailed("email is required.", field="email")
    ctx = admin_context()
    profile = admin_ops.clean_profile(data)
    user = create_user(db.session, ctx, tenant, email=data["email"],
                       username=data.get("username"), password=data.get("password"),
                       email_verified=bool(data.get("email_verified") is True), profile=profile,
                       config=settings())
    db.session.commit()
    return user_json(db.session, user), 201


def _own_tenant_only(ref: str, own):
    if ref in {own.slug, str(own.id)}:
        return own
    raise NotFound("No such tenant.")


@bp.get("/users/<user_id>")
@require("users:read")
def get_user(user_id):
    return user_json(db.session, load_user(user_id))


@bp.route("/users/<user_id>", methods=["PUT", "PATCH"])
@require("users:write")
def update_user_route(user_id):
    user = load_user(user_id, "users:write")
    data = body()
    if request.method == "PUT":
        missing = [k for k in ("username", "email") if k not in data]
        if missing:
            raise ValidationFailed(f"PUT replaces the whole profile; missing {missing}.",
                                   field=missing[0])
    admin_ops.update_user(db.session, admin_context(), user, data,
                          replace=request.method == "PUT")
    db.session.commit()
    return user_json(db.session, user)


@bp.delete("/users/<user_id>")
@require("users:write")
def delete_user_route(user_id):
    admin_ops.delete_user(db.session, admin_context(), load_user(user_id, "users:write"))
    db.session.commit()
    return no_content()


def _act(user_id, action, permission: str):
    user = load_user(user_id, permission)
    action(db.session, admin_context(), user)
    db.session.commit()
    return user_json(db.session, user)


@bp.post("/users/<user_id>/disable")
@require("users:disable")
def disable_user_route(user_id):
    return _act(user_id, admin_ops.disable_user, "users:disable")


@bp.post("/users/<user_id>/enable")
@require("users:disable")
def enable_user_route(user_id):
    return _act(user_id, admin_ops.enable_user, "users:disable")


@bp.post("/users/<user_id>/unlock")
@require("users:unlock")
def unlock_user_route(user_id):
    return _act(user_id, admin_ops.unlock_user, "users:unlock")


@bp.post("/users/<user_id>/require-password-change")
@require("users:write")
def require_password_change_route(user_id):
    """At their next sign-in the person must choose a new password before anything else."""
    from idp.accounts.password_changes import require_password_change

    return _act(user_id, require_password_change, "users:write")


@bp.post("/users/<user_id>/erase")
@require("users:erase")
def erase_user_route(user_id):
    from idp.gdpr.erasure import erase_user
    from idp.http import services

    user = load_user(user_id, "users:erase")
    data = request.get_json(silent=True)
    confirm = data.get("confirm") if isinstance(data, dict) else None
    erase_user(db.session, admin_context(), user, confirm,
               services().keyring.derive("audit-pseudonyms"))
    db.session.commit()
    return user_json(db.session, user)


@bp.get("/users/<user_id>/export")
@require("users:export")
def export_user_route(user_id):
    from idp.http import json_attachment

    user = load_user(user_id, "users:export")
    document = ops.export_person(db.session, admin_context(), user)
    db.session.commit()
    return json_attachment(document, f"user-{user.id}.json")


@bp.get("/users/<user_id>/sessions")
@require("users:read")
def list_sessions(user_id):
    user = load_user(user_id, "users:read")
    rows = db.session.execute(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
        UserSession.expires_at > utcnow()).order_by(UserSession.created_at.desc())
    ).scalars().all()
    return page([session_json(s) for s in rows], None)


@bp.delete("/users/<user_id>/sessions")
@require("sessions:revoke")
def revoke_sessions(user_id):
    user = load_user(user_id, "sessions:revoke")
    ctx = admin_context()
    count = revoke_user_sessions(db.session, ctx, user.id, reason="admin")
    admin_ops.revoke_user_grants(db.session, ctx, user.id, "admin")
    db.session.commit()
    return {"revoked": count}


@bp.delete("/users/<user_id>/sessions/<session_id>")
@require("sessions:revoke")
def revoke_one_session(user_id, session_id):
    user = load_user(user_id, "sessions:revoke")
    try:
        session = db.session.get(UserSession, arg_uuid("session_id", session_id))
    except ValidationFailed:
        session = None
    if session is None or session.user_id != user.id:
        raise NotFound("Not found.")
    revoke_session(db.session, admin_context(), session, reason="admin")
    db.session.commit()
    return no_content()


@bp.get("/users/<user_id>/roles")
@require("users:read")
def list_user_roles(user_id):
    user = load_user(user_id, "users:read")
    return {"items": user_json(db.session, user)["roles"], "next_cursor": None}


def grantable(role_name: str, user: User):
    """The role by name in the person's tenant, if the caller may hand it out (or take it)."""
    role = ops.grantable_role(db.session, resolve_caller(), role_name, user.tenant_id, user)
    return role, query_tenant(db.session, str(user.tenant_id))


@bp.post("/users/<user_id>/roles")
@require("roles:write")
def assign_user_role(user_id):
    user = load_user(user_id, "roles:write")
    name = body().get("role")
    if not isinstance(name, str) or not name:
        raise ValidationFailed("Send {\"role\": \"<name>\"}.", field="role")
    role, tenant = grantable(name, user)
    created = assign_role(db.session, admin_context(), user, role.name, tenant)
    db.session.commit()
    return user_json(db.session, user), 201 if created else 200


@bp.delete("/users/<user_id>/roles/<role_name>")
@require("roles:write")
def revoke_user_role(user_id, role_name):
    user = load_user(user_id, "roles:write")
    role, _ = grantable(role_name, user)
    if not admin_ops.revoke_role(db.session, admin_context(), user, role):
        raise NotFound("The person does not hold that role directly.")
    db.session.commit()
    return no_content()


@bp.post("/users/<user_id>/mfa/reset")
@require("mfa:reset")
def reset_mfa_route(user_id):
    from idp.http import services
    from idp.mfa.notices import notify_factor_change
    from idp.mfa.reset import reset_mfa

    user = load_user(user_id, "mfa:reset")
    data = request.get_json(silent=True)
    reason = data.get("reason") if isinstance(data, dict) else None
    if not isinstance(reason, str):
        raise ValidationFailed("Send {\"reason\": \"...\"}.", field="reason")
    # Permission was checked above (roles of a person or of a service client).
    result = reset_mfa(db.session, admin_context(), user, reason)
    db.session.commit()
    notify_factor_change(services().mailer, user, "reset")  # after the commit, as the CLI
    return {"removed": result.__dict__}
