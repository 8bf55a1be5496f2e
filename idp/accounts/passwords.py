"""Argon2id hashing (OWASP parameters: m=19 MiB, t=2, p=1 at least) with rehash on change."""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# RFC 9106 / OWASP: Argon2id, 19 MiB, 2 iterations, 1 lane is the floor; we use it.
HASHERS = {
    "owasp": PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),
    # Test suites only (Config.password_hashing, refused unless testing): Argon2id at its
    # smallest cost, so thousands of test logins do not spend their time hashing.
    "test": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}
HASHER = HASHERS["owasp"]

# A hash of a random password, verified against when the user does not exist so that the
# response time does not reveal whether an account exists.
_DUMMY_PASSWORD = "not-a-real-password-7f1c0a"
_DUMMY_HASH = HASHER.hash(_DUMMY_PASSWORD)


def use_hashing(name: str) -> None:
    """Hash (and re-hash) with the named parameters from now on; the app factory calls it."""
    global HASHER, _DUMMY_HASH
    if HASHERS[name] is not HASHER:
        HASHER = HASHERS[name]
        _DUMMY_HASH = HASHER.hash(_DUMMY_PASSWORD)


def _prepare(password: str) -> str:
    # NIST SP 800-63B 5.1.1.2: normalise Unicode passwords (NFKC) before hashing.
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return HASHER.hash(_prepare(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-time check; with no stored hash, burns the same time and returns False."""
    try:
        if stored_hash is None:
            HASHER.verify(_DUMMY_HASH, _prepare(password))
            return False
        if stored_hash.startswith(BCRYPT_PREFIXES):
            return _verify_bcrypt(stored_hash, password)
        return HASHER.verify(stored_hash, _prepare(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


def _verify_bcrypt(stored_hash: str, password: str) -> bool:
    # Imported (pre-hashed) bcrypt passwords; needs_rehash() then turns them into Argon2id.
    import bcrypt

    try:
        return bcrypt.checkpw(_prepare(password).encode()[:72], stored_hash.encode())
    except ValueError:
        return False


def is_supported_hash(value: str) -> bool:
    """An Argon2 or bcrypt hash we can verify (for imports of pre-hashed passwords)."""
    if value.startswith(BCRYPT_PREFIXES):
        return len(value) == 60
    try:
        HASHER.check_needs_rehash(value)
    except InvalidHashError:
        return False
    return value.startswith("$argon2")


def needs_rehash(stored_hash: str) -> bool:
    """True when the stored hash was made with other parameters than ours."""
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def burn_verification_time(password: str) -> None:
    """Spend one verification's time, so unknown users and locked accounts answer alike."""
    verify_password(None, password)
