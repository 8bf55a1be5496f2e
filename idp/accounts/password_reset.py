"""Forgotten passwords: a single-use, 30-minute, hashed link; the same answer for any address."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.account_admin import clear_lock_after_reset, end_all_sessions
from idp.accounts.account_tokens import Purpose, consume_token, issue_token, void_user_tokens
from idp.accounts.normalization import normalize_identifier
from idp.accounts.password_changes import ChangedBy, change_password
from idp.audit import EventType, Outcome, record
from idp.config import Config
from idp.models.accounts import User
from idp.models.tenancy import Tenant
from idp.request_context import RequestContext


def request_reset(db: Session, ctx: RequestContext, config: Config, tenant: Tenant,
                  login: str) -> tuple[User | None, str | None]:
    """A reset token for the account behind `login` (email or username), if there is one."""
    key = normalize_identifier(login or "")[:320]
    column = User.email_normalized if "@" in key else User.username_normalized
    user = db.execute(select(User).where(User.tenant_id == tenant.id, column == key)
                      ).scalar_one_or_none() if key else None
    if user is None or not user.is_active or not user.email:
        # The same work as for a real account (one token row, one audit event), so the
        # answer takes the same time; this token is never sent and opens no account.
        issue_token(db, ctx, Purpose.PASSWORD_RESET, tenant_id=tenant.id,
                    ttl=config.password_reset_ttl)
        record(db, ctx, EventType.PASSWORD_RESET_REQUESTED, outcome=Outcome.UNKNOWN_USER
               if user is None else Outcome.ACCOUNT_DISABLED, tenant_id=tenant.id,
               subject_id=user.id if user else None, username=login[:320])
        return None, None
    token = issue_token(db, ctx, Purpose.PASSWORD_RESET, tenant_id=tenant.id, user_id=user.id,
                        email=user.email, ttl=config.password_reset_ttl)
    record(db, ctx, EventType.PASSWORD_RESET_REQUESTED, subject_id=user.id, tenant_id=tenant.id,
           username=login[:320])
    return user, token


def reset_password(db: Session, ctx: RequestContext, config: Config, raw: str,
                   new_password: str) -> User | None:
    """Use the link once: new password, lock cleared, every session ended; None if invalid.

    The token is consumed in the caller's transaction, so a refused password (the caller
    rolls back) leaves the link usable.
    """
    token = consume_token(db, ctx, Purpose.PASSWORD_RESET, raw)
    user = db.get(User, token.user_id) if token and token.user_id else None
    if user is None or not user.is_active:
        return None
    change_password(db, ctx, config, user, new_password, changed_by=ChangedBy.RESET)
    void_user_tokens(db, ctx, user.id, Purpose.PASSWORD_RESET)
    clear_lock_after_reset(db, ctx, user)
    ended = end_all_sessions(db, ctx, user, reason="password_reset")
    # Following the link proves the person reads this address.
    user.email_verified = user.email_verified or (
        normalize_identifier(user.email or "") == normalize_identifier(token.email or ""))
    record(db, ctx, EventType.PASSWORD_RESET, subject_id=user.id, tenant_id=user.tenant_id,
           username=user.username, details={"sessions_ended": ended})
    return user
