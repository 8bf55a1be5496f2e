"""Admin authorization, in one place: who may see or act on which principal.

Three checks, in this order, for every admin action of the API, the console, the CLI and
SCIM (ASVS 5.0 V8):
1. tenant scope: a target in another tenant does not exist for the caller (404);
2. permission: the caller holds the permission the action needs (403);
3. rank: the caller holds every right the target holds, and only a superadmin touches
   a principal that holds superadmin (403). Principals are people, service clients with
   roles, roles and groups; what a target "holds" is its effective permissions.
The rank rule keeps a tenant admin from rotating the superadmin's service client, a helpdesk
account from resetting an admin's MFA, and a custom role from editing its betters.

Flask-free: adapters resolve the `Caller` and turn `Denied` into a response plus an
`authz.denied` audit event (`record_denial`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import Forbidden, NotFound
from idp.models.accounts import User
from idp.models.groups import Group, GroupMember, GroupRole
from idp.models.oauth import Client
from idp.models.rbac import Role, RoleAssignment
from idp.rbac.access import SUPERADMIN, Access, client_access, user_access
from idp.rbac.roles import PERMISSIONS
from idp.request_context import RequestContext

# Permissions that only read; a role holding nothing else changes nobody but oneself.
READ_ONLY_PERMISSIONS = frozenset({"users:read", "audit:read", "users:export"})


@dataclass(frozen=True)
class Caller:
    """The authenticated admin: a person, a service client, or the operator's CLI."""

    tenant_id: uuid.UUID | None
    access: Access
    user: User | None = None
    client_id: str | None = None

    @classmethod
    def operator(cls) -> Caller:
        """The CLI: whoever runs it holds the database and the keys, so every right."""
        return cls(None, Access(frozenset({SUPERADMIN}), frozenset(PERMISSIONS), True))

    @property
    def actor_id(self) -> str:
        """How audit events name this caller."""
        if self.user is not None:
            return str(self.user.id)
        return f"client:{self.client_id}" if self.client_id else "system"

    @property
    def tenant_scope(self) -> uuid.UUID | None:
        """None for superadmins (every tenant), else the caller's own tenant."""
        return None if self.access.all_tenants else self.tenant_id

    @property
    def changes_others(self) -> bool:
        """Holds a right that changes someone else (so an admin session needs MFA)."""
        return self.access.all_tenants or bool(self.access.permissions - READ_ONLY_PERMISSIONS)

    def can(self, permission: str) -> bool:
        return permission in self.access.permissions

    def sees_tenant(self, tenant_id: uuid.UUID | None) -> bool:
        return self.access.all_tenants or tenant_id == self.tenant_id

    def scoped(self, stmt, tenant_column):
        """`stmt` confined to the caller's tenant (unchanged for a superadmin)."""
        scope = self.tenant_scope
        return stmt if scope is None else stmt.where(tenant_column == scope)

    def holds(self, rights: Rights) -> bool:
        """The rank rule: every right of the target, and superadmin only for superadmins."""
        if self.access.all_tenants:
            return True
        return not rights.superadmin and rights.permissions <= self.access.permissions


@dataclass(frozen=True)
class Rights:
    """What a principal holds: its effective permissions, and whether that is superadmin."""

    permissions: frozenset[str]
    superadmin: bool = False

    @classmethod
    def of_access(cls, access: Access) -> Rights:
        return cls(access.permissions, access.all_tenants)

    @classmethod
    def of_roles(cls, roles: Iterable[Role]) -> Rights:
        roles = list(roles)
        return cls(frozenset(p for r in roles for p in (r.permissions or [])),
                   any(r.builtin and r.name == SUPERADMIN for r in roles))


class Denied(Forbidden):
    """A refused admin action; adapters audit it as `authz.denied` before answering 403."""

    code = "forbidden"

    def __init__(self, message: str, *, permission: str | None = None, target=None):
        super().__init__(message)
        self.permission = permission
        self.target_kind, self.target_id = describe_target(target)


def describe_target(target) -> tuple[str | None, str | None]:
    """("user", id) and the like, for audit details."""
    kinds = ((User, "user"), (Client, "client"), (Role, "role"), (Group, "group"))
    for model, kind in kinds:
        if isinstance(target, model):
            return kind, str(target.id)
    return None, None


# --- what a target holds -------------------------------------------------------------------

def rights_of(db: Session, target) -> Rights:
    """Effective rights of a person, service client, role or group."""
    if isinstance(target, User):
        return Rights.of_access(user_access(db, target))
    if isinstance(target, Client):
        return Rights.of_access(client_access(db, list(target.roles or []), target.tenant_id))
    if isinstance(target, Role):
        return Rights.of_roles([target])
    if isinstance(target, Group):
        return Rights.of_roles(db.execute(select(Role).join(
            GroupRole, GroupRole.role_id == Role.id).where(GroupRole.group_id == target.id)
        ).scalars())
    raise TypeError(f"not a principal: {type(target).__name__}")


