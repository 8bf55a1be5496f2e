"""Effective roles and permissions: direct assignments plus the roles of one's groups."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idp.models.accounts import User
from idp.models.groups import Group, GroupMember, GroupRole
from idp.models.rbac import Role, RoleAssignment

SUPERADMIN = "superadmin"


@dataclass(frozen=True)
class Access:
    roles: frozenset[str]
    permissions: frozenset[str]
    all_tenants: bool = False  # the built-in superadmin acts in every tenant


def _combine(roles: list[Role]) -> Access:
    return Access(frozenset(r.name for r in roles),
                  frozenset(p for r in roles for p in (r.permissions or [])),
                  any(r.builtin and r.name == SUPERADMIN for r in roles))


def user_roles(db: Session, user_id: uuid.UUID, tenant_id: uuid.UUID) -> list[Role]:
    """Roles held in the tenant, directly or through a group."""
    direct = select(RoleAssignment.role_id).where(RoleAssignment.user_id == user_id,
                                                  RoleAssignment.tenant_id == tenant_id)
    via_groups = (select(GroupRole.role_id)
                  .join(GroupMember, GroupMember.group_id == GroupRole.group_id)
                  .join(Group, Group.id == GroupRole.group_id)
                  .where(GroupMember.user_id == user_id, Group.tenant_id == tenant_id))
    return list(db.execute(select(Role).where(
        or_(Role.id.in_(direct), Role.id.in_(via_groups)))).scalars())


def roles_of_people(db: Session, people: list[User]) -> dict[uuid.UUID, list[Role]]:
    """`user_roles` of many people at once (two queries, not two per person): each
    person's roles in their own tenant, directly or through a group."""
    ids = [p.id for p in people]
    tenant = {p.id: p.tenant_id for p in people}
    found: dict[uuid.UUID, dict[uuid.UUID, Role]] = {p.id: {} for p in people}
    if not ids:
        return {}
    direct = db.execute(select(RoleAssignment.user_id, RoleAssignment.tenant_id, Role)
                        .join(Role, Role.id == RoleAssignment.role_id)
                        .where(RoleAssignment.user_id.in_(ids))).all()
    via_groups = db.execute(select(GroupMember.user_id, Group.tenant_id, Role)
                            .join(GroupRole, GroupRole.group_id == GroupMember.group_id)
                            .join(Group, Group.id == GroupRole.group_id)
                            .join(Role, Role.id == GroupRole.role_id)
                            .where(GroupMember.user_id.in_(ids))).all()
    for user_id, tenant_id, role in [*direct, *via_groups]:
        if tenant_id == tenant[user_id]:
            found[user_id][role.id] = role
    return {user_id: list(roles.values()) for user_id, roles in found.items()}


def user_access(db: Session, user: User) -> Access:
    """What a person may do in their own tenant."""
    return _combine(user_roles(db, user.id, user.tenant_id))


def named_roles(db: Session, names: list[str], tenant_id: uuid.UUID) -> list[Role]:
    """Roles by name: the tenant's own first, else the built-in ones; unknown names ignored."""
    rows = db.execute(select(Role).where(
        Role.name.in_(names), or_(Role.tenant_id == tenant_id, Role.tenant_id.is_(None)))
    ).scalars().all()
    chosen: dict[str, Role] = {}
    for role in sorted(rows, key=lambda r: r.tenant_id is None):
        chosen.setdefault(role.name, role)
    return list(chosen.values())


def client_access(db: Session, role_names: list[str], tenant_id: uuid.UUID) -> Access:
    """What a service client may do, from the roles in its token."""
    return _combine(named_roles(db, [str(n) for n in role_names][:50], tenant_id))


def users_with_role(role_names: tuple[str, ...], tenant_id: uuid.UUID | None):
    """Select of user ids holding one of the named roles (directly or via a group)."""
    role_ids = select(Role.id).where(Role.name.in_(role_names))
    direct = select(RoleAssignment.user_id).where(RoleAssignment.role_id.in_(role_ids))
    grouped = (select(GroupMember.user_id)
               .join(GroupRole, GroupRole.group_id == GroupMember.group_id)
               .where(GroupRole.role_id.in_(role_ids)))
    if tenant_id is not None:
        direct = direct.where(RoleAssignment.tenant_id == tenant_id)
        grouped = grouped.join(Group, Group.id == GroupMember.group_id).where(
            Group.tenant_id == tenant_id)
    return direct.union(grouped)
