"""Argon2id hashing (OWASP parameters: m=19 MiB, t=2, p=1 at least) with rehash on change,
and the per-process bound on how many hashes run at once (`hashing_slot`)."""

from __future__ import annotations

import os
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from idp.errors import HashingBusy

# RFC 9106 / OWASP: Argon2id, 19 MiB, 2 iterations, 1 lane is the floor; we use it.
HASHERS = {
    "owasp": PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),
    # Test suites only (Config.password_hashing, refused unless testing): Argon2id at its
    # smallest cost, so thousands of test logins do not spend their time hashing.
    "test": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}
HASHER = HASHERS["owasp"]

# A hash of a random password, verified against when the user does not exist so that the
# response time does not reveal whether an account exists. Made on first use, not at import:
# every process (CLI commands, each worker) would otherwise pay a hash at start-up.
_DUMMY_PASSWORD = "not-a-real-password-7f1c0a"
_DUMMY_HASHES: dict[int, str] = {}


def use_hashing(name: str) -> None:
    """Hash (and re-hash) with the named parameters from now on; the app factory calls it."""
    global HASHER
    HASHER = HASHERS[name]


def _dummy_hash() -> str:
    key = id(HASHER)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = HASHER.hash(_DUMMY_PASSWORD)
    return _DUMMY_HASHES[key]


class HashSlots:
    """Where this process hashes: on `slots` threads of lower CPU priority, with at most
    `queue` more hashes waiting for them; a login beyond that waits up to `wait` seconds
    for a place, then HashingBusy, before anything is counted. A burst (a few people at
    once) queues for a few hashes' time; only a flood that keeps every place taken for
    `wait` seconds is answered 503.

    Each Argon2id hash holds 19 MiB and a core for ~20 ms. Unbounded, a login flood takes
    every core and request thread from token, key and UserInfo requests, and every
    request thread keeps a 19 MiB buffer in the worker's memory. Here only the hashing
    threads allocate one, and they yield the CPU to request threads when cores are short
    (nice +NICE: hashing is throughput work, a token request is latency work).
    `idp serve` sets the bound per worker from its cores, workers and threads
    (server_runner.py); elsewhere (CLI, tests) hashing is unbounded and runs in place.
    A thread already admitted is not admitted twice (check_password holds its admission
    around the whole step, the verify inside it uses it).
    """

    NICE = 10
    RETRY_AFTER = 1  # seconds: a slot comes free within a few hashes

    def __init__(self, slots: int | None = None, queue: int = 0, wait: float = 0.0):
        self.slots, self.queue, self.wait = slots, queue, wait
        self._pool = ThreadPoolExecutor(slots, thread_name_prefix="idp-hash",
                                        initializer=_lower_priority,
                                        initargs=(self.NICE,)) if slots else None
        self._admitted = threading.BoundedSemaphore(slots + queue) if slots else None
        self._held = threading.local()

    @contextmanager
    def hold(self):
        """Admission to hash (HashingBusy when every slot and waiting place stayed taken
        for `wait` seconds)."""
        outer = self._admitted is not None and not getattr(self._held, "depth", 0)
        if outer:
            admitted = (self._admitted.acquire(timeout=self.wait) if self.wait
                        else self._admitted.acquire(blocking=False))
            if not admitted:
                raise HashingBusy(self.RETRY_AFTER)
        self._held.depth = getattr(self._held, "depth", 0) + 1
        try:
            yield
        finally:
            self._held.depth -= 1
            if outer:
                self._admitted.release()

    def run(self, fn, *args):
        """fn(*args) on a hashing thread, once admitted (in place when unbounded)."""
        if self._pool is None:
            return fn(*args)
        with self.hold():
            return self._pool.submit(fn, *args).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _lower_priority(nice: int) -> None:
    # Linux: a thread's nice value is its own (os.setpriority on its thread id).
    with suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


SLOTS = HashSlots()


def bound_hashing(slots: int, queue: int, wait: float = 0.0) -> None:
    """Bound concurrent hashes in this process from now on (see HashSlots)."""
    global SLOTS
    SLOTS = HashSlots(slots, queue, wait)


def hashing_slot():
    """Admission to hash, held across a whole password step (see HashSlots)."""
    return SLOTS.hold()


def _prepare(password: str) -> str:
    # NIST SP 800-63B 5.1.1.2: normalise Unicode passwords (NFKC) before hashing.
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return SLOTS.run(HASHER.hash, _prepare(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-time check; with no stored hash, burns the same time and returns False."""
    return SLOTS.run(_verify, stored_hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        if stored_hash is None:
            HASHER.verify(_dummy_hash(), _prepare(password))
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
