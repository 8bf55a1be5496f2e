"""The second step of a login: a TOTP code, a backup code, or a passkey.

Returns a status instead of raising (as the password step does). Wrong codes count
toward the same per-user failure counter as wrong passwords, and a locked account is
refused before any code is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from idp.accounts.lockout import LockoutPolicy, is_locked, register_failure
from idp.audit import EventType, Outcome, record
from idp.keyring import Keyring
from idp.mfa import backup_codes, totp
from idp.mfa.enrolment import backup_code_key, decrypt_secret, query_totp
from idp.mfa.passkeys import RelyingParty, verify_assertion
from idp.models.accounts import User
from idp.models.mfa import TotpCredential
from idp.request_context import RequestContext


class MfaStatus(StrEnum):
    VERIFIED = "verified"
    INVALID = "invalid"
    LOCKED = "locked"


@dataclass(frozen=True)
class MfaCheck:
    status: MfaStatus
    method: str | None = None   # "totp", "backup_code", "passkey"
    amr: str | None = None      # RFC 8176 value to add: "otp" or "hwk"
    locked_now: bool = False
    remaining: int | None = None  # backup codes left after this one


def _claim_step(db: Session, cred: TotpCredential, step: int, now) -> bool:
    """Move last_used_step forward atomically: one request per step wins (no replay)."""
    result = db.execute(
        update(TotpCredential)
        .where(TotpCredential.id == cred.id,
               or_(TotpCredential.last_used_step.is_(None), TotpCredential.last_used_step < step))
        .values(last_used_step=step, last_used_at=now)
        .execution_options(synchronize_session=False))
    db.expire(cred)
    return result.rowcount == 1


def _check_totp(db: Session, keyring: Keyring, user: User, code: str, now) -> bool:
    cred = query_totp(db, user)
    if cred is None or not totp.is_code_shaped(code.strip().replace(" ", "")):
        return False
    step = totp.matching_step(decrypt_secret(keyring, cred), code, now, cred.last_used_step)
    return step is not None and _claim_step(db, cred, step, now)


def _audit(db, ctx, user, type_, outcome, **details):
    record(db, ctx, type_, outcome=outcome, subject_id=user.id, tenant_id=user.tenant_id,
           username=user.username, details=details)


def _fail(db, ctx, user, policy: LockoutPolicy, method: str) -> MfaCheck:
    locked_now = register_failure(db, user, policy, ctx.now)
    _audit(db, ctx, user, EventType.LOGIN, Outcome.MFA_FAILED, method=method)
    if locked_now:
        record(db, ctx, EventType.USER_LOCKED, subject_id=user.id, tenant_id=user.tenant_id,
               details={"failures": policy.threshold, "stage": "mfa"})
    return MfaCheck(MfaStatus.INVALID, method, locked_now=locked_now)


def _succeed(db, ctx, user, method: str, amr: str, **details) -> MfaCheck:
    # The failure count is cleared by complete_login, once every login step has passed.
    _audit(db, ctx, user, EventType.MFA, Outcome.SUCCESS, method=method, **details)
    return MfaCheck(MfaStatus.VERIFIED, method, amr)


def _refuse_locked(db, ctx, user, method: str) -> MfaCheck:
    _audit(db, ctx, user, EventType.LOGIN, Outcome.ACCOUNT_LOCKED, method=method, stage="mfa")
    return MfaCheck(MfaStatus.LOCKED, method)


def verify_code(db: Session, ctx: RequestContext, keyring: Keyring, user: User, code: str,
                policy: LockoutPolicy) -> MfaCheck:
    """A TOTP code (six digits) or a backup code."""
    code = (code or "")[:64]
    if is_locked(user, ctx.now):
        return _refuse_locked(db, ctx, user, "code")
    if _check_totp(db, keyring, user, code, ctx.now):
        return _succeed(db, ctx, user, "totp", "otp")
    if backup_codes.consume_code(db, user, backup_code_key(keyring), code, ctx.now):
        remaining = backup_codes.count_remaining(db, user)
        _audit(db, ctx, user, EventType.MFA_BACKUP_CODE_USED, Outcome.SUCCESS, remaining=remaining)
        return replace(_succeed(db, ctx, user, "backup_code", "otp"), remaining=remaining)
    method = "totp" if totp.is_code_shaped(code.strip()) else "backup_code"
    return _fail(db, ctx, user, policy, method)


def verify_passkey(db: Session, ctx: RequestContext, rp: RelyingParty, user: User,
                   credential_json: str, challenge: bytes, policy: LockoutPolicy) -> MfaCheck:
    """A passkey as the second factor of this person."""
    if is_locked(user, ctx.now):
        return _refuse_locked(db, ctx, user, "passkey")
    assertion = verify_assertion(db, rp, credential_json, challenge, ctx.now, user=user)
    if assertion is None:
        return _fail(db, ctx, user, policy, "passkey")
    return _succeed(db, ctx, user, "passkey", "hwk", credential_id=str(assertion.credential.id))


def verify_passwordless(db: Session, ctx: RequestContext, rp: RelyingParty, credential_json: str,
                        challenge: bytes) -> User | None:
    """A discoverable passkey with user verification; the person it belongs to, or None."""
    assertion = verify_assertion(db, rp, credential_json, challenge, ctx.now, require_uv=True)
    if assertion is None:
        record(db, ctx, EventType.LOGIN, outcome=Outcome.FAILURE,
               details={"method": "passkey", "passwordless": True})
        return None
    user = db.get(User, assertion.credential.user_id)
    if user is None or not user.is_active or is_locked(user, ctx.now):
        outcome = Outcome.ACCOUNT_DISABLED if user is not None and not user.is_active \
            else Outcome.ACCOUNT_LOCKED
        record(db, ctx, EventType.LOGIN, outcome=outcome,
               subject_id=user.id if user else None, details={"method": "passkey"})
        return None
    _audit(db, ctx, user, EventType.MFA, Outcome.SUCCESS, method="passkey", passwordless=True,
           credential_id=str(assertion.credential.id))
    return user
