"""Signing key lifecycle (next -> active -> retired) and the in-memory key cache.

Each algorithm always has a published "next" key, so rotation promotes a key that
relying parties have already fetched: nothing is signed by a key before it is in the
JWKS. A retired key stays published until every token it signed has expired.

A relying party may cache the JWKS for JWKS_MAX_AGE seconds (our Cache-Control), so a
next key is promoted only once it has been published at least that long: a party that
fetched the JWKS just before the key appeared must have refetched it by then.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.database import database_deadline
from idp.errors import Conflict
from idp.keyring import Keyring
from idp.models.base import utcnow
from idp.models.keys import KEY_ACTIVE, KEY_NEXT, KEY_RETIRED, SigningKey
from idp.oauth.constants import SIGNING_ALGS
from idp.request_context import RequestContext

SUPPORTED_ALGS = SIGNING_ALGS
JWKS_MAX_AGE = 300  # seconds; the Cache-Control max-age of /jwks.json and discovery
KEY_CACHE_TTL = 5.0  # seconds a process may serve its cached JWKS after a change
log = logging.getLogger("idp.keys")
RELOAD_DEADLINE = 1.0  # seconds a stale-key refresh may hold the request that runs it


def _generate(alg: str):
    if alg == "RS256":
        return RSAKey.generate_key(2048, private=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", private=True)
    raise ValueError(f"unsupported algorithm {alg}")


def create_signing_key(db: Session, keyring: Keyring, alg: str, status: str, now) -> SigningKey:
    """Generate a key pair; kid is its RFC 7638 thumbprint; private half encrypted."""
    key = _generate(alg)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
    row = SigningKey(
        kid=kid, alg=alg, status=status, public_jwk=public,
        private_key_encrypted=keyring.encrypt(key.as_pem(private=True), f"signing-key:{kid}"),
        created_at=now, activated_at=now if status == KEY_ACTIVE else None,
    )
    db.add(row)
    db.flush()
    return row


def ensure_signing_keys(db: Session, keyring: Keyring, ctx: RequestContext) -> list[SigningKey]:
    """First start: an active and a next key per algorithm. Returns the keys created."""
    created = []
    for alg in SUPPORTED_ALGS:
        statuses = set(db.execute(
            select(SigningKey.status).where(SigningKey.alg == alg)
        ).scalars())
        for status in (KEY_ACTIVE, KEY_NEXT):
            if status not in statuses:
                created.append(create_signing_key(db, keyring, alg, status, ctx.now))
    for row in created:
        record(db, ctx, EventType.KEY_CREATED, details={"kid": row.kid, "alg": row.alg,
                                                         "status": row.status})
    return created


def publication_wait(next_key: SigningKey, now) -> int:
    """Seconds until every relying party caching the JWKS has seen `next_key` (0: now)."""
    published_for = (now - next_key.created_at).total_seconds()
    return max(0, math.ceil(JWKS_MAX_AGE + KEY_CACHE_TTL - published_for))


def _refuse_unseen(rows: list[SigningKey], now) -> None:
    for row in rows:
        if row.status == KEY_NEXT and (wait := publication_wait(row, now)):
            raise Conflict(
                f"The next {row.alg} key {row.kid} was published less than "
                f"{JWKS_MAX_AGE + KEY_CACHE_TTL:.0f} s ago; relying parties caching the JWKS "
                f"for {JWKS_MAX_AGE} s may not know it yet. Rotate again in {wait} s "
                "(or force it in an emergency, rejecting their tokens until they refetch).",
                code="next_key_not_yet_seen")


def rotate_signing_keys(
    db: Session, keyring: Keyring, ctx: RequestContext, max_token_ttl: int, *,
    force: bool = False,
) -> list[str]:
    """Promote next -> active, active -> retired, and publish a fresh next key.

    Refused (Conflict) while a next key is younger than the JWKS cache lifetime,
    unless `force`; a forced rotation is audited as such.
    """
    ensure_signing_keys(db, keyring, ctx)
    rows_by_alg = {alg: db.execute(
        select(SigningKey).where(SigningKey.alg == alg,
                                 SigningKey.status.in_([KEY_ACTIVE, KEY_NEXT]))
        .with_for_update()
    ).scalars().all() for alg in SUPPORTED_ALGS}
    if not force:
        # Checked for every algorithm before anything changes: all or nothing.
        _refuse_unseen([row for rows in rows_by_alg.values() for row in rows], ctx.now)
    promoted = []
    for alg, rows in rows_by_alg.items():
        for row in rows:
            if row.status == KEY_ACTIVE:
                row.status, row.retired_at = KEY_RETIRED, ctx.now
                row.publish_until = ctx.now + timedelta(seconds=max_token_ttl + 60)
            else:
                row.status, row.activated_at = KEY_ACTIVE, ctx.now
                promoted.append(row.kid)
        create_signing_key(db, keyring, alg, KEY_NEXT, ctx.now)
    details = {"activated": promoted, **({"forced": True} if force else {})}
    record(db, ctx, EventType.KEY_ROTATED, details=details)
    return promoted


def query_published_keys(db: Session, now) -> list[SigningKey]:
    """Every key that belongs in the JWKS now."""
    return list(db.execute(
        select(SigningKey).where(or_(SigningKey.status != KEY_RETIRED,
                                     SigningKey.publish_until > now))
        .order_by(SigningKey.alg, SigningKey.created_at)
    ).scalars())


def query_logout_hint_keys(db: Session, now, since) -> list[SigningKey]:
    """Published keys plus those retired after `since`: an ID token they signed may still
    name a live session, and RP-Initiated Logout 1.0 section 2 asks us to accept it."""
    return list(db.execute(
        select(SigningKey).where(or_(SigningKey.status != KEY_RETIRED,
                                     SigningKey.publish_until > now,
                                     SigningKey.retired_at > since))
    ).scalars())


def public_key_set(rows: list[SigningKey]):
    """A joserfc KeySet of the public halves of `rows`."""

    return KeySet.import_key_set({"keys": [row.public_jwk for row in rows]})


@dataclass
class _Snapshot:
    loaded_at: float = 0.0
    signing: dict = field(default_factory=dict)   # alg -> (kid, joserfc key)
    public: dict = field(default_factory=dict)    # kid -> joserfc key (verification)
    jwks_json: bytes = b'{"keys":[]}'
    etag: str = ""


class KeyCache:
    """Per-process cache of the keys, refreshed from the database every `ttl` seconds.

    Private keys are decrypted once per kid; the JWKS document is serialised once per
    change, so discovery and JWKS are served from memory.
    """

    def __init__(self, keyring: Keyring, session_factory, ttl: float = KEY_CACHE_TTL):
        self._keyring = keyring
        self._session_factory = session_factory
        self.session_factory = session_factory
        self._ttl = ttl
        self._lock = threading.Lock()
        self._snap = _Snapshot()
        self._private: dict = {}

    def invalidate(self) -> None:
        """Reload on next use (after a rotation in this process)."""
        self._snap.loaded_at = 0.0

    def snapshot(self) -> _Snapshot:
        snap = self._snap
        if time.monotonic() - snap.loaded_at < self._ttl:
            return snap
        if not snap.loaded_at:
            with self._lock:  # never loaded, or invalidated by a rotation: wait for it
                if not self._snap.loaded_at:
                    self._snap = self._load()
                return self._snap
        # Stale keys stay valid while one thread reloads: JWKS and signing keep working
        # from memory while the database is slow or away.
        if not self._lock.acquire(blocking=False):
            return snap
        try:
            with database_deadline(RELOAD_DEADLINE):
                self._snap = self._load()
        except SQLAlchemyError:
            log.warning("could not reload signing keys; serving the cached ones")
            snap.loaded_at = time.monotonic()  # next attempt after another ttl
        finally:
            self._lock.release()
        return self._snap

    def _load(self) -> _Snapshot:
        with self._session_factory() as db:
            rows = query_published_keys(db, utcnow())
        snap = _Snapshot(loaded_at=time.monotonic())
        for row in rows:
            snap.public[row.kid] = (RSAKey if row.alg == "RS256" else ECKey).import_key(
                row.public_jwk)
            if row.status == KEY_ACTIVE:
                snap.signing[row.alg] = (row.kid, self._private_key(row))
        keys = [row.public_jwk for row in rows]
        snap.jwks_json = json.dumps({"keys": keys}, separators=(",", ":")).encode()
        snap.etag = '"' + hashlib.sha256(snap.jwks_json).hexdigest()[:32] + '"'
        return snap

    def _private_key(self, row: SigningKey):
        key = self._private.get(row.kid)
        if key is None:
            pem = self._keyring.decrypt(row.private_key_encrypted, f"signing-key:{row.kid}")
            key = (RSAKey if row.alg == "RS256" else ECKey).import_key(pem)
            self._private[row.kid] = key
        return key

    def signing_key(self, alg: str = "RS256"):
        """(kid, private key) of the active key for `alg`."""
        try:
            return self.snapshot().signing[alg]
        except KeyError:
            raise RuntimeError(f"no active {alg} signing key; run 'idp db upgrade'") from None

    def verification_key(self, kid: str):
        """The published public key with this kid, or None."""
        return self.snapshot().public.get(kid)
