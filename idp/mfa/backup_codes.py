"""Backup codes: ten single-use codes from a CSPRNG, shown once, kept as salted slow hashes.

Each code is stored as scrypt(HMAC(key, code), salt): the key (from keys/) means a copy
of the database alone cannot be searched, and the per-code salt and scrypt's cost mean a
copy with the key still costs a search per code. Codes stored before this format (an
unsalted HMAC, 64 hex digits) keep working until used or replaced: they cannot be
migrated, since only their hash is known.

Consumption is one `UPDATE ... WHERE used_at IS NULL` whose row count says whether this
request won, so concurrent use of one code succeeds exactly once.
"""

from __future__ import annotations

import base64
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


# scrypt cost: about 15 ms a code on one core; a sign-in checks at most the unused codes.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**13, 8, 1
SALTED = "s1"


def _peppered(key: bytes, code: str) -> bytes:
    return hmac.new(key, normalize_code(code).encode(), hashlib.sha256).digest()


def _derive(key: bytes, code: str, salt: bytes) -> bytes:
    return hashlib.scrypt(_peppered(key, code), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                          dklen=24)


def hash_code(key: bytes, code: str) -> str:
    """`s1$salt$digest` (52 characters): scrypt over an HMAC of the code under a key."""
    salt = secrets.token_bytes(12)
    return "$".join((SALTED, _b64(salt), _b64(_derive(key, code, salt))))


def code_matches(key: bytes, code: str, stored: str) -> bool:
    """True when `code` is the one `stored` was made from (either format)."""
    parts = stored.split("$")
    if len(parts) == 3 and parts[0] == SALTED:
        return hmac.compare_digest(_derive(key, code, _unb64(parts[1])), _unb64(parts[2]))
    return hmac.compare_digest(stored, _peppered(key, code).hex())  # the old format


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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
    unused = db.execute(select(BackupCode.id, BackupCode.code_hash).where(
        BackupCode.user_id == user.id, BackupCode.used_at.is_(None))).all()
    match = next((row.id for row in unused if code_matches(key, code, row.code_hash)), None)
    if match is None:
        return False
    result = db.execute(
        update(BackupCode)
        .where(BackupCode.id == match, BackupCode.used_at.is_(None))
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
