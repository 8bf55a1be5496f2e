"""The password step of a login: returns a status instead of raising (as authentik does)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from idp.accounts.lockout import LockoutPolicy, claim_lock, release_attempt, reserve_attempt
from idp.accounts.passwords import (
    burn_verification_time,
    hash_password,
    hashing_slot,
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
    if user is None:
        burn_verification_time(password)
        record(db, ctx, EventType.LOGIN, outcome=Outcome.UNKNOWN_USER, username=login[:320],
               tenant_id=tenant.id)
        return PasswordCheck(LoginStatus.INVALID)
    return check_password(db, ctx, user, password, policy, username=login[:320])


def check_password(
    db: Session,
    ctx: RequestContext,
    user: User,
    password: str,
    policy: LockoutPolicy,
    *,
    stage: str | None = None,
    username: str | None = None,
) -> PasswordCheck:
    """The one password check (login, re-authentication, current password): lockout,
    audit, lock event and equal timing. `stage` names where it happened, None for login.

    Commits the caller's transaction before and after the hash (see lockout.py): call
    it before changing anything else in the request.
    """
    audit = {"username": username or user.username, "tenant_id": user.tenant_id,
             "subject_id": user.id, **({"details": {"stage": stage}} if stage else {})}
    # A hash slot first (HashingBusy in a flood): refused before anything is counted.
    with hashing_slot():
        return _check(db, ctx, user, password, policy, stage, audit)


def _check(db: Session, ctx: RequestContext, user: User, password: str, policy: LockoutPolicy,
           stage: str | None, audit: dict) -> PasswordCheck:
    # Lock and disable are checked before the hash, and answer in the same time.
    if not user.is_active:
        burn_verification_time(password)
        record(db, ctx, EventType.LOGIN, outcome=Outcome.ACCOUNT_DISABLED, **audit)
        return PasswordCheck(LoginStatus.DISABLED, user)
    place = reserve_attempt(db, user, policy, ctx.now)
    if place is None or place > policy.threshold:
        # Locked, or `threshold` attempts already failed or are being verified right now:
        # refused unevaluated. An attempt in flight may still succeed, so this one gives
        # its place back rather than keep the count at the threshold without a lock.
        if place is not None:
            release_attempt(db, user)
        burn_verification_time(password)
        return _refuse_locked(db, ctx, user, audit)
    stored = user.credential.hash if user.credential else None
    if not verify_password(stored, password):
        locked_now = place >= policy.threshold and claim_lock(db, user, policy, ctx.now)
        record(db, ctx, EventType.LOGIN, outcome=Outcome.INVALID_PASSWORD, **audit)
        if locked_now:
            record(db, ctx, EventType.USER_LOCKED, subject_id=user.id, tenant_id=user.tenant_id,
                   details={"failures": policy.threshold, **({"stage": stage} if stage else {})})
        return PasswordCheck(LoginStatus.INVALID, user, locked_now=locked_now)
    # Not a failure after all, unless a parallel attempt locked the account while this
    # one was being verified: the lock wins. The rest of the count is cleared when the
    # whole login succeeds (web/login.py), not here: otherwise a known password would
    # reset the count between guesses at the second factor.
    if not release_attempt(db, user, ctx.now):
        return _refuse_locked(db, ctx, user, audit)
    if needs_rehash(stored):
        user.credential.hash = hash_password(password)
    return PasswordCheck(LoginStatus.AUTHENTICATED, user)


def _refuse_locked(db: Session, ctx: RequestContext, user: User, audit: dict) -> PasswordCheck:
    record(db, ctx, EventType.LOGIN, outcome=Outcome.ACCOUNT_LOCKED, **audit)
    return PasswordCheck(LoginStatus.LOCKED, user)
