"""Validating our own access tokens: signature, lifetime, and revocation state.

Used by UserInfo, introspection, revocation and the admin API. A JWT can be revoked
through its family (code replay, refresh reuse, session end), its client (revoked or
expired), its user (disabled) or one by one (RFC 7009).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from idp.models.accounts import User
from idp.models.oauth import AccessToken, Client, RevokedToken, TokenGrant
from idp.oauth.signing_keys import KeyCache

ALLOWED_ALGS = ["RS256", "ES256"]
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
    try:
        token = jwt.decode(value, lambda obj: _key_for(keys, obj), algorithms=ALLOWED_ALGS)
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    if token.header.get("typ", "").lower() not in {"at+jwt", "application/at+jwt"}:
        return None
    claims = token.claims
    now = time.time()
    if claims.get("iss") != issuer or not isinstance(claims.get("exp"), int):
        return None
    if claims["exp"] + LEEWAY < now or claims.get("iat", 0) - LEEWAY > now:
        return None
    return claims


def _key_for(keys: KeyCache, obj):
    key = keys.verification_key(obj.headers().get("kid", ""))
    if key is None:
        raise KeyError("unknown kid")
    return key


def check_access_token(db: Session, keys: KeyCache, issuer: str, value: str) -> ValidAccessToken | None:
    """The token's claims, client and user if it is active right now, else None."""
    claims = decode_access_token(keys, issuer, value)
    if claims is None:
        return None
    client = db.get(Client, claims.get("client_id"))
    if client is None or not client.is_usable:
        return None
    jti = claims.get("jti")
    if db.get(RevokedToken, jti) is not None:
        return None
    if claims.get("sub") == client.id:
        return ValidAccessToken(claims, client, None)
    row = db.get(AccessToken, jti)
    if row is None:
        return None
    grant = db.get(TokenGrant, row.grant_id)
    if grant is None or grant.revoked_at is not None:
        return None
    user = db.get(User, grant.user_id)
    if user is None or not user.is_active or str(user.id) != claims.get("sub"):
        return None
    return ValidAccessToken(claims, client, user)
