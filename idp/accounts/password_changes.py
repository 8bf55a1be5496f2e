"""Changing a password: the policy, the history, the audit (who changed it, was it forced)."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.accounts.account_admin import end_all_sessions
from idp.accounts.password_policy import (
    PasswordPolicy,
    enforce_password,
    password_expired,
    policy_for,
    recent_hashes,
    user_has_mfa,
)
from idp.accounts.passwords import hash_password, verify_password
from idp.audit import EventType, record
from idp.config import Config
from idp.errors import ValidationFailed
from idp.models.accounts import PasswordCredential, PasswordHistory, User
from idp.models.tenancy import Tenant
from idp.rbac.roles import user_role_names
from idp.request_context import RequestContext


class ChangedBy(StrEnum):
    SELF = "self"      # the person, on /account/password or the forced-change page
    ADMIN = "admin"    # an administrator, for someone else
    RESET = "reset"    # the person, through an emailed reset link


class ChangeReason(StrEnum):
    EXPIRED = "expired"
    REQUIRED = "required"


def tenant_policy(db: Session, config: Config, user: User) -> PasswordPolicy:
    """The password policy that applies to this person."""
    return policy_for(config, db.get(Tenant, user.tenant_id))


def change_password(
    db: Session,
    ctx: RequestContext,
    config: Config,
    user: User,
    new_password: str,
    *,
    changed_by: ChangedBy = ChangedBy.SELF,
    forced: bool = False,
) -> int:
    """Check and store a new password, keep the old hash in the history, audit it.

    The person's current password is the caller's to check first, with
    `authentication.check_password` (lockout and audit apply there). A password set by
    an administrator ends every session of the person; returns how many ended.
    """
    policy = tenant_policy(db, config, user)
    enforce_password(policy, new_password, user, has_mfa=user_has_mfa(db, user))
    if any(verify_password(h, new_password) for h in recent_hashes(db, user, policy.history)):
        raise ValidationFailed(
            _("Choose a password you have not used for your last %(num)d passwords.",
              num=policy.history),
            field="password")
    _store(db, ctx, user, new_password, policy.history)
    record(db, ctx, EventType.PASSWORD_CHANGED, subject_id=user.id, tenant_id=user.tenant_id,
           username=user.username,
           details={"changed_by": str(changed_by), "forced": forced,
                    "actor": ctx.actor_id or str(user.id)})
    if changed_by == ChangedBy.ADMIN:
        # Whoever holds a session may be who the administrator is locking out.

        return end_all_sessions(db, ctx, user, reason="password_set_by_admin")
    return 0


def _store(db: Session, ctx: RequestContext, user: User, password: str, keep: int) -> None:
    if user.credential is not None:
        db.add(PasswordHistory(user_id=user.id, hash=user.credential.hash, created_at=ctx.now))
        user.credential.hash = hash_password(password)
        user.credential.created_at = ctx.now
    else:
        user.credential = PasswordCredential(hash=hash_password(password), created_at=ctx.now)
    user.password_changed_at = ctx.now
    user.must_change_password = False
    db.flush()
    _trim_history(db, user, max(keep - 1, 0))


def _trim_history(db: Session, user: User, keep: int) -> None:
    # The current hash counts as one of the last `history` passwords.
    old_ids = db.execute(
        select(PasswordHistory.id).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc()).offset(keep)
    ).scalars().all()
    if old_ids:
        db.execute(delete(PasswordHistory).where(PasswordHistory.id.in_(old_ids)))
        db.flush()


def require_password_change(db: Session, ctx: RequestContext, user: User) -> None:
    """Make the person choose a new password at their next login (audited)."""
    user.must_change_password = True
    db.flush()
    record(db, ctx, EventType.PASSWORD_CHANGE_REQUIRED, subject_id=user.id,
           tenant_id=user.tenant_id, username=user.username,
           details={"actor": ctx.actor_id or "system"})


def password_change_reason(db: Session, config: Config, user: User, ctx: RequestContext
                           ) -> ChangeReason | None:
    """Why this person must change their password before finishing a login, if they must."""
    if user.must_change_password:
        return ChangeReason.REQUIRED
    policy = tenant_policy(db, config, user)
    if policy.max_age_days and password_expired(user, policy, user_role_names(db, user), ctx.now):
        return ChangeReason.EXPIRED
    return None
