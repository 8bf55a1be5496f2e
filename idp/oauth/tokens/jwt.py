"""Signing our JWTs: RFC 9068 access tokens and OpenID Connect ID tokens."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from authlib.oidc.core.util import create_half_hash
from joserfc.jws import JWSRegistry
from joserfc.util import json_b64encode, urlsafe_b64encode

from idp.metrics import ACCESS_TOKEN_BYTES
from idp.oauth.keys.signing import KeyCache

REFRESH_TOKEN_PREFIX = "idp_rt_"


def hash_token(value: str) -> str:
    """What the database keeps of an opaque code or refresh token (full-entropy input)."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_opaque_token(prefix: str = "") -> str:
    """256 bits from the CSPRNG, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


_SIZES: dict = {}  # ACCESS_TOKEN_BYTES by alg, looked up once


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    jti: str
    expires_in: int
    expires_at: int


class TokenSigner:
    """Signs with the active key for the requested algorithm; kid in every header.

    The JWS compact serialisation joserfc's `jwt.encode` produces (same header, same
    payload bytes, same signature), without its per-call header registry checks: the
    header segment depends only on (kid, alg, typ) and is encoded once per key, and the
    signature comes from joserfc's own algorithm (RS256, ES256) with our own key. A
    client-credentials token is signed on every /token request (issue 20).
    """

    def __init__(self, issuer: str, keys: KeyCache):
        self.issuer = issuer
        self.keys = keys
        self._headers: dict[tuple[str, str, str], bytes] = {}

    def sign(self, claims: dict, alg: str, typ: str | None = None) -> str:
        kid, key = self.keys.signing_key(alg)
        header = self._header_segment(kid, alg, typ or "JWT")
        payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode()
        signing_input = header + b"." + urlsafe_b64encode(payload)
        signature = JWSRegistry.algorithms[alg].sign(signing_input, key)
        return (signing_input + b"." + urlsafe_b64encode(signature)).decode("ascii")

    def _header_segment(self, kid: str, alg: str, typ: str) -> bytes:
        segment = self._headers.get((kid, alg, typ))
        if segment is None:
            if len(self._headers) >= 64:
                self._headers.clear()  # keys rotated many times: start over
            # joserfc's order: its default `typ` first, then ours.
            segment = json_b64encode({"typ": typ, "alg": alg, "kid": kid})
            self._headers[(kid, alg, typ)] = segment
        return segment

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
        sizes = _SIZES.get(alg)
        if sizes is None:
            sizes = _SIZES[alg] = ACCESS_TOKEN_BYTES.labels(alg)
        sizes.observe(len(token))
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
