"""JSON shapes of admin resources (shared by the API and the console)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.administration import PROFILE_FIELDS
from idp.accounts.lockout import is_locked
from idp.models.accounts import User
from idp.models.base import Base, utcnow
from idp.models.groups import Group, GroupMember
from idp.models.rbac import Role
from idp.models.sessions import UserSession
from idp.models.tenancy import Tenant
from idp.rbac.access import roles_of_people

MFA_TABLES = ("totp_credentials", "webauthn_credentials")


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user_status(user: User, now: datetime | None = None) -> str:
    """erased / disabled / locked / active."""
    if user.erased_at is not None:
        return "erased"
    if not user.is_active:
        return "disabled"
    if is_locked(user, now or utcnow()):
        return "locked"
    return "active"


def has_mfa(db: Session, user_id: uuid.UUID) -> bool:
    """True when the person has a confirmed second factor (any known MFA table)."""
    return user_id in people_with_mfa(db, [user_id])


def people_with_mfa(db: Session, user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `user_ids` with a confirmed second factor: one query per MFA table."""
    found: set[uuid.UUID] = set()
    for name in MFA_TABLES:
        table = Base.metadata.tables.get(name)
        if table is None or "user_id" not in table.c or not user_ids:
            continue
        stmt = select(table.c.user_id).distinct().where(table.c.user_id.in_(user_ids))
        if "confirmed_at" in table.c:
            stmt = stmt.where(table.c.confirmed_at.is_not(None))
        found.update(db.execute(stmt).scalars())
    return found


def _password_expired(db: Session, user: User) -> bool:
    """Must choose a new password at next login: required by an admin, or older than the
    tenant's maximum age for the person's roles (account-security policy)."""
    from flask import g

    from idp.accounts.password_changes import password_change_reason
    from idp.http import settings

    if user.erased_at is not None:
        return False
    return password_change_reason(db, settings(), user, g.request_context) is not None


def user_json(db: Session, user: User) -> dict:
    """A person as admins see them (no password material)."""
    return people_json(db, [user])[0]


def people_json(db: Session, people: list[User]) -> list[dict]:
    """`user_json` of a page of people: groups, second factors and roles are read for the
    whole page at once (a page of 50 took some 300 queries before, issue 20)."""
    ids = [u.id for u in people]
    groups: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if ids:
        for user_id, name in db.execute(
                select(GroupMember.user_id, Group.name)
                .join(Group, GroupMember.group_id == Group.id)
                .where(GroupMember.user_id.in_(ids))):
            groups[user_id].append(name)
    with_mfa = people_with_mfa(db, ids)
    roles = roles_of_people(db, people)
    return [_user_body(db, u, groups[u.id], u.id in with_mfa, roles[u.id]) for u in people]


def _user_body(db: Session, user: User, groups: list[str], mfa: bool, roles: list) -> dict:
    body = {
        "id": str(user.id), "tenant": str(user.tenant_id), "username": user.username,
        "email": user.email, "email_verified": user.email_verified,
        "status": user_status(user), "locked": is_locked(user, utcnow()),
        "mfa_enabled": mfa,
        "password_expired": _password_expired(db, user),
        "roles": sorted({r.name for r in roles}),
        "groups": sorted(groups),
        "created_at": iso(user.created_at), "updated_at": iso(user.updated_at),
        "last_login_at": iso(user.last_login_at), "last_login_ip": user.last_login_ip,
        "erased_at": iso(user.erased_at),
    }
    for key in PROFILE_FIELDS:
        value = getattr(user, key)
        body[key] = value.isoformat() if key == "birthdate" and value else value
    return body


def session_json(session: UserSession) -> dict:
    return {"id": str(session.id), "created_at": iso(session.created_at),
            "last_seen_at": iso(session.last_seen_at), "expires_at": iso(session.expires_at),
            "ip": session.ip, "user_agent": session.user_agent, "amr": list(session.amr or []),
            "revoked_at": iso(session.revoked_at)}


def role_json(role: Role) -> dict:
    return {"id": str(role.id), "name": role.name, "description": role.description,
            "permissions": sorted(role.permissions or []), "builtin": role.builtin,
            "tenant": str(role.tenant_id) if role.tenant_id else None}


def group_json(db: Session, group: Group) -> dict:
    from idp.models.groups import GroupRole

    roles = db.execute(select(Role.name).join(GroupRole, GroupRole.role_id == Role.id)
                       .where(GroupRole.group_id == group.id)).scalars().all()
    members = db.execute(select(GroupMember.user_id).where(GroupMember.group_id == group.id)
                         ).scalars().all()
    return {"id": str(group.id), "tenant": str(group.tenant_id), "name": group.name,
            "description": group.description, "roles": sorted(roles),
            "members": sorted(str(m) for m in members), "created_at": iso(group.created_at)}


def tenant_json(tenant: Tenant) -> dict:
    return {"id": str(tenant.id), "slug": tenant.slug, "name": tenant.name,
            "settings": tenant.settings or {}, "created_at": iso(tenant.created_at)}
