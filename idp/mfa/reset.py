"""An administrator resets a person's MFA (lost device): permission-checked, reason kept."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import Forbidden, ValidationFailed
from idp.mfa import backup_codes
from idp.models.accounts import User
from idp.models.mfa import TotpCredential, WebAuthnCredential
from idp.models.rbac import Role, RoleAssignment
from idp.request_context import RequestContext

PERMISSION = "mfa:reset"


@dataclass(frozen=True)
class ResetResult:
    totp: int
    passkeys: int
    backup_codes: int


def actor_may_reset(db: Session, actor: User, user: User) -> bool:
    """`mfa:reset` held in the person's tenant, or superadmin (every tenant)."""
    rows = db.execute(
        select(Role.name, Role.permissions, RoleAssignment.tenant_id)
        .join(RoleAssignment, RoleAssignment.role_id == Role.id)
        .where(RoleAssignment.user_id == actor.id)).all()
    for name, permissions, tenant_id in rows:
        if name == "superadmin" or (tenant_id == user.tenant_id and PERMISSION in (permissions or [])):
            return True
    return False


def reset_mfa(db: Session, ctx: RequestContext, actor: User | None, user: User,
              reason: str) -> ResetResult:
    """Remove every factor of `user`; `actor` None means the operator's CLI (system)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("A reason is required to reset MFA.", field="reason")
    if actor is not None and not actor_may_reset(db, actor, user):
        raise Forbidden("You may not reset this person's MFA.")
    totp_count = db.execute(delete(TotpCredential).where(TotpCredential.user_id == user.id)
                            .execution_options(synchronize_session=False)).rowcount
    passkey_count = db.execute(delete(WebAuthnCredential).where(WebAuthnCredential.user_id == user.id)
                               .execution_options(synchronize_session=False)).rowcount
    code_count = backup_codes.delete_codes(db, user)
    result = ResetResult(totp_count, passkey_count, code_count)
    record(db, ctx, EventType.MFA_RESET, subject_id=user.id, tenant_id=user.tenant_id,
           username=user.username, actor_id=str(actor.id) if actor is not None else None,
           details={"reason": reason[:500], "removed": result.__dict__})
    return result
