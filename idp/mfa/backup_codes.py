"""Backup codes: ten single-use codes from a CSPRNG, shown once, kept as keyed hashes.

Consumption is one `UPDATE ... WHERE used_at IS NULL` whose row count says whether this
request won, so concurrent use of one code succeeds exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from idp.models.accounts import User
from idp.models.mfa import BackupCode

COUNT = 10
# No 0/o, 1/l/i: codes are read off paper.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 10  # 31**10 ≈ 2**49.5 per code


def generate_codes() -> list[str]:
    """Ten fresh codes formatted as xxxxx-xxxxx."""
    codes = set()
    while len(codes) < COUNT:
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        codes.add(f"{raw[:5]}-{raw[5:]}")
    return sorted(codes)


def normalize_code(code: str) -> str:
    """Lower case without spaces or dashes, as people type it."""
    return "".join(c for c in code.lower() if c not in " -\t")


def looks_like_backup_code(code: str) -> bool:
    value = normalize_code(code)
    return len(value) == LENGTH and all(c in ALPHABET for c in value)


def hash_code(key: bytes, code: str) -> str:
    """HMAC-SHA-256 under a key from keys/: a database copy alone cannot be brute-forced."""
    return hmac.new(key, normalize_code(code).encode(), hashlib.sha256).hexdigest()


def replace_codes(db: Session, user: User, key: bytes, now) -> list[str]:
    """Invalidate every old code and store a new set; returns the codes (shown once)."""
    db.execute(delete(BackupCode).where(BackupCode.user_id == user.id)
               .execution_options(synchronize_session=False))
    codes = generate_codes()
    db.add_all(BackupCode(user_id=user.id, code_hash=hash_code(key, c), created_at=now)
               for c in codes)
    db.flush()
    return codes


def consume_code(db: Session, user: User, key: bytes, code: str, now) -> bool:
    """Use one code; True only for the single request that claimed it."""
    if not looks_like_backup_code(code):
        return False
    result = db.execute(
        update(BackupCode)
        .where(BackupCode.user_id == user.id, BackupCode.code_hash == hash_code(key, code),
               BackupCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def count_remaining(db: Session, user: User) -> int:
    """How many unused codes the person has."""
    return db.execute(select(func.count()).select_from(BackupCode).where(
        BackupCode.user_id == user.id, BackupCode.used_at.is_(None))).scalar_one()


def delete_codes(db: Session, user: User) -> int:
    """Remove every code (MFA reset, last factor removed)."""
    result = db.execute(delete(BackupCode).where(BackupCode.user_id == user.id)
                        .execution_options(synchronize_session=False))
    return result.rowcount
