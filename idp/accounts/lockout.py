"""Per-user lockout kept on the user row: survives restarts, shared by every worker.

Counting is one atomic UPDATE ... RETURNING, so concurrent failures never under-count
(no read-modify-write), and the lock transition is claimed by exactly one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, or_, update
from sqlalchemy.orm import Session

from idp.models.accounts import User


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int
    window: int
    duration: int  # seconds; 0 = until an admin unlocks


def is_locked(user: User, now: datetime) -> bool:
    """True while the account is locked."""
    if user.locked_at is None:
        return False
    return user.locked_until is None or user.locked_until > now


def register_failure(db: Session, user: User, policy: LockoutPolicy, now: datetime) -> bool:
    """Count one failed attempt; return True if this attempt locked the account."""
    window_start = now - timedelta(seconds=policy.window)
    stale = or_(User.first_failed_login_at.is_(None), User.first_failed_login_at < window_start)
    count = db.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            failed_login_count=case((stale, 1), else_=User.failed_login_count + 1),
            first_failed_login_at=case((stale, now), else_=User.first_failed_login_at),
        )
        .returning(User.failed_login_count)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    if count < policy.threshold:
        return False
    until = None if policy.duration == 0 else now + timedelta(seconds=policy.duration)
    not_locked = or_(User.locked_at.is_(None), and_(User.locked_until.is_not(None),
                                                    User.locked_until <= now))
    claimed = db.execute(
        update(User)
        .where(User.id == user.id, not_locked)
        .values(locked_at=now, locked_until=until)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    ).first()
    db.expire(user)
    return claimed is not None


def clear_failures(db: Session, user: User) -> None:
    """Reset the counter after a success (the lock itself is left to `unlock`)."""
    if user.failed_login_count or user.first_failed_login_at:
        user.failed_login_count = 0
        user.first_failed_login_at = None
        db.flush()


def unlock(db: Session, user: User) -> bool:
    """Lift a lock and reset the counter; return whether a lock was lifted."""
    was_locked = user.locked_at is not None
    user.locked_at = None
    user.locked_until = None
    user.failed_login_count = 0
    user.first_failed_login_at = None
    db.flush()
    return was_locked
