"""Groups and custom roles: members inherit a group's roles; every change audited."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import Conflict, ValidationFailed
from idp.models.accounts import User
from idp.models.groups import Group, GroupMember, GroupRole
from idp.models.rbac import Role
from idp.models.tenancy import Tenant
from idp.rbac.access import user_access
from idp.rbac.roles import BUILTIN_ROLES, PERMISSIONS
from idp.rbac.safeguards import ensure_actor_keeps_role_admin, ensure_not_last_admin
from idp.request_context import RequestContext

# Role names travel in tokens (`roles`), settings and URLs: a plain identifier.
ROLE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Group names are display names as directories send them ("Sales Team EMEA", "Ventes
# Île-de-France"): any printable text up to the column's size. Refused: control and format
# characters (bidi overrides and zero-width characters make one name read as another),
# line separators, unassigned or private code points, spaces other than U+0020, and
# spaces at either end ("Admins " beside "Admins").
GROUP_NAME_MAX = 100
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _check_role_name(name, field: str = "name") -> str:
    if not isinstance(name, str) or not ROLE_NAME.match(name):
        raise ValidationFailed(f"{field} must be 1-64 letters, digits or _.:-", field=field)
    return name


def check_group_name(name, field: str = "name") -> str:
    """The one group-name rule (admin API, console, CLI, SCIM); ValidationFailed names
    the field."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed(f"{field} must be a name of 1-{GROUP_NAME_MAX} characters.",
                               field=field)
    if len(name) > GROUP_NAME_MAX:
        raise ValidationFailed(f"{field} must be at most {GROUP_NAME_MAX} characters.",
                               field=field)
    for char in name:
        category = unicodedata.category(char)
        if category in _UNPRINTABLE or (category == "Zs" and char != " "):
            raise ValidationFailed(f"{field} must not contain control, invisible or special "
                                   f"space characters (U+{ord(char):04X}).", field=field)
    if name != name.strip(" "):
        raise ValidationFailed(f"{field} must not begin or end with a space.", field=field)
    return name


