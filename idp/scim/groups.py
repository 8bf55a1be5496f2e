"""SCIM Groups (RFC 7643 4.2) over our groups: members are people of the same tenant.

Membership changes go through the groups service (add_member, remove_member: audited, the
last-admin rule) and every member through the rank rule (`group_member`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.errors import NotFound
from idp.models.accounts import User
from idp.models.groups import Group, GroupMember
from idp.models.tenancy import Tenant
from idp.rbac import groups as group_ops
from idp.rbac.authorization import (
    Caller,
    load_group,
    load_user,
    require_permission,
    visible_users,
)
from idp.request_context import RequestContext
from idp.scim.protocol import CORE_GROUP, ScimError, version_of
from idp.scim.users import live


def members_of(db: Session, caller: Caller, group_ids: list[uuid.UUID]) -> dict:
    """Each group's members the caller may see (live people it outranks), one query."""
    out: dict[uuid.UUID, list[User]] = {i: [] for i in group_ids}
    stmt = visible_users(db, caller, live(select(GroupMember.group_id, User).join(
        User, User.id == GroupMember.user_id).where(GroupMember.group_id.in_(group_ids))))
    for group_id, user in db.execute(stmt.order_by(User.created_at)):
        out[group_id].append(user)
    return out


def to_document(group: Group, base: str, members: list[User]) -> dict:
    doc: dict = {"schemas": [CORE_GROUP], "id": str(group.id), "displayName": group.name}
    if group.external_id:
        doc["externalId"] = group.external_id
    if members:
        doc["members"] = [{"value": str(u.id), "type": "User", "$ref": f"{base}/Users/{u.id}"}
                          for u in members]
    created = group.created_at.isoformat().replace("+00:00", "Z")
    doc["meta"] = {"resourceType": "Group", "created": created, "lastModified": created,
                   "location": f"{base}/Groups/{group.id}", "version": version_of(doc)}
    return doc


def _wanted(resource) -> tuple[str, str | None, list[str]]:
    if not resource.display_name:
        raise ScimError(400, "displayName is required.", "invalidValue")
    ids = [str(m.value) for m in resource.members or [] if m.value]
    return str(resource.display_name), resource.external_id, list(dict.fromkeys(ids))


def create(db: Session, ctx: RequestContext, caller: Caller, tenant: Tenant, resource) -> Group:
    """POST /Groups."""
    require_permission(caller, "roles:write")
    name, external_id, member_ids = _wanted(resource)
    group = group_ops.create_group(db, ctx, tenant, {"name": name})
    if external_id:
        group_ops.update_group(db, ctx, group, {"external_id": external_id})
    _set_members(db, ctx, caller, group, member_ids, current=[])
    return group


def update(db: Session, ctx: RequestContext, caller: Caller, group: Group, resource) -> Group:
    """PUT, or PATCH after the patch was applied to the current resource."""
    name, external_id, member_ids = _wanted(resource)
    group_ops.update_group(db, ctx, group, {"name": name, "external_id": external_id})
    current = [str(u.id) for u in members_of(db, caller, [group.id])[group.id]]
    _set_members(db, ctx, caller, group, member_ids, current)
    return group


def _set_members(db, ctx, caller, group, wanted: list[str], current: list[str]) -> None:
    for ref in [m for m in current if m not in wanted]:
        group_ops.remove_member(db, ctx, group, _member(db, caller, group, ref))
    for ref in [m for m in wanted if m not in current]:
        group_ops.add_member(db, ctx, group, _member(db, caller, group, ref))


def _member(db: Session, caller: Caller, group: Group, ref: str) -> User:
    """A live person of the group's tenant whom the caller outranks (Denied otherwise)."""
    try:
        user = load_user(db, caller, ref, "roles:write")
    except NotFound:
        user = None
    if user is None or user.tenant_id != group.tenant_id or user.erased_at \
            or user.scim_deleted_at:
        raise ScimError(400, f"No person {ref!r} to be a member.", "invalidValue")
    return user


def load(db: Session, caller: Caller, group_id, permission: str) -> Group:
    """A group of the SCIM client's own tenant that it outranks."""
    group = load_group(db, caller, group_id, permission)
    if group.tenant_id != caller.tenant_id:
        raise NotFound("Not found.")
    return group


def delete(db: Session, ctx: RequestContext, caller: Caller, group_id) -> None:
    group_ops.delete_group(db, ctx, load(db, caller, group_id, "roles:write"))
