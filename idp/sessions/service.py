"""Server-side sessions. No Flask here: the adapter passes the cookie value and context."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.models.accounts import User
from idp.models.oauth import TokenGrant
from idp.models.sessions import UserSession
from idp.models.tenancy import Tenant
from idp.request_context import RequestContext
from idp.sessions.backchannel import queue_backchannel_logouts


@dataclass(frozen=True)
class SessionPolicy:
    idle_timeout: int
    absolute_timeout: int
    max_per_user: int


def tenant_session_policy(db: Session, tenant_id: uuid.UUID | None, base: SessionPolicy
                          ) -> SessionPolicy:
    """The tenant's `settings["session"]` overrides (idle_timeout, absolute_timeout,
    max_per_user, in seconds / count) on top of the IDP_SESSION_* defaults."""
    tenant = db.get(Tenant, tenant_id) if tenant_id else None
    raw = ((tenant.settings or {}).get("session") or {}) if tenant else {}
    values = {name: raw[name] for name in ("idle_timeout", "absolute_timeout", "max_per_user")
              if isinstance(raw.get(name), int) and raw[name] > 0}
    return replace(base, **values) if values else base


class SessionState(StrEnum):
    ACTIVE = "active"
    MISSING = "missing"
    EXPIRED = "expired"


def hash_session_token(token: str) -> str:
    """What the database keeps of a cookie value."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    db: Session,
    ctx: RequestContext,
    user: User,
    policy: SessionPolicy,
    *,
    amr: list[str],
    acr: str | None = None,
) -> tuple[UserSession, str]:
    """Open a session; returns it and the cookie value (shown only here)."""
    policy = tenant_session_policy(db, user.tenant_id, policy)
    token = secrets.token_urlsafe(32)
    session = UserSession(
        token_hash=hash_session_token(token),
        user_id=user.id,
        tenant_id=user.tenant_id,
        created_at=ctx.now,
        last_seen_at=ctx.now,
        auth_time=ctx.now,
        expires_at=ctx.now + timedelta(seconds=policy.absolute_timeout),
        amr=amr,
        acr=acr,
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:512] or None,
    )
    db.add(session)
    db.flush()
    _enforce_limit(db, ctx, user, policy.max_per_user)
    return session, token


def _enforce_limit(db: Session, ctx: RequestContext, user: User, limit: int) -> None:
    live = db.execute(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
               UserSession.expires_at > ctx.now)
        .order_by(UserSession.created_at.desc(), UserSession.id)
    ).scalars().all()
    for old in live[limit:]:
        revoke_session(db, ctx, old, reason="session_limit")


def load_session(
    db: Session, token: str | None, policy: SessionPolicy, now: datetime
) -> tuple[SessionState, UserSession | None]:
    """Find the live session for a cookie; idle and absolute timeouts are checked here."""
    if not token:
        return SessionState.MISSING, None
    session = db.execute(
        select(UserSession).where(UserSession.token_hash == hash_session_token(token))
    ).scalar_one_or_none()
    if session is None or session.revoked_at is not None:
        return SessionState.MISSING, None
    policy = tenant_session_policy(db, session.tenant_id, policy)
    idle_deadline = session.last_seen_at + timedelta(seconds=policy.idle_timeout)
    if now >= session.expires_at or now >= idle_deadline:
        return SessionState.EXPIRED, session
    return SessionState.ACTIVE, session


def touch_session(db: Session, session: UserSession, policy: SessionPolicy, now: datetime) -> None:
    """Record activity; written at most every few seconds to spare the database."""
    policy = tenant_session_policy(db, session.tenant_id, policy)
    # A thirtieth of the idle timeout (at most a minute): the error stays small even for
    # short timeouts.
    granularity = min(60.0, policy.idle_timeout / 30)
    if (now - session.last_seen_at).total_seconds() >= granularity:
        session.last_seen_at = now
        db.flush()


def revoke_session(db: Session, ctx: RequestContext, session: UserSession, *, reason: str) -> None:
    """End a session and every token family issued under it, audited."""
    if session.revoked_at is not None:
        return
    session.revoked_at = ctx.now
    session.revoke_reason = reason
    db.execute(
        update(TokenGrant)
        .where(TokenGrant.session_id == session.id, TokenGrant.revoked_at.is_(None))
        .values(revoked_at=ctx.now, revoke_reason=f"session_{reason}")
        .execution_options(synchronize_session=False)
    )
    notified = queue_backchannel_logouts(db, ctx, session)
    db.flush()
    details = {"session_id": str(session.id), "reason": reason}
    if notified:
        details["count"] = notified  # clients told by back-channel logout
    record(db, ctx, EventType.SESSION_REVOKED, subject_id=session.user_id,
           tenant_id=session.tenant_id, details=details)


def revoke_other_sessions(db: Session, ctx: RequestContext, keep: UserSession, *, reason: str
                          ) -> int:
    """End every live session of the person but `keep` (the one making the request)."""
    sessions = db.execute(
        select(UserSession).where(UserSession.user_id == keep.user_id, UserSession.id != keep.id,
                                  UserSession.revoked_at.is_(None))
    ).scalars().all()
    for session in sessions:
        revoke_session(db, ctx, session, reason=reason)
    return len(sessions)


def revoke_user_sessions(
    db: Session, ctx: RequestContext, user_id: uuid.UUID, *, reason: str
) -> int:
    """End every live session of a person; returns how many."""
    sessions = db.execute(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    ).scalars().all()
    for session in sessions:
        revoke_session(db, ctx, session, reason=reason)
    return len(sessions)
