"""/api/v1/users: list, create, read, edit, delete, disable/enable/unlock, sessions, roles."""

from __future__ import annotations

from flask import current_app, request
from sqlalchemy import and_, func, or_, select

from idp.accounts import administration as admin_ops
from idp.accounts.access import users_with_role
from idp.accounts.roles import assign_role, query_role
from idp.accounts.tenants import query_tenant
from idp.accounts.users import create_user
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
from idp.admin.permissions import admin_context, in_scope, require, resolve_caller
from idp.admin.schemas import session_json, user_json
from idp.errors import Forbidden, NotFound, ValidationFailed
from idp.extensions import db
from idp.models.accounts import User
from idp.models.base import utcnow
from idp.models.groups import Group, GroupMember
from idp.models.sessions import UserSession
from idp.sessions.service import revoke_session, revoke_user_sessions

STATUSES = {"active", "disabled", "locked", "erased"}
CREATE_FIELDS = {"email", "username", "password", "tenant", *admin_ops.EDITABLE_FIELDS}


def load_user(user_id: str) -> User:
    """The person if the caller may see their tenant; 404 otherwise (also for bad ids)."""
    try:
        user = db.session.get(User, arg_uuid("id", user_id))
    except ValidationFailed:
        raise NotFound("Not found.") from None
    return in_scope(user)


def _status_clause(status: str):
    now = utcnow()
    locked = and_(User.locked_at.is_not(None),
                  or_(User.locked_until.is_(None), User.locked_until > now))
    return {"erased": User.erased_at.is_not(None),
            "disabled": and_(User.is_active.is_(False), User.erased_at.is_(None)),
            "locked": and_(User.is_active.is_(True), locked),
            "active": and_(User.is_active.is_(True), ~locked)}[status]


def _filters(stmt, scope):
    args = request.args
    if args.get("q"):
        term = f"%{args['q'].casefold()[:100]}%"
        stmt = stmt.where(or_(User.username_normalized.like(term),
                              User.email_normalized.like(term),
                              func.lower(User.name).like(term),
                              func.lower(User.family_name).like(term)))
    if args.get("status"):
        if args["status"] not in STATUSES:
            raise ValidationFailed(f"status must be one of {sorted(STATUSES)}.", field="status")
        stmt = stmt.where(_status_clause(args["status"]))
    if args.get("role"):
        stmt = stmt.where(User.id.in_(users_with_role((args["role"],), scope)))
    if args.get("group"):
        group = args["group"]
        match = Group.name == group
        try:
            match = or_(match, Group.id == arg_uuid("group", group))
        except ValidationFailed:
            pass
        stmt = stmt.where(User.id.in_(select(GroupMember.user_id).join(
            Group, Group.id == GroupMember.group_id).where(match)))
    before, after = arg_datetime("last_login_before"), arg_datetime("last_login_after")
    if before:
        stmt = stmt.where(User.last_login_at < before)
    if after:
        stmt = stmt.where(User.last_login_at > after)
    return stmt


