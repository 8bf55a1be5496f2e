"""Built-in roles and their permissions; assignments per tenant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import NotFound
from idp.models.accounts import User
from idp.models.rbac import Role, RoleAssignment
from idp.models.tenancy import Tenant
from idp.rbac.access import user_roles
from idp.request_context import RequestContext

PERMISSIONS = [
    "users:read", "users:write", "users:disable", "users:unlock", "users:erase",
    "users:export", "sessions:revoke", "mfa:reset", "audit:read", "clients:write",
    "keys:write", "roles:write", "tenants:write",
]
# Full administrators: the last one of a tenant cannot be removed; stricter password age.
ADMIN_ROLES = ("superadmin", "tenant_admin")
# Roles that must enrol a second factor at sign-in unless a tenant says otherwise.
MFA_REQUIRED_ROLES = (*ADMIN_ROLES, "helpdesk")
BUILTIN_ROLES = {
    "superadmin": ("Every permission in every tenant", PERMISSIONS),
    "tenant_admin": ("Every permission inside one tenant",
                     [p for p in PERMISSIONS if p != "tenants:write"]),
    "helpdesk": ("Read people, unlock, disable, reset MFA, revoke sessions",
                 ["users:read", "users:unlock", "users:disable", "mfa:reset", "sessions:revoke"]),
    "auditor": ("Read-only, including the audit log", ["users:read", "audit:read"]),
    "member": ("No admin rights", []),
}


def ensure_builtin_roles(db: Session) -> None:
    """Create or refresh the built-in roles (global: tenant_id NULL)."""
    existing = {r.name: r for r in db.execute(
        select(Role).where(Role.tenant_id.is_(None), Role.builtin.is_(True))).scalars()}
    for name, (description, permissions) in BUILTIN_ROLES.items():
        role = existing.get(name)
        if role is None:
            db.add(Role(name=name, description=description, permissions=permissions,
                        builtin=True, tenant_id=None))
        else:
            role.permissions, role.description = permissions, description
    db.flush()


def query_role(db: Session, name: str, tenant: Tenant) -> Role:
    """A tenant's own role by name, else the built-in one."""
    role = db.execute(select(Role).where(Role.name == name, Role.tenant_id == tenant.id)
                      ).scalar_one_or_none()
    role = role or db.execute(select(Role).where(Role.name == name, Role.tenant_id.is_(None))
                              ).scalar_one_or_none()
    if role is None:
        raise NotFound(f"No role {name!r}.")
    return role


def assign_role(db: Session, ctx: RequestContext, user: User, name: str, tenant: Tenant) -> bool:
    """Give `user` the role in `tenant`; returns False when they already had it."""
    role = query_role(db, name, tenant)
    held = db.execute(select(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role_id == role.id,
        RoleAssignment.tenant_id == tenant.id)).scalar_one_or_none()
    if held is not None:
        return False
    before = user_role_names(db, user)
    db.add(RoleAssignment(user_id=user.id, role_id=role.id, tenant_id=tenant.id))
    db.flush()
    record(db, ctx, EventType.ROLE_ASSIGNED, subject_id=user.id, tenant_id=tenant.id,
           details={"role": name, "before": before, "after": sorted({*before, name})})
    return True


def user_role_names(db: Session, user: User) -> list[str]:
    """Names of the roles a person holds, directly or through a group."""

    direct = db.execute(select(Role.name).join(RoleAssignment, RoleAssignment.role_id == Role.id)
                        .where(RoleAssignment.user_id == user.id)).scalars()
    return sorted(set(direct) | {r.name for r in user_roles(db, user.id, user.tenant_id)})
