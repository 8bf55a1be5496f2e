"""/api/v1/roles and /api/v1/groups: built-in and custom roles, groups and members."""

from __future__ import annotations

from sqlalchemy import or_, select

from idp.accounts import groups as group_ops
from idp.accounts.roles import PERMISSIONS, query_role
from idp.accounts.tenants import query_tenant
from idp.admin.api import body, bp
from idp.admin.api.paging import arg_uuid, no_content, page
from idp.admin.api.users import load_user
from idp.admin.permissions import admin_context, in_scope, require, resolve_caller
from idp.admin.schemas import role_json
from idp.errors import Forbidden, NotFound, ValidationFailed
from idp.extensions import db
from idp.models.rbac import Role


def load_role(role_id: str) -> Role:
    """A role the caller may see: built-in ones, or their tenant's custom ones."""
    try:
        role = db.session.get(Role, arg_uuid("id", role_id))
    except ValidationFailed:
        role = None
    if role is None or (role.tenant_id is not None
                        and not resolve_caller().sees_tenant(role.tenant_id)):
        raise NotFound("Not found.")
    return role


def _writable(role: Role) -> Role:
    if role.tenant_id is None:
        raise Forbidden("Built-in roles cannot be changed.")
    return role


@bp.get("/roles")
@require("users:read")
def list_roles():
    scope = resolve_caller().tenant_scope
    stmt = select(Role).order_by(Role.builtin.desc(), Role.name)
    if scope is not None:
        stmt = stmt.where(or_(Role.tenant_id.is_(None), Role.tenant_id == scope))
    return page([role_json(r) for r in db.session.execute(stmt).scalars()], None)


@bp.post("/roles")
@require("roles:write")
def create_role_route():
    data = body()
    caller = resolve_caller()
    perms = data.get("permissions", [])
    if isinstance(perms, list) and not (set(map(str, perms)) & set(PERMISSIONS)) <= set(
            caller.access.permissions):
        raise Forbidden("A custom role cannot carry rights you do not hold.")
    tenant = query_tenant(db.session, str(caller.tenant_id))
    if caller.access.all_tenants and isinstance(data.get("tenant"), str):
        tenant = query_tenant(db.session, data["tenant"])
    role = group_ops.create_role(db.session, admin_context(), tenant, data)
    db.session.commit()
    return role_json(role), 201


@bp.get("/roles/<role_id>")
@require("users:read")
def get_role(role_id):
    return role_json(load_role(role_id))


@bp.patch("/roles/<role_id>")
@require("roles:write")
def update_role_route(role_id):
    return role_json(edit_role(role_id, body()))


def edit_role(role_id: str, data: dict) -> Role:
    """Change a custom role (API and console); never to rights the caller lacks."""
    role = _writable(load_role(role_id))
    perms = data.get("permissions")
    if isinstance(perms, list) and not (set(map(str, perms)) & set(PERMISSIONS)) <= set(
            resolve_caller().access.permissions):
        raise Forbidden("A custom role cannot carry rights you do not hold.")
    group_ops.update_role(db.session, admin_context(), role, data)
    db.session.commit()
    return role


@bp.delete("/roles/<role_id>")
@require("roles:write")
def delete_role_route(role_id):
    group_ops.delete_role(db.session, admin_context(), _writable(load_role(role_id)))
    db.session.commit()
    return no_content()


# --- groups -----------------------------------------------------------------------------

def load_group(group_id: str):
    from idp.models.groups import Group

    try:
        group = db.session.get(Group, arg_uuid("id", group_id))
    except ValidationFailed:
        group = None
    return in_scope(group)


@bp.get("/groups")
@require("users:read")
def list_groups():
    from idp.admin.schemas import group_json
    from idp.models.groups import Group

    scope = resolve_caller().tenant_scope
    stmt = select(Group).order_by(Group.name)
    if scope is not None:
        stmt = stmt.where(Group.tenant_id == scope)
    return page([group_json(db.session, g) for g in db.session.execute(stmt).scalars()], None)


@bp.post("/groups")
@require("roles:write")
def create_group_route():
    from idp.admin.schemas import group_json

    caller = resolve_caller()
    tenant = query_tenant(db.session, str(caller.tenant_id))
    group = group_ops.create_group(db.session, admin_context(), tenant, body())
    db.session.commit()
    return group_json(db.session, group), 201


@bp.get("/groups/<group_id>")
@require("users:read")
def get_group(group_id):
    from idp.admin.schemas import group_json

    return group_json(db.session, load_group(group_id))


@bp.delete("/groups/<group_id>")
@require("roles:write")
def delete_group_route(group_id):
    group_ops.delete_group(db.session, admin_context(), load_group(group_id))
    db.session.commit()
    return no_content()


def _member(group, user_id):
    user = load_user(user_id)
    if user.tenant_id != group.tenant_id:
        raise NotFound("Not found.")
    return user


@bp.post("/groups/<group_id>/members")
@require("roles:write")
def add_group_member(group_id):
    from idp.admin.schemas import group_json

    group = load_group(group_id)
    user_id = body().get("user_id")
    if not isinstance(user_id, str):
        raise ValidationFailed("Send {\"user_id\": \"<id>\"}.", field="user_id")
    group_ops.add_member(db.session, admin_context(), group, _member(group, user_id))
    db.session.commit()
    return group_json(db.session, group)


@bp.delete("/groups/<group_id>/members/<user_id>")
@require("roles:write")
def remove_group_member(group_id, user_id):
    group = load_group(group_id)
    if not group_ops.remove_member(db.session, admin_context(), group, _member(group, user_id)):
        raise NotFound("Not a member.")
    db.session.commit()
    return no_content()


@bp.post("/groups/<group_id>/roles")
@require("roles:write")
def add_group_role(group_id):
    from idp.admin.schemas import group_json

    group = load_group(group_id)
    name = body().get("role")
    if not isinstance(name, str):
        raise ValidationFailed("Send {\"role\": \"<name>\"}.", field="role")
    role = _grantable_role(name, group.tenant_id)
    group_ops.set_group_role(db.session, admin_context(), group, role, True)
    db.session.commit()
    return group_json(db.session, group)


@bp.delete("/groups/<group_id>/roles/<role_name>")
@require("roles:write")
def remove_group_role(group_id, role_name):
    group = load_group(group_id)
    role = _grantable_role(role_name, group.tenant_id)
    if not group_ops.set_group_role(db.session, admin_context(), group, role, False):
        raise NotFound("The group does not hold that role.")
    db.session.commit()
    return no_content()


def _grantable_role(name: str, tenant_id) -> Role:
    caller = resolve_caller()
    role = query_role(db.session, name, query_tenant(db.session, str(tenant_id)))
    if not set(role.permissions or []) <= set(caller.access.permissions) or (
            role.name == "superadmin" and role.builtin and not caller.access.all_tenants):
        raise Forbidden("You cannot grant a role with rights you do not hold.")
    return role


