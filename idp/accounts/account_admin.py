"""Ending every session of a person, and clearing a lock after a password reset.

Disable, enable and admin unlock live in `idp.accounts.administration` (shared by the admin
API, the admin UI and the CLI); this module adds what self-service needs on top.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from idp.accounts import lockout
from idp.accounts.administration import revoke_user_grants, unlock_user
from idp.models.accounts import User
from idp.request_context import RequestContext
from idp.sessions.service import revoke_user_sessions


def end_all_sessions(db: Session, ctx: RequestContext, user: User, *, reason: str) -> int:
    """End every session and revoke every token family of the person, at once."""
    count = revoke_user_sessions(db, ctx, user.id, reason=reason)
    # Families not tied to a live session too (e.g. offline access granted earlier).
    revoke_user_grants(db, ctx, user.id, reason)
    return count


def clear_lock_after_reset(db: Session, ctx: RequestContext, user: User) -> bool:
    """A reset by email proves the person: lift a lock (audited) or just zero the count."""
    if user.locked_at is not None:
        return unlock_user(db, ctx, user)
    lockout.clear_failures(db, user)
    return False