@bp.get("/users")
@require("users:read")
def list_users():
    caller = resolve_caller()
    scope = caller.tenant_scope
    stmt = select(User)
    if scope is not None:
        stmt = stmt.where(User.tenant_id == scope)
    elif request.args.get("tenant"):
        stmt = stmt.where(User.tenant_id == query_tenant(db.session, request.args["tenant"]).id)
    stmt = _filters(stmt, scope)
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
    return page([user_json(db.session, u) for u in rows], next_cursor)


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
        tenant = in_scope(query_tenant(db.session, data["tenant"]), caller) \
            if caller.access.all_tenants else _own_tenant_only(data["tenant"], tenant)
    for key in ("email", "username", "password"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ValidationFailed(f"{key} must be text.", field=key)
    if not data.get("email"):
        raise ValidationFailed("email is required.", field="email")
    ctx = admin_context()
    if data.get("password") is not None:
        from types import SimpleNamespace

        from idp.accounts.password_policy import enforce_password, policy_for
        from idp.http import settings

        enforce_password(policy_for(settings(), tenant), data["password"],
                         SimpleNamespace(username=data.get("username"), email=data["email"]))
    profile = admin_ops.clean_profile(data)
    user = create_user(db.session, ctx, tenant, email=data["email"],
                       username=data.get("username"), password=data.get("password"),
                       email_verified=bool(data.get("email_verified") is True), profile=profile)
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
    user = load_user(user_id)
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
    admin_ops.delete_user(db.session, admin_context(), load_user(user_id))
    db.session.commit()
    return no_content()


def _act(user_id, action):
    user = load_user(user_id)
    action(db.session, admin_context(), user)
    db.session.commit()
    return user_json(db.session, user)


@bp.post("/users/<user_id>/disable")
@require("users:disable")
def disable_user_route(user_id):
    return _act(user_id, admin_ops.disable_user)


@bp.post("/users/<user_id>/enable")
@require("users:disable")
def enable_user_route(user_id):
    return _act(user_id, admin_ops.enable_user)


@bp.post("/users/<user_id>/unlock")
@require("users:unlock")
def unlock_user_route(user_id):
    return _act(user_id, admin_ops.unlock_user)


@bp.post("/users/<user_id>/require-password-change")
@require("users:write")
def require_password_change_route(user_id):
    """At their next sign-in the person must choose a new password before anything else."""
    from idp.accounts.password_changes import require_password_change

    return _act(user_id, require_password_change)


@bp.post("/users/<user_id>/erase")
@require("users:erase")
def erase_user_route(user_id):
    from idp.accounts.gdpr import erase_user
    from idp.http import services

    user = load_user(user_id)
    data = request.get_json(silent=True)
    confirm = data.get("confirm") if isinstance(data, dict) else None
    erase_user(db.session, admin_context(), user, confirm,
               services().keyring.derive("audit-pseudonyms"))
    db.session.commit()
    return user_json(db.session, user)


@bp.get("/users/<user_id>/export")
@require("users:export")
def export_user_route(user_id):
    from idp.accounts.export import export_user
    from idp.audit import EventType, record

    user = load_user(user_id)
    document = export_user(db.session, user)
    record(db.session, admin_context(), EventType.USER_EXPORTED, subject_id=user.id,
           tenant_id=user.tenant_id)
    db.session.commit()
    response = current_app.response_class(
        current_app.json.dumps(document), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="user-{user.id}.json"'
    return response


@bp.get("/users/<user_id>/sessions")
@require("users:read")
def list_sessions(user_id):
    user = load_user(user_id)
    rows = db.session.execute(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
        UserSession.expires_at > utcnow()).order_by(UserSession.created_at.desc())
    ).scalars().all()
    return page([session_json(s) for s in rows], None)


@bp.delete("/users/<user_id>/sessions")
@require("sessions:revoke")
def revoke_sessions(user_id):
    user = load_user(user_id)
    ctx = admin_context()
    count = revoke_user_sessions(db.session, ctx, user.id, reason="admin")
    admin_ops.revoke_user_grants(db.session, ctx, user.id, "admin")
    db.session.commit()
    return {"revoked": count}


@bp.delete("/users/<user_id>/sessions/<session_id>")
@require("sessions:revoke")
def revoke_one_session(user_id, session_id):
    user = load_user(user_id)
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
    user = load_user(user_id)
    return {"items": user_json(db.session, user)["roles"], "next_cursor": None}


def _grantable(role_name: str, user: User):
    caller = resolve_caller()
    tenant = query_tenant(db.session, str(user.tenant_id))
    role = query_role(db.session, role_name, tenant)
    if not set(role.permissions or []) <= set(caller.access.permissions) or (
            role.builtin and role.name == "superadmin" and not caller.access.all_tenants):
        raise Forbidden("You cannot grant a role with rights you do not hold.")
    return role, tenant


@bp.post("/users/<user_id>/roles")
@require("roles:write")
def assign_user_role(user_id):
    user = load_user(user_id)
    name = body().get("role")
    if not isinstance(name, str) or not name:
        raise ValidationFailed("Send {\"role\": \"<name>\"}.", field="role")
    role, tenant = _grantable(name, user)
    created = assign_role(db.session, admin_context(), user, role.name, tenant)
    db.session.commit()
    return user_json(db.session, user), 201 if created else 200


@bp.delete("/users/<user_id>/roles/<role_name>")
@require("roles:write")
def revoke_user_role(user_id, role_name):
    user = load_user(user_id)
    role, _ = _grantable(role_name, user)
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

    user = load_user(user_id)
    data = request.get_json(silent=True)
    reason = data.get("reason") if isinstance(data, dict) else None
    if not isinstance(reason, str):
        raise ValidationFailed("Send {\"reason\": \"...\"}.", field="reason")
    # Permission was checked above (roles of a person or of a service client).
    result = reset_mfa(db.session, admin_context(), None, user, reason)
    db.session.commit()
    notify_factor_change(services().mailer, user, "reset")  # after the commit, as the CLI
    return {"removed": result.__dict__}
