"""What administrators do to people: edit, disable, enable, unlock, delete, roles.

Rules live here, not in the adapters: a field allowlist (no mass assignment), the last
admin of a tenant cannot be removed, disabled or demoted, and nobody deletes, disables or
demotes themselves out of administration.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.accounts import lockout
from idp.accounts.account_tokens import UNLOCK_TTL, Purpose, consume_token, issue_token
from idp.accounts.confusables import username_skeleton
from idp.accounts.normalization import (
    normalize_identifier,
    validate_email_address,
    validate_username,
)
from idp.accounts.profile import PROFILE_FIELDS, clean_profile
from idp.accounts.users import username_taken
from idp.audit import EventType, record
from idp.errors import Conflict, ValidationFailed
from idp.gdpr.erasure import delete_user_rows
from idp.models.accounts import User
from idp.models.oauth import TokenGrant
from idp.models.rbac import Role, RoleAssignment
from idp.rbac.access import user_access
from idp.rbac.safeguards import ensure_actor_keeps_role_admin, ensure_not_last_admin, ensure_not_self
from idp.request_context import RequestContext
from idp.sessions.service import revoke_user_sessions

EDITABLE_FIELDS = {"username", "email", "email_verified", *PROFILE_FIELDS}


def check_fields(data: dict, allowed: set[str] = EDITABLE_FIELDS) -> None:
    """Refuse any key outside the allowlist (roles, tenant, status, ids...)."""
    refused = sorted(set(data) - allowed)
    if refused:
        raise ValidationFailed(f"These fields cannot be set here: {', '.join(refused)}.",
                               field=refused[0])


def update_user(db: Session, ctx: RequestContext, user: User, data: dict, *,
                replace: bool = False) -> User:
    """PATCH (only the given fields) or PUT (every editable field); audited with field names."""
    check_fields(data)
    if replace:
        data = {**dict.fromkeys(PROFILE_FIELDS), **data}
        data["phone_number_verified"] = data.get("phone_number_verified") or False
    changed = []
    if "email" in data:
        changed += _set_email(db, user, data["email"])
    if "username" in data:
        changed += _set_username(db, user, data["username"])
    if "email_verified" in data:
        if not isinstance(data["email_verified"], bool):
            raise ValidationFailed("email_verified must be true or false.", field="email_verified")
        if user.email_verified != data["email_verified"]:
            user.email_verified = data["email_verified"]
            changed.append("email_verified")
    for key, value in clean_profile(data).items():
        if getattr(user, key) != value:
            setattr(user, key, value)
            changed.append(key)
    if changed:
        user.updated_at = ctx.now
        db.flush()
        record(db, ctx, EventType.USER_UPDATED, subject_id=user.id, tenant_id=user.tenant_id,
               details={"fields": sorted(changed)})
    return user


def _taken(db: Session, user: User, column, value: str) -> bool:
    return db.execute(select(User.id).where(User.tenant_id == user.tenant_id, column == value,
                                            User.id != user.id)).first() is not None


def _set_email(db: Session, user: User, value) -> list[str]:
    if not isinstance(value, str):
        raise ValidationFailed("email must be text.", field="email")
    email = validate_email_address(value)
    key = normalize_identifier(email)
    if key == user.email_normalized:
        return []
    if _taken(db, user, User.email_normalized, key):
        raise Conflict("That email is already taken.")
    user.email, user.email_normalized, user.email_verified = email, key, False
    return ["email"]


def _set_username(db: Session, user: User, value) -> list[str]:
    if not isinstance(value, str):
        raise ValidationFailed("username must be text.", field="username")
    username = validate_username(value)
    key = normalize_identifier(username)
    if username == user.username:
        return []
    if username_taken(db, user.tenant_id, username, except_user=user.id):
        raise Conflict("That username is already taken (or looks like one that is).")
    user.username, user.username_normalized = username, key
    user.username_skeleton = username_skeleton(username)
    return ["username"]


def disable_user(db: Session, ctx: RequestContext, user: User) -> None:
    """No more logins; every session and token family ends now."""
    ensure_not_self(ctx.actor_id, user, "disable")
    if not user.is_active:
        return
    ensure_not_last_admin(db, user)
    user.is_active = False
    revoke_user_sessions(db, ctx, user.id, reason="user_disabled")
    revoke_user_grants(db, ctx, user.id, "user_disabled")
    record(db, ctx, EventType.USER_DISABLED, subject_id=user.id, tenant_id=user.tenant_id)


def revoke_user_grants(db: Session, ctx: RequestContext, user_id: uuid.UUID, reason: str) -> None:
    db.execute(update(TokenGrant).where(TokenGrant.user_id == user_id,
                                        TokenGrant.revoked_at.is_(None))
               .values(revoked_at=ctx.now, revoke_reason=reason)
               .execution_options(synchronize_session=False))
    db.flush()


def enable_user(db: Session, ctx: RequestContext, user: User) -> None:
    if user.erased_at is not None:
        raise Conflict("An erased account cannot be enabled.")
    if not user.is_active:
        user.is_active = True
        db.flush()
        record(db, ctx, EventType.USER_ENABLED, subject_id=user.id, tenant_id=user.tenant_id)


def unlock_user(db: Session, ctx: RequestContext, user: User) -> bool:
    lifted = lockout.unlock(db, user)
    record(db, ctx, EventType.USER_UNLOCKED, subject_id=user.id, tenant_id=user.tenant_id,
           details={"was_locked": lifted})
    return lifted


def issue_unlock_link_token(db: Session, ctx: RequestContext, user: User) -> str:
    """A one-time token for the unlock link of the lock mail (Auth0's pattern)."""
    return issue_token(db, ctx, Purpose.UNLOCK, tenant_id=user.tenant_id, user_id=user.id,
                       email=user.email, ttl=UNLOCK_TTL)


def unlock_with_token(db: Session, ctx: RequestContext, raw: str | None) -> User | None:
    """Use an unlock link once; the person it names is unlocked (audited), else None."""
    token = consume_token(db, ctx, Purpose.UNLOCK, raw)
    user = db.get(User, token.user_id) if token is not None and token.user_id else None
    if user is None or not user.is_active:
        return None
    lifted = lockout.unlock(db, user)
    record(db, ctx, EventType.USER_UNLOCKED, subject_id=user.id, tenant_id=user.tenant_id,
           details={"was_locked": lifted, "by": "unlock_link"})
    return user


def delete_user(db: Session, ctx: RequestContext, user: User) -> None:
    """Remove the person and everything hanging off them; the audit trail stays."""
    ensure_not_self(ctx.actor_id, user, "delete")
    ensure_not_last_admin(db, user)
    record(db, ctx, EventType.USER_DELETED, subject_id=user.id, tenant_id=user.tenant_id)

    delete_user_rows(db, user.id)
    db.execute(User.__table__.delete().where(User.id == user.id))
    db.expunge(user)
    db.flush()


def revoke_role(db: Session, ctx: RequestContext, user: User, role: Role) -> bool:
    """Take a directly assigned role away, audited with before/after."""
    held = db.execute(select(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role_id == role.id)).scalars().all()
    if not held:
        return False
    ensure_not_last_admin(db, user, without_role=role.name)
    before = sorted(user_access(db, user).roles)
    for row in held:
        db.delete(row)
    db.flush()
    after = sorted(user_access(db, user).roles)
    ensure_actor_keeps_role_admin(db, ctx)
    record(db, ctx, EventType.ROLE_REVOKED, subject_id=user.id, tenant_id=user.tenant_id,
           details={"role": role.name, "before": before, "after": after})
    return True
