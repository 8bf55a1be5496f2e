"""Per-user lockout kept on the user row: survives restarts, shared by every worker.

Counting is one atomic UPDATE ... RETURNING, so concurrent failures never under-count
(no read-modify-write), and the lock transition is claimed by exactly one transaction.

A password attempt *reserves* its place in the count before the slow hash is evaluated,
and that reservation is committed at once (see `reserve_attempt`): a burst of parallel
guesses therefore evaluates at most `threshold` hashes, and an attempt that arrives once
the threshold is reached is refused whatever the password, even before the lock is
committed. These two commits are the exception to "services flush, the adapter commits":
a reservation that parallel requests cannot see, or one that holds the row lock during
the hash, would serialise or defeat the count. Holding a second pooled connection instead
would starve the pool under exactly the load this guards against.
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

    Commits the caller's transaction (which must hold nothing it may want to roll back),
    so parallel attempts see each other's reservations without waiting for the slow hash.
    The count returned is this attempt's place; `release_attempt` gives it back when the
    attempt turns out not to be a failure.
    """
    count = db.execute(
        update(User).where(User.id == user.id, _not_locked(now))
        .values(**_counting(policy, now)).returning(User.failed_login_count)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.commit()
    return count


def release_attempt(db: Session, user: User, now: datetime | None = None) -> bool:
    """Give back a reservation (a correct password, or an attempt refused unevaluated).

    With `now`, this is the verdict of a correct password: it stands only if no lock was
    recorded meanwhile (False then). A lock being recorded holds the row, so this waits
    for that transaction and sees its outcome.
    """
    guard = [_not_locked(now)] if now is not None else []
    released = db.execute(
        update(User).where(User.id == user.id, *guard)
        .values(failed_login_count=case((User.failed_login_count > 0,
                                         User.failed_login_count - 1), else_=0))
        .returning(User.id)
        .execution_options(synchronize_session=False)
    ).first()
    db.commit()
    return released is not None


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
