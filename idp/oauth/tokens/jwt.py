"""Signing our JWTs: RFC 9068 access tokens and OpenID Connect ID tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from authlib.oidc.core.util import create_half_hash
from joserfc import jwt

from idp.metrics import ACCESS_TOKEN_BYTES
from idp.oauth.keys.signing import KeyCache

REFRESH_TOKEN_PREFIX = "idp_rt_"


def hash_token(value: str) -> str:
    """What the database keeps of an opaque code or refresh token (full-entropy input)."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_opaque_token(prefix: str = "") -> str:
    """256 bits from the CSPRNG, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    jti: str
    expires_in: int
    expires_at: int


class TokenSigner:
    """Signs with the active key for the requested algorithm; kid in every header."""

    def __init__(self, issuer: str, keys: KeyCache):
        self.issuer = issuer
        self.keys = keys

    def sign(self, claims: dict, alg: str, typ: str | None = None) -> str:
        kid, key = self.keys.signing_key(alg)
        header = {"alg": alg, "kid": kid}
        if typ:
            header["typ"] = typ
        return jwt.encode(header, claims, key, algorithms=[alg])

    def access_token(
        self,
        *,
        client_id: str,
        subject: str,
        audience: str | list[str],
        scope: str,
        ttl: int,
        alg: str,
        extra: dict | None = None,
    ) -> IssuedAccessToken:
        """An RFC 9068 JWT access token (`typ: at+jwt`)."""
        now = int(time.time())
        jti = secrets.token_urlsafe(16)
        claims = {
            "iss": self.issuer, "sub": subject, "aud": audience, "client_id": client_id,
            "scope": scope, "iat": now, "exp": now + ttl, "jti": jti, **(extra or {}),
        }
        # Lean tokens: an empty claim says nothing a missing one does not (RFC 9068 2.2).
        claims = {k: v for k, v in claims.items() if v not in (None, "", [], {})}
        token = self.sign(claims, alg, typ="at+jwt")
        ACCESS_TOKEN_BYTES.labels(alg).observe(len(token))
        return IssuedAccessToken(token, jti, ttl, now + ttl)

    def id_token(
        self,
        *,
        client_id: str,
        subject: str,
        ttl: int,
        alg: str,
        auth_time: int,
        nonce: str | None,
        amr: list[str],
        acr: str | None,
        access_token: str | None,
        sid: str | None,
        claims: dict,
    ) -> str:
        """An ID token (OpenID Connect Core 1.0 section 2) with at_hash (3.1.3.6)."""
        now = int(time.time())
        body = {**claims, "iss": self.issuer, "sub": subject, "aud": client_id, "azp": client_id,
                "iat": now, "exp": now + ttl, "auth_time": auth_time}
        if nonce:
            body["nonce"] = nonce
        if amr:
            body["amr"] = amr
        if acr:
            body["acr"] = acr
        if sid:
            body["sid"] = sid
        if access_token:
            body["at_hash"] = create_half_hash(access_token, alg).decode()
        return self.sign(body, alg)
