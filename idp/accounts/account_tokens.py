"""Single-use emailed tokens: 256 random bits, kept only as SHA-256, consumed atomically."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.models.account_tokens import AccountToken
from idp.request_context import RequestContext

VERIFY_EMAIL_TTL = 24 * 3600
UNLOCK_TTL = 24 * 3600
INVITE_TTL = 7 * 24 * 3600


class Purpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"
    INVITE = "invite"
    UNLOCK = "unlock"  # the one-time link in the "account locked" mail


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(db: Session, ctx: RequestContext, purpose: Purpose, *, tenant_id: uuid.UUID,
                ttl: int, user_id: uuid.UUID | None = None, email: str | None = None) -> str:
    """Store a new token and return its value (which exists only in the mail)."""

    raw = secrets.token_urlsafe(32)
    db.add(AccountToken(token_hash=_digest(raw), purpose=str(purpose), tenant_id=tenant_id,
                        user_id=user_id, email=email, created_at=ctx.now,
                        expires_at=ctx.now + timedelta(seconds=ttl)))
    db.flush()
    return raw


def peek_token(db: Session, ctx: RequestContext, purpose: Purpose, raw: str | None
               ) -> AccountToken | None:
    """The token if it is unused and unexpired, without using it (to show a form)."""
    if not raw or len(raw) > 128:
        return None
    row = db.execute(select(AccountToken).where(AccountToken.token_hash == _digest(raw),
                                                AccountToken.purpose == str(purpose))
                     ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= ctx.now:
        return None
    return row


def consume_token(db: Session, ctx: RequestContext, purpose: Purpose, raw: str | None
                  ) -> AccountToken | None:
    """Use the token once: one atomic UPDATE, so two concurrent uses cannot both win."""
    if not raw or len(raw) > 128:
        return None
    token_id = db.execute(
        update(AccountToken)
        .where(AccountToken.token_hash == _digest(raw), AccountToken.purpose == str(purpose),
               AccountToken.used_at.is_(None), AccountToken.expires_at > ctx.now)
        .values(used_at=ctx.now)
        .returning(AccountToken.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if token_id is None:
        return None
    row = db.get(AccountToken, token_id)
    db.refresh(row)
    return row


def void_user_tokens(db: Session, ctx: RequestContext, user_id: uuid.UUID, purpose: Purpose) -> None:
    """Use up every outstanding token of this purpose (e.g. other reset links after a reset)."""
    db.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.purpose == str(purpose),
               AccountToken.used_at.is_(None))
        .values(used_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
