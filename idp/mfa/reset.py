"""An administrator resets a person's MFA (lost device), with the reason kept."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import ValidationFailed
from idp.mfa import backup_codes
from idp.models.accounts import User
from idp.models.mfa import TotpCredential, WebAuthnCredential
from idp.request_context import RequestContext

PERMISSION = "mfa:reset"


@dataclass(frozen=True)
class ResetResult:
    totp: int
    passkeys: int
    backup_codes: int


def reset_mfa(db: Session, ctx: RequestContext, user: User, reason: str) -> ResetResult:
    """Remove every factor of `user`. Who may do it is decided before, by the one admin
    authorization rule (`idp.rbac.authorization`): permission `mfa:reset` and rank."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("A reason is required to reset MFA.", field="reason")
    totp_count = db.execute(delete(TotpCredential).where(TotpCredential.user_id == user.id)
                            .execution_options(synchronize_session=False)).rowcount
    passkey_count = db.execute(delete(WebAuthnCredential).where(WebAuthnCredential.user_id == user.id)
                               .execution_options(synchronize_session=False)).rowcount
    code_count = backup_codes.delete_codes(db, user)
    result = ResetResult(totp_count, passkey_count, code_count)
    record(db, ctx, EventType.MFA_RESET, subject_id=user.id, tenant_id=user.tenant_id,
           username=user.username,
           details={"reason": reason[:500], "removed": result.__dict__})
    return result