# --- the checks ----------------------------------------------------------------------------

def require_permission(caller: Caller, permission: str, target=None) -> None:
    """Denied unless the caller holds `permission`."""
    if not caller.can(permission):
        raise Denied(f"This needs the permission {permission}.", permission=permission,
                     target=target)


def authorize(db: Session, caller: Caller, target, permission: str):
    """The three checks on one target; returns it. NotFound for another tenant's or a
    missing target (never revealed), Denied for a missing permission or a lower rank."""
    if target is None or not caller.sees_tenant(getattr(target, "tenant_id", caller.tenant_id)):
        raise NotFound("Not found.")
    require_permission(caller, permission, target)
    if not caller.holds(rights_of(db, target)):
        raise Denied("You cannot act on someone who holds rights you do not hold.",
                     permission=permission, target=target)
    return target


def ensure_may_grant(caller: Caller, roles: Iterable[Role], permission: str = "roles:write",
                     target=None) -> None:
    """Nobody hands out (to a person, group, client or custom role) rights they lack."""
    if not caller.holds(Rights.of_roles(roles)):
        raise Denied("You cannot grant rights you do not hold.", permission=permission,
                     target=target)


def ensure_may_compose(caller: Caller, permissions: Iterable[str], target=None) -> None:
    """A custom role may carry only permissions its author holds."""
    wanted = frozenset(str(p) for p in permissions) & frozenset(PERMISSIONS)
    if not caller.holds(Rights(wanted)):
        raise Denied("A custom role cannot carry rights you do not hold.",
                     permission="roles:write", target=target)


# --- loaders and lists ---------------------------------------------------------------------

def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def load_user(db: Session, caller: Caller, user_id, permission: str) -> User:
    """A person the caller may act on with `permission` (404 / 403 otherwise)."""
    key = _uuid(user_id)
    return authorize(db, caller, db.get(User, key) if key else None, permission)


def load_client(db: Session, caller: Caller, client_id: str, permission: str) -> Client:
    return authorize(db, caller, db.get(Client, str(client_id)[:64]), permission)


def load_group(db: Session, caller: Caller, group_id, permission: str) -> Group:
    key = _uuid(group_id)
    return authorize(db, caller, db.get(Group, key) if key else None, permission)


def load_role(db: Session, caller: Caller, role_id, permission: str) -> Role:
    """Built-in roles are visible in every tenant; custom ones in their own."""
    key = _uuid(role_id)
    role = db.get(Role, key) if key else None
    if role is not None and role.tenant_id is None:
        require_permission(caller, permission, role)
        if not caller.holds(rights_of(db, role)):
            raise Denied("You cannot act on a role with rights you do not hold.",
                         permission=permission, target=role)
        return role
    return authorize(db, caller, role, permission)


def outranking_role_ids(db: Session, caller: Caller) -> list[uuid.UUID]:
    """Roles the caller may not see or hand out: more rights than the caller, or superadmin."""
    if caller.access.all_tenants:
        return []
    roles = db.execute(select(Role).where(
        or_(Role.tenant_id.is_(None), Role.tenant_id == caller.tenant_id))).scalars()
    return [r.id for r in roles if not caller.holds(Rights.of_roles([r]))]


def visible_users(db: Session, caller: Caller, stmt):
    """A select of users confined to the tenant and to people the caller outranks."""
    stmt = caller.scoped(stmt, User.tenant_id)
    above = outranking_role_ids(db, caller)
    if not above:
        return stmt
    direct = select(RoleAssignment.user_id).where(RoleAssignment.role_id.in_(above))
    grouped = (select(GroupMember.user_id)
               .join(GroupRole, GroupRole.group_id == GroupMember.group_id)
               .where(GroupRole.role_id.in_(above)))
    return stmt.where(User.id.not_in(direct), User.id.not_in(grouped))


def visible(db: Session, caller: Caller, rows: Iterable) -> list:
    """The rows (clients, roles, groups) the caller may see: same tenant and outranked."""
    return [r for r in rows
            if caller.sees_tenant(getattr(r, "tenant_id", None) or caller.tenant_id)
            and caller.holds(rights_of(db, r))]


# --- audit ---------------------------------------------------------------------------------

def record_denial(db: Session, ctx: RequestContext, caller: Caller | None, exc: Denied) -> None:
    """The `authz.denied` event: who tried what on whom (call in a clean transaction)."""
    subject = _uuid(exc.target_id) if exc.target_kind == "user" else None
    record(db, ctx, EventType.AUTHZ_DENIED, outcome="failure", subject_id=subject,
           tenant_id=caller.tenant_id if caller else None,
           client_id=exc.target_id if exc.target_kind == "client" else None,
           actor_id=caller.actor_id if caller else None,
           details={"permission": exc.permission, "target_kind": exc.target_kind,
                    "target_id": exc.target_id, "reason": exc.message})
