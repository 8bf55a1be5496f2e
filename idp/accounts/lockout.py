"""Per-user lockout kept on the user row: survives restarts, shared by every worker.

Counting is one atomic UPDATE ... RETURNING, so concurrent failures never under-count
(no read-modify-write), and the lock transition is claimed by exactly one transaction.

A password attempt *reserves* its place in the count before the slow hash is evaluated,
in a short transaction of its own (see `reserve_attempt`): a burst of parallel guesses
therefore evaluates at most `threshold` hashes, and an attempt that arrives once the
threshold is reached is refused whatever the password, even before the lock is committed.
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


def _not_locked(now: datetime):
    return or_(User.locked_at.is_(None),
               and_(User.locked_until.is_not(None), User.locked_until <= now))


def _counting(policy: LockoutPolicy, now: datetime) -> dict:
    """Values of one more failure: a new window starts when the old one (or a lock) ended."""
    window_start = now - timedelta(seconds=policy.window)
    stale = or_(User.first_failed_login_at.is_(None), User.first_failed_login_at < window_start,
                User.locked_at.is_not(None))  # only an expired lock gets here (see callers)
    return {"failed_login_count": case((stale, 1), else_=User.failed_login_count + 1),
            "first_failed_login_at": case((stale, now), else_=User.first_failed_login_at),
            "locked_at": None, "locked_until": None}


def reserve_attempt(db: Session, user: User, policy: LockoutPolicy, now: datetime) -> int | None:
    """Count this attempt as a failure *before* verifying it; None when the account is locked.

    Runs on its own connection and commits at once, so parallel attempts see each other's
    reservations without waiting for the slow hash. The count returned is this attempt's
    place; `release_attempt` gives it back when the attempt turns out not to be a failure.
    """
    with db.get_bind().connect() as conn:
        count = conn.execute(
            update(User).where(User.id == user.id, _not_locked(now))
            .values(**_counting(policy, now)).returning(User.failed_login_count)
        ).scalar_one_or_none()
        conn.commit()
    return count


def release_attempt(db: Session, user: User) -> None:
    """Give back a reservation (a correct password, or an attempt refused unevaluated)."""
    with db.get_bind().connect() as conn:
        conn.execute(update(User).where(User.id == user.id, User.failed_login_count > 0)
                     .values(failed_login_count=User.failed_login_count - 1))
        conn.commit()
    db.expire(user)


def claim_lock(db: Session, user: User, policy: LockoutPolicy, now: datetime) -> bool:
    """Lock the account in the caller's transaction; True for the one caller that did."""
    until = None if policy.duration == 0 else now + timedelta(seconds=policy.duration)
    claimed = db.execute(
        update(User)
        .where(User.id == user.id, _not_locked(now))
        .values(locked_at=now, locked_until=until)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    ).first()
    db.expire(user)
    return claimed is not None


def register_failure(db: Session, user: User, policy: LockoutPolicy, now: datetime) -> bool:
    """Count one failed attempt (a wrong code); return True if this attempt locked the account."""
    count = db.execute(
        update(User)
        .where(User.id == user.id, _not_locked(now))
        .values(**_counting(policy, now))
        .returning(User.failed_login_count)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if count is None or count < policy.threshold:
        db.expire(user)
        return False
    return claim_lock(db, user, policy, now)


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
