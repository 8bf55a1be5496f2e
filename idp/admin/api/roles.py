"""/api/v1/roles and /api/v1/groups: built-in and custom roles, groups and members."""

from __future__ import annotations

from idp.admin import operations as ops
from idp.admin.api import body, bp
from idp.admin.api.paging import no_content, page
from idp.admin.permissions import admin_context, load_group, load_role, require, resolve_caller
from idp.admin.schemas import group_json, role_json
from idp.errors import NotFound, ValidationFailed
from idp.extensions import db
from idp.rbac import groups as group_ops


@bp.get("/roles")
@require("users:read")
def list_roles():
    return page([role_json(r) for r in ops.list_roles(db.session, resolve_caller())], None)


@bp.post("/roles")
@require("roles:write")
def create_role_route():
    role = ops.create_role(db.session, admin_context(), resolve_caller(), body())
    db.session.commit()
    return role_json(role), 201


@bp.get("/roles/<role_id>")
@require("users:read")
def get_role(role_id):
    return role_json(load_role(role_id))


@bp.patch("/roles/<role_id>")
@require("roles:write")
def update_role_route(role_id):
    role = ops.edit_role(db.session, admin_context(), resolve_caller(),
                         load_role(role_id, "roles:write"), body())
    db.session.commit()
    return role_json(role)


@bp.delete("/roles/<role_id>")
@require("roles:write")
def delete_role_route(role_id):
    role = load_role(role_id, "roles:write")
    if role.tenant_id is None:
        from idp.rbac.authorization import Denied

        raise Denied("Built-in roles cannot be changed.", permission="roles:write", target=role)
    group_ops.delete_role(db.session, admin_context(), role)
    db.session.commit()
    return no_content()


# --- groups -----------------------------------------------------------------------------

@bp.get("/groups")
@require("users:read")
def list_groups():
    rows = ops.list_groups(db.session, resolve_caller())
    return page([group_json(db.session, g) for g in rows], None)


@bp.post("/groups")
@require("roles:write")
def create_group_route():
    caller = resolve_caller()
    tenant = ops.load_tenant(db.session, caller, caller.tenant_id)
    group = group_ops.create_group(db.session, admin_context(), tenant, body())
    db.session.commit()
    return group_json(db.session, group), 201


@bp.get("/groups/<group_id>")
@require("users:read")
def get_group(group_id):
    return group_json(db.session, load_group(group_id))


@bp.delete("/groups/<group_id>")
@require("roles:write")
def delete_group_route(group_id):
    group_ops.delete_group(db.session, admin_context(), load_group(group_id, "roles:write"))
    db.session.commit()
    return no_content()


@bp.post("/groups/<group_id>/members")
@require("roles:write")
def add_group_member(group_id):
    group = load_group(group_id, "roles:write")
    user_id = body().get("user_id")
    if not isinstance(user_id, str):
        raise ValidationFailed("Send {\"user_id\": \"<id>\"}.", field="user_id")
    user = ops.group_member(db.session, resolve_caller(), group, user_id)
    group_ops.add_member(db.session, admin_context(), group, user)
    db.session.commit()
    return group_json(db.session, group)


@bp.delete("/groups/<group_id>/members/<user_id>")
@require("roles:write")
def remove_group_member(group_id, user_id):
    group = load_group(group_id, "roles:write")
    user = ops.group_member(db.session, resolve_caller(), group, user_id)
    if not group_ops.remove_member(db.session, admin_context(), group, user):
        raise NotFound("Not a member.")
    db.session.commit()
    return no_content()


@bp.post("/groups/<group_id>/roles")
@require("roles:write")
def add_group_role(group_id):
    group = load_group(group_id, "roles:write")
    name = body().get("role")
    if not isinstance(name, str):
        raise ValidationFailed("Send {\"role\": \"<name>\"}.", field="role")
    role = ops.grantable_role(db.session, resolve_caller(), name, group.tenant_id, group)
    group_ops.set_group_role(db.session, admin_context(), group, role, True)
    db.session.commit()
    return group_json(db.session, group)


@bp.delete("/groups/<group_id>/roles/<role_name>")
@require("roles:write")
def remove_group_role(group_id, role_name):
    group = load_group(group_id, "roles:write")
    role = ops.grantable_role(db.session, resolve_caller(), role_name, group.tenant_id, group)
    if not group_ops.set_group_role(db.session, admin_context(), group, role, False):
        raise NotFound("The group does not hold that role.")
    db.session.commit()
    return no_content()
