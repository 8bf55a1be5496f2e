"""Validating our own access tokens: signature, lifetime, and revocation state.

Used by UserInfo, introspection, revocation and the admin API. A JWT can be revoked
through its family (code replay, refresh reuse, session end), its client (revoked or
expired), its user (disabled) or one by one (RFC 7009).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from idp.models.accounts import User
from idp.models.base import utcnow
from idp.models.oauth import AccessToken, Client, RevokedToken, TokenGrant
from idp.oauth.constants import SIGNING_ALGS
from idp.oauth.keys.signing import KeyCache

ALLOWED_ALGS = list(SIGNING_ALGS)
LEEWAY = 5


@dataclass(frozen=True)
class ValidAccessToken:
    claims: dict
    client: Client
    user: User | None  # None for client-credentials tokens

    @property
    def scopes(self) -> set[str]:
        return set(str(self.claims.get("scope", "")).split())


def decode_access_token(keys: KeyCache, issuer: str, value: str) -> dict | None:
    """Verified claims of a well-formed, unexpired JWT access token of ours, or None."""
    if not isinstance(value, str) or value.count(".") != 2 or len(value) > 8192:
        return None
    digest = hashlib.sha256(f"{issuer} {value}".encode()).digest()
    seen = _VERIFIED.get(digest)
    if seen is None or keys.verification_key(seen[0]) is None:
        seen = _verify(keys, issuer, value)
        if seen is None:
            return None
        _VERIFIED.put(digest, seen)
    claims = seen[1]
    now = time.time()
    if claims["exp"] + LEEWAY < now or claims.get("iat", 0) - LEEWAY > now:
        return None
    return dict(claims)


def _verify(keys: KeyCache, issuer: str, value: str) -> tuple[str, dict] | None:
    """(kid, claims) after checking the signature (published key, allowed algorithm),
    `typ`, `iss` and that `exp` is an integer."""
    try:
        token = jwt.decode(value, lambda obj: _key_for(keys, obj), algorithms=ALLOWED_ALGS)
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    if token.header.get("typ", "").lower() not in {"at+jwt", "application/at+jwt"}:
        return None
    claims = token.claims
    if claims.get("iss") != issuer or not isinstance(claims.get("exp"), int):
        return None
    return token.header["kid"], claims


class _VerifiedTokens:
    """Claims of recently verified access tokens, per process, by SHA-256 of issuer and token.

    Resource servers introspect (or call UserInfo with) the same token many times while
    it lives, and the signature check was the largest part of each answer. Only what
    the signature proves is remembered: the lifetime is checked on every use, an entry
    counts only while its key is still published, and revocation state is never cached
    (callers read it from the database every time).
    """

    def __init__(self, size: int = 4096):
        self._size = size
        self._entries: dict[bytes, tuple[str, dict]] = {}

    def get(self, digest: bytes) -> tuple[str, dict] | None:
        """(kid, claims) of a token verified before, or None."""
        return self._entries.get(digest)

    def put(self, digest: bytes, verified: tuple[str, dict]) -> None:
        if len(self._entries) >= self._size:
            self._entries.clear()  # bounded; a burst of new tokens just re-verifies
        self._entries[digest] = verified


_VERIFIED = _VerifiedTokens()


def _key_for(keys: KeyCache, obj):
    key = keys.verification_key(obj.headers().get("kid", ""))
    if key is None:
        raise KeyError("unknown kid")
    return key


# One query: the client's revocation and expiry, and whether the jti was revoked. Built
# once with bound parameters (building a select per request cost as much as running it).
CLIENT_TOKEN_STATE = select(
    Client.revoked_at, Client.expires_at,
    select(RevokedToken.jti).where(RevokedToken.jti == bindparam("jti")).exists(),
).where(Client.id == bindparam("client_id"))


def check_access_token(db: Session, keys: KeyCache, issuer: str, value: str,
                       clients=None) -> ValidAccessToken | None:
    """The token's claims, client and user if it is active right now, else None."""
    claims = decode_access_token(keys, issuer, value)
    return None if claims is None else check_token_state(db, claims, clients)


def check_token_state(db: Session, claims: dict, clients=None) -> ValidAccessToken | None:
    """Revocation state of verified claims, read from the database (exact at once).

    A client-credentials token costs one query: the client's state and the jti's
    revocation together. `clients` (a ClientCache) supplies the client object itself.
    """
    client_id, jti = claims.get("client_id"), claims.get("jti")
    if not isinstance(client_id, str) or not isinstance(jti, str):
        return None
    state = db.execute(CLIENT_TOKEN_STATE, {"client_id": client_id, "jti": jti}).first()
    if not client_token_live(state):
        return None
    client = clients.get(client_id) if clients is not None else db.get(Client, client_id)
    if client is None:
        return None
    if claims.get("sub") == client_id:
        return ValidAccessToken(claims, client, None)
    return _user_token_state(db, claims, client)


def client_token_live(state) -> bool:
    """A row of CLIENT_TOKEN_STATE: the client is usable and the jti not revoked."""
    if state is None or state[0] is not None or state[2]:
        return False
    return not (state[1] and state[1] <= utcnow())


def _user_token_state(db: Session, claims: dict, client: Client) -> ValidAccessToken | None:
    row = db.execute(
        select(User, TokenGrant.revoked_at)
        .join(TokenGrant, TokenGrant.user_id == User.id)
        .join(AccessToken, AccessToken.grant_id == TokenGrant.id)
        .where(AccessToken.jti == claims["jti"])
    ).first()
    if row is None:
        return None
    user, grant_revoked_at = row
    if grant_revoked_at is not None or not user.is_active or str(user.id) != claims.get("sub"):
        return None
    return ValidAccessToken(claims, client, user)
