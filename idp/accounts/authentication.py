"""The password step of a login: returns a status instead of raising (as authentik does)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from idp.accounts.lockout import LockoutPolicy, is_locked, register_failure
from idp.accounts.passwords import (
    burn_verification_time,
    hash_password,
    needs_rehash,
    verify_password,
)
from idp.accounts.users import find_user_by_login
from idp.audit import EventType, Outcome, record
from idp.models.accounts import User
from idp.models.tenancy import Tenant
from idp.request_context import RequestContext


class LoginStatus(StrEnum):
    AUTHENTICATED = "authenticated"
    INVALID = "invalid"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class PasswordCheck:
    status: LoginStatus
    user: User | None = None
    locked_now: bool = False  # this attempt is the one that locked the account


def check_password_login(
    db: Session,
    ctx: RequestContext,
    tenant: Tenant,
    login: str,
    password: str,
    policy: LockoutPolicy,
) -> PasswordCheck:
    """Verify username/email + password; audit the attempt; count failures."""
    user = find_user_by_login(db, tenant.id, login)
    audit = {"username": login[:320], "tenant_id": tenant.id}
    if user is None:
        burn_verification_time(password)
        record(db, ctx, EventType.LOGIN, outcome=Outcome.UNKNOWN_USER, **audit)
        return PasswordCheck(LoginStatus.INVALID)
    audit["subject_id"] = user.id
    # Lock and disable are checked before the hash, and answer in the same time.
    if not user.is_active:
        burn_verification_time(password)
        record(db, ctx, EventType.LOGIN, outcome=Outcome.ACCOUNT_DISABLED, **audit)
        return PasswordCheck(LoginStatus.DISABLED, user)
    if is_locked(user, ctx.now):
        burn_verification_time(password)
        record(db, ctx, EventType.LOGIN, outcome=Outcome.ACCOUNT_LOCKED, **audit)
        return PasswordCheck(LoginStatus.LOCKED, user)
    stored = user.credential.hash if user.credential else None
    if not verify_password(stored, password):
        locked_now = register_failure(db, user, policy, ctx.now)
        record(db, ctx, EventType.LOGIN, outcome=Outcome.INVALID_PASSWORD, **audit)
        if locked_now:
            record(db, ctx, EventType.USER_LOCKED, subject_id=user.id, tenant_id=tenant.id,
                   details={"failures": policy.threshold})
        return PasswordCheck(LoginStatus.INVALID, user, locked_now=locked_now)
    if needs_rehash(stored):
        user.credential.hash = hash_password(password)
    # The failure count is cleared when the whole login succeeds (web/login.py), not
    # here: otherwise a known password would reset the count between guesses at the
    # second factor.
    return PasswordCheck(LoginStatus.AUTHENTICATED, user)