def _check_description(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 300:
        raise ValidationFailed("description must be text of at most 300 characters.",
                               field="description")
    return value


def _check_permissions(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValidationFailed("permissions must be a list of names.", field="permissions")
    unknown = sorted(set(value) - set(PERMISSIONS))
    if unknown:
        raise ValidationFailed(f"Unknown permissions: {unknown}.", field="permissions")
    return sorted(set(value))


def create_role(db: Session, ctx: RequestContext, tenant: Tenant, data: dict) -> Role:
    """A custom role of one tenant (names of built-in roles are reserved)."""
    name = _check_role_name(data.get("name"))
    if name in BUILTIN_ROLES or db.execute(select(Role.id).where(
            Role.tenant_id == tenant.id, Role.name == name)).first():
        raise Conflict(f"A role named {name!r} exists.")
    role = Role(tenant_id=tenant.id, name=name, builtin=False,
                description=_check_description(data.get("description")),
                permissions=_check_permissions(data.get("permissions", [])))
    db.add(role)
    db.flush()
    record(db, ctx, EventType.ROLE_CREATED, tenant_id=tenant.id,
           details={"role": name, "permissions": role.permissions})
    return role


def update_role(db: Session, ctx: RequestContext, role: Role, data: dict) -> Role:
    if role.builtin:
        raise Conflict("Built-in roles cannot be changed.")
    before = list(role.permissions or [])
    if "description" in data:
        role.description = _check_description(data["description"])
    if "permissions" in data:
        role.permissions = _check_permissions(data["permissions"])
    db.flush()
    ensure_actor_keeps_role_admin(db, ctx)
    record(db, ctx, EventType.ROLE_UPDATED, tenant_id=role.tenant_id,
           details={"role": role.name, "before": before, "after": role.permissions})
    return role


def delete_role(db: Session, ctx: RequestContext, role: Role) -> None:
    if role.builtin:
        raise Conflict("Built-in roles cannot be deleted.")
    record(db, ctx, EventType.ROLE_DELETED, tenant_id=role.tenant_id, details={"role": role.name})
    db.delete(role)
    db.flush()
    ensure_actor_keeps_role_admin(db, ctx)


def create_group(db: Session, ctx: RequestContext, tenant: Tenant, data: dict) -> Group:
    name = check_group_name(data.get("name"))
    if db.execute(select(Group.id).where(Group.tenant_id == tenant.id, Group.name == name)).first():
        raise Conflict(f"A group named {name!r} exists.")
    group = Group(tenant_id=tenant.id, name=name,
                  description=_check_description(data.get("description")))
    db.add(group)
    db.flush()
    record(db, ctx, EventType.GROUP_CREATED, tenant_id=tenant.id, details={"group": name})
    return group


def update_group(db: Session, ctx: RequestContext, group: Group, data: dict) -> Group:
    """Rename a group or change its description or external id (SCIM); audited."""
    changed = {}
    if "name" in data and data["name"] != group.name:
        name = check_group_name(data["name"])
        if db.execute(select(Group.id).where(Group.tenant_id == group.tenant_id,
                                             Group.name == name, Group.id != group.id)).first():
            raise Conflict(f"A group named {name!r} exists.")
        changed["name"] = (group.name, name)
        group.name = name
    if "description" in data and data["description"] != group.description:
        group.description = _check_description(data["description"])
        changed["description"] = True
    if "external_id" in data and data["external_id"] != group.external_id:
        value = data["external_id"]
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise ValidationFailed("external_id must be text of at most 255 characters.",
                                   field="external_id")
        group.external_id = value
        changed["external_id"] = True
    if changed:
        db.flush()
        record(db, ctx, EventType.GROUP_UPDATED, tenant_id=group.tenant_id,
               details={"group": group.name, "fields": sorted(changed),
                        **({"renamed_from": changed["name"][0]} if "name" in changed else {})})
    return group


def delete_group(db: Session, ctx: RequestContext, group: Group) -> None:
    record(db, ctx, EventType.GROUP_DELETED, tenant_id=group.tenant_id,
           details={"group": group.name})
    db.delete(group)
    db.flush()
    ensure_actor_keeps_role_admin(db, ctx)


def add_member(db: Session, ctx: RequestContext, group: Group, user: User) -> bool:
    if db.get(GroupMember, (group.id, user.id)):
        return False
    before = sorted(user_access(db, user).roles)
    db.add(GroupMember(group_id=group.id, user_id=user.id, created_at=ctx.now))
    db.flush()
    record(db, ctx, EventType.GROUP_MEMBER_ADDED, subject_id=user.id, tenant_id=group.tenant_id,
           details={"group": group.name, "before": before,
                    "after": sorted(user_access(db, user).roles)})
    return True


def remove_member(db: Session, ctx: RequestContext, group: Group, user: User) -> bool:
    row = db.get(GroupMember, (group.id, user.id))
    if row is None:
        return False
    before = sorted(user_access(db, user).roles)
    db.delete(row)
    db.flush()
    after_access = user_access(db, user)
    ensure_not_last_admin(db, user, losing=(set(before) - set(after_access.roles))
                          & {"superadmin", "tenant_admin"})
    ensure_actor_keeps_role_admin(db, ctx)
    record(db, ctx, EventType.GROUP_MEMBER_REMOVED, subject_id=user.id,
           tenant_id=group.tenant_id, details={"group": group.name, "before": before,
                                               "after": sorted(after_access.roles)})
    return True


def set_group_role(db: Session, ctx: RequestContext, group: Group, role: Role, held: bool) -> bool:
    """Give (held=True) or take a role from a group; returns whether anything changed."""
    row = db.get(GroupRole, (group.id, role.id))
    if (row is not None) == held:
        return False
    if held:
        db.add(GroupRole(group_id=group.id, role_id=role.id))
    else:
        db.delete(row)
    db.flush()
    ensure_actor_keeps_role_admin(db, ctx)
    record(db, ctx, EventType.GROUP_ROLE_ASSIGNED if held else EventType.GROUP_ROLE_REVOKED,
           tenant_id=group.tenant_id, details={"group": group.name, "role": role.name})
    return True
